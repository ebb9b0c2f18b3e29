//! A [`Worker`]: reads events in batches, serves faults (with readahead), fills in the
//! background between them, and stops cleanly.

use core::time::Duration;

use super::resolve::{cap, Placed, Run, Want};
use super::stats::add;
use super::{config::Source, Pager, PagerError};
use crate::abi::uffd_msg;
use crate::error::{Call, Error};
use crate::event::Event;
use crate::fd::BorrowedFd;
use crate::sys::Errno;
use crate::wait::{wait, Waiting};
use crate::Uffd;

mod preempt;
mod readahead;
use preempt::Switches;

/// Messages read at once.
const BATCH: usize = 64;
/// Faults a worker holds (read, not yet served).
const QUEUE: usize = 2 * BATCH;

/// A fault read and not yet served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queued {
    pub address: usize,
    /// When it was read (the policy's clock; 0 without one).
    pub read_at: u64,
    /// The pager's table epoch when it was read.
    pub epoch: usize,
}

/// Why [`Worker::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// The stop descriptor became readable (or hung up), or [`Pager::stop`] was called.
    Stopped,
    /// The target process is gone (`ESRCH`): nothing left to serve.
    Gone,
    /// Every page is populated and the policy says to exit then
    /// ([`Policy::exit_when_populated`](super::Policy::exit_when_populated)). REMOVE'd pages
    /// may still fault later: [`Pager::unregister`] hands them to the kernel (zeros), or keep
    /// a worker serving.
    FullyPopulated,
    /// Another worker of the pager failed: its [`run`](Worker::run) returned the error
    /// (see [`Pager::has_failed`]); this one stopped because of it. Nobody serves the
    /// userfaultfd any more: threads that fault in its ranges stay blocked for as long as
    /// any copy of the userfaultfd is open, in any process (close them all, or
    /// [`Pager::unregister`], to hand the ranges to the kernel: they then read as the
    /// kernel fills them, zeros for anonymous memory, not as the source).
    PeerFailed,
}

/// One fault-serving loop over a [`Pager`]; made by [`Pager::worker`]. Run one per thread (or
/// per process): all share the pager's table, bitmaps and counters.
pub struct Worker<'w, 'a> {
    pub(crate) pager: &'w Pager<'a>,
    pub(crate) scratch: &'w mut [u8],
    pub(crate) scratch_zero: bool,
    msgs: [uffd_msg; BATCH],
    queue: [usize; QUEUE],
    /// When each queued fault was read (the policy's clock; 0 without one).
    stamps: [u64; QUEUE],
    /// The pager's table epoch when each queued fault was read (see [`Pager::epoch`]).
    epochs: [usize; QUEUE],
    head: usize,
    len: usize,
    on_fork: Option<&'w mut (dyn FnMut(Uffd) + 'w)>,
    error: Option<PagerError>,
    /// The last read found serving in flight (another worker will read).
    contended: bool,
    /// The lowest and highest address of the faults read while the queue was full: their
    /// threads are woken (to fault again) once the queue is served.
    overflow: Option<(usize, usize)>,
    /// The involuntary context switches at the last look (see [`preempt`]).
    switches: Switches,
}

impl core::fmt::Debug for Worker<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Worker")
            .field("scratch", &self.scratch.len())
            .field("queued", &self.len)
            .finish_non_exhaustive()
    }
}

fn is_esrch(e: &PagerError) -> bool {
    matches!(e, PagerError::Uffd(e) if e.errno() == Some(Errno::ESRCH))
}

impl<'w, 'a> Worker<'w, 'a> {
    pub(crate) fn new(pager: &'w Pager<'a>, scratch: &'w mut [u8]) -> Self {
        Worker {
            pager,
            scratch,
            scratch_zero: false,
            msgs: [uffd_msg::zeroed(); BATCH],
            queue: [0; QUEUE],
            stamps: [0; QUEUE],
            epochs: [0; QUEUE],
            head: 0,
            len: 0,
            on_fork: None,
            error: None,
            contended: false,
            overflow: None,
            switches: Switches::now(),
        }
    }

    /// Where the new userfaultfd of a `UFFD_EVENT_FORK` goes (it serves the child's copy of
    /// the registered ranges). Called while the worker holds the pager's event gate: keep it
    /// short (store or send the [`Uffd`]). Without one, it is dropped: closing it leaves the
    /// child's ranges to the kernel (zero pages).
    ///
    /// It runs *after* the kernel has let `fork()` return in the parent: the forking thread
    /// waits only until the FORK message is read, and the callback runs once the batch it
    /// came in is read. A parent that wants the child's userfaultfd must wait for the
    /// callback, not for `fork()`. The child runs meanwhile; its faults wait in the new
    /// userfaultfd until someone serves it.
    ///
    /// The worker that reads the FORK event must be running already and must not allocate
    /// until it has read it (nor may the callback): glibc's `fork()` holds the allocator's
    /// locks while the kernel waits for that read, so a worker thread still starting up (std
    /// allocates there) or a callback that allocates deadlocks with the forking thread.
    /// [`Worker::run`] itself never allocates.
    pub fn on_fork(mut self, f: &'w mut (dyn FnMut(Uffd) + 'w)) -> Self {
        self.on_fork = Some(f);
        self
    }

    /// Faults read and not yet served.
    pub fn queued(&self) -> usize {
        self.len
    }

    fn pop(&mut self) -> Option<Queued> {
        (self.len > 0).then(|| {
            let h = self.head;
            let a = Queued {
                address: self.queue[h],
                read_at: self.stamps[h],
                epoch: self.epochs[h],
            };
            self.head = (h + 1) % QUEUE;
            self.len -= 1;
            a
        })
    }

    /// Puts `q` back at the head of the queue (its thread still waits).
    fn unpop(&mut self, q: Queued) {
        self.head = (self.head + QUEUE - 1) % QUEUE;
        self.queue[self.head] = q.address;
        self.stamps[self.head] = q.read_at;
        self.epochs[self.head] = q.epoch;
        self.len += 1;
    }

    /// `read(fd, msgs, n * 32)` once (non-blocking), under the gate's exclusive side: faults
    /// go to the queue, REMOVE/UNMAP/REMAP are applied, FORK goes to the caller. Returns the
    /// messages read.
    ///
    /// A whole batch is read even when the queue is (nearly) full: the kernel hands out
    /// every pending fault before any event, and while an event is unread every placement is
    /// `EAGAIN`, so with more threads faulting than the queue holds only reading on reaches
    /// the event. A fault with no room is not served from its message: its address joins
    /// the overflow span, woken once the queue is served, and its thread faults again.
    pub(crate) fn read_batch(&mut self) -> Result<usize, PagerError> {
        let p = self.pager;
        let Worker {
            msgs,
            queue,
            stamps,
            epochs,
            head,
            len,
            on_fork,
            error,
            contended,
            overflow,
            ..
        } = self;
        let Some(_x) = p.gate.try_exclusive() else {
            // Serving is in flight: whoever holds it reads as soon as its section ends.
            *contended = true;
            return Ok(0);
        };
        let Some(events) = p.uffd.read_events(&mut msgs[..])? else {
            return Ok(0);
        };
        let read = events.len();
        let now = p.now().unwrap_or(0);
        for ev in events {
            let r = match ev {
                Ok(Event::Pagefault { address, .. }) if *len == QUEUE => {
                    let (lo, hi) = overflow.get_or_insert((address, address));
                    *lo = address.min(*lo);
                    *hi = address.max(*hi);
                    add(&p.stats.requeued, 1);
                    Ok(())
                }
                Ok(Event::Pagefault { address, .. }) => {
                    let at = (*head + *len) % QUEUE;
                    queue[at] = address;
                    stamps[at] = now;
                    // Before the events that follow it in this batch are applied: a fault
                    // whose page an UNMAP/REMAP of the same batch takes away is stale.
                    epochs[at] = p.epoch();
                    *len += 1;
                    Ok(())
                }
                Ok(Event::Remove { start, end }) => {
                    p.apply_remove(start, end);
                    Ok(())
                }
                Ok(Event::Unmap { start, end }) => p.apply_unmap(start, end),
                Ok(Event::Remap { from, to, len }) => p.apply_remap(from, to, len),
                Ok(Event::Fork(child)) => {
                    add(&p.stats.forks, 1);
                    if let Some(f) = on_fork {
                        f(child);
                    }
                    Ok(())
                }
                Err(e) => Err(e.into()),
            };
            if let Err(e) = r {
                // Serve the batch's faults first (their threads wait), then report.
                error.get_or_insert(e);
            }
        }
        Ok(read)
    }

    /// Reads the events pending now (one batch, non-blocking) and serves every fault queued,
    /// with readahead if the policy has it. Returns the faults served. An error in the batch
    /// (an event that could not be applied) is returned after its faults are served.
    ///
    /// Issues `read`, `UFFDIO_COPY` / `UFFDIO_ZEROPAGE` / `UFFDIO_CONTINUE`, `UFFDIO_WAKE`, and
    /// `getrusage(RUSAGE_THREAD)` once per readahead window (refused, e.g. by a seccomp filter,
    /// the windows go in shared pieces); see the [module](super) for kernel versions.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn serve_pending(&mut self) -> Result<usize, PagerError> {
        self.read_batch()?;
        let mut served = 0;
        while let Some(q) = self.pop() {
            if let Err(e) = self.serve_fault(q) {
                // Keep the fault for the next call (its thread still waits), unless it can
                // never be answered (it was woken: its thread faults again if it must).
                if !matches!(e, PagerError::NoRegion { .. }) {
                    self.unpop(q);
                }
                return Err(e);
            }
            served += 1;
        }
        self.wake_overflow()?;
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(served),
        }
    }

    /// Wakes the threads of the faults read while the queue was full, now that it is
    /// served: each faults again (or goes on, if its page is there now).
    fn wake_overflow(&mut self) -> Result<(), PagerError> {
        let Some((lo, hi)) = self.overflow.take() else {
            return Ok(());
        };
        let base = self.pager.base;
        let start = lo & !(base - 1);
        let end = (hi & !(base - 1)) + base;
        self.pager.uffd.wake(start, end - start)?;
        Ok(())
    }

    /// Reads pending events after an `EAGAIN`; if none were there (the event's own thread has
    /// not finished with it yet), waits briefly so that thread can run.
    pub(crate) fn drain(&mut self) -> Result<(), PagerError> {
        add(&self.pager.stats.again, 1);
        if self.read_batch()? == 0 {
            let mut w = [Waiting::uffd(self.pager.uffd)];
            let _ = wait(&mut w, Some(Duration::from_micros(50)));
        }
        Ok(())
    }

    /// Serves one fault: its page, and the readahead window after it.
    fn serve_fault(&mut self, q: Queued) -> Result<(), PagerError> {
        let p = self.pager;
        let t0 = p.now().map(|_| q.read_at);
        loop {
            let held = p.gate.shared();
            let epoch = p.epoch();
            let Some(loc) = p.locate(q.address) else {
                drop(held);
                return self.outside(q);
            };
            let ps = loc.page_size;
            // The fault is the truth: the page is missing now, whatever the bitmap says (it
            // may have been dropped behind the pager's back, e.g. MADV_DONTNEED without
            // EVENT_REMOVE). Resolve it; EEXIST (filled meanwhile) is a wake.
            let continues = matches!(p.regions[loc.region].source, Source::Continue);
            let want = if !continues && p.removed.get(loc.bit) {
                Want::Zeros
            } else {
                Want::Source
            };
            let (win, hit) = match want {
                Want::Zeros => (1, false),
                Want::Source => p.window(loc.bit, ps),
            };
            let to_end = (loc.piece.end() - loc.addr) / ps;
            let mut n = win
                .min(to_end)
                .min(cap(p, loc.region, want, self.scratch.len()));
            if n > 1 {
                n = p
                    .populated
                    .clear_run_end(loc.bit + 1, loc.bit + n, &p.removed)
                    - loc.bit;
            }
            // The faulting page alone first (its thread wakes as soon as it is there), then
            // the rest of the window.
            let run = Run {
                region: loc.region,
                addr: loc.addr,
                index: loc.index,
                pages: 1,
            };
            match p.place(run, want, self.scratch, &mut self.scratch_zero)? {
                Placed::Done(1) => {
                    p.mark_populated(loc.bit, 1);
                    if hit {
                        add(&p.stats.readahead_hits, 1);
                    }
                    if let (Some(t0), Some(t1)) = (t0, p.now()) {
                        p.latency.record(t1.saturating_sub(t0));
                    }
                    if n > 1 {
                        let rest = Run {
                            addr: loc.addr + ps,
                            index: loc.index + 1,
                            pages: n - 1,
                            ..run
                        };
                        // Released: the window reads events between its pieces and takes
                        // the gate again for each (re-deciding its run at `epoch`).
                        drop(held);
                        self.ahead(rest, loc.bit + 1, want, epoch)?;
                    }
                    add(&p.stats.faults, 1);
                    return Ok(());
                }
                Placed::Exists => {
                    p.mark_populated(loc.bit, 1);
                    drop(held);
                    p.wake(ps, loc.addr)?;
                    add(&p.stats.exists, 1);
                    break;
                }
                Placed::NoPage => {
                    return Err(Error::Sys {
                        call: Call::Continue,
                        errno: Errno::EFAULT,
                    }
                    .into())
                }
                // The page was unmapped after it faulted: nothing to place. Wake whoever
                // waits there (a no-op if nobody does) and read the event that explains it.
                Placed::Unmapped => {
                    drop(held);
                    let _ = p.wake(ps, loc.addr);
                    add(&p.stats.stale, 1);
                    self.read_batch()?;
                    return Ok(());
                }
                // EAGAIN with nothing done: an event is pending. Read it, then retry.
                _ => {
                    drop(held);
                    self.drain()?;
                }
            }
        }
        add(&p.stats.faults, 1);
        if let (Some(t0), Some(t1)) = (t0, p.now()) {
            p.latency.record(t1.saturating_sub(t0));
        }
        Ok(())
    }

    /// Serves until stopped: waits on the userfaultfd (and `stop`, a descriptor that becomes
    /// readable to stop, e.g. a pipe or eventfd, or `None`), serves faults first, and between
    /// them fills one piece at a time if the policy has a background fill.
    ///
    /// Returns [`Exit::Stopped`] when `stop` is readable or hung up or [`Pager::stop`] was
    /// called, [`Exit::Gone`] when an operation says the target process is gone (`ESRCH`;
    /// other workers then return `Gone` too, within the idle time; an idle worker asks the
    /// kernel once per idle period, so it notices too, since Linux 5.13), and
    /// [`Exit::FullyPopulated`] if the policy asks for it. An error ends this worker and
    /// marks the pager failed: the other workers return [`Exit::PeerFailed`] within the idle
    /// time (at once if they wait on a stop descriptor that the caller then writes, as
    /// `Pager::spawn` does). Issues `ppoll`, `read`, `getrusage` (readahead, see
    /// [`Worker::serve_pending`]) and the `UFFDIO_*` resolutions.
    ///
    /// The target process learns nothing when a worker ends: its threads that fault in the
    /// served ranges stay blocked for as long as any copy of the userfaultfd is open.
    ///
    /// A userfaultfd made blocking after [`Pager::new`] (e.g. `fcntl` by another holder of
    /// the same open file) is [`ConfigError::Blocking`](super::ConfigError::Blocking) here.
    ///
    /// # References
    /// - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html),
    ///   [`ppoll(2)`](https://man7.org/linux/man-pages/man2/ppoll.2.html)
    pub fn run(&mut self, stop: Option<BorrowedFd<'_>>) -> Result<Exit, PagerError> {
        let r = self.serve_until(stop);
        if r.is_err() {
            self.pager
                .failed
                .store(true, core::sync::atomic::Ordering::Release);
        }
        r
    }

    fn serve_until(&mut self, stop: Option<BorrowedFd<'_>>) -> Result<Exit, PagerError> {
        let p = self.pager;
        let mut filling = p.policy.fill_piece.is_some();
        loop {
            if let Some(exit) = self.exit_now() {
                return Ok(exit);
            }
            filling &= !p.is_fully_populated();
            let timeout = if filling || self.len > 0 {
                Duration::ZERO
            } else {
                p.policy.idle
            };
            // Without a stop descriptor only the first slot is polled.
            let mut fds = [
                Waiting::uffd(p.uffd),
                stop.map_or(Waiting::uffd(p.uffd), Waiting::fd),
            ];
            let n = 1 + stop.is_some() as usize;
            let ready = wait(&mut fds[..n], Some(timeout))?;
            if let Some(exit) = self.exit_now() {
                return Ok(exit);
            }
            if n == 2 && fds[1].is_ready() {
                return Ok(Exit::Stopped);
            }
            let u = fds[0];
            if u.is_error() {
                // POLLERR on a negotiated userfaultfd: it lacks O_NONBLOCK.
                return Err(super::ConfigError::Blocking.into());
            }
            if u.is_invalid() {
                return Err(Error::Sys {
                    call: Call::Poll,
                    errno: Errno::EBADF,
                }
                .into());
            }
            if !u.is_readable() {
                p.gate.clear_wanted();
            }
            let step = if u.is_readable() || self.len > 0 {
                self.serve_pending().map(drop)
            } else if filling {
                self.fill_piece().map(drop)
            } else if ready == 0 {
                // A whole idle period without a message (with an idle time of 0, every turn).
                self.probe_target()
            } else {
                Ok(())
            };
            if core::mem::take(&mut self.contended) {
                // Another worker is serving and will read at the end of its section: step
                // back briefly rather than spin on the readable descriptor.
                let _ = wait(&mut [], Some(Duration::from_micros(20)));
            }
            match step {
                Ok(()) => {}
                Err(e) if is_esrch(&e) => {
                    p.gone.store(true, core::sync::atomic::Ordering::Release);
                    return Ok(Exit::Gone);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the process whose memory is served still exists. The kernel tells only
    /// through an operation, with `ESRCH` once that process's memory is gone; a worker with
    /// nothing to do issues none, so after an idle period it asks: `UFFDIO_CONTINUE` of one
    /// base page at the start of a piece of the table, without waking anyone. That changes
    /// nothing: anonymous memory refuses it (`EINVAL`); in shmem and hugetlbfs it maps a page
    /// only if the page cache holds it, which is what the kernel's own fault does there (a
    /// MISSING fault comes only for a page the cache lacks, and in a MINOR region `CONTINUE`
    /// is the pager's own answer). Any answer but `ESRCH` means "still there". Kernels
    /// before 5.13 lack `UFFDIO_CONTINUE` (`EINVAL` always): there an idle worker notices
    /// only at its next operation.
    fn probe_target(&self) -> Result<(), PagerError> {
        let p = self.pager;
        let _held = p.gate.shared();
        let Some(piece) = (0..p.table.len()).find_map(|i| p.table.get(i)) else {
            return Ok(());
        };
        match p
            .uffd
            .continue_(piece.start, p.base, crate::flags::ContinueMode::DONTWAKE)
        {
            Err(e) if e.errno() == Some(Errno::ESRCH) => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn exit_now(&self) -> Option<Exit> {
        let p = self.pager;
        if p.gone.load(core::sync::atomic::Ordering::Acquire) {
            Some(Exit::Gone)
        } else if p.has_failed() {
            Some(Exit::PeerFailed)
        } else if p.policy.exit_when_populated && p.is_fully_populated() {
            Some(Exit::FullyPopulated)
        } else if p.is_stopped() {
            Some(Exit::Stopped)
        } else {
            None
        }
    }
}
