//! `cargo xtask cross-test [--target T | all]`: the workspace's tests cross-built for every Rust
//! Linux target and run under QEMU user emulation, plus the shared suite as `tests/vm-init`.
//!
//! QEMU user has no userfaultfd (ENOSYS on every arch), so there the ABI/ioctl/flag/decoding
//! tests must pass and every kernel case must report itself skipped with exactly the reason
//! `userfaultfd: ENOSYS`: checked here, case by case, so "unavailable" is a tested path and not a silent pass.
//! i686 and x86_64-musl also run natively on this x86_64 kernel, where the kernel cases run.

mod runs;

use crate::targets::{cross, provision, Target, TARGETS};
use crate::util::process::Result;
use crate::util::report;
use bpaf::{construct, long, Parser};
use runs::{cargo_tests, native_runner, qemu_runner, qemu_threads_hang, suite};

/// One row of the summary.
pub struct Row {
    pub target: String,
    pub run: &'static str,
    pub tests: String,
    pub suite: String,
    pub problems: Vec<String>,
    pub secs: f64,
}

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "the tests for every Rust Linux target under QEMU user (and natively)";

/// The options.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// `--target T|all`, repeatable; none: all.
    pub targets: Vec<String>,
}

pub fn parser() -> impl Parser<Args> {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
    let targets = long("target")
        .help(
            format!(
                "a Rust target ({}), or `all` (the default); repeatable",
                names.join(", ")
            )
            .as_str(),
        )
        .argument::<String>("T")
        .many();
    construct!(Args { targets })
}

pub fn run(a: &Args) -> Result<()> {
    let mut selected: Vec<&Target> = Vec::new();
    for v in &a.targets {
        if v == "all" {
            selected.extend(TARGETS.iter());
        } else {
            selected.push(cross(v)?);
        }
    }
    if selected.is_empty() {
        selected.extend(TARGETS.iter());
    }
    provision(
        &selected,
        &selected.iter().map(|t| t.qemu).collect::<Vec<_>>(),
    )?;
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
