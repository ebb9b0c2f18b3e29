//! Readahead after a fault: the window's size (sequential detection) and how it is placed
//! (in one piece, or in short pieces that give way to a fault elsewhere).

use super::super::resolve::{Placed, Run, Want};
use super::super::stats::add;
use super::super::{Pager, PagerError};
use super::{Worker, QUEUE};

impl Worker<'_, '_> {
    /// Readahead: resolves `run` (pages after a fault just served, starting at `bit`,
    /// decided at table epoch `epoch`) as far as it goes. A present page, a changed table
    /// or pending events end it early.
    ///
    /// Faults first: a fault outside the window already waiting (read now if none is
    /// queued) ends the window before it starts (`Counters::readahead_cut`); it is served
    /// next, and the fill brings the window's pages later.
    ///
    /// Then, if this worker was not preempted since it last looked (the previous fault, then
    /// this page: see [`Worker::sharing`]), the thread it woke runs on another CPU and the
    /// window goes in one piece: that thread waits for the window it runs into either way,
    /// and each piece that wakes it costs this thread a cross-CPU wake-up (measured at 15–30
    /// µs on a VM whose idle vCPUs halt, BENCHMARKS.md), so fewer pieces finish sooner.
    ///
    /// Otherwise (preempted: the woken thread shares this CPU) the window goes in pieces of
    /// [`Policy::shared_piece`](super::super::Policy::shared_piece), each waking its waiters:
    /// a thread on this CPU runs only while this one is preempted or asleep, which here is
    /// when an `ioctl` returns, so it waits for one piece, not the window. Before each piece
    /// the worker looks for faults again as above; one inside the window (a sequential
    /// toucher right behind) does not end it, the pieces serve it.
    pub(super) fn ahead(
        &mut self,
        run: Run,
        bit: usize,
        want: Want,
        epoch: usize,
    ) -> Result<(), PagerError> {
        let p = self.pager;
        let ps = p.regions[run.region].page_size;
        let end = run.addr + run.pages * ps;
        // Decided after the first look for faults (so before the first piece, not alone).
        let mut alone = false;
        let mut piece = run.pages;
        let mut done = 0;
        while done < run.pages {
            if !alone && self.fault_elsewhere(run.addr, end)? {
                add(&p.stats.readahead_cut, 1);
                break;
            }
            if done == 0 {
                alone = self.sharing() == Some(false);
                if alone {
                    add(&p.stats.readahead_whole, 1);
                } else {
                    piece = (p.policy.shared_piece / ps).max(1);
                }
            }
            // Taken again for each piece (events may have been read in between): the run is
            // re-decided under it, as the fill does.
            let _held = p.gate.shared();
            if p.epoch() != epoch {
                break;
            }
            let clear = p
                .populated
                .clear_run_end(bit + done, bit + run.pages, &p.removed);
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

    /// Whether a fault outside the window `[lo, hi)` waits. With none queued, one
    /// non-blocking read of the events pending now (they join the queue); with faults queued
    /// already, none: if they are all inside, the threads that faulted wait for the pieces
    /// (one that shares this CPU can fault again only once a piece has woken it). A read
    /// that brought an error or a fault the queue had no room for counts too: both are dealt
    /// with once the window ends.
    fn fault_elsewhere(&mut self, lo: usize, hi: usize) -> Result<bool, PagerError> {
        if self.len == 0 {
            self.read_batch()?;
        }
        Ok(self.overflow.is_some()
            || self.error.is_some()
            || (0..self.len).any(|i| {
                let a = self.queue[(self.head + i) % QUEUE];
                a < lo || a >= hi
            }))
    }
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
