//! The Rust side: the crate's values for one ABI. For an ABI with a Rust target, `layout-tests`
//! built for that target (its const assertions are the hard check; its values are read out of
//! the rlib); for the others, the ioctl numbers of the ABI's family encoding and the host
//! build's values for everything the crate defines for every ABI.

use super::abi::Abi;
use crate::util::process::{cargo, target_dir, Result};
use std::path::Path;
use uffd_probe::manifest::{self, Kind};
use uffd_probe::probe;

/// The crate's values, one per manifest item (`None`: not in that build).
#[derive(Clone)]
pub struct RustValues {
    pub values: Vec<Option<u64>>,
    pub source: String,
}

/// The Rust side for an ABI without a Rust target: the ioctl numbers of its family's encoding
/// (`uffd::abi::uffdio_ioctls`, `uffd::abi::pagemap_ioctls`), everything else the crate defines for every ABI from the host
/// build (alignment and nested sizes are ABI-specific: `plan` leaves them uncompared).
pub fn family_values(abi: &Abi, host: &RustValues) -> RustValues {
    let items = manifest::items();
    let enc = uffd::ioctl::IocEncoding::for_kernel_arch(abi.arch);
    let table = enc.map(|e| {
        let mut t = uffd::abi::uffdio_ioctls(e).to_vec();
        t.extend(uffd::abi::pagemap_ioctls(e));
        t
    });
    let values = items
        .iter()
        .zip(&host.values)
        .map(|(it, hv)| match it.kind {
            Kind::Ioctl => {
                let enc = enc?;
                if it.key == "USERFAULTFD_IOC_NEW" {
                    Some(enc.io(uffd::abi::USERFAULTFD_IOC, 0) as u64)
                } else {
                    let found = table.as_ref()?.iter().find(|(n, _)| *n == it.key);
                    // 7.3-rc's additions have their own table (the 7.2 one never changes).
                    #[cfg(feature = "unstable-7-3")]
                    let found = found.copied().or_else(|| {
                        uffd::abi::uffdio_ioctls_7_3(enc)
                            .into_iter()
                            .find(|(n, _)| *n == it.key)
                    });
                    #[cfg(not(feature = "unstable-7-3"))]
                    let found = found.copied();
                    found.map(|(_, v)| v as u64)
                }
            }
            Kind::Sys => None,
            _ => *hv,
        })
        .collect();
    RustValues {
        values,
        source: format!(
            "ioctls: uffd::abi::{{uffdio,pagemap}}_ioctls({}); other values: the crate as built for the host",
            enc.map(|e| e.name).unwrap_or("unknown family")
        ),
    }
}

/// The crate compiled for `target`: the hard check (const assertions) and its values.
/// Returns (values, a note for the summary, the rustc failure if any).
pub fn rust_for_target(
    target: &str,
    values_file: &Path,
    unstable: bool,
) -> Result<(RustValues, String, Option<String>)> {
    match build_rust_values(target, Some(values_file), unstable, false) {
        Ok(v) => Ok((
            v,
            format!("rustc --target {target}: const assertions hold"),
            None,
        )),
        Err((true, errors)) => {
            // The assertions failed: rebuild without them to show the table, and report rustc's
            // own messages (they name the item and both values).
            let v =
                build_rust_values(target, Some(values_file), unstable, true).map_err(|e| e.1)?;
            let msg = format!("rustc --target {target}: const assertions FAILED:\n{errors}");
            Ok((
                v,
                format!("rustc --target {target}: const assertions FAILED"),
                Some(msg),
            ))
        }
        Err((false, e)) => Err(e),
    }
}

/// `cargo build -p layout-tests --lib --target T` with the C values of `values_file`, then the
/// crate's values read out of the rlib. `Err((true, msg))`: the build failed in rustc (an
/// assertion); `Err((false, msg))`: anything else.
pub fn build_rust_values(
    target: &str,
    values_file: Option<&Path>,
    unstable: bool,
    soft: bool,
) -> std::result::Result<RustValues, (bool, String)> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "layout-tests",
        "--lib",
        "--target",
        target,
    ]);
    if unstable {
        cmd.args(["--features", "unstable-7-3"]);
    }
    cmd.env("LAYOUT_TESTS_SOFT", if soft { "1" } else { "0" });
    match values_file {
        Some(f) => cmd.env("LAYOUT_TESTS_C_VALUES", f),
        None => cmd.env_remove("LAYOUT_TESTS_C_VALUES"),
    };
    let out = cmd.output().map_err(|e| (false, format!("cargo: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let in_rustc =
            err.contains("error[E0308]") || err.contains("error: ") && err.contains("layout.rs");
        return Err((in_rustc, condense(&err)));
    }
    let rlib = target_dir()
        .join(target)
        .join("debug")
        .join("liblayout_tests.rlib");
    let data = std::fs::read(&rlib).map_err(|e| (false, format!("{}: {e}", rlib.display())))?;
    let n = manifest::items().len();
    let (values, present) =
        read_rlib(&data, n).map_err(|e| (false, format!("{}: {e}", rlib.display())))?;
    Ok(RustValues {
        values: values
            .into_iter()
            .zip(present)
            .map(|(v, p)| (p == 1).then_some(v))
            .collect(),
        source: format!("uffd compiled for {target}"),
    })
}

/// Reads `UFFD_LAYOUT_RUST_VALUES`/`_PRESENT` from the object files inside an rlib.
fn read_rlib(data: &[u8], n: usize) -> Result<(Vec<u64>, Vec<u8>)> {
    for (name, bytes) in uffd_probe::elf::archive_members(data)? {
        if !name.ends_with(".o") {
            continue;
        }
        let Ok(values) = probe::read_u64s(bytes, probe::RUST_VALUES_SYMBOL, n) else {
            continue;
        };
        let present = probe::read_symbol(bytes, probe::RUST_PRESENT_SYMBOL, n)?;
        return Ok((values, present));
    }
    Err(format!(
        "{} not found in any object of the rlib",
        probe::RUST_VALUES_SYMBOL
    ))
}

/// rustc's errors, without the noise: the `error` lines and the lines naming an item.
fn condense(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.starts_with("error")
                || l.contains("c_vs_rust")
                || l.contains("expected an array")
                || l.contains("compile_error")
        })
        .collect();
    if lines.is_empty() {
        stderr.to_string()
    } else {
        lines
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
