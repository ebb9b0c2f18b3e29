//! Facts of aarch64, from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `aarch64-linux-gnu/asm/unistd_64.h`, `O_*` from `asm-generic/fcntl.h`, errno values from `asm-generic/errno.h`.

/// `__NR_userfaultfd`.
pub const __NR_userfaultfd: usize = 282;
/// `__NR_openat`.
pub const __NR_openat: usize = 56;
/// `__NR_ioctl`.
pub const __NR_ioctl: usize = 29;
/// `__NR_read`.
pub const __NR_read: usize = 63;
/// `__NR_close`.
pub const __NR_close: usize = 57;
/// `__NR_ppoll`.
pub const __NR_ppoll: usize = 73;
/// `__NR_mincore`.
pub const __NR_mincore: usize = 232;
/// `__NR_pread64`.
pub const __NR_pread64: usize = 67;

/// The page size is a kernel configuration choice here (4, 16 or 64 KiB): found at run time.
pub const PAGE_SIZE: Option<usize> = None;

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
