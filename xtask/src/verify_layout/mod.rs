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

#[path = "../../../layout-tests/probe/manifest.rs"]
mod manifest;
#[path = "../../../layout-tests/probe/probe.rs"]
mod probe;
mod table;

use crate::util::{have, root, target_dir, Result};
use manifest::Kind;
use probe::{Compiler, Ctx};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use table::judge;

/// One ABI of a kernel architecture: how to compile for it and which Rust target it is.
#[derive(Clone, Debug)]
pub struct Abi {
    /// Kernel uapi architecture (`arch/<arch>`).
    pub arch: &'static str,
    /// ABI name shown in reports.
    pub name: &'static str,
    /// Debian multiarch directory holding this ABI's `asm/` (else `usr/lib/linux/uapi/<arch>`).
    pub triplet: &'static str,
    /// C compilers to try, first found wins.
    pub cc: &'static [&'static str],
    /// Flags selecting the ABI.
    pub flags: &'static [&'static str],
    /// Debian package of the compiler (to name in hints and for CI provisioning).
    pub pkg: &'static str,
    /// The Rust target of this ABI, if we build one.
    pub rust: Option<&'static str>,
}

const fn abi(
    arch: &'static str,
    name: &'static str,
    triplet: &'static str,
    cc: &'static [&'static str],
    flags: &'static [&'static str],
    pkg: &'static str,
    rust: Option<&'static str>,
) -> Abi {
    Abi {
        arch,
        name,
        triplet,
        cc,
        flags,
        pkg,
        rust,
    }
}

/// Every ABI checked by `--arch all` on a Debian tree.
pub const ABIS: &[Abi] = &[
    abi(
        "x86",
        "x86_64",
        "x86_64-linux-gnu",
        &["gcc"],
        &["-m64"],
        "gcc",
        Some("x86_64-unknown-linux-gnu"),
    ),
    abi(
        "x86",
        "i386",
        "i386-linux-gnu",
        &["gcc"],
        &["-m32"],
        "gcc",
        Some("i686-unknown-linux-gnu"),
    ),
    abi(
        "x86",
        "x32",
        "x86_64-linux-gnux32",
        &["gcc"],
        &["-mx32"],
        "gcc",
        None,
    ),
    abi(
        "arm64",
        "aarch64",
        "aarch64-linux-gnu",
        &["aarch64-linux-gnu-gcc"],
        &[],
        "gcc-aarch64-linux-gnu",
        Some("aarch64-unknown-linux-gnu"),
    ),
    abi(
        "arm",
        "armhf",
        "arm-linux-gnueabihf",
        &["arm-linux-gnueabihf-gcc"],
        &[],
        "gcc-arm-linux-gnueabihf",
        Some("armv7-unknown-linux-gnueabihf"),
    ),
    abi(
        "riscv",
        "riscv64",
        "riscv64-linux-gnu",
        &["riscv64-linux-gnu-gcc"],
        &[],
        "gcc-riscv64-linux-gnu",
        Some("riscv64gc-unknown-linux-gnu"),
    ),
    abi(
        "powerpc",
        "ppc64le",
        "powerpc64le-linux-gnu",
        &["powerpc64le-linux-gnu-gcc"],
        &[],
        "gcc-powerpc64le-linux-gnu",
        Some("powerpc64le-unknown-linux-gnu"),
    ),
    abi(
        "powerpc",
        "ppc32",
        "powerpc-linux-gnu",
        &["powerpc-linux-gnu-gcc"],
        &[],
        "gcc-powerpc-linux-gnu",
        Some("powerpc-unknown-linux-gnu"),
    ),
    abi(
        "powerpc",
        "ppc64",
        "powerpc64-linux-gnu",
        &["powerpc-linux-gnu-gcc"],
        &["-m64"],
        "gcc-powerpc-linux-gnu",
        None,
    ),
    abi(
        "s390",
        "s390x",
        "s390x-linux-gnu",
        &["s390x-linux-gnu-gcc"],
        &[],
        "gcc-s390x-linux-gnu",
        Some("s390x-unknown-linux-gnu"),
    ),
    abi(
        "mips",
        "o32 (el)",
        "mipsel-linux-gnu",
        &["mips64el-linux-gnuabi64-gcc"],
        &["-mabi=32"],
        "gcc-mips64el-linux-gnuabi64",
        None,
    ),
    abi(
        "mips",
        "n32 (el)",
        "",
        &["mips64el-linux-gnuabi64-gcc"],
        &["-mabi=n32"],
        "gcc-mips64el-linux-gnuabi64",
        None,
    ),
    abi(
        "mips",
        "n64 (el)",
        "mips64el-linux-gnuabi64",
        &["mips64el-linux-gnuabi64-gcc"],
        &["-mabi=64"],
        "gcc-mips64el-linux-gnuabi64",
        None,
    ),
    abi(
        "mips",
        "n64 (be)",
        "mips64-linux-gnuabi64",
        &["mips64el-linux-gnuabi64-gcc"],
        &["-EB", "-mabi=64"],
        "gcc-mips64el-linux-gnuabi64",
        None,
    ),
    abi(
        "sparc",
        "sparc64",
        "sparc64-linux-gnu",
        &["sparc64-linux-gnu-gcc"],
        &["-m64"],
        "gcc-sparc64-linux-gnu",
        None,
    ),
    abi(
        "sparc",
        "sparc32",
        "",
        &["sparc64-linux-gnu-gcc"],
        &["-m32"],
        "gcc-sparc64-linux-gnu",
        None,
    ),
    abi(
        "alpha",
        "alpha",
        "alpha-linux-gnu",
        &["alpha-linux-gnu-gcc"],
        &[],
        "gcc-alpha-linux-gnu",
        None,
    ),
    abi(
        "parisc",
        "hppa",
        "hppa-linux-gnu",
        &["hppa-linux-gnu-gcc"],
        &[],
        "gcc-hppa-linux-gnu",
        None,
    ),
    abi(
        "m68k",
        "m68k",
        "m68k-linux-gnu",
        &["m68k-linux-gnu-gcc"],
        &[],
        "gcc-m68k-linux-gnu",
        None,
    ),
    abi(
        "sh",
        "sh4",
        "sh4-linux-gnu",
        &["sh4-linux-gnu-gcc"],
        &[],
        "gcc-sh4-linux-gnu",
        None,
    ),
    abi(
        "arc",
        "arc",
        "",
        &["arc-linux-gnu-gcc"],
        &[],
        "gcc-arc-linux-gnu",
        None,
    ),
    abi(
        "loongarch",
        "loongarch64",
        "loongarch64-linux-gnu",
        &["loongarch64-linux-gnu-gcc"],
        &[],
        "",
        None,
    ),
];

/// The Debian packages of every cross compiler `--arch all` uses (for CI provisioning).
pub fn compiler_packages() -> Vec<&'static str> {
    let mut v: Vec<&str> = ABIS
        .iter()
        .map(|a| a.pkg)
        .filter(|p| !p.is_empty() && *p != "gcc")
        .collect();
    v.sort();
    v.dedup();
    v
}

struct Options {
    arch: Option<String>,
    headers: Option<PathBuf>,
    suite: String,
    unstable: bool,
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

/// Where the headers come from.
enum Tree {
    /// The host's `/usr/include`.
    Host,
    /// A Debian `linux-libc-dev` tree (`usr/include`, `usr/lib/linux/uapi/<arch>`).
    Debian(PathBuf),
    /// One architecture's include directory (`make headers_install`'s `usr/include`, or any
    /// directory holding `linux/userfaultfd.h` and `asm/`).
    Single(PathBuf),
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if o.unstable && !cfg!(feature = "unstable-7-3") {
        // The non-Rust-target ABIs use the xtask's own `uffd::abi::uffdio_ioctls`: rebuild it
        // with the provisional items.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(root())
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
    let (tree, tree_desc) = match (&o.headers, &o.arch) {
        (Some(dir), _) => {
            let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if dir.join("usr/lib/linux/uapi").is_dir() {
                (
                    Tree::Debian(dir.clone()),
                    format!("{} (Debian-style tree)", dir.display()),
                )
            } else if dir.join("usr/include/linux/userfaultfd.h").is_file() {
                (
                    Tree::Single(dir.join("usr/include")),
                    format!("{}/usr/include", dir.display()),
                )
            } else if dir.join("include/linux/userfaultfd.h").is_file() {
                (
                    Tree::Single(dir.join("include")),
                    format!("{}/include", dir.display()),
                )
            } else if dir.join("linux/userfaultfd.h").is_file() {
                (Tree::Single(dir.clone()), dir.display().to_string())
            } else {
                return Err(format!("{}: no linux/userfaultfd.h in it", dir.display()));
            }
        }
        (None, None) => (Tree::Host, "/usr/include (host)".to_string()),
        (None, Some(_)) => {
            let (dir, version) = debian_tree(&o.suite)?;
            (
                Tree::Debian(dir),
                format!("Debian {} linux-libc-dev {version}", o.suite),
            )
        }
    };
    println!("verify-layout: headers: {tree_desc}");

    let abis: Vec<Abi> = select_abis(&tree, o.arch.as_deref())?;
    let mut host_rust: Option<RustValues> = None;
    let mut summary = Vec::new();
    let mut failed = 0usize;
    for a in &abis {
        let t = Instant::now();
        let r = check_abi(a, &tree, &o, &mut host_rust);
        match r {
            Ok(rep) => {
                let line = format!(
                    "{:<22} {} ({:.1} s)",
                    format!("{}/{}", a.arch, a.name),
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
                summary.push(format!(
                    "{:<22} ERROR: {e}",
                    format!("{}/{}", a.arch, a.name)
                ));
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

/// Downloads (cached) and extracts the suite's `linux-libc-dev`.
fn debian_tree(suite: &str) -> Result<(PathBuf, String)> {
    let apt = crate::apt::PrivateApt::new(&format!("verify-layout-{suite}"), suite, "amd64")?;
    let deb = apt.download("linux-libc-dev")?;
    let dest = target_dir()
        .join("verify-layout")
        .join(format!("linux-libc-dev_{}", deb.version.replace(':', "_")));
    crate::apt::extract(&deb, &dest)?;
    Ok((dest, deb.version))
}

fn host_abi() -> &'static Abi {
    let name = match std::env::consts::ARCH {
        "x86" => "i386",
        "aarch64" => "aarch64",
        _ => "x86_64",
    };
    ABIS.iter()
        .find(|a| a.name == name)
        .expect("host ABI in the table")
}

fn select_abis(tree: &Tree, arch: Option<&str>) -> Result<Vec<Abi>> {
    let host = host_abi().clone();
    let arches: Vec<String> = match (tree, arch) {
        (Tree::Host, _) | (Tree::Single(_), None) => return Ok(vec![host]),
        (Tree::Single(_), Some("all")) => {
            return Err(
                "--arch all needs a tree with every architecture (a Debian linux-libc-dev)".into(),
            )
        }
        (Tree::Single(_), Some(a)) => vec![a.to_string()],
        (Tree::Debian(_), Some(a)) if a != "all" => vec![a.to_string()],
        (Tree::Debian(_), None) => vec![host.arch.to_string()],
        (Tree::Debian(root), _) => {
            let mut v: Vec<String> = std::fs::read_dir(root.join("usr/lib/linux/uapi"))
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
                .collect();
            v.sort();
            v
        }
    };
    let mut out = Vec::new();
    for a in arches {
        let known: Vec<Abi> = ABIS
            .iter()
            .filter(|x| x.arch == a || x.name == a)
            .cloned()
            .collect();
        if known.is_empty() {
            // An architecture without an entry: the host compiler with its headers.
            let name: &'static str = Box::leak(a.clone().into_boxed_str());
            out.push(abi(name, name, "", &[], &[], "", None));
        } else {
            out.extend(known);
        }
    }
    if let Tree::Single(_) = tree {
        out.truncate(1);
    }
    Ok(out)
}

/// The include directories of `abi` in `tree`.
fn includes(abi: &Abi, tree: &Tree) -> Vec<PathBuf> {
    match tree {
        Tree::Host => {
            let multiarch = Command::new("gcc")
                .arg("-print-multiarch")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            vec![
                Path::new("/usr/include").join(multiarch),
                PathBuf::from("/usr/include"),
            ]
        }
        Tree::Single(dir) => vec![dir.clone()],
        Tree::Debian(root) => {
            let trip = root.join("usr/include").join(abi.triplet);
            let first = if !abi.triplet.is_empty() && trip.join("asm").is_dir() {
                trip
            } else {
                root.join("usr/lib/linux/uapi").join(abi.arch)
            };
            vec![first, root.join("usr/include")]
        }
    }
}

/// The compiler of `abi`, or the host gcc with a note when there is none.
fn compiler(abi: &Abi, tree: &Tree) -> (Compiler, Option<String>) {
    let includes = includes(abi, tree);
    let flags = abi.flags.iter().map(|s| s.to_string()).collect();
    if let Some(cc) = abi.cc.iter().find(|c| have(c)) {
        return (
            Compiler {
                program: cc.into(),
                flags,
                includes,
            },
            None,
        );
    }
    let note =
        format!(
        "no {} C compiler{}: values probed with the host gcc (constants and ioctl numbers are the \
         header's; sizes/offsets/alignments are the host's)",
        abi.name,
        if abi.pkg.is_empty() { String::new() } else { format!(" (install {})", abi.pkg) }
    );
    (
        Compiler {
            program: "gcc".into(),
            flags: vec![],
            includes,
        },
        Some(note),
    )
}

/// The crate's values, one per manifest item (`None`: not in that build).
#[derive(Clone)]
pub struct RustValues {
    pub values: Vec<Option<u64>>,
    pub source: String,
}

struct AbiReport {
    summary: String,
    failures: usize,
}

fn check_abi(
    abi: &Abi,
    tree: &Tree,
    o: &Options,
    host_rust: &mut Option<RustValues>,
) -> Result<AbiReport> {
    let (cc, note) = compiler(abi, tree);
    if note.is_some() && abi.rust.is_some() {
        return Err(format!(
            "no C compiler for {} (tried {}); install {}",
            abi.name,
            abi.cc.join(", "),
            abi.pkg
        ));
    }
    let work = target_dir()
        .join("verify-layout")
        .join("probes")
        .join(format!(
            "{}-{}",
            abi.arch,
            abi.name.replace([' ', '(', ')'], "")
        ));
    let probe = probe::run(&cc, &work)?;
    let values_file = work.join("c-values.txt");
    std::fs::write(&values_file, probe::to_values_file(&probe)).map_err(|e| e.to_string())?;
    println!(
        "\n=== {}/{}: {} (LINUX_VERSION_CODE {}), compiler: {}",
        abi.arch,
        abi.name,
        probe.header,
        probe
            .version
            .map(|(a, b, c)| format!("{a}.{b}.{c}"))
            .unwrap_or("?".into()),
        probe.compiler
    );
    if let Some(n) = &note {
        println!("    note: {n}");
    }
    let sys = crate_has_sys();
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
    let rows = judge(&probe, &rust, ctx);
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

/// Whether the crate defines `uffd::sys::{__NR_userfaultfd, O_CLOEXEC, O_NONBLOCK}` (the same
/// test `layout-tests/build.rs` makes).
fn crate_has_sys() -> bool {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap_or_default();
    let mut text = String::new();
    if let Ok(dir) = std::fs::read_dir(root().join("src/sys")) {
        for e in dir.flatten() {
            text += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
    }
    lib.contains("pub mod sys")
        && [
            "pub const __NR_userfaultfd",
            "pub const O_CLOEXEC",
            "pub const O_NONBLOCK",
        ]
        .iter()
        .all(|s| text.contains(s))
}

/// The Rust side for an ABI without a Rust target: the ioctl numbers of its family's encoding
/// (`uffd::abi::uffdio_ioctls`), everything else the crate defines for every ABI from the host
/// build (alignment and nested sizes are ABI-specific: `plan` leaves them uncompared).
fn family_values(abi: &Abi, host: &RustValues) -> RustValues {
    let items = manifest::items();
    let enc = uffd::ioctl::IocEncoding::for_kernel_arch(abi.arch);
    let table = enc.map(uffd::abi::uffdio_ioctls);
    let values = items
        .iter()
        .zip(&host.values)
        .map(|(it, hv)| match it.kind {
            Kind::Ioctl => {
                let enc = enc?;
                if it.key == "USERFAULTFD_IOC_NEW" {
                    Some(enc.io(uffd::abi::USERFAULTFD_IOC, 0) as u64)
                } else {
                    table
                        .as_ref()?
                        .iter()
                        .find(|(n, _)| *n == it.key)
                        .map(|(_, v)| *v as u64)
                }
            }
            Kind::Sys => None,
            _ => *hv,
        })
        .collect();
    RustValues {
        values,
        source: format!(
            "ioctls: uffd::abi::uffdio_ioctls({}); other values: the crate as built for the host",
            enc.map(|e| e.name).unwrap_or("unknown family")
        ),
    }
}

/// The crate compiled for `target`: the hard check (const assertions) and its values.
/// Returns (values, a note for the summary, the rustc failure if any).
fn rust_for_target(
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
fn build_rust_values(
    target: &str,
    values_file: Option<&Path>,
    unstable: bool,
    soft: bool,
) -> std::result::Result<RustValues, (bool, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args([
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
pub fn read_rlib(data: &[u8], n: usize) -> Result<(Vec<u64>, Vec<u8>)> {
    let archive = object::read::archive::ArchiveFile::parse(data).map_err(|e| e.to_string())?;
    for m in archive.members() {
        let m = m.map_err(|e| e.to_string())?;
        let Ok(bytes) = m.data(data) else { continue };
        if !String::from_utf8_lossy(m.name()).ends_with(".o") {
            continue;
        }
        let Ok(raw) = probe::read_symbol(bytes, "UFFD_LAYOUT_RUST_VALUES", n * 8) else {
            continue;
        };
        let present = probe::read_symbol(bytes, "UFFD_LAYOUT_RUST_PRESENT", n)?;
        let little = probe::object_is_little_endian(bytes)?;
        let values = raw
            .chunks_exact(8)
            .map(|c| {
                let a: [u8; 8] = c.try_into().expect("8 bytes");
                if little {
                    u64::from_le_bytes(a)
                } else {
                    u64::from_be_bytes(a)
                }
            })
            .collect();
        return Ok((values, present));
    }
    Err("UFFD_LAYOUT_RUST_VALUES not found in any object of the rlib".into())
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

#[cfg(test)]
mod tests;
