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
}

/// Why a range was rejected before any system call (the kernel's documented rules: start and
/// length page-aligned, length non-zero, no wrap-around).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeError {
    /// Length 0.
    Empty,
    /// `start + len` wraps around the address space.
    Overflow,
    /// The start (or destination) address is not page-aligned.
    UnalignedStart(usize),
    /// The length is not a multiple of the page size.
    UnalignedLen(usize),
    /// The source address of `UFFDIO_MOVE` is not page-aligned.
    UnalignedSrc(usize),
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
    /// Features the caller required are not offered by the running kernel.
    MissingFeatures {
        /// Required but not offered.
        missing: Features,
        /// What the kernel offers.
        available: Features,
    },
    /// A range was rejected before any system call.
    Range(RangeError),
    /// A range operation (`COPY`, `ZEROPAGE`, `CONTINUE`, `POISON`, `MOVE`) stopped: `done`
    /// bytes (from the start of the range) were handled, then `errno` stopped it. `done` may
    /// be 0. `EAGAIN` means retry the rest after reading pending events (a non-cooperative
    /// event was in flight, or the kernel stopped part-way).
    Partial {
        /// Which operation.
        call: Call,
        /// Bytes done before it stopped.
        done: usize,
        /// What stopped it.
        errno: Errno,
    },
    /// `ppoll` reported `POLLERR`: a userfaultfd without `O_NONBLOCK` always does (or the
    /// handshake is missing).
    PollError,
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
            | Error::OpenFailed { syscall: errno, .. } => Some(errno),
            _ => None,
        }
    }
    /// Bytes done before a range operation stopped (0 for every other error).
    pub const fn done(&self) -> usize {
        match *self {
            Error::Partial { done, .. } => done,
            _ => 0,
        }
    }
    /// How a range operation's outcome is decoded (`COPY`, `ZEROPAGE`, `CONTINUE`, `POISON`,
    /// `MOVE`): `ret` is what the ioctl returned, `field` the struct's result field after the
    /// call (preset to 0: the kernel leaves it untouched on validation errors and `ESRCH`,
    /// writes the bytes done, or `-errno`), `len` the length asked for.
    ///
    /// `Ok(len)` when the ioctl succeeded; otherwise [`Error::Partial`] with `done <= len`
    /// (a negative or absurd field is never read as a length) and the errno from the field
    /// when it holds one, else the ioctl's. Exposed for callers issuing the ioctls through
    /// [`crate::sys`] by hand, and for tests and fuzzing of the decoding itself.
    pub fn from_range_result(
        call: Call,
        ret: Result<usize, Errno>,
        field: i64,
        len: usize,
    ) -> Result<usize, Error> {
        crate::uffd::progress(call, ret, field, len)
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
            RangeError::UnalignedStart(a) => write!(f, "start {a:#x} is not page-aligned"),
            RangeError::UnalignedLen(l) => write!(f, "length {l:#x} is not a page multiple"),
            RangeError::UnalignedSrc(a) => write!(f, "source {a:#x} is not page-aligned"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Sys { call, errno } => write!(f, "{call:?}: {errno}"),
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
            Error::MissingFeatures { missing, available } => write!(
                f,
                "the kernel lacks required userfaultfd features {missing:?} (it offers {available:?})"
            ),
            Error::Range(e) => write!(f, "invalid range: {e}"),
            Error::Partial { call, done, errno } => {
                write!(f, "{call:?}: stopped after {done} bytes: {errno}")
            }
            Error::PollError => f.write_str(
                "ppoll: POLLERR (a userfaultfd without O_NONBLOCK always reports it)",
            ),
            Error::UnknownEvent(e) => write!(f, "unknown userfaultfd event {e:#x}"),
            Error::BadForkFd(fd) => write!(f, "UFFD_EVENT_FORK with impossible fd {fd}"),
        }
    }
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
