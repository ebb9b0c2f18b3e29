//! Waiting on a userfaultfd together with other file descriptors (a stop eventfd or pipe, the
//! userfaultfds that FORK events hand over), without writing `ppoll` and `POLL*` bits by hand.

use core::marker::PhantomData;
use core::time::Duration;

use crate::error::{Call, Error};
use crate::fd::BorrowedFd;
use crate::sys::{self, Errno, PollFd, Timespec};
use crate::uffd::Uffd;

/// One file descriptor to wait on for reading, and what [`wait`] found on it.
///
/// The lifetime ties it to the borrowed descriptor, so it cannot outlive the [`Uffd`] (or
/// [`BorrowedFd`]) it names: there is no way to make one from a bare integer. Laid out as `struct pollfd`: a slice of these is what `ppoll` reads.
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct Waiting<'fd> {
    raw: PollFd,
    _fd: PhantomData<&'fd ()>,
}

impl<'fd> Waiting<'fd> {
    /// Wait for `uffd` to have a message pending. It must be non-blocking
    /// ([`Builder::non_blocking`](crate::Builder::non_blocking)): a blocking userfaultfd
    /// always reports an error here.
    pub const fn uffd(uffd: &'fd Uffd) -> Self {
        Self::polling(uffd.as_raw_fd())
    }
    /// Wait for a borrowed descriptor (an eventfd, a pipe, a socket) to be readable: a
    /// [`crate::fd::BorrowedFd`], or under `std` a `std::os::fd::BorrowedFd`. Not a bare
    /// number, which could name a descriptor closed and reused by other code meanwhile:
    ///
    /// ```compile_fail,E0277
    /// let stop = uffd::wait::Waiting::fd(3);
    /// ```
    pub fn fd(fd: impl Into<BorrowedFd<'fd>>) -> Self {
        Self::polling(fd.into().as_raw_fd())
    }
    /// `fd`, which the caller has borrowed for `'fd`.
    const fn polling(fd: i32) -> Self {
        Waiting {
            raw: PollFd {
                fd,
                events: sys::POLLIN,
                revents: 0,
            },
            _fd: PhantomData,
        }
    }
    /// The descriptor.
    pub const fn as_raw_fd(&self) -> i32 {
        self.raw.fd
    }
    /// Readable: a message is pending (`POLLIN`).
    pub const fn is_readable(&self) -> bool {
        self.raw.revents & sys::POLLIN != 0
    }
    /// `POLLERR`: for a userfaultfd, it is blocking (or its handshake is missing).
    pub const fn is_error(&self) -> bool {
        self.raw.revents & sys::POLLERR != 0
    }
    /// `POLLHUP`: the other end of a pipe or socket is closed.
    pub const fn is_hung_up(&self) -> bool {
        self.raw.revents & sys::POLLHUP != 0
    }
    /// `POLLNVAL`: not an open file descriptor (only if a [`BorrowedFd`]'s contract was
    /// broken).
    pub const fn is_invalid(&self) -> bool {
        self.raw.revents & sys::POLLNVAL != 0
    }
    /// Whether anything at all was reported.
    pub const fn is_ready(&self) -> bool {
        self.raw.revents != 0
    }
}

/// `ppoll(fds, n, timeout, NULL)`: waits until one of `fds` is readable (or in error), or the
/// timeout passes; returns how many are ready (0: timed out). Look at each with
/// [`Waiting::is_readable`] and friends.
///
/// `None` waits indefinitely. A signal caught meanwhile does not end the wait: EINTR is
/// retried with the time left (the kernel writes it back), as [`Uffd::read_events`] retries
/// it, so one signal policy holds for the whole handler loop (a signal handler that wants the
/// loop to stop writes a descriptor it waits on, e.g. a stop pipe). On 32-bit architectures
/// this is `ppoll_time64` (Linux 5.1) with a fallback to `ppoll`.
///
/// # References
/// - [`ppoll(2)`](https://man7.org/linux/man-pages/man2/ppoll.2.html)
pub fn wait(fds: &mut [Waiting<'_>], timeout: Option<Duration>) -> Result<usize, Error> {
    let mut timeout = timeout.map(Timespec::from_duration);
    // SAFETY: `Waiting` is `repr(transparent)` over `PollFd` (its other field is a ZST), so
    // the slice has the same layout and length; the borrow is the same exclusive one.
    let raw = unsafe { &mut *(fds as *mut [Waiting<'_>] as *mut [PollFd]) };
    loop {
        // SAFETY: every descriptor is borrowed for the `Waiting`'s lifetime (a `Uffd` or a
        // `BorrowedFd`), which outlasts this call.
        match unsafe { sys::ppoll(raw, timeout.as_mut()) } {
            // The kernel writes every entry's `revents` back once it has polled them, also
            // when a signal ends the wait (fs/select.c, do_sys_poll), so nothing is reset
            // beforehand on the fault path.
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(e) => {
                // EFAULT, EINVAL, ENOMEM come before any entry is polled: clear what an
                // earlier wait left, so nothing reads as ready.
                for w in raw.iter_mut() {
                    w.revents = 0;
                }
                return Err(Error::sys(Call::Poll, e));
            }
        }
    }
}

impl Uffd {
    /// `ppoll(&{fd, POLLIN}, 1, timeout, NULL)`: waits until a message is pending (`true`) or
    /// the timeout passes (`false`); `None` waits indefinitely. To wait on other descriptors
    /// too, use [`wait`].
    ///
    /// Since Linux 4.3. A userfaultfd without `O_NONBLOCK` always reports `POLLERR`, returned
    /// as [`Error::PollError`]. EINTR is retried with the time left, as in [`wait`]. A closed
    /// fd (`POLLNVAL`) is EBADF, not "nothing pending".
    ///
    /// # References
    /// - [`ppoll(2)`](https://man7.org/linux/man-pages/man2/ppoll.2.html)
    #[inline]
    pub fn poll(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        // One descriptor, known non-negative when open: `ppoll` directly, without `wait`'s
        // bookkeeping for negative descriptors (this is on every fault's path).
        let fd = self.as_raw_fd();
        if fd < 0 {
            return Err(Error::sys(Call::Poll, Errno::EBADF));
        }
        let mut fds = [PollFd {
            fd,
            events: sys::POLLIN,
            revents: 0,
        }];
        let mut ts = timeout.map(Timespec::from_duration);
        loop {
            // SAFETY: `fd` is this handle's own, open while `self` is borrowed.
            match unsafe { sys::ppoll(&mut fds, ts.as_mut()) } {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys(Call::Poll, e)),
            }
        }
        let revents = fds[0].revents;
        if revents & sys::POLLNVAL != 0 {
            return Err(Error::sys(Call::Poll, Errno::EBADF));
        }
        if revents & sys::POLLERR != 0 {
            return Err(Error::PollError);
        }
        Ok(revents & sys::POLLIN != 0)
    }
}
