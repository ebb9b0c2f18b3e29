//! What every live page of the storm should hold, and the random numbers that drive it.

use std::collections::BTreeMap;

/// splitmix64: a seeded stream of numbers.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `percent`%.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// The word at byte `off` of the snapshot (never zero).
pub fn src_word(off: u64) -> u64 {
    (off | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5a5a
}

/// Word `i` of a page written with `tag` (never zero).
pub fn data_word(tag: u64, i: usize) -> u64 {
    (tag.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (i as u64).wrapping_mul(0xc4ce_b9fe_1a85_ec53)) | 1
}

/// What a page holds for sure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// The snapshot's bytes at this offset (served by the pager, or already there).
    Src(u64),
    /// Zeros (a REMOVE'd page).
    Zero,
    /// A full-page write with this tag.
    Data(u64),
}

/// What a page may hold: its content, or after `MADV_FREE` (the kernel may drop the page
/// or keep it) zeros or its own snapshot bytes too. `src`: the page's offset in the snapshot
/// (it moves with the page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    pub content: Content,
    pub or_zero: bool,
    pub or_src: Option<u64>,
    /// Its offset in the snapshot; `None` for a page the pager was never told about (the part
    /// a `mremap` grew, the old range `MREMAP_DONTUNMAP` leaves), which it serves as zeros.
    pub src: Option<u64>,
}

impl Want {
    pub const fn is(content: Content, src: Option<u64>) -> Self {
        Want {
            content,
            or_zero: false,
            or_src: None,
            src,
        }
    }
    /// After `MADV_FREE`: what it held, or zeros, or (dropped and served again) its snapshot.
    pub const fn freed(self) -> Self {
        Want {
            or_zero: true,
            or_src: self.src,
            ..self
        }
    }
    /// Whether the snapshot's bytes are among the candidates (a forked child's pager then
    /// serves it from the snapshot; otherwise zeros).
    pub fn sourced(&self) -> bool {
        matches!(self.content, Content::Src(_)) || self.or_src.is_some()
    }
    /// Whether word `i` of a page being `got` fits one of the candidates still open
    /// (`open[k]`: candidate k fits every word so far).
    fn fits(c: Content, i: usize, got: u64) -> bool {
        match c {
            Content::Src(off) => got == src_word(off + 8 * i as u64),
            Content::Zero => got == 0,
            Content::Data(tag) => got == data_word(tag, i),
        }
    }
    /// Checks the page at `addr` (reading it faults it in): `Err` with the first mismatch.
    pub fn check(&self, addr: usize, ps: usize) -> Result<(), String> {
        let cands = [
            Some(self.content),
            self.or_zero.then_some(Content::Zero),
            self.or_src.map(Content::Src),
        ];
        let mut open = cands.map(|c| c.is_some());
        for i in 0..ps / 8 {
            // SAFETY: a live page of the storm's mappings, read through a raw pointer.
            let got = unsafe { ((addr + 8 * i) as *const u64).read_volatile() };
            let mut any = false;
            for (k, c) in cands.iter().enumerate() {
                if let Some(c) = c {
                    open[k] &= Self::fits(*c, i, got);
                    any |= open[k];
                }
            }
            if !any {
                let zeros = (0..ps / 8)
                    // SAFETY: as above.
                    .filter(|j| unsafe { ((addr + 8 * j) as *const u64).read_volatile() } == 0)
                    .count();
                return Err(format!(
                    "page {addr:#x} word {i}: {got:#x}, want {self:?} ({zeros} of {} words zero)",
                    ps / 8
                ));
            }
        }
        Ok(())
    }
    /// Checks without allocating (in a forked child): whether the page fits.
    pub fn fits_page(&self, addr: usize, ps: usize) -> bool {
        let cands = [
            Some(self.content),
            self.or_zero.then_some(Content::Zero),
            self.or_src.map(Content::Src),
        ];
        cands.iter().flatten().any(|&c| {
            (0..ps / 8).all(|i| {
                // SAFETY: as in `check`.
                let got = unsafe { ((addr + 8 * i) as *const u64).read_volatile() };
                Self::fits(c, i, got)
            })
        })
    }
}

/// Every live page by address.
#[derive(Default)]
pub struct Model {
    pub pages: BTreeMap<usize, Want>,
}

impl Model {
    /// A run of up to `max` consecutive live pages starting at a random live page.
    pub fn run(
        &self,
        rng: &mut Rng,
        lo: usize,
        hi: usize,
        ps: usize,
        max: usize,
    ) -> Option<(usize, usize)> {
        let at = lo + rng.below((hi - lo) / ps) * ps;
        let (&start, _) = self
            .pages
            .range(at..)
            .next()
            .or_else(|| self.pages.iter().next())?;
        let want = rng.range(1, max);
        let mut n = 1;
        while n < want && self.pages.contains_key(&(start + n * ps)) {
            n += 1;
        }
        Some((start, n))
    }
    /// A random live page.
    pub fn page(&self, rng: &mut Rng, lo: usize, hi: usize, ps: usize) -> Option<(usize, Want)> {
        let at = lo + rng.below((hi - lo) / ps) * ps;
        self.pages
            .range(at..)
            .next()
            .or_else(|| self.pages.iter().next())
            .map(|(&a, &w)| (a, w))
    }
}
