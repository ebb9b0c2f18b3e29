//! Facts of s390x, from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `s390x-linux-gnu/asm/unistd_64.h`, `O_*`, `MAP_*` and `SOL_SOCKET` from `asm/mman.h`, `asm/socket.h` and `asm-generic/fcntl.h`, errno values from `asm-generic/errno.h`.
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

/// `__NR_fcntl`.
pub const __NR_fcntl: usize = 55;
/// `__NR_sendmsg`.
pub const __NR_sendmsg: usize = 370;
/// `__NR_recvmsg`.
pub const __NR_recvmsg: usize = 372;
/// `__NR_mmap` (s390's `old_mmap`: one pointer to the six argument words).
pub const __NR_mmap: usize = 90;
/// The number [`mmap`](super::mmap) issues: `__NR_mmap`.
pub const MMAP_NR: usize = __NR_mmap;
/// `__NR_munmap`.
pub const __NR_munmap: usize = 91;
/// `__NR_madvise`.
pub const __NR_madvise: usize = 219;
/// `__NR_mremap`.
pub const __NR_mremap: usize = 163;
/// `__NR_getrusage`.
pub const __NR_getrusage: usize = 77;

/// The page size: the kernel supports only 4 KiB pages on this architecture.
pub const PAGE_SIZE: Option<usize> = Some(4096);

/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o2000000;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0x800;

/// `MAP_ANONYMOUS`.
pub const MAP_ANONYMOUS: u32 = 0x20;
/// `MAP_NORESERVE`.
pub const MAP_NORESERVE: u32 = 0x4000;
/// `MAP_POPULATE`.
pub const MAP_POPULATE: u32 = 0x8000;
/// `MAP_HUGETLB`.
pub const MAP_HUGETLB: u32 = 0x40000;
/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;

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
