//! Debian packages on this machine: installed (as root) when missing, or named with the command
//! that installs them.

use super::private_apt::mirror;
use crate::util::process::{have, is_root, output, run, target_dir, Result};
use std::path::Path;
use std::process::Command;

/// Those of `pkgs` that are not installed.
pub fn missing<'a>(pkgs: &[&'a str]) -> Vec<&'a str> {
    pkgs.iter()
        .copied()
        .filter(|p| {
            !output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_ok_and(|s| s.contains("install ok installed"))
        })
        .collect()
}

/// Installs Debian packages that are not installed yet (as root), or says how to.
pub fn install(pkgs: &[&str]) -> Result<()> {
    let missing = missing(pkgs);
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
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Installs `pkgs` on this machine from `suite` (e.g. `bookworm-backports`, which the machine's
/// sources may lack) with `-t suite`, as root. The machine's own sources are read as they are;
/// `suite` is added through a private list, with private package lists and cache under
/// `target/apt/host-<suite>`, so the machine's apt configuration is never changed.
pub fn install_from(suite: &str, pkgs: &[&str]) -> Result<()> {
    let dir = target_dir().join("apt").join(format!("host-{suite}"));
    for sub in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    let signed = if Path::new(keyring).exists() {
        format!("[signed-by={keyring}] ")
    } else {
        String::new()
    };
    let list = format!("deb {signed}{} {suite} main\n", mirror());
    std::fs::write(dir.join("sources.list"), list).map_err(|e| e.to_string())?;
    let d = dir.display();
    let opts = [
        format!("-oDir::Etc::SourceList={d}/sources.list"),
        format!("-oDir::State::Lists={d}/lists"),
        format!("-oDir::Cache={d}/cache"),
        "-qq".into(),
    ];
    run(Command::new("apt-get").args(&opts).arg("update"))?;
    run(Command::new("apt-get")
        .args(&opts)
        .args(["install", "-y", "--no-install-recommends", "-t", suite])
        .args(pkgs)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
