//! The `UFFDIO_*` range operations of a [`Uffd`].
//!
//! Ranges are checked before any system call against the kernel's documented rules (start
//! page-aligned, length a non-zero page multiple, no wrap-around): a bad one is
//! [`Error::Range`]. Operations that can stop part-way report the bytes done and the errno that
//! stopped them ([`Error::Partial`]); a negative result field is never read as a length.

use super::Uffd;
use crate::abi::*;
use crate::error::{progress, Call, Error, RangeError};
use crate::flags::*;
use crate::sys::{self, Errno};

/// Checks `start`/`len` against `page_size` (0: alignment not checked).
#[inline(always)]
pub(crate) fn check_range(page_size: usize, start: usize, len: usize) -> Result<(), RangeError> {
    // The usual case in a few instructions and no division: a power-of-two page size, both
    // aligned, non-empty, no wrap-around. Anything else (including page size 0) takes the
    // full check, which names the rule broken.
    let mask = page_size.wrapping_sub(1);
    if page_size.is_power_of_two()
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
            return Err(RangeError::UnalignedStart { start, page_size });
        }
        if !len.is_multiple_of(page_size) {
            return Err(RangeError::UnalignedLen { len, page_size });
        }
    }
    Ok(())
}

/// The range operations, with the page size ranges are checked against passed in: the base
/// page size for [`Uffd`]'s methods, a huge page size for [`Hugetlb`](super::Hugetlb)'s.
impl Uffd {
    #[inline(always)]
    fn range_in(&self, page_size: usize, start: usize, len: usize) -> Result<uffdio_range, Error> {
        check_range(page_size, start, len)?;
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
        // the kernel reads and writes only that struct, borrowed mutably for the call. What
        // the request does to the address space is the caller's to justify.
        unsafe { sys::ioctl(self.fd, request, arg as *mut T as usize) }
    }

    /// # Safety
    /// As [`Uffd::register`].
    pub(super) unsafe fn register_in(
        &self,
        page_size: usize,
        start: usize,
        len: usize,
        mode: RegisterMode,
    ) -> Result<Ioctls, Error> {
        let mut arg = uffdio_register {
            range: self.range_in(page_size, start, len)?,
            mode: mode.bits(),
            ioctls: 0,
        };
        self.ioctl(UFFDIO_REGISTER, &mut arg)
            .map_err(|e| Error::sys(Call::Register, e))?;
        Ok(Ioctls::from_bits_retain(arg.ioctls))
    }

    pub(super) fn unregister_in(
        &self,
        page_size: usize,
        start: usize,
        len: usize,
    ) -> Result<(), Error> {
        let mut arg = self.range_in(page_size, start, len)?;
        self.ioctl(UFFDIO_UNREGISTER, &mut arg)
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Unregister, e))
    }

    #[inline(always)]
    pub(super) fn wake_in(&self, page_size: usize, start: usize, len: usize) -> Result<(), Error> {
        let mut arg = self.range_in(page_size, start, len)?;
        self.ioctl(UFFDIO_WAKE, &mut arg)
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Wake, e))
    }

    #[inline(always)]
    pub(super) fn copy_in(
        &self,
        page_size: usize,
        dst: usize,
        src: &[u8],
        mode: CopyMode,
    ) -> Result<(), Error> {
        let r = self.range_in(page_size, dst, src.len())?;
        let mut arg = uffdio_copy {
            dst: r.start,
            src: src.as_ptr() as u64,
            len: r.len,
            mode: mode.bits(),
            copy: 0,
        };
        // The kernel only reads `src`, which we borrow; it writes `dst` only if it lies in a
        // range registered with some userfaultfd of the process (ENOENT otherwise), which the
        // capability promise made when this handle was created covers.
        let ret = self.ioctl(UFFDIO_COPY, &mut arg);
        progress(Call::Copy, ret, arg.copy, src.len())
    }

    #[inline(always)]
    pub(super) fn writeprotect_in(
        &self,
        page_size: usize,
        start: usize,
        len: usize,
        mode: WriteprotectMode,
    ) -> Result<(), Error> {
        let mut arg = uffdio_writeprotect {
            range: self.range_in(page_size, start, len)?,
            mode: mode.bits(),
        };
        self.ioctl(UFFDIO_WRITEPROTECT, &mut arg)
            .map(|_| ())
            .map_err(|e| Error::sys(Call::Writeprotect, e))
    }

    #[inline(always)]
    pub(super) fn continue_in(
        &self,
        page_size: usize,
        start: usize,
        len: usize,
        mode: ContinueMode,
    ) -> Result<(), Error> {
        let mut arg = uffdio_continue {
            range: self.range_in(page_size, start, len)?,
            mode: mode.bits(),
            mapped: 0,
        };
        let ret = self.ioctl(UFFDIO_CONTINUE, &mut arg);
        progress(Call::Continue, ret, arg.mapped, len)
    }

    #[inline(always)]
    pub(super) fn poison_in(
        &self,
        page_size: usize,
        start: usize,
        len: usize,
        mode: PoisonMode,
    ) -> Result<(), Error> {
        let mut arg = uffdio_poison {
            range: self.range_in(page_size, start, len)?,
            mode: mode.bits(),
            updated: 0,
        };
        let ret = self.ioctl(UFFDIO_POISON, &mut arg);
        progress(Call::Poison, ret, arg.updated, len)
    }

    /// `ioctl(fd, UFFDIO_REGISTER, &{range, mode})`: registers `[start, start+len)` for the
    /// fault kinds in `mode`, returning the range's ioctl mask (bits of a newer kernel kept).
    ///
    /// Since Linux 4.3 (MODE_WP 5.7, MODE_MINOR 5.13 for hugetlbfs / 5.14 shmem). EINVAL for
    /// an empty mode, no or an incompatible mapping (e.g. MINOR on anonymous memory, or a
    /// hugetlb range not aligned to its huge page: use [`Uffd::hugetlb`]); EBUSY if another
    /// userfaultfd has it; EPERM for a mapping without `VM_MAYWRITE`.
    ///
    /// # Safety
    /// The promise for the ranges this adds to the handle's reach (see the guide's "Safety
    /// model", next to the [capability promise](Self#the-capability) made at creation): **no
    /// Rust value relies on the contents or the accessibility of `[start, start+len)` while it
    /// is registered.**
    ///
    /// Once registered, safe calls on this userfaultfd (or on the one a FORK event hands over
    /// for a child that inherits the registration) change the range behind the borrow
    /// checker's back: [`copy`](Self::copy), [`zeropage`](Self::zeropage) and
    /// [`continue_`](Self::continue_) fill its missing pages, [`poison`](Self::poison) makes
    /// them raise SIGBUS, [`writeprotect`](Self::writeprotect) makes writes block until
    /// resolved, and any access to a missing page blocks until a handler resolves it. So the
    /// range must hold no live Rust object (no `&`/`&mut` into it, no `Vec`/`Box` whose buffer
    /// it is): only memory the caller manages through raw pointers, e.g. a fresh `mmap`, a
    /// guest's RAM, an arena whose allocator hands out pages only once they are resolved. The
    /// promise lasts until [`unregister`](Self::unregister), or the mapping is unmapped, or
    /// every duplicate of the fd is closed: an `OwnedFd::try_clone`, an fd inherited by a
    /// child without `O_CLOEXEC`, or one sent to another process keeps the registration (and
    /// any userfaultfd of the process can still resolve into it) alive after this handle
    /// drops.
    ///
    /// Memory of another process (this userfaultfd was received from it) is not memory this
    /// process's Rust code can read: there the promise is about that process's values.
    ///
    /// Without `unsafe` this does not compile (the hole it closes: a safe `copy` changing what
    /// a live borrow reads):
    ///
    /// ```compile_fail,E0133
    /// # fn f(uffd: &uffd::Uffd, page: &[u8]) -> Result<(), uffd::Error> {
    /// let v = vec![0u8; 8 << 20];
    /// let start = (v.as_ptr() as usize + 4095) & !4095;
    /// uffd.register(start, 4096, uffd::flags::RegisterMode::MISSING)?;
    /// uffd.copy(start, page, uffd::flags::CopyMode::empty())?;
    /// assert_eq!(v[start - v.as_ptr() as usize], 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_REGISTER")]
    pub unsafe fn register(
        &self,
        start: usize,
        len: usize,
        mode: RegisterMode,
    ) -> Result<Ioctls, Error> {
        // SAFETY: forwarded to the caller.
        unsafe { self.register_in(self.page_size, start, len, mode) }
    }

    /// `ioctl(fd, UFFDIO_UNREGISTER, &range)`: unregisters the range (an unregistered range is
    /// fine) and wakes threads waiting on MISSING faults in it.
    ///
    /// Since Linux 4.3.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_UNREGISTER")]
    pub fn unregister(&self, start: usize, len: usize) -> Result<(), Error> {
        self.unregister_in(self.page_size, start, len)
    }

    /// `ioctl(fd, UFFDIO_WAKE, &range)`: wakes the threads waiting on faults in the range
    /// (after operations done with `DONTWAKE`).
    ///
    /// Since Linux 4.3.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    #[doc(alias = "UFFDIO_WAKE")]
    pub fn wake(&self, start: usize, len: usize) -> Result<(), Error> {
        self.wake_in(self.page_size, start, len)
    }

    /// `ioctl(fd, UFFDIO_COPY, &{dst, src, src.len(), mode})`: fills the missing pages of
    /// `[dst, dst+src.len())` with a copy of `src` and wakes the waiters unless `DONTWAKE`.
    ///
    /// Since Linux 4.3 (`MODE_WP` 5.7). `src` need not be aligned; its length must be a
    /// multiple of the page size. `dst` must lie in a range registered with a userfaultfd of
    /// the process — this one or any other: the kernel does not check whose (ENOENT otherwise).
    /// That is why this is safe only under the [capability promise](Self#the-capability) made
    /// when the handle was created.
    /// [`Error::Exists`] if the first page is already present; [`Error::Again`] with the bytes
    /// done while a non-cooperative event is unread or when it meets a present page part-way.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    #[doc(alias = "UFFDIO_COPY")]
    pub fn copy(&self, dst: usize, src: &[u8], mode: CopyMode) -> Result<(), Error> {
        self.copy_in(self.page_size, dst, src, mode)
    }

    /// `ioctl(fd, UFFDIO_ZEROPAGE, &{range, mode})`: maps zero pages at the missing pages of
    /// the range.
    ///
    /// Since Linux 4.3 (shmem 4.11). Not for hugetlbfs. [`Error::Exists`] if the first page is
    /// present.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    #[doc(alias = "UFFDIO_ZEROPAGE")]
    pub fn zeropage(&self, start: usize, len: usize, mode: ZeropageMode) -> Result<(), Error> {
        let mut arg = uffdio_zeropage {
            range: self.range_in(self.page_size, start, len)?,
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
    #[doc(alias = "UFFDIO_WRITEPROTECT")]
    pub fn writeprotect(
        &self,
        start: usize,
        len: usize,
        mode: WriteprotectMode,
    ) -> Result<(), Error> {
        self.writeprotect_in(self.page_size, start, len, mode)
    }

    /// `ioctl(fd, UFFDIO_CONTINUE, &{range, mode})`: resolves minor faults by mapping the
    /// pages already in the page cache.
    ///
    /// Since Linux 5.13 (hugetlbfs), 5.14 (shmem); `MODE_WP` 6.4. Only for `MODE_MINOR`
    /// registrations; [`Error::Exists`] if already mapped, EFAULT if the page cache has no page.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    #[doc(alias = "UFFDIO_CONTINUE")]
    pub fn continue_(&self, start: usize, len: usize, mode: ContinueMode) -> Result<(), Error> {
        self.continue_in(self.page_size, start, len, mode)
    }

    /// `ioctl(fd, UFFDIO_POISON, &{range, mode})`: marks the missing pages of the range
    /// poisoned: a later access raises SIGBUS.
    ///
    /// Since Linux 6.6 (`UFFD_FEATURE_POISON`).
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    #[doc(alias = "UFFDIO_POISON")]
    pub fn poison(&self, start: usize, len: usize, mode: PoisonMode) -> Result<(), Error> {
        self.poison_in(self.page_size, start, len, mode)
    }

    /// `ioctl(fd, UFFDIO_MOVE, &{dst, src, len, mode})`: moves the pages of `[src, src+len)`
    /// to the missing pages of `[dst, dst+len)` without copying; the source becomes missing.
    ///
    /// Since Linux 6.8 (`UFFD_FEATURE_MOVE`). Private anonymous memory of the userfaultfd's
    /// own process only; `dst` registered with this userfaultfd (EINVAL otherwise). A hole in
    /// the source is ENOENT unless `ALLOW_SRC_HOLES`; EBUSY for a pinned source page.
    ///
    /// # Safety
    /// - Source: its pages vanish (the range reads as missing afterwards: zeros, or a fault
    ///   if registered). No Rust value may rely on the contents or accessibility of
    ///   `[src, src+len)`, now or afterwards: no reference into it may be used again as if it
    ///   still held its data. Unlike the destination, the source needs no registration, so
    ///   [`register`](Self::register)'s promise does not cover it.
    /// - Destination: new bytes appear in `[dst, dst+len)`, as with [`copy`](Self::copy): the
    ///   kernel requires it to be registered with this userfaultfd (EINVAL otherwise), and the
    ///   [capability promise](Self#the-capability) covers it.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[inline]
    #[doc(alias = "UFFDIO_MOVE")]
    pub unsafe fn move_(
        &self,
        dst: usize,
        src: usize,
        len: usize,
        mode: MoveMode,
    ) -> Result<(), Error> {
        let page_size = self.page_size;
        let r = self.range_in(page_size, dst, len)?;
        if src.checked_add(len).is_none() {
            return Err(RangeError::Overflow.into());
        }
        if page_size != 0 && !src.is_multiple_of(page_size) {
            return Err(RangeError::UnalignedSrc { src, page_size }.into());
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
            Err(RangeError::UnalignedStart {
                start: 0x1001,
                page_size: 4096
            })
        );
        assert_eq!(
            check_range(4096, 0x1000, 100),
            Err(RangeError::UnalignedLen {
                len: 100,
                page_size: 4096
            })
        );
        // A base-page-aligned range checked against a 2 MiB huge page names the huge page.
        assert_eq!(
            check_range(2 << 20, 0x20_1000, 2 << 20),
            Err(RangeError::UnalignedStart {
                start: 0x20_1000,
                page_size: 2 << 20
            })
        );
        assert_eq!(check_range(4096, 0x1000, 8192), Ok(()));
        // Page size unknown: only emptiness and wrap-around are checked.
        assert_eq!(check_range(0, 0x1001, 3), Ok(()));
    }

    /// The fast path is only a shortcut: for every input it answers as the full check does.
    /// Page sizes include non-powers of two and 0; starts and lengths sit on, just off and
    /// across page boundaries (both off by the same amount; together covering the mask).
    #[test]
    fn fast_path_agrees_with_the_full_check() {
        let mut n = 0;
        for ps in [0usize, 1, 3, 4096, 12288, 16384, 65536, 2 << 20] {
            let m = ps.saturating_sub(1);
            let at = [
                0,
                1,
                m,
                ps,
                ps + 1,
                2 * ps,
                (3 * ps).saturating_sub(1),
                0x7000_0000,
                usize::MAX - m,
            ];
            let lens = [0, 1, m.saturating_sub(1), m, ps, ps + 1, 2 * ps, usize::MAX];
            for &start in &at {
                for &len in &lens {
                    assert_eq!(
                        check_range(ps, start, len),
                        check_range_slow(ps, start, len),
                        "page size {ps:#x}, start {start:#x}, len {len:#x}"
                    );
                    n += 1;
                }
            }
        }
        assert_eq!(n, 8 * 9 * 8);
    }

    #[test]
    fn progress_says_what_happened() {
        assert_eq!(progress(Call::Copy, Ok(0), 8192, 8192), Ok(()));
        // Part-way: the kernel wrote 4096 and returned EAGAIN.
        assert_eq!(
            progress(Call::Copy, Err(Errno::EAGAIN), 4096, 8192),
            Err(Error::Again {
                call: Call::Copy,
                done: 4096
            })
        );
        // mmap_changing: -EAGAIN in the field (userfaultfd-rs PR #91 read it as a length).
        assert_eq!(
            progress(Call::Copy, Err(Errno::EAGAIN), -11, 8192),
            Err(Error::Again {
                call: Call::Copy,
                done: 0
            })
        );
        // EEXIST from the field, nothing done.
        assert_eq!(
            progress(Call::Zeropage, Err(Errno::EEXIST), -17, 4096),
            Err(Error::Exists {
                call: Call::Zeropage
            })
        );
        // Field untouched (validation EINVAL, ESRCH): the ioctl's errno, nothing done: Sys.
        assert_eq!(
            progress(Call::Continue, Err(Errno::ESRCH), 0, 4096),
            Err(Error::Sys {
                call: Call::Continue,
                errno: Errno::ESRCH
            })
        );
        // Some done, then another errno: Partial.
        assert_eq!(
            progress(Call::Copy, Err(Errno::ENOMEM), 4096, 8192),
            Err(Error::Partial {
                call: Call::Copy,
                done: 4096,
                errno: Errno::ENOMEM
            })
        );
        // Absurd field (beyond len, or below -4095) is not trusted.
        let e = progress(Call::Move, Err(Errno::EAGAIN), 1 << 40, 4096).unwrap_err();
        assert_eq!(e.done(), 4096);
        let e = progress(Call::Move, Err(Errno::EINVAL), i64::MIN, 4096).unwrap_err();
        assert_eq!((e.done(), e.errno()), (0, Some(Errno::EINVAL)));
    }

    /// Result fields around the interesting edges for `len`, and pseudo-random ones.
    fn fields(len: usize, rng: &mut u64) -> impl Iterator<Item = i64> {
        let l = len as i64;
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -4097,
            -4096,
            -4095,
            -133,
            -17,
            -11,
            -2,
            -1,
            0,
            1,
            4095,
            4096,
            i64::MAX,
            i64::MAX - 1,
            1 << 32,
            l.wrapping_sub(1),
            l,
            l.wrapping_add(1),
            l.wrapping_neg(),
        ];
        let mut r = *rng;
        let random = core::iter::repeat_with(move || {
            // xorshift64*
            r ^= r >> 12;
            r ^= r << 25;
            r ^= r >> 27;
            r.wrapping_mul(0x2545_f491_4f6c_dd1d) as i64
        })
        .take(64);
        *rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        edges.into_iter().chain(random)
    }

    /// Every combination of operation, ioctl outcome, result field and length decodes to one
    /// variant that says what happened: never a negative length, `done <= len`, the errno
    /// from the field only when it holds one.
    #[test]
    #[cfg_attr(miri, ignore = "2.8 M combinations: too slow under Miri")]
    fn progress_decoding_property() {
        let calls = [
            Call::Copy,
            Call::Zeropage,
            Call::Continue,
            Call::Poison,
            Call::Move,
        ];
        let lens = [
            0,
            1,
            4096,
            8192,
            1 << 21,
            i64::MAX as usize,
            usize::MAX,
            usize::MAX - 4095,
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut n = 0u64;
        let errnos = (1..=4096)
            .chain([0, -5, i32::MAX])
            .map(|e| Err(Errno::from_raw(e)));
        for &len in &lens {
            for field in fields(len, &mut rng) {
                for ret in [Ok(0), Ok(1), Ok(usize::MAX)]
                    .into_iter()
                    .chain(errnos.clone())
                {
                    let call = calls[n as usize % calls.len()];
                    n += 1;
                    let r = progress(call, ret, field, len);
                    let Err(ioctl_errno) = ret else {
                        assert_eq!(r, Ok(()));
                        continue;
                    };
                    let e = r.expect_err("Ok from a failed ioctl");
                    let want_done = if field > 0 {
                        (field as u64).min(len as u64) as usize
                    } else {
                        0
                    };
                    let want_errno = if (-4095..0).contains(&field) {
                        Errno::from_raw(-field as i32)
                    } else {
                        ioctl_errno
                    };
                    assert_eq!(e.done(), want_done, "{e:?} from field {field}, len {len}");
                    assert_eq!(e.errno(), Some(want_errno), "{e:?} from field {field}");
                    match e {
                        Error::Again { call: c, .. } => {
                            assert_eq!((c, want_errno), (call, Errno::EAGAIN))
                        }
                        Error::Exists { call: c } => {
                            assert_eq!((c, want_errno, want_done), (call, Errno::EEXIST, 0))
                        }
                        Error::Sys { call: c, errno } => {
                            assert_eq!((c, want_done), (call, 0));
                            assert!(errno != Errno::EAGAIN && errno != Errno::EEXIST);
                        }
                        Error::Partial {
                            call: c,
                            done,
                            errno,
                        } => {
                            assert_eq!(c, call);
                            assert!(done > 0 && errno != Errno::EAGAIN);
                        }
                        e => panic!("unexpected {e:?}"),
                    }
                }
            }
        }
        assert!(n > 2_000_000, "{n} combinations");
    }
}
