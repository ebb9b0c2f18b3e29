//! The fallback for kernels without `PAGEMAP_SCAN` (before 6.7): read the 8-byte pagemap
//! entries and take the pages whose uffd-wp bit is clear.

use super::{Call, Error, Pagemap, Region};
use crate::abi::{PM_ENTRY_BYTES, PM_GUARD_REGION, PM_PRESENT, PM_SWAP, PM_UFFD_WP};
use crate::flags::Categories;
use crate::sys;

/// Whether a pagemap entry says "written since last write-protected": the page is present or
/// swapped ([`PM_PRESENT`], [`PM_SWAP`]), not a guard region, and its uffd-wp bit
/// ([`PM_UFFD_WP`], Linux 5.13) is clear.
///
/// A page never populated has neither bit and is not written. On kernels before 6.4 (no
/// `UFFD_FEATURE_WP_UNPOPULATED`), a page populated by a *read* after the range was protected
/// maps the zero page without the uffd-wp bit, and counts as written: the fallback may report
/// more than was written, never less.
pub const fn entry_is_written(entry: u64) -> bool {
    entry & (PM_PRESENT | PM_SWAP) != 0 && entry & (PM_UFFD_WP | PM_GUARD_REGION) == 0
}

/// The written pages of a range by their pagemap entries, as runs, read a buffer at a time
/// ([`Pagemap::written_by_entries`]). Items are `Ok(Region)` with categories
/// `PAGE_IS_WRITTEN`; after an `Err` the iteration ends. The uffd-wp bit it relies on is in
/// pagemap since Linux 5.13.
#[derive(Debug)]
pub struct Written<'a> {
    pagemap: &'a Pagemap,
    buf: &'a mut [u64],
    /// Address of the next entry to look at.
    pos: usize,
    end: usize,
    /// `buf[idx..filled]` are the entries from `pos` on.
    idx: usize,
    filled: usize,
    run: Option<usize>,
    failed: bool,
}

impl Pagemap {
    /// `pread64(fd, buf, 8 * buf.len(), (start / page_size) * 8)`: the raw pagemap entries of
    /// the pages from `start` on, one `u64` per page (see the `PM_*` constants of
    /// [`crate::abi`]); returns how many were read (fewer only at the end of the address
    /// space).
    ///
    /// Entries since Linux 2.6.25; the uffd-wp bit since 5.13. `start` must be page-aligned
    /// ([`Error::Range`]). Frame numbers read as 0 without `CAP_SYS_ADMIN` (since 4.2).
    ///
    /// # References
    /// - [`proc_pid_pagemap(5)`](https://man7.org/linux/man-pages/man5/proc_pid_pagemap.5.html)
    /// - [`pread(2)`](https://man7.org/linux/man-pages/man2/pread.2.html)
    pub fn read_entries(&self, start: usize, buf: &mut [u64]) -> Result<usize, Error> {
        if !start.is_multiple_of(self.page_size) {
            return Err(crate::RangeError::UnalignedStart {
                start,
                page_size: self.page_size,
            }
            .into());
        }
        let mut offset = (start / self.page_size * PM_ENTRY_BYTES) as u64;
        // SAFETY: `u64` has no invalid bit patterns and no padding, so its storage may be
        // viewed (and written) as bytes; the byte slice borrows `buf` mutably for this call.
        let bytes = unsafe {
            core::slice::from_raw_parts_mut(
                buf.as_mut_ptr() as *mut u8,
                core::mem::size_of_val(buf),
            )
        };
        let mut done = 0;
        while done < bytes.len() {
            // SAFETY: `self.fd` is the pagemap file this value owns, open until it drops.
            let n =
                unsafe { sys::pread64(self.fd, &mut bytes[done..], offset) }.map_err(|errno| {
                    Error::Sys {
                        call: Call::Read,
                        errno,
                    }
                })?;
            if n == 0 {
                break;
            }
            done += n;
            offset += n as u64;
        }
        // The kernel returns whole entries; a partial one is not counted.
        Ok(done / PM_ENTRY_BYTES)
    }

    /// `pread64(fd, buf, 8 * buf.len(), offset)` over the entries of `[start, start + len)`:
    /// the fallback of [`Pagemap::dirty`], the pages whose entry says written
    /// ([`entry_is_written`]), as maximal runs, reading `buf.len()` entries per call. Nothing is re-protected: do it with `UFFDIO_WRITEPROTECT` on each run
    /// (`Uffd::writeprotect`), after it is reported (a write between the read and the
    /// protect is then part of this epoch, never lost).
    ///
    /// Works wherever pagemap reports the uffd-wp bit (Linux 5.13), with sync or async
    /// write-protect; two steps and a system call per run instead of one `PAGEMAP_SCAN`.
    /// [`Error::Range`] and [`Error::EmptyBuffer`] before any system call.
    ///
    /// # References
    /// - [`proc_pid_pagemap(5)`](https://man7.org/linux/man-pages/man5/proc_pid_pagemap.5.html)
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn written_by_entries<'a>(
        &'a self,
        start: usize,
        len: usize,
        buf: &'a mut [u64],
    ) -> Result<Written<'a>, Error> {
        self.check(start, len)?;
        if buf.is_empty() {
            return Err(Error::EmptyBuffer);
        }
        Ok(Written {
            pagemap: self,
            buf,
            pos: start,
            end: start + len,
            idx: 0,
            filled: 0,
            run: None,
            failed: false,
        })
    }
}

impl Written<'_> {
    fn run_to(&mut self, end: usize) -> Option<Result<Region, Error>> {
        self.run.take().map(|start| {
            Ok(Region {
                start,
                end,
                categories: Categories::WRITTEN,
            })
        })
    }
}

impl Iterator for Written<'_> {
    type Item = Result<Region, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let ps = self.pagemap.page_size;
        loop {
            if self.failed {
                return None;
            }
            if self.pos == self.end {
                return self.run_to(self.end);
            }
            if self.idx == self.filled {
                let want = self.buf.len().min((self.end - self.pos) / ps);
                match self.pagemap.read_entries(self.pos, &mut self.buf[..want]) {
                    Ok(0) => {
                        self.failed = true;
                        return Some(Err(Error::ShortRead { at: self.pos }));
                    }
                    Ok(n) => (self.idx, self.filled) = (0, n),
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            }
            let written = entry_is_written(self.buf[self.idx]);
            let at = self.pos;
            self.idx += 1;
            self.pos += ps;
            match (written, self.run) {
                (true, None) => self.run = Some(at),
                (false, Some(_)) => return self.run_to(at),
                _ => {}
            }
        }
    }
}

impl core::iter::FusedIterator for Written<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_entries() {
        assert!(entry_is_written(PM_PRESENT));
        assert!(entry_is_written(PM_SWAP | 0x1234));
        assert!(!entry_is_written(PM_PRESENT | PM_UFFD_WP));
        assert!(!entry_is_written(PM_SWAP | PM_GUARD_REGION));
        assert!(!entry_is_written(0));
        assert!(!entry_is_written(PM_UFFD_WP));
    }
}
