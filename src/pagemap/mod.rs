//! Dirty-page tracking without faults: `PAGEMAP_SCAN` on `/proc/<pid>/pagemap`, typed, with
//! no allocation.
//!
//! A range registered with a userfaultfd that negotiated `UFFD_FEATURE_WP_ASYNC` (Linux 6.7) and
//! write-protected once never blocks a writer: the kernel resolves each first write itself and
//! only clears the page's uffd-wp bit. [`Pagemap::dirty`] then reads the written pages *and*
//! write-protects them again in one `PAGEMAP_SCAN` ioctl (`PM_SCAN_WP_MATCHING |
//! PM_SCAN_CHECK_WPASYNC`), which ends one epoch and starts the next:
//!
//! ```no_run
//! # fn epoch(base: usize, len: usize) -> Result<(), uffd::pagemap::Error> {
//! use uffd::abi::page_region;
//! use uffd::pagemap::Pagemap;
//!
//! // [base, base + len) is registered (RegisterMode::WP) with a userfaultfd that negotiated
//! // Features::WP_ASYNC, and was write-protected once (Uffd::writeprotect).
//! let pagemap = Pagemap::open_self()?;
//! let mut buf = [page_region::zeroed(); 256];
//! // ... the workload writes, never stopped ...
//! for r in pagemap.dirty(base, len, &mut buf)? {
//!     let r = r?;
//!     // [r.start, r.end) was written since the last scan, and is protected again.
//! #   let _ = r;
//! }
//! # Ok(()) }
//! ```
//!
//! - [`Pagemap`]: the open `/proc/self/pagemap` or `/proc/<pid>/pagemap` (reading another
//!   process's needs ptrace read access to it: [`Error::PermissionDenied`] says so).
//! - [`Pagemap::scan`] with a [`Scan`]: any `PAGEMAP_SCAN` query into a caller's
//!   [`page_region`](crate::abi::page_region) buffer; [`Regions`] resumes from `walk_end`
//!   whenever the buffer or `max_pages` fills, so a buffer of one region still covers the range.
//! - Before Linux 6.7 the ioctl does not exist ([`Error::NotSupported`], `ENOTTY`). The
//!   fallback is [`Pagemap::written_by_entries`]: read the 8-byte entries and take the pages
//!   whose uffd-wp bit ([`PM_UFFD_WP`](crate::abi::PM_UFFD_WP)) is clear, then re-protect
//!   what was found with `UFFDIO_WRITEPROTECT` (`Uffd::writeprotect`): two steps instead of
//!   one, and it works with sync write-protect too (Linux 5.13+).
//!
//! This module issues system calls only through [`crate::sys`] and uses [`crate::abi`] and
//! [`crate::flags`]; the ranges it rejects are [`crate::RangeError`]s.

mod entries;
mod scan;

pub use entries::{entry_is_written, Written};
pub use scan::{Region, Regions, Scan};

use crate::error::RangeError;
use crate::sys::{self, Errno};
use core::ffi::CStr;
use core::fmt;

/// An open `/proc/<pid>/pagemap` (or `/proc/self/pagemap`; the file since Linux 2.6.25, its
/// `PAGEMAP_SCAN` ioctl since 6.7). Closes its descriptor on drop.
///
/// The file refers to the address space of the process it was opened for, fixed at open
/// time (a forked child keeps scanning its parent's).
#[derive(Debug)]
pub struct Pagemap {
    fd: i32,
    page_size: usize,
}

/// The step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// `openat("/proc/<pid>/pagemap")`.
    Open,
    /// `ioctl(PAGEMAP_SCAN)`.
    Scan,
    /// `pread64` of pagemap entries.
    Read,
    /// Finding the page size (`mincore(2)`).
    PageSize,
}

/// Everything that can go wrong in this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Opening `/proc/<pid>/pagemap` was refused (`EACCES` or `EPERM`): reading another
    /// process's page table needs ptrace read access to it (`PTRACE_MODE_READ_FSCREDS`: the
    /// same user and a dumpable process, or `CAP_SYS_PTRACE`).
    PermissionDenied {
        /// The process (`None`: `/proc/self`).
        pid: Option<u32>,
        /// `EACCES` or `EPERM`.
        errno: Errno,
    },
    /// There is no such pagemap (`ENOENT`/`ESRCH`): no such process, no procfs on `/proc`,
    /// or a kernel without `CONFIG_PROC_PAGE_MONITOR`.
    NotFound {
        /// The process (`None`: `/proc/self`).
        pid: Option<u32>,
        /// `ENOENT` or `ESRCH`.
        errno: Errno,
    },
    /// The running kernel has no `PAGEMAP_SCAN` (before Linux 6.7 pagemap has no ioctls:
    /// `ENOTTY`). Use [`Pagemap::written_by_entries`].
    NotSupported {
        /// `ENOTTY`.
        errno: Errno,
    },
    /// The range was rejected before any system call (start and length page-aligned, length
    /// non-zero, no wrap-around).
    Range(RangeError),
    /// The output buffer has no room. The kernel would accept it and scan without reporting
    /// anything (and with `PM_SCAN_WP_MATCHING` write-protect the written pages, losing them).
    EmptyBuffer,
    /// `PM_SCAN_CHECK_WPASYNC`: the range holds memory not registered with a userfaultfd in
    /// `WP_ASYNC` mode, and the kernel refused (`EPERM`). With `PM_SCAN_WP_MATCHING`, pages
    /// before that memory may already be protected again and their report lost: treat the
    /// whole range as written.
    NotWpAsync,
    /// The kernel's `walk_end` or region count is impossible (outside the range, more regions
    /// than the buffer holds) or makes no progress: the iteration stops rather than loop or
    /// misread. No progress happens with `PM_SCAN_WP_MATCHING` and a `max_pages` smaller than
    /// a hugetlb page (the kernel cannot protect part of one, and stops before it every time).
    BadWalk {
        /// `walk_end` as the kernel wrote it.
        walk_end: u64,
        /// Regions it reported.
        regions: usize,
    },
    /// Reading entries returned nothing where the range said there were pages.
    ShortRead {
        /// The address whose entry was missing.
        at: usize,
    },
    /// Any other failure of a system call.
    Sys {
        /// Which.
        call: Call,
        /// With what (`EINVAL` from `PAGEMAP_SCAN`: a category or flag newer than the running
        /// kernel, e.g. `PAGE_IS_GUARD` before 6.16).
        errno: Errno,
    },
}

impl Error {
    /// The errno behind the error, if a system call gave one.
    pub const fn errno(&self) -> Option<Errno> {
        match *self {
            Error::PermissionDenied { errno, .. }
            | Error::NotFound { errno, .. }
            | Error::NotSupported { errno }
            | Error::Sys { errno, .. } => Some(errno),
            Error::NotWpAsync => Some(Errno::EPERM),
            _ => None,
        }
    }
}

impl From<RangeError> for Error {
    fn from(e: RangeError) -> Self {
        Error::Range(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = |f: &mut fmt::Formatter<'_>, pid: Option<u32>| match pid {
            Some(p) => write!(f, "/proc/{p}/pagemap"),
            None => f.write_str("/proc/self/pagemap"),
        };
        match *self {
            Error::PermissionDenied { pid, errno } => {
                who(f, pid)?;
                write!(
                    f,
                    ": {errno}: reading another process's page table needs ptrace read access \
                     to it (PTRACE_MODE_READ: the same user and a dumpable process, or \
                     CAP_SYS_PTRACE)"
                )
            }
            Error::NotFound { pid, errno } => {
                who(f, pid)?;
                write!(
                    f,
                    ": {errno}: no such process, no procfs on /proc, or a kernel without \
                     CONFIG_PROC_PAGE_MONITOR"
                )
            }
            Error::NotSupported { errno } => write!(
                f,
                "PAGEMAP_SCAN: {errno}: the kernel has no PAGEMAP_SCAN (Linux 6.7); read the \
                 pagemap entries instead (Pagemap::written_by_entries)"
            ),
            Error::Range(e) => write!(f, "invalid range: {e}"),
            Error::EmptyBuffer => f.write_str("PAGEMAP_SCAN: the output buffer is empty"),
            Error::NotWpAsync => f.write_str(
                "PAGEMAP_SCAN with PM_SCAN_CHECK_WPASYNC: EPERM: the range holds memory not \
                 registered with a WP_ASYNC userfaultfd",
            ),
            Error::BadWalk { walk_end, regions } => write!(
                f,
                "PAGEMAP_SCAN: impossible result (walk_end {walk_end:#x}, {regions} regions)"
            ),
            Error::ShortRead { at } => write!(f, "pagemap: no entry for {at:#x}"),
            Error::Sys { call, errno } => write!(f, "pagemap {call:?}: {errno}"),
        }
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
impl std::error::Error for Error {}

#[cfg(all(feature = "std", target_os = "linux"))]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e.errno() {
            Some(errno) => std::io::Error::from_raw_os_error(errno.raw()),
            None => std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        }
    }
}

/// `O_RDONLY` (0 on every arch).
const O_RDONLY: u32 = 0;

/// `/proc/<pid>/pagemap` as a NUL-terminated string in `buf` (at most 25 bytes).
fn pid_path(pid: u32, buf: &mut [u8; 32]) -> &CStr {
    let mut digits = [0u8; 10];
    let (mut n, mut v) = (0, pid);
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf[..6].copy_from_slice(b"/proc/");
    for i in 0..n {
        buf[6 + i] = digits[n - 1 - i];
    }
    let tail = b"/pagemap\0";
    buf[6 + n..6 + n + tail.len()].copy_from_slice(tail);
    CStr::from_bytes_with_nul(&buf[..6 + n + tail.len()]).expect("one NUL, at the end")
}

impl Pagemap {
    /// `openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC)`: the pagemap of this
    /// process; finds the page size too.
    ///
    /// The file exists since Linux 2.6.25 (`CONFIG_PROC_PAGE_MONITOR`); reading one's own needs
    /// no privilege. [`Error::NotFound`] if `/proc` is not mounted.
    ///
    /// # References
    /// - [`proc_pid_pagemap(5)`](https://man7.org/linux/man-pages/man5/proc_pid_pagemap.5.html)
    /// - [`openat(2)`](https://man7.org/linux/man-pages/man2/openat.2.html)
    pub fn open_self() -> Result<Self, Error> {
        Self::open_path(c"/proc/self/pagemap", None)
    }

    /// `openat(AT_FDCWD, "/proc/<pid>/pagemap", O_RDONLY | O_CLOEXEC)`: the pagemap of
    /// process `pid`; finds the page size too.
    ///
    /// Since Linux 2.6.25. Opening it needs ptrace read access to `pid` (same user and
    /// dumpable, or `CAP_SYS_PTRACE`): [`Error::PermissionDenied`] otherwise;
    /// [`Error::NotFound`] for no such process.
    ///
    /// # References
    /// - [`proc_pid_pagemap(5)`](https://man7.org/linux/man-pages/man5/proc_pid_pagemap.5.html)
    /// - [`ptrace(2)`](https://man7.org/linux/man-pages/man2/ptrace.2.html) ("Ptrace access
    ///   mode checking")
    pub fn open_pid(pid: u32) -> Result<Self, Error> {
        let mut buf = [0u8; 32];
        Self::open_path(pid_path(pid, &mut buf), Some(pid))
    }

    fn open_path(path: &CStr, pid: Option<u32>) -> Result<Self, Error> {
        // SAFETY: AT_FDCWD names no descriptor of anyone's.
        let fd = unsafe { sys::openat(sys::AT_FDCWD, path, O_RDONLY | sys::O_CLOEXEC, 0) }
            .map_err(|errno| match errno {
                Errno::EACCES | Errno::EPERM => Error::PermissionDenied { pid, errno },
                Errno::ENOENT | Errno::ESRCH => Error::NotFound { pid, errno },
                errno => Error::Sys {
                    call: Call::Open,
                    errno,
                },
            })?;
        // The descriptor is ours from here on: closed on drop, also if the next step fails.
        let mut me = Pagemap { fd, page_size: 0 };
        me.page_size = sys::page_size().map_err(|errno| Error::Sys {
            call: Call::PageSize,
            errno,
        })?;
        Ok(me)
    }

    /// Takes ownership of an open pagemap file descriptor.
    ///
    /// # Safety
    /// `fd` must be an open `/proc/<pid>/pagemap` owned by nobody else (it is closed on drop),
    /// and `page_size` the running kernel's page size.
    pub const unsafe fn from_raw_fd(fd: i32, page_size: usize) -> Self {
        Pagemap { fd, page_size }
    }

    /// The file descriptor (still owned by `self`).
    pub const fn as_raw_fd(&self) -> i32 {
        self.fd
    }

    /// Gives up ownership of the file descriptor without closing it.
    pub fn into_raw_fd(self) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }

    /// The page size ranges are checked against and entries are indexed by.
    pub const fn page_size(&self) -> usize {
        self.page_size
    }

    /// Checks a range: start and length page-aligned, length non-zero, no wrap-around.
    fn check(&self, start: usize, len: usize) -> Result<(), RangeError> {
        if len == 0 {
            return Err(RangeError::Empty);
        }
        if start.checked_add(len).is_none() {
            return Err(RangeError::Overflow);
        }
        if !start.is_multiple_of(self.page_size) {
            return Err(RangeError::UnalignedStart {
                start,
                page_size: self.page_size,
            });
        }
        if !len.is_multiple_of(self.page_size) {
            return Err(RangeError::UnalignedLen {
                len,
                page_size: self.page_size,
            });
        }
        Ok(())
    }
}

impl Drop for Pagemap {
    fn drop(&mut self) {
        // SAFETY: `self.fd` is owned by this value and not used after this.
        let _ = unsafe { sys::close(self.fd) };
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
mod std_impls {
    use super::Pagemap;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    impl AsRawFd for Pagemap {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }
    impl AsFd for Pagemap {
        fn as_fd(&self) -> BorrowedFd<'_> {
            // SAFETY: `self.fd` is open for as long as `self` is borrowed.
            unsafe { BorrowedFd::borrow_raw(self.fd) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Categories;

    #[test]
    fn pid_paths() {
        let mut b = [0u8; 32];
        assert_eq!(pid_path(1, &mut b), c"/proc/1/pagemap");
        assert_eq!(pid_path(0, &mut b), c"/proc/0/pagemap");
        assert_eq!(pid_path(4_294_967_295, &mut b), c"/proc/4294967295/pagemap");
        assert_eq!(pid_path(120034, &mut b), c"/proc/120034/pagemap");
    }

    #[test]
    fn region_len_of_a_hand_built_region_never_wraps() {
        let r = |start, end| Region {
            start,
            end,
            categories: Categories::empty(),
        };
        assert_eq!(r(0x1000, 0x3000).len(), 0x2000);
        assert!(!r(0x1000, 0x3000).is_empty());
        assert_eq!(r(0x1000, 0x1000).len(), 0);
        assert!(r(0x1000, 0x1000).is_empty());
        assert_eq!(r(2, 1).len(), 0, "as (2..1).len()");
        assert!(r(2, 1).is_empty());
    }

    #[test]
    fn range_rules() {
        // SAFETY: fd -1 is never used (no call is made); forgotten below instead of closed.
        let pm = unsafe { Pagemap::from_raw_fd(-1, 4096) };
        assert_eq!(pm.check(0x1000, 0), Err(RangeError::Empty));
        assert_eq!(
            pm.check(0x1001, 4096),
            Err(RangeError::UnalignedStart {
                start: 0x1001,
                page_size: 4096
            })
        );
        assert_eq!(
            pm.check(0x1000, 100),
            Err(RangeError::UnalignedLen {
                len: 100,
                page_size: 4096
            })
        );
        assert_eq!(pm.check(usize::MAX - 4095, 8192), Err(RangeError::Overflow));
        assert_eq!(pm.check(0x1000, 8192), Ok(()));
        let _ = pm.into_raw_fd();
    }
}
