//! The bare system call: a number and up to six word arguments in, the result or an [`Errno`]
//! out. For callers that need a call this crate does not wrap (test support, `no_std` programs
//! without libc).
//!
//! Every architecture's instruction is normalised to the generic convention before decoding: a
//! result in `-4095..=-1` is `-errno` (powerpc's CR0.SO and mips' a3 flag are folded in by the
//! per-arch shim).

use super::Errno;

#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "s390x",
    target_arch = "mips",
    target_arch = "mips64"
)))]
use syscalls::raw as imp;

#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "s390x",
    target_arch = "mips",
    target_arch = "mips64"
))]
use super::arch as imp;

/// Turns the kernel's return word into a result.
#[inline(always)]
const fn decode(ret: usize) -> Result<usize, Errno> {
    if ret > (-4096isize) as usize {
        Err(Errno::from_raw((ret as isize).wrapping_neg() as i32))
    } else {
        Ok(ret)
    }
}

macro_rules! raw_fns {
    ($($(#[$m:meta])* $name:ident($($a:ident),*);)*) => {$(
        $(#[$m])*
        ///
        /// # Safety
        /// The caller upholds the contract of system call `nr` for these arguments: pointers
        /// valid for what the kernel reads and writes through them, file descriptors owned or
        /// borrowed as that call requires, and no call that breaks Rust's assumptions about
        /// this process (e.g. unmapping memory that is still referenced).
        ///
        /// # References
        /// - [`syscall(2)`](https://man7.org/linux/man-pages/man2/syscall.2.html)
        #[inline(always)]
        pub unsafe fn $name(nr: usize $(, $a: usize)*) -> Result<usize, Errno> {
            // SAFETY: forwarded to the caller (see `# Safety`).
            decode(unsafe { imp::$name(nr $(, $a)*) })
        }
    )*};
}

raw_fns! {
    /// `syscall(nr)`: a system call without arguments. Any kernel.
    syscall0();
    /// `syscall(nr, a1)`: a system call with one argument. Any kernel.
    syscall1(a1);
    /// `syscall(nr, a1, a2)`: a system call with two arguments. Any kernel.
    syscall2(a1, a2);
    /// `syscall(nr, a1, a2, a3)`: a system call with three arguments. Any kernel.
    syscall3(a1, a2, a3);
    /// `syscall(nr, a1, .., a4)`: a system call with four arguments. Any kernel.
    syscall4(a1, a2, a3, a4);
    /// `syscall(nr, a1, .., a5)`: a system call with five arguments. Any kernel.
    syscall5(a1, a2, a3, a4, a5);
    /// `syscall(nr, a1, .., a6)`: a system call with six arguments. Any kernel.
    syscall6(a1, a2, a3, a4, a5, a6);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_splits_at_minus_4096() {
        assert_eq!(decode(0), Ok(0));
        assert_eq!(decode(4096), Ok(4096));
        // -4096 is a valid (huge) result, -4095 the largest errno.
        assert_eq!(decode((-4096isize) as usize), Ok((-4096isize) as usize));
        assert_eq!(decode((-4095isize) as usize), Err(Errno::from_raw(4095)));
        assert_eq!(decode((-22isize) as usize), Err(Errno::EINVAL));
        assert_eq!(decode(usize::MAX), Err(Errno::EPERM));
    }
}
