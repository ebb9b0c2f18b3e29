//! `cargo xtask ci`: provisions what a fresh machine lacks, then runs every check the project has.
//!
//! Provisioning installs rustup targets and (as root) Debian packages; run as another user it
//! names what is missing and the command that installs it instead. Each command it runs
//! (`bench`, `msrv`, `package`, `verify-layout`, `cross-test`, `vm-test`) provisions what it needs
//! itself; `ci` calls them through their `run` only.

use super::{bench, cross, msrv, package, storm, verify_layout, vm};
use crate::env::{apt, rustup, tools};
use crate::util::process::{cargo, output, root, run as sh, target_dir, Result};
use bpaf::{pure, Parser};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "every check the project has, in order (provisions a fresh machine first)";

/// `ci` has no options.
#[derive(Clone, Debug, Default)]
pub struct Args;

pub fn parser() -> impl Parser<Args> {
    pure(Args)
}

/// The targets the crate must build for with `#![no_std]` on stable.
const NO_STD_TARGETS: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "i686-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "armv7-unknown-linux-gnueabihf",
    "riscv64gc-unknown-linux-gnu",
    "powerpc64le-unknown-linux-gnu",
    "powerpc-unknown-linux-gnu",
    "s390x-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "x86_64-unknown-none",
    "aarch64-unknown-none",
];

/// Debian packages the checks need (gcc for the C probes and the C benchmark reference; the
/// i386 and x32 probes are freestanding `-c`, so no multilib is needed; uffd-probe's ELF reader
/// reads checked-in big-endian objects, so `cargo test --workspace` needs no cross gcc; libclang
/// for the bindgen of userfaultfd-sys, which `tests/composition` builds to compose uffd with
/// userfaultfd 0.9).
const APT_PACKAGES: &[&str] = &["gcc", "libc6-dev", "dpkg-dev", "libclang-dev"];

pub fn run(_: &Args) -> Result<()> {
    let started = Instant::now();
    let result = run_steps();
    // A plain closing line, as test runners print one: the steps that passed and failed.
    let passed = STEPS_PASSED.load(Ordering::Relaxed);
    println!(
        "ci: {passed} passed, {} failed",
        usize::from(result.is_err())
    );
    if result.is_ok() {
        eprintln!(
            "ci: all checks passed in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    result
}

/// Steps that passed so far (for the closing line).
static STEPS_PASSED: AtomicUsize = AtomicUsize::new(0);

fn run_steps() -> Result<()> {
    provision()?;
    step("rustfmt", || {
        sh(cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    step("clippy", || {
        sh(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        // The provisional 7.3 items; the std-only targets (the pager's threaded tests, the
        // storm, the std examples).
        for features in ["unstable-7-3", "std"] {
            sh(cargo().args([
                "clippy",
                "-p",
                "uffd",
                "--all-targets",
                "--features",
                features,
                "--",
                "-D",
                "warnings",
            ]))?;
        }
        Ok(())
    })?;
    step("no_std builds", || {
        for t in NO_STD_TARGETS {
            sh(cargo().args(["build", "-p", "uffd", "--target", t]))?;
            sh(cargo().args([
                "build",
                "-p",
                "uffd",
                "--features",
                "unstable-7-3",
                "--target",
                t,
            ]))?;
        }
        Ok(())
    })?;
    step("tests", || {
        sh(cargo().args(["test", "--workspace"]))?;
        // Firecracker's handoff runs the example handler from `target/debug/examples/` (a
        // `--test` run alone does not build examples).
        sh(cargo().args([
            "build",
            "-p",
            "uffd",
            "--features",
            "std",
            "--example",
            "firecracker_handler",
        ]))?;
        // The tests that need the std conveniences: the pager's threads, its readahead, its
        // failure cases, Firecracker's handoff.
        for test in [
            "pager",
            "pager_readahead",
            "pager_faults",
            "pagemap",
            "firecracker",
        ] {
            sh(cargo().args(["test", "-p", "uffd", "--features", "std", "--test", test]))?;
        }
        Ok(())
    })?;
    // The pager's randomized storm, short (release build, about a minute): the long run is
    // `cargo xtask storm` (300 seeds by default).
    step("storm (short)", || storm::run(&storm::Args::SHORT))?;
    // The event and partial-progress decoders under libFuzzer (nightly, cargo-fuzz; fuzz/ is its
    // own workspace): 20 s per target, about 45 s warm (1.5 min more for a cold build). The
    // long run is by hand: `cd fuzz && cargo +nightly fuzz run -O <target> -- -runs=10000000`.
    step("fuzz smoke", fuzz_smoke)?;
    // The pure unit tests (abi, ioctl, event and progress decoding, range rules) under Miri,
    // about 1 min with the sysroot build, on the host and on big-endian s390x (Miri interprets
    // the foreign target: the decoding of kernel messages stays proven for big-endian).
    // tests/ioctl.rs passes too but takes 2.5 min: by hand.
    step("miri (pure unit tests, x86_64 and s390x)", || {
        rustup::nightly(&["miri", "rust-src"])?;
        for target in [None, Some("s390x-unknown-linux-gnu")] {
            let mut cmd = Command::new("rustup");
            cmd.current_dir(root()).args([
                "run", "nightly", "cargo", "miri", "test", "-p", "uffd", "--lib",
            ]);
            if let Some(t) = target {
                cmd.args(["--target", t]);
            }
            sh(&mut cmd)?;
        }
        Ok(())
    })?;
    // Every example, run: each asserts its own result and exits non-zero on failure.
    step("examples", examples)?;
    step("docs (warnings are errors)", || {
        sh(cargo()
            .args(["doc", "-p", "uffd", "--all-features", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    })?;
    // `cargo package -p uffd` with its verify build, the packaged file list checked, and the
    // docs of every docs.rs target built.
    step("package", || package::run(&package::Args))?;
    step(&format!("msrv {}", msrv::MSRV), || msrv::run(&msrv::Args))?;
    // The fault-storm benchmark, short: both implementations, every handler pattern, contents
    // verified (no timing judged; cargo xtask bench for numbers).
    step("bench smoke", || {
        bench::run(&bench::Args {
            smoke: true,
            ..Default::default()
        })
    })?;
    // The crate against the real headers: the host's (/usr/include, gcc), then every ABI of
    // Debian unstable's linux-libc-dev with each ABI's cross gcc (about 40 s once provisioned;
    // it installs the compilers it lacks).
    step("verify-layout (host)", || {
        verify_layout::run(&verify_layout::Args::default())
    })?;
    step("verify-layout --arch all", || {
        verify_layout::run(&verify_layout::Args {
            arch: Some("all".into()),
            ..Default::default()
        })
    })?;
    // `unstable-7-3` is additive: with the feature on, the kernel names still hold 7.2's values,
    // compared here against the real 7.2 header (the `*_7_3` rows are "not compared" there).
    step("verify-layout --arch x86_64 --unstable-7-3", || {
        verify_layout::run(&verify_layout::Args {
            arch: Some("x86_64".into()),
            unstable: true,
            ..Default::default()
        })
    })?;
    // Every Rust Linux target under QEMU user (kernel cases must skip with ENOSYS), i686 and
    // x86_64-musl natively too; provisions cross gcc, rustup targets and QEMU 10 (backports).
    step("cross-test --target all", || {
        cross::run(&cross::Args {
            targets: vec!["all".into()],
        })
    })?;
    // The suite as /init on real Debian kernels under qemu-system (TCG), one boot at a time;
    // kernels cached under target/apt and target/vm.
    step("vm-test --arch all", || {
        vm::run(&vm::Args {
            arches: vec!["all".into()],
            ..Default::default()
        })
    })?;
    Ok(())
}

/// `cargo +nightly fuzz run <target> -- -max_total_time=20` for every target in fuzz/.
fn fuzz_smoke() -> Result<()> {
    tools::cargo_install("cargo-fuzz", &["cargo", "fuzz"])?;
    let fuzz = root().join("fuzz");
    for t in ["decode_msg", "range_result"] {
        sh(Command::new("rustup")
            .current_dir(&fuzz)
            .args(["run", "nightly", "cargo", "fuzz", "run", "-O", t, "--"])
            .args(["-max_total_time=20", "-print_final_stats=1"]))?;
    }
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("\n=== ci: {name}");
    let t = Instant::now();
    let r = f();
    if r.is_ok() {
        STEPS_PASSED.fetch_add(1, Ordering::Relaxed);
    }
    eprintln!(
        "=== ci: {name}: {} ({:.1} s)",
        if r.is_ok() { "ok" } else { "FAILED" },
        t.elapsed().as_secs_f64()
    );
    r.map_err(|e| format!("{name}: {e}"))
}

/// Installs the rustup targets and components and the Debian packages the checks need.
fn provision() -> Result<()> {
    rustup::targets(NO_STD_TARGETS)?;
    rustup::components(&["rustfmt", "clippy"])?;
    apt::install(APT_PACKAGES)
}

/// The examples of the root package that need `std` (each asserts its own result).
const EXAMPLES: &[&str] = &[
    "lazy_alloc",
    "snapshot_restore",
    "vmm_restore",
    "dirty_tracking",
    "async_tokio",
];

/// Runs every example; builds `examples/no_libc` for x86_64 and aarch64 and runs the x86_64 one
/// (the aarch64 one is built only: qemu-user does not emulate userfaultfd).
fn examples() -> Result<()> {
    for e in EXAMPLES {
        sh(cargo().args(["run", "-p", "uffd", "--features", "std", "--example", e]))?;
    }
    apt::install(&["gcc-aarch64-linux-gnu"])?;
    for t in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        sh(cargo()
            .args(["build", "--release", "-p", "no-libc-example", "--target", t])
            .env(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                "aarch64-linux-gnu-gcc",
            ))?;
    }
    let bin = target_dir().join("x86_64-unknown-linux-gnu/release/no_libc");
    let out = output(&mut Command::new(&bin))?;
    print!("{out}");
    if !out.lines().any(|l| l == "no_libc: ok") {
        return Err(format!("{} did not print `no_libc: ok`", bin.display()));
    }
    Ok(())
}
