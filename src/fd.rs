//! Borrowed file descriptors for `no_std` code: [`BorrowedFd`], with the rules of std's
//! `std::os::fd::BorrowedFd` (I/O safety).
//!
//! A safe function of this crate never takes a bare integer and acts on it as a descriptor: a
//! stale number may name another component's new descriptor (a pipe, a socket, another
//! handler's userfaultfd), and reading or polling it would take that component's data. Safe
//! functions take a [`Uffd`](crate::Uffd) or a `BorrowedFd<'fd>`, whose lifetime keeps the
//! descriptor open while it is in use; the raw layer ([`crate::sys`]) takes integers in `unsafe`
//! functions. Under `std` a `std::os::fd::BorrowedFd` converts into one with `.into()`.

use core::marker::PhantomData;

/// A file descriptor borrowed for `'fd`: open, and not closed or replaced by anyone while the
/// borrow lasts. The `no_std` counterpart of `std::os::fd::BorrowedFd` (same rules, same layout:
/// one `i32`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BorrowedFd<'fd> {
    fd: i32,
    _borrow: PhantomData<&'fd ()>,
}

impl BorrowedFd<'_> {
    /// Borrows the raw descriptor `fd`.
    ///
    /// # Safety
    /// `fd` must be an open file descriptor (not negative) that stays open — not closed, not
    /// replaced with `dup2` — for the whole of the returned lifetime, and the caller must be
    /// entitled to use it (its owner lends it), as for `std::os::fd::BorrowedFd::borrow_raw`.
    #[inline]
    pub const unsafe fn borrow_raw(fd: i32) -> Self {
        BorrowedFd {
            fd,
            _borrow: PhantomData,
        }
    }

    /// The descriptor's number.
    #[inline]
    pub const fn as_raw_fd(&self) -> i32 {
        self.fd
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
mod std_impls {
    use super::BorrowedFd;
    use std::os::fd::{AsFd, AsRawFd, RawFd};

    impl<'fd> From<std::os::fd::BorrowedFd<'fd>> for BorrowedFd<'fd> {
        fn from(fd: std::os::fd::BorrowedFd<'fd>) -> Self {
            // SAFETY: std's `BorrowedFd` is open for `'fd` under the same rules.
            unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) }
        }
    }
    impl<'fd> From<BorrowedFd<'fd>> for std::os::fd::BorrowedFd<'fd> {
        fn from(fd: BorrowedFd<'fd>) -> Self {
            // SAFETY: ours is open for `'fd` under std's rules (`borrow_raw`'s contract), and
            // not -1 (not negative).
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd.fd) }
        }
    }
    impl AsFd for BorrowedFd<'_> {
        fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
            (*self).into()
        }
    }
    impl AsRawFd for BorrowedFd<'_> {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }
}
