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

/// One kernel to boot: Debian suite and flavour (`linux-image-<flavour>` is the metapackage),
/// and what a run on it must show: the feature mask `UFFDIO_API` offers and the cases that
/// skip, both recorded from a real `cargo xtask vm-test --arch all` run on the package version
/// `derived_from` (`vm-test` prints both per row; a new package version fails the row until
/// they are re-derived from a run on it).
pub struct Kernel {
    pub arch: &'static str,
    pub suite: &'static str,
    pub flavour: &'static str,
    /// The `linux-image-*` package version `features` and `skips` were recorded on.
    pub derived_from: &'static str,
    /// `uffdio_api.features` the raw handshake of `tests/suite/truth.rs` printed.
    pub features: u64,
    /// The cases that skipped (any other skip, or one of these running, fails the row).
    pub skips: &'static [&'static str],
}

/// Every kernel `vm-test` boots: the one place suites and flavours are named.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        arch: "x86_64",
        suite: "bookworm",
        flavour: "amd64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "x86_64",
        suite: "bookworm-backports",
        flavour: "amd64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "x86_64",
        suite: "unstable",
        flavour: "amd64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "aarch64",
        suite: "bookworm",
        flavour: "arm64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "aarch64",
        suite: "bookworm-backports",
        flavour: "arm64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "aarch64",
        suite: "unstable",
        flavour: "arm64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "i686",
        suite: "bookworm",
        flavour: "686-pae",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "armv7",
        suite: "bookworm",
        flavour: "armmp",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "riscv64",
        suite: "trixie",
        flavour: "riscv64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "ppc64le",
        suite: "bookworm",
        flavour: "powerpc64le",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "s390x",
        suite: "bookworm",
        flavour: "s390x",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "mips64el",
        suite: "bookworm",
        flavour: "5kc-malta",
        derived_from: "",
        features: 0,
        skips: &[],
    },
    Kernel {
        arch: "loongarch64",
        suite: "unstable",
        flavour: "loong64",
        derived_from: "",
        features: 0,
        skips: &[],
    },
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
