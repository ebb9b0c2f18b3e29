//! Passing descriptors over UNIX sockets without libc: `sendmsg`/`recvmsg`, the kernel's
//! `struct msghdr`/`struct cmsghdr` ([`MsgHdr`], [`CmsgHdr`]) and `SCM_RIGHTS`.
//!
//! The layouts are the kernel's (`struct user_msghdr` and `struct cmsghdr` in
//! `include/linux/socket.h`): pointers and `__kernel_size_t` are one word on every ABI this
//! crate builds for, so one `#[repr(C)]` definition fits them all. The kernel does not export
//! these to uapi; `cargo xtask verify-layout` checks them (and `SCM_RIGHTS`,
//! `MSG_CMSG_CLOEXEC`, `CMSG_SPACE`, `CMSG_LEN`) against the C library's `<sys/socket.h>` of each
//! ABI where one is installed, and `SOL_SOCKET` against the kernel's `asm/socket.h`.

use super::{raw, Errno};

pub use super::arch::SOL_SOCKET;

/// `SCM_RIGHTS` (1 on every architecture): the control message that carries descriptors.
pub const SCM_RIGHTS: i32 = 1;
/// `MSG_CTRUNC` (8): the control data did not fit (descriptors that did not fit were closed).
pub const MSG_CTRUNC: u32 = 0x8;
/// `MSG_TRUNC` (0x20): a datagram did not fit.
pub const MSG_TRUNC: u32 = 0x20;
/// `MSG_NOSIGNAL` (0x4000): no `SIGPIPE` when the peer is gone (EPIPE only).
pub const MSG_NOSIGNAL: u32 = 0x4000;
/// `MSG_CMSG_CLOEXEC` (0x40000000, Linux 2.6.23): received descriptors are close-on-exec.
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;

/// `struct iovec`: one buffer of a scatter/gather list.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoVec {
    /// `iov_base`: the buffer's address.
    pub iov_base: usize,
    /// `iov_len`: its length.
    pub iov_len: usize,
}

/// `struct msghdr` (the kernel's `struct user_msghdr`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgHdr {
    /// `msg_name`: the peer address (0 for a connected socket).
    pub msg_name: usize,
    /// `msg_namelen`: its length.
    pub msg_namelen: u32,
    /// `msg_iov`: the address of the [`IoVec`] array.
    pub msg_iov: usize,
    /// `msg_iovlen`: how many.
    pub msg_iovlen: usize,
    /// `msg_control`: the address of the control (ancillary) data.
    pub msg_control: usize,
    /// `msg_controllen`: its length (on return: how much the kernel wrote).
    pub msg_controllen: usize,
    /// `msg_flags`: on return, `MSG_TRUNC`, `MSG_CTRUNC`, ...
    pub msg_flags: u32,
}

/// `struct cmsghdr`: the header of one control message; the data follows at
/// [`cmsg_len`]`(0)` bytes from its start.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CmsgHdr {
    /// `cmsg_len`: header and data, in bytes (without the trailing padding).
    pub cmsg_len: usize,
    /// `cmsg_level`: `SOL_SOCKET` for `SCM_RIGHTS`.
    pub cmsg_level: i32,
    /// `cmsg_type`: `SCM_RIGHTS`, ...
    pub cmsg_type: i32,
}

/// `CMSG_ALIGN(len)`: `len` rounded up to a word.
pub const fn cmsg_align(len: usize) -> usize {
    let w = core::mem::size_of::<usize>();
    (len + w - 1) & !(w - 1)
}
/// `CMSG_LEN(len)`: `cmsg_len` of a message with `len` bytes of data.
pub const fn cmsg_len(len: usize) -> usize {
    cmsg_align(core::mem::size_of::<CmsgHdr>()) + len
}
/// `CMSG_SPACE(len)`: the room a message with `len` bytes of data takes in a control buffer.
pub const fn cmsg_space(len: usize) -> usize {
    cmsg_align(core::mem::size_of::<CmsgHdr>()) + cmsg_align(len)
}

/// `sendmsg(fd, msg, flags)`: sends the message `msg` describes, returning the bytes sent.
///
/// Available on every kernel this crate supports (x86 and s390x have had the direct call,
/// rather than `socketcall`, since Linux 4.3; the others always).
///
/// # Safety
/// `fd` must be a socket the caller may use (I/O safety); every address in `msg` (its iovecs,
/// their buffers, the control data) must be valid for reads of the lengths given, and every
/// descriptor in an `SCM_RIGHTS` message one the caller may share.
///
/// # References
/// - [`sendmsg(2)`](https://man7.org/linux/man-pages/man2/sendmsg.2.html),
///   [`unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html) (`SCM_RIGHTS`),
///   [`cmsg(3)`](https://man7.org/linux/man-pages/man3/cmsg.3.html)
#[inline]
pub unsafe fn sendmsg(fd: i32, msg: &MsgHdr, flags: u32) -> Result<usize, Errno> {
    // SAFETY: the kernel reads `msg` (borrowed) and what it points to (the caller's promise).
    unsafe {
        raw::syscall3(
            super::__NR_sendmsg,
            fd as isize as usize,
            msg as *const MsgHdr as usize,
            flags as usize,
        )
    }
}

/// `recvmsg(fd, msg, flags)`: receives into the buffers `msg` describes, returning the bytes
/// received (0: the peer has shut down); the kernel updates `msg.msg_controllen` and
/// `msg.msg_flags`.
///
/// Available on every kernel this crate supports (see [`sendmsg`]).
///
/// # Safety
/// `fd` must be a socket the caller may use (I/O safety); every address in `msg` must be valid
/// for writes of the lengths given. Descriptors received with `SCM_RIGHTS` are new and the
/// caller's to close.
///
/// # References
/// - [`recvmsg(2)`](https://man7.org/linux/man-pages/man2/recvmsg.2.html),
///   [`unix(7)`](https://man7.org/linux/man-pages/man7/unix.7.html) (`SCM_RIGHTS`),
///   [`cmsg(3)`](https://man7.org/linux/man-pages/man3/cmsg.3.html)
#[inline]
pub unsafe fn recvmsg(fd: i32, msg: &mut MsgHdr, flags: u32) -> Result<usize, Errno> {
    // SAFETY: the kernel reads and writes `msg` (borrowed mutably) and writes what it points
    // to (the caller's promise).
    unsafe {
        raw::syscall3(
            super::__NR_recvmsg,
            fd as isize as usize,
            msg as *mut MsgHdr as usize,
            flags as usize,
        )
    }
}
