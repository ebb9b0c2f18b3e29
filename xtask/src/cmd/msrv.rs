//! `cargo xtask msrv`: the oldest Rust the crate claims (`rust-version` in Cargo.toml) builds it
//! for one target of each asm family, and builds and tests it on the host.
//!
//! The system calls are inline assembly: through the `syscalls` crate on x86_64, x86, aarch64,
//! arm, riscv64 and loongarch64, our own `asm!` on powerpc, powerpc64 and s390x (and mips64,
//! which needs nightly: `asm!` there is `asm_experimental_arch`). Each family's oldest Rust was
//! measured by building `-p uffd` for its target with older toolchains ([`FAMILIES`]); the
//! crate's `rust-version` is the newest of them, so it is true on every target we claim (the
//! README's MSRV table gives each family's own).

use crate::env::rustup;
use crate::util::process::{root, run as sh, target_dir, Result};
use crate::util::report;
use bpaf::{pure, Parser};
use std::process::Command;

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "rust-version: builds one target of each asm family, tests on the host";

/// `msrv` has no options.
#[derive(Clone, Debug, Default)]
pub struct Args;

pub fn parser() -> impl Parser<Args> {
    pure(Args)
}

/// The oldest Rust that builds the crate on every target we claim: `rust-version` in
/// Cargo.toml, the newest of [`FAMILIES`]' `oldest`.
pub const MSRV: &str = "1.95";

/// One asm family: a target of it and the oldest Rust measured to build the crate there.
pub struct Family {
    /// The architectures of the family.
    pub name: &'static str,
    /// The target `msrv` builds for it.
    pub target: &'static str,
    /// The oldest stable Rust that builds `-p uffd` for `target`.
    pub oldest: &'static str,
    /// Why not older (the first error of the release before `oldest`).
    pub why: &'static str,
}

/// Measured with `cargo +1.NN build -p uffd --target T --ignore-rust-version` (README: "MSRV").
pub const FAMILIES: &[Family] = &[
    Family {
        name: "x86_64",
        target: "x86_64-unknown-linux-gnu",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
    Family {
        name: "x86 (i686)",
        target: "i686-unknown-linux-gnu",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
    Family {
        name: "aarch64",
        target: "aarch64-unknown-linux-gnu",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
    Family {
        name: "arm (armv7)",
        target: "armv7-unknown-linux-gnueabihf",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
    Family {
        name: "riscv64",
        target: "riscv64gc-unknown-linux-gnu",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
    Family {
        name: "loongarch64",
        target: "loongarch64-unknown-linux-gnu",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
    Family {
        name: "powerpc64 (ppc64le)",
        target: "powerpc64le-unknown-linux-gnu",
        oldest: "1.95",
        why: "`asm!` on PowerPC is unstable in 1.94 (E0658; also in 1.87, 1.91, 1.93)",
    },
    Family {
        name: "powerpc (32-bit)",
        target: "powerpc-unknown-linux-gnu",
        oldest: "1.95",
        why: "`asm!` on PowerPC is unstable in 1.94 (E0658; also in 1.87, 1.91, 1.93)",
    },
    Family {
        name: "s390x",
        target: "s390x-unknown-linux-gnu",
        oldest: "1.87",
        why: "the crate uses `is_multiple_of`, unstable before 1.87 (E0658 in 1.84)",
    },
    Family {
        name: "OS-less (*-none)",
        target: "x86_64-unknown-none",
        oldest: "1.87",
        why: "syscalls 0.8 uses `is_multiple_of`, unstable in 1.86 (E0658)",
    },
];

/// A cargo of the MSRV toolchain, in its own target directory (the stable build's stays cached).
fn cargo() -> Command {
    let mut c = Command::new("rustup");
    c.args(["run", MSRV, "cargo"])
        .current_dir(root())
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("CARGO_TARGET_DIR", target_dir().join("msrv"));
    c
}

/// Installs the MSRV toolchain (minimal profile), builds the library for one target of each asm
/// family, and builds and tests it on the host.
pub fn run(_: &Args) -> Result<()> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    if !manifest.contains(&format!("rust-version = \"{MSRV}\"")) {
        return Err(format!(
            "Cargo.toml's rust-version is not {MSRV} (xtask/src/cmd/msrv.rs MSRV)"
        ));
    }
    let newest = FAMILIES.iter().map(|f| f.oldest).max_by_key(|v| version(v));
    if newest != Some(MSRV) {
        return Err(format!(
            "MSRV {MSRV} is not the newest of the families' oldest Rust ({newest:?})"
        ));
    }
    println!("msrv {MSRV}: the oldest Rust of each asm family, as measured:");
    let rows: Vec<Vec<String>> = FAMILIES
        .iter()
        .map(|f| {
            vec![
                f.name.into(),
                f.target.into(),
                f.oldest.into(),
                f.why.into(),
            ]
        })
        .collect();
    report::table(
        &["family", "target", "oldest Rust", "not older because"],
        &rows,
    );
    rustup::toolchain(MSRV, &[])?;
    let host = FAMILIES[0].target;
    for f in &FAMILIES[1..] {
        eprintln!("msrv {MSRV}: {} ({})", f.name, f.target);
        // The mirror may lack a target's prebuilt std for an older release: then core is built
        // from rust-src (RUSTC_BOOTSTRAP=1 only unlocks `-Zbuild-std`; the crate enables no
        // unstable feature, so what is stable in MSRV is checked all the same).
        if rustup::targets_for(Some(MSRV), &[f.target]).is_ok() {
            sh(cargo().args(["build", "-p", "uffd", "--target", f.target]))?;
        } else {
            eprintln!(
                "msrv {MSRV}: no prebuilt std of {} for {MSRV} here: building core from rust-src",
                f.target
            );
            rustup::toolchain_components(MSRV, &["rust-src"])?;
            sh(cargo()
                .args([
                    "build",
                    "-p",
                    "uffd",
                    "-Zbuild-std=core",
                    "--target",
                    f.target,
                ])
                .env("RUSTC_BOOTSTRAP", "1"))?;
        }
    }
    eprintln!("msrv {MSRV}: host ({host}): build, all features, tests");
    sh(cargo().args(["build", "-p", "uffd"]))?;
    sh(cargo().args(["build", "-p", "uffd", "--all-features"]))?;
    // tests/firecracker.rs runs the firecracker_handler example as a program: `--examples`
    // below builds examples as test harnesses, so the program is built first.
    sh(cargo().args(["build", "-p", "uffd", "--features", "std", "--examples"]))?;
    sh(cargo().args([
        "test",
        "-p",
        "uffd",
        "--features",
        "std",
        "--lib",
        "--tests",
        "--examples",
    ]))
}

/// `"1.87"` as `(1, 87)`, to compare releases.
fn version(v: &str) -> (u32, u32) {
    let mut p = v.split('.').map(|n| n.parse().unwrap_or(0));
    (p.next().unwrap_or(0), p.next().unwrap_or(0))
}
