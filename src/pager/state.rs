//! The state workers share, all in atomics and in the caller's memory: page bitmaps, the region
//! table ([`Slot`]s), and the gate that orders event reading against serving.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use core::time::Duration;

/// One entry of the pager's region table, in storage the caller provides (see
/// [`Storage`](super::Storage)). Make them with [`Slot::new`] (`[const { Slot::new() }; N]`).
///
/// A region starts in one slot. An UNMAP of its middle or a REMAP of part of it splits it:
/// each piece takes a free slot, so give a few more slots than regions if the target may do
/// that ([`ConfigError::TooFewSlots`](super::ConfigError::TooFewSlots) if fewer than
/// regions, [`PagerError::TableFull`](super::PagerError::TableFull) when a split finds none).
#[derive(Debug)]
pub struct Slot {
    /// Index of the region this piece belongs to (`FREE`: unused).
    region: AtomicUsize,
    /// Where the piece is now.
    start: AtomicUsize,
    len: AtomicUsize,
    /// Its first page, counted from the region's start (bits and source offsets follow it).
    first: AtomicUsize,
}

const FREE: usize = usize::MAX;

impl Slot {
    /// An unused slot.
    pub const fn new() -> Self {
        Slot {
            region: AtomicUsize::new(FREE),
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            first: AtomicUsize::new(0),
        }
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

/// A slot's contents, read out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub region: usize,
    pub start: usize,
    pub len: usize,
    pub first: usize,
}

impl Piece {
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// The region table over the caller's slots. Changed only under the gate's exclusive side (or
/// before any worker runs); read under its shared side.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table<'a> {
    slots: &'a [Slot],
}

impl<'a> Table<'a> {
    pub fn new(slots: &'a [Slot]) -> Self {
        Table { slots }
    }
    pub fn get(&self, i: usize) -> Option<Piece> {
        let s = &self.slots[i];
        let region = s.region.load(Relaxed);
        (region != FREE).then(|| Piece {
            region,
            start: s.start.load(Relaxed),
            len: s.len.load(Relaxed),
            first: s.first.load(Relaxed),
        })
    }
    pub fn set(&self, i: usize, p: Piece) {
        let s = &self.slots[i];
        s.start.store(p.start, Relaxed);
        s.len.store(p.len, Relaxed);
        s.first.store(p.first, Relaxed);
        s.region.store(p.region, Relaxed);
    }
    pub fn free(&self, i: usize) {
        self.slots[i].region.store(FREE, Relaxed);
    }
    pub fn clear(&self) {
        for i in 0..self.slots.len() {
            self.free(i);
        }
    }
    pub fn len(&self) -> usize {
        self.slots.len()
    }
    /// A free slot's index.
    pub fn free_slot(&self) -> Option<usize> {
        (0..self.slots.len()).find(|&i| self.slots[i].region.load(Relaxed) == FREE)
    }
    /// The slot holding `addr`, and its piece.
    pub fn find(&self, addr: usize) -> Option<(usize, Piece)> {
        (0..self.slots.len()).find_map(|i| {
            let p = self.get(i)?;
            (addr >= p.start && addr - p.start < p.len).then_some((i, p))
        })
    }
}

/// A bitmap of pages over the caller's words; bit `i` is page `i` counted across regions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bits<'a> {
    words: &'a [AtomicU64],
}

/// The mask of bits `[lo, hi)` of one word (`0 <= lo < hi <= 64`).
fn mask(lo: usize, hi: usize) -> u64 {
    let upper = if hi == 64 { !0 } else { (1u64 << hi) - 1 };
    upper & !((1u64 << lo) - 1)
}

impl<'a> Bits<'a> {
    pub fn new(words: &'a [AtomicU64]) -> Self {
        Bits { words }
    }
    pub fn get(&self, i: usize) -> bool {
        self.words[i / 64].load(Acquire) & (1 << (i % 64)) != 0
    }
    pub fn clear_all(&self, n: usize) {
        for w in &self.words[..n.div_ceil(64)] {
            w.store(0, Relaxed);
        }
    }
    /// Calls `f(word index, mask)` for the words covering bits `[lo, hi)`.
    fn each(lo: usize, hi: usize, mut f: impl FnMut(usize, u64)) {
        let mut i = lo;
        while i < hi {
            let w = i / 64;
            let end = hi.min((w + 1) * 64);
            f(w, mask(i % 64, end - w * 64));
            i = end;
        }
    }
    /// Sets bits `[lo, hi)`; returns how many were newly set among those where `other` is
    /// clear (`other`: the other bitmap, read as it is now).
    pub fn set_range(&self, lo: usize, hi: usize, other: &Bits<'_>) -> usize {
        let mut n = 0;
        Self::each(lo, hi, |w, m| {
            let old = self.words[w].fetch_or(m, AcqRel);
            let newly = m & !old & !other.words[w].load(Acquire);
            n += newly.count_ones() as usize;
        });
        n
    }
    /// Clears bits `[lo, hi)`.
    pub fn clear_range(&self, lo: usize, hi: usize) {
        Self::each(lo, hi, |w, m| {
            self.words[w].fetch_and(!m, AcqRel);
        });
    }
    /// How many of bits `[lo, hi)` are clear here and in `other`.
    #[cfg(test)]
    pub fn count_clear_both(&self, lo: usize, hi: usize, other: &Bits<'_>) -> usize {
        let mut n = 0;
        Self::each(lo, hi, |w, m| {
            let set = self.words[w].load(Acquire) | other.words[w].load(Acquire);
            n += (m & !set).count_ones() as usize;
        });
        n
    }
    /// The first bit in `[lo, hi)` clear here and in `other`.
    pub fn first_clear_both(&self, lo: usize, hi: usize, other: &Bits<'_>) -> Option<usize> {
        let mut found = None;
        Self::each(lo, hi, |w, m| {
            if found.is_none() {
                let set = self.words[w].load(Acquire) | other.words[w].load(Acquire);
                let free = m & !set;
                if free != 0 {
                    found = Some(w * 64 + free.trailing_zeros() as usize);
                }
            }
        });
        found
    }
    /// The end of the run of bits clear here and in `other` that starts at `lo` (at most `hi`).
    pub fn clear_run_end(&self, lo: usize, hi: usize, other: &Bits<'_>) -> usize {
        let mut end = lo;
        let mut open = true;
        Self::each(lo, hi, |w, m| {
            if open {
                let set = (self.words[w].load(Acquire) | other.words[w].load(Acquire)) & m;
                if set == 0 {
                    end = w * 64 + 64 - m.leading_zeros() as usize;
                } else {
                    end = w * 64 + set.trailing_zeros() as usize;
                    open = false;
                }
            }
        });
        end.min(hi)
    }
}

/// Orders reading events against serving: serving (deciding what a page gets and resolving it)
/// holds the shared side, reading a batch of events and applying REMOVE/UNMAP/REMAP holds the
/// exclusive side. So a page is never filled from a decision made before a REMOVE was read but
/// landing after the kernel zapped it. Only used when such events are negotiated.
///
/// The exclusive side is only ever tried, never waited for: a worker that finds serving in
/// flight marks the read as wanted and steps back, and whoever is serving (the fill, between
/// two runs) sees the mark and does the read itself as soon as its section ends. No worker
/// sleeps while holding up another, which matters when they share one CPU.
#[derive(Debug)]
pub(crate) struct Gate {
    on: bool,
    state: AtomicUsize,
    wanted: AtomicBool,
}

const WRITER: usize = 1 << (usize::BITS - 1);

/// Waits a little: spins first, then sleeps in `ppoll` so a holder on the same CPU can run.
pub(crate) fn backoff(round: &mut u32) {
    *round += 1;
    if *round < 64 {
        core::hint::spin_loop();
    } else {
        let _ = crate::wait::wait(&mut [], Some(Duration::from_micros(20)));
    }
}

impl Gate {
    pub const fn new(on: bool) -> Self {
        Gate {
            on,
            state: AtomicUsize::new(0),
            wanted: AtomicBool::new(false),
        }
    }
    /// The shared side: waits while a read is being applied (a few µs).
    pub fn shared(&self) -> Held<'_> {
        if self.on {
            let mut round = 0;
            loop {
                let v = self.state.load(Relaxed);
                if v & WRITER == 0
                    && self
                        .state
                        .compare_exchange_weak(v, v + 1, Acquire, Relaxed)
                        .is_ok()
                {
                    break;
                }
                backoff(&mut round);
            }
        }
        Held {
            gate: self,
            exclusive: false,
        }
    }
    /// The exclusive side if nothing is in flight; otherwise marks the read wanted.
    pub fn try_exclusive(&self) -> Option<Held<'_>> {
        if self.on {
            if self
                .state
                .compare_exchange(0, WRITER, Acquire, Relaxed)
                .is_err()
            {
                self.wanted.store(true, Release);
                return None;
            }
            self.wanted.store(false, Relaxed);
        }
        Some(Held {
            gate: self,
            exclusive: true,
        })
    }
    /// The exclusive side, waiting for it (when serving is over, e.g. to unregister).
    pub fn exclusive(&self) -> Held<'_> {
        let mut round = 0;
        loop {
            if let Some(h) = self.try_exclusive() {
                return h;
            }
            backoff(&mut round);
        }
    }
    /// Whether a worker waits to read events: a long section (the fill) should end soon.
    pub fn wanted(&self) -> bool {
        self.on && self.wanted.load(Acquire)
    }
    /// Nothing is pending to read any more.
    pub fn clear_wanted(&self) {
        if self.on {
            self.wanted.store(false, Relaxed);
        }
    }
}

/// One side of the gate, released on drop.
pub(crate) struct Held<'g> {
    gate: &'g Gate,
    exclusive: bool,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.gate.on {
            if self.exclusive {
                self.gate.state.fetch_and(!WRITER, Release);
            } else {
                self.gate.state.fetch_sub(1, Release);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits<const N: usize>() -> [AtomicU64; N] {
        [const { AtomicU64::new(0) }; N]
    }

    #[test]
    fn masks() {
        assert_eq!(mask(0, 64), !0);
        assert_eq!(mask(0, 1), 1);
        assert_eq!(mask(3, 5), 0b11000);
        assert_eq!(mask(63, 64), 1 << 63);
    }

    #[test]
    fn set_count_runs() {
        let (a, b) = (bits::<4>(), bits::<4>());
        let (p, r) = (Bits::new(&a), Bits::new(&b));
        // Removed: 70..72. Set 60..130 in p: newly set where r is clear = 70 - 2.
        r.set_range(70, 72, &Bits::new(&bits::<4>()));
        assert_eq!(p.set_range(60, 130, &r), 68);
        assert_eq!(p.set_range(60, 130, &r), 0);
        assert!(p.get(60) && p.get(129) && !p.get(59) && !p.get(130));
        assert_eq!(p.count_clear_both(0, 256, &r), 256 - 70);
        assert_eq!(p.first_clear_both(60, 256, &r), Some(130));
        assert_eq!(p.first_clear_both(60, 130, &r), None);
        assert_eq!(p.clear_run_end(130, 256, &r), 256);
        assert_eq!(p.clear_run_end(0, 256, &r), 60);
        assert_eq!(p.clear_run_end(0, 10, &r), 10);
        p.clear_range(100, 101);
        assert_eq!(p.first_clear_both(64, 256, &r), Some(100));
        assert_eq!(p.clear_run_end(100, 256, &r), 101);
        assert_eq!(p.clear_run_end(128, 192, &r), 128);
        assert_eq!(p.clear_run_end(130, 192, &r), 192);
        // A bit set in both maps (a skipped page that was populated) ends a run too.
        p.set_range(200, 201, &r);
        r.set_range(200, 201, &p);
        assert_eq!(p.clear_run_end(192, 256, &r), 200);
        assert_eq!(p.first_clear_both(200, 202, &r), Some(201));
    }

    #[test]
    fn table_find_and_free() {
        let slots = [const { Slot::new() }; 3];
        let t = Table::new(&slots);
        assert_eq!(t.free_slot(), Some(0));
        let p = Piece {
            region: 0,
            start: 0x1000,
            len: 0x3000,
            first: 0,
        };
        t.set(1, p);
        assert_eq!(t.find(0x3fff), Some((1, p)));
        assert_eq!(t.find(0x4000), None);
        assert_eq!(t.find(0xfff), None);
        t.free(1);
        assert_eq!(t.find(0x1000), None);
    }

    #[test]
    fn gate_excludes() {
        let g = Gate::new(true);
        {
            let _a = g.shared();
            let _b = g.shared();
            assert_eq!(g.state.load(Relaxed), 2);
        }
        {
            let _a = g.shared();
            assert!(g.try_exclusive().is_none());
            assert!(g.wanted());
        }
        {
            let _x = g.try_exclusive().expect("free");
            assert!(!g.wanted());
            assert_eq!(g.state.load(Relaxed), WRITER);
        }
        assert_eq!(g.state.load(Relaxed), 0);
        let off = Gate::new(false);
        let _a = off.shared();
        assert!(off.try_exclusive().is_some());
    }
}
