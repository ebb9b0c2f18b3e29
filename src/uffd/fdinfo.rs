//! [`Uffd::from_received_fd`] (and [`Uffd::from_owned_fd`] under `std`): adopting a negotiated
//! userfaultfd from elsewhere (another process over `SCM_RIGHTS`, a parent across `execve`)
//! with its features read back from `/proc/self/fdinfo/<fd>`. Its `O_NONBLOCK` is the
//! sender's choice ([`Uffd::set_non_blocking`] fixes it).

use super::Uffd;
use crate::error::{Call, Error};
use crate::flags::{Features, Ioctls};
use crate::sys::{self, Errno};

/// The kernel's own bit in the features it shows in fdinfo (`UFFD_FEATURE_INITIALIZED`,
/// `1u << 31` in `fs/userfaultfd.c`): set once `UFFDIO_API` has succeeded, never a feature.
const FEATURE_INITIALIZED: u64 = 1 << 31;

impl Uffd {
    /// Adopts a userfaultfd that completed `UFFDIO_API` elsewhere, recovering the negotiated
    /// features from `/proc/self/fdinfo/<fd>`, whose `API:` line the kernel writes as
    /// `API:\t<api>:<features>:<ioctls>` (hex).
    ///
    /// Since Linux 4.3 (the `API:` line). Needs `/proc` mounted: without it this is
    /// `Error::Sys { call: Call::FdInfo, .. }` and [`Uffd::from_raw_parts`] takes the features
    /// from the caller instead (send them along with the fd). [`Error::NotUserfaultfd`] for
    /// another kind of fd, [`Error::NotNegotiated`] before the handshake, EBADF for a closed
    /// one. The page size is this process's.
    ///
    /// The kernel marks a completed handshake with its own bit (`UFFD_FEATURE_INITIALIZED`,
    /// bit 31 of the features it shows; seen on 6.1 and 6.18: `API:\taa:80000000:..` for an fd
    /// negotiated with no features, `aa:0:..` before the handshake). On a kernel that predates
    /// that bit, an fd negotiated with no features is indistinguishable from an unnegotiated
    /// one and is reported as [`Error::NotNegotiated`]: use `from_raw_parts` there. [`available_features`](Self::available_features) is unknown here and
    /// reported as the negotiated set.
    ///
    /// # Safety
    /// - `fd` must be open and owned by nobody else (it is closed on drop, also on error).
    /// - The [capability promise](Self#the-capability), for the process whose memory the fd
    ///   serves (the one that created it): no range the handle's range operations are applied
    ///   to — the ranges already registered on it, and those other code of that process
    ///   registered with other userfaultfds — holds memory a Rust value of that process
    ///   relies on.
    ///
    /// # References
    /// - [`proc_pid_fdinfo(5)`](https://man7.org/linux/man-pages/man5/proc_pid_fdinfo.5.html)
    pub unsafe fn from_received_fd(fd: i32) -> Result<Uffd, Error> {
        let close = || {
            // SAFETY: the caller gave us ownership of `fd`; it is not used afterwards.
            let _ = unsafe { sys::close(fd) };
        };
        let negotiated = read_api_line(fd).and_then(|api| match api {
            None => Err(Error::NotUserfaultfd(fd)),
            // No feature and no INITIALIZED bit: the handshake has not happened.
            Some((_, 0, _)) => Err(Error::NotNegotiated(fd)),
            Some((_, features, _)) => {
                Ok(Features::from_bits_retain(features & !FEATURE_INITIALIZED))
            }
        });
        let features = match negotiated {
            Ok(f) => f,
            Err(e) => {
                close();
                return Err(e);
            }
        };
        let page_size = match sys::page_size() {
            Ok(p) => p,
            Err(e) => {
                close();
                return Err(Error::sys(Call::PageSize, e));
            }
        };
        // SAFETY: forwarded to the caller (owned, negotiated userfaultfd); the features are
        // the kernel's own record of the handshake.
        Ok(unsafe {
            Uffd::from_raw_parts(
                fd,
                features,
                Ioctls::from_bits_retain(crate::abi::UFFD_API_IOCTLS),
                page_size,
            )
        })
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
impl Uffd {
    /// Adopts a received userfaultfd ([`from_received_fd`](Self::from_received_fd), taking an
    /// `OwnedFd`): its features are read back from `/proc/self/fdinfo/<fd>`. The fd is closed
    /// on error. `uffd::handoff::recv` gives one.
    ///
    /// Since Linux 4.3 (the fdinfo `API:` line).
    ///
    /// # Safety
    /// The [capability promise](Self#the-capability), for the process whose memory the fd
    /// serves (the one that created it): no range the handle's range operations are applied
    /// to — the ranges already registered on it, and those other code of that process
    /// registered with other userfaultfds — holds memory a Rust value of that process relies
    /// on. (That the fd is owned, the other half of `from_received_fd`'s contract, the
    /// `OwnedFd` guarantees.)
    ///
    /// # References
    /// - [`proc_pid_fdinfo(5)`](https://man7.org/linux/man-pages/man5/proc_pid_fdinfo.5.html)
    pub unsafe fn from_owned_fd(fd: std::os::fd::OwnedFd) -> Result<Uffd, Error> {
        use std::os::fd::IntoRawFd;
        // SAFETY: an `OwnedFd` is open and ours alone; the capability promise is forwarded.
        unsafe { Uffd::from_received_fd(fd.into_raw_fd()) }
    }
}

/// Reads `/proc/self/fdinfo/<fd>` and parses its `API:` line (`None` if it has none).
fn read_api_line(fd: i32) -> Result<Option<(u64, u64, u64)>, Error> {
    let Ok(mut n) = u32::try_from(fd) else {
        return Err(Error::sys(Call::FdInfo, Errno::EBADF));
    };
    let mut path = [0u8; 40];
    let prefix = b"/proc/self/fdinfo/";
    path[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let d = &digits[i..];
    path[prefix.len()..prefix.len() + d.len()].copy_from_slice(d);
    let err = |e| Error::sys(Call::FdInfo, e);
    // At most 18 + 10 of the 40 bytes are written: a NUL always follows.
    let path = core::ffi::CStr::from_bytes_until_nul(&path).map_err(|_| err(Errno::EINVAL))?;
    // SAFETY: AT_FDCWD names no descriptor of anyone's.
    let info = match unsafe { sys::openat(sys::AT_FDCWD, path, sys::O_RDONLY | sys::O_CLOEXEC, 0) }
    {
        Ok(info) => info,
        // No fdinfo entry: no such descriptor.
        Err(Errno::ENOENT) => return Err(err(Errno::EBADF)),
        Err(e) => return Err(err(e)),
    };
    // One read: fdinfo is a seq_file whose one record (pos, flags, mnt_id, ino, API: about
    // 100 bytes) comes whole in the first read of a buffer this size.
    let mut buf = [0u8; 512];
    let r = loop {
        // SAFETY: `info` was opened above and is ours until the close below.
        match unsafe { sys::read(info, &mut buf) } {
            Err(Errno::EINTR) => continue,
            r => break r.map_err(err),
        }
    };
    // SAFETY: `info` was opened above and is not used afterwards.
    let _ = unsafe { sys::close(info) };
    Ok(parse_api_line(&buf[..r?]))
}

/// `API:\t<hex>:<hex>:<hex>` of an fdinfo text.
fn parse_api_line(text: &[u8]) -> Option<(u64, u64, u64)> {
    let line = text
        .split(|&b| b == b'\n')
        .find(|l| l.starts_with(b"API:"))?;
    let mut fields = line[4..].split(|&b| b == b':').map(|f| {
        let f = f.trim_ascii();
        if f.is_empty() || f.len() > 16 {
            return None;
        }
        f.iter().try_fold(0u64, |acc, &c| {
            let v = (c as char).to_digit(16)?;
            Some((acc << 4) + v as u64)
        })
    });
    let api = fields.next()??;
    let features = fields.next()??;
    let ioctls = fields.next()??;
    Some((api, features, ioctls))
}

#[cfg(test)]
mod tests {
    use super::parse_api_line;

    #[test]
    fn api_line() {
        // As Linux 6.18 prints it for an fd negotiated with THREAD_ID.
        let text = b"pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\npending:\t0\n\
                     total:\t0\nAPI:\taa:80000100:80000000000001ff\n";
        assert_eq!(
            parse_api_line(text),
            Some((0xaa, 0x8000_0100, 0x8000_0000_0000_01ff))
        );
        assert_eq!(parse_api_line(b"pos:\t0\nflags:\t02\n"), None);
        assert_eq!(parse_api_line(b"API:\tzz:1:2\n"), None);
        assert_eq!(parse_api_line(b"API:\taa:1\n"), None);
        // An empty field, or more hex digits than a u64 holds, is no value (not 0, not the
        // low 64 bits).
        assert_eq!(parse_api_line(b"API:\taa::1\n"), None);
        assert_eq!(parse_api_line(b"API:\taa:10000000000000000:1\n"), None);
        assert_eq!(
            parse_api_line(b"API:\taa:ffffffffffffffff:1\n"),
            Some((0xaa, u64::MAX, 1))
        );
    }
}
