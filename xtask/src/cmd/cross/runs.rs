//! The runs of one target: the std test harness under QEMU user (or natively) and the shared
//! suite as `tests/vm-init`, each judged into a summary row; the runners and the thread probe
//! they need.

use super::Row;
use crate::targets::{build_vm_init, cargo_env, cargo_for, Target};
use crate::util::process::target_dir;
use crate::util::report::{self, Outcome, Report};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Natively, a dynamic glibc binary of a foreign ABI (i686) needs the cross sysroot's loader:
/// `/usr/<triple>/lib/ld-linux.so.2 --library-path /usr/<triple>/lib`. Static ones need nothing.
pub fn native_runner(t: &Target) -> Option<String> {
    let (gcc, _) = t.gcc?;
    let dir = format!("/usr/{gcc}/lib");
    let loader = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.starts_with("ld-linux") && n.ends_with(".so.2"))?;
    Some(format!("{dir}/{loader} --library-path {dir}"))
}

/// `qemu-<arch> -L /usr/<gcc triple>` (the sysroot of the cross libc, for dynamic binaries),
/// under `timeout` so that a hang inside QEMU fails one test binary, not the whole CI run.
pub fn qemu_runner(t: &Target) -> String {
    let timeout = format!("timeout -k 10 {QEMU_TEST_TIMEOUT_S}");
    match t.gcc {
        Some((gcc, _)) => format!("{timeout} {} -L /usr/{gcc}", t.qemu),
        None => format!("{timeout} {}", t.qemu),
    }
}

/// Seconds one test binary may run under QEMU user emulation.
const QEMU_TEST_TIMEOUT_S: u32 = 600;

/// Whether this QEMU user binary hangs in `pthread_create` with the cross glibc, as
/// qemu-i386 10.0.2 does here with Debian 12's i386 glibc 2.36: a five-line C program that
/// creates and joins one thread, given 20 s. `Some(reason)` if it hangs or fails.
pub fn qemu_threads_hang(t: &Target) -> Option<String> {
    let (gcc, _) = t.gcc?;
    let dir = target_dir().join("cross");
    std::fs::create_dir_all(&dir).ok()?;
    let src = dir.join("threads-probe.c");
    let bin = dir.join(format!("threads-probe-{}", t.triple));
    std::fs::write(
        &src,
        "#include <pthread.h>\nstatic void *f(void *a) { return a; }\n\
         int main(void) { pthread_t t; if (pthread_create(&t, 0, f, 0)) return 1; \
         return pthread_join(t, 0); }\n",
    )
    .ok()?;
    let built = Command::new(format!("{gcc}-gcc"))
        .args(["-O2", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        return Some(format!("{gcc}-gcc could not build the thread probe"));
    }
    let status = Command::new("timeout")
        .args(["-k", "5", "20", t.qemu, "-L"])
        .arg(format!("/usr/{gcc}"))
        .arg(&bin)
        .status();
    match status {
        Ok(s) if s.success() => None,
        Ok(s) if s.code() == Some(124) || s.code() == Some(137) => Some(format!(
            "{} hangs in pthread_create here (a C thread probe timed out), and the std test \
             harness needs threads",
            t.qemu
        )),
        Ok(s) => Some(format!("{}: the C thread probe failed ({s})", t.qemu)),
        Err(e) => Some(format!("{}: {e}", t.qemu)),
    }
}

/// `cargo test -p uffd --target T` under `runner` (or natively). (`layout-tests` compares
/// with the host's C headers; `cargo xtask verify-layout --arch all` covers the other ABIs.)
///
/// `tests/kernel.rs` (the std harness) prints `SKIP <case>: <reason>` for a skipped case;
/// `--nocapture` lets those through, and under QEMU user every case of the suite (`cases`,
/// the names `tests/vm-init` printed) must have one, reading exactly `userfaultfd: ENOSYS`.
pub fn cargo_tests(t: &Target, run: &'static str, runner: Option<&str>, cases: &[String]) -> Row {
    let started = Instant::now();
    let mut c = cargo_for(t);
    c.args([
        "test",
        "--no-fail-fast",
        "-p",
        "uffd",
        // Not the doc tests: the guide's examples use the real kernel and would fail under
        // QEMU user for want of userfaultfd rather than report a skip.
        "--lib",
        "--tests",
        "--target",
        t.triple,
        "--",
        "--nocapture",
    ])
    .env("CARGO_TERM_PROGRESS_WHEN", "never");
    match runner {
        Some(r) => c.env(cargo_env(t.triple, "RUNNER"), r),
        None => c.env_remove(cargo_env(t.triple, "RUNNER")),
    };
    let mut row = Row {
        target: t.triple.into(),
        run,
        tests: String::new(),
        suite: String::new(),
        problems: Vec::new(),
        secs: 0.0,
    };
    eprintln!(
        "+ {}cargo test --target {}",
        runner
            .map(|r| format!("RUNNER=\"{r}\" "))
            .unwrap_or_default(),
        t.triple
    );
    let out = c.stderr(Stdio::inherit()).output();
    row.secs = started.elapsed().as_secs_f64();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            row.problems.push(format!("cargo: {e}"));
            return row;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let (mut passed, mut failed, mut ignored, mut binaries) = (0usize, 0usize, 0usize, 0usize);
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("test result: ") {
            binaries += 1;
            let num = |key: &str| {
                rest.split(';')
                    .find_map(|p| {
                        p.trim()
                            .trim_start_matches("ok. ")
                            .trim_start_matches("FAILED. ")
                            .strip_suffix(key)
                    })
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0)
            };
            passed += num(" passed");
            failed += num(" failed");
            ignored += num(" ignored");
        }
    }
    row.tests =
        format!("{passed} passed, {ignored} ignored, {failed} failed ({binaries} binaries)");
    if !out.status.success() {
        row.problems.push(format!("cargo test: {}", out.status));
    }
    if failed > 0 {
        row.problems.push(format!("{failed} tests failed"));
    }
    if passed == 0 {
        row.problems
            .push("no test passed (did anything run?)".into());
    }
    let skips = std_harness_skips(&stdout);
    row.suite = format!("std harness: {}", skips.summary());
    if run == "qemu-user" {
        if cases.is_empty() {
            row.problems
                .push("no case names from vm-init to check the std harness against".into());
        }
        for name in cases {
            if !skips.cases.iter().any(|(n, _)| n == name) {
                row.problems.push(format!(
                    "{name}: no `SKIP {name}: ...` line from tests/kernel.rs"
                ));
            }
        }
        row.problems.extend(enosys_problems(&skips));
    }
    row
}

/// The `SKIP <case>: <reason>` lines of `tests/kernel.rs`, as skipped cases.
fn std_harness_skips(stdout: &str) -> Report {
    let mut r = Report::default();
    for line in stdout.lines() {
        // The harness's own `test x ... ` may precede the line: parallel tests interleave.
        let skip = line.find("SKIP ").map(|i| &line[i + "SKIP ".len()..]);
        if let Some((name, why)) = skip.and_then(|l| l.split_once(": ")) {
            r.cases
                .push((name.to_string(), Outcome::Skip(why.to_string())));
        }
    }
    r
}

/// The shared suite as `tests/vm-init`, run as a plain process (it exits instead of powering
/// off when it is not PID 1).
/// Returns the row and the names of the cases that reported.
pub fn suite(t: &Target, run: &'static str, runner: Option<&str>) -> (Row, Vec<String>) {
    let started = Instant::now();
    let mut row = Row {
        target: t.triple.into(),
        run,
        tests: "-".into(),
        suite: String::new(),
        problems: Vec::new(),
        secs: 0.0,
    };
    let bin = match build_vm_init(t) {
        Ok(b) => b,
        Err(e) => {
            row.problems.push(e);
            return (row, Vec::new());
        }
    };
    let mut c = match runner {
        Some(r) => {
            let mut w = r.split_whitespace();
            let mut c = Command::new(w.next().unwrap_or_default());
            c.args(w).arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    eprintln!(
        "+ {}{}",
        runner.map(|r| format!("{r} ")).unwrap_or_default(),
        bin.display()
    );
    let out = c.stderr(Stdio::inherit()).output();
    row.secs = started.elapsed().as_secs_f64();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            row.problems.push(format!("{}: {e}", bin.display()));
            return (row, Vec::new());
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let r = report::parse(&stdout);
    row.suite = format!(
        "{}; features={}",
        r.summary(),
        r.features.as_deref().unwrap_or("?")
    );
    row.problems.extend(r.problems());
    if !out.status.success() {
        row.problems
            .push(format!("vm-init exited with {}", out.status));
    }
    if run == "qemu-user" {
        row.problems.extend(enosys_problems(&r));
    }
    (row, r.cases.into_iter().map(|(n, _)| n).collect())
}

/// The one skip reason accepted under QEMU user: what `tests/suite/util.rs` reports when the raw
/// `userfaultfd(2)` of `tests/suite/truth.rs` fails with ENOSYS.
const QEMU_USER_SKIP: &str = "userfaultfd: ENOSYS";

/// Under QEMU user every kernel case must be skipped, all for exactly [`QEMU_USER_SKIP`] (not
/// any reason that merely mentions ENOSYS); a suite without cases checks nothing and is an
/// error too.
fn enosys_problems(r: &Report) -> Vec<String> {
    let mut p = Vec::new();
    if r.cases.is_empty() {
        p.push("the suite has no cases: nothing was checked".into());
    }
    for (name, o) in &r.cases {
        match o {
            Outcome::Skip(why) if why == QEMU_USER_SKIP => {}
            other => p.push(format!(
                "{name}: expected `skip: {QEMU_USER_SKIP}` under qemu-user, got {other:?}"
            )),
        }
    }
    let reasons = r.skip_reasons();
    if reasons.len() > 1 {
        p.push(format!(
            "{} different skip reasons under qemu-user, expected one: {:?}",
            reasons.len(),
            reasons.keys()
        ));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enosys_check_accepts_only_uniform_enosys_skips() {
        let ok = "uffd-case: a ... skip: userfaultfd: ENOSYS\nuffd-case: b ... skip: userfaultfd: ENOSYS\n";
        assert_eq!(enosys_problems(&report::parse(ok)), Vec::<String>::new());
        let passed = "uffd-case: a ... skip: userfaultfd: ENOSYS\nuffd-case: b ... pass\n";
        assert_eq!(enosys_problems(&report::parse(passed)).len(), 1);
        let other = "uffd-case: a ... skip: userfaultfd: ENOSYS\nuffd-case: b ... skip: kernel lacks MOVE\n";
        assert_eq!(enosys_problems(&report::parse(other)).len(), 2);
        let mixed = "uffd-case: a ... skip: userfaultfd: ENOSYS\nuffd-case: b ... skip: open: ENOSYS, ENOTTY\n";
        assert_eq!(enosys_problems(&report::parse(mixed)).len(), 2);
        // Reasons that only mention ENOSYS are not the raw userfaultfd(2) failing.
        for why in [
            "open: ENOSYS",
            "userfaultfd: ENOSYS (retry)",
            "UFFDIO_API: ENOSYS",
            " userfaultfd: ENOSYS",
        ] {
            let one = format!("uffd-case: a ... skip: {why}\n");
            assert_eq!(enosys_problems(&report::parse(&one)).len(), 1, "{why}");
        }
        assert_eq!(enosys_problems(&report::parse("")).len(), 1);
    }

    #[test]
    fn std_harness_skip_lines() {
        let out = "running 3 tests\nSKIP move_anon_syscall: userfaultfd: ENOSYS\ntest move_anon_syscall ... ok\n";
        let r = std_harness_skips(out);
        assert_eq!(
            r.cases,
            [(
                "move_anon_syscall".to_string(),
                Outcome::Skip("userfaultfd: ENOSYS".into())
            )]
        );
    }

    #[test]
    fn env_names() {
        assert_eq!(
            cargo_env("armv7-unknown-linux-gnueabihf", "LINKER"),
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER"
        );
    }
}
