//! The architectures `vm-test` boots and the kernels it boots them on: the one place QEMU machine
//! options, consoles, Debian suites and kernel flavours are named.

use crate::targets::{self, Target};
use crate::util::process::Result;

/// How each architecture boots.
pub struct Arch {
    /// Name for `--arch`, as `tests/vm-init` prints it.
    pub name: &'static str,
    /// The Rust target `/init` is built for.
    pub target: &'static str,
    /// Debian architecture of its kernels.
    pub debarch: &'static str,
    /// QEMU program and machine options.
    pub qemu: &'static [&'static str],
    /// Kernel console.
    pub console: &'static str,
    /// Extra kernel command line.
    pub append: &'static str,
    /// Why `--arch all` leaves it out (it still runs with `--arch <name>`); `None`: included.
    pub not_in_all: Option<&'static str>,
}

pub const ARCHES: &[Arch] = &[
    Arch {
        name: "x86_64",
        target: "x86_64-unknown-linux-gnu",
        debarch: "amd64",
        qemu: &["qemu-system-x86_64", "-M", "q35", "-accel", "tcg"],
        console: "ttyS0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "i686",
        target: "i686-unknown-linux-gnu",
        debarch: "i386",
        qemu: &[
            "qemu-system-i386",
            "-M",
            "pc",
            "-cpu",
            "max",
            "-accel",
            "tcg",
        ],
        console: "ttyS0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "aarch64",
        target: "aarch64-unknown-linux-gnu",
        debarch: "arm64",
        qemu: &["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57"],
        console: "ttyAMA0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "armv7",
        target: "armv7-unknown-linux-gnueabihf",
        debarch: "armhf",
        qemu: &["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15"],
        console: "ttyAMA0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "riscv64",
        target: "riscv64gc-unknown-linux-gnu",
        debarch: "riscv64",
        qemu: &["qemu-system-riscv64", "-M", "virt"],
        console: "ttyS0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "ppc64le",
        target: "powerpc64le-unknown-linux-gnu",
        debarch: "ppc64el",
        qemu: &["qemu-system-ppc64", "-M", "pseries", "-cpu", "power9"],
        console: "hvc0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "s390x",
        target: "s390x-unknown-linux-gnu",
        debarch: "s390x",
        qemu: &["qemu-system-s390x", "-M", "s390-ccw-virtio"],
        console: "",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "mips64el",
        target: "mips64el-unknown-linux-gnuabi64",
        debarch: "mips64el",
        qemu: &["qemu-system-mips64el", "-M", "malta", "-cpu", "5KEc"],
        console: "ttyS0",
        append: "",
        not_in_all: None,
    },
    Arch {
        name: "loongarch64",
        target: "loongarch64-unknown-linux-gnu",
        debarch: "loong64",
        qemu: &["qemu-system-loongarch64", "-M", "virt"],
        console: "ttyS0",
        // The i8042 probe on this machine stalls the boot.
        append: "initcall_blacklist=i8042_init",
        not_in_all: None,
    },
];

/// One boot: the Debian suite and flavour of a kernel (`linux-image-<flavour>` is the
/// metapackage) for the kernel's architecture `on`, with `/init` built for `arch`, and what a run
/// must show, recorded from a real `cargo xtask vm-test` run on the package version
/// `derived_from`: the feature mask the raw `UFFDIO_API` offered. The cases that must skip are
/// derived from that mask, the kernel version and the architecture (`needs.rs`); `also_skips`
/// names the few that cannot be (`vm-test` prints both per row; a new package version fails
/// the row until it is re-derived from a run on it).
pub struct Kernel {
    /// The architecture `/init` is built for (an `ARCHES` name).
    pub arch: &'static str,
    /// The kernel's architecture (an `ARCHES` name): `arch`, or `x86_64` for i686 userspace
    /// on an amd64 kernel (compat system calls; Debian has no i386 kernel after 6.1).
    pub on: &'static str,
    pub suite: &'static str,
    pub flavour: &'static str,
    /// The `linux-image-*` (or `linux-binary-*`) package and version the row was recorded on.
    pub derived_from: &'static str,
    /// `uffdio_api.features` the raw handshake of `tests/suite/truth.rs` printed.
    pub features: u64,
    /// Cases that skip for a reason `needs.rs` cannot derive (each row says why).
    pub also_skips: &'static [&'static str],
}

impl Kernel {
    /// The kernel's (major, minor), from the package version of `derived_from`
    /// (`linux-image-5.10.0-32-amd64 5.10.223-1` is `(5, 10)`).
    pub fn version(&self) -> (u32, u32) {
        version_of(self.derived_from)
    }
}

/// (major, minor) of a `<package> <version>` string as `vm-test` prints it.
pub fn version_of(package: &str) -> (u32, u32) {
    let v = package.split_whitespace().nth(1).unwrap_or("");
    let mut p = v.split(|c: char| !c.is_ascii_digit());
    let n = |s: Option<&str>| s.and_then(|s| s.parse().ok()).unwrap_or(0);
    (n(p.next()), n(p.next()))
}

/// A row whose kernel has the architecture of `/init`.
const fn row(
    arch: &'static str,
    suite: &'static str,
    flavour: &'static str,
    derived_from: &'static str,
    features: u64,
    also_skips: &'static [&'static str],
) -> Kernel {
    Kernel {
        arch,
        on: arch,
        suite,
        flavour,
        derived_from,
        features,
        also_skips,
    }
}

/// A row booting `/init` for `arch` on a kernel of architecture `on`.
const fn compat(
    arch: &'static str,
    on: &'static str,
    suite: &'static str,
    flavour: &'static str,
    derived_from: &'static str,
    features: u64,
) -> Kernel {
    Kernel {
        arch,
        on,
        suite,
        flavour,
        derived_from,
        features,
        also_skips: &[],
    }
}

/// No hugetlbfs huge pages on this kernel (armmp has no `CONFIG_HUGETLBFS`; s390x under TCG
/// has no EDAT for its 1 MiB pages): the pager's hugetlb case skips.
const NO_HUGETLB: &[&str] = &["pager_hugetlb"];

/// Every boot of `vm-test`: two kernel generations (or more) per architecture, 5.10 wherever
/// Debian still builds it (bullseye: amd64, arm64, armhf, i386; its other architectures left
/// the archive). One row per boot. 6.12 comes from trixie, but from bookworm-backports on
/// ppc64el and s390x (trixie's kernel files answer 404 on the mirror) and mips64el (not in
/// trixie).
#[rustfmt::skip]
pub const KERNELS: &[Kernel] = &[
    row("x86_64", "bullseye", "amd64", "linux-image-5.10.0-32-amd64 5.10.223-1", 0x1ff, &[]),
    row("x86_64", "bookworm", "amd64", "linux-image-6.1.0-50-amd64 6.1.176-1", 0x1fff, &[]),
    row("x86_64", "trixie", "amd64", "linux-image-6.12.117+deb13-amd64 6.12.117-1", 0x1ffff, &[]),
    row("x86_64", "unstable", "amd64", "linux-binary-7.2.13+deb14-amd64 7.2.13-1", 0x1ffff, &[]),
    row("aarch64", "bullseye", "arm64", "linux-image-5.10.0-32-arm64 5.10.223-1", 0x1ff, &[]),
    row("aarch64", "bookworm", "arm64", "linux-image-6.1.0-50-arm64 6.1.176-1", 0xffe, &[]),
    row("aarch64", "trixie", "arm64", "linux-image-6.12.117+deb13-arm64 6.12.117-1", 0x1ffff, &[]),
    row("aarch64", "unstable", "arm64", "linux-binary-7.2.13+deb14-arm64 7.2.13-1", 0x1ffff, &[]),
    row("i686", "bullseye", "686-pae", "linux-image-5.10.0-32-686-pae 5.10.223-1", 0x1ff, &[]),
    row("i686", "bookworm", "686-pae", "linux-image-6.1.0-50-686-pae 6.1.176-1", 0x9fe, &[]),
    compat("i686", "x86_64", "trixie", "amd64", "linux-image-6.12.117+deb13-amd64 6.12.117-1", 0x1ffff),
    row("armv7", "bullseye", "armmp", "linux-image-5.10.0-32-armmp 5.10.223-1", 0x1ff, NO_HUGETLB),
    row("armv7", "bookworm", "armmp", "linux-image-6.1.0-50-armmp 6.1.176-1", 0x9fe, NO_HUGETLB),
    row("armv7", "trixie", "armmp", "linux-image-6.12.117+deb13-armmp 6.12.117-1", 0x149fe, NO_HUGETLB),
    row("riscv64", "trixie", "riscv64", "linux-image-6.12.117+deb13-riscv64 6.12.117-1", 0x14ffe, &[]),
    row("riscv64", "unstable", "riscv64", "linux-binary-7.2.13+deb14-riscv64 7.2.13-1", 0x14ffe, &[]),
    row("ppc64le", "bookworm", "powerpc64le", "linux-image-6.1.0-50-powerpc64le 6.1.176-1", 0x9fe, &[]),
    row("ppc64le", "bookworm-backports", "powerpc64le", "linux-image-6.12.95+deb12-powerpc64le 6.12.95-1~bpo12+1", 0x149fe, &[]),
    row("s390x", "bookworm", "s390x", "linux-image-6.1.0-50-s390x 6.1.176-1", 0x9fe, NO_HUGETLB),
    row("s390x", "bookworm-backports", "s390x", "linux-image-6.12.95+deb12-s390x 6.12.95-1~bpo12+1", 0x149fe, NO_HUGETLB),
    row("mips64el", "bookworm", "5kc-malta", "linux-image-6.1.0-50-5kc-malta 6.1.176-1", 0x9fe, &[]),
    row("mips64el", "bookworm-backports", "5kc-malta", "linux-image-6.12.95+deb12-5kc-malta 6.12.95-1~bpo12+1", 0x149fe, &[]),
    // Debian builds loong64 kernels only in unstable: one generation.
    row("loongarch64", "unstable", "loong64", "linux-binary-7.2.13+deb14-loong64 7.2.13-1", 0x14ffe, &[]),
];

pub fn arch(name: &str) -> Result<&'static Arch> {
    ARCHES.iter().find(|a| a.name == name).ok_or_else(|| {
        let names: Vec<&str> = ARCHES.iter().map(|a| a.name).collect();
        format!("unknown arch {name:?}; known: {} or all", names.join(", "))
    })
}

/// The Rust target an arch's `/init` is built for, with its cross linker.
pub fn rust_target(a: &Arch) -> Result<&'static Target> {
    targets::any(a.target)
}
