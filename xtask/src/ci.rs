//! `cargo xtask ci`: provisions what a fresh machine lacks, then runs every check the project has.
//!
//! Provisioning installs rustup targets and (as root) Debian packages; run as another user it
//! names what is missing and the command that installs it instead.

use crate::util::{have, is_root, output, run as sh, Result};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The targets the crate must build for with `#![no_std]` on stable.
pub const NO_STD_TARGETS: &[&str] = &[
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
/// i386 and x32 probes are freestanding `-c`, so no multilib is needed).
const APT_PACKAGES: &[&str] = &["gcc", "libc6-dev", "dpkg-dev"];

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        return Err(format!(
            "unknown argument {a:?} (cargo xtask ci takes none)"
        ));
    }
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
    let cargo = || {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(crate::util::root());
        c
    };
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
        sh(cargo().args([
            "clippy",
            "-p",
            "uffd",
            "--all-targets",
            "--features",
            "unstable-7-3",
            "--",
            "-D",
            "warnings",
        ]))
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
        // The pager's threaded tests need its std conveniences.
        sh(cargo().args(["test", "-p", "uffd", "--features", "std", "--test", "pager"]))
    })?;
    // The event and partial-progress decoders under libFuzzer (nightly, cargo-fuzz; fuzz/ is its
    // own workspace): 20 s per target, about 45 s warm (1.5 min more for a cold build). The
    // long run is by hand: `cd fuzz && cargo +nightly fuzz run -O <target> -- -runs=10000000`.
    step("fuzz smoke", fuzz_smoke)?;
    // The pure unit tests (abi, ioctl, event and progress decoding, range rules) under Miri,
    // about 1 min with the sysroot build. tests/ioctl.rs passes too but takes 2.5 min: by hand.
    step("miri (pure unit tests)", || {
        let have =
            output(Command::new("rustup").args(["+nightly", "component", "list", "--installed"]))?;
        if !have.lines().any(|l| l.starts_with("miri")) {
            sh(Command::new("rustup").args(["+nightly", "component", "add", "miri", "rust-src"]))?;
        }
        sh(Command::new("rustup")
            .current_dir(crate::util::root())
            .args([
                "run", "nightly", "cargo", "miri", "test", "-p", "uffd", "--lib",
            ]))
    })?;
    // Every example, run: each asserts its own result and exits non-zero on failure.
    step("examples", || examples(&cargo))?;
    step("docs (warnings are errors)", || {
        sh(cargo()
            .args(["doc", "-p", "uffd", "--all-features", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    })?;
    step(&format!("msrv {MSRV}"), msrv)?;
    // The fault-storm benchmark, short: both implementations, every handler pattern, contents
    // verified (no timing judged; cargo xtask bench for numbers).
    step("bench smoke", crate::bench::smoke)?;
    // The crate against the real headers: the host's (/usr/include, gcc), then every ABI of
    // Debian unstable's linux-libc-dev with each ABI's cross gcc (about 40 s once provisioned).
    step("verify-layout (host)", || crate::verify_layout::run(&[]))?;
    step("verify-layout --arch all", || {
        apt_install(&crate::verify_layout::compiler_packages())?;
        crate::verify_layout::run(&["--arch".into(), "all".into()])
    })?;
    // Every Rust Linux target under QEMU user (kernel cases must skip with ENOSYS), i686 and
    // x86_64-musl natively too; provisions cross gcc, rustup targets and QEMU 10 (backports).
    step("cross-test --target all", || {
        crate::cross::run(&["--target".into(), "all".into()])
    })?;
    // The suite as /init on real Debian kernels under qemu-system (TCG), one boot at a time;
    // kernels cached under target/apt and target/vm.
    step("vm-test --arch all", || {
        crate::vm::run(&["--arch".into(), "all".into()])
    })?;
    Ok(())
}

/// `cargo +nightly fuzz run <target> -- -max_total_time=20` for every target in fuzz/.
fn fuzz_smoke() -> Result<()> {
    if output(Command::new("cargo").args(["fuzz", "--version"])).is_err() {
        sh(Command::new("cargo").args(["install", "--locked", "cargo-fuzz"]))?;
    }
    let fuzz = crate::util::root().join("fuzz");
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
pub fn provision() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = NO_STD_TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l == *t))
        .collect();
    if !missing.is_empty() {
        sh(Command::new("rustup")
            .args(["target", "add"])
            .args(&missing))?;
    }
    let components = output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            sh(Command::new("rustup").args(["component", "add", c]))?;
        }
    }
    apt_install(APT_PACKAGES)
}

/// Installs Debian packages that are not installed yet (as root), or says how to.
pub fn apt_install(pkgs: &[&str]) -> Result<()> {
    let missing: Vec<&str> = pkgs
        .iter()
        .copied()
        .filter(|p| {
            !output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_ok_and(|s| s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() || !have("apt-get") {
        return Err(format!(
            "missing Debian packages: {}; install them with: sudo apt-get install --no-install-recommends {}",
            missing.join(" "),
            missing.join(" ")
        ));
    }
    sh(Command::new("apt-get").args(["update", "-qq"]))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
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
fn examples(cargo: &dyn Fn() -> Command) -> Result<()> {
    for e in EXAMPLES {
        sh(cargo().args(["run", "-p", "uffd", "--features", "std", "--example", e]))?;
    }
    apt_install(&["gcc-aarch64-linux-gnu"])?;
    for t in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        sh(cargo()
            .args(["build", "--release", "-p", "no-libc-example", "--target", t])
            .env(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                "aarch64-linux-gnu-gcc",
            ))?;
    }
    let bin = crate::util::target_dir().join("x86_64-unknown-linux-gnu/release/no_libc");
    let out = output(&mut Command::new(&bin))?;
    print!("{out}");
    if !out.lines().any(|l| l == "no_libc: ok") {
        return Err(format!("{} did not print `no_libc: ok`", bin.display()));
    }
    Ok(())
}

/// The oldest Rust that builds the crate: `rust-version` in Cargo.toml. (Nested `offset_of!`
/// needs 1.82; the `syscalls` 0.8 dependency uses `is_multiple_of`, stable since 1.87.)
pub const MSRV: &str = "1.87";

/// Installs the MSRV toolchain (minimal profile) and builds and tests the library with it.
fn msrv() -> Result<()> {
    let manifest = std::fs::read_to_string(crate::util::root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    if !manifest.contains(&format!("rust-version = \"{MSRV}\"")) {
        return Err(format!(
            "Cargo.toml's rust-version is not {MSRV} (xtask/src/ci.rs MSRV)"
        ));
    }
    sh(Command::new("rustup").args(["toolchain", "install", MSRV, "--profile", "minimal"]))?;
    let cargo = || {
        let mut c = Command::new("rustup");
        c.args(["run", MSRV, "cargo"])
            .current_dir(crate::util::root())
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .env_remove("RUSTUP_TOOLCHAIN")
            // Its own target directory: the stable build's stays cached.
            .env("CARGO_TARGET_DIR", crate::util::target_dir().join("msrv"));
        c
    };
    sh(cargo().args(["build", "-p", "uffd"]))?;
    sh(cargo().args(["build", "-p", "uffd", "--all-features"]))?;
    sh(cargo().args([
        "test",
        "-p",
        "uffd",
        "--features",
        "std",
        "--lib",
        "--tests",
        "--examples",
    ]))
}
