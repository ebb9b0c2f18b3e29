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
//! This module is the command line and the run over the ABIs; [`abi`]: the ABI table and the
//! choice of ABIs and compilers; [`tree`]: where the headers come from; [`check`]: one ABI's
//! check; [`rust`]: the crate's values for an ABI; [`table`]: the verdicts and the table. The C
//! side (`probe`, `manifest`) is shared with `layout-tests/build.rs`.

#[path = "../../../layout-tests/probe/manifest.rs"]
mod manifest;
#[path = "../../../layout-tests/probe/probe.rs"]
mod probe;

mod abi;
mod check;
mod rust;
mod table;
mod tree;

pub use abi::compiler_packages;

use crate::util::{root, target_dir, Result};
use abi::{select_abis, Abi};
use rust::RustValues;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;
use tree::Tree;

/// The command line.
struct Options {
    /// `--arch NAME|all`.
    arch: Option<String>,
    /// `--headers DIR`.
    headers: Option<PathBuf>,
    /// `--suite SUITE` (default `unstable`).
    suite: String,
    /// `--unstable-7-3`: the provisional 7.3-rc items too.
    unstable: bool,
    /// `-v`: every row of every table.
    verbose: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        arch: None,
        headers: None,
        suite: "unstable".into(),
        unstable: false,
        verbose: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--arch" => o.arch = Some(val("--arch")?),
            "--headers" => o.headers = Some(PathBuf::from(val("--headers")?)),
            "--suite" => o.suite = val("--suite")?,
            "--unstable-7-3" => o.unstable = true,
            "-v" | "--verbose" => o.verbose = true,
            "-h" | "--help" => {
                return Err("usage: cargo xtask verify-layout [--arch NAME|all] [--headers DIR] [--suite SUITE] \
                            [--unstable-7-3] [-v]"
                    .into())
            }
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(o)
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
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
            .args(args)
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

    let abis: Vec<Abi> = select_abis(&tree, o.arch.as_deref())?;
    let mut host_rust: Option<RustValues> = None;
    let mut summary = Vec::new();
    let mut failed = 0usize;
    for a in &abis {
        let t = Instant::now();
        let r = check::check_abi(a, &tree, &o, &mut host_rust);
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
    println!(
        "verify-layout: {} ABIs, {} failed, {:.0} s",
        abis.len(),
        failed,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        Err(format!("{failed} ABI(s) disagree with the headers"))
    } else {
        Ok(())
    }
}

/// `target/verify-layout/`: the downloaded header trees, the probes, the self-tests' files.
fn work_dir() -> PathBuf {
    target_dir().join("verify-layout")
}

/// `cargo` (the one running the xtask, if any) in the workspace root.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

#[cfg(test)]
mod tests;
