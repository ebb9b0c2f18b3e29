//! `cargo xtask cross-test [--target T | all]`: the workspace's tests cross-built for every Rust
//! Linux target and run under QEMU user emulation, plus the shared suite as `tests/vm-init`.
//!
//! QEMU user has no userfaultfd (ENOSYS on every arch), so there the ABI/ioctl/flag/decoding
//! tests must pass and every kernel case must report itself skipped with one reason naming
//! ENOSYS: checked here, case by case, so "unavailable" is a tested path and not a silent pass.
//! i686 and x86_64-musl also run natively on this x86_64 kernel, where the kernel cases run.

mod runs;

use crate::report;
use crate::util::{root, Result};
use runs::{cargo_tests, native_runner, qemu_runner, qemu_threads_hang, suite};
use std::path::PathBuf;
use std::process::Command;

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
    /// No prebuilt std (tier 3, or none for this host): built with `cargo +nightly
    /// -Zbuild-std=core` (rust-src on nightly); linked by `gcc` if named, else by `rust-lld`.
    pub build_std: bool,
}

pub const TARGETS: &[Target] = &[
    Target {
        triple: "i686-unknown-linux-gnu",
        gcc: Some(("i686-linux-gnu", "i386")),
        qemu: "qemu-i386",
        native: true,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        gcc: Some(("aarch64-linux-gnu", "arm64")),
        qemu: "qemu-aarch64",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        gcc: Some(("arm-linux-gnueabihf", "armhf")),
        qemu: "qemu-arm",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "riscv64gc-unknown-linux-gnu",
        gcc: Some(("riscv64-linux-gnu", "riscv64")),
        qemu: "qemu-riscv64",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "powerpc64le-unknown-linux-gnu",
        gcc: Some(("powerpc64le-linux-gnu", "ppc64el")),
        qemu: "qemu-ppc64le",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "powerpc-unknown-linux-gnu",
        gcc: Some(("powerpc-linux-gnu", "powerpc")),
        qemu: "qemu-ppc",
        native: false,
        vm_init: false,
        build_std: false,
    },
    Target {
        triple: "s390x-unknown-linux-gnu",
        gcc: Some(("s390x-linux-gnu", "s390x")),
        qemu: "qemu-s390x",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "x86_64-unknown-linux-musl",
        gcc: None,
        qemu: "qemu-x86_64",
        native: true,
        vm_init: false,
        build_std: false,
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

/// A cargo command for `t`: the cross linker (and C compiler, for build scripts using `cc`) set;
/// nightly's cargo (through `rustup run`) for a `build_std` target, linked by `rust-lld` if it
/// has no cross gcc.
pub fn cargo_for(t: &Target) -> Command {
    let mut c = if t.build_std {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo"]);
        c
    } else {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
    };
    c.current_dir(root());
    if let Some((gcc, _)) = t.gcc {
        c.env(cargo_env(t.triple, "LINKER"), format!("{gcc}-gcc"));
        c.env(
            format!("CC_{}", t.triple.replace('-', "_")),
            format!("{gcc}-gcc"),
        );
    } else if t.build_std {
        c.env(cargo_env(t.triple, "LINKER"), "rust-lld");
    }
    c
}

/// Provisions the rustup targets (or nightly's rust-src), cross compilers and QEMU user for
/// `targets`.
pub fn provision(targets: &[&Target]) -> Result<()> {
    crate::provision::rust_targets(targets)?;
    crate::provision::cross_gcc(&targets.iter().filter_map(|t| t.gcc).collect::<Vec<_>>())?;
    crate::provision::qemu(&targets.iter().map(|t| t.qemu).collect::<Vec<_>>())
}

/// Builds `tests/vm-init` (release) for `t` and returns the binary.
pub fn build_vm_init(t: &Target) -> Result<PathBuf> {
    let mut c = cargo_for(t);
    c.args(["build", "--release", "-p", "vm-init", "--target", t.triple])
        .env("CARGO_TERM_PROGRESS_WHEN", "never");
    if t.build_std {
        c.arg("-Zbuild-std=core");
    }
    crate::util::run(&mut c)?;
    Ok(crate::util::target_dir()
        .join(t.triple)
        .join("release")
        .join("vm-init"))
}

/// One row of the summary.
pub struct Row {
    pub target: String,
    pub run: &'static str,
    pub tests: String,
    pub suite: String,
    pub problems: Vec<String>,
    pub secs: f64,
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
