//! The crate's error type: [`Error`], with the call that failed ([`Call`]) and range validation
//! failures ([`RangeError`]).

use crate::flags::Features;
use crate::sys::Errno;
use core::fmt;

/// The operation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Call {
    /// `userfaultfd(2)`.
    Userfaultfd,
    /// `openat("/dev/userfaultfd")`.
    OpenDevice,
    /// `ioctl(USERFAULTFD_IOC_NEW)` on `/dev/userfaultfd`.
    DeviceNew,
    /// `UFFDIO_API`.
    Api,
    /// `UFFDIO_REGISTER`.
    Register,
    /// `UFFDIO_UNREGISTER`.
    Unregister,
    /// `UFFDIO_WAKE`.
    Wake,
    /// `UFFDIO_COPY`.
    Copy,
    /// `UFFDIO_ZEROPAGE`.
    Zeropage,
    /// `UFFDIO_WRITEPROTECT`.
    Writeprotect,
    /// `UFFDIO_CONTINUE`.
    Continue,
    /// `UFFDIO_POISON`.
    Poison,
    /// `UFFDIO_MOVE`.
    Move,
    /// `read(2)` of events.
    Read,
    /// `ppoll(2)`.
    Poll,
    /// Finding the page size (`mincore(2)`).
    PageSize,
    /// Reading `/proc/self/fdinfo/<fd>` ([`Uffd::from_received_fd`](crate::Uffd::from_received_fd)).
    FdInfo,
    /// `fcntl(F_GETFL)`/`fcntl(F_SETFL)` ([`Uffd::set_non_blocking`](crate::Uffd::set_non_blocking)).
    Fcntl,
}

/// Why a range was rejected before any system call (the kernel's documented rules: start and
/// length aligned to the range's page size, length non-zero, no wrap-around).
///
/// The page size named is the one the range was checked against: the base page size for
/// [`Uffd`](crate::Uffd)'s own operations, the huge page size for those of
/// [`Hugetlb`](crate::Hugetlb).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RangeError {
    /// Length 0.
    Empty,
    /// `start + len` wraps around the address space.
    Overflow,
    /// The start (or destination) address is not aligned to the page size.
    UnalignedStart {
        /// The address.
        start: usize,
        /// The page size it must be a multiple of.
        page_size: usize,
    },
    /// The length is not a multiple of the page size.
    UnalignedLen {
        /// The length.
        len: usize,
        /// The page size it must be a multiple of.
        page_size: usize,
    },
    /// The source address of `UFFDIO_MOVE` is not aligned to the page size.
    UnalignedSrc {
        /// The address.
        src: usize,
        /// The page size it must be a multiple of.
        page_size: usize,
    },
}

/// Everything that can go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    Sys {
        /// Which.
        call: Call,
        /// With what.
        errno: Errno,
    },
    /// Creating the userfaultfd was not permitted (EPERM from `userfaultfd(2)`, or EACCES/EPERM
    /// opening `/dev/userfaultfd` when only the device was to be tried). `Display` says the
    /// remedies.
    PermissionDenied {
        /// The call that refused.
        call: Call,
        /// Its errno.
        errno: Errno,
        /// Whether `UFFD_USER_MODE_ONLY` was asked for.
        user_mode_only: bool,
        /// What opening `/dev/userfaultfd` gave, if it was tried and failed.
        device: Option<Errno>,
    },
    /// Both ways of creating a userfaultfd failed ([`OpenStrategy::DeviceThenSyscall`]):
    /// `/dev/userfaultfd` could not be used (missing, not accessible, or not answering
    /// `USERFAULTFD_IOC_NEW`), and then `userfaultfd(2)` failed too (other than with EPERM,
    /// which is [`Error::PermissionDenied`]). [`Error::errno`] is the syscall's.
    ///
    /// [`OpenStrategy::DeviceThenSyscall`]: crate::OpenStrategy::DeviceThenSyscall
    OpenFailed {
        /// Which device step failed ([`Call::OpenDevice`] or [`Call::DeviceNew`]).
        device_call: Call,
        /// Its errno.
        device: Errno,
        /// What `userfaultfd(2)` gave afterwards.
        syscall: Errno,
    },
    /// `UFFD_USER_MODE_ONLY` was asked for ([`Builder::user_mode_only`]) and the kernel does
    /// not know the flag: `userfaultfd(2)` answers EINVAL before Linux 5.11 (5.10 LTS, Amazon
    /// Linux 2, Debian 11). [`Error::errno`] is EINVAL.
    ///
    /// The crate never retries without the flag by itself: a userfaultfd without it also
    /// reports faults that the kernel raises on the process's behalf (`read(2)` into a
    /// registered range, a `copy_from_user` in any system call), which then block in the
    /// kernel until the handler resolves them, and creating one needs `CAP_SYS_PTRACE` or
    /// `vm.unprivileged_userfaultfd = 1`. A caller that has that privilege and whose handler
    /// serves every fault of its ranges (as a handler for user faults normally does) gets the
    /// same service on such a kernel with `user_mode_only(false)`; an unprivileged caller gets
    /// no userfaultfd there at all.
    ///
    /// [`Builder::user_mode_only`]: crate::Builder::user_mode_only
    UserModeOnlyUnsupported {
        /// The call that refused the flag ([`Call::Userfaultfd`]).
        call: Call,
    },
    /// Features the caller required are not offered by the running kernel.
    MissingFeatures {
        /// Required but not offered.
        missing: Features,
        /// What the kernel offers.
        available: Features,
    },
    /// Required features that the kernel offers but refuses to this process: `EVENT_FORK`
    /// without `CAP_SYS_PTRACE` (`UFFDIO_API` gives EPERM).
    FeatureNotPermitted {
        /// The refused features.
        features: Features,
        /// What `UFFDIO_API` gave.
        errno: Errno,
    },
    /// A range was rejected before any system call.
    Range(RangeError),
    /// A page size that cannot be one: not a power of two, or smaller than the base page
    /// ([`Uffd::hugetlb`](crate::Uffd::hugetlb)).
    BadPageSize(usize),
    /// `EEXIST`: a range operation found a page already present at the start of its range and
    /// did nothing. Another thread (or a background fill) resolved the fault first: wake the
    /// range if the faulter may still wait. (A multi-page operation that reaches a present
    /// page *after* some progress stops with [`Error::Again`] instead.)
    Exists {
        /// Which operation.
        call: Call,
    },
    /// `EAGAIN`: a range operation stopped after `done` bytes (0 or more) because the address
    /// space is changing (a non-cooperative event such as REMOVE, UNMAP, REMAP or FORK is
    /// unread) or it met a present page part-way. Read pending events, then retry the rest
    /// (`start + done ..`).
    Again {
        /// Which operation.
        call: Call,
        /// Bytes done (from the start of the range) before it stopped.
        done: usize,
    },
    /// A range operation stopped part-way: `done` bytes (more than 0) were handled, then
    /// `errno` stopped it (other than EAGAIN, which is [`Error::Again`]). Nothing done at all
    /// is [`Error::Sys`]. No Linux kernel (4.3 to 7.2) reports this: it returns `EAGAIN`
    /// for every stop part-way, whatever the cause; the variant keeps the decoding of the
    /// result field total.
    Partial {
        /// Which operation.
        call: Call,
        /// Bytes done before it stopped (never 0).
        done: usize,
        /// What stopped it.
        errno: Errno,
    },
    /// `ppoll` reported `POLLERR`: a userfaultfd without `O_NONBLOCK` always does (or the
    /// handshake is missing).
    PollError,
    /// The fd is not a userfaultfd (its `/proc/self/fdinfo` entry has no `API:` line).
    NotUserfaultfd(i32),
    /// The userfaultfd has not done the `UFFDIO_API` handshake yet (its `/proc/self/fdinfo`
    /// entry shows no negotiated features): use [`Unnegotiated`](crate::Unnegotiated).
    NotNegotiated(i32),
    /// A message carried an event code this crate does not know.
    UnknownEvent(u8),
    /// A `UFFD_EVENT_FORK` message carried an impossible file descriptor.
    BadForkFd(u32),
}

impl Error {
    /// The errno behind the error, if a system call gave one.
    pub const fn errno(&self) -> Option<Errno> {
        match *self {
            Error::Sys { errno, .. }
            | Error::PermissionDenied { errno, .. }
            | Error::Partial { errno, .. }
            | Error::FeatureNotPermitted { errno, .. }
            | Error::OpenFailed { syscall: errno, .. } => Some(errno),
            Error::Exists { .. } => Some(Errno::EEXIST),
            Error::UserModeOnlyUnsupported { .. } => Some(Errno::EINVAL),
            Error::Again { .. } => Some(Errno::EAGAIN),
            _ => None,
        }
    }
    /// Bytes done before a range operation stopped (0 for every other error).
    pub const fn done(&self) -> usize {
        match *self {
            Error::Partial { done, .. } | Error::Again { done, .. } => done,
            _ => 0,
        }
    }
    /// The partial-progress decoding of range operations, for the fuzzer only (built with
    /// `--cfg fuzzing`, as `cargo fuzz` does): not part of the API.
    #[cfg(fuzzing)]
    #[doc(hidden)]
    pub fn from_range_result(
        call: Call,
        ret: Result<usize, Errno>,
        field: i64,
        len: usize,
    ) -> Result<(), Error> {
        progress(call, ret, field, len)
    }
    pub(crate) const fn sys(call: Call, errno: Errno) -> Self {
        Error::Sys { call, errno }
    }
}

impl From<RangeError> for Error {
    fn from(e: RangeError) -> Self {
        Error::Range(e)
    }
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RangeError::Empty => f.write_str("empty range"),
            RangeError::Overflow => f.write_str("range wraps around the address space"),
            RangeError::UnalignedStart { start, page_size } => {
                write!(
                    f,
                    "start {start:#x} is not aligned to the page size {page_size:#x}"
                )
            }
            RangeError::UnalignedLen { len, page_size } => {
                write!(
                    f,
                    "length {len:#x} is not a multiple of the page size {page_size:#x}"
                )
            }
            RangeError::UnalignedSrc { src, page_size } => {
                write!(
                    f,
                    "source {src:#x} is not aligned to the page size {page_size:#x}"
                )
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Sys {
                call: Call::OpenDevice,
                errno: Errno::ENOENT,
            } => f.write_str(
                "OpenDevice: ENOENT: no /dev/userfaultfd (it exists since Linux 6.1); \
                 OpenStrategy::DeviceThenSyscall falls back to userfaultfd(2)",
            ),
            Error::Sys { call, errno } => {
                write!(f, "{call:?}: {errno}")?;
                errno_meaning(f, call, errno)
            }
            Error::PermissionDenied {
                call,
                errno,
                user_mode_only,
                device,
            } => {
                write!(f, "{call:?}: {errno}: not permitted to create a userfaultfd")?;
                if let Some(d) = device {
                    write!(f, " (/dev/userfaultfd: {d:?})")?;
                }
                f.write_str(". Remedies: ")?;
                if !user_mode_only {
                    f.write_str(
                        "ask for user-mode faults only (Builder::user_mode_only(true), \
                         UFFD_USER_MODE_ONLY, Linux 5.11+); or `sysctl -w \
                         vm.unprivileged_userfaultfd=1`; or run with CAP_SYS_PTRACE; or ",
                    )?;
                }
                f.write_str(
                    "give this user read/write access to /dev/userfaultfd (Linux 6.1+, e.g. a \
                     group and mode 0660) and open with OpenStrategy::DeviceThenSyscall",
                )
            }
            Error::OpenFailed {
                device_call,
                device,
                syscall,
            } => write!(
                f,
                "no userfaultfd: /dev/userfaultfd ({device_call:?}): {device}; then Userfaultfd: {syscall}"
            ),
            Error::UserModeOnlyUnsupported { call } => write!(
                f,
                "{call:?}: EINVAL: this kernel has no UFFD_USER_MODE_ONLY (it needs Linux 5.11 or \
                 newer). Without the flag a userfaultfd also receives faults the kernel raises \
                 (e.g. read(2) into a registered range) and needs CAP_SYS_PTRACE or \
                 vm.unprivileged_userfaultfd=1: a privileged caller whose handler serves those \
                 too can open with Builder::user_mode_only(false); the crate does not drop the \
                 flag by itself"
            ),
            Error::MissingFeatures { missing, available } => write!(
                f,
                "the kernel lacks required userfaultfd features {missing:?} (it offers {available:?})"
            ),
            Error::FeatureNotPermitted { features, errno } => write!(
                f,
                "UFFDIO_API: {errno}: the kernel offers {features:?} but refuses it to this \
                 process: UFFD_FEATURE_EVENT_FORK needs CAP_SYS_PTRACE (request() it instead of \
                 require() to go on without it)"
            ),
            Error::Range(e) => write!(f, "invalid range: {e}"),
            Error::BadPageSize(p) => write!(
                f,
                "{p:#x} is not a page size (a power of two, at least the base page size)"
            ),
            Error::Exists { call } => write!(f, "{call:?}: EEXIST: a page is already present"),
            Error::Again { call, done } => write!(
                f,
                "{call:?}: EAGAIN after {done} bytes: read pending events, then retry the rest"
            ),
            Error::Partial { call, done, errno } => {
                write!(f, "{call:?}: stopped after {done} bytes: {errno}")?;
                errno_meaning(f, call, errno)
            }
            Error::PollError => f.write_str(
                "ppoll: POLLERR (a userfaultfd without O_NONBLOCK always reports it)",
            ),
            Error::NotUserfaultfd(fd) => write!(f, "fd {fd} is not a userfaultfd"),
            Error::NotNegotiated(fd) => {
                write!(f, "userfaultfd {fd} has not done the UFFDIO_API handshake")
            }
            Error::UnknownEvent(e) => write!(f, "unknown userfaultfd event {e:#x}"),
            Error::BadForkFd(fd) => write!(f, "UFFD_EVENT_FORK with impossible fd {fd}"),
        }
    }
}

/// What an errno usually means for the call, after it: ENOENT from a range operation, EBUSY
/// and EINVAL from `UFFDIO_REGISTER` (`userfaultfd_register` in `fs/userfaultfd.c`).
fn errno_meaning(f: &mut fmt::Formatter<'_>, call: Call, errno: Errno) -> fmt::Result {
    match (call, errno) {
        (Call::Register, Errno::EBUSY) => {
            return f.write_str(" (part of the range is registered with another userfaultfd)")
        }
        (Call::Register, Errno::EINVAL) => {
            return f.write_str(
                " (a page of the range is not mapped, the range is not page-aligned, or the \
                 memory does not support the mode asked for)",
            )
        }
        _ => {}
    }
    let range_op = matches!(
        call,
        Call::Copy
            | Call::Zeropage
            | Call::Continue
            | Call::Poison
            | Call::Writeprotect
            | Call::Move
    );
    if range_op && errno == Errno::ENOENT {
        f.write_str(
            " (the range is not registered with a userfaultfd, or was unmapped or moved: \
             see REMAP/UNMAP events)",
        )?;
    }
    Ok(())
}

#[cfg(all(feature = "std", target_os = "linux"))]
impl std::error::Error for Error {}

#[cfg(all(feature = "std", target_os = "linux"))]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e.errno() {
            Some(errno) => std::io::Error::from_raw_os_error(errno.raw()),
            None => std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        }
    }
}

/// Decodes a range operation: the ioctl's result and the struct's result field (`copy`,
/// `zeropage`, `mapped`, `updated`, `move`), which the kernel leaves untouched (we preset 0),
/// sets to the bytes done, or to `-errno`.
///
/// Success is `Ok(())`. Otherwise: EAGAIN is [`Error::Again`] with the bytes done (0 or more),
/// EEXIST with nothing done [`Error::Exists`], another errno after some progress
/// [`Error::Partial`], and one with nothing done [`Error::Sys`]. `done <= len` always: a
/// negative or absurd field is never read as a length.
#[inline(always)]
pub(crate) fn progress(
    call: Call,
    ret: Result<usize, Errno>,
    field: i64,
    len: usize,
) -> Result<(), Error> {
    match ret {
        Ok(_) => Ok(()),
        Err(errno) => Err(stopped(call, errno, field, len)),
    }
}

#[cold]
fn stopped(call: Call, ioctl_errno: Errno, field: i64, len: usize) -> Error {
    let (done, errno) = match field {
        // Some bytes done; the ioctl's errno (EAGAIN) says it stopped.
        1.. => (
            core::cmp::min(field as u64, len as u64) as usize,
            ioctl_errno,
        ),
        // Nothing done; the field holds the reason.
        -4095..=-1 => (0, Errno::from_raw(-field as i32)),
        // Left as it was (0, or not an errno): the ioctl's errno is all there is.
        _ => (0, ioctl_errno),
    };
    match (errno, done) {
        (Errno::EAGAIN, done) => Error::Again { call, done },
        (Errno::EEXIST, 0) => Error::Exists { call },
        (errno, 0) => Error::Sys { call, errno },
        (errno, done) => Error::Partial { call, done, errno },
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{Call, Error};
    use crate::sys::Errno;
    use std::format;

    /// A kernel before 5.11 refusing the flag: the version and the privileged choice are named.
    #[test]
    fn user_mode_only_unsupported_names_the_kernel_and_the_choice() {
        let e = Error::UserModeOnlyUnsupported {
            call: Call::Userfaultfd,
        };
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        let m = format!("{e}");
        for want in ["5.11", "user_mode_only(false)", "CAP_SYS_PTRACE", "EINVAL"] {
            assert!(m.contains(want), "{want} missing in {m}");
        }
    }

    /// ENOENT from a range operation says what it usually means; from other calls (opening a
    /// path, reading fdinfo) it stays the bare errno.
    #[test]
    fn enoent_on_range_operations_explains_itself() {
        let hint = "not registered with a userfaultfd";
        for call in [
            Call::Copy,
            Call::Zeropage,
            Call::Continue,
            Call::Poison,
            Call::Move,
        ] {
            let m = format!(
                "{}",
                Error::Sys {
                    call,
                    errno: Errno::ENOENT
                }
            );
            assert!(m.contains(hint) && m.contains("REMAP/UNMAP"), "{m}");
            let p = format!(
                "{}",
                Error::Partial {
                    call,
                    done: 4096,
                    errno: Errno::ENOENT
                }
            );
            assert!(p.contains(hint), "{p}");
        }
        for (call, errno) in [
            (Call::Copy, Errno::EFAULT),
            (Call::OpenDevice, Errno::ENOENT),
            (Call::FdInfo, Errno::ENOENT),
        ] {
            let m = format!("{}", Error::Sys { call, errno });
            assert!(!m.contains(hint), "{m}");
        }
    }

    /// The user-mode-only remedy is offered exactly when it was not already tried.
    #[test]
    fn permission_denied_offers_user_mode_only_when_not_asked() {
        let denied = |user_mode_only| {
            format!(
                "{}",
                Error::PermissionDenied {
                    call: Call::Userfaultfd,
                    errno: Errno::EPERM,
                    user_mode_only,
                    device: Some(Errno::EACCES),
                }
            )
        };
        let (plain, umo) = (denied(false), denied(true));
        let remedy = "Builder::user_mode_only(true)";
        assert!(plain.contains(remedy), "{plain}");
        assert!(!umo.contains(remedy), "{umo}");
        for m in [&plain, &umo] {
            assert!(m.contains("/dev/userfaultfd: EACCES"), "{m}");
            assert!(m.contains("OpenStrategy::DeviceThenSyscall"), "{m}");
        }
    }
}
