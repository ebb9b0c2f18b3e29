//! Facts of x86 (i386), from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `i386-linux-gnu/asm/unistd_32.h`, `O_*` from `asm-generic/fcntl.h`, errno values from `asm-generic/errno.h`.

/// `__NR_userfaultfd`.
pub const __NR_userfaultfd: usize = 374;
/// `__NR_openat`.
pub const __NR_openat: usize = 295;
/// `__NR_ioctl`.
pub const __NR_ioctl: usize = 54;
/// `__NR_read`.
pub const __NR_read: usize = 3;
/// `__NR_close`.
pub const __NR_close: usize = 6;
/// `__NR_ppoll`.
pub const __NR_ppoll: usize = 309;
/// `__NR_ppoll_time64` (the same on every 32-bit architecture, since Linux 5.1).
pub const __NR_ppoll_time64: usize = 414;
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
