//! The ABI table: every ABI `--arch all` checks, with its compilers, flags, Debian paths and
//! Rust target.

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

pub const fn abi(
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
