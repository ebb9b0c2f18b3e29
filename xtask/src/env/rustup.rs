//! rustup: targets and components of the default toolchain, nightly with its components, and
//! pinned toolchains. Each is checked first and added only if missing.

use crate::util::process::{output, run, show, Result};
use std::process::Command;

/// `rustup target add` (for `toolchain`, else the default one) of those of `targets` not
/// installed yet.
pub fn targets_for(toolchain: Option<&str>, targets: &[&str]) -> Result<()> {
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]);
    if let Some(t) = toolchain {
        list.args(["--toolchain", t]);
    }
    let missing: Vec<&str> = match output(&mut list) {
        Ok(installed) => targets
            .iter()
            .copied()
            .filter(|t| !installed.lines().any(|l| l == *t))
            .collect(),
        // No rustup (a toolchain installed otherwise): what the sysroot lacks.
        Err(_) if toolchain.is_none() => {
            targets.iter().copied().filter(|t| !has_target(t)).collect()
        }
        Err(e) => return Err(e),
    };
    if missing.is_empty() {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add"]);
    if let Some(t) = toolchain {
        add.args(["--toolchain", t]);
    }
    add.args(&missing);
    run(&mut add).map_err(|e| {
        format!(
            "missing Rust targets: {}; add them with: {} ({e})",
            missing.join(" "),
            show(&add)
        )
    })
}

/// `rustup target add` for those of `targets` not installed yet (default toolchain).
pub fn targets(targets: &[&str]) -> Result<()> {
    targets_for(None, targets)
}

/// `rustup component add` for those of `components` (e.g. `rustfmt`, `clippy`) not installed yet
/// (default toolchain).
pub fn components(components: &[&str]) -> Result<()> {
    let installed = output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    for c in components {
        if !installed.lines().any(|l| l.starts_with(c)) {
            run(Command::new("rustup").args(["component", "add", c]))?;
        }
    }
    Ok(())
}

/// The nightly toolchain with `components` (e.g. `rust-src` for `-Zbuild-std`, `miri`),
/// installed or completed if missing.
pub fn nightly(components: &[&str]) -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        "nightly",
    ]))
    .unwrap_or_default();
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|c| {
            !installed
                .lines()
                .any(|l| l.trim() == *c || l.starts_with(&format!("{c}-")))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("provision: nightly toolchain with {}", missing.join(", "));
    let mut c = Command::new("rustup");
    c.args(["toolchain", "install", "nightly", "--profile", "minimal"]);
    for m in &missing {
        c.args(["--component", m]);
    }
    run(&mut c)
}

/// The pinned toolchain `version` (minimal profile) with `targets`.
pub fn toolchain(version: &str, targets: &[&str]) -> Result<()> {
    let have = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !have.lines().any(|l| l.starts_with(&format!("{version}-"))) {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            version,
            "--profile",
            "minimal",
        ]))?;
    }
    targets_for(Some(version), targets)
}

/// Whether the active toolchain has the standard library of `target` (its directory in
/// `rustc --print sysroot`): found without rustup, so also where rustup is not usable.
pub fn has_target(target: &str) -> bool {
    output(Command::new("rustc").args(["--print", "sysroot"])).is_ok_and(|s| {
        std::path::Path::new(s.trim())
            .join("lib/rustlib")
            .join(target)
            .join("lib")
            .is_dir()
    })
}

/// `rustup component add --toolchain version` of those of `components` not installed yet.
pub fn toolchain_components(version: &str, components: &[&str]) -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        version,
    ]))?;
    for c in components {
        if !installed
            .lines()
            .any(|l| l.trim() == *c || l.starts_with(&format!("{c}-")))
        {
            run(Command::new("rustup").args(["component", "add", "--toolchain", version, c]))?;
        }
    }
    Ok(())
}
