//! The environment layer: everything the commands need from the machine, each thing checked
//! first and provided here, once. As root, what is missing is installed; as another user, the
//! error names what is missing and the exact command that installs it (`rustup` works for any
//! user who owns the toolchains, so it runs either way).
//!
//! - [`rustup`]: targets and components of the default toolchain, nightly with its components,
//!   pinned toolchains (the MSRV);
//! - [`apt`]: Debian packages on this machine (from its own sources, or from a suite they lack,
//!   such as bookworm-backports);
//! - [`private_apt`]: packages downloaded and unpacked under `target/apt/`, never installed
//!   (kernels, `linux-libc-dev`);
//! - [`tools`]: what is built from those: cross compilers (gcc + the C library per Debian
//!   architecture), QEMU >= 10, tools installed with `cargo install`.
//!
//! Only [`crate::util`] is below it.

pub mod apt;
pub mod private_apt;
pub mod rustup;
pub mod tools;
