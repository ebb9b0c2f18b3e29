//! The targets layer: the Rust targets the commands build for (each with its Debian cross
//! compiler, Debian architecture and QEMU user binary), the cargo command for one of them, what
//! one needs from the machine (asked of [`crate::env`]), and building `tests/vm-init` for it.
//!
//! Below it: [`crate::env`] and [`crate::util`]. The commands of `cmd/` choose from here.

use crate::env::{rustup, tools};
use crate::util::process::{root, run, target_dir, Result};
use std::path::PathBuf;
use std::process::Command;

/// One Rust target: its Debian cross compiler, Debian architecture and QEMU user binary.
pub struct Target {
    pub triple: &'static str,
    /// `(gcc triple, Debian arch)` of `gcc-<triple>` + `libc6-dev-<arch>-cross`; `None` when
    /// the host toolchain links it (x86_64-musl, self-contained).
    pub gcc: Option<(&'static str, &'static str)>,
    /// `qemu-<arch>`.
    pub qemu: &'static str,
    /// Also runs on this x86_64 kernel without emulation.
    pub native: bool,
    /// `tests/vm-init` builds for it (own `_start`; not on 32-bit powerpc, and musl's start
    /// files get in the way).
    pub vm_init: bool,
    /// No prebuilt std (tier 3, or none for this host): built with `cargo +nightly
    /// -Zbuild-std=core` (rust-src on nightly); linked by `gcc` if named, else by `rust-lld`.
    pub build_std: bool,
}

/// The targets `cross-test` runs: every Rust Linux target with a prebuilt std here.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "i686-unknown-linux-gnu",
        gcc: Some(("i686-linux-gnu", "i386")),
        qemu: "qemu-i386",
        native: true,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        gcc: Some(("aarch64-linux-gnu", "arm64")),
        qemu: "qemu-aarch64",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        gcc: Some(("arm-linux-gnueabihf", "armhf")),
        qemu: "qemu-arm",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "riscv64gc-unknown-linux-gnu",
        gcc: Some(("riscv64-linux-gnu", "riscv64")),
        qemu: "qemu-riscv64",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "powerpc64le-unknown-linux-gnu",
        gcc: Some(("powerpc64le-linux-gnu", "ppc64el")),
        qemu: "qemu-ppc64le",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "powerpc-unknown-linux-gnu",
        gcc: Some(("powerpc-linux-gnu", "powerpc")),
        qemu: "qemu-ppc",
        native: false,
        vm_init: false,
        build_std: false,
    },
    Target {
        triple: "s390x-unknown-linux-gnu",
        gcc: Some(("s390x-linux-gnu", "s390x")),
        qemu: "qemu-s390x",
        native: false,
        vm_init: true,
        build_std: false,
    },
    Target {
        triple: "x86_64-unknown-linux-musl",
        gcc: None,
        qemu: "qemu-x86_64",
        native: true,
        vm_init: false,
        build_std: false,
    },
];

/// The host (x86_64): `vm-test` builds `/init` for it with the host toolchain.
pub const HOST: Target = Target {
    triple: "x86_64-unknown-linux-gnu",
    gcc: None,
    qemu: "qemu-x86_64",
    native: true,
    vm_init: true,
    build_std: false,
};

/// Targets only `vm-test` builds for: tier 3 / no prebuilt std here, so `/init` is built with
/// nightly `-Zbuild-std=core` (cross-test would need all of std for the cargo tests).
/// loongarch64 has no Debian 12 cross gcc: `rust-lld` links it.
pub const VM_ONLY: &[Target] = &[
    Target {
        triple: "mips64el-unknown-linux-gnuabi64",
        gcc: Some(("mips64el-linux-gnuabi64", "mips64el")),
        qemu: "qemu-mips64el",
        native: false,
        vm_init: true,
        build_std: true,
    },
    Target {
        triple: "loongarch64-unknown-linux-gnu",
        gcc: None,
        qemu: "qemu-loongarch64",
        native: false,
        vm_init: true,
        build_std: true,
    },
];

/// Any target of the tables: [`HOST`], [`TARGETS`] or [`VM_ONLY`].
pub fn any(triple: &str) -> Result<&'static Target> {
    if triple == HOST.triple {
        return Ok(&HOST);
    }
    if let Some(t) = VM_ONLY.iter().find(|t| t.triple == triple) {
        return Ok(t);
    }
    cross(triple)
}

/// One of the `cross-test` [`TARGETS`].
pub fn cross(triple: &str) -> Result<&'static Target> {
    TARGETS.iter().find(|t| t.triple == triple).ok_or_else(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
        format!(
            "unknown target {triple:?}; known: {} or all",
            names.join(", ")
        )
    })
}

/// `CARGO_TARGET_<TRIPLE>_<what>`.
pub fn cargo_env(triple: &str, what: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{what}",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// A cargo command for `t`: the cross linker (and C compiler, for build scripts using `cc`) set;
/// nightly's cargo (through `rustup run`) for a `build_std` target, linked by `rust-lld` if it
/// has no cross gcc.
pub fn cargo_for(t: &Target) -> Command {
    let mut c = if t.build_std {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo"]);
        c
    } else {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
    };
    c.current_dir(root());
    if let Some((gcc, _)) = t.gcc {
        c.env(cargo_env(t.triple, "LINKER"), format!("{gcc}-gcc"));
        c.env(
            format!("CC_{}", t.triple.replace('-', "_")),
            format!("{gcc}-gcc"),
        );
    } else if t.build_std {
        c.env(cargo_env(t.triple, "LINKER"), "rust-lld");
    }
    c
}

/// What `targets` need from the machine: the rustup targets with a prebuilt std (nightly with
/// rust-src for those built with `-Zbuild-std`), their cross compilers, and QEMU >= 10 for each
/// of `qemu` (the QEMU user binaries of the targets, or the `qemu-system-*` that boots them).
pub fn provision(targets: &[&Target], qemu: &[&str]) -> Result<()> {
    let prebuilt: Vec<&str> = targets
        .iter()
        .filter(|t| !t.build_std)
        .map(|t| t.triple)
        .collect();
    rustup::targets(&prebuilt)?;
    if targets.iter().any(|t| t.build_std) {
        rustup::nightly(&["rust-src"])?;
    }
    tools::cross_gcc(&targets.iter().filter_map(|t| t.gcc).collect::<Vec<_>>())?;
    tools::qemu(qemu)
}

/// Builds `tests/vm-init` (release) for `t` and returns the binary.
pub fn build_vm_init(t: &Target) -> Result<PathBuf> {
    let mut c = cargo_for(t);
    c.args(["build", "--release", "-p", "vm-init", "--target", t.triple])
        .env("CARGO_TERM_PROGRESS_WHEN", "never");
    if t.build_std {
        c.arg("-Zbuild-std=core");
    }
    run(&mut c)?;
    Ok(target_dir().join(t.triple).join("release").join("vm-init"))
}
