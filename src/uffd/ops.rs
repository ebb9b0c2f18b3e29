//! The `UFFDIO_*` range operations of a [`Uffd`].
//!
//! Ranges are checked before any system call against the kernel's documented rules (start
//! page-aligned, length a non-zero page multiple, no wrap-around): a bad one is
//! [`Error::Range`]. Operations that can stop part-way report the bytes done and the errno that
//! stopped them ([`Error::Partial`]); a negative result field is never read as a length.

use super::Uffd;
use crate::abi::*;
use crate::error::{Call, Error, RangeError};
use crate::flags::*;
use crate::sys::{self, Errno};

/// Checks `start`/`len` against `page_size` (0: alignment not checked).
#[inline(always)]
pub(crate) fn check_range(page_size: usize, start: usize, len: usize) -> Result<(), RangeError> {
    // The usual case in a few instructions and no division: a power-of-two page size, both
    // aligned, non-empty, no wrap-around. Anything else (including page size 0) takes the
    // full check, which names the rule broken.
    let mask = page_size.wrapping_sub(1);
    if page_size & mask == 0
        && (start | len) & mask == 0
        && len != 0
        && start.checked_add(len).is_some()
    {
        return Ok(());
    }
    check_range_slow(page_size, start, len)
}

#[cold]
#[inline(never)]
fn check_range_slow(page_size: usize, start: usize, len: usize) -> Result<(), RangeError> {
    if len == 0 {
        return Err(RangeError::Empty);
    }
    if start.checked_add(len).is_none() {
        return Err(RangeError::Overflow);
    }
    if page_size != 0 {
        if !start.is_multiple_of(page_size) {
            return Err(RangeError::UnalignedStart(start));
        }
        if !len.is_multiple_of(page_size) {
            return Err(RangeError::UnalignedLen(len));
        }
    }
    Ok(())
}

/// Decodes a range operation: the ioctl's result and the struct's result field (`copy`,
/// `zeropage`, `mapped`, `updated`, `move`), which the kernel leaves untouched (we preset 0),
/// sets to the bytes done, or to `-errno`.
#[inline(always)]
pub(crate) fn progress(
    call: Call,
    ret: Result<usize, Errno>,
    field: i64,
    len: usize,
) -> Result<usize, Error> {
    match ret {
        Ok(_) => Ok(len),
        Err(errno) => {
            if field > 0 {
                // Some bytes done; the ioctl's errno (EAGAIN) says it stopped.
                let done = if field as u64 > len as u64 {
                    len
                } else {
                    field as usize
                };
                Err(Error::Partial { call, done, errno })
            } else if (-4095..0).contains(&field) {
                Err(Error::Partial {
                    call,
                    done: 0,
                    errno: Errno::from_raw(-field as i32),
                })
            } else {
                Err(Error::Partial {
                    call,
                    done: 0,
                    errno,
                })
            }
        }
    }
}

impl Uffd {
    #[inline(always)]
    fn range(&self, start: usize, len: usize) -> Result<uffdio_range, Error> {
        check_range(self.page_size, start, len)?;
        Ok(uffdio_range {
            start: start as u64,
            len: len as u64,
        })
    }

    /// Issues `request` with `arg`.
    #[inline(always)]
    fn ioctl<T>(&self, request: u32, arg: &mut T) -> Result<usize, Errno> {
        // SAFETY: `self.fd` is a negotiated userfaultfd; every request passed here is a
        // `UFFDIO_*` whose encoded size is `size_of::<T>()` for the `T` our callers pass, and
        // the kernel reads and writes only that struct, borrowed mutably for the call.
        unsafe { sys::ioctl(self.fd, request, arg as *mut T as usize) }
    }

    /// `ioctl(fd, UFFDIO_REGISTER, &{range, mode})`: registers `[start, start+len)` for the
    /// fault kinds in `mode`, returning the range's ioctl mask (bits of a newer kernel kept).
    ///
    /// Since Linux 4.3 (MODE_WP 5.7, MODE_MINOR 5.13 for hugetlbfs / 5.14 shmem). EINVAL for
    /// an empty mode, no or an incompatible mapping (e.g. MINOR on anonymous memory); EBUSY if
    /// another userfaultfd has it; EPERM for a mapping without `VM_MAYWRITE`.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn register(&self, start: usize, len: usize, mode: RegisterMode) -> Result<Ioctls, Error> {
        let mut arg = uffdio_register {
            range: self.range(start, len)?,
            mode: mode.bits(),
            ioctls: 0,
        };
        self.ioctl(UFFDIO_REGISTER, &mut arg)
            .map_err(|e| Error::sys(Call::Register, e))?;
        Ok(Ioctls::from_bits_retain(arg.ioctls))
    }

    /// `ioctl(fd, UFFDIO_UNREGISTER, &range)`: unregisters the range (an unregistered range is
    /// fine) and wakes threads waiting on MISSING faults in it.
    ///
    /// Since Linux 4.3.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn unregister(&self, start: usize, len: usize) -> Result<(), Error> {
        let mut arg = self.range(start, len)?;
        self.ioctl(UFFDIO_UNREGISTER, &mut arg)
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Unregister, e))
    }

    /// `ioctl(fd, UFFDIO_WAKE, &range)`: wakes the threads waiting on faults in the range
    /// (after operations done with `DONTWAKE`).
    ///
    /// Since Linux 4.3.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub fn wake(&self, start: usize, len: usize) -> Result<(), Error> {
        let mut arg = self.range(start, len)?;
        self.ioctl(UFFDIO_WAKE, &mut arg)
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Wake, e))
    }

    /// `ioctl(fd, UFFDIO_COPY, &{dst, src, len, mode})`: fills the missing pages of
    /// `[dst, dst+len)` with a copy of `[src, src+len)` (read by the kernel from this process,
    /// faults included: an unreadable source gives EFAULT) and wakes the waiters unless
    /// `DONTWAKE`. Returns `len`.
    ///
    /// Since Linux 4.3 (`MODE_WP` 5.7). `src` need not be aligned. Stops with EEXIST on a page
    /// already present, ENOENT outside a registered range, EAGAIN while a non-cooperative event
    /// is unread: see [`Error::Partial`].
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub fn copy(&self, dst: usize, src: usize, len: usize, mode: CopyMode) -> Result<usize, Error> {
        let r = self.range(dst, len)?;
        if src.checked_add(len).is_none() {
            return Err(RangeError::Overflow.into());
        }
        let mut arg = uffdio_copy {
            dst: r.start,
            src: src as u64,
            len: r.len,
            mode: mode.bits(),
            copy: 0,
        };
        let ret = self.ioctl(UFFDIO_COPY, &mut arg);
        progress(Call::Copy, ret, arg.copy, len)
    }

    /// `ioctl(fd, UFFDIO_ZEROPAGE, &{range, mode})`: maps zero pages at the missing pages of
    /// the range. Returns `len`.
    ///
    /// Since Linux 4.3 (shmem 4.11). Not for hugetlbfs. EEXIST on a page already present.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub fn zeropage(&self, start: usize, len: usize, mode: ZeropageMode) -> Result<usize, Error> {
        let mut arg = uffdio_zeropage {
            range: self.range(start, len)?,
            mode: mode.bits(),
            zeropage: 0,
        };
        let ret = self.ioctl(UFFDIO_ZEROPAGE, &mut arg);
        progress(Call::Zeropage, ret, arg.zeropage, len)
    }

    /// `ioctl(fd, UFFDIO_WRITEPROTECT, &{range, mode})`: write-protects the range (`MODE_WP`)
    /// or removes the protection (waking the threads blocked on it unless `DONTWAKE`).
    ///
    /// Since Linux 5.7 (anonymous), 5.19 (shmem, hugetlbfs). The range must be registered with
    /// `MODE_WP` (ENOENT otherwise); `WP | DONTWAKE` is EINVAL.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub fn writeprotect(
        &self,
        start: usize,
        len: usize,
        mode: WriteprotectMode,
    ) -> Result<(), Error> {
        let mut arg = uffdio_writeprotect {
            range: self.range(start, len)?,
            mode: mode.bits(),
        };
        self.ioctl(UFFDIO_WRITEPROTECT, &mut arg)
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Writeprotect, e))
    }

    /// `ioctl(fd, UFFDIO_CONTINUE, &{range, mode})`: resolves minor faults by mapping the
    /// pages already in the page cache. Returns `len`.
    ///
    /// Since Linux 5.13 (hugetlbfs), 5.14 (shmem); `MODE_WP` 6.4. Only for `MODE_MINOR`
    /// registrations; EEXIST if already mapped, EFAULT if the page cache has no page.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub fn continue_(&self, start: usize, len: usize, mode: ContinueMode) -> Result<usize, Error> {
        let mut arg = uffdio_continue {
            range: self.range(start, len)?,
            mode: mode.bits(),
            mapped: 0,
        };
        let ret = self.ioctl(UFFDIO_CONTINUE, &mut arg);
        progress(Call::Continue, ret, arg.mapped, len)
    }

    /// `ioctl(fd, UFFDIO_POISON, &{range, mode})`: marks the missing pages of the range
    /// poisoned: a later access raises SIGBUS. Returns `len`.
    ///
    /// Since Linux 6.6 (`UFFD_FEATURE_POISON`).
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub fn poison(&self, start: usize, len: usize, mode: PoisonMode) -> Result<usize, Error> {
        let mut arg = uffdio_poison {
            range: self.range(start, len)?,
            mode: mode.bits(),
            updated: 0,
        };
        let ret = self.ioctl(UFFDIO_POISON, &mut arg);
        progress(Call::Poison, ret, arg.updated, len)
    }

    /// `ioctl(fd, UFFDIO_MOVE, &{dst, src, len, mode})`: moves the pages of `[src, src+len)`
    /// to the missing pages of `[dst, dst+len)` without copying; the source becomes missing.
    /// Returns `len`.
    ///
    /// Since Linux 6.8 (`UFFD_FEATURE_MOVE`). Private anonymous memory of the caller's own
    /// process only; `dst` registered with this userfaultfd. A hole in the source is ENOENT
    /// unless `ALLOW_SRC_HOLES`; EBUSY for a pinned source page.
    ///
    /// # Safety
    /// The pages of the source range vanish from under any Rust value that lives there: no
    /// reference into `[src, src+len)` may be used afterwards as if it still held its data.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    pub unsafe fn move_(
        &self,
        dst: usize,
        src: usize,
        len: usize,
        mode: MoveMode,
    ) -> Result<usize, Error> {
        let r = self.range(dst, len)?;
        if src.checked_add(len).is_none() {
            return Err(RangeError::Overflow.into());
        }
        if self.page_size != 0 && !src.is_multiple_of(self.page_size) {
            return Err(RangeError::UnalignedSrc(src).into());
        }
        let mut arg = uffdio_move {
            dst: r.start,
            src: src as u64,
            len: r.len,
            mode: mode.bits(),
            r#move: 0,
        };
        let ret = self.ioctl(UFFDIO_MOVE, &mut arg);
        progress(Call::Move, ret, arg.r#move, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_rules() {
        assert_eq!(check_range(4096, 0x1000, 0), Err(RangeError::Empty));
        assert_eq!(
            check_range(4096, usize::MAX - 4095, 8192),
            Err(RangeError::Overflow)
        );
        assert_eq!(
            check_range(4096, 0x1001, 4096),
            Err(RangeError::UnalignedStart(0x1001))
        );
        assert_eq!(
            check_range(4096, 0x1000, 100),
            Err(RangeError::UnalignedLen(100))
        );
        assert_eq!(
            check_range(65536, 0x1000, 65536),
            Err(RangeError::UnalignedStart(0x1000))
        );
        assert_eq!(check_range(4096, 0x1000, 8192), Ok(()));
        // Page size unknown: only emptiness and wrap-around are checked.
        assert_eq!(check_range(0, 0x1001, 3), Ok(()));
    }

    #[test]
    fn progress_never_reads_a_negative_result_as_a_length() {
        // Complete.
        assert_eq!(progress(Call::Copy, Ok(0), 8192, 8192), Ok(8192));
        // Partial: the kernel wrote 4096 and returned EAGAIN.
        assert_eq!(
            progress(Call::Copy, Err(Errno::EAGAIN), 4096, 8192),
            Err(Error::Partial {
                call: Call::Copy,
                done: 4096,
                errno: Errno::EAGAIN
            })
        );
        // mmap_changing: -EAGAIN in the field (userfaultfd-rs PR #91 read it as a length).
        let e = progress(Call::Copy, Err(Errno::EAGAIN), -11, 8192).unwrap_err();
        assert_eq!(e.done(), 0);
        assert_eq!(e.errno(), Some(Errno::EAGAIN));
        // EEXIST from the field.
        let e = progress(Call::Zeropage, Err(Errno::EEXIST), -17, 4096).unwrap_err();
        assert_eq!((e.done(), e.errno()), (0, Some(Errno::EEXIST)));
        // Field untouched (validation EINVAL, ESRCH): the ioctl's errno.
        let e = progress(Call::Continue, Err(Errno::ESRCH), 0, 4096).unwrap_err();
        assert_eq!((e.done(), e.errno()), (0, Some(Errno::ESRCH)));
        // Absurd field (beyond len, or below -4095) is not trusted.
        let e = progress(Call::Move, Err(Errno::EAGAIN), 1 << 40, 4096).unwrap_err();
        assert_eq!(e.done(), 4096);
        let e = progress(Call::Move, Err(Errno::EINVAL), i64::MIN, 4096).unwrap_err();
        assert_eq!((e.done(), e.errno()), (0, Some(Errno::EINVAL)));
    }
}
