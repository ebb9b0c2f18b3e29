//! Facts of s390x, from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `s390x-linux-gnu/asm/unistd_64.h`, `O_*` from `asm-generic/fcntl.h`, errno values from `asm-generic/errno.h`.
//!
//! The `syscalls` crate needs nightly here, so the raw syscall instruction is our own (below).

/// `__NR_userfaultfd`.
pub const __NR_userfaultfd: usize = 355;
/// `__NR_openat`.
pub const __NR_openat: usize = 288;
/// `__NR_ioctl`.
pub const __NR_ioctl: usize = 54;
/// `__NR_read`.
pub const __NR_read: usize = 3;
/// `__NR_close`.
pub const __NR_close: usize = 6;
/// `__NR_ppoll`.
pub const __NR_ppoll: usize = 302;
/// `__NR_mincore`.
pub const __NR_mincore: usize = 218;
/// `__NR_pread64`.
pub const __NR_pread64: usize = 180;

/// The page size: the kernel supports only 4 KiB pages on this architecture.
pub const PAGE_SIZE: Option<usize> = Some(4096);

/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o2000000;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0x800;

/// `ENOSYS` here.
pub const ENOSYS: i32 = 38;
/// `EOPNOTSUPP` here.
pub const EOPNOTSUPP: i32 = 95;
/// `EHWPOISON` here.
pub const EHWPOISON: i32 = 133;

use core::arch::asm;

// `svc 0` takes the number in r1 and arguments in r2..r7, returns `-errno` or the result in r2;
// every other general register is preserved. Unused argument registers are passed as 0.
#[inline(always)]
pub(super) unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> usize {
    let ret: usize;
    // SAFETY: the caller upholds the system call's contract (see `sys::raw`).
    unsafe {
        asm!(
            "svc 0",
            in("r1") n,
            inlateout("r2") a1 => ret,
            in("r3") a2,
            in("r4") a3,
            in("r5") a4,
            in("r6") a5,
            in("r7") a6,
            options(nostack)
        );
    }
    ret
}
super::via_syscall6!();
