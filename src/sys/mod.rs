//! Raw Linux system calls, inline, without libc: the only place in the crate that issues one.
//!
//! [`raw`] is the bare `syscall0..6` primitive (number and word arguments in, [`Errno`] out);
//! the functions here wrap the calls this crate issues, each `#[inline(always)]` so that an
//! ioctl costs the syscall instruction and a few moves, nothing more.
//!
//! Per-architecture facts (syscall numbers, `O_*` values, the errno values that differ) live in
//! one file per architecture, chosen by `cfg(target_arch)`. The instruction itself comes from
//! the `syscalls` crate, except on powerpc, powerpc64, s390x and mips64, where that crate needs
//! nightly and the file carries its own `asm!`.

#![allow(non_upper_case_globals)]

mod errno;
mod fcntl;
mod mm;
mod page;
mod poll;
pub mod raw;
mod resource;
mod socket;

pub use errno::Errno;
pub use fcntl::*;
pub use mm::*;
pub use page::*;
pub use poll::*;
pub use resource::*;
pub use socket::*;

use core::ffi::CStr;

#[cfg(target_arch = "aarch64")]
#[path = "aarch64.rs"]
mod arch;
#[cfg(target_arch = "arm")]
#[path = "arm.rs"]
mod arch;
#[cfg(target_arch = "loongarch64")]
#[path = "loongarch64.rs"]
mod arch;
#[cfg(target_arch = "mips64")]
#[path = "mips64.rs"]
mod arch;
#[cfg(target_arch = "powerpc")]
#[path = "powerpc.rs"]
mod arch;
#[cfg(target_arch = "powerpc64")]
#[path = "powerpc64.rs"]
mod arch;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64.rs"]
mod arch;
#[cfg(target_arch = "s390x")]
#[path = "s390x.rs"]
mod arch;
#[cfg(target_arch = "x86")]
#[path = "x86.rs"]
mod arch;
#[cfg(target_arch = "x86_64")]
#[path = "x86_64.rs"]
mod arch;
#[cfg(not(any(
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "loongarch64",
    target_arch = "mips64",
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "riscv64",
    target_arch = "s390x",
    target_arch = "x86",
    target_arch = "x86_64",
)))]
compile_error!("uffd::sys: this target_arch has no syscall table yet (add src/sys/<arch>.rs)");

#[cfg(not(target_pointer_width = "32"))]
pub use arch::__NR_mmap;
#[cfg(target_pointer_width = "32")]
pub use arch::__NR_mmap2;
pub use arch::{
    __NR_close, __NR_fcntl, __NR_getrusage, __NR_ioctl, __NR_madvise, __NR_mincore, __NR_mremap,
    __NR_munmap, __NR_openat, __NR_ppoll, __NR_pread64, __NR_read, __NR_recvmsg, __NR_sendmsg,
    __NR_userfaultfd, MMAP_NR, O_CLOEXEC, O_NONBLOCK,
};

/// Defines `syscall0..5` over an arch's `syscall6`, passing 0 in the unused registers.
#[allow(unused_macros)]
macro_rules! via_syscall6 {
    () => {
        #[inline(always)]
        pub(super) unsafe fn syscall0(n: usize) -> usize {
            // SAFETY: forwarded contract; the extra registers hold 0, which the kernel ignores.
            unsafe { syscall6(n, 0, 0, 0, 0, 0, 0) }
        }
        #[inline(always)]
        pub(super) unsafe fn syscall1(n: usize, a1: usize) -> usize {
            // SAFETY: as above.
            unsafe { syscall6(n, a1, 0, 0, 0, 0, 0) }
        }
        #[inline(always)]
        pub(super) unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> usize {
            // SAFETY: as above.
            unsafe { syscall6(n, a1, a2, 0, 0, 0, 0) }
        }
        #[inline(always)]
        pub(super) unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> usize {
            // SAFETY: as above.
            unsafe { syscall6(n, a1, a2, a3, 0, 0, 0) }
        }
        #[inline(always)]
        pub(super) unsafe fn syscall4(
            n: usize,
            a1: usize,
            a2: usize,
            a3: usize,
            a4: usize,
        ) -> usize {
            // SAFETY: as above.
            unsafe { syscall6(n, a1, a2, a3, a4, 0, 0) }
        }
        #[inline(always)]
        pub(super) unsafe fn syscall5(
            n: usize,
            a1: usize,
            a2: usize,
            a3: usize,
            a4: usize,
            a5: usize,
        ) -> usize {
            // SAFETY: as above.
            unsafe { syscall6(n, a1, a2, a3, a4, a5, 0) }
        }
    };
}
#[allow(unused_imports)]
use via_syscall6;

/// powerpc and powerpc64: `sc`, with CR0.SO turned into the generic `-errno` word.
#[allow(unused_macros)]
macro_rules! ppc_sc {
    () => {
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
                core::arch::asm!(
                    "sc",
                    "bns 2f",
                    "neg 3, 3",
                    "2:",
                    inlateout("r0") n => _,
                    inlateout("r3") a1 => ret,
                    inlateout("r4") a2 => _,
                    inlateout("r5") a3 => _,
                    inlateout("r6") a4 => _,
                    inlateout("r7") a5 => _,
                    inlateout("r8") a6 => _,
                    lateout("r9") _,
                    lateout("r10") _,
                    lateout("r11") _,
                    lateout("r12") _,
                    lateout("cr0") _,
                    lateout("ctr") _,
                    lateout("xer") _,
                    options(nostack)
                );
            }
            ret
        }
        super::via_syscall6!();
    };
}
#[allow(unused_imports)]
use ppc_sc;

/// `AT_FDCWD`: "relative to the current directory" for `*at` calls (-100 on every arch).
pub const AT_FDCWD: i32 = -100;
/// `O_RDONLY` (0 on every arch).
pub const O_RDONLY: u32 = 0;
/// `O_RDWR` (2 on every arch).
pub const O_RDWR: u32 = 2;
/// `userfaultfd(flags)`: creates a userfaultfd, returning the new file descriptor.
///
/// `flags` is `O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY` (the last since Linux 5.11). Since
/// Linux 4.3. Without `UFFD_USER_MODE_ONLY` the caller needs `CAP_SYS_PTRACE` or
/// `vm.unprivileged_userfaultfd = 1` (EPERM otherwise).
///
/// Safe because it returns a bare number: the capability it names (see
/// [`Uffd`](crate::Uffd)'s "The capability") is only exercised through `unsafe` calls
/// ([`ioctl`], or adopting it with [`Uffd::from_raw_parts`](crate::Uffd::from_raw_parts)). The
/// caller owns the descriptor and closes it.
///
/// # References
/// - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
#[inline(always)]
pub fn userfaultfd(flags: u32) -> Result<i32, Errno> {
    // SAFETY: userfaultfd reads no memory; it only creates a file descriptor.
    unsafe { raw::syscall1(__NR_userfaultfd, flags as usize) }.map(|fd| fd as i32)
}

/// `openat(dirfd, path, flags, mode)`: opens a file, returning the new file descriptor.
///
/// Available on every kernel this crate supports (since Linux 2.6.16).
///
/// # Safety
/// `dirfd` must be [`AT_FDCWD`] or an open directory descriptor the caller may use (I/O
/// safety), unless `path` is absolute (then the kernel ignores it).
///
/// # References
/// - [`openat(2)`](https://man7.org/linux/man-pages/man2/openat.2.html)
#[inline(always)]
pub unsafe fn openat(dirfd: i32, path: &CStr, flags: u32, mode: u32) -> Result<i32, Errno> {
    // SAFETY: `path` is a NUL-terminated string that lives across the call; the kernel only
    // reads it. `dirfd` is the caller's to justify (see `# Safety`).
    unsafe {
        raw::syscall4(
            __NR_openat,
            dirfd as isize as usize,
            path.as_ptr() as usize,
            flags as usize,
            mode as usize,
        )
    }
    .map(|fd| fd as i32)
}

/// `ioctl(fd, request, arg)`: a device-specific request.
///
/// Available on every kernel.
///
/// # Safety
/// What the kernel does with `arg` depends on `fd` and `request`: if it is a pointer, it must be
/// valid for the reads and writes that request performs (for the `UFFDIO_*` requests, one
/// properly initialised struct of the size encoded in `request`).
///
/// # References
/// - [`ioctl(2)`](https://man7.org/linux/man-pages/man2/ioctl.2.html)
/// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
#[inline(always)]
pub unsafe fn ioctl(fd: i32, request: u32, arg: usize) -> Result<usize, Errno> {
    // SAFETY: forwarded to the caller (see `# Safety`).
    unsafe { raw::syscall3(__NR_ioctl, fd as isize as usize, request as usize, arg) }
}

/// `read(fd, buf, len)`: reads up to `buf.len()` bytes, returning how many were read.
///
/// Available on every kernel.
///
/// # Safety
/// `fd` must be an open file descriptor the caller may use for this call (I/O safety: not one
/// closed, or owned by other code that does not lend it). A stale number may name another
/// component's new descriptor, and reading from it would take that component's data.
///
/// A bare number is not a descriptor a safe program may read:
///
/// ```compile_fail,E0133
/// let mut buf = [0u8; 32];
/// let _ = uffd::sys::read(3, &mut buf);
/// ```
///
/// # References
/// - [`read(2)`](https://man7.org/linux/man-pages/man2/read.2.html)
#[inline(always)]
pub unsafe fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which we borrow mutably;
    // `fd` is the caller's to justify.
    unsafe {
        raw::syscall3(
            __NR_read,
            fd as isize as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    }
}

/// `pread64(fd, buf, len, offset)`: reads up to `buf.len()` bytes at file offset `offset`
/// without moving the file position, returning how many were read (0 at the end of the file).
///
/// Available on every kernel (since Linux 2.1.60). Unlike `lseek` + `read`, it is safe to use
/// on a descriptor shared with other threads or a forked child. On 32-bit ABIs the 64-bit offset
/// takes two argument registers: i386 passes them as the next two (low word first); arm EABI
/// and powerpc put them in an even/odd register pair (skipping one register) in memory word
/// order.
///
/// # Safety
/// `fd` must be an open file descriptor the caller may use for this call (I/O safety: not one
/// closed, or owned by other code that does not lend it). A stale number may name another
/// component's new descriptor, and reading from it would take that component's data.
///
/// # References
/// - [`pread(2)`](https://man7.org/linux/man-pages/man2/pread.2.html)
/// - [`syscall(2)`](https://man7.org/linux/man-pages/man2/syscall.2.html) (register pairs)
#[inline(always)]
pub unsafe fn pread64(fd: i32, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    let (fd, ptr, len) = (fd as isize as usize, buf.as_mut_ptr() as usize, buf.len());
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which we borrow mutably;
    // the offset words are laid out as this ABI's `pread64` expects (see above); `fd` is the
    // caller's to justify.
    unsafe { pread64_words(fd, ptr, len, offset) }
}

#[cfg(target_pointer_width = "64")]
#[inline(always)]
unsafe fn pread64_words(fd: usize, ptr: usize, len: usize, offset: u64) -> Result<usize, Errno> {
    // SAFETY: forwarded from `pread64`.
    unsafe { raw::syscall4(__NR_pread64, fd, ptr, len, offset as usize) }
}

#[cfg(target_arch = "x86")]
#[inline(always)]
unsafe fn pread64_words(fd: usize, ptr: usize, len: usize, offset: u64) -> Result<usize, Errno> {
    let (lo, hi) = (offset as u32 as usize, (offset >> 32) as usize);
    // SAFETY: forwarded from `pread64`; i386 takes the offset in esi (low) and edi (high).
    unsafe { raw::syscall5(__NR_pread64, fd, ptr, len, lo, hi) }
}

#[cfg(any(target_arch = "arm", target_arch = "powerpc"))]
#[inline(always)]
unsafe fn pread64_words(fd: usize, ptr: usize, len: usize, offset: u64) -> Result<usize, Errno> {
    let (lo, hi) = (offset as u32 as usize, (offset >> 32) as usize);
    let (first, second) = if cfg!(target_endian = "big") {
        (hi, lo)
    } else {
        (lo, hi)
    };
    // SAFETY: forwarded from `pread64`; the offset goes in the register pair after one unused
    // register (arm EABI r4:r5, powerpc r7:r8), in memory word order.
    unsafe { raw::syscall6(__NR_pread64, fd, ptr, len, 0, first, second) }
}

/// `close(fd)`: closes a file descriptor.
///
/// Available on every kernel. The descriptor is gone even when this returns an error (Linux
/// never leaves it open), so it must not be retried.
///
/// # Safety
/// The caller must own `fd`: nothing else may use or close it afterwards (I/O safety).
///
/// # References
/// - [`close(2)`](https://man7.org/linux/man-pages/man2/close.2.html)
#[inline(always)]
pub unsafe fn close(fd: i32) -> Result<(), Errno> {
    // SAFETY: close reads no memory; ownership of `fd` is the caller's promise.
    unsafe { raw::syscall1(__NR_close, fd as isize as usize) }.map(|_| ())
}

/// `read(fd, msgs, n * sizeof(struct uffd_msg))`: reads userfaultfd messages into `msgs`,
/// returning how many were read (each `read` returns as many as are pending, up to
/// `msgs.len()`).
///
/// Since Linux 4.3. EAGAIN with `O_NONBLOCK` when nothing is pending, EINVAL before the
/// `UFFDIO_API` handshake or for an empty buffer, EINTR on a signal.
///
/// # Safety
/// `fd` must be an open file descriptor the caller may use for this call (I/O safety: not one
/// closed, or owned by other code that does not lend it). A stale number may name another
/// component's new descriptor, and reading from it would take that component's data.
/// Reading a userfaultfd takes its messages: a stale number could take another handler's
/// faults and leave its faulting threads blocked.
///
/// # References
/// - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
#[inline(always)]
pub unsafe fn read_msgs(fd: i32, msgs: &mut [crate::abi::uffd_msg]) -> Result<usize, Errno> {
    let size = core::mem::size_of::<crate::abi::uffd_msg>();
    // SAFETY: the kernel writes at most `msgs.len() * size` bytes into `msgs`, borrowed
    // mutably; `uffd_msg` is plain integers (packed, every bit pattern valid); `fd` is the
    // caller's to justify.
    let n = unsafe {
        raw::syscall3(
            __NR_read,
            fd as isize as usize,
            msgs.as_mut_ptr() as usize,
            core::mem::size_of_val(msgs),
        )
    }?;
    Ok(n / size)
}
