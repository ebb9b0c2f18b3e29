//! `fcntl(2)`: the status flags of an open file description (`O_NONBLOCK`).

use super::{raw, Errno};

/// `fcntl(fd, cmd, arg)`: file descriptor control; `F_GETFL`/`F_SETFL` read and set the
/// status flags of the open file description (`O_NONBLOCK`, shared by every copy of the fd).
///
/// Available on every kernel.
///
/// # Safety
/// `fd` must be a descriptor the caller may use (I/O safety); for a `cmd` whose `arg` is a
/// pointer, it must be valid for what that command reads and writes.
///
/// # References
/// - [`fcntl(2)`](https://man7.org/linux/man-pages/man2/fcntl.2.html)
#[inline]
pub unsafe fn fcntl(fd: i32, cmd: u32, arg: usize) -> Result<usize, Errno> {
    // SAFETY: forwarded to the caller (see `# Safety`).
    unsafe { raw::syscall3(super::__NR_fcntl, fd as isize as usize, cmd as usize, arg) }
}

/// `F_GETFL` (3 on every architecture).
pub const F_GETFL: u32 = 3;
/// `F_SETFL` (4 on every architecture).
pub const F_SETFL: u32 = 4;
