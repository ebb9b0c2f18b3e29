//! `std` conveniences: owned storage, a stop pipe, a clock, and spawning workers on threads
//! ([`Workers`]: wait for the first to end, or for all, with the first error).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use super::config::Source;
use super::{Exit, Pager, PagerError, Region, Slot, Storage};
use crate::Uffd;

/// Nanoseconds since the first call (a monotonic clock for [`Policy::clock`](super::Policy::clock)).
pub fn monotonic_ns() -> u64 {
    static T0: OnceLock<Instant> = OnceLock::new();
    T0.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// [`Storage`] on the heap, sized for a set of regions.
#[derive(Debug)]
pub struct OwnedStorage {
    slots: Vec<Slot>,
    populated: Vec<AtomicU64>,
    removed: Vec<AtomicU64>,
}

impl OwnedStorage {
    /// Storage for `regions`, with `spare_slots` more slots than regions (for splits by
    /// UNMAP/REMAP of part of a region).
    pub fn new(regions: &[Region<'_>], spare_slots: usize) -> Self {
        let pages: usize = regions.iter().map(|r| r.pages()).sum();
        let words = Storage::words(pages);
        OwnedStorage {
            slots: (0..regions.len() + spare_slots)
                .map(|_| Slot::new())
                .collect(),
            populated: (0..words).map(|_| AtomicU64::new(0)).collect(),
            removed: (0..words).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    /// The storage, borrowed for one [`Pager`].
    pub fn storage(&mut self) -> Storage<'_> {
        Storage {
            slots: &mut self.slots,
            populated: &mut self.populated,
            removed: &mut self.removed,
        }
    }
}

/// A stop signal for workers: a pipe whose read end they wait on. [`stop`](Self::stop) makes
/// it readable (for good), so every worker waiting on it returns [`Exit::Stopped`].
#[derive(Debug)]
pub struct Stop {
    read: std::io::PipeReader,
    write: std::io::PipeWriter,
}

impl Stop {
    /// `pipe2(O_CLOEXEC)`.
    ///
    /// # References
    /// - [`pipe(2)`](https://man7.org/linux/man-pages/man2/pipe.2.html)
    pub fn new() -> std::io::Result<Self> {
        let (read, write) = std::io::pipe()?;
        Ok(Stop { read, write })
    }
    /// `write(fd, "x", 1)`: stops every worker waiting on this (idempotent).
    pub fn stop(&self) {
        let _ = (&self.write).write(b"x");
    }
    /// The descriptor workers wait on ([`Worker::run`](super::Worker::run)'s `stop`).
    pub fn as_raw_fd(&self) -> i32 {
        self.read.as_raw_fd()
    }
}

impl AsFd for Stop {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

impl<'a> Pager<'a> {
    /// The scratch buffer a worker should have: a page of every region that needs one, and
    /// room for a whole readahead window or fill piece of callback regions.
    pub fn scratch_len(&self) -> usize {
        let window = self
            .policy
            .readahead
            .map_or(0, |r| r.max)
            .max(self.policy.fill_piece.unwrap_or(0));
        self.regions
            .iter()
            .map(|r| match r.source {
                Source::Callback { .. } => r.page_size.max(window),
                Source::Continue => 0,
                _ if r.page_size > self.base => r.page_size,
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Spawns `workers` threads in `scope`, each running a [`Worker`](super::Worker) with a
    /// scratch buffer of [`scratch_len`](Self::scratch_len) bytes until `stop`, the target's
    /// exit, full population (if the policy exits then), or an error. A worker that ends for
    /// any reason but `stop` signals `stop`, so the others end at once: with the same
    /// [`Exit`], or [`Exit::PeerFailed`] after an error. FORK events' userfaultfds go to
    /// `on_fork` (`None` for a program that never forks with `EVENT_FORK`: they are closed).
    ///
    /// [`Workers::join`] waits for them all and returns the first error; [`Workers::wait_any`]
    /// returns as soon as one has ended.
    pub fn spawn<'s, 'e>(
        &'s self,
        scope: &'s Scope<'s, 'e>,
        workers: usize,
        stop: &'s Stop,
        on_fork: Option<&'s (dyn Fn(Uffd) + Sync)>,
    ) -> Workers<'s>
    where
        'a: 's,
    {
        let ended = Arc::new(Ended::default());
        let handles = (0..workers)
            .map(|_| {
                let ended = Arc::clone(&ended);
                scope.spawn(move || {
                    // Counts the worker as ended even if it panics.
                    let mut report = Report {
                        ended: &ended,
                        result: None,
                    };
                    let r = (|| {
                        let mut scratch = vec![0u8; self.scratch_len()];
                        let mut forward = |u: Uffd| {
                            if let Some(f) = on_fork {
                                f(u)
                            }
                        };
                        let mut w = self.worker(&mut scratch)?.on_fork(&mut forward);
                        w.run(Some(stop.as_fd().into()))
                    })();
                    if !matches!(r, Ok(Exit::Stopped)) {
                        // Gone, fully populated, failed: the others end too.
                        stop.stop();
                    }
                    report.result = Some(r);
                    r
                })
            })
            .collect();
        Workers { handles, ended }
    }
}

/// What the workers of one [`Pager::spawn`] share: how many ended, and how.
#[derive(Debug, Default)]
struct Ended {
    state: Mutex<EndedState>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct EndedState {
    /// Workers that ended (returned or panicked).
    count: usize,
    /// The result of the first to end (`None` if it panicked or none ended yet).
    first: Option<Result<Exit, PagerError>>,
    /// The first error, if any.
    error: Option<PagerError>,
}

/// Records a worker's end on drop (a panic included).
struct Report<'r> {
    ended: &'r Ended,
    result: Option<Result<Exit, PagerError>>,
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        let mut s = self.ended.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.count == 0 {
            s.first = self.result;
        }
        s.count += 1;
        if let Some(Err(e)) = self.result {
            s.error.get_or_insert(e);
        }
        drop(s);
        self.ended.cv.notify_all();
    }
}

/// The workers [`Pager::spawn`] started: wait for the first to end, or for all.
#[derive(Debug)]
pub struct Workers<'s> {
    handles: Vec<ScopedJoinHandle<'s, Result<Exit, PagerError>>>,
    ended: Arc<Ended>,
}

impl<'s> Workers<'s> {
    /// How many workers were started.
    pub fn len(&self) -> usize {
        self.handles.len()
    }
    /// Whether none was started.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
    /// How many have ended so far.
    pub fn ended(&self) -> usize {
        self.ended
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .count
    }
    /// Waits until one worker has ended (at most `timeout`; `None`: as long as it takes) and
    /// returns how: the [`PagerError`] that ended one, if any did, else the [`Exit`] of the
    /// first to end (a worker that stopped because another failed waits here for that
    /// error). `None` if none ended in time, or if the first panicked (then
    /// [`join`](Self::join) re-raises the panic). After anything but `Exit::Stopped` the
    /// others are ending too (`spawn` signalled the stop pipe).
    pub fn wait_any(&self, timeout: Option<Duration>) -> Option<Result<Exit, PagerError>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut s = self.ended.state.lock().unwrap_or_else(|e| e.into_inner());
        // A worker that stopped because another failed may end before the failed one has
        // reported: wait for the error then (or for every worker, if the failed one was not
        // spawned here).
        let settled = |s: &EndedState| {
            s.count > 0
                && (s.error.is_some()
                    || s.first != Some(Ok(Exit::PeerFailed))
                    || s.count == self.handles.len())
        };
        while !settled(&s) {
            s = match deadline {
                None => self.ended.cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.checked_duration_since(Instant::now())?;
                    self.ended
                        .cv
                        .wait_timeout(s, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        s.error.map(Err).or(s.first)
    }
    /// Waits for every worker to end and returns the first error any of them returned, or
    /// else the [`Exit`] of the first to end. A worker's panic is re-raised here. Signal the
    /// stop pipe first if they are to stop now.
    pub fn join(self) -> Result<Exit, PagerError> {
        let mut first = None;
        for h in self.handles {
            match h.join() {
                Ok(r) => {
                    first.get_or_insert(r);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let s = self.ended.state.lock().unwrap_or_else(|e| e.into_inner());
        match (s.error, s.first) {
            (Some(e), _) => Err(e),
            (None, Some(r)) => r,
            // No worker (`workers == 0`): nothing ran, nothing stopped it.
            (None, None) => first.unwrap_or(Ok(Exit::Stopped)),
        }
    }
    /// The join handles, one per worker, for waiting on each by hand.
    pub fn into_handles(self) -> Vec<ScopedJoinHandle<'s, Result<Exit, PagerError>>> {
        self.handles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward() {
        let a = monotonic_ns();
        std::thread::sleep(Duration::from_millis(2));
        let b = monotonic_ns();
        assert!(b >= a + 2_000_000, "{a} ns, then {b} ns");
    }

    #[test]
    fn stop_waits_on_its_pipe() {
        let s = Stop::new().unwrap();
        let fd = s.as_raw_fd();
        assert_eq!(fd, s.as_fd().as_raw_fd());
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        assert!(link.to_string_lossy().starts_with("pipe:"), "{link:?}");
    }
}
