//! The non-cooperative events that change what a page gets or where a region is: REMOVE,
//! UNMAP, REMAP. Applied by the worker that read them, under the gate's exclusive side.

use super::state::Piece;
use super::stats::add;
use super::{config::Source, Pager, PagerError};

/// `[lo, hi)` of `p` inside `[start, end)`, shrunk to whole pages of `ps`.
fn overlap(p: &Piece, start: usize, end: usize, ps: usize) -> Option<(usize, usize)> {
    let lo = start.max(p.start).checked_next_multiple_of(ps)?;
    let hi = end.min(p.end()) & !(ps - 1);
    (lo < hi).then_some((lo, hi))
}

impl Pager<'_> {
    /// Marks pages `[lo, hi)` of piece `p` as not to be filled any more; clears their
    /// populated bits.
    fn retire(&self, p: &Piece, lo: usize, hi: usize) {
        let ps = self.regions[p.region].page_size;
        let bit = self.bit_base(p.region) + p.first + (lo - p.start) / ps;
        let n = (hi - lo) / ps;
        // Pages neither populated nor retired before: the fill will not bring them in now.
        let newly = self.removed.set_range(bit, bit + n, &self.populated);
        add(&self.stats.pages_skipped, newly as u64);
        self.done(newly);
        self.populated.clear_range(bit, bit + n);
    }

    /// `UFFD_EVENT_REMOVE` (`madvise(MADV_DONTNEED/MADV_REMOVE)`): pages of `[start, end)` are
    /// gone; a later fault there gets zeros, and the fill leaves them alone. In MINOR
    /// (`CONTINUE`) regions the page cache keeps the data, so nothing changes there.
    pub(crate) fn apply_remove(&self, start: usize, end: usize) {
        add(&self.stats.removes, 1);
        for i in 0..self.table.len() {
            let Some(p) = self.table.get(i) else { continue };
            let r = &self.regions[p.region];
            if matches!(r.source, Source::Continue) {
                continue;
            }
            if let Some((lo, hi)) = overlap(&p, start, end, r.page_size) {
                self.retire(&p, lo, hi);
            }
        }
    }

    /// `UFFD_EVENT_UNMAP` (`munmap`, or the part an `mremap` shrinks away): the pages of
    /// `[start, end)` leave the table (a region's middle splits it in two).
    pub(crate) fn apply_unmap(&self, start: usize, end: usize) -> Result<(), PagerError> {
        add(&self.stats.unmaps, 1);
        self.epoch
            .fetch_add(1, core::sync::atomic::Ordering::AcqRel);
        let mut full = false;
        for i in 0..self.table.len() {
            let Some(p) = self.table.get(i) else { continue };
            let ps = self.regions[p.region].page_size;
            let Some((lo, hi)) = overlap(&p, start, end, ps) else {
                continue;
            };
            self.retire(&p, lo, hi);
            let before = lo - p.start;
            let after = p.end() - hi;
            let head = Piece { len: before, ..p };
            let tail = Piece {
                region: p.region,
                start: hi,
                len: after,
                first: p.first + (hi - p.start) / ps,
            };
            match (before, after) {
                (0, 0) => self.table.free(i),
                (0, _) => self.table.set(i, tail),
                (_, 0) => self.table.set(i, head),
                _ => {
                    self.table.set(i, head);
                    match self.table.free_slot() {
                        Some(j) => self.table.set(j, tail),
                        // The tail's pages stay unretired and are found without a piece (and
                        // skipped) by the fill.
                        None => full = true,
                    }
                }
            }
        }
        if full {
            Err(PagerError::TableFull)
        } else {
            Ok(())
        }
    }

    /// `UFFD_EVENT_REMAP` (`mremap` that moved pages): the pages of `[from, from + len)` are
    /// now at `to`, with their contents; their piece moves (a part of a region splits it).
    pub(crate) fn apply_remap(&self, from: usize, to: usize, len: usize) -> Result<(), PagerError> {
        add(&self.stats.remaps, 1);
        self.epoch
            .fetch_add(1, core::sync::atomic::Ordering::AcqRel);
        let Some(end) = from.checked_add(len) else {
            return Ok(());
        };
        let moved = |a: usize| to.wrapping_add(a.wrapping_sub(from));
        let mut full = false;
        // Split-off parts lie outside `[from, end)` and a moved piece's new place does not
        // overlap it (mremap refuses overlapping moves): no piece is handled twice.
        for i in 0..self.table.len() {
            let Some(p) = self.table.get(i) else { continue };
            let ps = self.regions[p.region].page_size;
            let Some((lo, hi)) = overlap(&p, from, end, ps) else {
                continue;
            };
            let idx = |a: usize| p.first + (a - p.start) / ps;
            let mid = Piece {
                region: p.region,
                start: moved(lo),
                len: hi - lo,
                first: idx(lo),
            };
            let head = (lo > p.start).then_some(Piece {
                len: lo - p.start,
                ..p
            });
            let tail = (hi < p.end()).then_some(Piece {
                region: p.region,
                start: hi,
                len: p.end() - hi,
                first: idx(hi),
            });
            self.table.set(i, mid);
            for part in [head, tail].into_iter().flatten() {
                match self.table.free_slot() {
                    Some(j) => self.table.set(j, part),
                    None => full = true,
                }
            }
        }
        if full {
            Err(PagerError::TableFull)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_whole_pages() {
        let p = Piece {
            region: 0,
            start: 0x10000,
            len: 0x4000,
            first: 0,
        };
        assert_eq!(
            overlap(&p, 0x11000, 0x13000, 0x1000),
            Some((0x11000, 0x13000))
        );
        assert_eq!(overlap(&p, 0x0, 0x100000, 0x1000), Some((0x10000, 0x14000)));
        assert_eq!(overlap(&p, 0x11800, 0x12800, 0x1000), None);
        assert_eq!(
            overlap(&p, 0x11800, 0x13800, 0x1000),
            Some((0x12000, 0x13000))
        );
        assert_eq!(overlap(&p, 0x14000, 0x15000, 0x1000), None);
    }
}
