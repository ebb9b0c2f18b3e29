//! `cargo xtask verify-layout [--arch NAME|all] [--headers DIR] [--suite SUITE] [--unstable-7-3]`
//!
//! Compiles C probes of the real `linux/userfaultfd.h` (plus `asm/unistd.h`, `asm/fcntl.h`) for
//! each ABI of each kernel architecture, reads the values out of the object files, and compares
//! them with the crate:
//! - ABIs with a Rust target we build: the crate compiled *for that target*. The C values go to
//!   `layout-tests` (`LAYOUT_TESTS_C_VALUES`), whose generated `const` assertions make
//!   `cargo build -p layout-tests --target T` fail on a mismatch, naming the item and both
//!   values; the crate's values for the table are read out of the rlib built for T.
//! - Other ABIs: the ioctl numbers against `uffd::abi::uffdio_ioctls(family)`, and the values the
//!   crate defines for every ABI (constants, struct sizes, field offsets) against the host build.
//!
//! No arguments: the host's `/usr/include` with the host gcc. `--arch` without `--headers`: the
//! newest `linux-libc-dev` of a Debian suite (default `unstable`), downloaded through a private
//! apt configuration under `target/apt/`, cached, its version printed.
//!
//! The compilers and Rust targets of the chosen ABIs are provisioned first, as `cross-test` and
//! `vm-test` do theirs (installed as root; named, with the command, otherwise). An ABI whose
//! compiler or target still cannot be had is reported as "not run: no compiler (install X)",
//! counted apart from the ABIs that disagree with the headers.
//!
//! Files, each importing only those listed before it (and this module): [`cli`]: the options;
//! [`abi`]: the ABI table; [`tree`]: where the headers come from; [`select`]: the choice of ABIs
//! and compilers; [`rust`]: the crate's values for an ABI; [`table`]: the verdicts and the
//! table; [`check`]: one ABI's check; this module: the run over the ABIs. The C side (manifest, probe) is the
//! `uffd-probe` crate, shared with `layout-tests/build.rs`.

mod abi;
mod check;
mod cli;
mod rust;
mod select;
mod table;
mod tree;

pub use cli::{parser, Args, ABOUT};

use crate::env::{apt, rustup};
use crate::util::process::{cargo, target_dir, Result};
use check::not_runnable;
use rust::RustValues;
use select::{compiler, select_abis};
use std::path::PathBuf;
use std::time::Instant;
use tree::Tree;

pub fn run(o: &Args) -> Result<()> {
    if o.unstable && !cfg!(feature = "unstable-7-3") {
        // The non-Rust-target ABIs use the xtask's own `uffd::abi::uffdio_ioctls`: rebuild it
        // with the provisional items.
        let status = cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "xtask",
                "--features",
                "unstable-7-3",
                "--",
                "verify-layout",
            ])
            .args(o.to_cli())
            .status()
            .map_err(|e| e.to_string())?;
        return if status.success() {
            Ok(())
        } else {
            Err("verify-layout --unstable-7-3 failed".into())
        };
    }
    let started = Instant::now();
    let (tree, tree_desc) = Tree::resolve(o.headers.as_deref(), o.arch.as_deref(), &o.suite)?;
    println!("verify-layout: headers: {tree_desc}");

    let abis = select_abis(&tree, o.arch.as_deref())?;
    provision(&abis, &tree);
    let mut host_rust: Option<RustValues> = None;
    let mut summary = Vec::new();
    let (mut failed, mut disagree, mut not_run) = (0usize, 0usize, Vec::new());
    for a in &abis {
        if let Some(lacks) = not_runnable(a, &tree) {
            let why = lacks.describe();
            println!("\n=== {}: not run: {why}", a.label());
            summary.push(format!("{:<22} not run: {why}", a.label()));
            not_run.push(lacks);
            continue;
        }
        let t = Instant::now();
        let r = check::check_abi(a, &tree, o, &mut host_rust);
        match r {
            Ok(rep) => {
                let line = format!(
                    "{:<22} {} ({:.1} s)",
                    a.label(),
                    rep.summary,
                    t.elapsed().as_secs_f64()
                );
                if rep.failures > 0 {
                    failed += 1;
                    disagree += 1;
                }
                summary.push(line);
            }
            Err(e) => {
                failed += 1;
                summary.push(format!("{:<22} ERROR: {e}", a.label()));
            }
        }
    }
    println!("\nverify-layout summary ({tree_desc}):");
    for l in &summary {
        println!("  {l}");
    }
    let not_run_note = if not_run.is_empty() {
        String::new()
    } else {
        format!(", {} not run", not_run.len())
    };
    println!(
        "verify-layout: {} ABIs, {} failed{not_run_note}, {:.0} s",
        abis.len(),
        failed,
        started.elapsed().as_secs_f64()
    );
    let mut errors = Vec::new();
    if disagree > 0 {
        errors.push(format!("{disagree} ABI(s) disagree with the headers"));
    }
    if failed > disagree {
        errors.push(format!(
            "{} ABI(s) could not be checked (errors above)",
            failed - disagree
        ));
    }
    if !not_run.is_empty() {
        let mut pkgs: Vec<&str> = not_run.iter().filter_map(|l| l.compiler).collect();
        let mut targets: Vec<&str> = not_run.iter().filter_map(|l| l.target).collect();
        let mut install = Vec::new();
        for (v, cmd) in [
            (&mut pkgs, "sudo apt-get install --no-install-recommends"),
            (&mut targets, "rustup target add"),
        ] {
            v.sort();
            v.dedup();
            if !v.is_empty() {
                install.push(format!("{cmd} {}", v.join(" ")));
            }
        }
        errors.push(format!(
            "{} ABI(s) not run, for want of a compiler or Rust target (not a disagreement); \
             to run them: {}",
            not_run.len(),
            install.join("; ")
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Asks the environment for the C compilers and Rust targets of `abis` (installed as root,
/// else named). Whatever still lacks is reported per ABI as "not run" by the caller, so a
/// failure here is printed and the run goes on.
fn provision(abis: &[abi::Abi], tree: &Tree) {
    let mut pkgs: Vec<&str> = abis
        .iter()
        .filter_map(|a| compiler(a, tree).err())
        .collect();
    pkgs.sort();
    pkgs.dedup();
    if let Err(e) = apt::install(&pkgs) {
        eprintln!("verify-layout: {e}");
    }
    let targets: Vec<&str> = abis
        .iter()
        .filter_map(|a| a.rust)
        .filter(|t| !rustup::has_target(t))
        .collect();
    if !targets.is_empty() {
        if let Err(e) = rustup::targets(&targets) {
            eprintln!("verify-layout: {e}");
        }
    }
}

/// `target/verify-layout/`: the downloaded header trees, the probes, the self-tests' files.
fn work_dir() -> PathBuf {
    target_dir().join("verify-layout")
}

#[cfg(test)]
mod tests;
