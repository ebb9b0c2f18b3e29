//! The pager: a fault-serving engine on top of [`Uffd`], `no_std` and allocation-free.
//!
//! Every user of userfaultfd writes the same handler loop: read events in batches, resolve
//! each fault from a source, read ahead, populate the rest in the background, survive EEXIST
//! and EAGAIN, remember REMOVE'd ranges, follow UNMAP/REMAP, handle hugetlb, stop cleanly.
//! This module is that loop.
//!
//! - **Regions** ([`Region`]): several registered ranges, each with its own page size (base
//!   pages or hugetlb) and its own [`Source`] and offset into it: a byte slice (a mapped
//!   snapshot), zeros, a [`PageSource`] callback (decompression, a network fetch), or MINOR
//!   mode (`CONTINUE` for shmem/hugetlbfs whose page cache holds the data).
//! - **Policies** ([`Policy`]), composable: demand only; readahead with sequential detection
//!   (the window doubles on sequential faults and resets on random ones; a fault elsewhere
//!   already waiting comes first; a worker that shares its CPU with the threads it serves
//!   places windows in short pieces, [`Policy::shared_piece`]); background fill in capped
//!   pieces, between demand faults, which reports "fully populated".
//! - **Events**: REMOVE'd pages are served as zeros afterwards (and never filled); UNMAP and
//!   REMAP keep the region table right; FORK's new userfaultfd goes to the caller; `EEXIST`
//!   is a wake and a count; `EAGAIN` reads the pending events and retries; `ESRCH` (the
//!   target process is gone) ends the workers with [`Exit::Gone`] (an idle worker asks the
//!   kernel once per idle period, so it notices too). A worker holds 128 faults read and
//!   not yet served; with more threads faulting at once it reads on (the kernel hands out
//!   faults before events, so only that reaches an event behind them) and wakes the faults
//!   that found no room once its queue is served: they fault again ([`Counters::requeued`]).
//! - **Faults outside the table** never end a worker: stale ones (the page was unmapped or
//!   moved after the fault was read) are woken, live ones (a mapping grown with `mremap`,
//!   `MREMAP_DONTUNMAP`'s old range) get zeros; see [`Counters::stale`] and
//!   [`Counters::outside`].
//! - **Failures are typed and reach the caller**: a blocking userfaultfd is
//!   [`ConfigError::Blocking`]; a fill the kernel refuses with no event to explain it is
//!   [`PagerError::Unregistered`], at once; a worker that fails stops the others
//!   ([`Exit::PeerFailed`]), and with `std` `Workers::join` returns its error. The faulting
//!   process learns nothing: its threads wait in their faults while any copy of the
//!   userfaultfd is open.
//! - **State from the caller**: the region table ([`Slot`]s) and two page bitmaps
//!   (`&[AtomicU64]`, shared by every worker and the fill) come in a [`Storage`]; each
//!   [`Worker`] gets its own scratch buffer. Counters and a latency histogram of fixed size
//!   live in the [`Pager`]. No allocation anywhere; with the `std` feature, `OwnedStorage`,
//!   `Stop` and `Pager::spawn` add the conveniences (threads, a stop pipe, heap storage).
//!
//! Workers are plain values: run one per thread (or per process) with [`Worker::run`], or
//! drive them by hand ([`Worker::serve_pending`], [`Worker::fill_piece`]). The userfaultfd
//! must be non-blocking ([`Builder::non_blocking`](crate::Builder::non_blocking)).
//!
//! Safety: the pager adds no promise of its own. It serves through a [`Uffd`], whose creation
//! carried the [capability promise](Uffd#the-capability): every range its operations reach —
//! the regions given to [`Pager::new`], whoever registered them (a VMM that sent the fd, other
//! code of this process) — holds no memory a Rust value relies on. So a [`Region`] is made
//! from a raw address safely, and serving it is safe, as every [`Uffd`] range operation is;
//! ranges the pager registers itself ([`Pager::register`]) add to the handle's reach and are
//! under [`Uffd::register`]'s promise, so that is `unsafe`.
//!
//! Kernel versions: MISSING faults on anonymous memory since Linux 4.3; shmem, hugetlbfs and
//! the REMOVE/UNMAP/REMAP/FORK events since 4.11; MINOR (`CONTINUE`) since 5.13 (hugetlbfs)
//! and 5.14 (shmem).
//!
//! # References
//! - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html),
//!   [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)

mod config;
mod error;
mod events;
mod fill;
mod resolve;
mod state;
mod stats;
#[cfg(all(feature = "std", target_os = "linux"))]
mod std_glue;
mod stray;
mod validate;
mod worker;

pub use config::{PageSource, Policy, Readahead, Region, Source, SourceError};
pub use error::{ConfigError, PagerError};
pub use fill::Fill;
pub use state::Slot;
pub use stats::{Counters, Histogram, BUCKETS};
#[cfg(all(feature = "std", target_os = "linux"))]
pub use std_glue::{monotonic_ns, OwnedStorage, Stop, Workers};
pub use worker::{Exit, Worker};

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};

use crate::error::Error;
use crate::flags::{Features, RegisterMode};
use crate::Uffd;
use state::{Bits, Gate, Piece, Table};
use stats::{Latency, Stats};

/// The state a [`Pager`] keeps, in the caller's memory: the region table and the two page
/// bitmaps (populated; REMOVE'd or unmapped), one bit per page of every region
/// ([`Storage::words`]). Borrowed mutably, so one pager at a time uses it.
#[derive(Debug)]
pub struct Storage<'a> {
    /// The region table: at least one slot per region, more if the target may split regions
    /// (an UNMAP of a region's middle, a REMAP of part of it).
    pub slots: &'a mut [Slot],
    /// One bit per page: populated (or found present).
    pub populated: &'a mut [AtomicU64],
    /// One bit per page: not to be filled from the source any more (REMOVE'd: zeros on the
    /// next fault; unmapped: gone).
    pub removed: &'a mut [AtomicU64],
}

impl Storage<'_> {
    /// Words each bitmap needs for `pages` pages.
    pub const fn words(pages: usize) -> usize {
        pages.div_ceil(64)
    }
}

/// The engine: regions, policy and shared state. Share it by reference between workers
/// (`&Pager` is `Sync`); each [`Worker`] serves through it.
pub struct Pager<'a> {
    uffd: &'a Uffd,
    regions: &'a [Region<'a>],
    table: Table<'a>,
    populated: Bits<'a>,
    removed: Bits<'a>,
    policy: Policy,
    base: usize,
    pages: usize,
    remaining: AtomicUsize,
    gate: Gate,
    ra_next: AtomicUsize,
    ra_win: AtomicUsize,
    cursor: AtomicUsize,
    stats: Stats,
    latency: Latency,
    stop: AtomicBool,
    gone: AtomicBool,
    /// A worker's `run` ended with an error: the others stop ([`Exit::PeerFailed`]).
    failed: AtomicBool,
    /// UNMAP and REMAP events applied so far: a fault read before a change of the table
    /// that leaves its address uncovered is stale.
    epoch: AtomicUsize,
    t0: u64,
}

impl fmt::Debug for Pager<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pager")
            .field("regions", &self.regions)
            .field("pages", &self.pages)
            .field("remaining", &self.remaining_pages())
            .finish_non_exhaustive()
    }
}

/// Whether `uffd` lacks `O_NONBLOCK`: `poll` reports `POLLERR` for a negotiated userfaultfd
/// exactly then (`userfaultfd_poll` in `fs/userfaultfd.c`). Other poll errors (EINTR, a closed
/// fd) are left to the workers, which report them.
fn is_blocking(uffd: &Uffd) -> bool {
    matches!(
        uffd.poll(Some(core::time::Duration::ZERO)),
        Err(Error::PollError)
    )
}

impl<'a> Pager<'a> {
    /// A pager serving `regions` through `uffd` with `policy`, keeping its state in `storage`.
    ///
    /// Checks the configuration: regions non-empty, aligned to their page size (a power of
    /// two at least the base page), not overlapping, sources long enough, registrations
    /// (when given with [`Region::registered`]) matching the page size; storage big enough;
    /// the userfaultfd non-blocking ([`ConfigError::Blocking`] otherwise: one `ppoll` with a
    /// zero timeout, which the kernel answers with `POLLERR` for a negotiated userfaultfd
    /// without `O_NONBLOCK`; this holds for one received from another process too).
    /// Resets the storage. Ranges registered by someone else are served as they are; use
    /// [`register`](Self::register) to register them here.
    pub fn new(
        uffd: &'a Uffd,
        regions: &'a [Region<'a>],
        storage: Storage<'a>,
        policy: Policy,
    ) -> Result<Self, ConfigError> {
        let base = uffd.page_size();
        let pages = validate::validate(base, regions, &policy)?;
        if is_blocking(uffd) {
            return Err(ConfigError::Blocking);
        }
        let Storage {
            slots,
            populated,
            removed,
        } = storage;
        if slots.len() < regions.len() {
            return Err(ConfigError::TooFewSlots {
                needed: regions.len(),
                available: slots.len(),
            });
        }
        let words = Storage::words(pages);
        let have = populated.len().min(removed.len());
        if have < words {
            return Err(ConfigError::BitmapTooSmall {
                needed: words,
                available: have,
            });
        }
        let (slots, populated, removed) = (&*slots, &*populated, &*removed);
        let table = Table::new(slots);
        table.clear();
        for (i, r) in regions.iter().enumerate() {
            table.set(
                i,
                Piece {
                    region: i,
                    start: r.start,
                    len: r.len,
                    first: 0,
                },
            );
        }
        let (populated, removed) = (Bits::new(populated), Bits::new(removed));
        populated.clear_all(pages);
        removed.clear_all(pages);
        let moving = Features::EVENT_REMOVE | Features::EVENT_UNMAP | Features::EVENT_REMAP;
        Ok(Pager {
            uffd,
            regions,
            table,
            populated,
            removed,
            policy,
            base,
            pages,
            remaining: AtomicUsize::new(pages),
            gate: Gate::new(uffd.features().intersects(moving)),
            ra_next: AtomicUsize::new(usize::MAX),
            ra_win: AtomicUsize::new(0),
            cursor: AtomicUsize::new(0),
            stats: Stats::new(),
            latency: Latency::new(),
            stop: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            epoch: AtomicUsize::new(0),
            t0: policy.clock.map_or(0, |c| c()),
        })
    }

    /// `ioctl(fd, UFFDIO_REGISTER, &{range, mode})` for every region: `MODE_MINOR` for
    /// [`Source::Continue`], `MODE_MISSING` otherwise (hugetlb regions through
    /// [`Uffd::hugetlb`]). The returned ioctl masks are checked: a hugetlb mapping under a
    /// base-page region (or the reverse) is [`ConfigError::PageSizeMismatch`], a missing ioctl
    /// [`ConfigError::Unsupported`]; the region is unregistered again then. A
    /// [`Source::Continue`] region needs `MINOR_SHMEM` (or, for hugetlb, `MINOR_HUGETLBFS`)
    /// negotiated on the userfaultfd, else [`ConfigError::MinorNotNegotiated`] before any
    /// region is registered.
    ///
    /// Since Linux 4.3 (anonymous), 4.11 (shmem, hugetlb), 5.13/5.14 (MINOR).
    ///
    /// # Safety
    /// [`Uffd::register`]'s promise, for every region: no Rust value relies on the contents
    /// or the accessibility of the region while it is registered.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub unsafe fn register(&self) -> Result<(), PagerError> {
        for (i, r) in self.regions.iter().enumerate() {
            if matches!(r.source, Source::Continue) {
                let needed = if r.page_size == self.base {
                    Features::MINOR_SHMEM
                } else {
                    Features::MINOR_HUGETLBFS
                };
                if !self.uffd.features().contains(needed) {
                    return Err(ConfigError::MinorNotNegotiated { region: i, needed }.into());
                }
            }
        }
        for (i, r) in self.regions.iter().enumerate() {
            let mode = match r.source {
                Source::Continue => RegisterMode::MINOR,
                _ => RegisterMode::MISSING,
            };
            let ioctls = if r.page_size == self.base {
                // SAFETY: forwarded to the caller.
                unsafe { self.uffd.register(r.start, r.len, mode) }
            } else {
                let h = self.uffd.hugetlb(r.page_size)?;
                // SAFETY: forwarded to the caller.
                unsafe { h.register(r.start, r.len, mode) }
            }?;
            if let Err(e) = validate::check_ioctls(i, r, self.base, ioctls) {
                let _ = self.uffd.unregister(r.start, r.len);
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// `ioctl(fd, UFFDIO_UNREGISTER, &range)` for every piece of every region still mapped
    /// (wakes any thread still waiting there). For when serving is over (e.g. after
    /// [`Exit::FullyPopulated`]: later faults are then the kernel's own).
    ///
    /// Since Linux 4.3.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    pub fn unregister(&self) -> Result<(), Error> {
        let _x = self.gate.exclusive();
        for i in 0..self.table.len() {
            if let Some(p) = self.table.get(i) {
                self.uffd.unregister(p.start, p.len)?;
            }
        }
        Ok(())
    }

    /// A worker over this pager with its own scratch buffer: at least one page of every
    /// region with a [`Source::Callback`] and of every hugetlb region (zeros there are copied
    /// from it); readahead windows and fill pieces of callback regions are capped by it.
    /// `&mut []` when no region needs one.
    pub fn worker<'w>(&'w self, scratch: &'w mut [u8]) -> Result<Worker<'w, 'a>, ConfigError> {
        let needed = self
            .regions
            .iter()
            .map(|r| match r.source {
                Source::Callback { .. } => r.page_size,
                Source::Continue => 0,
                _ if r.page_size > self.base => r.page_size,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if scratch.len() < needed {
            return Err(ConfigError::ScratchTooSmall {
                needed,
                available: scratch.len(),
            });
        }
        Ok(Worker::new(self, scratch))
    }

    /// The userfaultfd served.
    pub fn uffd(&self) -> &'a Uffd {
        self.uffd
    }
    /// The regions as configured (the table follows UNMAP/REMAP; this does not).
    pub fn regions(&self) -> &'a [Region<'a>] {
        self.regions
    }
    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.stats.read()
    }
    /// The service-latency histogram so far (empty without a [`Policy::clock`]).
    pub fn histogram(&self) -> Histogram {
        self.latency.read()
    }
    /// Pages of every region.
    pub fn pages(&self) -> usize {
        self.pages
    }
    /// Pages still to populate (neither populated nor REMOVE'd/unmapped).
    pub fn remaining_pages(&self) -> usize {
        self.remaining.load(Acquire)
    }
    /// Whether every page is populated (or REMOVE'd/unmapped): nothing left to fault in from
    /// the sources. Once true it stays true.
    pub fn is_fully_populated(&self) -> bool {
        self.remaining_pages() == 0
    }
    /// Whether page `index` of region `region` is populated (as far as the pager knows).
    pub fn is_populated(&self, region: usize, index: usize) -> bool {
        self.populated.get(self.bit_base(region) + index)
    }
    /// Asks every worker to return [`Exit::Stopped`] (at once if it was given a stop
    /// descriptor that becomes readable, otherwise within the policy's idle time).
    ///
    /// Permanent: the pager stays stopped, and a worker started on it afterwards returns
    /// [`Exit::Stopped`] at once. Serve again with a new `Pager` (the same storage and
    /// regions may be reused: [`new`](Self::new) resets the storage, so pages populated
    /// before count as missing and are found present, `EEXIST`, when filled).
    pub fn stop(&self) {
        self.stop.store(true, Release);
    }
    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Acquire)
    }
    /// Whether a worker's [`run`](Worker::run) ended with an error (the other workers then
    /// return [`Exit::PeerFailed`]). Like [`stop`](Self::stop), this is for good.
    pub fn has_failed(&self) -> bool {
        self.failed.load(Acquire)
    }
    /// The table epoch: UNMAP and REMAP events applied so far.
    pub(crate) fn epoch(&self) -> usize {
        self.epoch.load(Acquire)
    }
}
