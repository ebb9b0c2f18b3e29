//! `std` conveniences: owned storage, a stop pipe, a clock, and spawning workers on threads.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Instant;

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
    /// exit, or full population (if the policy exits then). A worker that ends for one of the
    /// last two reasons signals `stop`, so the others end at once (with the same [`Exit`]).
    /// FORK events' userfaultfds go to `on_fork`.
    pub fn spawn<'s, 'e>(
        &'s self,
        scope: &'s Scope<'s, 'e>,
        workers: usize,
        stop: &'s Stop,
        on_fork: &'s (dyn Fn(Uffd) + Sync),
    ) -> Vec<ScopedJoinHandle<'s, Result<Exit, PagerError>>>
    where
        'a: 's,
    {
        (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    let mut scratch = vec![0u8; self.scratch_len()];
                    let mut forward = |u: Uffd| on_fork(u);
                    let mut w = self.worker(&mut scratch)?.on_fork(&mut forward);
                    let r = w.run(Some(stop.as_fd().into()));
                    if matches!(r, Ok(Exit::Gone | Exit::FullyPopulated)) {
                        stop.stop();
                    }
                    r
                })
            })
            .collect()
    }
}
