//! The ABI table (every ABI `--arch all` checks: its compilers, flags, Debian paths and Rust
//! target), the choice of ABIs for a run, and of the C compiler for one ABI.

use super::probe::Compiler;
use super::tree::Tree;
use crate::util::{have, Result};

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

impl Abi {
    /// `arch/name`, as reports show it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.arch, self.name)
    }
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

/// The host's entry in [`ABIS`] (x86_64 unless the xtask runs on i386 or aarch64).
pub fn host_abi() -> &'static Abi {
    let name = match std::env::consts::ARCH {
        "x86" => "i386",
        "aarch64" => "aarch64",
        _ => "x86_64",
    };
    ABIS.iter()
        .find(|a| a.name == name)
        .expect("host ABI in the table")
}

/// The ABIs to check in `tree`: those of `--arch` (an architecture or ABI name, or `all`: every
/// architecture of a Debian tree), else the host's; the host's only in the host tree, and one
/// only in a single-architecture tree.
pub fn select_abis(tree: &Tree, arch: Option<&str>) -> Result<Vec<Abi>> {
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

/// The compiler of `abi`, or the host gcc with a note when there is none.
pub fn compiler(abi: &Abi, tree: &Tree) -> (Compiler, Option<String>) {
    let includes = tree.includes(abi);
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
