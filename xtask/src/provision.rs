//! What `cross-test` and `vm-test` need on a fresh machine: rustup targets, Debian cross
//! compilers with their C libraries, and QEMU 10 from bookworm-backports.
//!
//! QEMU must come from backports: Debian 12's own `qemu-system-*` (7.2) would *remove* the
//! machine's preinstalled `qemu-utils` 10.0.2.

use crate::ci::apt_install;
use crate::util::{have, is_root, output, run, Result};
use std::process::Command;

/// `rustup target add` for those of `targets` not installed yet.
pub fn rustup_targets(targets: &[&str]) -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("rustup")
        .args(["target", "add"])
        .args(&missing))
}

/// `rustup target add` for the targets with a prebuilt std; nightly with rust-src for those
/// built with `-Zbuild-std`.
pub fn rust_targets(targets: &[&crate::cross::Target]) -> Result<()> {
    let prebuilt: Vec<&str> = targets
        .iter()
        .filter(|t| !t.build_std)
        .map(|t| t.triple)
        .collect();
    rustup_targets(&prebuilt)?;
    if targets.iter().any(|t| t.build_std) {
        nightly_rust_src()?;
    }
    Ok(())
}

/// The nightly toolchain with the `rust-src` component (for `-Zbuild-std`), installed if missing.
pub fn nightly_rust_src() -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        "nightly",
    ]))
    .unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "rust-src") {
        return Ok(());
    }
    eprintln!("provision: nightly toolchain with rust-src (for -Zbuild-std)");
    run(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
        "--component",
        "rust-src",
    ]))
}

/// `gcc-<triple>` and `libc6-dev-<debarch>-cross` (only recommended by the former, but builds
/// fail on `bits/wordsize.h` without it) for each `(gcc triple, Debian arch)`.
pub fn cross_gcc(pairs: &[(&str, &str)]) -> Result<()> {
    let pkgs: Vec<String> = pairs
        .iter()
        .flat_map(|(triple, debarch)| {
            [
                format!("gcc-{triple}"),
                format!("libc6-dev-{debarch}-cross"),
            ]
        })
        .collect();
    let pkgs: Vec<&str> = pkgs.iter().map(String::as_str).collect();
    apt_install(&pkgs)
}

/// The QEMU packages, all from bookworm-backports.
const QEMU_PACKAGES: &[&str] = &[
    "qemu-user",
    "qemu-utils",
    "qemu-system-x86",
    "qemu-system-arm",
    "qemu-system-ppc",
    "qemu-system-mips",
    "qemu-system-misc",
];

/// The major version of `prog --version`, if it runs.
fn qemu_major(prog: &str) -> Option<u32> {
    let out = output(Command::new(prog).arg("--version")).ok()?;
    let v = out.split("version ").nth(1)?;
    v.split('.').next()?.parse().ok()
}

/// Makes sure every program in `progs` (e.g. `qemu-aarch64`, `qemu-system-s390x`) is QEMU 10 or
/// newer, installing QEMU from bookworm-backports if not.
pub fn qemu(progs: &[&str]) -> Result<()> {
    let lacking: Vec<&str> = progs
        .iter()
        .copied()
        .filter(|p| !have(p) || qemu_major(p).is_none_or(|m| m < 10))
        .collect();
    if lacking.is_empty() {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "QEMU >= 10 missing for {}: as root, `cargo xtask` installs {} from bookworm-backports",
            lacking.join(" "),
            QEMU_PACKAGES.join(" ")
        ));
    }
    eprintln!(
        "provision: installing QEMU from bookworm-backports (lacking: {})",
        lacking.join(" ")
    );
    crate::apt::install_from("bookworm-backports", QEMU_PACKAGES)?;
    match lacking
        .iter()
        .find(|p| qemu_major(p).is_none_or(|m| m < 10))
    {
        Some(p) => Err(format!(
            "{p} is still not QEMU >= 10 after installing from backports"
        )),
        None => Ok(()),
    }
}
