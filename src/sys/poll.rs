//! `ppoll` without libc: [`PollFd`], [`Timespec`] (`__kernel_timespec`), the `POLL*` bits,
//! and `ppoll_time64` on 32-bit ABIs with a fallback to the old `ppoll`.

#[cfg(target_pointer_width = "32")]
use super::arch;
use super::{__NR_ppoll, raw, Errno};

/// `POLLIN` (1 on every arch).
pub const POLLIN: i16 = 0x1;
/// `POLLERR` (8 on every arch).
pub const POLLERR: i16 = 0x8;
/// `POLLHUP` (0x10 on every arch).
pub const POLLHUP: i16 = 0x10;
/// `POLLNVAL` (0x20 on every arch): the fd is not open.
pub const POLLNVAL: i16 = 0x20;

/// `struct pollfd`, the same on every architecture.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The file descriptor.
    pub fd: i32,
    /// Requested events (`POLLIN`, ...).
    pub events: i16,
    /// Returned events, written by the kernel.
    pub revents: i16,
}

/// `struct __kernel_timespec`: 64-bit seconds and nanoseconds on every ABI, as `ppoll` reads it
/// on 64-bit architectures and `ppoll_time64` on 32-bit ones (no year-2038 end).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, below 1 000 000 000.
    pub tv_nsec: i64,
}

impl Timespec {
    /// `d` as a timespec (seconds saturated at `i64::MAX`).
    pub const fn from_duration(d: core::time::Duration) -> Self {
        let secs = d.as_secs();
        Timespec {
            tv_sec: if secs > i64::MAX as u64 {
                i64::MAX
            } else {
                secs as i64
            },
            tv_nsec: d.subsec_nanos() as i64,
        }
    }
}

/// `ppoll(fds, nfds, timeout, NULL)`: waits for events on `fds`, returning how many have one.
///
/// `timeout` of `None` waits indefinitely. On 32-bit architectures this is `ppoll_time64`
/// (Linux 5.1), falling back to the old `ppoll` (seconds clamped to `i32::MAX`) where that
/// gives ENOSYS; kernels built without `COMPAT_32BIT_TIME` have only the former. Available on
/// every kernel this crate supports (since Linux 2.6.16). Note that a userfaultfd without
/// `O_NONBLOCK` always reports `POLLERR`.
///
/// The kernel writes the time left into `timeout` when it returns (the raw system call does;
/// glibc's wrapper hides it), also on EINTR: calling again with the same `timeout` continues
/// the wait rather than starting it over.
///
/// # Safety
/// Every non-negative `fd` in `fds` must be an open descriptor the caller may use (I/O
/// safety): polling a stale number reports another component's descriptor. (`ppoll` itself
/// only reads and writes `fds`.)
///
/// # References
/// - [`ppoll(2)`](https://man7.org/linux/man-pages/man2/ppoll.2.html)
#[inline(always)]
pub unsafe fn ppoll(fds: &mut [PollFd], timeout: Option<&mut Timespec>) -> Result<usize, Errno> {
    #[cfg(target_pointer_width = "32")]
    {
        use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
        static NO_TIME64: AtomicBool = AtomicBool::new(false);
        let mut timeout = timeout;
        if !NO_TIME64.load(Relaxed) {
            match ppoll_raw(
                arch::__NR_ppoll_time64,
                fds,
                timeout.as_deref_mut().map(|t| t as *mut Timespec as usize),
            ) {
                Err(Errno::ENOSYS) => NO_TIME64.store(true, Relaxed),
                r => return r,
            }
        }
        // `struct old_timespec32`: two 32-bit words, written back as the time left.
        let mut old = timeout.as_deref().map(|t| {
            let secs = if t.tv_sec > i32::MAX as i64 {
                i32::MAX
            } else {
                t.tv_sec as i32
            };
            [secs, t.tv_nsec as i32]
        });
        let r = ppoll_raw(
            __NR_ppoll,
            fds,
            old.as_mut().map(|t| t as *mut [i32; 2] as usize),
        );
        if let (Some(t), Some([secs, nsecs])) = (timeout, old) {
            t.tv_sec = secs as i64;
            t.tv_nsec = nsecs as i64;
        }
        r
    }
    #[cfg(not(target_pointer_width = "32"))]
    {
        ppoll_raw(
            __NR_ppoll,
            fds,
            timeout.map(|t| t as *mut Timespec as usize),
        )
    }
}

/// `ppoll` by number `nr` with `ts` the address of the timespec its ABI reads and writes (or
/// none).
#[inline(always)]
fn ppoll_raw(nr: usize, fds: &mut [PollFd], ts: Option<usize>) -> Result<usize, Errno> {
    // SAFETY: the kernel reads and writes `fds.len()` pollfds in `fds` (borrowed mutably),
    // reads one timespec of the layout `nr` expects at `ts` if given and writes the time left
    // into it (our callers pass one borrowed mutably across the call), and the signal mask
    // pointer is NULL.
    unsafe {
        raw::syscall5(
            nr,
            fds.as_mut_ptr() as usize,
            fds.len(),
            ts.unwrap_or(0),
            0,
            core::mem::size_of::<u64>(),
        )
    }
}
