//! One ABI's check: its C probe, the crate's values for it, the table comparing them, and the
//! summary line; or why it cannot run here.

use super::abi::{host_abi, Abi};
use super::cli::Args;
use super::rust::{build_rust_values, family_values, rust_for_target, RustValues};
use super::select::compiler;
use super::table;
use super::tree::Tree;
use crate::env::rustup;
use crate::util::process::{root, Result};
use uffd_probe::probe::{self, Ctx};

/// What one ABI's check found: its summary line and its number of failures.
pub struct AbiReport {
    pub summary: String,
    pub failures: usize,
}

/// What `abi` lacks on this machine to be checked.
#[derive(Default)]
pub struct Lacks {
    /// The Debian package of its C compiler, if that is not installed.
    pub compiler: Option<&'static str>,
    /// Its Rust target, if the toolchain lacks its standard library.
    pub target: Option<&'static str>,
}

impl Lacks {
    /// "no compiler (install X)", "no Rust target (rustup target add T)", or both.
    pub fn describe(&self) -> String {
        let mut why = Vec::new();
        if let Some(pkg) = self.compiler {
            why.push(format!("no compiler (install {pkg})"));
        }
        if let Some(t) = self.target {
            why.push(format!("no Rust target (rustup target add {t})"));
        }
        why.join("; ")
    }
}

/// What `abi` lacks to be checked on this machine (`None`: nothing, it can run).
pub fn not_runnable(abi: &Abi, tree: &Tree) -> Option<Lacks> {
    let lacks = Lacks {
        compiler: compiler(abi, tree).err(),
        target: abi.rust.filter(|t| !rustup::has_target(t)),
    };
    (lacks.compiler.is_some() || lacks.target.is_some()).then_some(lacks)
}

/// Probes `abi` in `tree`, gets the crate's values for it (`host_rust`: the host build, made
/// once, for the ABIs without a Rust target), and prints its table.
pub fn check_abi(
    abi: &Abi,
    tree: &Tree,
    o: &Args,
    host_rust: &mut Option<RustValues>,
) -> Result<AbiReport> {
    let (cc, note) = compiler(abi, tree).map_err(|pkg| format!("no compiler (install {pkg})"))?;
    let work = super::work_dir().join("probes").join(format!(
        "{}-{}",
        abi.arch,
        abi.name.replace([' ', '(', ')'], "")
    ));
    let probe = probe::run(&cc, &work)?;
    let values_file = work.join("c-values.txt");
    std::fs::write(&values_file, probe::to_values_file(&probe)).map_err(|e| e.to_string())?;
    println!(
        "\n=== {}: {} (LINUX_VERSION_CODE {}), compiler: {}",
        abi.label(),
        probe.header,
        probe.version_string().unwrap_or("?".into()),
        probe.compiler
    );
    if let Some(n) = &note {
        println!("    note: {n}");
    }
    let sys = probe::crate_has_sys(&root());
    let (rust, rustc_note, rustc_fail) = match abi.rust {
        Some(t) => {
            let (r, msg, fail) = rust_for_target(t, &values_file, o.unstable)?;
            (r, Some(msg), fail)
        }
        None => {
            if host_rust.is_none() {
                let host_t = host_abi().rust.expect("host has a Rust target");
                // The soft build: the crate's values only, whatever the C side says.
                *host_rust =
                    Some(build_rust_values(host_t, None, o.unstable, true).map_err(|e| e.1)?);
            }
            (
                family_values(abi, host_rust.as_ref().expect("set above")),
                None,
                None,
            )
        }
    };
    println!("    Rust: {}", rust.source);
    let ctx = Ctx {
        unstable: o.unstable,
        sys,
        rust_target: abi.rust.is_some(),
    };
    let rows = table::judge(&probe, &rust, ctx);
    let rep = table::print(&rows, o.verbose);
    let mut failures = rep.failures;
    let mut summary = rep.summary;
    if let Some(n) = rustc_note {
        summary.push_str(&format!("; {n}"));
    }
    if let Some(f) = rustc_fail {
        failures += 1;
        println!("{f}");
    }
    summary.push_str(&format!("; C: {}", probe.compiler));
    if note.is_some() {
        summary.push_str(" (host compiler: no cross gcc)");
    }
    Ok(AbiReport { summary, failures })
}
