//! Counters and the service-latency histogram: fixed-size atomics, no allocation.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Buckets of the latency histogram: bucket `i < BUCKETS - 1` counts latencies below
/// `2^i` µs (and at least `2^(i-1)` µs); the last counts everything from `2^(BUCKETS-2)` µs
/// (about 0.26 s) on.
pub const BUCKETS: usize = 20;

/// What the pager has done so far, read with [`Pager::counters`](super::Pager::counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Page-fault messages served (resolved, or found already resolved and woken).
    pub faults: u64,
    /// Bytes placed with `UFFDIO_COPY` from a slice or callback (demand, readahead and fill).
    pub bytes_copied: u64,
    /// Bytes placed as zeros (`UFFDIO_ZEROPAGE`, or `COPY` of zeros on hugetlb).
    pub bytes_zeroed: u64,
    /// Bytes mapped with `UFFDIO_CONTINUE`.
    pub bytes_continued: u64,
    /// Faults that continued a sequential run (landed in or right after the previous window).
    pub readahead_hits: u64,
    /// Pages resolved ahead of a fault by readahead windows.
    pub readahead_pages: u64,
    /// Readahead windows placed in one piece: their worker was not preempted since it last
    /// looked, so the thread it woke runs on another CPU (see
    /// [`Policy::shared_piece`](super::Policy::shared_piece)).
    pub readahead_whole: u64,
    /// Readahead windows ended early (or not begun) for a fault outside them: faults first,
    /// the fill brings the rest of the window later.
    pub readahead_cut: u64,
    /// Faults (or fill runs) that found their page already there (`EEXIST`, or known
    /// populated): woken and counted.
    pub exists: u64,
    /// Operations that stopped with `EAGAIN` and were retried after reading events.
    pub again: u64,
    /// Background-fill pieces done.
    pub fill_pieces: u64,
    /// Bytes the background fill placed (also counted in the `bytes_*` above).
    pub fill_bytes: u64,
    /// `UFFD_EVENT_REMOVE` events applied.
    pub removes: u64,
    /// `UFFD_EVENT_UNMAP` events applied.
    pub unmaps: u64,
    /// `UFFD_EVENT_REMAP` events applied.
    pub remaps: u64,
    /// `UFFD_EVENT_FORK` events handed to the caller.
    pub forks: u64,
    /// Pages never populated and not to be (REMOVE'd or unmapped before the first fill).
    pub pages_skipped: u64,
    /// Faults whose page was gone from where it faulted by the time they were served: the
    /// table stopped covering the address after the fault was read (an UNMAP or REMAP of it,
    /// e.g. another worker's fill populated the page, its thread went on and the program
    /// then unmapped or moved it), or the kernel refused the page (`ENOENT`). Woken, nothing
    /// placed: a thread still waiting there faults again, or gets `SIGSEGV`/`EFAULT` if the
    /// page is unmapped.
    pub stale: u64,
    /// Faults at an address no region covers though the table did not change since they
    /// were read: registered memory the pager was never told about (a mapping grown with
    /// `mremap`, the old range of an `MREMAP_DONTUNMAP`, a range registered outside the
    /// pager). Answered with zeros, as the kernel would fill fresh anonymous memory
    /// (`UFFDIO_ZEROPAGE`; a zeroed huge page for hugetlb memory of a region's page size);
    /// woken instead if the page turned out present or gone.
    pub outside: u64,
    /// Faults read while the reading worker's queue was full (more threads faulting at once
    /// than it holds, 128): not served from that message but woken once the queue is
    /// served, so their threads fault again and are read anew.
    pub requeued: u64,
    /// When every page became populated, in ns after the pager was made (the policy's
    /// clock); 0 if not (yet), or without a clock.
    pub populated_at_ns: u64,
}

/// The counters as atomics (shared by every worker).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub faults: AtomicU64,
    pub bytes_copied: AtomicU64,
    pub bytes_zeroed: AtomicU64,
    pub bytes_continued: AtomicU64,
    pub readahead_hits: AtomicU64,
    pub readahead_pages: AtomicU64,
    pub readahead_whole: AtomicU64,
    pub readahead_cut: AtomicU64,
    pub exists: AtomicU64,
    pub again: AtomicU64,
    pub fill_pieces: AtomicU64,
    pub fill_bytes: AtomicU64,
    pub removes: AtomicU64,
    pub unmaps: AtomicU64,
    pub remaps: AtomicU64,
    pub forks: AtomicU64,
    pub pages_skipped: AtomicU64,
    pub stale: AtomicU64,
    pub outside: AtomicU64,
    pub requeued: AtomicU64,
    pub populated_at_ns: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}

impl Stats {
    pub const fn new() -> Self {
        Stats {
            faults: AtomicU64::new(0),
            bytes_copied: AtomicU64::new(0),
            bytes_zeroed: AtomicU64::new(0),
            bytes_continued: AtomicU64::new(0),
            readahead_hits: AtomicU64::new(0),
            readahead_pages: AtomicU64::new(0),
            readahead_whole: AtomicU64::new(0),
            readahead_cut: AtomicU64::new(0),
            exists: AtomicU64::new(0),
            again: AtomicU64::new(0),
            fill_pieces: AtomicU64::new(0),
            fill_bytes: AtomicU64::new(0),
            removes: AtomicU64::new(0),
            unmaps: AtomicU64::new(0),
            remaps: AtomicU64::new(0),
            forks: AtomicU64::new(0),
            pages_skipped: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            outside: AtomicU64::new(0),
            requeued: AtomicU64::new(0),
            populated_at_ns: AtomicU64::new(0),
        }
    }
    pub fn read(&self) -> Counters {
        let l = |c: &AtomicU64| c.load(Relaxed);
        Counters {
            faults: l(&self.faults),
            bytes_copied: l(&self.bytes_copied),
            bytes_zeroed: l(&self.bytes_zeroed),
            bytes_continued: l(&self.bytes_continued),
            readahead_hits: l(&self.readahead_hits),
            readahead_pages: l(&self.readahead_pages),
            readahead_whole: l(&self.readahead_whole),
            readahead_cut: l(&self.readahead_cut),
            exists: l(&self.exists),
            again: l(&self.again),
            fill_pieces: l(&self.fill_pieces),
            fill_bytes: l(&self.fill_bytes),
            removes: l(&self.removes),
            unmaps: l(&self.unmaps),
            remaps: l(&self.remaps),
            forks: l(&self.forks),
            pages_skipped: l(&self.pages_skipped),
            stale: l(&self.stale),
            outside: l(&self.outside),
            requeued: l(&self.requeued),
            populated_at_ns: l(&self.populated_at_ns),
        }
    }
}

/// A histogram of fault service latencies (from reading the fault's message to its page being
/// resolved) in power-of-two microsecond buckets; see [`BUCKETS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Counts per bucket.
    pub counts: [u64; BUCKETS],
}

/// The bucket of a latency in nanoseconds.
pub(crate) const fn bucket(ns: u64) -> usize {
    let us = ns / 1000;
    // Below 2^i µs: i = bit length of us (0 µs -> bucket 0).
    let i = (u64::BITS - us.leading_zeros()) as usize;
    if i < BUCKETS - 1 {
        i
    } else {
        BUCKETS - 1
    }
}

impl Histogram {
    /// The exclusive upper bound of bucket `i` in µs (`None` for the last, open-ended one).
    pub const fn upper_us(i: usize) -> Option<u64> {
        if i < BUCKETS - 1 {
            Some(1 << i)
        } else {
            None
        }
    }
    /// Samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// The upper bound (µs) of the bucket holding the `q`-quantile (`0.0 ..= 1.0`); `None`
    /// if empty or it falls in the last bucket.
    pub fn quantile_upper_us(&self, q: f64) -> Option<u64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        // ceil(total * q), at least 1 (no `f64::ceil` in core).
        let x = total as f64 * q;
        let want = ((x as u64) + ((x as u64 as f64) < x) as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Self::upper_us(i);
            }
        }
        None
    }
}

/// The histogram as atomics.
#[derive(Debug)]
pub(crate) struct Latency {
    counts: [AtomicU64; BUCKETS],
}

impl Latency {
    pub const fn new() -> Self {
        Latency {
            counts: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }
    pub fn record(&self, ns: u64) {
        self.counts[bucket(ns)].fetch_add(1, Relaxed);
    }
    pub fn read(&self) -> Histogram {
        let mut h = Histogram::default();
        for (d, s) in h.counts.iter_mut().zip(&self.counts) {
            *d = s.load(Relaxed);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(999), 0);
        assert_eq!(bucket(1000), 1);
        assert_eq!(bucket(1999), 1);
        assert_eq!(bucket(2000), 2);
        assert_eq!(bucket(3999), 2);
        assert_eq!(bucket(50_000), 6); // 32..64 µs
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        let l = Latency::new();
        for ns in [500, 40_000, 45_000, 60_000, 1_000_000_000] {
            l.record(ns);
        }
        let h = l.read();
        assert_eq!(h.total(), 5);
        assert_eq!(h.quantile_upper_us(0.5), Some(64));
        assert_eq!(h.quantile_upper_us(0.1), Some(1));
        assert_eq!(h.quantile_upper_us(1.0), None);
        // One sample in each of buckets 0..5: the q-quantile is the ceil(5 q)-th sample.
        let l = Latency::new();
        for ns in [500, 1_500, 3_000, 6_000, 12_000] {
            l.record(ns);
        }
        let h = l.read();
        assert_eq!(h.quantile_upper_us(0.4), Some(2)); // 2nd sample (5 q = 2.0)
        assert_eq!(h.quantile_upper_us(0.5), Some(4)); // 3rd sample (5 q = 2.5)
        assert_eq!(h.quantile_upper_us(0.0), Some(1)); // at least the first
    }
}
