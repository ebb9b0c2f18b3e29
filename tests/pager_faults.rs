//! The pager when faults and failures go wrong (`--features std`), each case staged
//! deterministically: faults whose address the region table no longer covers (stale after an
//! UNMAP or REMAP, a thread blocked in a kernel read of a page another thread unmaps, a
//! mapping grown with `mremap`, `MREMAP_DONTUNMAP`'s old range) are woken or answered and
//! counted, never fatal; a blocking userfaultfd, a fill over unregistered memory and a failed
//! worker are typed errors that reach whoever waits; a fault waits for at most one fill piece;
//! and what the faulting process sees when its handler dies.
#![cfg(target_has_atomic = "64")]

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod pager_common;
#[allow(unused_macros, unused_imports)]
mod suite;

use pager_common::{callback_region, fill_words, image, open, release, serial, word};
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Mutex;
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use nix::sys::mman::{mmap_anonymous, mremap, munmap, MRemapFlags, MapFlags, ProtFlags};
use suite::{rt, util};
use uffd::flags::{CopyMode, Features};
use uffd::pager::{
    ConfigError, Exit, Fill, OwnedStorage, Pager, PagerError, Policy, Region, Source, SourceError,
    Stop, Worker,
};
use uffd::{Error, Uffd};

extern "C" {
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
}

/// [`open`], kernel-mode faults included (a `write(2)` from registered memory reaches the
/// handler; a user-mode-only userfaultfd lets the kernel fail it with EFAULT at once).
fn open_with_kernel_faults(features: Features) -> Option<Uffd> {
    common::create(
        "open (kernel faults)",
        Uffd::builder().non_blocking(true).require(features),
    )
}

/// An anonymous private mapping (not unmapped on drop: the cases unmap and move its parts).
fn anon(len: usize) -> usize {
    // SAFETY: a fresh mapping, referred to by no Rust value.
    let p = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
        )
    }
    .expect("mmap");
    p.as_ptr() as usize
}

fn unmap(addr: usize, len: usize) {
    // SAFETY: test memory only ever reached through raw pointers.
    unsafe { munmap(NonNull::new(addr as *mut _).unwrap(), len) }.expect("munmap");
}

/// `mremap(from, len, len, MAYMOVE | FIXED | extra, to)`.
fn move_to(from: usize, len: usize, to: usize, extra: MRemapFlags) -> nix::Result<usize> {
    // SAFETY: test memory reached through raw pointers; `to` is the test's reservation.
    unsafe {
        mremap(
            NonNull::new(from as *mut _).unwrap(),
            len,
            len,
            MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED | extra,
            NonNull::new(to as *mut _),
        )
    }
    .map(|p| p.as_ptr() as usize)
}

/// Reads the page at `addr` (faulting it in): `Some(off)` if it holds the source's bytes at
/// `off`, `None` if all zero, else panics naming the first wrong word.
fn page_is(addr: usize, ps: usize, want: Option<u64>) {
    for i in (0..ps).step_by(8) {
        // SAFETY: a mapped test page, read through a raw pointer.
        let got = unsafe { ((addr + i) as *const u64).read_volatile() };
        let w = want.map_or(0, |o| word(o + i as u64));
        assert_eq!(got, w, "page {addr:#x} word {i:#x}");
    }
}

/// This thread's id.
fn tid() -> i32 {
    rt::gettid()
}

/// Waits until thread `tid` of this process sleeps in the kernel.
fn asleep(tid: i32) {
    util::wait_asleep(rt::getpid(), tid).unwrap_or_else(|m| panic!("{}", m.as_str()));
}

/// Waits up to `secs` for `h` to finish; if it does not, `rescue` (which must let it
/// finish) runs and the case fails with `what`.
fn finished_within<T>(h: &ScopedJoinHandle<'_, T>, secs: u64, rescue: impl FnOnce(), what: &str) {
    let t = Instant::now();
    while !h.is_finished() {
        if t.elapsed() > Duration::from_secs(secs) {
            rescue();
            panic!("{what}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How a stale fault's page leaves: unmapped, or moved away.
#[derive(Clone, Copy, Debug)]
enum Away {
    Unmap,
    Remap,
}

/// A worker has read two faults (pages 2 and 5) in one batch and is held inside serving the
/// first (its callback source blocks). Meanwhile page 5 is resolved by someone else (a raw
/// COPY, as another worker's fill would), its thread goes on and unmaps or moves the page.
/// The held worker then serves its queued fault for page 5: the table no longer covers it.
/// It is woken and counted as stale, and the worker keeps serving.
fn stale_queued_fault(away: Away) {
    let _g = serial();
    let Some(u) = open(Features::EVENT_UNMAP | Features::EVENT_REMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let addr = anon(n * ps);
    let dest = anon(ps);
    let (entered, go) = (AtomicBool::new(false), AtomicBool::new(false));
    let source = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        if !entered.swap(true, AcqRel) {
            while !go.load(Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(addr, n * ps, ps, &source)];
    let mut st = OwnedStorage::new(&regions, 2);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let (t1, t2) = (AtomicI32::new(0), AtomicI32::new(0));
    let leaving = AtomicBool::new(false);
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            t1.store(tid(), Release);
            page_is(addr + 2 * ps, ps, Some(2 * ps as u64));
        });
        while t1.load(Acquire) == 0 {
            std::thread::yield_now();
        }
        asleep(t1.load(Acquire));
        let second = s.spawn(|| {
            t2.store(tid(), Release);
            page_is(addr + 5 * ps, ps, Some(5 * ps as u64));
            leaving.store(true, Release);
            match away {
                Away::Unmap => unmap(addr + 5 * ps, ps),
                Away::Remap => {
                    let to = move_to(addr + 5 * ps, ps, dest, MRemapFlags::empty()).unwrap();
                    assert_eq!(to, dest);
                }
            }
        });
        while t2.load(Acquire) == 0 {
            std::thread::yield_now();
        }
        asleep(t2.load(Acquire));
        // Both faults are pending: one worker reads them in one batch.
        let worker = s.spawn(|| {
            let mut scratch = vec![0u8; pager.scratch_len()];
            pager.worker(&mut scratch)?.run(Some(stop.as_fd().into()))
        });
        while !entered.load(Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The worker is held serving page 2, page 5's fault in its queue. Resolve page 5.
        let mut page5 = vec![0u8; ps];
        fill_words(5 * ps as u64, &mut page5);
        u.copy(addr + 5 * ps, &page5, CopyMode::empty()).unwrap();
        // Its thread goes on, checks the page, and unmaps or moves it: the call waits until
        // the event is read.
        while !leaving.load(Acquire) {
            std::thread::yield_now();
        }
        asleep(t2.load(Acquire));
        go.store(true, Release);
        first.join().unwrap();
        finished_within(
            &second,
            10,
            || {
                let _ = u.wake(addr + 5 * ps, ps);
            },
            "the munmap/mremap never returned",
        );
        second.join().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !worker.is_finished(),
            "the worker ended: {:?}",
            worker.join().unwrap()
        );
        // Alive: a new fault is served.
        page_is(addr + 9 * ps, ps, Some(9 * ps as u64));
        if let Away::Remap = away {
            page_is(dest, ps, Some(5 * ps as u64));
        }
        stop.stop();
        assert_eq!(worker.join().unwrap(), Ok(Exit::Stopped));
    });
    let k = pager.counters();
    println!("{away:?}: {k:?}");
    assert_eq!((k.stale, k.outside, k.faults), (1, 0, 2), "{k:?}");
    match away {
        Away::Unmap => assert_eq!(k.unmaps, 1),
        Away::Remap => assert_eq!(k.remaps, 1),
    }
}

#[test]
fn a_stale_queued_fault_after_unmap_is_woken_and_counted() {
    stale_queued_fault(Away::Unmap);
}

#[test]
fn a_stale_queued_fault_after_remap_is_woken_and_counted() {
    stale_queued_fault(Away::Remap);
}

/// A thread blocks in `write(2)` reading a missing page while another thread unmaps that
/// page; only then does a worker read both (the fault first, as the kernel hands faults out
/// before events). The fault is stale: woken, so the kernel read fails with `EFAULT`.
#[test]
fn a_kernel_read_of_a_page_unmapped_meanwhile_gets_efault() {
    kernel_read_of_a_page_unmapped_meanwhile(Features::EVENT_UNMAP);
}

/// As above, with no `EVENT_UNMAP`: nothing tells the pager, the table still covers the
/// page, and `UFFDIO_COPY` finds no mapping there (`ENOENT`). The fault is woken and counted
/// stale all the same (not retried: nothing would change).
#[test]
fn a_kernel_read_of_a_page_unmapped_unannounced_gets_efault() {
    kernel_read_of_a_page_unmapped_meanwhile(Features::empty());
}

fn kernel_read_of_a_page_unmapped_meanwhile(events: Features) {
    let _g = serial();
    let Some(u) = open_with_kernel_faults(events) else {
        return;
    };
    let announced = events.contains(Features::EVENT_UNMAP);
    let ps = u.page_size();
    let n = 16;
    let img = image(n * ps);
    let addr = anon(n * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 2);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (r, w) = rt::pipe().unwrap();
    let stop = Stop::new().unwrap();
    let (t1, t2) = (AtomicI32::new(0), AtomicI32::new(0));
    let unmapping = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            t1.store(tid(), Release);
            rt::write(w.0, addr + 3 * ps, ps)
        });
        while t1.load(Acquire) == 0 {
            std::thread::yield_now();
        }
        asleep(t1.load(Acquire));
        let unmapper = s.spawn(|| {
            t2.store(tid(), Release);
            unmapping.store(true, Release);
            unmap(addr + 3 * ps, ps);
        });
        while !unmapping.load(Acquire) {
            std::thread::yield_now();
        }
        if announced {
            // Its munmap waits until the worker reads the UNMAP.
            asleep(t2.load(Acquire));
        } else {
            while !unmapper.is_finished() {
                std::thread::yield_now();
            }
        }
        let worker = s.spawn(|| pager.worker(&mut [])?.run(Some(stop.as_fd().into())));
        finished_within(
            &writer,
            10,
            || {
                let _ = u.wake(addr + 3 * ps, ps);
            },
            "the write(2) stayed blocked on the unmapped page",
        );
        assert_eq!(writer.join().unwrap(), Err(uffd::Errno::EFAULT));
        unmapper.join().unwrap();
        page_is(addr + 4 * ps, ps, Some(4 * ps as u64));
        stop.stop();
        assert_eq!(worker.join().unwrap(), Ok(Exit::Stopped));
    });
    drop(r);
    let k = pager.counters();
    if announced {
        assert_eq!((k.stale, k.unmaps, k.faults), (1, 1, 1), "{k:?}");
    } else {
        // The page after it was served: that fault counts.
        assert_eq!((k.stale, k.unmaps, k.faults), (1, 0, 1), "{k:?}");
    }
}

/// Runs one worker while `body` runs; returns the body's value and the worker's exit. A
/// worker that ends early releases the faulting threads ([`release`]).
fn serving<R>(pager: &Pager<'_>, body: impl FnOnce() -> R) -> (R, Result<Exit, PagerError>) {
    let stop = Stop::new().unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let hs = pager.spawn(s, 1, &stop, None);
        let r = std::thread::scope(|w| {
            w.spawn(|| {
                while !done.load(Acquire) {
                    if hs.wait_any(Some(Duration::from_millis(5))).is_some() {
                        release(pager.uffd());
                        break;
                    }
                }
            });
            let r = body();
            done.store(true, Release);
            r
        });
        stop.stop();
        (r, hs.join())
    })
}

/// A registered mapping grown with `mremap` keeps its registration over the new part (no
/// event says so): faults there reach the pager, which answers them with zeros (the kernel's
/// own fill for fresh anonymous memory) and goes on serving the region.
#[test]
fn a_grown_mapping_is_answered_with_zeros() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let img = image(n * ps);
    let addr = anon(2 * n * ps);
    unmap(addr + n * ps, n * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 2);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (new, exit) = serving(&pager, || {
        page_is(addr, ps, Some(0));
        // SAFETY: test memory reached through raw pointers.
        let new = unsafe {
            mremap(
                NonNull::new(addr as *mut _).unwrap(),
                n * ps,
                2 * n * ps,
                MRemapFlags::MREMAP_MAYMOVE,
                None,
            )
        }
        .expect("mremap")
        .as_ptr() as usize;
        page_is(new + (n + 3) * ps, ps, None);
        page_is(new + (2 * n - 1) * ps, ps, None);
        page_is(new + ps, ps, Some(ps as u64));
        new
    });
    assert_eq!(exit, Ok(Exit::Stopped));
    let k = pager.counters();
    println!("grown in place: {}; {k:?}", new == addr);
    assert_eq!((k.outside, k.stale, k.faults), (2, 0, 2), "{k:?}");
    assert_eq!(k.bytes_zeroed, 2 * ps as u64);
    unmap(new, 2 * n * ps);
}

/// `MREMAP_DONTUNMAP` moves the pages and leaves the old range mapped, empty and still
/// registered: its faults reach the pager, which answers them with zeros; the moved pages
/// keep the source's bytes at their new place.
#[test]
fn mremap_dontunmap_old_range_is_answered_with_zeros() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let img = image(n * ps);
    let addr = anon(n * ps);
    let dest = anon(8 * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 2);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (moved, exit) = serving(&pager, || {
        page_is(addr + ps, ps, Some(ps as u64));
        match move_to(addr, 8 * ps, dest, MRemapFlags::MREMAP_DONTUNMAP) {
            Err(e) => {
                println!("SKIP: MREMAP_DONTUNMAP: {e}");
                return false;
            }
            Ok(to) => assert_eq!(to, dest),
        }
        page_is(dest + ps, ps, Some(ps as u64));
        page_is(dest + 6 * ps, ps, Some(6 * ps as u64));
        page_is(addr + ps, ps, None);
        page_is(addr + 6 * ps, ps, None);
        page_is(addr + 9 * ps, ps, Some(9 * ps as u64));
        true
    });
    assert_eq!(exit, Ok(Exit::Stopped));
    if !moved {
        return;
    }
    let k = pager.counters();
    println!("{k:?}");
    assert_eq!((k.remaps, k.outside, k.stale), (1, 2, 0), "{k:?}");
    assert_eq!(k.faults, 3, "{k:?}");
    unmap(addr, n * ps);
    unmap(dest, 8 * ps);
}

/// A blocking userfaultfd is refused where it is handed to the pager, and one made blocking
/// afterwards (by any holder of the same open file) ends the worker with the same error.
#[test]
fn a_blocking_userfaultfd_is_a_typed_error() {
    let _g = serial();
    if !common::raw_has_userfaultfd("blocking") {
        return;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no
    // Rust value relies on, and no other code in it registers memory.
    let made = unsafe { Uffd::builder().user_mode_only(true).create() };
    let Some(blocking) = common::created("blocking", made) else {
        return;
    };
    let ps = blocking.page_size();
    let regions = [Region::new(0x10_0000, 4 * ps, ps, Source::Zeros)];
    let mut st = OwnedStorage::new(&regions, 0);
    let e = Pager::new(&blocking, &regions, st.storage(), Policy::demand()).unwrap_err();
    assert_eq!(e, ConfigError::Blocking);
    assert!(e.to_string().contains("O_NONBLOCK"), "{e}");

    let Some(u) = open(Features::empty()) else {
        return;
    };
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // Clear O_NONBLOCK on the open file behind the pager's back.
    u.set_non_blocking(false).unwrap();
    let t = Instant::now();
    assert_eq!(
        pager.worker(&mut []).unwrap().run(None),
        Err(PagerError::Config(ConfigError::Blocking))
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(pager.has_failed());
}

/// One worker's error stops the others (`Exit::PeerFailed`), reaches `Workers::wait_any` as
/// soon as it happens and `Workers::join` at the end. The faulting thread stays blocked
/// until the ranges are handed to the kernel, which then fills the page with zeros.
#[test]
fn a_failed_worker_stops_the_others_and_its_error_reaches_the_waiter() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let addr = anon(n * ps);
    let bad = 7 * ps as u64;
    // The second pager below meets page 9 (page 7 is the kernel's zero page by then).
    let bad2 = 9 * ps as u64;
    let source = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        if off == bad || off == bad2 {
            return Err(SourceError(5));
        }
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(addr, n * ps, ps, &source)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let want = PagerError::Source {
        region: 0,
        offset: bad,
        error: SourceError(5),
    };
    let toucher_tid = AtomicI32::new(0);
    std::thread::scope(|s| {
        let workers = pager.spawn(s, 3, &stop, None);
        page_is(addr + ps, ps, Some(ps as u64));
        let toucher = s.spawn(|| {
            toucher_tid.store(tid(), Release);
            page_is(addr + 7 * ps, ps, None)
        });
        let first = workers.wait_any(Some(Duration::from_secs(10)));
        // The others end at once (the stop pipe), not within the idle time.
        let t = Instant::now();
        while workers.ended() < 3 && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let all_ended = workers.ended() == 3;
        // Nobody serves: the toucher still waits in its fault.
        std::thread::sleep(Duration::from_millis(100));
        let waiting = !toucher.is_finished();
        if waiting {
            asleep(toucher_tid.load(Acquire));
        }
        // Handed to the kernel, the page is a zero page.
        pager.unregister().unwrap();
        toucher.join().unwrap();
        assert_eq!(first, Some(Err(want)));
        assert!(all_ended, "the others kept running");
        assert!(waiting, "the faulting thread went on with nobody serving");
        assert!(pager.has_failed());
        let exits: Vec<_> = workers
            .into_handles()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(exits.iter().filter(|e| **e == Err(want)).count(), 1);
        assert_eq!(
            exits.iter().filter(|e| **e == Ok(Exit::PeerFailed)).count(),
            2,
            "{exits:?}"
        );
    });
    // A new pager over the same userfaultfd: join gives the first error.
    let mut st2 = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st2.storage(), Policy::demand()).unwrap();
    // SAFETY: as above (unregistered by the first pager).
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    std::thread::scope(|s| {
        let workers = pager.spawn(s, 2, &stop, None);
        let toucher = s.spawn(|| page_is(addr + 9 * ps, ps, None));
        let want = PagerError::Source {
            region: 0,
            offset: bad2,
            error: SourceError(5),
        };
        let got = workers.join();
        pager.unregister().unwrap();
        toucher.join().unwrap();
        assert_eq!(got, Err(want));
    });
}

/// A region whose second half is not registered: the fill meets `ENOENT` there with no
/// event to explain it and stops at once with an error naming the page (the kernel agrees:
/// a COPY there is ENOENT), with and without the events that could have explained it.
#[test]
fn a_fill_over_unregistered_memory_fails_fast_naming_the_range() {
    let _g = serial();
    for features in [
        Features::empty(),
        Features::EVENT_UNMAP | Features::EVENT_REMAP,
    ] {
        let Some(u) = open(features) else {
            return;
        };
        let ps = u.page_size();
        let n = 64;
        let img = image(n * ps);
        let addr = anon(n * ps);
        // SAFETY: a fresh mapping reached only through raw pointers.
        let ioctls =
            unsafe { u.register(addr, n / 2 * ps, uffd::flags::RegisterMode::MISSING) }.unwrap();
        let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img)).registered(ioctls)];
        let mut st = OwnedStorage::new(&regions, 0);
        let policy = Policy::demand().fill(16 * ps).exit_when_populated(true);
        let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
        let t = Instant::now();
        let r = pager.worker(&mut []).unwrap().run(None);
        let took = t.elapsed();
        let Err(PagerError::Unregistered { region, start, len }) = r else {
            panic!("{features:?}: {r:?}");
        };
        println!("{features:?}: {r:?} after {took:?}");
        assert_eq!((region, len), (0, ps));
        assert!(
            start >= addr + n / 2 * ps && start < addr + n * ps,
            "{start:#x}"
        );
        assert_eq!(
            u.copy(start, &img[..ps], CopyMode::empty()),
            Err(Error::Sys {
                call: uffd::Call::Copy,
                errno: uffd::Errno::ENOENT
            })
        );
        // No waiting for an event that is not coming (it was ~120 ms a page).
        assert!(took < Duration::from_millis(500), "{took:?}");
        assert_eq!(pager.counters().pages_skipped, 0);
        u.unregister(addr, n / 2 * ps).unwrap();
        unmap(addr, n * ps);
    }
}

/// A region beyond the end of the address space (a table from a 64-bit process given to a
/// 32-bit one, or garbage): `Pager::new` cannot know the limit, the kernel answers `EINVAL`,
/// and the worker stops with an error naming the region and the range.
#[test]
fn a_region_outside_the_address_space_is_refused_naming_the_range() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    // The page before the last: above every architecture's user address space (a 32-bit
    // process on a 64-bit kernel ends at 4 GiB - 8 KiB), and its end does not wrap.
    let start = (usize::MAX & !(ps - 1)) - ps;
    for source in [Source::Zeros, Source::Bytes(&[0u8; 1 << 16][..ps])] {
        let regions = [Region::new(start, ps, ps, source)];
        let mut st = OwnedStorage::new(&regions, 0);
        let policy = Policy::demand().fill(ps).exit_when_populated(true);
        let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
        let r = pager.worker(&mut []).unwrap().run(None);
        let Err(PagerError::Refused {
            region: 0,
            start: s,
            len,
            error,
        }) = r
        else {
            panic!("{r:?}");
        };
        assert_eq!((s, len), (start, ps));
        assert_eq!(error.errno(), Some(uffd::Errno::EINVAL), "{error}");
        let shown = r.unwrap_err().to_string();
        assert!(
            shown.contains("region 0") && shown.contains(&format!("{start:#x}")),
            "{shown}"
        );
    }
}

/// One fill piece places every missing page of its range, in runs around the pages demand
/// faults placed first: a piece of 16 pages over which page 4 was faulted in is one call of
/// 15 pages (two runs), then the next piece, then complete; every page reads its source.
#[test]
fn a_fill_piece_places_every_missing_page_of_its_range_in_runs() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 32;
    let img = image(n * ps);
    let addr = anon(n * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand().fill(16 * ps)).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let mut w = pager.worker(&mut []).unwrap();
    // The fill claims from the top: page 20 lies in the first piece, [16, 32).
    let faulted = 20;
    std::thread::scope(|s| {
        let t = s.spawn(|| page_is(addr + faulted * ps, ps, Some((faulted * ps) as u64)));
        let start = Instant::now();
        while pager.counters().faults == 0 {
            assert!(start.elapsed() < Duration::from_secs(5), "no fault");
            u.poll(Some(Duration::from_millis(10))).unwrap();
            w.serve_pending().unwrap();
        }
        t.join().unwrap();
    });
    assert_eq!(w.fill_piece(), Ok(Fill::Piece(15 * ps)));
    assert_eq!(w.fill_piece(), Ok(Fill::Piece(16 * ps)));
    assert_eq!(w.fill_piece(), Ok(Fill::Complete));
    let k = pager.counters();
    assert_eq!(
        (k.fill_pieces, k.fill_bytes),
        (2, (31 * ps) as u64),
        "{k:?}"
    );
    assert_eq!(k.bytes_copied, (n * ps) as u64);
    pager.unregister().unwrap();
    for i in 0..n {
        page_is(addr + i * ps, ps, Some((i * ps) as u64));
    }
    unmap(addr, n * ps);
}

/// A fault whose page is already there when the worker serves it (`EEXIST`: placed by other
/// code with `DONTWAKE`, which wakes nobody) is woken by the worker, and counted.
#[test]
fn a_fault_found_present_is_woken() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 4;
    let img = image(n * ps);
    let addr = anon(n * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let mut w = pager.worker(&mut []).unwrap();
    std::thread::scope(|s| {
        let t = s.spawn(|| page_is(addr + ps, ps, Some(ps as u64)));
        // The fault is queued (the fd is readable) before anything places the page.
        assert!(u.poll(Some(Duration::from_secs(5))).unwrap(), "no fault");
        u.copy(addr + ps, &img[ps..2 * ps], CopyMode::DONTWAKE)
            .unwrap();
        let start = Instant::now();
        while pager.counters().exists == 0 {
            assert!(start.elapsed() < Duration::from_secs(5), "not served");
            w.serve_pending().unwrap();
        }
        t.join().unwrap();
    });
    assert_eq!(pager.counters().exists, 1);
    pager.unregister().unwrap();
    unmap(addr, n * ps);
}

/// A one-region pager of 4 pages whose callback source fails its first call with
/// `SourceError(code)` (and then gives the test source), registered, with one worker: `body`
/// gets the userfaultfd, the worker, the region's address and the page size; the region is
/// unregistered and unmapped after.
fn with_a_source_failing_once(
    code: u32,
    policy: Policy,
    body: impl FnOnce(&Uffd, &mut Worker<'_, '_>, usize, usize),
) {
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 4;
    let addr = anon(n * ps);
    let fail_once = AtomicBool::new(true);
    let src = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        if fail_once.swap(false, SeqCst) {
            return Err(SourceError(code));
        }
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(addr, n * ps, ps, &src)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let mut scratch = vec![0u8; ps];
    let mut w = pager.worker(&mut scratch).unwrap();
    body(&u, &mut w, addr, ps);
    pager.unregister().unwrap();
    unmap(addr, n * ps);
}

/// A fault whose service fails (the source failed) stays queued: the next `serve_pending`
/// serves it, and its thread wakes with the right page.
#[test]
fn a_fault_that_failed_is_served_by_the_next_call() {
    let _g = serial();
    with_a_source_failing_once(5, Policy::demand(), |u, w, addr, ps| {
        std::thread::scope(|s| {
            let t = s.spawn(|| page_is(addr + 2 * ps, ps, Some(2 * ps as u64)));
            assert!(u.poll(Some(Duration::from_secs(5))).unwrap(), "no fault");
            assert_eq!(
                w.serve_pending(),
                Err(PagerError::Source {
                    region: 0,
                    offset: 2 * ps as u64,
                    error: SourceError(5)
                })
            );
            assert_eq!(w.queued(), 1);
            assert_eq!(w.serve_pending(), Ok(1));
            assert_eq!(w.queued(), 0);
            t.join().unwrap();
        });
    });
}

/// Two faults queued, the first served fails (the source failed once): it goes back to the
/// head of the queue, in front of the other, and the next `serve_pending` serves both.
#[test]
fn a_failed_fault_goes_back_in_front_of_the_others() {
    let _g = serial();
    with_a_source_failing_once(6, Policy::demand(), |_, w, addr, ps| {
        std::thread::scope(|s| {
            let t1 = s.spawn(|| page_is(addr + ps, ps, Some(ps as u64)));
            let t2 = s.spawn(|| page_is(addr + 3 * ps, ps, Some(3 * ps as u64)));
            // Both threads asleep in their faults: both messages are read in one batch.
            for t in [&t1, &t2] {
                let start = Instant::now();
                while !t.is_finished() && start.elapsed() < Duration::from_millis(50) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            assert!(matches!(w.serve_pending(), Err(PagerError::Source { .. })));
            assert_eq!(w.queued(), 2);
            assert_eq!(w.serve_pending(), Ok(2));
            t1.join().unwrap();
            t2.join().unwrap();
        });
    });
}

/// A fault left queued by a failed `serve_pending` (its message read, so the descriptor is
/// no longer readable) is served as soon as `run` starts, not after an idle period: the
/// worker does not wait for the descriptor while faults are queued.
#[test]
fn run_serves_a_fault_left_queued_at_once() {
    let _g = serial();
    let idle = Duration::from_secs(30);
    with_a_source_failing_once(7, Policy::demand().idle(idle), |u, w, addr, ps| {
        let (stop, mut stop_w) = std::os::unix::net::UnixStream::pair().unwrap();
        std::thread::scope(|s| {
            let t = s.spawn(|| page_is(addr + ps, ps, Some(ps as u64)));
            assert!(u.poll(Some(Duration::from_secs(5))).unwrap(), "no fault");
            assert!(matches!(w.serve_pending(), Err(PagerError::Source { .. })));
            assert_eq!(w.queued(), 1);
            let stopper = s.spawn(move || {
                t.join().unwrap();
                std::io::Write::write_all(&mut stop_w, b"x").unwrap();
            });
            let start = Instant::now();
            assert_eq!(w.run(Some(stop.as_fd().into())), Ok(Exit::Stopped));
            assert!(
                start.elapsed() < idle / 10,
                "served after {:?}",
                start.elapsed()
            );
            stopper.join().unwrap();
        });
    });
}

/// Pins the calling thread to CPU 0.
fn pin() {
    let mask: u64 = 1;
    // SAFETY: reads one u64 of CPU mask.
    assert_eq!(unsafe { sched_setaffinity(0, 8, &mask) }, 0);
}

/// The background fill runs in pieces and a demand fault waits for at most one: with the
/// worker and the faulting thread on one CPU, count the fill pieces started between a touch
/// and the start of its page's own fetch (the callback source logs every call in order). A
/// piece in flight when the thread faulted started before it; at most the one the worker
/// began just before the fault's message was there can follow.
#[test]
fn a_demand_fault_waits_for_at_most_one_fill_piece() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 8192;
    let addr = anon(n * ps);
    // The log: a sequence number per call; -1 marks a touch, the page's offset a fetch.
    let seq = AtomicU64::new(0);
    let log: Vec<AtomicU64> = (0..4 * n).map(|_| AtomicU64::new(u64::MAX)).collect();
    let lens: Vec<AtomicUsize> = (0..4 * n).map(|_| AtomicUsize::new(0)).collect();
    let source = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        let i = seq.fetch_add(1, AcqRel) as usize;
        if i < log.len() {
            log[i].store(off, Release);
            lens[i].store(buf.len(), Release);
        }
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(addr, n * ps, ps, &source)];
    let mut st = OwnedStorage::new(&regions, 0);
    // One page a piece: every fill call is one piece.
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand().fill(ps)).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let touches: Vec<usize> = (0..300).map(|i| (i * 7 + 3) % (n / 2)).collect();
    let marks: Vec<AtomicU64> = touches.iter().map(|_| AtomicU64::new(0)).collect();
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            pin();
            pager
                .worker(&mut vec![0u8; ps])
                .unwrap()
                .run(Some(stop.as_fd().into()))
        });
        pin();
        for (k, &p) in touches.iter().enumerate() {
            marks[k].store(seq.fetch_add(1, AcqRel), Release);
            // SAFETY: a mapped test page, read through a raw pointer.
            let got = unsafe { ((addr + p * ps) as *const u64).read_volatile() };
            assert_eq!(got, word((p * ps) as u64));
            std::thread::sleep(Duration::from_micros(200));
        }
        stop.stop();
        assert_eq!(worker.join().unwrap(), Ok(Exit::Stopped));
    });
    let end = (seq.load(Acquire) as usize).min(log.len());
    let mut worst = 0;
    let mut demand = 0;
    for (k, &p) in touches.iter().enumerate() {
        let from = marks[k].load(Acquire) as usize + 1;
        let off = (p * ps) as u64;
        // Its own fetch after the touch (none: the fill had placed it already).
        let Some(at) = (from..end).find(|&i| log[i].load(Acquire) == off) else {
            continue;
        };
        demand += 1;
        let pieces = (from..at)
            .filter(|&i| log[i].load(Acquire) != u64::MAX && lens[i].load(Acquire) > 0)
            .count();
        worst = worst.max(pieces);
    }
    println!("{demand} demand fetches; at most {worst} fill pieces started while one waited");
    assert!(demand > 50, "{demand}");
    assert!(worst <= 1, "a fault waited for {worst} fill pieces");
}

/// The handler process dies: a thread that then faults stays blocked for as long as a copy
/// of the userfaultfd is open (here: this process's), and when the last copy closes the
/// kernel unregisters the ranges and the thread reads the kernel's own page: zeros, not the
/// source.
#[test]
fn when_the_handler_dies_faulting_threads_wait_until_the_last_copy_closes() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let img = image(n * ps);
    let addr = anon(n * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    // SAFETY: the child only runs the worker (no allocation) and _exit.
    let pid = unsafe { common::fork() };
    if pid == 0 {
        let code = match pager.worker(&mut []).map(|mut w| w.run(None)) {
            Ok(Ok(_)) => 0,
            _ => 1,
        };
        // SAFETY: ends the child without running the parent's state.
        unsafe { _exit(code) }
    }
    assert!(pid > 0, "fork");
    use std::sync::Arc;
    let state = Arc::new((
        AtomicI32::new(0),
        AtomicBool::new(false),
        AtomicBool::new(false),
    ));
    let shared = Arc::clone(&state);
    let toucher = std::thread::spawn(move || {
        let (tid_, ready, second) = &*shared;
        tid_.store(tid(), Release);
        page_is(addr, ps, Some(0));
        ready.store(true, Release);
        while !second.load(Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        page_is(addr + 3 * ps, ps, None);
    });
    let (toucher_tid, ready, second) = &*state;
    while !ready.load(Acquire) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: our own child.
    unsafe { kill(pid, rt::SIGKILL) };
    let mut status = 0;
    // SAFETY: waits for our own child; writes one int.
    assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
    second.store(true, Release);
    asleep(toucher_tid.load(Acquire));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !toucher.is_finished(),
        "the faulting thread went on with the handler dead"
    );
    asleep(toucher_tid.load(Acquire));
    // The last copy of the userfaultfd closes: the kernel wakes the thread and serves the
    // page itself (zeros: `page_is(.., None)` in the thread).
    // (The pager only borrows `u`: its use ended above.)
    drop(u);
    toucher
        .join()
        .expect("the thread read something other than zeros");
    unmap(addr, n * ps);
}

/// A pager learns that the process it serves is gone only from an operation's `ESRCH`: an
/// idle one (everything populated, nothing faulting) probes the target at each idle timeout,
/// so it still returns `Exit::Gone` once the target exits. The target here is a forked child
/// served through the FORK event's userfaultfd; its pager fills everything while the child
/// still runs, then sits idle until the child exits.
#[test]
fn an_idle_pager_notices_its_target_is_gone() {
    let _g = serial();
    if !common::raw_has_userfaultfd("EVENT_FORK") {
        return;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no
    // Rust value relies on, and no other code in it registers memory.
    let made = unsafe {
        Uffd::builder()
            .non_blocking(true)
            .user_mode_only(true)
            .require(Features::EVENT_FORK)
            .create()
    };
    let u = match made {
        Err(e @ Error::FeatureNotPermitted { .. }) => return println!("SKIP: EVENT_FORK: {e}"),
        r => match common::created("EVENT_FORK", r) {
            Some(u) => u,
            None => return,
        },
    };
    let ps = u.page_size();
    let n = 8;
    let img = image(n * ps);
    let addr = anon(n * ps);
    let regions = [Region::new(addr, n * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers (in the child too).
    unsafe { pager.register() }.unwrap();
    let forked: Mutex<Option<Uffd>> = Mutex::new(None);
    let on_fork = |c: Uffd| *forked.lock().unwrap() = Some(c);
    let (r, w) = rt::pipe().unwrap();
    let stop = Stop::new().unwrap();
    let pid = std::thread::scope(|s| {
        let hs = pager.spawn(s, 1, &stop, Some(&on_fork));
        // The worker must be running before fork(): glibc's fork() holds the allocator's
        // locks while the kernel waits for the FORK event to be read, and a thread still
        // starting up allocates.
        page_is(addr, ps, Some(0));
        // SAFETY: the child only waits on a pipe and calls _exit.
        let pid = unsafe { common::fork() };
        if pid == 0 {
            // Waits for the parent's word (a byte, or EOF), then exits.
            let mut b = [0u8; 1];
            // SAFETY: reads one byte into `b`.
            while let Err(uffd::Errno::EAGAIN) = unsafe { uffd::sys::read(r.0, &mut b) } {
                rt::sleep_ms(1);
            }
            // SAFETY: ends the child without running the parent's state.
            unsafe { _exit(0) }
        }
        assert!(pid > 0);
        stop.stop();
        assert_eq!(hs.join(), Ok(Exit::Stopped));
        pid
    });
    let t = Instant::now();
    let child = loop {
        if let Some(c) = forked.lock().unwrap().take() {
            break c;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "no FORK event");
        std::thread::sleep(Duration::from_millis(1));
    };
    let mut st2 = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .fill(n * ps)
        .idle(Duration::from_millis(20));
    let child_pager = Pager::new(&child, &regions, st2.storage(), policy).unwrap();
    let (exit, took) = std::thread::scope(|s| {
        let h = s.spawn(|| child_pager.worker(&mut []).unwrap().run(None));
        // Everything populated while the child lives: the worker has nothing left to do.
        let t = Instant::now();
        while !child_pager.is_fully_populated() {
            assert!(t.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(!h.is_finished());
        rt::write(w.0, addr, 1).ok();
        let mut status = 0;
        // SAFETY: waits for our own child; writes one int.
        assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(status, 0);
        let t = Instant::now();
        finished_within(&h, 5, || child_pager.stop(), "the idle pager never noticed");
        (h.join().unwrap(), t.elapsed())
    });
    println!(
        "exit {exit:?} {took:?} after the child's end; {:?}",
        child_pager.counters()
    );
    assert_eq!(exit, Ok(Exit::Gone));
    drop(r);
    unmap(addr, n * ps);
}

/// More faults pending than a worker's queue holds (2 × 64), and an event behind them: the
/// kernel hands out every pending fault before any event, and while the event (a REMOVE,
/// whose `madvise` waits until it is read) is unread every placement is `EAGAIN`. The worker
/// must get past the faults to the event without losing any of them: every thread gets its
/// page. (Exact fault addresses, inside the pages: the wake of the faults that found no room
/// covers whole pages.)
#[test]
fn more_faults_than_the_queue_holds_with_an_event_behind_them() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMOVE | Features::EXACT_ADDRESS) else {
        return;
    };
    let ps = u.page_size();
    let n = 300;
    let addr = anon((n + 1) * ps);
    let img = image((n + 1) * ps);
    let regions = [Region::new(addr, (n + 1) * ps, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping reached only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (stop, mut stop_w) = std::os::unix::net::UnixStream::pair().unwrap();
    let tids: Vec<AtomicI32> = (0..=n).map(|_| AtomicI32::new(0)).collect();
    std::thread::scope(|s| {
        let touchers: Vec<_> = (0..n)
            .map(|i| {
                let tids = &tids;
                s.spawn(move || {
                    tids[i].store(tid(), Release);
                    let at = i * ps + 0x7f8;
                    // SAFETY: a mapped test page, read through a raw pointer.
                    let got = unsafe { ((addr + at) as *const u64).read_volatile() };
                    assert_eq!(got, word(at as u64), "page {i}");
                    page_is(addr + i * ps, ps, Some((i * ps) as u64));
                })
            })
            .collect();
        for t in &tids[..n] {
            while t.load(Acquire) == 0 {
                std::thread::yield_now();
            }
            asleep(t.load(Acquire));
        }
        // Every fault is pending; now the event, behind them.
        let remover = s.spawn(|| {
            tids[n].store(tid(), Release);
            // SAFETY: test memory read only through raw pointers; its last page, untouched.
            unsafe {
                nix::sys::mman::madvise(
                    NonNull::new((addr + n * ps) as *mut _).unwrap(),
                    ps,
                    nix::sys::mman::MmapAdvise::MADV_DONTNEED,
                )
            }
            .expect("madvise");
        });
        while tids[n].load(Acquire) == 0 {
            std::thread::yield_now();
        }
        asleep(tids[n].load(Acquire));
        let worker = s.spawn(|| {
            let mut scratch = vec![0u8; pager.scratch_len()];
            pager.worker(&mut scratch)?.run(Some(stop.as_fd().into()))
        });
        let rescue = || {
            release(&u);
            pager.stop();
        };
        for t in touchers.iter().chain([&remover]) {
            finished_within(t, 20, rescue, "a faulting thread was never served");
        }
        for t in touchers {
            t.join().unwrap();
        }
        remover.join().unwrap();
        std::io::Write::write_all(&mut stop_w, b"x").unwrap();
        assert_eq!(worker.join().unwrap(), Ok(Exit::Stopped));
    });
    let k = pager.counters();
    assert_eq!(k.bytes_copied, (n * ps) as u64, "{k:?}");
    assert_eq!(k.removes, 1, "{k:?}");
    // The path under test was taken: some faults found the queue full.
    assert!(k.requeued > 0, "{k:?}");
    pager.unregister().unwrap();
    unmap(addr, (n + 1) * ps);
}
