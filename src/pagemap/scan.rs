//! `PAGEMAP_SCAN`: the query ([`Scan`]), its results ([`Region`]) and the cursor that resumes
//! from `walk_end` until the range is covered ([`Regions`]).

use super::{Call, Error, Pagemap};
use crate::abi::{page_region, pm_scan_arg, PAGEMAP_SCAN};
use crate::flags::{Categories, ScanFlags};
use crate::sys::{self, Errno};
use core::mem::size_of;

/// One `PAGEMAP_SCAN` query over `[start, start + len)`: which pages match and what is
/// reported (the fields of `struct pm_scan_arg` the caller chooses, typed).
///
/// A page matches when, after flipping the `category_inverted` bits, it has every category of
/// `category_mask` and (if non-empty) at least one of `category_anyof_mask`. Matching pages
/// come back as runs with their categories restricted to `return_mask`; adjacent pages with
/// the same reported categories form one run. Since Linux 6.7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scan {
    /// Start address, page-aligned.
    pub start: usize,
    /// Length in bytes, a non-zero multiple of the page size.
    pub len: usize,
    /// `PM_SCAN_*`.
    pub flags: ScanFlags,
    /// Matching pages per ioctl before it stops and [`Regions`] resumes (0: no limit).
    pub max_pages: u64,
    /// Categories that match when clear.
    pub category_inverted: Categories,
    /// Categories a page must all have.
    pub category_mask: Categories,
    /// Categories of which a page must have one (empty: no condition).
    pub category_anyof_mask: Categories,
    /// Categories reported in each [`Region`].
    pub return_mask: Categories,
}

impl Scan {
    /// Every mapped page of the range, no flags, nothing reported (runs of mapped pages).
    pub const fn new(start: usize, len: usize) -> Self {
        Scan {
            start,
            len,
            flags: ScanFlags::empty(),
            max_pages: 0,
            category_inverted: Categories::empty(),
            category_mask: Categories::empty(),
            category_anyof_mask: Categories::empty(),
            return_mask: Categories::empty(),
        }
    }

    /// Get and re-protect: the written pages (`category_mask = return_mask =
    /// PAGE_IS_WRITTEN`), write-protected again in the same walk (`PM_SCAN_WP_MATCHING`), and
    /// an error rather than a silent skip for memory not registered for async write-protect
    /// (`PM_SCAN_CHECK_WPASYNC`). One epoch of dirty tracking per scan. This exact mask is the
    /// kernel's fast path (it tests only the uffd-wp bit of each pte).
    pub const fn dirty(start: usize, len: usize) -> Self {
        Scan {
            flags: ScanFlags::WP_MATCHING.union(ScanFlags::CHECK_WPASYNC),
            category_mask: Categories::WRITTEN,
            return_mask: Categories::WRITTEN,
            ..Scan::new(start, len)
        }
    }

    /// The same query with `max_pages` set.
    pub const fn max_pages(self, max_pages: u64) -> Self {
        Scan { max_pages, ..self }
    }

    /// The same query with `flags` set.
    pub const fn flags(self, flags: ScanFlags) -> Self {
        Scan { flags, ..self }
    }

    /// The same query reporting `categories`.
    pub const fn report(self, categories: Categories) -> Self {
        Scan {
            return_mask: categories,
            ..self
        }
    }

    /// The same query keeping only pages that have all of `categories`.
    pub const fn require(self, categories: Categories) -> Self {
        Scan {
            category_mask: categories,
            ..self
        }
    }

    /// The same query keeping only pages with at least one of `categories`.
    pub const fn any_of(self, categories: Categories) -> Self {
        Scan {
            category_anyof_mask: categories,
            ..self
        }
    }

    /// The same query with `categories` matching when clear.
    pub const fn inverted(self, categories: Categories) -> Self {
        Scan {
            category_inverted: categories,
            ..self
        }
    }
}

/// One run of matching pages: `[start, end)` with the reported categories (a `page_region`,
/// typed). Since Linux 6.7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First address (page-aligned).
    pub start: usize,
    /// End address (exclusive).
    pub end: usize,
    /// Reported categories (only those of `return_mask`).
    pub categories: Categories,
}

impl Region {
    /// Length in bytes; 0 when `end <= start` (only a region built by hand can be so), as
    /// `(start..end).len()` is.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    /// Whether the run is empty (the kernel never reports one; a hand-built region with
    /// `end <= start` is).
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

impl From<page_region> for Region {
    /// The kernel's `page_region` (as [`Regions::next_batch`] returns them), typed.
    #[inline]
    fn from(r: page_region) -> Self {
        Region {
            start: r.start as usize,
            end: r.end as usize,
            categories: Categories::from_bits_retain(r.categories),
        }
    }
}

/// The regions of a scan, as an iterator that issues `PAGEMAP_SCAN` again from `walk_end`
/// whenever the caller's buffer is exhausted, until the whole range is covered. Since Linux
/// 6.7.
///
/// Items are `Ok(Region)`; after an `Err` the iteration ends. A run that a stop split
/// (buffer full, `max_pages` reached) comes back as two adjacent regions. Stopping the
/// iteration early leaves the rest of the range unscanned (and, with `PM_SCAN_WP_MATCHING`,
/// unprotected): [`Regions::walk_end`] says how far it got.
#[derive(Debug)]
pub struct Regions<'a> {
    pagemap: &'a Pagemap,
    arg: pm_scan_arg,
    buf: &'a mut [page_region],
    filled: usize,
    next: usize,
    complete: bool,
    failed: bool,
    ioctls: usize,
}

impl Pagemap {
    /// `ioctl(fd, PAGEMAP_SCAN, &pm_scan_arg { .. })` over `scan`'s range into `buf`, resumed
    /// from `walk_end` until the range is covered: the first ioctl is issued here (so an
    /// unsupported kernel or a refused range fails at once), the others as the returned
    /// [`Regions`] is iterated.
    ///
    /// Since Linux 6.7; before: [`Error::NotSupported`] (`ENOTTY`). [`Error::Range`] for a
    /// bad range and [`Error::EmptyBuffer`] for an empty `buf`, both before any system call;
    /// [`Error::NotWpAsync`] for `PM_SCAN_CHECK_WPASYNC` over memory not registered for async
    /// write-protect. The kernel reads only page tables, and writes only `buf` and (with
    /// `PM_SCAN_WP_MATCHING`) the uffd-wp bits of `WP_ASYNC` ranges, whose writers never block.
    ///
    /// # References
    /// - [`PAGEMAP_SCAN`](https://docs.kernel.org/admin-guide/mm/pagemap.html) (kernel docs)
    /// - [`proc_pid_pagemap(5)`](https://man7.org/linux/man-pages/man5/proc_pid_pagemap.5.html)
    /// - [`ioctl(2)`](https://man7.org/linux/man-pages/man2/ioctl.2.html)
    pub fn scan<'a>(
        &'a self,
        scan: &Scan,
        buf: &'a mut [page_region],
    ) -> Result<Regions<'a>, Error> {
        self.check(scan.start, scan.len)?;
        if buf.is_empty() {
            return Err(Error::EmptyBuffer);
        }
        let arg = pm_scan_arg {
            size: size_of::<pm_scan_arg>() as u64,
            flags: scan.flags.bits(),
            start: scan.start as u64,
            end: (scan.start + scan.len) as u64,
            walk_end: 0,
            vec: 0,
            vec_len: 0,
            max_pages: scan.max_pages,
            category_inverted: scan.category_inverted.bits(),
            category_mask: scan.category_mask.bits(),
            category_anyof_mask: scan.category_anyof_mask.bits(),
            return_mask: scan.return_mask.bits(),
        };
        let mut regions = Regions {
            pagemap: self,
            arg,
            buf,
            filled: 0,
            next: 0,
            complete: false,
            failed: false,
            ioctls: 0,
        };
        regions.call()?;
        Ok(regions)
    }

    /// `ioctl(fd, PAGEMAP_SCAN, &pm_scan_arg { flags: PM_SCAN_WP_MATCHING |
    /// PM_SCAN_CHECK_WPASYNC, category_mask: PAGE_IS_WRITTEN, return_mask: PAGE_IS_WRITTEN,
    /// .. })`, resumed until the range is covered: get and re-protect ([`Pagemap::scan`] with
    /// [`Scan::dirty`]) — the pages of `[start, start + len)` written since they were last
    /// write-protected, protected again in the same walk.
    ///
    /// The range must be registered with a userfaultfd that negotiated `WP_ASYNC` (Linux 6.7)
    /// in `MODE_WP` and write-protected once (`UFFDIO_WRITEPROTECT`); then each call returns
    /// exactly the pages written since the previous one. [`Error::NotWpAsync`] if any part of
    /// it is not; [`Error::NotSupported`] before 6.7 (see [`Pagemap::written_by_entries`]).
    ///
    /// # References
    /// - [`PAGEMAP_SCAN`](https://docs.kernel.org/admin-guide/mm/pagemap.html) (kernel docs)
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn dirty<'a>(
        &'a self,
        start: usize,
        len: usize,
        buf: &'a mut [page_region],
    ) -> Result<Regions<'a>, Error> {
        self.scan(&Scan::dirty(start, len), buf)
    }
}

impl Regions<'_> {
    /// Where the scan has got to: the kernel's last `walk_end` (the range's end once complete).
    /// Pages from here on have not been scanned (nor, with `PM_SCAN_WP_MATCHING`, protected).
    pub const fn walk_end(&self) -> usize {
        self.arg.start as usize
    }

    /// Whether the kernel has walked the whole range (regions may still be left to read).
    pub const fn is_complete(&self) -> bool {
        self.complete
    }

    /// How many `PAGEMAP_SCAN` ioctls were issued so far (1 if everything fitted).
    pub const fn ioctls(&self) -> usize {
        self.ioctls
    }

    /// One ioctl from `arg.start` (the previous `walk_end`) to the end of the range.
    fn call(&mut self) -> Result<(), Error> {
        let from = self.arg.start;
        self.arg.vec = self.buf.as_mut_ptr() as usize as u64;
        self.arg.vec_len = self.buf.len() as u64;
        self.arg.walk_end = 0;
        self.ioctls += 1;
        let fd = self.pagemap.fd;
        // SAFETY: `fd` is an open pagemap (the `Pagemap` is borrowed for as long as `self`
        // lives); PAGEMAP_SCAN reads and writes one `pm_scan_arg` (`self.arg`, borrowed
        // mutably; `size` says 96 bytes, the size encoded in the request) and writes at most
        // `vec_len` regions at `vec`, which is `self.buf`, borrowed mutably for 'a.
        let r = unsafe { sys::ioctl(fd, PAGEMAP_SCAN, &mut self.arg as *mut _ as usize) };
        let n = match r {
            Ok(n) => n,
            Err(errno) => {
                self.failed = true;
                return Err(match errno {
                    Errno::ENOTTY => Error::NotSupported { errno },
                    Errno::EPERM if self.arg.flags & crate::abi::PM_SCAN_CHECK_WPASYNC != 0 => {
                        Error::NotWpAsync
                    }
                    errno => Error::Sys {
                        call: Call::Scan,
                        errno,
                    },
                });
            }
        };
        let walk_end = self.arg.walk_end;
        if let Err(e) = check_walk(from, self.arg.end, walk_end, n, self.buf.len()) {
            self.failed = true;
            return Err(e);
        }
        self.filled = n;
        self.next = 0;
        self.arg.start = walk_end;
        self.complete = walk_end == self.arg.end;
        Ok(())
    }
}

/// What one `PAGEMAP_SCAN` from `from` (the range ends at `end`) answered, checked before it
/// is believed: at most `cap` regions (the buffer's room), a `walk_end` inside
/// `[from, end]`, and progress (a later `walk_end` or some regions) so that resuming cannot
/// loop. [`Error::BadWalk`] otherwise.
fn check_walk(from: u64, end: u64, walk_end: u64, n: usize, cap: usize) -> Result<(), Error> {
    let progressed = walk_end > from || n > 0;
    if n > cap || walk_end > end || walk_end < from || !progressed {
        return Err(Error::BadWalk {
            walk_end,
            regions: n,
        });
    }
    Ok(())
}

impl Regions<'_> {
    /// The regions not yet returned, a buffer at a time, as the kernel wrote them: the rest
    /// of the buffer if any is left, else the next `PAGEMAP_SCAN`'s (never empty); `None`
    /// once the range is covered, or after an `Err`. The batched form of iterating: a loop
    /// over each slice is the hand-written loop's (no per-region call or `Result`), for
    /// callers whose per-region work is a few instructions. Mixes with [`Iterator::next`].
    /// `PAGEMAP_SCAN` since Linux 6.7.
    ///
    /// Fields are the kernel's `u64`s: `start`/`end` addresses, `categories` the
    /// [`Categories`] bits of the return mask; `Region::from` types one.
    pub fn next_batch(&mut self) -> Option<Result<&[page_region], Error>> {
        loop {
            if self.failed {
                return None;
            }
            if self.next < self.filled {
                let batch = &self.buf[self.next..self.filled];
                self.next = self.filled;
                return Some(Ok(batch));
            }
            if self.complete {
                return None;
            }
            if let Err(e) = self.call() {
                return Some(Err(e));
            }
        }
    }
}

impl Regions<'_> {
    /// The next region already in the buffer, if any: a field compare and a copy.
    #[inline]
    fn take_buffered(&mut self) -> Option<Region> {
        if self.next >= self.filled || self.failed {
            return None;
        }
        let r = self.buf[self.next];
        self.next += 1;
        Some(r.into())
    }

    /// The rest of [`next`](Iterator::next), once the buffered regions are used up: the next
    /// `PAGEMAP_SCAN` (kept out of line so that `next`'s buffered path inlines into the
    /// caller's loop, across crates).
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Result<Region, Error>> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(r) = self.take_buffered() {
                return Some(Ok(r));
            }
            if self.complete {
                return None;
            }
            if let Err(e) = self.call() {
                return Some(Err(e));
            }
        }
    }
}

impl Iterator for Regions<'_> {
    type Item = Result<Region, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.take_buffered() {
            Some(r) => Some(Ok(r)),
            None => self.next_slow(),
        }
    }
}

impl core::iter::FusedIterator for Regions<'_> {}

#[cfg(test)]
mod tests {
    use super::{check_walk, Error};

    #[test]
    fn impossible_walks_are_refused() {
        let (from, end, cap) = (0x1000, 0x9000, 4);
        let bad = |walk_end, regions| Err(Error::BadWalk { walk_end, regions });
        // Believed: the whole range, a stop on a full buffer, regions found where the walk
        // could not move on (it still returned something).
        assert_eq!(check_walk(from, end, end, 0, cap), Ok(()));
        assert_eq!(check_walk(from, end, 0x3000, cap, cap), Ok(()));
        assert_eq!(check_walk(from, end, from, 1, cap), Ok(()));
        // Refused: more regions than room, a walk_end past the end or before the start, and
        // neither progress nor regions (resuming would ask the same again, forever).
        assert_eq!(check_walk(from, end, end, cap + 1, cap), bad(end, cap + 1));
        assert_eq!(
            check_walk(from, end, end + 0x1000, 0, cap),
            bad(end + 0x1000, 0)
        );
        assert_eq!(
            check_walk(from, end, from - 0x1000, 1, cap),
            bad(from - 0x1000, 1)
        );
        assert_eq!(check_walk(from, end, from, 0, cap), bad(from, 0));
    }
}
