//! `cargo xtask cross-test [--target T | all]`: the workspace's tests cross-built for every Rust
//! Linux target and run under QEMU user emulation, plus the shared suite as `tests/vm-init`.
//!
//! QEMU user has no userfaultfd (ENOSYS on every arch), so there the ABI/ioctl/flag/decoding
//! tests must pass and every kernel case must report itself skipped with one reason naming
//! ENOSYS: checked here, case by case, so "unavailable" is a tested path and not a silent pass.
//! i686 and x86_64-musl also run natively on this x86_64 kernel, where the kernel cases run.

use crate::report::{self, Outcome, Report};
use crate::util::{root, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One Rust target: its Debian cross compiler, Debian architecture and QEMU user binary.
pub struct Target {
    pub triple: &'static str,
    /// `(gcc triple, Debian arch)` of `gcc-<triple>` + `libc6-dev-<arch>-cross`; `None` when
    /// the host toolchain links it (x86_64-musl, self-contained).
    pub gcc: Option<(&'static str, &'static str)>,
    /// `qemu-<arch>`.
    pub qemu: &'static str,
    /// Also runs on this x86_64 kernel without emulation.
    pub native: bool,
    /// `tests/vm-init` builds for it (own `_start`; not on 32-bit powerpc, and musl's start
    /// files get in the way).
    pub vm_init: bool,
}

pub const TARGETS: &[Target] = &[
    Target {
        triple: "i686-unknown-linux-gnu",
        gcc: Some(("i686-linux-gnu", "i386")),
        qemu: "qemu-i386",
        native: true,
        vm_init: true,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        gcc: Some(("aarch64-linux-gnu", "arm64")),
        qemu: "qemu-aarch64",
        native: false,
        vm_init: true,
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        gcc: Some(("arm-linux-gnueabihf", "armhf")),
        qemu: "qemu-arm",
        native: false,
        vm_init: true,
    },
    Target {
        triple: "riscv64gc-unknown-linux-gnu",
        gcc: Some(("riscv64-linux-gnu", "riscv64")),
        qemu: "qemu-riscv64",
        native: false,
        vm_init: true,
    },
    Target {
        triple: "powerpc64le-unknown-linux-gnu",
        gcc: Some(("powerpc64le-linux-gnu", "ppc64el")),
        qemu: "qemu-ppc64le",
        native: false,
        vm_init: true,
    },
    Target {
        triple: "powerpc-unknown-linux-gnu",
        gcc: Some(("powerpc-linux-gnu", "powerpc")),
        qemu: "qemu-ppc",
        native: false,
        vm_init: false,
    },
    Target {
        triple: "s390x-unknown-linux-gnu",
        gcc: Some(("s390x-linux-gnu", "s390x")),
        qemu: "qemu-s390x",
        native: false,
        vm_init: true,
    },
    Target {
        triple: "x86_64-unknown-linux-musl",
        gcc: None,
        qemu: "qemu-x86_64",
        native: true,
        vm_init: false,
    },
];

pub fn target(triple: &str) -> Result<&'static Target> {
    TARGETS.iter().find(|t| t.triple == triple).ok_or_else(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
        format!(
            "unknown target {triple:?}; known: {} or all",
            names.join(", ")
        )
    })
}

/// `CARGO_TARGET_<TRIPLE>_<what>`.
fn cargo_env(triple: &str, what: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{what}",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// A cargo command for `t`: the cross linker (and C compiler, for build scripts using `cc`) set.
pub fn cargo_for(t: &Target) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    if let Some((gcc, _)) = t.gcc {
        c.env(cargo_env(t.triple, "LINKER"), format!("{gcc}-gcc"));
        c.env(
            format!("CC_{}", t.triple.replace('-', "_")),
            format!("{gcc}-gcc"),
        );
    }
    c
}

/// Provisions the rustup targets, cross compilers and QEMU user for `targets`.
pub fn provision(targets: &[&Target]) -> Result<()> {
    crate::provision::rustup_targets(&targets.iter().map(|t| t.triple).collect::<Vec<_>>())?;
    crate::provision::cross_gcc(&targets.iter().filter_map(|t| t.gcc).collect::<Vec<_>>())?;
    crate::provision::qemu(&targets.iter().map(|t| t.qemu).collect::<Vec<_>>())
}

/// Builds `tests/vm-init` (release) for `t` and returns the binary.
pub fn build_vm_init(t: &Target) -> Result<PathBuf> {
    crate::util::run(
        cargo_for(t)
            .args(["build", "--release", "-p", "vm-init", "--target", t.triple])
            .env("CARGO_TERM_PROGRESS_WHEN", "never"),
    )?;
    Ok(crate::util::target_dir()
        .join(t.triple)
        .join("release")
        .join("vm-init"))
}

/// One row of the summary.
struct Row {
    target: String,
    run: &'static str,
    tests: String,
    suite: String,
    problems: Vec<String>,
    secs: f64,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut selected: Vec<&Target> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => {
                let v = it.next().ok_or("--target needs a value")?;
                if v == "all" {
                    selected.extend(TARGETS.iter());
                } else {
                    selected.push(target(v)?);
                }
            }
            _ => {
                return Err(format!(
                    "unknown argument {a:?} (cross-test [--target T | all])"
                ))
            }
        }
    }
    if selected.is_empty() {
        selected.extend(TARGETS.iter());
    }
    provision(&selected)?;
    let mut rows = Vec::new();
    // The suite's case names (the same on every arch), from the first vm-init run.
    let mut names: Vec<String> = Vec::new();
    let mut sorted: Vec<&Target> = selected.iter().copied().filter(|t| t.vm_init).collect();
    sorted.extend(selected.iter().copied().filter(|t| !t.vm_init));
    for t in sorted {
        eprintln!("\n=== cross-test {}", t.triple);
        let qemu = qemu_runner(t);
        if t.vm_init {
            let (row, n) = suite(t, "qemu-user", Some(&qemu));
            rows.push(row);
            if names.is_empty() {
                names = n;
            }
        }
        match qemu_threads_hang(t) {
            // The std harness needs threads; the suite above (vm-init, single-threaded, no
            // libc) has already shown the ENOSYS path under this QEMU.
            Some(why) => rows.push(Row {
                target: t.triple.into(),
                run: "qemu-user",
                tests: format!("not run: {why}"),
                suite: "-".into(),
                problems: Vec::new(),
                secs: 0.0,
            }),
            None => rows.push(cargo_tests(t, "qemu-user", Some(&qemu), &names)),
        }
        if t.native {
            let native = native_runner(t);
            if t.vm_init {
                rows.push(suite(t, "native", native.as_deref()).0);
            }
            rows.push(cargo_tests(t, "native", native.as_deref(), &[]));
        }
    }
    println!("\ncross-test summary");
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let verdict = if r.problems.is_empty() {
                "ok".into()
            } else {
                format!("FAILED: {}", r.problems.join("; "))
            };
            vec![
                r.target.clone(),
                r.run.into(),
                r.tests.clone(),
                r.suite.clone(),
                format!("{:.0} s", r.secs),
                verdict,
            ]
        })
        .collect();
    report::table(
        &[
            "target",
            "run",
            "cargo test",
            "suite (vm-init)",
            "time",
            "verdict",
        ],
        &cells,
    );
    let bad = rows.iter().filter(|r| !r.problems.is_empty()).count();
    if bad > 0 {
        Err(format!("{bad} of {} runs failed", rows.len()))
    } else {
        Ok(())
    }
}

/// Natively, a dynamic glibc binary of a foreign ABI (i686) needs the cross sysroot's loader:
/// `/usr/<triple>/lib/ld-linux.so.2 --library-path /usr/<triple>/lib`. Static ones need nothing.
fn native_runner(t: &Target) -> Option<String> {
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
fn qemu_runner(t: &Target) -> String {
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
fn qemu_threads_hang(t: &Target) -> Option<String> {
    let (gcc, _) = t.gcc?;
    let dir = crate::util::target_dir().join("cross");
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
/// the names `tests/vm-init` printed) must have one naming ENOSYS.
fn cargo_tests(t: &Target, run: &'static str, runner: Option<&str>, cases: &[String]) -> Row {
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
fn suite(t: &Target, run: &'static str, runner: Option<&str>) -> (Row, Vec<String>) {
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

/// Under QEMU user every kernel case must be skipped, all for one reason, and that reason must
/// name ENOSYS; a suite without cases checks nothing and is an error too.
fn enosys_problems(r: &Report) -> Vec<String> {
    let mut p = Vec::new();
    if r.cases.is_empty() {
        p.push("the suite has no cases: nothing was checked".into());
    }
    for (name, o) in &r.cases {
        match o {
            Outcome::Skip(why) if why.contains("ENOSYS") => {}
            other => p.push(format!(
                "{name}: expected skip naming ENOSYS under qemu-user, got {other:?}"
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
        assert_eq!(enosys_problems(&report::parse(mixed)).len(), 1);
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
