//! `cargo xtask vm-test [--arch A | all] [--kernel K | all] [--timeout S]`: the shared suite as a
//! static, libc-free `/init` (`tests/vm-init`) booted on real Debian kernels under
//! `qemu-system-<arch>` (TCG: on this machine's nested /dev/kvm an x86_64 guest stops with a
//! "KVM internal error", or QEMU aborts with `-cpu host`; measured, README).
//!
//! Kernels come through private apt configurations under `target/apt/` (the machine's mirror,
//! never its sources), resolved through suite + `linux-image-<flavour>` metapackage because
//! mirrors keep only current versions; the exact package and version are printed with every
//! result. QEMU's exit status is always 0, so the verdict comes from the console only: no failed
//! case or panic, and (`expect.rs`) the feature mask and skipped cases recorded in the kernel's
//! row of `tables.rs` for the package version they were derived from.

mod boot;
mod claims;
mod expect;
mod initramfs;
mod kernel;
mod needs;
mod since;
mod tables;

use boot::{boot_again_after_kernel_bug, initramfs, provision};
use kernel::fetch;
use tables::{arch, version_of, Arch, Kernel, ARCHES, KERNELS};

use crate::util::process::{target_dir, Result};
use crate::util::report;
use bpaf::{construct, long, Parser};
use std::time::Duration;

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "the suite as a libc-free /init on real Debian kernels in qemu-system";

/// The options.
#[derive(Clone, Debug)]
pub struct Args {
    /// `--arch A|all`, repeatable; none: all.
    pub arches: Vec<String>,
    /// `--kernel SUITE|all`, repeatable; none: all.
    pub kernels: Vec<String>,
    /// `--timeout S`: seconds one boot may take.
    pub timeout: u64,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            arches: Vec::new(),
            kernels: Vec::new(),
            timeout: 150,
        }
    }
}

pub fn parser() -> impl Parser<Args> {
    let arch_names: Vec<&str> = ARCHES.iter().map(|a| a.name).collect();
    let mut suites: Vec<&str> = KERNELS.iter().map(|k| k.suite).collect();
    suites.sort();
    suites.dedup();
    let arches = long("arch")
        .help(
            format!(
                "an architecture ({}), or `all` (the default); repeatable",
                arch_names.join(", ")
            )
            .as_str(),
        )
        .argument::<String>("A")
        .many();
    let kernels = long("kernel")
        .help(
            format!(
                "the Debian suite of the kernels ({}), or `all` (the default); repeatable",
                suites.join(", ")
            )
            .as_str(),
        )
        .argument::<String>("SUITE")
        .many();
    let timeout = long("timeout")
        .help("seconds one boot (and the suite in it) may take")
        .argument::<u64>("S")
        .fallback(150)
        .display_fallback();
    construct!(Args {
        arches,
        kernels,
        timeout
    })
}

pub fn run(a: &Args) -> Result<()> {
    let (mut arches, mut suites) = (Vec::<&str>::new(), Vec::<String>::new());
    let timeout = Duration::from_secs(a.timeout);
    for v in &a.arches {
        if v != "all" {
            arches.push(arch(v)?.name);
        }
    }
    for v in &a.kernels {
        if v != "all" {
            if !KERNELS.iter().any(|k| k.suite == v) {
                let mut names: Vec<&str> = KERNELS.iter().map(|k| k.suite).collect();
                names.sort();
                names.dedup();
                return Err(format!(
                    "unknown kernel {v:?}; known suites: {} or all",
                    names.join(", ")
                ));
            }
            suites.push(v.clone());
        }
    }
    let all = arches.is_empty();
    if all {
        for a in ARCHES {
            if let Some(why) = a.not_in_all {
                eprintln!("vm-test: {} left out of --arch all: {why}", a.name);
            }
        }
    }
    let kernels: Vec<&Kernel> = KERNELS
        .iter()
        .filter(|k| {
            if all {
                arch(k.arch).is_ok_and(|a| a.not_in_all.is_none())
            } else {
                arches.contains(&k.arch)
            }
        })
        .filter(|k| suites.is_empty() || suites.iter().any(|s| s == k.suite))
        .collect();
    if kernels.is_empty() {
        return Err("no kernel in the table matches that --arch/--kernel".into());
    }
    let mut used: Vec<&Arch> = Vec::new();
    for k in &kernels {
        let a = arch(k.arch)?;
        if !used.iter().any(|u| u.name == a.name) {
            used.push(a);
        }
    }
    let mut machines = used.clone();
    for k in &kernels {
        let o = arch(k.on)?;
        if !machines.iter().any(|m| m.name == o.name) {
            machines.push(o);
        }
    }
    provision(&machines)?;
    let claims = claims::claims()?;
    let mut reports: Vec<(&Kernel, (u32, u32), report::Report)> = Vec::new();
    let logs = target_dir().join("vm").join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut failed = 0;
    for a in &used {
        let initrd = initramfs(a);
        for k in kernels.iter().filter(|k| k.arch == a.name) {
            eprintln!(
                "\n=== vm-test {} on {} linux-image-{}",
                a.name, k.suite, k.flavour
            );
            let log = logs.join(format!("{}-{}.log", a.name, k.suite));
            let mut version = "?".to_string();
            let res = initrd.clone().and_then(|initrd| {
                let image = fetch(k)?;
                version = image.version.clone();
                eprintln!("kernel: {} ({})", image.version, image.path.display());
                boot_again_after_kernel_bug(arch(k.on)?, &image.path, &initrd, timeout, &log)
            });
            let name = if k.on == a.name {
                a.name.to_string()
            } else {
                format!("{} on {}", a.name, k.on)
            };
            let row = match res {
                Ok(mut b) => {
                    // What the row's expectation is re-derived from.
                    let skipped: Vec<&str> = b
                        .report
                        .cases
                        .iter()
                        .filter(|(_, o)| matches!(o, report::Outcome::Skip(_)))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    eprintln!(
                        "{} {} [{version}]: features={} skips={skipped:?}",
                        a.name,
                        k.suite,
                        b.report.features.as_deref().unwrap_or("?")
                    );
                    b.problems.extend(expect::problems(k, &version, &b.report));
                    let verdict = if b.problems.is_empty() {
                        b.retried
                            .as_ref()
                            .map_or("ok".to_string(), |why| format!("ok ({why})"))
                    } else {
                        failed += 1;
                        format!(
                            "FAILED: {} (log: {})",
                            b.problems.join("; "),
                            b.log.display()
                        )
                    };
                    eprintln!(
                        "{} {} [{version}]: {} -> {verdict}",
                        a.name,
                        k.suite,
                        b.report.summary()
                    );
                    let row = vec![
                        name,
                        format!("{} ({version})", k.suite),
                        b.report.page_size.map_or("?".into(), |p| p.to_string()),
                        b.report.summary(),
                        b.report.features.clone().unwrap_or_else(|| "?".into()),
                        format!("{:.1} s", b.secs),
                        verdict,
                    ];
                    reports.push((k, version_of(&version), b.report));
                    row
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("{} {}: FAILED: {e}", a.name, k.suite);
                    let verdict = format!("FAILED: {e}");
                    vec![
                        name,
                        format!("{} ({version})", k.suite),
                        "?".into(),
                        "-".into(),
                        "?".into(),
                        "-".into(),
                        verdict,
                    ]
                }
            };
            rows.push(row);
        }
    }
    println!("\nvm-test summary");
    report::table(
        &[
            "arch",
            "kernel (package version)",
            "page",
            "cases",
            "features",
            "boot+run",
            "verdict",
        ],
        &rows,
    );
    let boots: Vec<since::Boot<'_>> = reports
        .iter()
        .map(|(k, version, report)| since::Boot {
            on: k.on,
            version: *version,
            report,
        })
        .collect();
    let (table, contradictions) = since::check(&claims, &boots);
    println!(
        "\n\"Since Linux\" of the docs x the booted kernels (KERNELS.md holds the full run's)\n"
    );
    println!("{table}");
    let out = target_dir().join("vm").join("since.md");
    std::fs::write(&out, &table).map_err(|e| format!("{}: {e}", out.display()))?;
    for c in &contradictions {
        eprintln!("vm-test: contradiction: {c}");
    }
    match (failed, contradictions.len()) {
        (0, 0) => Ok(()),
        (f, c) => Err(format!(
            "{f} of {} boots failed; {c} \"Since Linux\" contradictions",
            rows.len()
        )),
    }
}
