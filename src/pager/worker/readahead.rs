//! Readahead after a fault: the window's size (sequential detection) and how it is placed
//! (in one piece, or in growing pieces that give way to a fault elsewhere).

use core::time::Duration;

use super::super::resolve::{Placed, Run, Want};
use super::super::stats::add;
use super::super::{Pager, PagerError};
use super::{Worker, QUEUE};
use crate::wait::wait;

impl Worker<'_, '_> {
    /// Readahead: resolves `run` (pages after a fault just served, starting at `bit`,
    /// decided at table epoch `epoch`) as far as it goes. A present page, a changed table
    /// or pending events end it early.
    ///
    /// `alone`: this thread was not preempted while it placed the faulting page, so the
    /// thread it woke runs on another CPU. Then the window goes in one piece: that thread
    /// waits for the window it runs into either way, and each piece that wakes it costs this
    /// thread a cross-CPU wake-up (measured at 15–30 µs on a VM whose idle vCPUs halt,
    /// BENCHMARKS.md), so fewer pieces finish sooner.
    ///
    /// Otherwise (preempted: the woken thread shares this CPU and ran in between) the window
    /// goes in pieces from 16 KiB doubling up to the fill piece (128 KiB without a fill), each
    /// waking its waiters, and before each piece after the first the worker looks for new
    /// faults: one outside the rest of the window ends it (`Counters::readahead_cut`), so it
    /// is served next rather than after the window; one inside (a sequential toucher right
    /// behind) does not, the next piece serves it. On a shared CPU the thread that faulted
    /// runs only while this one is preempted or asleep, so every page of a window that it
    /// does not need delays its next fault.
    pub(super) fn ahead(
        &mut self,
        run: Run,
        bit: usize,
        want: Want,
        alone: bool,
        epoch: usize,
    ) -> Result<(), PagerError> {
        let p = self.pager;
        let ps = p.regions[run.region].page_size;
        let piece = if alone {
            add(&p.stats.readahead_whole, 1);
            run.pages
        } else {
            (p.policy.shared_piece / ps).max(1)
        };
        let end = run.addr + run.pages * ps;
        let mut done = 0;
        while done < run.pages {
            // With a fault waiting in the window, the piece ends at its page.
            let mut upto = run.pages;
            if !alone {
                match self.waiting(run.addr, end)? {
                    Waiting::Outside => {
                        add(&p.stats.readahead_cut, 1);
                        break;
                    }
                    Waiting::Inside(a) if a >= run.addr + done * ps => {
                        upto = (a - run.addr) / ps + 1;
                    }
                    _ => {}
                }
            }
            // Taken again for each piece (events may have been read in between): the run is
            // re-decided under it, as the fill does.
            let _held = p.gate.shared();
            if p.epoch() != epoch {
                break;
            }
            let clear = p.populated.clear_run_end(
                bit + done,
                bit + upto.max(done + 1).min(run.pages),
                &p.removed,
            );
            let n = piece.min(clear - (bit + done));
            if n == 0 {
                break;
            }
            let part = Run {
                addr: run.addr + done * ps,
                index: run.index + done,
                pages: n,
                ..run
            };
            match p.place(part, want, self.scratch, &mut self.scratch_zero)? {
                Placed::Done(k) | Placed::Again(k) => {
                    p.mark_populated(bit + done, k);
                    add(&p.stats.readahead_pages, k as u64);
                    if k < n {
                        break;
                    }
                    done += k;
                }
                Placed::Exists | Placed::NoPage | Placed::Unmapped => break,
            }
        }
        Ok(())
    }

    /// The faults waiting, against the window `[lo, hi)`: one queued already, or one of the
    /// events pending now (read here, non-blocking; they join the queue). A read that
    /// brought an error or a fault the queue had no room for counts as outside: both are
    /// dealt with once the window ends.
    fn waiting(&mut self, lo: usize, hi: usize) -> Result<Waiting, PagerError> {
        let mut u = [crate::wait::Waiting::uffd(self.pager.uffd)];
        if self.len == 0 {
            if wait(&mut u, Some(Duration::ZERO))? == 0 || !u[0].is_readable() {
                return Ok(Waiting::None);
            }
            self.read_batch()?;
            if self.overflow.is_some() || self.error.is_some() {
                return Ok(Waiting::Outside);
            }
        }
        let mut last = None;
        for i in 0..self.len {
            let a = self.queue[(self.head + i) % QUEUE];
            if a < lo || a >= hi {
                return Ok(Waiting::Outside);
            }
            last = last.max(Some(a));
        }
        Ok(last.map_or(Waiting::None, Waiting::Inside))
    }
}

/// Faults waiting while a window is placed.
enum Waiting {
    None,
    /// All inside the window, the highest at this address.
    Inside(usize),
    /// One at least outside it.
    Outside,
}

impl Pager<'_> {
    /// The readahead window (pages) for a fault at `bit`, and whether it continues a
    /// sequential run (then the window doubles; otherwise it starts again).
    pub(crate) fn window(&self, bit: usize, ps: usize) -> (usize, bool) {
        use core::sync::atomic::Ordering::Relaxed;
        let Some(ra) = self.policy.readahead else {
            return (1, false);
        };
        let max = (ra.max / ps).max(1);
        let initial = (ra.initial / ps).clamp(1, max);
        let next = self.ra_next.load(Relaxed);
        let win = self.ra_win.load(Relaxed).clamp(initial, max);
        let hit = bit <= next && bit >= next.saturating_sub(win);
        let w = if hit { (win * 2).min(max) } else { initial };
        self.ra_win.store(w, Relaxed);
        self.ra_next.store(bit + w, Relaxed);
        (w, hit)
    }
}
