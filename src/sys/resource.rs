//! `getrusage` without libc: [`Rusage`] (`struct rusage` of `linux/resource.h`, as the kernel
//! writes it) and [`RUSAGE_THREAD`].

use super::{__NR_getrusage, raw, Errno};

/// `RUSAGE_THREAD` (Linux 2.6.26): the calling thread only.
pub const RUSAGE_THREAD: i32 = 1;

/// `struct __kernel_old_timeval`: `long` seconds and microseconds (the kernel's `rusage` keeps
/// this layout on every ABI).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OldTimeval {
    /// Seconds.
    pub tv_sec: isize,
    /// Microseconds.
    pub tv_usec: isize,
}

/// `struct rusage` of `linux/resource.h`: two [`OldTimeval`]s and fourteen `long` counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    /// User CPU time.
    pub ru_utime: OldTimeval,
    /// System CPU time.
    pub ru_stime: OldTimeval,
    /// Maximum resident set size (KiB).
    pub ru_maxrss: isize,
    /// Unused by Linux.
    pub ru_ixrss: isize,
    /// Unused by Linux.
    pub ru_idrss: isize,
    /// Unused by Linux.
    pub ru_isrss: isize,
    /// Page faults served without I/O.
    pub ru_minflt: isize,
    /// Page faults that needed I/O.
    pub ru_majflt: isize,
    /// Unused by Linux.
    pub ru_nswap: isize,
    /// Block input operations.
    pub ru_inblock: isize,
    /// Block output operations.
    pub ru_oublock: isize,
    /// Unused by Linux.
    pub ru_msgsnd: isize,
    /// Unused by Linux.
    pub ru_msgrcv: isize,
    /// Unused by Linux.
    pub ru_nsignals: isize,
    /// Voluntary context switches (the thread blocked).
    pub ru_nvcsw: isize,
    /// Involuntary context switches (the thread was preempted).
    pub ru_nivcsw: isize,
}

static_assertions::assert_eq_size!(Rusage, [isize; 18]);
static_assertions::const_assert_eq!(
    core::mem::offset_of!(Rusage, ru_nivcsw),
    17 * core::mem::size_of::<isize>()
);

/// `getrusage(who, &usage)`: resource usage of the calling process (`RUSAGE_SELF`), its
/// waited-for children (`RUSAGE_CHILDREN`) or the calling thread ([`RUSAGE_THREAD`], Linux
/// 2.6.26). Any `who` is safe: the kernel refuses others with `EINVAL`.
///
/// # References
/// - [`getrusage(2)`](https://man7.org/linux/man-pages/man2/getrusage.2.html)
#[inline(always)]
pub fn getrusage(who: i32) -> Result<Rusage, Errno> {
    let mut usage = Rusage::default();
    // SAFETY: the kernel writes one `struct rusage` through the pointer, which is valid and
    // aligned for it (the layout is asserted above and checked against the headers by
    // `cargo xtask verify-layout`); nothing else is touched.
    unsafe {
        raw::syscall2(
            __NR_getrusage,
            who as isize as usize,
            &mut usage as *mut Rusage as usize,
        )
    }?;
    Ok(usage)
}
