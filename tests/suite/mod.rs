//! The kernel test cases, written once and run by three harnesses:
//!
//! - `tests/kernel.rs`: `cargo test` on the host (and under qemu-user by `cargo xtask cross-test`,
//!   where every kernel case must report "skip: ... ENOSYS");
//! - `tests/vm-init`: a static, libc-free `/init` booted in QEMU system VMs by `cargo xtask vm-test`.
//!
//! Everything here is `core` only: no `std`, no `alloc`, no libc. Concurrency comes from `fork`
//! (a handler process serving the parent's faults through the inherited uffd), not threads, so
//! the same code runs as PID 1 in a VM.

#![allow(dead_code)]

use core::fmt;

/// What a case may ask of its harness.
pub struct Ctx {
    /// The page size of the running kernel (from AT_PAGESZ or the kernel).
    pub page_size: usize,
}

/// A short message without allocation: formatted into a fixed buffer, truncated if longer.
pub struct Msg {
    buf: [u8; 240],
    len: usize,
}

impl Msg {
    /// An empty message.
    pub const fn new() -> Self {
        Self { buf: [0; 240], len: 0 }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            // Truncation can split a UTF-8 sequence: keep the valid prefix.
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl fmt::Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Formats a [`Msg`].
#[macro_export]
macro_rules! msg {
    ($($t:tt)*) => {{
        let mut m = $crate::suite::Msg::new();
        let _ = core::fmt::Write::write_fmt(&mut m, format_args!($($t)*));
        m
    }};
}

/// The result of one case.
pub enum Outcome {
    /// Everything asserted held.
    Pass,
    /// Not run, and why (e.g. "kernel lacks UFFD_FEATURE_MOVE", "userfaultfd: ENOSYS").
    Skip(Msg),
    /// An assertion failed: what was expected and what came.
    Fail(Msg),
}

/// One named case.
pub struct Case {
    /// Unique, stable name (printed in result lines).
    pub name: &'static str,
    /// The case.
    pub run: fn(&Ctx) -> Outcome,
}

/// Every case, in the order harnesses run them.
pub const CASES: &[Case] = &[];
