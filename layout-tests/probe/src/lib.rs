//! The C side of the layout checks, shared by `layout-tests/build.rs` (a build-dependency) and
//! `cargo xtask verify-layout`:
//! - [`manifest`]: every item of `linux/userfaultfd.h` the crate must match, as names and C/Rust
//!   expressions (never values);
//! - [`probe`]: the C probe generated from it, compiled freestanding by a real C compiler, and
//!   the values read back out of the object file; how each item is judged;
//! - [`elf`]: reading a symbol out of an ELF object file or an rlib's objects.

pub mod elf;
pub mod manifest;
pub mod probe;
