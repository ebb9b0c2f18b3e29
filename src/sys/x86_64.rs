//! Facts of x86_64, from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `x86_64-linux-gnu/asm/unistd_64.h`, `O_*`, `MAP_*` and `SOL_SOCKET` from `asm/mman.h`, `asm/socket.h` and `asm-generic/fcntl.h`, errno values from `asm-generic/errno.h`.

/// `__NR_userfaultfd`.
pub const __NR_userfaultfd: usize = 323;
/// `__NR_openat`.
pub const __NR_openat: usize = 257;
/// `__NR_ioctl`.
pub const __NR_ioctl: usize = 16;
/// `__NR_read`.
pub const __NR_read: usize = 0;
/// `__NR_close`.
pub const __NR_close: usize = 3;
/// `__NR_ppoll`.
pub const __NR_ppoll: usize = 271;
/// `__NR_mincore`.
pub const __NR_mincore: usize = 27;
/// `__NR_pread64`.
pub const __NR_pread64: usize = 17;

/// `__NR_fcntl`.
pub const __NR_fcntl: usize = 72;
/// `__NR_sendmsg`.
pub const __NR_sendmsg: usize = 46;
/// `__NR_recvmsg`.
pub const __NR_recvmsg: usize = 47;
/// `__NR_mmap`.
pub const __NR_mmap: usize = 9;
/// The number [`mmap`](super::mmap) issues: `__NR_mmap`.
pub const MMAP_NR: usize = __NR_mmap;
/// `__NR_munmap`.
pub const __NR_munmap: usize = 11;
/// `__NR_madvise`.
pub const __NR_madvise: usize = 28;
/// `__NR_mremap`.
pub const __NR_mremap: usize = 25;
/// `__NR_getrusage`.
pub const __NR_getrusage: usize = 98;

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
