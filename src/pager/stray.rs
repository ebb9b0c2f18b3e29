//! Faults at addresses the region table does not cover: stale ones (the table changed after
//! they were read) are woken, live ones (registered memory the pager was never told about) are
//! answered with zeros. Neither takes the worker down.

use super::stats::add;
use super::worker::{Queued, Worker};
use super::{Pager, PagerError};
use crate::error::Error;
use crate::flags::{CopyMode, ZeropageMode};
use crate::sys::Errno;

/// How a zero answer went.
enum Zeroed {
    /// Placed: the thread is woken by the kernel.
    Placed,
    /// Nothing placed (present, gone, or events pending): wake it.
    Wake,
    /// `EAGAIN` with nothing done: events are pending; read them and look again.
    Again,
    /// No zero answer fits this memory (hugetlb of a page size no region has).
    Unanswerable,
}

impl Worker<'_, '_> {
    /// A fault no piece of the table covers.
    ///
    /// - The table changed since it was read (an UNMAP or REMAP took its address away): the
    ///   fault is stale, e.g. another worker populated the page, its thread went on and the
    ///   program then unmapped or moved it, or a thread blocked there while another unmapped
    ///   it. Wake the address (a no-op if nobody waits; a thread still waiting faults again,
    ///   or gets `SIGSEGV`/`EFAULT` if the page is gone) and count it in `stale`.
    /// - Otherwise it is live registered memory the pager was never told about (a mapping
    ///   grown with `mremap`, `MREMAP_DONTUNMAP`'s old range, a range registered outside the
    ///   pager): answer with zeros, as the kernel fills fresh anonymous memory, and count it
    ///   in `outside`. `EEXIST` or `ENOENT` there (present, or gone): wake instead.
    ///
    /// [`PagerError::NoRegion`] only if no zero answer fits (hugetlb memory of a page size
    /// no region has); the fault is woken then too.
    pub(crate) fn outside(&mut self, q: Queued) -> Result<(), PagerError> {
        let p = self.pager;
        let base = p.base;
        let page = q.address & !(base - 1);
        loop {
            let _held = p.gate.shared();
            if p.epoch() != q.epoch {
                drop(_held);
                p.uffd.wake(page, base)?;
                add(&p.stats.stale, 1);
                return Ok(());
            }
            match self.zeros(q.address)? {
                Zeroed::Placed => {
                    add(&p.stats.outside, 1);
                    return Ok(());
                }
                Zeroed::Wake => {
                    drop(_held);
                    p.uffd.wake(page, base)?;
                    add(&p.stats.outside, 1);
                    return Ok(());
                }
                Zeroed::Again => {
                    drop(_held);
                    self.drain()?;
                }
                Zeroed::Unanswerable => {
                    drop(_held);
                    p.uffd.wake(page, base)?;
                    return Err(PagerError::NoRegion { address: q.address });
                }
            }
        }
    }

    /// Zeros at the page of `address`: `UFFDIO_ZEROPAGE` of a base page, or (hugetlb memory,
    /// which refuses ZEROPAGE with `EINVAL`) a `COPY` of a zeroed huge page of each page size
    /// the regions have, smallest first.
    fn zeros(&mut self, address: usize) -> Result<Zeroed, PagerError> {
        let p = self.pager;
        let base = p.base;
        let r = p
            .uffd
            .zeropage(address & !(base - 1), base, ZeropageMode::empty());
        if let Some(z) = decide(self.pager, r, base)? {
            return Ok(z);
        }
        let mut tried = base;
        loop {
            // The next larger page size among the regions'.
            let Some(ps) = p
                .regions
                .iter()
                .map(|r| r.page_size)
                .filter(|&s| s > tried)
                .min()
            else {
                return Ok(Zeroed::Unanswerable);
            };
            tried = ps;
            if self.scratch.len() < ps {
                continue;
            }
            if !self.scratch_zero {
                self.scratch.fill(0);
                self.scratch_zero = true;
            }
            let dst = address & !(ps - 1);
            let r = p
                .uffd
                .hugetlb(ps)
                .and_then(|h| h.copy(dst, &self.scratch[..ps], CopyMode::empty()));
            if let Some(z) = decide(p, r, ps)? {
                return Ok(z);
            }
        }
    }
}

/// What a zero answer of `bytes` did: `None` for `EINVAL` (not this kind of memory).
fn decide(p: &Pager<'_>, r: Result<(), Error>, bytes: usize) -> Result<Option<Zeroed>, PagerError> {
    match r {
        Ok(()) => {
            add(&p.stats.bytes_zeroed, bytes as u64);
            Ok(Some(Zeroed::Placed))
        }
        Err(Error::Exists { .. }) => Ok(Some(Zeroed::Wake)),
        Err(Error::Again { done: 0, .. }) => Ok(Some(Zeroed::Again)),
        Err(Error::Sys {
            errno: Errno::ENOENT,
            ..
        }) => Ok(Some(Zeroed::Wake)),
        Err(Error::Sys {
            errno: Errno::EINVAL,
            ..
        }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
