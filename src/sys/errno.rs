//! [`Errno`]: the error number a system call returned.

use core::fmt;

/// An error number (`errno`) returned by a system call: positive, e.g. `Errno::EINVAL`.
///
/// Values are the running architecture's: most are the same everywhere, but some differ
/// (`ENOSYS` is 38 on most, 89 on mips; `EOPNOTSUPP` 95 / 122), so compare with these constants,
/// never with literals. `Debug` and `Display` print the name of the ones this crate knows.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Errno(i32);

macro_rules! errnos {
    ($($name:ident = $val:expr, $text:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`: ", $text, ".")]
                pub const $name: Errno = Errno($val);
            )*

            /// The kernel's name of this error (`"EINVAL"`), if this crate knows it.
            pub const fn name(self) -> Option<&'static str> {
                $(if self.0 == $val { return Some(stringify!($name)); })*
                None
            }

            /// A short description (`"Invalid argument"`), if this crate knows it.
            pub const fn description(self) -> Option<&'static str> {
                $(if self.0 == $val { return Some($text); })*
                None
            }
        }
    };
}

// 1..=34 come from asm-generic/errno-base.h and are the same on every architecture this crate
// supports; the others are per-arch (src/sys/<arch>.rs).
errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "I/O error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    EBADF = 9, "Bad file number";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Try again";
    ENOMEM = 12, "Out of memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    ENODEV = 19, "No such device";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "File table overflow";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Not a typewriter";
    ENOSPC = 28, "No space left on device";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Math result not representable";
    ENOSYS = super::arch::ENOSYS, "Function not implemented";
    EOPNOTSUPP = super::arch::EOPNOTSUPP, "Operation not supported";
    EHWPOISON = super::arch::EHWPOISON, "Memory page has hardware error";
}

impl Errno {
    /// `EWOULDBLOCK`, the same value as [`Errno::EAGAIN`] on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;

    /// From a positive `errno` value.
    pub const fn from_raw(errno: i32) -> Self {
        Errno(errno)
    }
    /// The positive `errno` value.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.description()) {
            (Some(n), Some(d)) => write!(f, "{n}: {d}"),
            _ => write!(f, "errno {}", self.0),
        }
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_the_name() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{:?}", Errno::EINVAL), "EINVAL");
        assert_eq!(format!("{:?}", Errno::from_raw(4000)), "Errno(4000)");
        assert_eq!(format!("{}", Errno::EEXIST), "EEXIST: File exists");
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
    }
}
