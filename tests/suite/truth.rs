//! What the kernel offers, found without the crate: the truth a skip is checked against.
//!
//! A broken crate must not be able to turn its own failure into a skip ("userfaultfd: ENOSYS",
//! "kernel lacks MOVE"), so this asks the kernel directly: the raw `userfaultfd(2)` and
//! `openat("/dev/userfaultfd")` + `USERFAULTFD_IOC_NEW` through `uffd::sys::raw::syscallN` and
//! the suite's own numbers (`nr.rs`), then `UFFDIO_API` with no features through its own
//! `#[repr(C)]` struct and ioctl number, written out here from the kernel headers. Nothing
//! here calls the crate's `sys`, `abi`, `ioctl` or `Builder`.
//!
//! Only `core`: it runs in the VM `/init` too (and is included by `bad_input`, `stress` and
//! `fd_hygiene` with `#[path]`).

#![allow(dead_code)]

use super::nr::nr;
use uffd::sys::raw::{syscall1, syscall3, syscall4};
use uffd::Errno;

/// `O_RDWR`, asm-generic/fcntl.h (`1 << 1`), the same on every arch the suite runs on.
pub(super) const O_RDWR: usize = 2;
/// `O_CLOEXEC`, asm-generic/fcntl.h (`1 << 19`); not overridden by x86, arm, powerpc, s390,
/// mips, riscv, loongarch (only alpha, parisc, sparc differ).
pub(super) const O_CLOEXEC: usize = 1 << 19;
/// `UFFD_USER_MODE_ONLY`, linux/userfaultfd.h (`1`, since 5.11).
const UFFD_USER_MODE_ONLY: usize = 1;
/// `AT_FDCWD`, linux/fcntl.h.
pub(super) const AT_FDCWD: isize = -100;
/// `UFFD_API`, linux/userfaultfd.h (`(__u64)0xAA`).
pub(super) const UFFD_API: u64 = 0xAA;
/// `UFFDIO_API` = `_IOWR(0xAA, 0x3F, struct uffdio_api)`: direction read|write in the top
/// bits (`3 << 30` with asm-generic/ioctl.h; `(2|4) << 29` on powerpc and mips, the same
/// word), the 24-byte size at bit 16, type 0xAA at bit 8, number 0x3F.
pub(super) const UFFDIO_API: usize = (3 << 30) | (24 << 16) | (0xAA << 8) | 0x3F;
/// `USERFAULTFD_IOC_NEW` = `_IO(0xAA, 0x00)`: no direction bits with asm-generic/ioctl.h;
/// powerpc and mips (`_IOC_NONE` = 1 at bit 29, asm/ioctl.h) set one.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips64"
))]
const USERFAULTFD_IOC_NEW: usize = (1 << 29) | (0xAA << 8);
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips64"
)))]
const USERFAULTFD_IOC_NEW: usize = 0xAA << 8;

/// `struct uffdio_api` (linux/userfaultfd.h): three `__u64`, 24 bytes.
#[repr(C)]
pub(super) struct RawApi {
    pub(super) api: u64,
    pub(super) features: u64,
    pub(super) ioctls: u64,
}
const _: () = assert!(core::mem::size_of::<RawApi>() == 24);

/// The step of the raw open and handshake that failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// `userfaultfd(2)`.
    Userfaultfd,
    /// `openat("/dev/userfaultfd")`.
    OpenDevice,
    /// `ioctl(USERFAULTFD_IOC_NEW)` on the device.
    DeviceNew,
    /// `ioctl(UFFDIO_API)` with no features.
    Api,
}

/// The kernel's answer to a raw open and `UFFDIO_API { api: 0xAA, features: 0 }`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Raw {
    /// A step failed.
    Failed { step: Step, errno: Errno },
    /// The handshake worked: what it reported.
    Offered { features: u64, ioctls: u64 },
}

impl Raw {
    /// The offered feature mask, if the handshake worked.
    pub fn features(self) -> Option<u64> {
        match self {
            Raw::Offered { features, .. } => Some(features),
            Raw::Failed { .. } => None,
        }
    }
    /// The errno of a failed step `step`.
    pub fn failed_at(self, step: Step) -> Option<Errno> {
        match self {
            Raw::Failed { step: s, errno } if s == step => Some(errno),
            _ => None,
        }
    }
}

impl core::fmt::Debug for Raw {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Raw::Failed { step, errno } => write!(f, "raw {step:?}: {errno:?}"),
            Raw::Offered { features, ioctls } => {
                write!(f, "raw features={features:#x} ioctls={ioctls:#x}")
            }
        }
    }
}

fn flags(user_mode_only: bool) -> usize {
    O_CLOEXEC
        | if user_mode_only {
            UFFD_USER_MODE_ONLY
        } else {
            0
        }
}

pub(super) fn close(fd: usize) {
    // SAFETY: `fd` was opened by this module and is used by nothing else.
    let _ = unsafe { syscall1(nr::close, fd) };
}

/// `UFFDIO_API` with no features on the fresh `fd`, which is closed afterwards.
fn handshake(fd: usize) -> Raw {
    let mut api = RawApi {
        api: UFFD_API,
        features: 0,
        ioctls: 0,
    };
    // SAFETY: UFFDIO_API reads and writes exactly one `struct uffdio_api`, which `api` is.
    let r = unsafe { syscall3(nr::ioctl, fd, UFFDIO_API, &mut api as *mut RawApi as usize) };
    close(fd);
    match r {
        Ok(_) => Raw::Offered {
            features: api.features,
            ioctls: api.ioctls,
        },
        Err(errno) => Raw::Failed {
            step: Step::Api,
            errno,
        },
    }
}

/// `userfaultfd(O_CLOEXEC [| UFFD_USER_MODE_ONLY])` and the handshake.
pub fn syscall(user_mode_only: bool) -> Raw {
    // SAFETY: userfaultfd(2) takes flags by value and creates an fd we close.
    match unsafe { syscall1(nr::userfaultfd, flags(user_mode_only)) } {
        Ok(fd) => handshake(fd),
        Err(errno) => Raw::Failed {
            step: Step::Userfaultfd,
            errno,
        },
    }
}

/// `openat(AT_FDCWD, "/dev/userfaultfd", O_RDWR | O_CLOEXEC)`, `USERFAULTFD_IOC_NEW` with
/// the same flags as [`syscall`], and the handshake.
pub fn device(user_mode_only: bool) -> Raw {
    let path = b"/dev/userfaultfd\0";
    // SAFETY: a NUL-terminated path that outlives the call; the fd is closed below.
    let dev = match unsafe {
        syscall4(
            nr::openat,
            AT_FDCWD as usize,
            path.as_ptr() as usize,
            O_RDWR | O_CLOEXEC,
            0,
        )
    } {
        Ok(fd) => fd,
        Err(errno) => {
            return Raw::Failed {
                step: Step::OpenDevice,
                errno,
            }
        }
    };
    // SAFETY: USERFAULTFD_IOC_NEW takes its flags by value and touches no memory.
    let r = unsafe { syscall3(nr::ioctl, dev, USERFAULTFD_IOC_NEW, flags(user_mode_only)) };
    close(dev);
    match r {
        Ok(fd) => handshake(fd),
        Err(errno) => Raw::Failed {
            step: Step::DeviceNew,
            errno,
        },
    }
}

/// The feature mask the kernel offers through whichever path opens (the syscall first).
pub fn offered() -> Option<u64> {
    syscall(false)
        .features()
        .or_else(|| device(false).features())
}

/// `O_RDONLY`, asm-generic/fcntl.h.
pub(super) const O_RDONLY: usize = 0;

/// The running kernel's release as (major, minor), from `/proc/sys/kernel/osrelease` read
/// with our own `openat`/`read` (e.g. `5.10.0-32-amd64` is `(5, 10)`); `None` without procfs.
///
/// For behaviour no feature bit announces (the uffd-wp bit in pagemap entries, 5.13; hugetlb
/// `MADV_DONTNEED`, 5.18; 5.10 offering `PAGEFAULT_FLAG_WP` on architectures that cannot do
/// it): decided here, by the kernel, never by the crate.
pub fn release() -> Option<(u32, u32)> {
    let path = b"/proc/sys/kernel/osrelease\0";
    // SAFETY: a NUL-terminated path that outlives the call; the fd is closed below.
    let fd = unsafe {
        syscall4(
            nr::openat,
            AT_FDCWD as usize,
            path.as_ptr() as usize,
            O_RDONLY | O_CLOEXEC,
            0,
        )
    }
    .ok()?;
    let mut buf = [0u8; 64];
    // SAFETY: `buf` is writable for its length and outlives the call.
    let n = unsafe { syscall3(nr::read, fd, buf.as_mut_ptr() as usize, buf.len()) };
    close(fd);
    let text = core::str::from_utf8(&buf[..n.ok()?]).ok()?;
    let mut parts = text.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether the kernel offers `UFFD_FEATURE_PAGEFAULT_FLAG_WP` on an architecture with no
/// uffd-wp page-table bit: kernels before 6.1 offered it everywhere (5.10 does on aarch64,
/// armv7 and i686, where `CONFIG_HAVE_ARCH_USERFAULTFD_WP` is x86_64's alone), and a
/// write-protected page is then written without any fault. Decided by the architecture, the
/// kernel release and the raw `UFFDIO_API`, none of them the crate's.
pub fn wp_offered_but_unimplemented() -> bool {
    const PAGEFAULT_FLAG_WP: u64 = 1;
    !cfg!(target_arch = "x86_64")
        && release().is_some_and(|r| r < (6, 1))
        && offered().is_some_and(|f| f & PAGEFAULT_FLAG_WP != 0)
}
