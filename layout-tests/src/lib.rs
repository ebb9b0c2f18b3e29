//! The `uffd` crate checked against the real kernel headers, compiled by a real C compiler.
//!
//! `build.rs` compiles a C probe of `linux/userfaultfd.h` (the host's `/usr/include`, or the
//! values `cargo xtask verify-layout` probed for another architecture, named by the
//! `LAYOUT_TESTS_C_VALUES` environment variable) and generates a `const` assertion per item:
//! if the crate disagrees with the header, this crate does not compile, and rustc's error names
//! the item and shows both values (`expected an array with a size of <C>, found one with a size
//! of <Rust>`). The tests in `tests/` compare the same values again at run time and print a
//! summary.
#![no_std]
// The generated code casts every value to u64 whatever its type (most already are).
#![allow(clippy::unnecessary_cast)]

/// One item compared with the crate.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// The item, e.g. `UFFDIO_API` or `offsetof(struct uffd_msg, arg.pagefault.feat.ptid)`.
    pub key: &'static str,
    /// Kernel version that brought it.
    pub since: &'static str,
    /// The header's value, from the C compiler.
    pub c: u64,
    /// The crate's value, as compiled for this target.
    pub rust: u64,
}

/// One item not compared, and why (too old a header, version-dependent, ...).
#[derive(Clone, Copy, Debug)]
pub struct NotCompared {
    /// The item.
    pub key: &'static str,
    /// The header's value, if it has the item.
    pub c: Option<u64>,
    /// Why it is not compared.
    pub why: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/layout.rs"));
