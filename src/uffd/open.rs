//! Opening a userfaultfd: [`Builder`], [`OpenStrategy`], feature probing.

use super::Unnegotiated;
use crate::abi::{UFFD_API, UFFD_USER_MODE_ONLY, USERFAULTFD_IOC_NEW};
use crate::error::{Call, Error};
use crate::flags::{Features, Ioctls};
use crate::sys::{self, Errno};

/// Where the file descriptor comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpenStrategy {
    /// `/dev/userfaultfd` (Linux 6.1+; only its file permissions decide), falling back to
    /// `userfaultfd(2)` when the node is missing, not accessible or has no driver (`openat`:
    /// ENOENT, EACCES, EPERM, ENXIO, ENODEV), or does not know `USERFAULTFD_IOC_NEW` (ENOTTY:
    /// QEMU user emulation, or some other device at that path). If the syscall then fails too,
    /// the error names both ([`Error::OpenFailed`], or [`Error::PermissionDenied`] with
    /// `device` set).
    #[default]
    DeviceThenSyscall,
    /// `userfaultfd(2)`, falling back to `/dev/userfaultfd` when the syscall is missing
    /// (ENOSYS: a seccomp filter or a kernel built without it) or refused (EPERM: no
    /// `CAP_SYS_PTRACE` and `vm.unprivileged_userfaultfd = 0`, where access to the device may
    /// still be granted). If the device fails too, the error names both.
    SyscallThenDevice,
    /// `userfaultfd(2)` only.
    SyscallOnly,
    /// `/dev/userfaultfd` only.
    DeviceOnly,
}

/// What the kernel offers, read through a throwaway fd ([`Builder::probe`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Probe {
    /// Every feature the kernel offers (`uffdio_api.features`).
    pub features: Features,
    /// The fd-wide ioctls (`uffdio_api.ioctls`).
    pub ioctls: Ioctls,
}

/// How to open and negotiate a [`Uffd`](super::Uffd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Builder {
    close_on_exec: bool,
    non_blocking: bool,
    user_mode_only: bool,
    strategy: OpenStrategy,
    required: Features,
    optional: Features,
    page_size: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Close-on-exec, blocking, kernel faults too, `/dev/userfaultfd` then the syscall, no
    /// features, page size found at open.
    pub const fn new() -> Self {
        Builder {
            close_on_exec: true,
            non_blocking: false,
            user_mode_only: false,
            strategy: OpenStrategy::DeviceThenSyscall,
            required: Features::empty(),
            optional: Features::empty(),
            page_size: 0,
        }
    }
    /// `O_CLOEXEC` (default on).
    pub const fn close_on_exec(mut self, on: bool) -> Self {
        self.close_on_exec = on;
        self
    }
    /// `O_NONBLOCK` (default off): `read` returns "nothing pending" instead of waiting, and
    /// `poll` works (a blocking userfaultfd always polls `POLLERR`).
    pub const fn non_blocking(mut self, on: bool) -> Self {
        self.non_blocking = on;
        self
    }
    /// `UFFD_USER_MODE_ONLY` (Linux 5.11+, default off): only faults from user mode are
    /// reported; a kernel access to a missing page fails with EFAULT instead. Needs no
    /// privilege, unlike the default (`CAP_SYS_PTRACE` or `vm.unprivileged_userfaultfd=1`).
    /// Before 5.11 opening fails with [`Error::UserModeOnlyUnsupported`] (the kernel answers
    /// EINVAL to the unknown flag), which says what a privileged caller may do instead.
    pub const fn user_mode_only(mut self, on: bool) -> Self {
        self.user_mode_only = on;
        self
    }
    /// Where the fd comes from (default [`OpenStrategy::DeviceThenSyscall`]).
    pub const fn open_strategy(mut self, s: OpenStrategy) -> Self {
        self.strategy = s;
        self
    }
    /// Features that must be granted: opening fails with [`Error::MissingFeatures`] naming
    /// the ones the kernel lacks.
    pub const fn require(mut self, f: Features) -> Self {
        self.required = self.required.union(f);
        self
    }
    /// Features to ask for when the kernel offers them (see [`Uffd::features`](super::Uffd::features)
    /// for what was granted).
    pub const fn request(mut self, f: Features) -> Self {
        self.optional = self.optional.union(f);
        self
    }
    /// The page size to check ranges against (e.g. from `AT_PAGESZ`); by default it is found
    /// with [`sys::page_size`] at open.
    pub const fn page_size(mut self, size: usize) -> Self {
        self.page_size = size;
        self
    }

    /// The flags passed to `userfaultfd(2)` / `USERFAULTFD_IOC_NEW`.
    pub const fn flags(&self) -> u32 {
        let mut f = 0;
        if self.close_on_exec {
            f |= sys::O_CLOEXEC;
        }
        if self.non_blocking {
            f |= sys::O_NONBLOCK;
        }
        if self.user_mode_only {
            f |= UFFD_USER_MODE_ONLY;
        }
        f
    }

    /// `userfaultfd(flags)` or `ioctl(open("/dev/userfaultfd"), USERFAULTFD_IOC_NEW, flags)`,
    /// per the strategy: an fd before the `UFFDIO_API` handshake.
    ///
    /// The syscall since Linux 4.3 (`UFFD_USER_MODE_ONLY` 5.11), the device since 6.1.
    /// EPERM/EACCES become [`Error::PermissionDenied`], whose `Display` names the remedies.
    ///
    /// # References
    /// - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
    pub fn open_unnegotiated(&self) -> Result<Unnegotiated, Error> {
        let page_size = if self.page_size != 0 {
            self.page_size
        } else {
            sys::page_size().map_err(|e| Error::sys(Call::PageSize, e))?
        };
        let fd = self.open_fd()?;
        // SAFETY: `fd` was just created by the kernel and is owned by nobody else.
        Ok(unsafe { Unnegotiated::from_raw_fd(fd, page_size) })
    }

    fn open_fd(&self) -> Result<i32, Error> {
        let flags = self.flags();
        let denied = |call, errno, device| Error::PermissionDenied {
            call,
            errno,
            user_mode_only: self.user_mode_only,
            device,
        };
        // EINVAL from userfaultfd(2) means an unknown flag: with O_CLOEXEC and O_NONBLOCK
        // known since 4.3, that is UFFD_USER_MODE_ONLY on a kernel before 5.11.
        let refused = |e: Errno| match e {
            Errno::EINVAL if self.user_mode_only => Error::UserModeOnlyUnsupported {
                call: Call::Userfaultfd,
            },
            e => Error::sys(Call::Userfaultfd, e),
        };
        let syscall = |device: Option<Errno>| match sys::userfaultfd(flags) {
            Ok(fd) => Ok(fd),
            Err(Errno::EPERM) => Err(denied(Call::Userfaultfd, Errno::EPERM, device)),
            Err(e) => Err(refused(e)),
        };
        let device_failed = |device_call, device, syscall: Error| match syscall {
            Error::Sys {
                call: Call::Userfaultfd,
                errno,
            } => Error::OpenFailed {
                device_call,
                device,
                syscall: errno,
            },
            e => e,
        };
        match self.strategy {
            OpenStrategy::SyscallOnly => syscall(None),
            OpenStrategy::DeviceOnly => match open_device(flags) {
                Ok(fd) => Ok(fd),
                Err((call, e @ (Errno::EACCES | Errno::EPERM))) => Err(denied(call, e, Some(e))),
                Err((call, e)) => Err(Error::sys(call, e)),
            },
            OpenStrategy::DeviceThenSyscall => match open_device(flags) {
                Ok(fd) => Ok(fd),
                Err((call, e)) if falls_back(call, e) => {
                    syscall(Some(e)).map_err(|s| device_failed(call, e, s))
                }
                Err((call, e)) => Err(Error::sys(call, e)),
            },
            OpenStrategy::SyscallThenDevice => match sys::userfaultfd(flags) {
                Ok(fd) => Ok(fd),
                Err(first @ (Errno::ENOSYS | Errno::EPERM)) => match open_device(flags) {
                    Ok(fd) => Ok(fd),
                    Err((_, device)) if first == Errno::EPERM => {
                        Err(denied(Call::Userfaultfd, first, Some(device)))
                    }
                    Err((device_call, device)) => Err(Error::OpenFailed {
                        device_call,
                        device,
                        syscall: first,
                    }),
                },
                Err(e) => Err(refused(e)),
            },
        }
    }

    /// Reads what the kernel offers through a throwaway fd: open, `UFFDIO_API` with no
    /// features, close. (`UFFDIO_API` works once per fd, so the real fd cannot probe.)
    ///
    /// Since Linux 4.3.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn probe(&self) -> Result<Probe, Error> {
        let fd = self.open_unnegotiated()?;
        let api = fd.api(UFFD_API, 0).map_err(|e| Error::sys(Call::Api, e))?;
        Ok(Probe {
            features: Features::from_bits_retain(api.features),
            ioctls: Ioctls::from_bits_retain(api.ioctls),
        })
    }

    /// Opens and negotiates, asking for the required features plus the requested ones the
    /// kernel grants.
    ///
    /// One open and one `UFFDIO_API` when the kernel grants everything asked for. Otherwise
    /// (EINVAL: a feature is not offered; EPERM: `EVENT_FORK` without `CAP_SYS_PTRACE`) it
    /// reads what is offered through a throwaway fd ([`probe`](Self::probe)), fails with
    /// [`Error::MissingFeatures`] if a required one is missing, and asks again on the same fd
    /// (a refused `UFFDIO_API` leaves it unnegotiated) without the requested features the
    /// kernel lacks or refuses. A refused required feature is
    /// [`Error::FeatureNotPermitted`], which names it and `CAP_SYS_PTRACE`.
    /// [`Uffd::features`](super::Uffd::features) says what was granted.
    ///
    /// Since Linux 4.3 (each feature has its own minimum version, see [`Features`]).
    ///
    /// # Safety
    /// The [capability promise](super::Uffd#the-capability): for as long as the returned fd or
    /// a duplicate of it is open, no range its range operations (`copy`, `zeropage`,
    /// `continue_`, `poison`, `writeprotect`, `wake`) are applied to holds memory a Rust value
    /// relies on. The kernel lets them reach every range of this process registered with *any*
    /// userfaultfd, including ones other code (another crate, a C library) registered; ranges
    /// added with [`Uffd::register`](super::Uffd::register) are covered by its own promise.
    /// The `uffd-composition` test crate (`tests/composition/`) shows the program this makes
    /// impossible: another sound crate (userfaultfd 0.9) registers a page a `Vec` owns, and a
    /// safe `copy` through a userfaultfd that registered nothing writes into it. Without
    /// `unsafe` it does not compile:
    ///
    /// ```compile_fail,E0133
    /// let mine = uffd::Uffd::builder().create();
    /// ```
    ///
    /// # References
    /// - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub unsafe fn create(&self) -> Result<super::Uffd, Error> {
        let fd = self.open_unnegotiated()?;
        let all = self.required | self.optional;
        match fd.api(UFFD_API, all.bits()) {
            Ok(api) => return Ok(fd.into_negotiated(all, &api)),
            // A feature not offered, or EVENT_FORK refused: find out which below.
            Err(Errno::EINVAL | Errno::EPERM) => {}
            Err(e) => return Err(Error::sys(Call::Api, e)),
        }
        let available = self.probe()?.features;
        let missing = self.required.difference(available);
        if !missing.is_empty() {
            return Err(Error::MissingFeatures { missing, available });
        }
        let mut ask = self.required | (self.optional & available);
        loop {
            match fd.api(UFFD_API, ask.bits()) {
                Ok(api) => return Ok(fd.into_negotiated(ask, &api)),
                Err(errno @ Errno::EPERM) if ask.contains(Features::EVENT_FORK) => {
                    if self.required.contains(Features::EVENT_FORK) {
                        return Err(Error::FeatureNotPermitted {
                            features: Features::EVENT_FORK,
                            errno,
                        });
                    }
                    ask.remove(Features::EVENT_FORK);
                }
                Err(e) => return Err(Error::sys(Call::Api, e)),
            }
        }
    }
}

/// Whether [`OpenStrategy::DeviceThenSyscall`] tries the syscall after the device step `call`
/// failed with `e`: the node is missing (ENOENT), not accessible (EACCES, EPERM), has no driver
/// behind it (ENXIO, ENODEV: a stale node on a kernel before 6.1), or the ioctl is unknown to
/// whatever answered (ENOTTY: QEMU user emulation, another device at that path). Anything else
/// (EMFILE, EINVAL for bad flags, ...) would fail the syscall the same way and is reported as is.
pub(crate) const fn falls_back(call: Call, e: Errno) -> bool {
    match call {
        Call::OpenDevice => matches!(
            e,
            Errno::ENOENT | Errno::EACCES | Errno::EPERM | Errno::ENXIO | Errno::ENODEV
        ),
        Call::DeviceNew => matches!(e, Errno::ENOTTY),
        _ => false,
    }
}

/// `/dev/userfaultfd` → `USERFAULTFD_IOC_NEW`; the device fd is closed either way.
fn open_device(flags: u32) -> Result<i32, (Call, Errno)> {
    // SAFETY: AT_FDCWD names no descriptor of anyone's (and the path is absolute).
    let dev = unsafe {
        sys::openat(
            sys::AT_FDCWD,
            c"/dev/userfaultfd",
            sys::O_RDWR | sys::O_CLOEXEC,
            0,
        )
    }
    .map_err(|e| (Call::OpenDevice, e))?;
    // SAFETY: `dev` is /dev/userfaultfd; USERFAULTFD_IOC_NEW takes its flags by value and
    // touches no memory.
    let r = unsafe { sys::ioctl(dev, USERFAULTFD_IOC_NEW, flags as usize) };
    // SAFETY: `dev` was opened above and is used by nothing else.
    let _ = unsafe { sys::close(dev) };
    r.map(|fd| fd as i32).map_err(|e| (Call::DeviceNew, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_then_syscall_fallback_decision() {
        for e in [
            Errno::ENOENT,
            Errno::EACCES,
            Errno::EPERM,
            Errno::ENXIO,
            Errno::ENODEV,
        ] {
            assert!(falls_back(Call::OpenDevice, e), "openat {e:?}");
        }
        // QEMU user (and any device that is not the misc userfaultfd) answers ENOTTY.
        assert!(falls_back(Call::DeviceNew, Errno::ENOTTY));
        // The real device's own errors are reported, not papered over by the syscall.
        for e in [Errno::EINVAL, Errno::EMFILE, Errno::ENOMEM, Errno::EPERM] {
            assert!(!falls_back(Call::DeviceNew, e), "ioctl {e:?}");
        }
        for e in [Errno::EMFILE, Errno::ENFILE, Errno::ENOTTY, Errno::EINVAL] {
            assert!(!falls_back(Call::OpenDevice, e), "openat {e:?}");
        }
        assert!(!falls_back(Call::Userfaultfd, Errno::ENOENT));
    }

    #[test]
    fn both_failures_are_reported() {
        let e = Error::OpenFailed {
            device_call: Call::DeviceNew,
            device: Errno::ENOTTY,
            syscall: Errno::ENOSYS,
        };
        assert_eq!(e.errno(), Some(Errno::ENOSYS));
        struct Buf([u8; 256], usize);
        impl core::fmt::Write for Buf {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                self.0[self.1..self.1 + s.len()].copy_from_slice(s.as_bytes());
                self.1 += s.len();
                Ok(())
            }
        }
        let mut b = Buf([0; 256], 0);
        core::fmt::Write::write_fmt(&mut b, format_args!("{e}")).unwrap();
        let s = core::str::from_utf8(&b.0[..b.1]).unwrap();
        for want in ["DeviceNew", "ENOTTY", "Userfaultfd", "ENOSYS"] {
            assert!(s.contains(want), "{want} missing in {s}");
        }
    }
}
