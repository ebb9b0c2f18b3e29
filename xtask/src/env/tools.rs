//! Tools the commands run: Debian cross compilers with their C libraries, QEMU 10 from
//! bookworm-backports, and tools installed with `cargo install`.
//!
//! QEMU must come from backports: Debian 12's own `qemu-system-*` (7.2) would *remove* the
//! machine's preinstalled `qemu-utils` 10.0.2.

use super::apt;
use crate::util::process::{have, is_root, output, run, Result};
use std::process::Command;

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
    apt::install(&pkgs)
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
            "QEMU >= 10 missing for {}: run this command as root (it installs QEMU from \
             bookworm-backports through a private apt list), or install it with: sudo apt-get \
             install -t bookworm-backports {} (bookworm-backports in your apt sources)",
            lacking.join(" "),
            QEMU_PACKAGES.join(" ")
        ));
    }
    eprintln!(
        "provision: installing QEMU from bookworm-backports (lacking: {})",
        lacking.join(" ")
    );
    apt::install_from("bookworm-backports", QEMU_PACKAGES)?;
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

/// `cargo install --locked <krate>` unless `program --version` (e.g. `cargo fuzz --version`)
/// already runs.
pub fn cargo_install(krate: &str, program: &[&str]) -> Result<()> {
    let (prog, args) = program.split_first().ok_or("no program to check")?;
    if output(Command::new(prog).args(args).arg("--version")).is_ok() {
        return Ok(());
    }
    run(Command::new("cargo").args(["install", "--locked", krate]))
}
