//! Facts of arm (EABI), from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `arm-linux-gnueabihf/asm/unistd-eabi.h`, `O_*`, `MAP_*` and `SOL_SOCKET` from `asm/mman.h`, `asm/socket.h` and `asm-generic/fcntl.h (arm's asm/fcntl.h changes only O_DIRECTORY and friends)`, errno values from `asm-generic/errno.h`.

/// `__NR_userfaultfd`.
pub const __NR_userfaultfd: usize = 388;
/// `__NR_openat`.
pub const __NR_openat: usize = 322;
/// `__NR_ioctl`.
pub const __NR_ioctl: usize = 54;
/// `__NR_read`.
pub const __NR_read: usize = 3;
/// `__NR_close`.
pub const __NR_close: usize = 6;
/// `__NR_ppoll`.
pub const __NR_ppoll: usize = 336;
/// `__NR_ppoll_time64` (the same on every 32-bit architecture, since Linux 5.1).
pub const __NR_ppoll_time64: usize = 414;
/// `__NR_mincore`.
pub const __NR_mincore: usize = 219;
/// `__NR_pread64`.
pub const __NR_pread64: usize = 180;

/// `__NR_fcntl`.
pub const __NR_fcntl: usize = 55;
/// `__NR_sendmsg`.
pub const __NR_sendmsg: usize = 296;
/// `__NR_recvmsg`.
pub const __NR_recvmsg: usize = 297;
/// `__NR_mmap2` (`mmap` with the offset in 4096-byte units; the 32-bit ABIs' `mmap`).
pub const __NR_mmap2: usize = 192;
/// The number [`mmap`](super::mmap) issues: `__NR_mmap2`.
pub const MMAP_NR: usize = __NR_mmap2;
/// `__NR_munmap`.
pub const __NR_munmap: usize = 91;
/// `__NR_madvise`.
pub const __NR_madvise: usize = 220;
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
