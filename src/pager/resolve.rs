//! Resolving a run of pages of one region: `COPY` from the source, zeros, or `CONTINUE`,
//! through [`Uffd`](crate::Uffd) or its [`Hugetlb`](crate::Hugetlb) view.

use super::config::Source;
use super::state::Piece;
use super::stats::add;
use super::{Pager, PagerError};
use crate::error::{Call, Error};
use crate::flags::{ContinueMode, CopyMode, ZeropageMode};
use crate::sys::Errno;
use core::sync::atomic::Ordering::*;

/// What a run asks for: the source's bytes, or zeros (a REMOVE'd page, a zero region).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    Source,
    Zeros,
}

/// A run of pages of one region, inside one piece.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub region: usize,
    pub addr: usize,
    /// Index of its first page in the region.
    pub index: usize,
    pub pages: usize,
}

/// How a run went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placed {
    /// This many pages (from the start) resolved; fewer than asked if something stopped it
    /// part-way (a present page).
    Done(usize),
    /// The first page was already there (`EEXIST`).
    Exists,
    /// `EAGAIN` with this many pages done (0: events are pending; read them, retry).
    Again(usize),
    /// `CONTINUE` found no page in the page cache for the first page (`EFAULT`).
    NoPage,
    /// The first page is in no range registered with the userfaultfd any more (`ENOENT`):
    /// unmapped (an `munmap` whose UNMAP event, if negotiated, is still to be read) or never
    /// registered. Nothing can be placed there.
    Unmapped,
}

/// How many pages of a run of `region` a worker with `scratch` bytes can place at once.
pub(crate) fn cap(pager: &Pager<'_>, region: usize, want: Want, scratch: usize) -> usize {
    let r = &pager.regions[region];
    let ps = r.page_size;
    let needs_scratch = match (r.source, want) {
        (Source::Continue, _) => false,
        (Source::Callback { .. }, Want::Source) => true,
        _ => ps > pager.base,
    };
    if needs_scratch {
        (scratch / ps).max(1)
    } else {
        usize::MAX
    }
}

/// Where a page is: its piece of a region and what follows from it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc {
    pub region: usize,
    pub piece: Piece,
    pub page_size: usize,
    /// The page's address.
    pub addr: usize,
    /// Its index within the region.
    pub index: usize,
    /// Its bit.
    pub bit: usize,
}

impl Pager<'_> {
    /// The first bit of region `r`.
    pub(crate) fn bit_base(&self, r: usize) -> usize {
        self.regions[..r].iter().map(|r| r.pages()).sum()
    }
    /// The region holding bit `bit`, and its first bit.
    pub(crate) fn region_of_bit(&self, bit: usize) -> Option<(usize, usize)> {
        let mut base = 0;
        for (i, r) in self.regions.iter().enumerate() {
            if bit < base + r.pages() {
                return Some((i, base));
            }
            base += r.pages();
        }
        None
    }
    /// Where `addr` is (its page), if a region covers it.
    pub(crate) fn locate(&self, addr: usize) -> Option<Loc> {
        let (_, piece) = self.table.find(addr)?;
        let r = &self.regions[piece.region];
        let ps = r.page_size;
        let page = addr & !(ps - 1);
        let index = piece.first + (page - piece.start) / ps;
        Some(Loc {
            region: piece.region,
            piece,
            page_size: ps,
            addr: page,
            index,
            bit: self.bit_base(piece.region) + index,
        })
    }
    /// The piece holding page `index` of region `region`, if it is mapped.
    pub(crate) fn piece_of(&self, region: usize, index: usize) -> Option<Piece> {
        let ps = self.regions[region].page_size;
        (0..self.table.len()).find_map(|i| {
            let p = self.table.get(i)?;
            (p.region == region && index >= p.first && index < p.first + p.len / ps).then_some(p)
        })
    }
    /// Marks bits `[bit, bit + n)` populated; counts those newly done.
    pub(crate) fn mark_populated(&self, bit: usize, n: usize) {
        let newly = self.populated.set_range(bit, bit + n, &self.removed);
        self.done(newly);
    }
    /// `n` more pages need nothing more from their source.
    pub(crate) fn done(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Saturating: a page counted twice by a race between a skip and a copy must not wrap
        // the count (which would never reach "fully populated" again).
        let before = self
            .remaining
            .fetch_update(AcqRel, Acquire, |r| Some(r.saturating_sub(n)))
            .unwrap_or(0);
        if before != 0 && before <= n {
            if let Some(c) = self.policy.clock {
                self.stats
                    .populated_at_ns
                    .store(c().saturating_sub(self.t0).max(1), Relaxed);
            }
        }
    }
    pub(crate) fn now(&self) -> Option<u64> {
        self.policy.clock.map(|c| c())
    }

    /// Resolves `run` (already capped with [`cap`]) and counts the bytes. `scratch` holds zeros
    /// on entry if `*scratch_zero`. A run the kernel refuses whole with `ENOENT` (it crosses
    /// into a part of the region that is no longer one registered mapping: split, moved or
    /// unmapped) is tried again by halves down to its first page, so what can be placed is.
    pub(crate) fn place(
        &self,
        mut run: Run,
        want: Want,
        scratch: &mut [u8],
        scratch_zero: &mut bool,
    ) -> Result<Placed, PagerError> {
        loop {
            match self.place_whole(run, want, scratch, scratch_zero)? {
                Placed::Unmapped if run.pages > 1 => run.pages /= 2,
                r => return Ok(r),
            }
        }
    }

    fn place_whole(
        &self,
        run: Run,
        want: Want,
        scratch: &mut [u8],
        scratch_zero: &mut bool,
    ) -> Result<Placed, PagerError> {
        let r = &self.regions[run.region];
        let ps = r.page_size;
        let len = run.pages * ps;
        let huge = ps > self.base;
        let off = r.offset + (run.index * ps) as u64;
        let (res, counter) = match (r.source, want) {
            (Source::Continue, _) => {
                let res = if huge {
                    self.uffd
                        .hugetlb(ps)
                        .and_then(|h| h.continue_(run.addr, len, ContinueMode::empty()))
                } else {
                    self.uffd.continue_(run.addr, len, ContinueMode::empty())
                };
                (res, &self.stats.bytes_continued)
            }
            (Source::Zeros, _) | (_, Want::Zeros) if !huge => (
                self.uffd.zeropage(run.addr, len, ZeropageMode::empty()),
                &self.stats.bytes_zeroed,
            ),
            (Source::Zeros, _) | (_, Want::Zeros) => {
                let buf = &mut scratch[..len];
                if !*scratch_zero {
                    buf.fill(0);
                    *scratch_zero = len == scratch.len();
                }
                (
                    self.copy(ps, run.addr, &scratch[..len]),
                    &self.stats.bytes_zeroed,
                )
            }
            (Source::Bytes(bytes), Want::Source) => {
                let src = &bytes[off as usize..off as usize + len];
                (self.copy(ps, run.addr, src), &self.stats.bytes_copied)
            }
            (Source::Callback { source, .. }, Want::Source) => {
                *scratch_zero = false;
                let buf = &mut scratch[..len];
                source.fill(off, buf).map_err(|error| PagerError::Source {
                    region: run.region,
                    offset: off,
                    error,
                })?;
                (self.copy(ps, run.addr, buf), &self.stats.bytes_copied)
            }
        };
        let pages = |done: usize| done / ps;
        match res {
            Ok(()) => {
                add(counter, len as u64);
                Ok(Placed::Done(run.pages))
            }
            Err(Error::Exists { .. }) => Ok(Placed::Exists),
            // Linux reports every stop part-way as EAGAIN with the bytes done, whatever
            // stopped it (fs/userfaultfd.c: `range.len == len ? 0 : -EAGAIN`); the retry of
            // the rest meets the cause with nothing done. So no `Error::Partial` comes from
            // it (one would be `Refused`, below).
            Err(Error::Again { done, .. }) => {
                add(counter, (pages(done) * ps) as u64);
                Ok(Placed::Again(pages(done)))
            }
            Err(Error::Sys {
                call: Call::Continue,
                errno: Errno::EFAULT,
            }) => Ok(Placed::NoPage),
            Err(Error::Sys {
                errno: Errno::ENOENT,
                ..
            }) => Ok(Placed::Unmapped),
            // The target process is gone: the worker's own exit condition.
            Err(e) if e.errno() == Some(Errno::ESRCH) => Err(e.into()),
            Err(error) => Err(PagerError::Refused {
                region: run.region,
                start: run.addr,
                len,
                error,
            }),
        }
    }

    fn copy(&self, ps: usize, dst: usize, src: &[u8]) -> Result<(), Error> {
        if ps > self.base {
            self.uffd.hugetlb(ps)?.copy(dst, src, CopyMode::empty())
        } else {
            self.uffd.copy(dst, src, CopyMode::empty())
        }
    }

    /// `UFFDIO_WAKE` of one page.
    pub(crate) fn wake(&self, ps: usize, addr: usize) -> Result<(), Error> {
        if ps > self.base {
            self.uffd.hugetlb(ps)?.wake(addr, ps)
        } else {
            self.uffd.wake(addr, ps)
        }
    }
}
