//! Handing a userfaultfd to another process over a UNIX socket (`std`, Linux): one message
//! carrying the fd as `SCM_RIGHTS` and a payload — Firecracker's handoff, or any VMM's.
//!
//! Firecracker connects to the page-fault handler's socket and sends, in one `sendmsg`, the
//! userfaultfd and a JSON array describing guest memory, one object per region, in this field
//! order (`serde_json` of `GuestRegionUffdMapping` in its `src/vmm/src/persist.rs`):
//!
//! ```text
//! [{"base_host_virt_addr":140049754378240,"size":134217728,"offset":0,"page_size":4096,"page_size_kib":4096}]
//! ```
//!
//! `page_size` and `page_size_kib` both hold the page size **in bytes** (older releases send
//! only `page_size_kib`, misnamed). [`recv`] gives the payload bytes and the fd; the JSON is
//! the caller's to parse (the `firecracker_handler` example does it with `serde_json` in a few
//! lines); [`Uffd::from_owned_fd`] adopts the fd with its features read back from the kernel.
//! [`send`] is the other side, for tests and for VMMs of your own.
//!
//! The sender must create the userfaultfd **non-blocking** (Firecracker does): `O_NONBLOCK`
//! lives on the open file description both processes share, and the [`pager`](crate::pager)
//! and every `poll`-based loop need it. A handler that cannot trust its sender checks with
//! [`Uffd::is_non_blocking`] and fixes it with [`Uffd::set_non_blocking`].
//!
//! A sender that keeps its own copy of the fd (Firecracker does) is not released when the
//! handler dies: its faulting threads sleep until every copy is closed (the guide's section
//! 8). It learns of the handler's end from the socket (EOF once the handler's side closes) or
//! from the handler's exit status, and then stops the guest: closing its copy instead would
//! wake the threads onto zero-filled memory, not the snapshot. The handler learns of the
//! sender's end from the pager ([`Exit::Gone`](crate::pager::Exit::Gone)) or the same EOF.
//!
//! Implemented with [`sys::sendmsg`]/[`sys::recvmsg`] (std's ancillary-data API is unstable),
//! without libc; received descriptors are close-on-exec (`MSG_CMSG_CLOEXEC`).
//!
//! [`Uffd::from_owned_fd`]: crate::Uffd::from_owned_fd
//! [`Uffd::is_non_blocking`]: crate::Uffd::is_non_blocking
//! [`Uffd::set_non_blocking`]: crate::Uffd::set_non_blocking
//!
//! # References
//! - [`unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html) (`SCM_RIGHTS`),
//!   [`cmsg(3)`](https://man7.org/linux/man-pages/man3/cmsg.3.html)

use core::fmt;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use crate::sys::{self, CmsgHdr, Errno, IoVec, MsgHdr};

/// Descriptors [`recv`] has room for in one message (more is [`HandoffError::ControlTruncated`]).
pub const MAX_FDS: usize = 8;

/// What went wrong handing a descriptor over.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandoffError {
    /// `sendmsg` failed (EPIPE: the receiver is gone; EBADF/ENOTSOCK: not a socket).
    Send(Errno),
    /// `recvmsg` failed.
    Recv(Errno),
    /// The peer closed the connection before sending anything.
    Closed,
    /// A message without a descriptor (`len` payload bytes arrived; the sender must pass the
    /// fd in the same `sendmsg` as the payload).
    NoFd {
        /// Payload bytes received.
        len: usize,
    },
    /// More than one descriptor arrived (all were closed).
    TooManyFds {
        /// How many.
        count: usize,
    },
    /// The kernel dropped control data (`MSG_CTRUNC`: more than [`MAX_FDS`] descriptors, or
    /// other control messages); the descriptors that did arrive were closed.
    ControlTruncated,
    /// The payload filled the whole buffer: it may go on. Give [`recv`] a larger buffer.
    PayloadTooLong {
        /// The buffer's length.
        capacity: usize,
    },
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandoffError::Send(e) => write!(f, "sendmsg: {e}"),
            HandoffError::Recv(e) => write!(f, "recvmsg: {e}"),
            HandoffError::Closed => f.write_str("the peer closed the socket before sending"),
            HandoffError::NoFd { len } => write!(
                f,
                "a message of {len} bytes without a file descriptor (SCM_RIGHTS expected)"
            ),
            HandoffError::TooManyFds { count } => {
                write!(f, "{count} file descriptors where one was expected")
            }
            HandoffError::ControlTruncated => {
                f.write_str("control data truncated (MSG_CTRUNC): descriptors lost")
            }
            HandoffError::PayloadTooLong { capacity } => write!(
                f,
                "the payload fills the whole {capacity}-byte buffer: it may be longer"
            ),
        }
    }
}

impl std::error::Error for HandoffError {}

impl From<HandoffError> for std::io::Error {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Send(n) | HandoffError::Recv(n) => {
                std::io::Error::from_raw_os_error(n.raw())
            }
            HandoffError::Closed => std::io::Error::new(std::io::ErrorKind::UnexpectedEof, e),
            e => std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        }
    }
}

/// What [`recv`] got: `len` payload bytes at the start of the buffer, and the descriptor.
#[derive(Debug)]
pub struct Received {
    /// Payload bytes received.
    pub len: usize,
    /// The descriptor (close-on-exec).
    pub fd: OwnedFd,
}

/// A control buffer with room for [`MAX_FDS`] descriptors, aligned for [`CmsgHdr`].
#[repr(C, align(8))]
struct Control([u8; sys::cmsg_space(MAX_FDS * 4)]);

/// `sendmsg(socket, {payload, SCM_RIGHTS [fd]}, MSG_NOSIGNAL)`: sends `payload` with `fd` in one
/// message, as Firecracker does (then the rest of the payload, if the socket took only part).
///
/// `socket` is a connected UNIX socket (a `UnixStream`). The receiver gets a new descriptor
/// for the same open file description; `fd` stays open here.
///
/// # References
/// - [`sendmsg(2)`](https://man7.org/linux/man-pages/man2/sendmsg.2.html),
///   [`unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html)
pub fn send(socket: impl AsFd, payload: &[u8], fd: impl AsFd) -> Result<(), HandoffError> {
    let sock = socket.as_fd().as_raw_fd();
    let mut control = Control([0; sys::cmsg_space(MAX_FDS * 4)]);
    let header = CmsgHdr {
        cmsg_len: sys::cmsg_len(4),
        cmsg_level: sys::SOL_SOCKET,
        cmsg_type: sys::SCM_RIGHTS,
    };
    let hdr = core::mem::size_of::<CmsgHdr>();
    // SAFETY: `CmsgHdr` is plain integers; its bytes are copied into the buffer's start.
    let bytes = unsafe { core::slice::from_raw_parts(&header as *const CmsgHdr as *const u8, hdr) };
    control.0[..hdr].copy_from_slice(bytes);
    let at = sys::cmsg_len(0);
    control.0[at..at + 4].copy_from_slice(&fd.as_fd().as_raw_fd().to_ne_bytes());
    let mut sent = 0;
    let mut first = true;
    while sent < payload.len() || first {
        let rest = &payload[sent..];
        let iov = IoVec {
            iov_base: rest.as_ptr() as usize,
            iov_len: rest.len(),
        };
        let msg = MsgHdr {
            msg_iov: &iov as *const IoVec as usize,
            msg_iovlen: 1,
            msg_control: if first {
                control.0.as_ptr() as usize
            } else {
                0
            },
            msg_controllen: if first { sys::cmsg_space(4) } else { 0 },
            ..MsgHdr::default()
        };
        // SAFETY: `sock` is borrowed from `socket` for the call; `msg` points at `iov`, `rest`
        // and `control`, which live across it and are only read; the fd in the control message
        // is borrowed from `fd`, and the kernel duplicates it for the receiver.
        match unsafe { sys::sendmsg(sock, &msg, sys::MSG_NOSIGNAL) } {
            Ok(n) => {
                sent += n;
                first = false;
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(HandoffError::Send(e)),
        }
    }
    Ok(())
}

/// `recvmsg(socket, {buf, control}, MSG_CMSG_CLOEXEC)`: receives one message with exactly one
/// descriptor; the payload is `buf[..len]`.
///
/// `socket` is a connected UNIX socket (a `UnixStream` from `accept`). Typed errors for the
/// ways a handoff goes wrong ([`HandoffError`]): no descriptor, several, control data lost, a
/// payload that fills `buf` (give a buffer larger than any message: Firecracker's is about
/// 110 bytes a region), the peer gone. Descriptors of a refused message are closed.
///
/// # References
/// - [`recvmsg(2)`](https://man7.org/linux/man-pages/man2/recvmsg.2.html),
///   [`unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html)
pub fn recv(socket: impl AsFd, buf: &mut [u8]) -> Result<Received, HandoffError> {
    let sock = socket.as_fd().as_raw_fd();
    let mut control = Control([0; sys::cmsg_space(MAX_FDS * 4)]);
    let iov = IoVec {
        iov_base: buf.as_mut_ptr() as usize,
        iov_len: buf.len(),
    };
    let mut msg = MsgHdr {
        msg_iov: &iov as *const IoVec as usize,
        msg_iovlen: 1,
        msg_control: control.0.as_mut_ptr() as usize,
        msg_controllen: control.0.len(),
        ..MsgHdr::default()
    };
    let len = loop {
        // SAFETY: `sock` is borrowed from `socket` for the call; `msg` points at `iov` (over
        // `buf`, borrowed mutably) and `control`, which live across the call.
        match unsafe { sys::recvmsg(sock, &mut msg, sys::MSG_CMSG_CLOEXEC) } {
            Ok(n) => break n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(HandoffError::Recv(e)),
        }
    };
    let controllen = msg.msg_controllen.min(control.0.len());
    // SAFETY: the kernel wrote `controllen` bytes of control messages into `control`, and
    // installed the descriptors of each SCM_RIGHTS message as new ones of this process.
    let fds = unsafe { take_fds(&control.0[..controllen]) };
    if msg.msg_flags & sys::MSG_CTRUNC != 0 {
        return Err(HandoffError::ControlTruncated);
    }
    if len == 0 && fds.is_empty() {
        return Err(HandoffError::Closed);
    }
    if len == buf.len() && !buf.is_empty() {
        return Err(HandoffError::PayloadTooLong {
            capacity: buf.len(),
        });
    }
    let count = fds.len();
    let mut fds = fds.into_iter();
    match (fds.next(), count) {
        (Some(fd), 1) => Ok(Received { len, fd }),
        (None, _) => Err(HandoffError::NoFd { len }),
        (Some(_), count) => Err(HandoffError::TooManyFds { count }),
    }
}

/// The descriptors of every `SCM_RIGHTS` message in `control`, owned.
///
/// # Safety
/// `control` is control data as `recvmsg` wrote it: every descriptor in an `SCM_RIGHTS`
/// message is new and nobody else's.
unsafe fn take_fds(control: &[u8]) -> Vec<OwnedFd> {
    let hdr = core::mem::size_of::<CmsgHdr>();
    let mut fds = Vec::new();
    let mut at = 0;
    while at + hdr <= control.len() {
        // SAFETY: `hdr` bytes at `at` are in `control`; `CmsgHdr` is plain integers (any bit
        // pattern is valid), read unaligned.
        let h = unsafe { (control.as_ptr().add(at) as *const CmsgHdr).read_unaligned() };
        let end = at.saturating_add(h.cmsg_len).min(control.len());
        if h.cmsg_len < sys::cmsg_len(0) {
            break; // malformed: the kernel never writes one
        }
        if h.cmsg_level == sys::SOL_SOCKET && h.cmsg_type == sys::SCM_RIGHTS {
            for word in control[at + sys::cmsg_len(0)..end].chunks_exact(4) {
                let fd = i32::from_ne_bytes([word[0], word[1], word[2], word[3]]);
                // SAFETY: a descriptor the kernel just installed for us (the caller's promise).
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
        at = at.saturating_add(sys::cmsg_align(h.cmsg_len));
    }
    fds
}
