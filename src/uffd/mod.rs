//! The userfaultfd handle: [`Uffd`] (negotiated), [`Unnegotiated`] (opened, before
//! `UFFDIO_API`), and [`Builder`] (open strategy, flags, feature negotiation).
//!
//! Operations are in `ops` (register, copy, ...) and event reading in [`crate::event`].

mod fdinfo;
mod hugetlb;
mod open;
mod ops;

pub use hugetlb::Hugetlb;
pub use open::{Builder, OpenStrategy, Probe};

use crate::error::{Call, Error};
use crate::flags::{Features, Ioctls};
use crate::sys;

/// A userfaultfd after the `UFFDIO_API` handshake: the one you register ranges with, resolve
/// faults with and read events from. Closes its file descriptor on drop.
///
/// It remembers the negotiated features, the fd-wide `ioctls` mask, what the kernel offered,
/// and the page size that range arguments are checked against.
///
/// # The capability
///
/// A userfaultfd is a capability over the memory of the process it was opened in. Its range
/// operations ([`copy`](Self::copy), [`zeropage`](Self::zeropage),
/// [`continue_`](Self::continue_), [`poison`](Self::poison),
/// [`writeprotect`](Self::writeprotect), [`wake`](Self::wake)) act on **every** range of that
/// process registered with **any** userfaultfd — this one, or one opened by other code: another
/// crate, a C library, a VMM or GC in the same process. The kernel checks only that the
/// destination has *a* userfaultfd context, not whose (`validate_dst_vma()` in
/// `mm/userfaultfd.c`; only `UFFDIO_MOVE` and `UFFDIO_UNREGISTER` check the owner). So every way
/// of getting a `Uffd` — [`Builder::create`], [`Unnegotiated::negotiate`],
/// [`from_raw_parts`](Self::from_raw_parts), [`from_received_fd`](Self::from_received_fd) — is
/// `unsafe`, with this contract, the **capability promise**:
///
/// > For as long as this fd or any duplicate of it is open, no range that its range operations
/// > are applied to holds memory a Rust value relies on (its contents or its accessibility).
///
/// Ranges added with [`register`](Self::register) meet it by `register`'s own promise. A range
/// registered by other code meets it only if that code says its memory is such (a VMM's guest
/// RAM, an arena behind raw pointers); otherwise the holder of this `Uffd` never passes it to a
/// range operation. A program that holds the only userfaultfd of its process, or whose other
/// userfaultfds register only such memory, keeps the promise without further thought. The same
/// holds for the child processes whose userfaultfds FORK events hand over. Range operations
/// stay safe `fn`s: the promise was made where the capability was born.
#[derive(Debug)]
pub struct Uffd {
    fd: i32,
    features: Features,
    available: Features,
    ioctls: Ioctls,
    page_size: usize,
}

impl Uffd {
    /// A [`Builder`] with the defaults: close-on-exec, blocking, kernel faults too,
    /// `/dev/userfaultfd` first then the syscall, no features.
    pub const fn builder() -> Builder {
        Builder::new()
    }

    /// Takes ownership of a userfaultfd that has completed `UFFDIO_API`.
    ///
    /// `features` are the ones that were requested (and granted), `ioctls` what `UFFDIO_API`
    /// returned; `page_size` of 0 turns off the alignment checks done before system calls
    /// (the kernel still checks). [`Uffd::from_received_fd`] reads the features back from the
    /// kernel instead.
    ///
    /// # Safety
    /// - `fd` must be an open userfaultfd owned by nobody else (it is closed on drop), and its
    ///   handshake must be complete.
    /// - The [capability promise](Self#the-capability): no range the handle's range
    ///   operations are applied to — including every range already registered on `fd`, and
    ///   ranges other code registered with other userfaultfds of the same process — holds
    ///   memory a Rust value of the process whose memory it serves relies on.
    pub const unsafe fn from_raw_parts(
        fd: i32,
        features: Features,
        ioctls: Ioctls,
        page_size: usize,
    ) -> Self {
        Uffd {
            fd,
            features,
            available: features,
            ioctls,
            page_size,
        }
    }

    /// The file descriptor (still owned by `self`).
    pub const fn as_raw_fd(&self) -> i32 {
        self.fd
    }
    /// Gives up ownership of the file descriptor without closing it.
    pub fn into_raw_fd(self) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }
    /// The features this fd was opened with (requested and granted by `UFFDIO_API`; asking
    /// for `WP_ASYNC` implies `WP_UNPOPULATED`).
    pub const fn features(&self) -> Features {
        self.features
    }
    /// Every feature the kernel offered in the handshake (a superset of [`features`]).
    ///
    /// [`features`]: Self::features
    pub const fn available_features(&self) -> Features {
        self.available
    }
    /// The fd-wide ioctls `UFFDIO_API` reported (`REGISTER`, `UNREGISTER`, `API`, and
    /// whatever a newer kernel adds, kept as is).
    pub const fn ioctls(&self) -> Ioctls {
        self.ioctls
    }
    /// The page size ranges are checked against (0: not checked before the call).
    pub const fn page_size(&self) -> usize {
        self.page_size
    }
}

impl Uffd {
    /// `fcntl(fd, F_GETFL)`: whether the fd is non-blocking (`O_NONBLOCK` on its open file
    /// description, shared by every copy of the fd, also one in another process).
    ///
    /// Available on every kernel.
    ///
    /// # References
    /// - [`fcntl(2)`](https://man7.org/linux/man-pages/man2/fcntl.2.html)
    pub fn is_non_blocking(&self) -> Result<bool, Error> {
        Ok(self.status_flags()? & sys::O_NONBLOCK as usize != 0)
    }

    /// `fcntl(fd, F_SETFL, flags | O_NONBLOCK)` (or without it): makes the fd non-blocking
    /// (`on`) or blocking.
    ///
    /// Since Linux 4.3 for a userfaultfd (the kernel reads the flag at every `read` and `poll`).
    /// A non-blocking fd is what [`wait`](crate::wait), async runtimes and the
    /// [`pager`](crate::pager) need: `poll` on a blocking userfaultfd always reports `POLLERR`.
    /// The flag lives on the open file description, so this changes it for every copy of the fd:
    /// a handler fixing a received fd changes the sender's too (harmless for a VMM that only
    /// holds its copy, as Firecracker does; a sender that reads its own copy sees `EAGAIN` where
    /// it waited before).
    ///
    /// # References
    /// - [`fcntl(2)`](https://man7.org/linux/man-pages/man2/fcntl.2.html),
    ///   [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
    pub fn set_non_blocking(&self, on: bool) -> Result<(), Error> {
        let flags = self.status_flags()?;
        let nb = sys::O_NONBLOCK as usize;
        let new = if on { flags | nb } else { flags & !nb };
        if new == flags {
            return Ok(());
        }
        // SAFETY: `self.fd` is open and owned by this handle; F_SETFL reads no memory.
        unsafe { sys::fcntl(self.as_raw_fd(), sys::F_SETFL, new) }
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Fcntl, e))
    }

    fn status_flags(&self) -> Result<usize, Error> {
        // SAFETY: `self.fd` is open and owned by this handle; F_GETFL reads no memory.
        unsafe { sys::fcntl(self.as_raw_fd(), sys::F_GETFL, 0) }
            .map_err(|e| Error::sys(Call::Fcntl, e))
    }
}

impl Drop for Uffd {
    fn drop(&mut self) {
        // SAFETY: `self.fd` is owned by this handle and not used after this.
        let _ = unsafe { sys::close(self.fd) };
    }
}

/// A userfaultfd that is open but has not done the `UFFDIO_API` handshake yet (every other
/// ioctl and `read` give EINVAL until it has). Closes its file descriptor on drop.
///
/// [`Builder::open_unnegotiated`] makes one; [`Unnegotiated::api`] issues the handshake by
/// hand (e.g. to see what the kernel does with odd values), [`Unnegotiated::negotiate`] turns
/// it into a [`Uffd`].
#[derive(Debug)]
pub struct Unnegotiated {
    fd: i32,
    page_size: usize,
}

impl Unnegotiated {
    /// Takes ownership of a userfaultfd that has not done `UFFDIO_API`.
    ///
    /// # Safety
    /// `fd` must be an open userfaultfd owned by nobody else (it is closed on drop).
    pub const unsafe fn from_raw_fd(fd: i32, page_size: usize) -> Self {
        Unnegotiated { fd, page_size }
    }
    /// The file descriptor (still owned by `self`).
    pub const fn as_raw_fd(&self) -> i32 {
        self.fd
    }
    /// Gives up ownership of the file descriptor without closing it.
    pub fn into_raw_fd(self) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }

    /// `ioctl(fd, UFFDIO_API, &{api, features})`: the handshake, by hand. Returns the struct
    /// as the kernel left it: on success `features` holds every feature the kernel offers and
    /// `ioctls` the fd-wide ioctl mask.
    ///
    /// Since Linux 4.3. It succeeds once per fd: a second call gives EINVAL (the kernel
    /// zeroes the struct on every error). EINVAL also for `api != UFFD_API` and for features
    /// the kernel does not offer; EPERM for `EVENT_FORK` without `CAP_SYS_PTRACE`.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn api(&self, api: u64, features: u64) -> Result<crate::abi::uffdio_api, Errno> {
        let mut arg = crate::abi::uffdio_api {
            api,
            features,
            ioctls: 0,
        };
        // SAFETY: `self.fd` is a userfaultfd; UFFDIO_API reads and writes one `uffdio_api`,
        // which `arg` is, borrowed mutably for the call.
        unsafe { sys::ioctl(self.fd, crate::abi::UFFDIO_API, &mut arg as *mut _ as usize) }?;
        Ok(arg)
    }

    /// `ioctl(fd, UFFDIO_API, &{UFFD_API, features})`, then wraps the fd as a [`Uffd`].
    ///
    /// Since Linux 4.3. The fd is closed if the handshake fails.
    ///
    /// # Safety
    /// The handle it returns carries the [capability promise](Uffd#the-capability): no range
    /// its range operations are applied to holds memory a Rust value relies on (the kernel lets
    /// them reach ranges other code registered with other userfaultfds of this process).
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub unsafe fn negotiate(self, features: Features) -> Result<Uffd, crate::Error> {
        let got = self
            .api(crate::abi::UFFD_API, features.bits())
            .map_err(|e| crate::Error::sys(crate::Call::Api, e))?;
        Ok(self.into_negotiated(features, &got))
    }

    /// The handle after a successful handshake that asked for `features` and got `api` back.
    pub(crate) fn into_negotiated(self, features: Features, api: &crate::abi::uffdio_api) -> Uffd {
        let mut granted = features;
        if granted.contains(Features::WP_ASYNC) {
            granted |= Features::WP_UNPOPULATED;
        }
        let page_size = self.page_size;
        let fd = self.into_raw_fd();
        Uffd {
            fd,
            features: granted,
            available: Features::from_bits_retain(api.features),
            ioctls: Ioctls::from_bits_retain(api.ioctls),
            page_size,
        }
    }
}

impl Drop for Unnegotiated {
    fn drop(&mut self) {
        // SAFETY: `self.fd` is owned by this value and not used after this.
        let _ = unsafe { sys::close(self.fd) };
    }
}

use crate::sys::Errno;

#[cfg(all(feature = "std", target_os = "linux"))]
mod std_impls {
    use super::{Uffd, Unnegotiated};
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

    impl AsRawFd for Uffd {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }
    impl AsFd for Uffd {
        fn as_fd(&self) -> BorrowedFd<'_> {
            // SAFETY: `self.fd` is open for as long as `self` is borrowed.
            unsafe { BorrowedFd::borrow_raw(self.fd) }
        }
    }
    impl IntoRawFd for Uffd {
        fn into_raw_fd(self) -> RawFd {
            Uffd::into_raw_fd(self)
        }
    }
    impl From<Uffd> for OwnedFd {
        fn from(u: Uffd) -> OwnedFd {
            // SAFETY: `into_raw_fd` hands over sole ownership of an open fd.
            unsafe { OwnedFd::from_raw_fd(u.into_raw_fd()) }
        }
    }
    // No `FromRawFd for Uffd`: a raw fd does not carry the negotiated features, and a handle
    // that forgot them (no `thread_id`, no WP_ASYNC) would be silently wrong. Use
    // `Uffd::from_received_fd` (features read back from fdinfo) or `Uffd::from_raw_parts`.
    impl AsRawFd for Unnegotiated {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }
    impl AsFd for Unnegotiated {
        fn as_fd(&self) -> BorrowedFd<'_> {
            // SAFETY: `self.fd` is open for as long as `self` is borrowed.
            unsafe { BorrowedFd::borrow_raw(self.fd) }
        }
    }
    impl IntoRawFd for Unnegotiated {
        fn into_raw_fd(self) -> RawFd {
            Unnegotiated::into_raw_fd(self)
        }
    }
    impl FromRawFd for Unnegotiated {
        unsafe fn from_raw_fd(fd: RawFd) -> Self {
            let ps = crate::sys::page_size().unwrap_or(0);
            // SAFETY: forwarded to the caller (an owned userfaultfd before UFFDIO_API).
            unsafe { Unnegotiated::from_raw_fd(fd, ps) }
        }
    }
    impl From<Unnegotiated> for OwnedFd {
        fn from(u: Unnegotiated) -> OwnedFd {
            // SAFETY: `into_raw_fd` hands over sole ownership of an open fd.
            unsafe { OwnedFd::from_raw_fd(u.into_raw_fd()) }
        }
    }
}
