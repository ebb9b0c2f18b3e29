//! Events: reading `uffd_msg`s into a caller's buffer (batched, no allocation) and decoding
//! them into [`Event`]s.

use crate::abi::*;
use crate::error::{Call, Error};
use crate::flags::{Features, PagefaultFlags};
use crate::sys::{self, Errno};
use crate::uffd::Uffd;

/// One decoded message.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// `UFFD_EVENT_PAGEFAULT` (Linux 4.3): a thread is blocked on `address`.
    Pagefault {
        /// `WRITE`, `WP`, `MINOR`, and bits of newer kernels.
        flags: PagefaultFlags,
        /// The faulting address: rounded down to the page unless `EXACT_ADDRESS` (5.18) was
        /// negotiated.
        address: usize,
        /// The faulting thread's id, when `THREAD_ID` (4.14) was negotiated.
        thread_id: Option<u32>,
    },
    /// `UFFD_EVENT_FORK` (4.11): the process forked; the child's memory is served by this new,
    /// already negotiated userfaultfd (owned: dropping it closes it).
    Fork(Uffd),
    /// `UFFD_EVENT_REMAP` (4.11): `mremap` moved `[from, from+len)` to `to`.
    Remap {
        /// Old start.
        from: usize,
        /// New start.
        to: usize,
        /// Length of the old mapping.
        len: usize,
    },
    /// `UFFD_EVENT_REMOVE` (4.11): `madvise(MADV_DONTNEED/REMOVE)` dropped `[start, end)`.
    Remove {
        /// Start.
        start: usize,
        /// End (exclusive).
        end: usize,
    },
    /// `UFFD_EVENT_UNMAP` (4.11): `munmap` (or an `mremap` shrink) removed `[start, end)`.
    Unmap {
        /// Start.
        start: usize,
        /// End (exclusive).
        end: usize,
    },
}

impl Event {
    /// Decodes one message read from a userfaultfd negotiated with `features` (`page_size` is
    /// given to the new handle of a FORK event).
    ///
    /// An unknown event code is [`Error::UnknownEvent`]. Pure decoding, no system call.
    ///
    /// # Safety
    /// - All 32 bytes of `msg` are initialised: it was read from the kernel (which writes
    ///   whole messages), or built from bytes. Safe code can build a `uffd_msg` whose union is
    ///   partly uninitialised (`arg: uffd_msg_arg { fork: .. }`); decoding reads all of it.
    /// - If `msg` is a `UFFD_EVENT_FORK`, the returned [`Event::Fork`] owns (and will close)
    ///   the file descriptor it names: decode each FORK message at most once, and only
    ///   messages really read from the kernel (or whose fd the caller owns). The child's
    ///   registered ranges were registered by this process (and inherited), so they stay under
    ///   the promise of [`Uffd::register`].
    #[inline]
    pub unsafe fn from_msg(
        msg: &uffd_msg,
        features: Features,
        page_size: usize,
    ) -> Result<Event, Error> {
        // Every union member is plain integers, so reading `reserved` is always defined; the
        // members are decoded from those 24 bytes rather than through the union.
        let a = msg.raw_arg();
        let u = |x: u64| x as usize;
        match msg.event {
            UFFD_EVENT_PAGEFAULT => {
                let ptid = (a[2] & 0xffff_ffff) as u32;
                let ptid = if cfg!(target_endian = "big") {
                    (a[2] >> 32) as u32
                } else {
                    ptid
                };
                Ok(Event::Pagefault {
                    flags: PagefaultFlags::from_bits_retain(a[0]),
                    address: u(a[1]),
                    thread_id: features.contains(Features::THREAD_ID).then_some(ptid),
                })
            }
            UFFD_EVENT_FORK => {
                let ufd = if cfg!(target_endian = "big") {
                    (a[0] >> 32) as u32
                } else {
                    (a[0] & 0xffff_ffff) as u32
                };
                if ufd > i32::MAX as u32 {
                    return Err(Error::BadForkFd(ufd));
                }
                let ioctls = crate::flags::Ioctls::from_bits_retain(UFFD_API_IOCTLS);
                // SAFETY: the caller promises the message came from the kernel, which installed
                // `ufd` in our fd table for us to own; the child's fd inherits the features.
                Ok(Event::Fork(unsafe {
                    Uffd::from_raw_parts(ufd as i32, features, ioctls, page_size)
                }))
            }
            UFFD_EVENT_REMAP => Ok(Event::Remap {
                from: u(a[0]),
                to: u(a[1]),
                len: u(a[2]),
            }),
            UFFD_EVENT_REMOVE => Ok(Event::Remove {
                start: u(a[0]),
                end: u(a[1]),
            }),
            UFFD_EVENT_UNMAP => Ok(Event::Unmap {
                start: u(a[0]),
                end: u(a[1]),
            }),
            other => Err(Error::UnknownEvent(other)),
        }
    }
}

trait RawArg {
    fn raw_arg(&self) -> [u64; 3];
}
impl RawArg for uffd_msg {
    #[inline(always)]
    fn raw_arg(&self) -> [u64; 3] {
        // The struct is packed: read the three words of `arg` unaligned, through a raw pointer
        // (no references to fields).
        let p = self as *const uffd_msg as *const u8;
        // SAFETY: `p` points to the 32 initialised bytes of `*self`, borrowed for this call;
        // bytes 8..32 are the three words, read unaligned.
        let w = |o: usize| unsafe { p.add(o).cast::<u64>().read_unaligned() };
        [w(8), w(16), w(24)]
    }
}

/// Messages read by one [`Uffd::read_events`], decoded lazily.
///
/// Dropping it decodes what is left and drops it, so the fds of unconsumed FORK events are
/// closed, not leaked. `mem::forget` of an `Events` (safe, as every leak is) skips that: the
/// FORK fds it has not yet yielded stay open until the process exits, and with them the
/// child's registrations, so the child's faulting threads wait for a handler that never
/// comes.
pub struct Events<'a> {
    msgs: core::slice::Iter<'a, uffd_msg>,
    features: Features,
    page_size: usize,
}

impl Events<'_> {
    /// How many messages are left.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }
    /// Whether none are left.
    pub fn is_empty(&self) -> bool {
        self.msgs.len() == 0
    }
}

impl Iterator for Events<'_> {
    type Item = Result<Event, Error>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let m = self.msgs.next()?;
        // SAFETY: the messages were just read from the kernel into the caller's buffer, which
        // `Events` borrows mutably, and each is decoded once.
        Some(unsafe { Event::from_msg(m, self.features, self.page_size) })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.msgs.size_hint()
    }
}

impl Drop for Events<'_> {
    #[inline]
    fn drop(&mut self) {
        for e in self.by_ref() {
            drop(e);
        }
    }
}

impl Uffd {
    /// `read(fd, buf, n * sizeof(struct uffd_msg))`: reads as many pending messages as fit in
    /// `buf` and returns them for decoding; `Ok(None)` means nothing is pending (only on a
    /// non-blocking fd). EINTR is retried. A blocking fd waits for the first message.
    ///
    /// Since Linux 4.3. An empty `buf` is EINVAL.
    ///
    /// # References
    /// - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
    #[inline]
    pub fn read_events<'b>(&self, buf: &'b mut [uffd_msg]) -> Result<Option<Events<'b>>, Error> {
        let n = loop {
            // SAFETY: the fd is this handle's own, open while `self` is borrowed.
            match unsafe { sys::read_msgs(self.as_raw_fd(), buf) } {
                Ok(n) => break n,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(e) => return Err(Error::sys(Call::Read, e)),
            }
        };
        Ok(Some(Events {
            msgs: buf[..n].iter(),
            features: self.features(),
            page_size: self.page_size(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(event: u8, words: [u64; 3]) -> uffd_msg {
        let mut b = [0u8; 32];
        b[0] = event;
        for (i, w) in words.iter().enumerate() {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&w.to_ne_bytes());
        }
        let mut m = uffd_msg::zeroed();
        let p = &mut m as *mut uffd_msg as *mut u8;
        for (i, x) in b.iter().enumerate() {
            // SAFETY: test: writing the 32 bytes of a local packed POD struct.
            unsafe { p.add(i).write(*x) };
        }
        m
    }

    fn decode(m: &uffd_msg, f: Features) -> Result<Event, Error> {
        // SAFETY: no FORK messages go through here.
        unsafe { Event::from_msg(m, f, 4096) }
    }

    #[test]
    fn pagefault() {
        // ptid sits in the first 4 bytes of the third word (offset 24 of the message).
        let ptid_word = if cfg!(target_endian = "big") {
            1234u64 << 32
        } else {
            1234
        };
        let m = msg(UFFD_EVENT_PAGEFAULT, [0b11, 0x7000_1000, ptid_word]);
        match decode(&m, Features::THREAD_ID).unwrap() {
            Event::Pagefault {
                flags,
                address,
                thread_id,
            } => {
                assert_eq!(flags, PagefaultFlags::WRITE | PagefaultFlags::WP);
                assert_eq!(address, 0x7000_1000);
                assert_eq!(thread_id, Some(1234));
            }
            e => panic!("{e:?}"),
        }
        // Without THREAD_ID negotiated, no thread id; unknown flag bits are kept.
        let m = msg(UFFD_EVENT_PAGEFAULT, [1 << 40, 0x2000, 0]);
        match decode(&m, Features::empty()).unwrap() {
            Event::Pagefault {
                flags, thread_id, ..
            } => {
                assert_eq!(flags.bits(), 1 << 40);
                assert_eq!(thread_id, None);
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn remap_remove_unmap_unknown() {
        let m = msg(UFFD_EVENT_REMAP, [0x1000, 0x9000, 0x3000]);
        assert!(matches!(
            decode(&m, Features::empty()),
            Ok(Event::Remap {
                from: 0x1000,
                to: 0x9000,
                len: 0x3000
            })
        ));
        let m = msg(UFFD_EVENT_REMOVE, [0x4000, 0x6000, 0]);
        assert!(matches!(
            decode(&m, Features::empty()),
            Ok(Event::Remove {
                start: 0x4000,
                end: 0x6000
            })
        ));
        let m = msg(UFFD_EVENT_UNMAP, [0x4000, 0x6000, 0]);
        assert!(matches!(
            decode(&m, Features::empty()),
            Ok(Event::Unmap {
                start: 0x4000,
                end: 0x6000
            })
        ));
        let m = msg(0x42, [0; 3]);
        assert_eq!(
            decode(&m, Features::empty()).unwrap_err(),
            Error::UnknownEvent(0x42)
        );
    }

    #[test]
    fn fork_fd_is_owned_and_checked() {
        let word = |fd: u32| {
            if cfg!(target_endian = "big") {
                (fd as u64) << 32
            } else {
                fd as u64
            }
        };
        let m = msg(UFFD_EVENT_FORK, [word(0x8000_0000), 0, 0]);
        assert_eq!(
            decode(&m, Features::empty()).unwrap_err(),
            Error::BadForkFd(0x8000_0000)
        );
        let m = msg(UFFD_EVENT_FORK, [word(77), 0, 0]);
        match decode(&m, Features::EVENT_FORK).unwrap() {
            Event::Fork(u) => {
                assert_eq!(u.features(), Features::EVENT_FORK);
                // Not a real fd: give it up instead of closing it.
                assert_eq!(u.into_raw_fd(), 77);
            }
            e => panic!("{e:?}"),
        }
    }
}
