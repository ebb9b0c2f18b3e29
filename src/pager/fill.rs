//! The background fill: populates every page not yet present, one capped piece at a time, so
//! demand faults wait for at most one piece.

use core::sync::atomic::Ordering::Relaxed;
use core::time::Duration;

use crate::wait::{wait, Waiting};

use super::resolve::{cap, Placed, Run, Want};
use super::stats::add;
use super::worker::Worker;
use super::{Pager, PagerError};

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

/// Pieces looked at per call when they turn out populated already.
const SCAN: usize = 256;

/// How long the fill waits for the event that explains an `ENOENT` (the mremap or munmap
/// that caused it queues its event right after), before taking the page as gone.
const ENOENT_GRACE: Duration = Duration::from_millis(100);

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

impl Worker<'_, '_> {
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

    /// After an `ENOENT` at a page the table still maps: reads events for up to
    /// [`ENOENT_GRACE`] until one changes the table (REMAP, UNMAP, REMOVE). True if one did.
    fn await_table_change(&mut self) -> Result<bool, PagerError> {
        let p = self.pager;
        let changes = || {
            let k = &p.stats;
            [&k.remaps, &k.unmaps, &k.removes].map(|c| c.load(Relaxed))
        };
        let before = changes();
        for _ in 0..ENOENT_GRACE.as_millis() {
            self.read_batch()?;
            if changes() != before {
                return Ok(true);
            }
            let _ = wait(&mut [Waiting::uffd(p.uffd)], Some(Duration::from_millis(1)));
        }
        Ok(false)
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
                return Ok(if bytes > 0 { Some(bytes) } else { None });
            }
            let held = p.gate.shared();
            let Some(s) = p.populated.first_clear_both(b, hi, &p.removed) else {
                break;
            };
            let index = s - base;
            let Some(piece) = p.piece_of(region, index) else {
                p.skip(s);
                b = s + 1;
                continue;
            };
            let piece_end = base + piece.first + piece.len / ps;
            let e = p.populated.clear_run_end(s, hi.min(piece_end), &p.removed);
            if e == s {
                // Populated by another worker since it was found missing.
                b = s + 1;
                continue;
            }
            let run = Run {
                region,
                addr: piece.start + (index - piece.first) * ps,
                index,
                pages: (e - s).min(most),
            };
            match p.place(run, Want::Source, self.scratch, &mut self.scratch_zero)? {
                Placed::Done(k) | Placed::Again(k) if k > 0 => {
                    p.mark_populated(s, k);
                    bytes += k * ps;
                    b = s + k;
                }
                Placed::Exists => {
                    p.mark_populated(s, 1);
                    add(&p.stats.exists, 1);
                    b = s + 1;
                }
                Placed::NoPage => {
                    p.skip(s);
                    b = s + 1;
                }
                // The page's mapping is gone from where the table has it: moved by an
                // mremap or unmapped by an munmap whose event is still to come (the kernel
                // refuses the COPY before the event is read). Let the event fix the table and
                // try again later; with no event (unregistered, or events not negotiated), the
                // page is not the pager's any more.
                Placed::Unmapped => {
                    drop(held);
                    if self.await_table_change()? {
                        return Ok(if bytes > 0 { Some(bytes) } else { None });
                    }
                    p.skip(s);
                    b = s + 1;
                }
                _ => {
                    add(&p.stats.again, 1);
                    return Ok(if bytes > 0 { Some(bytes) } else { None });
                }
            }
        }
        Ok(Some(bytes))
    }
}
