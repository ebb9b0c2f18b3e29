//! The background fill: populates every page not yet present, one capped piece at a time, so
//! demand faults wait for at most one piece.

use super::resolve::{cap, Placed, Run, Want};
use super::stats::add;
use super::worker::Worker;
use super::{Pager, PagerError};
use core::sync::atomic::Ordering::Relaxed;

/// What one [`Worker::fill_piece`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fill {
    /// Placed this many bytes (0: the pieces looked at were already populated).
    Piece(usize),
    /// Every page is populated (or REMOVE'd/unmapped): the fill is over.
    Complete,
    /// An operation stopped with `EAGAIN` before doing anything: events are pending; serve
    /// them ([`Worker::serve_pending`]) and fill again.
    Interrupted,
    /// The policy has no background fill.
    Off,
}

/// What [`Worker::fill_range`] returns when it stops before its range's end (a worker waits
/// for events, an `EAGAIN`, the table changing): the bytes placed so far, or `None` when
/// nothing was ([`Fill::Interrupted`]).
fn stopped_early(bytes: usize) -> Option<usize> {
    (bytes > 0).then_some(bytes)
}

/// Pieces looked at per call when they turn out populated already.
const SCAN: usize = 256;

impl Pager<'_> {
    /// Claims the next piece of pages `[lo, hi)` (bits, all in one region) for the fill, from
    /// the last page down: demand faults (and their readahead) mostly run upwards from the
    /// start, so the two meet once instead of racing for the same pages. A pass over every
    /// page starts again while some remain.
    fn claim(&self, piece: usize) -> Option<(usize, usize, usize)> {
        loop {
            // `cursor`: pages claimed so far in this pass, counted from the top.
            let c = self.cursor.load(Relaxed);
            if c >= self.pages {
                if self.is_fully_populated() {
                    return None;
                }
                let _ = self.cursor.compare_exchange(c, 0, Relaxed, Relaxed);
                continue;
            }
            let hi = self.pages - c;
            let (region, base) = self.region_of_bit(hi - 1)?;
            let r = &self.regions[region];
            let lo = hi.saturating_sub((piece / r.page_size).max(1)).max(base);
            if self
                .cursor
                .compare_exchange_weak(c, self.pages - lo, Relaxed, Relaxed)
                .is_ok()
            {
                return Some((lo, hi, region));
            }
        }
    }

    /// Page `bit` will not be filled (no piece maps it any more, or no page cache page to
    /// `CONTINUE`).
    fn skip(&self, bit: usize) {
        let newly = self.removed.set_range(bit, bit + 1, &self.populated);
        add(&self.stats.pages_skipped, newly as u64);
        self.done(newly);
    }
}

/// What a second try at a page refused with `ENOENT` found.
enum Recheck {
    /// It worked this time (the page is populated).
    Placed,
    /// The page is there (`EEXIST`).
    Present,
    /// `CONTINUE` found no page in the page cache (`EFAULT`).
    NoPage,
    /// The table changed, or an event is on its way (`EAGAIN`): read events, fill later.
    Changing,
}

impl Worker<'_, '_> {
    /// After `ENOENT` at the one page of `run` (planned at table epoch `epoch`): tries once
    /// more. The kernel raises `mmap_changing` before an munmap or mremap changes a
    /// registered mapping and lowers it only once the UNMAP/REMAP event has been read, and a
    /// `COPY` checks it before anything else: so while the event is pending the second try
    /// gets `EAGAIN` (the first may have passed that check just before the change began), and
    /// once another worker has read it the table epoch has moved. `ENOENT` again, with the
    /// table unchanged, means nothing is coming: [`PagerError::Unregistered`], at once.
    fn recheck(&mut self, run: Run, epoch: usize) -> Result<Recheck, PagerError> {
        let p = self.pager;
        let _held = p.gate.shared();
        if p.epoch() != epoch {
            return Ok(Recheck::Changing);
        }
        Ok(
            match p.place(run, Want::Source, self.scratch, &mut self.scratch_zero)? {
                Placed::Done(_) => Recheck::Placed,
                Placed::Exists => Recheck::Present,
                Placed::NoPage => Recheck::NoPage,
                Placed::Again(_) => {
                    add(&p.stats.again, 1);
                    Recheck::Changing
                }
                Placed::Unmapped => {
                    return Err(PagerError::Unregistered {
                        region: run.region,
                        start: run.addr,
                        len: p.regions[run.region].page_size,
                    })
                }
            },
        )
    }

    /// Populates one piece (at most the policy's piece size; at least one page) of pages not
    /// yet present, in runs of `UFFDIO_COPY` / `UFFDIO_ZEROPAGE` / `UFFDIO_CONTINUE` from the
    /// regions' sources; REMOVE'd and unmapped pages are left alone. Call it when no fault is
    /// pending ([`Worker::run`] does): a demand fault waits for at most this one piece.
    ///
    /// Pages populated meanwhile by demand faults or other workers are skipped (`EEXIST`
    /// counted). Returns [`Fill::Complete`] once nothing is left.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn fill_piece(&mut self) -> Result<Fill, PagerError> {
        let p = self.pager;
        let Some(piece) = p.policy.fill_piece else {
            return Ok(Fill::Off);
        };
        for _ in 0..SCAN {
            let Some((lo, hi, region)) = p.claim(piece) else {
                return Ok(Fill::Complete);
            };
            match self.fill_range(region, lo, hi)? {
                None => return Ok(Fill::Interrupted),
                Some(0) => continue,
                Some(bytes) => {
                    add(&p.stats.fill_pieces, 1);
                    add(&p.stats.fill_bytes, bytes as u64);
                    return Ok(Fill::Piece(bytes));
                }
            }
        }
        Ok(if p.is_fully_populated() {
            Fill::Complete
        } else {
            Fill::Piece(0)
        })
    }

    /// Fills the missing pages among bits `[lo, hi)` of `region`; the bytes placed, or `None`
    /// on an `EAGAIN` with nothing done.
    fn fill_range(
        &mut self,
        region: usize,
        lo: usize,
        hi: usize,
    ) -> Result<Option<usize>, PagerError> {
        let p = self.pager;
        let base = p.bit_base(region);
        let ps = p.regions[region].page_size;
        let most = cap(p, region, Want::Source, self.scratch.len());
        let mut bytes = 0;
        let mut b = lo;
        while b < hi {
            if p.gate.wanted() {
                // A worker waits to read events (a fault, probably): let it.
                return Ok(stopped_early(bytes));
            }
            let held = p.gate.shared();
            let Some(s) = p.populated.first_clear_both(b, hi, &p.removed) else {
                break;
            };
            let index = s - base;
            // A page skipped, or populated by another worker since it was found missing, has
            // its bit set: the next search from `b` passes it.
            let Some(piece) = p.piece_of(region, index) else {
                p.skip(s);
                continue;
            };
            let piece_end = base + piece.first + piece.len / ps;
            let e = p.populated.clear_run_end(s, hi.min(piece_end), &p.removed);
            if e == s {
                continue;
            }
            let run = Run {
                region,
                addr: piece.start + (index - piece.first) * ps,
                index,
                pages: (e - s).min(most),
            };
            let epoch = p.epoch();
            let placed = match p.place(run, Want::Source, self.scratch, &mut self.scratch_zero)? {
                // The page's mapping is gone from where the table has it (`place` has halved
                // the run down to its first page). An UNMAP or REMAP on its way explains it;
                // nothing else does.
                Placed::Unmapped => {
                    drop(held);
                    let first = Run {
                        region: run.region,
                        addr: run.addr,
                        index: run.index,
                        pages: 1,
                    };
                    match self.recheck(first, epoch)? {
                        Recheck::Placed => Placed::Done(1),
                        Recheck::Present => Placed::Exists,
                        Recheck::NoPage => Placed::NoPage,
                        Recheck::Changing => {
                            return Ok(stopped_early(bytes));
                        }
                    }
                }
                placed => placed,
            };
            match placed {
                Placed::Done(k) | Placed::Again(k) if k > 0 => {
                    p.mark_populated(s, k);
                    bytes += k * ps;
                    b = s + k;
                }
                // Marked now: the next search passes it.
                Placed::Exists => {
                    p.mark_populated(s, 1);
                    add(&p.stats.exists, 1);
                }
                Placed::NoPage => p.skip(s),
                _ => {
                    add(&p.stats.again, 1);
                    return Ok(stopped_early(bytes));
                }
            }
        }
        Ok(Some(bytes))
    }
}
