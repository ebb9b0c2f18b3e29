//! `uffd::pager` on the running kernel, `no_std`: the pager runs in a forked handler process
//! (the userfaultfd inherited) over this process's memory, which the case touches and checks
//! word by word. The handler checks its own counters and reports through its exit.
//!
//! The threaded cases (several workers in one process, FORK, the long stress run) are in
//! `tests/pager.rs`.

use core::sync::atomic::AtomicU64;

use super::rt::{self, Fd, Map};
use super::util::*;
use super::{Ctx, Msg, Outcome};
use crate::{check, hok, msg, ok};
use uffd::abi::uffd_msg;
use uffd::flags::{Features, Ioctls};
use uffd::pager::{
    ConfigError, Counters, Exit, Pager, PagerError, Policy, Region, Slot, Source, SourceError,
    Storage,
};
use uffd::wait::{wait, Waiting};
use uffd::{Errno, Uffd};

/// Bitmap words per case (up to 64 × 64 pages).
const WORDS: usize = 64;

/// The expected word at byte `off` of a source (never zero for a whole page).
fn word(off: u64) -> u64 {
    (off | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5a5a
}

/// The callback source: `word(offset)` everywhere.
fn gen(off: u64, buf: &mut [u8]) -> Result<(), SourceError> {
    for (i, w) in buf.chunks_mut(8).enumerate() {
        w.copy_from_slice(&word(off + 8 * i as u64).to_ne_bytes());
    }
    Ok(())
}

/// A private mapping of `len` bytes holding `word(offset)`, and the bytes.
fn image(len: usize) -> Result<Map, Outcome> {
    let m = ok!(rt::anon(len), "mmap image");
    for i in (0..len).step_by(8) {
        // SAFETY: inside our fresh, unregistered mapping.
        unsafe { (m.ptr(i) as *mut u64).write(word(i as u64)) };
    }
    Ok(m)
}

/// Checks every word of the page at `addr` (faulting it in): `word(off + i)`, or zero.
fn page_is(addr: usize, ps: usize, off: Option<usize>) -> Result<(), Outcome> {
    for i in (0..ps).step_by(8) {
        // SAFETY: a page of a mapping the case owns, read through a raw pointer.
        let got = unsafe { ((addr + i) as *const u64).read_volatile() };
        let want = off.map_or(0, |o| word((o + i) as u64));
        check!(
            got == want,
            "page {addr:#x}+{i:#x}: {got:#x}, want {want:#x}"
        );
    }
    Ok(())
}

/// `mincore(2)`: pages of `[addr, addr + n * ps)` resident (n ≤ 512).
fn resident(addr: usize, n: usize, ps: usize) -> Result<usize, Outcome> {
    let mut v = [0u8; 512];
    // SAFETY: mincore writes n ≤ 512 bytes into `v`.
    ok!(
        unsafe {
            uffd::sys::raw::syscall3(
                uffd::sys::__NR_mincore,
                addr,
                n * ps,
                v.as_mut_ptr() as usize,
            )
        },
        "mincore"
    );
    Ok(v[..n].iter().filter(|&&b| b & 1 != 0).count())
}

/// A non-blocking userfaultfd (the pager's worker waits on it) requiring `features`.
fn open_nb(ctx: &Ctx, features: Features) -> Result<Uffd, Outcome> {
    available(Via::Syscall)?;
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    unsafe {
        builder(ctx, Via::Syscall)
            .non_blocking(true)
            .require(features)
            .create()
    }
    .map_err(open_err)
}

/// Runs a pager over `regions` in a forked handler while `body` runs; the handler hands its
/// counters and exit to `expect`. The handler is stopped (a pipe) when `body` returns.
fn serve_while(
    ctx: &Ctx,
    u: &Uffd,
    regions: &[Region<'_>],
    policy: Policy,
    expect: impl FnOnce(&Counters, Exit) -> Result<(), Msg>,
    body: impl FnOnce() -> R,
) -> R {
    serve(ctx, u, regions, policy, expect, body, false)
}

/// [`serve_while`], or (`self_exit`) waiting for the handler to end on its own (a policy that
/// exits once fully populated) before stopping it.
fn serve(
    ctx: &Ctx,
    u: &Uffd,
    regions: &[Region<'_>],
    policy: Policy,
    expect: impl FnOnce(&Counters, Exit) -> Result<(), Msg>,
    body: impl FnOnce() -> R,
    self_exit: bool,
) -> R {
    let (stop_r, stop_w) = ok!(rt::pipe(), "pipe");
    // Room for a window of base pages, and for a zero huge page of the largest region.
    let largest = regions.iter().map(|g| g.page_size()).max().unwrap_or(0);
    let scratch = ok!(
        rt::anon(ctx.page_size.max(2 << 20).max(largest)),
        "mmap scratch"
    );
    let h = handler(|| {
        let mut slots = [const { Slot::new() }; 4];
        let mut pop = [const { AtomicU64::new(0) }; WORDS];
        let mut rem = [const { AtomicU64::new(0) }; WORDS];
        let storage = Storage {
            slots: &mut slots,
            populated: &mut pop,
            removed: &mut rem,
        };
        let r = (|| {
            let pager = hok!(Pager::new(u, regions, storage, policy), "Pager::new");
            // SAFETY: the scratch mapping is this process's, unregistered, used only here.
            let buf = unsafe { core::slice::from_raw_parts_mut(scratch.ptr(0), scratch.len) };
            let mut w = hok!(pager.worker(buf), "worker");
            let exit = hok!(w.run(Some(stop_r.borrow())), "run");
            expect(&pager.counters(), exit)
        })();
        if r.is_err() {
            // Release the faulting side (its faults become the kernel's: zeros), and read
            // and drop the events still to come (an munmap or mremap waits until its event
            // is read), so the case fails on contents instead of hanging. Until stopped, or
            // 3 s without an event.
            for g in regions {
                let _ = u.unregister(g.start(), g.len());
                // As much again after it: a case may have grown the region (`outside`).
                let _ = u.unregister(g.start() + g.len(), g.len());
            }
            let mut idle = 0;
            while idle < 3 {
                let mut fds = [Waiting::uffd(u), Waiting::fd(stop_r.borrow())];
                if wait(&mut fds, Some(core::time::Duration::from_secs(1))) == Ok(0) {
                    idle += 1;
                    continue;
                }
                if fds[1].is_ready() {
                    break;
                }
                let mut buf = [uffd_msg::zeroed(); 16];
                let _ = u.read_events(&mut buf);
            }
        }
        r
    })?;
    let r = body();
    if self_exit && r.is_ok() {
        let j = join(h);
        return r.and(j);
    }
    let _ = rt::write(stop_w.0, b"x".as_ptr() as usize, 1);
    let j = join(h);
    match (r, j) {
        (Err(Outcome::Fail(b)), Err(Outcome::Fail(h))) => {
            Err(fail(msg!("{}; {}", b.as_str(), h.as_str())))
        }
        (r, j) => r.and(j),
    }
}

/// Registers `regions` through a pager of its own (the handler's pager serves them after).
///
/// # Safety
/// As [`Pager::register`]: no Rust value relies on the regions' contents while registered.
unsafe fn register(u: &Uffd, regions: &[Region<'_>]) -> R {
    let mut slots = [const { Slot::new() }; 4];
    let mut pop = [const { AtomicU64::new(0) }; WORDS];
    let mut rem = [const { AtomicU64::new(0) }; WORDS];
    let storage = Storage {
        slots: &mut slots,
        populated: &mut pop,
        removed: &mut rem,
    };
    let p = ok!(
        Pager::new(u, regions, storage, Policy::demand()),
        "Pager::new"
    );
    // SAFETY: forwarded to the caller.
    ok!(unsafe { p.register() }, "register");
    Ok(())
}

/// Bytes at an offset, zeros, and a callback, in three regions; demand faults only.
pub fn sources(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::empty())?;
        let ps = ctx.page_size;
        let n = 32;
        let img = image((n + 3) * ps)?;
        let (a, b, c) = (rt::anon(n * ps), rt::anon(n * ps), rt::anon(n * ps));
        let (a, b, c) = (ok!(a, "mmap"), ok!(b, "mmap"), ok!(c, "mmap"));
        // SAFETY: the image is ours and unchanged from here on.
        let bytes = unsafe { img.bytes(0, img.len) };
        let regions = [
            Region::new(a.addr, a.len, ps, Source::Bytes(bytes)).offset(3 * ps as u64),
            Region::new(b.addr, b.len, ps, Source::Zeros),
            Region::new(
                c.addr,
                c.len,
                ps,
                Source::Callback {
                    source: &gen,
                    len: 1 << 30,
                },
            )
            .offset(5 << 20),
        ];
        // SAFETY: fresh mappings read only through raw pointers, unmapped after the case.
        unsafe { register(&u, &regions) }?;
        let expect = |k: &Counters, exit: Exit| -> Result<(), Msg> {
            let want = (3 * n as u64, 2 * (n * ps) as u64, (n * ps) as u64);
            if (k.faults, k.bytes_copied, k.bytes_zeroed) != want || exit != Exit::Stopped {
                return Err(msg!("{exit:?} {k:?}, want faults/copied/zeroed {want:?}"));
            }
            Ok(())
        };
        serve_while(ctx, &u, &regions, Policy::demand(), expect, || {
            for k in 0..n {
                let i = (k * 7) % n;
                page_is(a.addr + i * ps, ps, Some((3 + i) * ps))?;
                page_is(b.addr + i * ps, ps, None)?;
                page_is(c.addr + i * ps, ps, Some((5 << 20) + i * ps))?;
            }
            Ok(())
        })
    })
}

/// Sequential faults grow the readahead window; then a background fill populates the rest
/// and its worker exits "fully populated" by itself; every page was placed exactly once.
pub fn readahead_fill(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::empty())?;
        let ps = ctx.page_size;
        let n = 256;
        let img = image(n * ps)?;
        let a = ok!(rt::anon(n * ps), "mmap");
        // SAFETY: as above.
        let regions = [Region::new(
            a.addr,
            a.len,
            ps,
            Source::Bytes(unsafe { img.bytes(0, img.len) }),
        )];
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { register(&u, &regions) }?;
        // 1. Demand + readahead, the first half touched in order: windows of 1, 2, 4, 8, 16
        //    pages (the page itself first, then the rest).
        let half = n / 2;
        let expect = |k: &Counters, _| -> Result<(), Msg> {
            let ok = k.bytes_copied == (k.faults - k.exists + k.readahead_pages) * ps as u64
                && k.faults - k.exists <= 5 + (half / 16) as u64 + 1
                && k.readahead_hits + 1 >= k.faults - k.exists
                && k.readahead_pages >= (half / 2) as u64;
            if !ok {
                return Err(msg!("readahead: {k:?}"));
            }
            Ok(())
        };
        serve_while(
            ctx,
            &u,
            &regions,
            Policy::demand().readahead(16 * ps),
            expect,
            || {
                for i in 0..half {
                    page_is(a.addr + i * ps, ps, Some(i * ps))?;
                }
                Ok(())
            },
        )?;
        // 2. A background fill populates the rest and the worker exits on its own. Its own
        //    bitmap starts empty: what phase 1 populated (the first half and the readahead
        //    past it) is found present (EEXIST) and not copied again.
        let before = resident(a.addr, n, ps)?;
        check!(
            before >= half && before < n,
            "{before} pages resident after phase 1"
        );
        let policy = Policy::demand().fill(8 * ps).exit_when_populated(true);
        let expect = |k: &Counters, exit: Exit| -> Result<(), Msg> {
            let ok = exit == Exit::FullyPopulated && k.bytes_copied == ((n - before) * ps) as u64;
            if !ok {
                return Err(msg!("fill: {exit:?} {k:?}"));
            }
            Ok(())
        };
        let body = || {
            // Wait (bounded) until every page is resident, then read them all.
            let mut waited = 0;
            while resident(a.addr, n, ps)? < n {
                check!(waited < 5000, "not fully populated after 5 s");
                rt::sleep_ms(5);
                waited += 5;
            }
            for i in 0..n {
                page_is(a.addr + i * ps, ps, Some(i * ps))?;
            }
            Ok(())
        };
        // The handler ends by itself once its own bitmap is full (it finds phase 1's pages
        // present only when its fill reaches them, possibly after they are all resident).
        serve(ctx, &u, &regions, policy, expect, body, true)
    })
}

/// A REMOVE'd range reads as zeros afterwards (ZEROPAGE), the rest keeps the source's bytes.
pub fn remove_zeros(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::EVENT_REMOVE)?;
        let ps = ctx.page_size;
        let (n, gone) = (64, 16..40);
        let img = image(n * ps)?;
        let a = ok!(rt::anon(n * ps), "mmap");
        // SAFETY: as above.
        let regions = [Region::new(
            a.addr,
            a.len,
            ps,
            Source::Bytes(unsafe { img.bytes(0, img.len) }),
        )];
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { register(&u, &regions) }?;
        let g = gone.clone();
        let expect = move |k: &Counters, _| -> Result<(), Msg> {
            let want = ((n * ps) as u64, (g.len() * ps) as u64, 1);
            if (k.bytes_copied, k.bytes_zeroed, k.removes) != want {
                return Err(msg!("{k:?}, want copied/zeroed/removes {want:?}"));
            }
            Ok(())
        };
        serve_while(ctx, &u, &regions, Policy::demand(), expect, || {
            for i in 0..n {
                page_is(a.addr + i * ps, ps, Some(i * ps))?;
            }
            // Returns once the handler has read the REMOVE event.
            ok!(
                rt::madvise(a.addr + gone.start * ps, gone.len() * ps, rt::MADV_DONTNEED),
                "madvise"
            );
            for i in 0..n {
                page_is(a.addr + i * ps, ps, (!gone.contains(&i)).then_some(i * ps))?;
            }
            Ok(())
        })
    })
}

/// UNMAP of a region's middle splits it; REMAP moves pages with their source offsets; the
/// fill completes around the hole.
pub fn unmap_remap(ctx: &Ctx) -> Outcome {
    run(|| {
        let ps = ctx.page_size;
        let n = 64;
        let img = image(n * ps)?;
        let a = ok!(rt::anon(n * ps), "mmap");
        let dest = ok!(rt::anon(8 * ps), "mmap dest");
        // Opened after the mappings, so closed before they are unmapped (with EVENT_UNMAP, an
        // munmap of a registered range waits for a reader): no hang on any path.
        let u = open_nb(ctx, Features::EVENT_UNMAP | Features::EVENT_REMAP)?;
        // SAFETY: as above.
        let regions = [Region::new(
            a.addr,
            a.len,
            ps,
            Source::Bytes(unsafe { img.bytes(0, img.len) }),
        )];
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { register(&u, &regions) }?;
        let policy = Policy::demand().fill(4 * ps);
        let expect = |k: &Counters, _| -> Result<(), Msg> {
            // The kernel sends UNMAP for the munmap, and for the range an mremap moved out of
            // (after its REMAP, so the moved piece is already elsewhere in the table).
            let ok = k.remaps == 1
                && k.unmaps >= 1
                && k.bytes_copied + k.pages_skipped * ps as u64 == (n * ps) as u64;
            if !ok {
                return Err(msg!("{k:?}"));
            }
            Ok(())
        };
        serve_while(ctx, &u, &regions, policy, expect, || {
            page_is(a.addr, ps, Some(0))?;
            // Both return once the handler has read their event.
            ok!(rt::munmap(a.addr + 20 * ps, 8 * ps), "munmap");
            let to = ok!(
                rt::mremap(
                    a.addr + 40 * ps,
                    8 * ps,
                    8 * ps,
                    rt::MREMAP_MAYMOVE | rt::MREMAP_FIXED,
                    dest.addr
                ),
                "mremap"
            );
            check!(to == dest.addr, "mremap moved to {to:#x}");
            for i in 0..8 {
                page_is(dest.addr + i * ps, ps, Some((40 + i) * ps))?;
            }
            for i in (0..20).chain(28..40).chain(48..n) {
                page_is(a.addr + i * ps, ps, Some(i * ps))?;
            }
            Ok(())
        })
    })
}

/// A registered mapping grown with `mremap` keeps its registration over the new part, and no
/// event says so: the pager answers faults there with zeros (the kernel's own fill for fresh
/// anonymous memory; counted `outside`) and goes on serving the region.
pub fn outside(ctx: &Ctx) -> Outcome {
    run(|| {
        let ps = ctx.page_size;
        let n = 16;
        let img = image(n * ps)?;
        let a = ok!(rt::anon(2 * n * ps), "mmap");
        ok!(rt::munmap(a.addr + n * ps, n * ps), "munmap the upper half");
        // Opened after the mapping, so closed before it is unmapped.
        let u = open_nb(ctx, Features::EVENT_REMAP)?;
        // SAFETY: as above.
        let regions = [Region::new(
            a.addr,
            n * ps,
            ps,
            Source::Bytes(unsafe { img.bytes(0, img.len) }),
        )];
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { register(&u, &regions) }?;
        let expect = |k: &Counters, _| -> Result<(), Msg> {
            if (k.outside, k.stale, k.faults) != (2, 0, 2) {
                return Err(msg!("{k:?}"));
            }
            Ok(())
        };
        serve_while(ctx, &u, &regions, Policy::demand(), expect, || {
            page_is(a.addr + ps, ps, Some(ps))?;
            // In place if the space after it is still free; moved (a REMAP) otherwise.
            let to = ok!(
                rt::mremap(a.addr, n * ps, 2 * n * ps, rt::MREMAP_MAYMOVE, 0),
                "mremap grow"
            );
            page_is(to + (n + 2) * ps, ps, None)?;
            page_is(to + (2 * n - 1) * ps, ps, None)?;
            page_is(to + 3 * ps, ps, Some(3 * ps))?;
            if to != a.addr {
                let _ = rt::munmap(to, 2 * n * ps);
            }
            Ok(())
        })
    })
}

/// MINOR mode: the memfd's page cache holds the data; faults are answered with CONTINUE,
/// readahead windows too.
pub fn minor_shmem(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::MINOR_SHMEM)?;
        let ps = ctx.page_size;
        let n = 64;
        let img = image(n * ps)?;
        let fd = ok!(rt::memfd(n * ps), "memfd_create");
        let w = ok!(rt::write(fd.0, img.addr, n * ps), "write");
        check!(w == n * ps, "short write {w}");
        let a = ok!(rt::mmap(0, n * ps, rt::MAP_SHARED, fd.0), "mmap memfd");
        let regions = [Region::new(a.addr, a.len, ps, Source::Continue)];
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { register(&u, &regions) }?;
        let expect = |k: &Counters, _| -> Result<(), Msg> {
            if k.bytes_continued != (n * ps) as u64 || k.bytes_copied != 0 || k.faults == 0 {
                return Err(msg!("{k:?}"));
            }
            Ok(())
        };
        serve_while(
            ctx,
            &u,
            &regions,
            Policy::demand().readahead(8 * ps),
            expect,
            || {
                for i in 0..n {
                    page_is(a.addr + i * ps, ps, Some(i * ps))?;
                }
                Ok(())
            },
        )
    })
}

/// `MAP_HUGETLB` here (asm-generic; mips differs).
#[cfg(target_arch = "mips64")]
const MAP_HUGETLB: usize = 0x80000;
#[cfg(not(target_arch = "mips64"))]
const MAP_HUGETLB: usize = 0x40000;

/// The number after `key` in /proc/meminfo.
fn meminfo(key: &str) -> Option<usize> {
    let mut buf = [0u8; 4096];
    let n = read_proc(c"/proc/meminfo", &mut buf).ok()?;
    let text = core::str::from_utf8(&buf[..n]).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

const NR_HUGEPAGES: &core::ffi::CStr = c"/proc/sys/vm/nr_hugepages";

/// Free huge pages not reserved by another process's mapping (a concurrent test run).
fn unreserved() -> usize {
    let free = meminfo("HugePages_Free:").unwrap_or(0);
    free.saturating_sub(meminfo("HugePages_Rsvd:").unwrap_or(0))
}

/// `vm.nr_hugepages` raised for the case (as root), restored on drop.
struct Pool {
    old: usize,
}

impl Pool {
    /// At least `want` free default-size huge pages, or Skip saying why not (no privilege, no
    /// memory: nothing the code under test controls).
    fn reserve(want: usize) -> Result<Pool, Outcome> {
        let mut buf = [0u8; 32];
        let n = read_proc(NR_HUGEPAGES, &mut buf)
            .map_err(|e| Outcome::Skip(msg!("{NR_HUGEPAGES:?}: {e:?}")))?;
        let old: usize = core::str::from_utf8(&buf[..n])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| fail(msg!("nr_hugepages unreadable")))?;
        let pool = Pool { old };
        if unreserved() < want {
            pool.set(old + want)
                .map_err(|e| Outcome::Skip(msg!("cannot raise nr_hugepages: {e:?}")))?;
        }
        let free = unreserved();
        if free < want {
            return Err(Outcome::Skip(msg!(
                "only {free} free huge pages of {want} (memory)"
            )));
        }
        Ok(pool)
    }
    fn set(&self, v: usize) -> Result<(), Errno> {
        let fd = rt::open(NR_HUGEPAGES, uffd::sys::O_RDWR | uffd::sys::O_CLOEXEC)?;
        let mut m = Msg::new();
        let _ = core::fmt::Write::write_fmt(&mut m, format_args!("{v}"));
        let s = m.as_str();
        rt::write(fd.0, s.as_ptr() as usize, s.len()).map(drop)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.set(self.old);
    }
}

/// A hugetlb region (default huge page size) served a huge page at a time, with a REMOVE'd
/// huge page coming back as zeros copied from the worker's scratch (no ZEROPAGE on hugetlb).
pub fn hugetlb(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::MISSING_HUGETLBFS | Features::EVENT_REMOVE)?;
        let Some(kb) = meminfo("Hugepagesize:") else {
            return Err(Outcome::Skip(msg!(
                "no Hugepagesize in /proc/meminfo (no hugetlbfs)"
            )));
        };
        let hs = kb * 1024;
        let _pool = Pool::reserve(2)?;
        let h = ok!(
            rt::mmap(
                0,
                2 * hs,
                rt::MAP_PRIVATE | rt::MAP_ANONYMOUS | MAP_HUGETLB,
                -1
            ),
            "mmap(MAP_HUGETLB)"
        );
        let img = image(2 * hs)?;
        // SAFETY: as above.
        let regions = [Region::new(
            h.addr,
            h.len,
            hs,
            Source::Bytes(unsafe { img.bytes(0, img.len) }),
        )];
        // SAFETY: a fresh mapping read only through raw pointers. The registration's ioctls
        // are checked against the huge page size (a hugetlb range lacks ZEROPAGE).
        unsafe { register(&u, &regions) }?;
        // MADV_DONTNEED on hugetlb came in 5.18 (EINVAL before): no REMOVE to serve there.
        let removes = super::truth::release().is_none_or(|r| r >= (5, 18));
        let expect = move |k: &Counters, _| -> Result<(), Msg> {
            let want = if removes {
                ((2 * hs) as u64, hs as u64, 1)
            } else {
                ((2 * hs) as u64, 0, 0)
            };
            if (k.bytes_copied, k.bytes_zeroed, k.removes) != want {
                return Err(msg!("{k:?}"));
            }
            Ok(())
        };
        serve_while(ctx, &u, &regions, Policy::demand(), expect, || {
            page_is(h.addr + hs, hs, Some(hs))?;
            page_is(h.addr, hs, Some(0))?;
            let r = rt::madvise(h.addr, hs, rt::MADV_DONTNEED);
            if !removes {
                check!(
                    r == Err(Errno::EINVAL),
                    "madvise(DONTNEED) on hugetlb before 5.18: {r:?}, want EINVAL"
                );
                return page_is(h.addr + hs, hs, Some(hs));
            }
            ok!(r, "madvise(DONTNEED) on hugetlb");
            page_is(h.addr, hs, None)?;
            page_is(h.addr + hs, hs, Some(hs))
        })
    })
}

/// The target process dies while served: the next COPY is ESRCH and the worker ends with
/// `Exit::Gone` (no error).
pub fn gone(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        // Non-blocking: the pager's worker waits on it.
        let b = builder(ctx, Via::Syscall).non_blocking(true);
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        drop(unsafe { b.create() }.map_err(open_err)?);
        let ps = ctx.page_size;
        let n = 16;
        let img = image(n * ps)?;
        let (res_r, res_w) = ok!(rt::pipe(), "pipe");
        // The handler outlives the target, so it is not killed with it: its worker stops on
        // EOF here once this process is done (a broken pager would otherwise serve forever).
        let (stop_r, stop_w) = ok!(rt::pipe(), "pipe");
        let mut target = ok!(
            rt::spawn(|| {
                drop(Fd(stop_w.0));
                let a = hok!(rt::anon(n * ps), "mmap");
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                let u = hok!(unsafe { b.create() }, "create");
                // SAFETY: a fresh mapping read only through raw pointers (`Map::read`).
                hok!(
                    unsafe { u.register(a.addr, a.len, uffd::flags::RegisterMode::MISSING) },
                    "register"
                );
                let (alive_r, alive_w) = hok!(rt::pipe(), "pipe");
                let me = rt::getpid();
                let h = rt::spawn_outliving(|| {
                    drop(Fd(alive_w.0));
                    let r = (|| -> Result<(), Msg> {
                        let mut slots = [const { Slot::new() }; 1];
                        let mut pop = [const { AtomicU64::new(0) }; WORDS];
                        let mut rem = [const { AtomicU64::new(0) }; WORDS];
                        let st = Storage {
                            slots: &mut slots,
                            populated: &mut pop,
                            removed: &mut rem,
                        };
                        // SAFETY: the image is this process's copy, unchanged.
                        let regions = [Region::new(
                            a.addr,
                            a.len,
                            ps,
                            Source::Bytes(unsafe { img.bytes(0, img.len) }),
                        )];
                        let pager = hok!(
                            Pager::new(&u, &regions, st, Policy::demand().fill(ps)),
                            "pager"
                        );
                        let mut w = hok!(pager.worker(&mut []), "worker");
                        // Serve the target's first fault (by hand: no fill yet).
                        let mut polls = 0;
                        while pager.counters().faults == 0 {
                            polls += 1;
                            if polls > 100 {
                                return Err(msg!("no fault served in 10 s"));
                            }
                            hok!(u.poll(Some(core::time::Duration::from_millis(100))), "poll");
                            hok!(w.serve_pending(), "serve");
                        }
                        kill(me, rt::SIGKILL);
                        read_eof(&alive_r)?;
                        // SAFETY: `stop_r` stays open in this process until it exits.
                        let stop = unsafe { uffd::fd::BorrowedFd::borrow_raw(stop_r.0) };
                        let exit = hok!(w.run(Some(stop)), "run after the target died");
                        if exit != Exit::Gone {
                            return Err(msg!("exit {exit:?}, want Gone"));
                        }
                        Ok(())
                    })();
                    let s = match &r {
                        Ok(()) => "OK",
                        Err(m) => m.as_str(),
                    };
                    let _ = rt::write(res_w.0, s.as_ptr() as usize, s.len());
                    r
                })?;
                core::mem::forget(h); // never joined: this process dies first
                drop(u);
                let got = a.read(3 * ps + 8);
                // The first byte in memory of that word (its high byte on big-endian s390x).
                let want = word((3 * ps + 8) as u64).to_ne_bytes()[0];
                if got != want {
                    return Err(msg!("target: {got:#x}, want {want:#x}"));
                }
                let _ = a.read(9 * ps); // blocks until killed
                Err(msg!("the second fault returned"))
            }),
            "fork"
        );
        let st = ok!(target.wait(), "wait target");
        check!(
            st == rt::Status::Signaled(rt::SIGKILL),
            "target ended {st:?}: {}",
            target.message().as_str()
        );
        drop(res_w);
        let mut buf = [0u8; 200];
        let mut got = 0;
        for _ in 0..5000 {
            match res_r.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(_) => rt::sleep_ms(2),
            }
        }
        let m = core::str::from_utf8(&buf[..got]).unwrap_or("?");
        check!(m == "OK", "handler: {m}");
        Ok(())
    })
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: signalling a process this case created.
    let _ = unsafe { uffd::sys::raw::syscall2(super::nr::nr::kill, pid as usize, sig as usize) };
}

/// Waits (bounded) for EOF on a non-blocking pipe.
fn read_eof(fd: &Fd) -> Result<(), Msg> {
    let mut b = [0u8; 16];
    for _ in 0..2500 {
        match fd.read(&mut b) {
            Ok(0) => return Ok(()),
            _ => rt::sleep_ms(2),
        }
    }
    Err(msg!("no EOF after 5 s"))
}

/// Configurations that cannot work are typed errors, the registration's answer included.
pub fn bad_config(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::empty())?;
        let ps = ctx.page_size;
        let m = ok!(rt::anon(8 << 20), "mmap");
        let src = ok!(rt::anon(8 * ps), "mmap src");
        // SAFETY: ours, unchanged.
        let bytes = unsafe { src.bytes(0, src.len) };
        let mut slots = [const { Slot::new() }; 2];
        let mut pop = [const { AtomicU64::new(0) }; 1];
        let mut rem = [const { AtomicU64::new(0) }; 1];
        let mut try_new = |regions: &[Region<'_>]| -> Result<(), ConfigError> {
            let st = Storage {
                slots: &mut slots,
                populated: &mut pop,
                removed: &mut rem,
            };
            Pager::new(&u, regions, st, Policy::demand()).map(drop)
        };
        let r = |off: usize, pages: usize| {
            Region::new(m.addr + off * ps, pages * ps, ps, Source::Bytes(bytes))
        };
        let e = try_new(&[r(0, 4), r(3, 2)]);
        check!(
            e == Err(ConfigError::Overlap {
                first: 0,
                second: 1
            }),
            "overlap: {e:?}"
        );
        let e = try_new(&[r(0, 4).offset(5 * ps as u64)]);
        let want = ConfigError::SourceTooShort {
            region: 0,
            needed: 9 * ps as u64,
            available: 8 * ps as u64,
        };
        check!(e == Err(want), "short source: {e:?}");
        let e = try_new(&[Region::new(m.addr, 3 * ps, 3 * ps, Source::Zeros)]);
        check!(
            e == Err(ConfigError::BadPageSize {
                region: 0,
                page_size: 3 * ps
            }),
            "page size: {e:?}"
        );
        let e = try_new(&[r(0, 1), r(1, 1), r(2, 1)]);
        check!(
            e == Err(ConfigError::TooFewSlots {
                needed: 3,
                available: 2
            }),
            "slots: {e:?}"
        );
        let e = try_new(&[Region::new(m.addr, 65 * ps, ps, Source::Zeros)]);
        check!(
            e == Err(ConfigError::BitmapTooSmall {
                needed: 2,
                available: 1
            }),
            "bitmap: {e:?}"
        );
        let hugetlb_answer = Ioctls::WAKE | Ioctls::COPY;
        let e = try_new(&[r(0, 1).registered(hugetlb_answer)]);
        let want = ConfigError::PageSizeMismatch {
            region: 0,
            page_size: ps,
            hugetlb: true,
        };
        check!(e == Err(want), "registered as hugetlb: {e:?}");
        // A 2 MiB page size over anonymous memory: the kernel's answer to the registration
        // (ZEROPAGE offered: not hugetlb) says it does not match; the range is left unregistered.
        let huge = 2 << 20;
        let base = (m.addr + huge - 1) & !(huge - 1);
        let regions = [Region::new(base, huge, huge, Source::Zeros)];
        let mut slots = [const { Slot::new() }; 1];
        let mut pop = [const { AtomicU64::new(0) }; 1];
        let mut rem = [const { AtomicU64::new(0) }; 1];
        let st = Storage {
            slots: &mut slots,
            populated: &mut pop,
            removed: &mut rem,
        };
        let pager = ok!(Pager::new(&u, &regions, st, Policy::demand()), "pager");
        // SAFETY: part of a fresh mapping read only through raw pointers.
        let e = unsafe { pager.register() };
        let want = PagerError::Config(ConfigError::PageSizeMismatch {
            region: 0,
            page_size: huge,
            hugetlb: false,
        });
        check!(e == Err(want), "2 MiB over anon: {e:?}");
        // SAFETY: as above.
        ok!(
            unsafe { u.register(base, huge, uffd::flags::RegisterMode::MISSING) },
            "register again"
        );
        // A callback region needs a scratch page.
        let regions = [Region::new(
            m.addr,
            ps,
            ps,
            Source::Callback {
                source: &gen,
                len: ps as u64,
            },
        )];
        let mut slots = [const { Slot::new() }; 1];
        let st = Storage {
            slots: &mut slots,
            populated: &mut pop,
            removed: &mut rem,
        };
        let pager = ok!(Pager::new(&u, &regions, st, Policy::demand()), "pager");
        let mut small = [0u8; 16];
        let e = pager.worker(&mut small).map(drop);
        check!(
            e == Err(ConfigError::ScratchTooSmall {
                needed: ps,
                available: 16
            }),
            "scratch: {e:?}"
        );
        Ok(())
    })
}

/// Two handler processes with readahead and fill race over one userfaultfd while this process
/// touches pages in a scattered order: every word right, and every page placed exactly once
/// between them (EEXIST costs a wake, never a second copy). Counted in a shared page.
pub fn two_handlers(ctx: &Ctx) -> Outcome {
    run(|| {
        let u = open_nb(ctx, Features::empty())?;
        let ps = ctx.page_size;
        let n = 1024;
        let img = image(n * ps)?;
        let a = ok!(rt::anon(n * ps), "mmap");
        let shared = ok!(
            rt::mmap(0, ps, rt::MAP_SHARED | rt::MAP_ANONYMOUS, -1),
            "mmap shared"
        );
        // SAFETY: as above.
        let regions = [Region::new(
            a.addr,
            a.len,
            ps,
            Source::Bytes(unsafe { img.bytes(0, img.len) }),
        )];
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { register(&u, &regions) }?;
        let (stop_r, stop_w) = ok!(rt::pipe(), "pipe");
        let spawn_one = |k: usize| {
            handler(|| {
                let mut slots = [const { Slot::new() }; 1];
                let mut pop = [const { AtomicU64::new(0) }; WORDS];
                let mut rem = [const { AtomicU64::new(0) }; WORDS];
                let st = Storage {
                    slots: &mut slots,
                    populated: &mut pop,
                    removed: &mut rem,
                };
                let policy = Policy::demand()
                    .readahead(8 * ps)
                    .fill(4 * ps)
                    .exit_when_populated(true);
                let pager = hok!(Pager::new(&u, &regions, st, policy), "pager");
                let mut w = hok!(pager.worker(&mut []), "worker");
                let exit = hok!(w.run(Some(stop_r.borrow())), "run");
                let c = pager.counters();
                // SAFETY: the shared page is mapped in both processes; each handler writes
                // only its own words.
                unsafe {
                    (shared.ptr(16 * k) as *mut u64).write_volatile(c.bytes_copied);
                    (shared.ptr(16 * k + 8) as *mut u64).write_volatile(c.exists);
                }
                if exit != Exit::FullyPopulated {
                    return Err(msg!("handler {k}: {exit:?}"));
                }
                Ok(())
            })
        };
        let (h0, h1) = (spawn_one(0)?, spawn_one(1)?);
        let body = (|| -> R {
            for k in 0..n {
                let i = (k * 389) % n;
                page_is(a.addr + i * ps, ps, Some(i * ps))?;
            }
            Ok(())
        })();
        // Both exit once their own bitmaps say everything is there.
        let (j0, j1) = (join(h0), join(h1));
        drop(stop_w);
        body.and(j0).and(j1)?;
        // SAFETY: both writers are gone.
        let read = |o: usize| unsafe { (shared.ptr(o) as *const u64).read_volatile() };
        let copied = read(0) + read(16);
        check!(
            copied == (n * ps) as u64,
            "placed {copied} bytes between them, want {} ({} + {}, EEXIST {} + {})",
            n * ps,
            read(0),
            read(16),
            read(8),
            read(24)
        );
        Ok(())
    })
}

/// A `Source::Continue` region on a userfaultfd without the MINOR feature is refused, typed,
/// before anything is registered: on a kernel that lacks `MINOR_SHMEM` (5.10; 6.1 off x86_64
/// and arm64) a `request` cannot get it (the raw `UFFDIO_API` agrees), and everywhere an fd
/// that did not negotiate it is refused the same way.
pub fn minor_refused(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        let ps = ctx.page_size;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no
        // Rust value relies on, and no other code in it registers memory.
        let requested = unsafe {
            builder(ctx, Via::Syscall)
                .non_blocking(true)
                .request(Features::MINOR_SHMEM)
                .create()
        }
        .map_err(open_err)?;
        let raw = super::truth::offered().unwrap_or(0);
        let offered = raw & Features::MINOR_SHMEM.bits() != 0;
        check!(
            requested.features().contains(Features::MINOR_SHMEM) == offered,
            "request(MINOR_SHMEM) granted {:?}, raw UFFDIO_API offers {raw:#x}",
            requested.features()
        );
        let bare = open_nb(ctx, Features::empty())?;
        let fd = ok!(rt::memfd(4 * ps), "memfd_create");
        let a = ok!(rt::mmap(0, 4 * ps, rt::MAP_SHARED, fd.0), "mmap memfd");
        let regions = [Region::new(a.addr, a.len, ps, Source::Continue)];
        for (u, what) in [(&requested, "requested"), (&bare, "none asked")] {
            if u.features().contains(Features::MINOR_SHMEM) {
                continue;
            }
            let mut slots = [const { Slot::new() }; 1];
            let mut pop = [const { AtomicU64::new(0) }; 1];
            let mut rem = [const { AtomicU64::new(0) }; 1];
            let storage = Storage {
                slots: &mut slots,
                populated: &mut pop,
                removed: &mut rem,
            };
            let p = ok!(
                Pager::new(u, &regions, storage, Policy::demand()),
                "Pager::new"
            );
            // SAFETY: a fresh mapping read only through raw pointers (and nothing is
            // registered: the call is refused first).
            let r = unsafe { p.register() };
            check!(
                r == Err(PagerError::Config(ConfigError::MinorNotNegotiated {
                    region: 0,
                    needed: Features::MINOR_SHMEM
                })),
                "{what}: register a Continue region: {r:?}"
            );
            // Nothing was registered: this fd may register the range for MISSING faults.
            // SAFETY: as above.
            let ioctls = unsafe { u.register(a.addr, a.len, uffd::flags::RegisterMode::MISSING) };
            check!(ioctls.is_ok(), "{what}: range left registered: {ioctls:?}");
            ok!(u.unregister(a.addr, a.len), "unregister");
        }
        Ok(())
    })
}
