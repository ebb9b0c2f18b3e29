//! The pager on the host kernel, with threads (`--features std`): every source, policy and
//! event path, contents verified page by page by the faulting side; a counted stress run of
//! racing workers and background fill; 2 MiB hugetlb regions (`vm.nr_hugepages` set and
//! restored). The `no_std` cases that also run in the VMs are in `tests/suite/pager.rs`.
// The pager needs 64-bit atomics (not on powerpc32).
#![cfg(target_has_atomic = "64")]

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod pager_common;
#[allow(unused_macros, unused_imports)]
mod suite;

use pager_common::{
    anon, callback_region, check_page, fill_words, image, madvise_dontneed, open, release,
    resident, serial, shuffled, with_workers, word, Area,
};
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Mutex;

use nix::sys::mman::{mmap, mremap, munmap, MRemapFlags, MapFlags, ProtFlags};
use uffd::flags::Features;
use uffd::pager::{
    monotonic_ns, ConfigError, Exit, OwnedStorage, Pager, PagerError, Policy, Region, Slot, Source,
    SourceError, Stop, Storage,
};
use uffd::{Error, Uffd};

extern "C" {
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn memfd_create(name: *const std::ffi::c_char, flags: u32) -> i32;
}

#[test]
fn sources_bytes_zeros_callback_with_offsets() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 64;
    let (a, b, c) = (
        anon(n * ps, MapFlags::empty()),
        anon(n * ps, MapFlags::empty()),
        anon(n * ps, MapFlags::empty()),
    );
    let img = image((n + 5) * ps);
    let gen = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        fill_words(off, buf);
        Ok(())
    };
    let regions = [
        Region::new(a.addr, a.len, ps, Source::Bytes(&img)).offset(5 * ps as u64),
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
        .offset(1 << 20),
    ];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(
        &u,
        &regions,
        st.storage(),
        Policy::demand().clock(monotonic_ns),
    )
    .expect("pager");
    let created = monotonic_ns();
    // SAFETY: fresh mappings read only through raw pointers, unmapped after the pager is gone.
    unsafe { pager.register() }.expect("register");
    let every_page =
        |populated: bool| (0..3).all(|r| (0..n).all(|i| pager.is_populated(r, i) == populated));
    assert!(every_page(false), "a page populated before any fault");
    // Every third page of the middle region first: the pager knows which pages of which
    // region it placed.
    let (r, _) = with_workers(&pager, 1, || -> Result<(), String> {
        for i in (0..n).step_by(3) {
            check_page(b.addr + i * ps, ps, None)?;
        }
        Ok(())
    });
    r.unwrap();
    for (region, i) in (0..3).flat_map(|r| (0..n).map(move |i| (r, i))) {
        let want = region == 1 && i % 3 == 0;
        assert_eq!(
            pager.is_populated(region, i),
            want,
            "region {region} page {i}"
        );
    }
    // Not fully populated yet: no time recorded.
    assert_eq!(pager.counters().populated_at_ns, 0);
    // The last page a while after the others: the pager is fully populated only then.
    let (r, exits) = with_workers(&pager, 1, || -> Result<u64, String> {
        for i in shuffled(n, 7) {
            check_page(a.addr + i * ps, ps, Some(((5 + i) * ps) as u64))?;
            check_page(b.addr + i * ps, ps, None)?;
            if i != n - 1 {
                check_page(c.addr + i * ps, ps, Some(((1 << 20) + i * ps) as u64))?;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        let last = monotonic_ns();
        check_page(
            c.addr + (n - 1) * ps,
            ps,
            Some(((1 << 20) + (n - 1) * ps) as u64),
        )?;
        Ok(last)
    });
    let last = r.unwrap();
    assert_eq!(exits, [Exit::Stopped]);
    let k = pager.counters();
    assert_eq!(k.faults, 3 * n as u64);
    assert_eq!(k.bytes_copied, 2 * (n * ps) as u64);
    assert_eq!(k.bytes_zeroed, (n * ps) as u64);
    assert_eq!((k.exists, k.readahead_pages, k.fill_bytes), (0, 0, 0));
    assert_eq!(pager.histogram().total(), k.faults);
    assert!(pager.is_fully_populated());
    assert!(every_page(true), "a faulted page not marked populated");
    // Fully populated by the last fault (nanoseconds since the pager was made).
    assert!(
        k.populated_at_ns >= last - created,
        "populated at {} ns, the last page touched at {} ns",
        k.populated_at_ns,
        last - created
    );
}

/// A callback region's runs are capped by the worker's scratch buffer (the callback writes
/// there, then one COPY): with room for 3 pages, each 8-page fill piece takes runs of 3, 3
/// and 2 pages, and every page reads its source.
#[test]
fn callback_runs_are_capped_by_the_scratch_buffer() {
    use std::sync::atomic::{AtomicUsize, Ordering::*};
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 32;
    let a = anon(n * ps, MapFlags::empty());
    let (calls, longest) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let gen = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        calls.fetch_add(1, Relaxed);
        longest.fetch_max(buf.len(), Relaxed);
        fill_words(off, buf);
        Ok(())
    };
    let regions = [Region::new(
        a.addr,
        a.len,
        ps,
        Source::Callback {
            source: &gen,
            len: (n * ps) as u64,
        },
    )];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().fill(8 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let mut scratch = vec![0u8; 3 * ps];
    let exit = pager.worker(&mut scratch).unwrap().run(None);
    assert_eq!(exit, Ok(Exit::FullyPopulated));
    assert_eq!((calls.load(Relaxed), longest.load(Relaxed)), (12, 3 * ps));
    for i in 0..n {
        check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
    }
}

/// The background fill over regions of odd sizes claims its pieces within one region at a
/// time and places every page of every region from its own source: nothing skipped.
#[test]
fn the_fill_covers_every_page_of_several_regions() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let sizes = [5, 7, 9];
    let img = image(21 * ps);
    let areas: Vec<Area> = sizes
        .iter()
        .map(|&n| anon(n * ps, MapFlags::empty()))
        .collect();
    let offsets = [0, 5, 12];
    let regions: Vec<Region<'_>> = areas
        .iter()
        .zip(offsets)
        .map(|(a, o)| Region::new(a.addr, a.len, ps, Source::Bytes(&img)).offset((o * ps) as u64))
        .collect();
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().fill(4 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: fresh mappings read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let exit = run_then_unregister(&pager, &mut []);
    assert_eq!(exit, Ok(Exit::FullyPopulated));
    let k = pager.counters();
    assert_eq!(
        (k.pages_skipped, k.fill_bytes),
        (0, (21 * ps) as u64),
        "{k:?}"
    );
    for ((a, n), o) in areas.iter().zip(sizes).zip(offsets) {
        for i in 0..n {
            check_page(a.addr + i * ps, ps, Some(((o + i) * ps) as u64)).unwrap();
        }
    }
}

#[test]
fn callback_failure_is_reported() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let a = anon(4 * ps, MapFlags::empty());
    let bad =
        |off: u64, _: &mut [u8]| -> Result<(), SourceError> { Err(SourceError(off as u32 + 1)) };
    let regions = [callback_region(a.addr, a.len, ps, &bad)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand().fill(ps)).unwrap();
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    let mut scratch = vec![0u8; ps];
    let mut w = pager.worker(&mut scratch).unwrap();
    // The fill starts at the last page.
    let last = 3 * ps as u64;
    assert_eq!(
        w.fill_piece(),
        Err(PagerError::Source {
            region: 0,
            offset: last,
            error: SourceError(last as u32 + 1)
        })
    );
    assert_eq!(pager.remaining_pages(), 4);
}

/// Spawned workers: when one fails, `spawn` signals the stop pipe, so the others end at once
/// even while they sleep in `poll` for a long idle period; `wait_any` and `join` give the
/// error.
#[test]
fn a_failing_spawned_worker_ends_the_others_at_once() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let a = anon(4 * ps, MapFlags::empty());
    // Fails after the other worker is back asleep in `poll` (the fault woke both).
    let bad = |_: u64, _: &mut [u8]| -> Result<(), SourceError> {
        std::thread::sleep(std::time::Duration::from_millis(50));
        Err(SourceError(7))
    };
    let regions = [callback_region(a.addr, a.len, ps, &bad)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().idle(std::time::Duration::from_secs(60));
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let want = Err(PagerError::Source {
        region: 0,
        offset: ps as u64,
        error: SourceError(7),
    });
    let t = std::time::Instant::now();
    std::thread::scope(|s| {
        let none = pager.spawn(s, 0, &stop, None);
        assert_eq!((none.len(), none.is_empty()), (0, true));
        let hs = pager.spawn(s, 2, &stop, None);
        assert_eq!((hs.len(), hs.is_empty()), (2, false));
        // The fault fails its worker; nobody serves it, so release it by hand once they end.
        let toucher = s.spawn(|| check_page(a.addr + ps, ps, None));
        assert_eq!(
            hs.wait_any(Some(std::time::Duration::from_secs(5))),
            Some(want)
        );
        assert_eq!(hs.join(), want);
        release(&u);
        let _ = toucher.join();
    });
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
}

/// `wait_any` returns as soon as one worker has ended, with its exit, while another is
/// still busy (here inside a source callback that waits for the test): it does not wait for
/// the rest unless the first ended because a peer failed.
#[test]
fn wait_any_returns_the_first_exit_while_another_worker_is_busy() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let a = anon(4 * ps, MapFlags::empty());
    let (entered, go) = (AtomicBool::new(false), AtomicBool::new(false));
    let held = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        entered.store(true, SeqCst);
        while !go.load(SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(a.addr, a.len, ps, &held)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    std::thread::scope(|s| {
        let hs = pager.spawn(s, 2, &stop, None);
        let toucher = s.spawn(|| check_page(a.addr + ps, ps, Some(ps as u64)));
        while !entered.load(SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // One worker is held in the callback; the other ends on the stop signal.
        stop.stop();
        let t = std::time::Instant::now();
        let first = hs.wait_any(Some(std::time::Duration::from_secs(5)));
        let waited = t.elapsed();
        let ended = hs.ended();
        go.store(true, SeqCst);
        assert_eq!(first, Some(Ok(Exit::Stopped)));
        assert!(waited < std::time::Duration::from_secs(4), "{waited:?}");
        assert_eq!(ended, 1);
        assert_eq!(hs.join(), Ok(Exit::Stopped));
        toucher.join().unwrap().unwrap();
    });
    pager.unregister().unwrap();
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_time() -> std::time::Duration {
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut [i64; 2]) -> i32;
    }
    let mut ts = [0i64; 2];
    // SAFETY: writes one timespec (two longs on the 64-bit targets these tests run on).
    assert_eq!(unsafe { clock_gettime(3, &mut ts) }, 0);
    std::time::Duration::new(ts[0] as u64, ts[1] as u32)
}

/// A worker with nothing to do sleeps in `poll` for its idle period instead of spinning:
/// half a second of idle `run` costs its thread almost no CPU time.
#[test]
#[cfg(target_pointer_width = "64")]
fn an_idle_worker_sleeps() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let a = anon(4 * ps, MapFlags::empty());
    let regions = [Region::new(a.addr, a.len, ps, Source::Zeros)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().idle(std::time::Duration::from_millis(100));
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let (exit, cpu) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let mut w = pager.worker(&mut []).unwrap();
            let t0 = thread_cpu_time();
            let exit = w.run(Some(stop.as_fd().into()));
            (exit, thread_cpu_time() - t0)
        });
        std::thread::sleep(std::time::Duration::from_millis(500));
        stop.stop();
        h.join().unwrap()
    });
    assert_eq!(exit, Ok(Exit::Stopped));
    assert!(
        cpu < std::time::Duration::from_millis(100),
        "{cpu:?} of CPU"
    );
    pager.unregister().unwrap();
}

/// A pager that failed before `spawn` (its failing worker ran by hand, not spawned): the
/// spawned worker ends at once with `PeerFailed`, and `wait_any` returns that once every
/// spawned worker has ended, as no error can come from them.
#[test]
fn wait_any_after_a_failure_elsewhere_returns_peer_failed() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let a = anon(4 * ps, MapFlags::empty());
    let bad = |_: u64, _: &mut [u8]| -> Result<(), SourceError> { Err(SourceError(9)) };
    let regions = [callback_region(a.addr, a.len, ps, &bad)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().idle(std::time::Duration::from_secs(60));
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    std::thread::scope(|s| {
        let toucher = s.spawn(|| check_page(a.addr, ps, None));
        let mut scratch = vec![0u8; ps];
        let r = pager.worker(&mut scratch).unwrap().run(None);
        assert!(matches!(r, Err(PagerError::Source { .. })), "{r:?}");
        assert!(pager.has_failed());
        let hs = pager.spawn(s, 1, &stop, None);
        assert_eq!(
            hs.wait_any(Some(std::time::Duration::from_secs(5))),
            Some(Ok(Exit::PeerFailed))
        );
        assert_eq!(hs.join(), Ok(Exit::PeerFailed));
        release(&u);
        let _ = toucher.join();
    });
}

#[test]
fn background_fill_populates_everything_once_and_reports_it() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let len = 64 << 20;
    let img = image(len);
    let a = anon(len, MapFlags::empty());
    let regions = [Region::new(a.addr, len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .fill(Policy::FILL_PIECE)
        .exit_when_populated(true)
        .clock(monotonic_ns);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let exits: Vec<_> = std::thread::scope(|s| {
        let hs = pager.spawn(s, 2, &stop, None);
        for i in shuffled(len / ps, 11).into_iter().take(200) {
            check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
        }
        hs.into_handles()
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(exits, [Exit::FullyPopulated, Exit::FullyPopulated]);
    let k = pager.counters();
    println!("{k:?}");
    assert!(pager.is_fully_populated());
    assert_eq!(resident(a.addr, len, ps), len / ps);
    // Every page placed exactly once: EEXIST races cost a wake, never a second copy.
    assert_eq!(k.bytes_copied, len as u64);
    assert!(k.fill_bytes > 0 && k.fill_bytes <= len as u64);
    // Pieces of the policy's size: one pass over the region places each page once, so
    // about len / FILL_PIECE of them (never one a page).
    let pass = (len / Policy::FILL_PIECE) as u64;
    assert!(
        k.fill_pieces >= k.fill_bytes / Policy::FILL_PIECE as u64 && k.fill_pieces <= 2 * pass,
        "{} pieces for {} bytes",
        k.fill_pieces,
        k.fill_bytes
    );
    assert!(k.populated_at_ns > 0);
    for i in 0..len / ps {
        check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
    }
}

/// A region whose mapping was split under the pager (`mprotect` of some pages in the middle,
/// no event): the kernel refuses a `COPY` across the split with `ENOENT` (checked raw first),
/// and the fill, retrying by halves, still populates every page with the right contents.
#[test]
fn a_mapping_split_under_the_fill_is_filled_around() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 64;
    let len = n * ps;
    let img = image(len);
    let a = anon(len, MapFlags::empty());
    let regions = [Region::new(a.addr, len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().fill(16 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    // Pages 20..24 get other protections: three mappings now, one registration each.
    let mid = NonNull::new((a.addr + 20 * ps) as *mut std::ffi::c_void).unwrap();
    let rwx = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE | ProtFlags::PROT_EXEC;
    // SAFETY: pages of our own mapping, accessed only through raw pointers.
    unsafe { nix::sys::mman::mprotect(mid, 4 * ps, rwx) }.expect("mprotect");
    // The kernel's answer to a COPY across the split: the whole run is refused.
    assert_eq!(
        u.copy(
            a.addr + 16 * ps,
            &img[16 * ps..24 * ps],
            uffd::flags::CopyMode::empty()
        ),
        Err(Error::Sys {
            call: uffd::Call::Copy,
            errno: uffd::Errno::ENOENT
        })
    );
    let exit = pager.worker(&mut []).unwrap().run(None).unwrap();
    assert_eq!(exit, Exit::FullyPopulated);
    let k = pager.counters();
    assert_eq!((k.bytes_copied, k.pages_skipped), (len as u64, 0), "{k:?}");
    for i in 0..n {
        check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
    }
}

/// A worker thread that only serves faults until `go` (then runs with the policy, fill
/// included) or until stopped.
fn serve_then_run<'s>(
    s: &'s std::thread::Scope<'s, '_>,
    pager: &'s Pager<'_>,
    stop: &'s Stop,
    go: &'s std::sync::atomic::AtomicBool,
) -> std::thread::ScopedJoinHandle<'s, Result<Exit, PagerError>> {
    use std::sync::atomic::Ordering::*;
    s.spawn(move || {
        let mut scratch = vec![0u8; pager.scratch_len()];
        let mut w = pager.worker(&mut scratch)?;
        while !go.load(Acquire) {
            if pager
                .uffd()
                .poll(Some(std::time::Duration::from_millis(5)))?
            {
                w.serve_pending()?;
            }
        }
        w.run(Some(stop.as_fd().into()))
    })
}

#[test]
fn remove_then_fault_gives_zeros_and_fill_leaves_it_alone() {
    use std::sync::atomic::{AtomicBool, Ordering::*};
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMOVE) else {
        return;
    };
    let ps = u.page_size();
    let n = 256;
    let img = image(n * ps);
    let a = anon(n * ps, MapFlags::empty());
    let regions = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().fill(16 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (stop, go) = (Stop::new().unwrap(), AtomicBool::new(false));
    let touched = 64..96; // touched, then REMOVE'd
    let untouched = 160..200; // REMOVE'd before anything populated it
    let exit = std::thread::scope(|s| {
        let h = serve_then_run(s, &pager, &stop, &go);
        for i in touched.clone() {
            check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
        }
        // madvise returns once a worker has read the REMOVE event.
        madvise_dontneed(a.addr + touched.start * ps, touched.len() * ps);
        madvise_dontneed(a.addr + untouched.start * ps, untouched.len() * ps);
        go.store(true, Release);
        h.join().unwrap().unwrap()
    });
    assert_eq!(exit, Exit::FullyPopulated);
    let k = pager.counters();
    println!("{k:?}");
    assert_eq!(k.removes, 2);
    assert_eq!(k.pages_skipped, untouched.len() as u64);
    // The fill did not bring the REMOVE'd pages back.
    let gone = touched.len() + untouched.len();
    assert_eq!(resident(a.addr, a.len, ps), n - gone);
    assert_eq!(k.bytes_copied, ((n - untouched.len()) * ps) as u64);
    // Served again by a worker that keeps serving (the policy's workers exit once fully
    // populated): REMOVE'd pages read as zero, the rest as the image.
    go.store(false, Release);
    let r = std::thread::scope(|s| {
        let h = serve_then_run(s, &pager, &stop, &go);
        let r = (|| -> Result<(), String> {
            for i in 0..n {
                let zero = touched.contains(&i) || untouched.contains(&i);
                check_page(a.addr + i * ps, ps, (!zero).then_some((i * ps) as u64))?;
            }
            Ok(())
        })();
        go.store(true, Release);
        assert_eq!(h.join().unwrap().unwrap(), Exit::FullyPopulated);
        r
    });
    r.unwrap();
    let k = pager.counters();
    assert_eq!(k.bytes_zeroed, (gone * ps) as u64);
    assert_eq!(k.bytes_copied, ((n - untouched.len()) * ps) as u64);
    // Unregistered, the kernel serves what is left itself.
    pager.unregister().unwrap();
    madvise_dontneed(a.addr, 8 * ps);
    check_page(a.addr, ps, None).unwrap();
}

#[test]
fn unmap_splits_the_region_and_the_fill_completes_around_it() {
    use std::sync::atomic::{AtomicBool, Ordering::*};
    let _g = serial();
    let Some(u) = open(Features::EVENT_UNMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 256;
    let img = image(n * ps);
    let mut a = anon(n * ps, MapFlags::empty());
    let regions = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
    // One spare slot for the split.
    let mut st = OwnedStorage::new(&regions, 1);
    let policy = Policy::demand().fill(32 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (stop, go) = (Stop::new().unwrap(), AtomicBool::new(false));
    let hole = 100..120;
    let exit = std::thread::scope(|s| {
        let h = serve_then_run(s, &pager, &stop, &go);
        check_page(a.addr + 110 * ps, ps, Some((110 * ps) as u64)).unwrap();
        // munmap returns once a worker has read the UNMAP event.
        // SAFETY: test memory nothing refers to.
        unsafe {
            munmap(
                NonNull::new((a.addr + hole.start * ps) as *mut _).unwrap(),
                hole.len() * ps,
            )
        }
        .unwrap();
        go.store(true, Release);
        h.join().unwrap().unwrap()
    });
    assert_eq!(exit, Exit::FullyPopulated);
    let k = pager.counters();
    println!("{k:?}");
    assert_eq!(k.unmaps, 1);
    assert_eq!(k.pages_skipped, hole.len() as u64 - 1);
    assert_eq!(k.bytes_copied, ((n - hole.len() + 1) * ps) as u64);
    for i in (0..n).filter(|i| !hole.contains(i)) {
        check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
    }
    // The hole is gone: unmap the two pieces separately (unregistered first: with
    // EVENT_UNMAP, munmap of a registered range waits for a reader).
    pager.unregister().unwrap();
    for (s, e) in [(0, hole.start), (hole.end, n)] {
        // SAFETY: as above.
        unsafe {
            munmap(
                NonNull::new((a.addr + s * ps) as *mut _).unwrap(),
                (e - s) * ps,
            )
        }
        .unwrap();
    }
    a.len = 0;
}

/// An UNMAP of a region's head, of its tail, or of all that is left of it changes or frees
/// the region's own slot, and a REMAP of a whole piece moves it: none needs a spare slot;
/// only a split does. Three regions and no spare slot: region 0 loses its head, its tail,
/// then the rest (its slot is freed); region 1 loses two middle pages (the split takes the
/// freed slot); region 2, two pages, moves whole into that hole and must still read as its
/// own source there (not region 1's, whose head piece ends where the hole begins).
#[test]
fn unmaps_and_a_whole_move_need_no_spare_slot() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_UNMAP | Features::EVENT_REMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let img = image((2 * n + 2) * ps);
    let a = anon(n * ps, MapFlags::empty());
    let b = anon(n * ps, MapFlags::empty());
    let c = anon(2 * ps, MapFlags::empty());
    let regions = [
        Region::new(a.addr, a.len, ps, Source::Bytes(&img)),
        Region::new(b.addr, b.len, ps, Source::Bytes(&img)).offset((n * ps) as u64),
        Region::new(c.addr, c.len, ps, Source::Bytes(&img)).offset((2 * n * ps) as u64),
    ];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: fresh mappings read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let unmap = |addr: usize, pages: usize| {
        // SAFETY: test memory nothing refers to; munmap returns once a worker read the UNMAP.
        unsafe { munmap(NonNull::new(addr as *mut _).unwrap(), pages * ps) }
            .map_err(|e| format!("munmap: {e}"))
    };
    let (r, exits) = with_workers(&pager, 1, || -> Result<(), String> {
        unmap(a.addr, 2)?;
        unmap(a.addr + (n - 2) * ps, 2)?;
        check_page(a.addr + 5 * ps, ps, Some((5 * ps) as u64))?;
        unmap(a.addr + 2 * ps, n - 4)?;
        unmap(b.addr + 4 * ps, 2)?;
        // SAFETY: test memory nothing refers to, moved onto the hole (nothing mapped there).
        unsafe {
            mremap(
                NonNull::new(c.addr as *mut _).unwrap(),
                2 * ps,
                2 * ps,
                MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED,
                NonNull::new((b.addr + 4 * ps) as *mut _),
            )
        }
        .map_err(|e| format!("mremap: {e}"))?;
        for i in 0..n {
            let want = if (4..6).contains(&i) {
                2 * n + i - 4
            } else {
                n + i
            };
            check_page(b.addr + i * ps, ps, Some((want * ps) as u64))?;
        }
        Ok(())
    });
    // Before anything can fail: with EVENT_UNMAP, the munmap of a registered range (the
    // mappings' drop) would wait for a reader.
    pager.unregister().unwrap();
    r.unwrap();
    assert_eq!(exits, [Exit::Stopped]);
    let k = pager.counters();
    // The move's old range is an UNMAP of its own (6.18).
    assert!(k.unmaps >= 4 && k.remaps == 1, "{k:?}");
    // No clock, no latencies.
    assert!(k.faults > 0 && pager.histogram().total() == 0, "{k:?}");
}

#[test]
fn remap_moves_pages_with_their_source_offsets() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 256;
    let img = image(n * ps);
    let a = anon(n * ps, MapFlags::empty());
    let mut dest = anon(64 * ps, MapFlags::empty());
    let regions = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 2);
    let pager = Pager::new(
        &u,
        &regions,
        st.storage(),
        Policy::demand().readahead(8 * ps),
    )
    .unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (r, _) = with_workers(&pager, 2, || -> Result<(), String> {
        for i in [0, 64, 70] {
            check_page(a.addr + i * ps, ps, Some((i * ps) as u64))?;
        }
        // Pages 64..128 (some present, most missing) move to `dest`; mremap returns once the
        // REMAP event is read.
        // SAFETY: test memory nothing refers to; `dest` is our reservation.
        let to = unsafe {
            mremap(
                NonNull::new((a.addr + 64 * ps) as *mut _).unwrap(),
                64 * ps,
                64 * ps,
                MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED,
                NonNull::new(dest.addr as *mut _),
            )
        }
        .map_err(|e| format!("mremap: {e}"))?;
        assert_eq!(to.as_ptr() as usize, dest.addr);
        for i in shuffled(64, 5) {
            check_page(dest.addr + i * ps, ps, Some(((64 + i) * ps) as u64))?;
        }
        for i in (0..64).chain(128..n) {
            check_page(a.addr + i * ps, ps, Some((i * ps) as u64))?;
        }
        Ok(())
    });
    r.unwrap();
    let k = pager.counters();
    println!("{k:?}");
    assert_eq!(k.remaps, 1);
    assert_eq!(k.bytes_copied, (n * ps) as u64);
    assert!(pager.is_fully_populated());
    // `a`'s middle is now unmapped and `dest` holds it: drop unmaps both whole ranges.
    let _ = &mut dest;
}

/// The fill after a move of a region's middle places every page where it now is: the moved
/// pages at their new place, the rest around the hole they left (a piece never claims a page
/// of the piece next to it).
#[test]
fn the_fill_after_a_move_places_every_page_where_it_now_is() {
    use std::sync::atomic::{AtomicBool, Ordering::*};
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 64;
    let img = image(n * ps);
    let a = anon(n * ps, MapFlags::empty());
    let mut dest = anon(16 * ps, MapFlags::empty());
    let regions = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 2);
    let policy = Policy::demand().fill(4 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let (stop, go) = (Stop::new().unwrap(), AtomicBool::new(false));
    let exit = std::thread::scope(|s| {
        let h = serve_then_run(s, &pager, &stop, &go);
        // Pages 16..32 move to `dest`; mremap returns once the REMAP event is read.
        // SAFETY: test memory nothing refers to; `dest` is our reservation.
        unsafe {
            mremap(
                NonNull::new((a.addr + 16 * ps) as *mut _).unwrap(),
                16 * ps,
                16 * ps,
                MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED,
                NonNull::new(dest.addr as *mut _),
            )
        }
        .unwrap();
        go.store(true, Release);
        h.join().unwrap()
    });
    pager.unregister().unwrap();
    assert_eq!(exit, Ok(Exit::FullyPopulated));
    let k = pager.counters();
    assert_eq!(
        (k.remaps, k.pages_skipped, k.bytes_copied),
        (1, 0, (n * ps) as u64),
        "{k:?}"
    );
    for i in 0..n {
        let at = if (16..32).contains(&i) {
            dest.addr + (i - 16) * ps
        } else {
            a.addr + i * ps
        };
        check_page(at, ps, Some((i * ps) as u64)).unwrap();
    }
    let _ = &mut dest;
}

/// A pager made over storage another pager used starts afresh: no page counts as populated
/// and no piece of the old table (here, the tail of a split) survives to serve faults.
#[test]
fn a_new_pager_over_used_storage_starts_afresh() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_UNMAP) else {
        return;
    };
    let ps = u.page_size();
    let n = 16;
    let img = image(2 * n * ps);
    let a = anon(n * ps, MapFlags::empty());
    let b = anon(n * ps, MapFlags::empty());
    let first = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&first, 1);
    {
        let pager = Pager::new(&u, &first, st.storage(), Policy::demand()).unwrap();
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { pager.register() }.unwrap();
        let (r, _) = with_workers(&pager, 1, || -> Result<(), String> {
            check_page(a.addr, ps, Some(0))?;
            // A split: the tail's piece takes the spare slot.
            // SAFETY: test memory nothing refers to.
            unsafe { munmap(NonNull::new((a.addr + 4 * ps) as *mut _).unwrap(), 2 * ps) }
                .map_err(|e| format!("munmap: {e}"))
        });
        r.unwrap();
        assert!(pager.is_populated(0, 0));
    }
    let second = [Region::new(b.addr, b.len, ps, Source::Bytes(&img)).offset((n * ps) as u64)];
    let pager = Pager::new(&u, &second, st.storage(), Policy::demand()).unwrap();
    assert!(!pager.is_populated(0, 0));
    assert_eq!(pager.remaining_pages(), n);
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    // `a`'s tail is still registered and no region covers it now: zeros, counted outside.
    let (r, _) = with_workers(&pager, 1, || -> Result<(), String> {
        check_page(a.addr + 8 * ps, ps, None)?;
        check_page(b.addr, ps, Some((n * ps) as u64))
    });
    // Before anything can fail (with EVENT_UNMAP, unmapping a registered range waits).
    pager.unregister().unwrap();
    u.unregister(a.addr, 4 * ps).unwrap();
    u.unregister(a.addr + 6 * ps, (n - 6) * ps).unwrap();
    r.unwrap();
    assert_eq!(pager.counters().outside, 1);
}

#[test]
fn minor_mode_continue_on_shmem() {
    let _g = serial();
    let Some(u) = open(Features::MINOR_SHMEM) else {
        return;
    };
    let ps = u.page_size();
    let n = 128;
    let file = memfd(c"pager-minor", 0);
    // The page cache holds the data: written through the file.
    std::io::Write::write_all(&mut &file, &image(n * ps)).unwrap();
    let a = map_shared(&file, n * ps);
    let regions = [Region::new(a.addr, a.len, ps, Source::Continue)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .readahead(16 * ps)
        .fill(32 * ps)
        .exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    let stop = Stop::new().unwrap();
    let exits: Vec<_> = std::thread::scope(|s| {
        let hs = pager.spawn(s, 1, &stop, None);
        for i in shuffled(n, 9) {
            check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
        }
        hs.into_handles()
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(exits, [Exit::FullyPopulated]);
    let k = pager.counters();
    println!("{k:?}");
    assert_eq!(k.bytes_continued, (n * ps) as u64);
    assert_eq!(k.bytes_copied + k.bytes_zeroed, 0);
    assert_eq!(resident(a.addr, a.len, ps), n);
}

/// MINOR mode over a file with holes: `CONTINUE` of a page the page cache lacks is `EFAULT`
/// (the kernel's answer), so the fill skips it, counts it, and still ends fully populated.
#[test]
fn minor_mode_fill_skips_pages_the_page_cache_lacks() {
    let _g = serial();
    let Some(u) = open(Features::MINOR_SHMEM) else {
        return;
    };
    let ps = u.page_size();
    let n = 64;
    let file = memfd(c"pager-minor-holes", 0);
    file.set_len((n * ps) as u64).unwrap();
    // Only the second half is in the page cache; the first is a hole (the fill, claiming
    // from the top, ends there: at page 0).
    std::os::unix::fs::FileExt::write_all_at(
        &file,
        &image(n * ps)[n / 2 * ps..],
        (n / 2 * ps) as u64,
    )
    .unwrap();
    let a = map_shared(&file, n * ps);
    let regions = [Region::new(a.addr, a.len, ps, Source::Continue)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().fill(8 * ps).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    let exit = run_then_unregister(&pager, &mut []);
    assert_eq!(exit, Ok(Exit::FullyPopulated));
    let k = pager.counters();
    assert_eq!(
        (k.bytes_continued, k.pages_skipped),
        ((n / 2 * ps) as u64, (n / 2) as u64),
        "{k:?}"
    );
    assert!(pager.is_fully_populated());
}

/// MINOR mode: a fault whose page leaves the page cache before it is served (a hole
/// punched meanwhile) cannot be answered with `CONTINUE` (`EFAULT`, the kernel's answer): the
/// worker reports it as an error instead of retrying forever, and keeps the fault queued.
#[test]
fn minor_fault_whose_page_left_the_page_cache_is_an_error() {
    let _g = serial();
    let Some(u) = open(Features::MINOR_SHMEM) else {
        return;
    };
    let ps = u.page_size();
    let n = 4;
    let file = memfd(c"pager-minor-punched", 0);
    file.set_len((n * ps) as u64).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &image(n * ps), 0).unwrap();
    let a = map_shared(&file, n * ps);
    let regions = [Region::new(a.addr, a.len, ps, Source::Continue)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    let mut w = pager.worker(&mut []).unwrap();
    std::thread::scope(|s| {
        // The page is in the page cache: a MINOR fault. Once it has faulted, the hole.
        let t = s.spawn(|| check_page(a.addr + ps, ps, None));
        assert!(u.poll(Some(std::time::Duration::from_secs(5))).unwrap());
        nix::fcntl::fallocate(
            &file,
            nix::fcntl::FallocateFlags::FALLOC_FL_PUNCH_HOLE
                | nix::fcntl::FallocateFlags::FALLOC_FL_KEEP_SIZE,
            ps as i64,
            ps as i64,
        )
        .unwrap();
        assert_eq!(
            w.serve_pending(),
            Err(PagerError::Uffd(Error::Sys {
                call: uffd::Call::Continue,
                errno: uffd::Errno::EFAULT
            }))
        );
        assert_eq!(w.queued(), 1);
        // Woken, the thread faults again on the hole, which no MINOR fault covers: the
        // kernel fills it (zeros).
        u.wake(a.addr + ps, ps).unwrap();
        t.join().unwrap().unwrap();
    });
    pager.unregister().unwrap();
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let a = anon(4 << 20, MapFlags::empty());
    let src = vec![0u8; 8 * ps];
    let mut slots = [const { Slot::new() }; 2];
    let mut w1 = [const { std::sync::atomic::AtomicU64::new(0) }; 1];
    let mut w2 = [const { std::sync::atomic::AtomicU64::new(0) }; 1];
    let mut try_new = |regions: &[Region<'_>]| -> Result<(), ConfigError> {
        let st = Storage {
            slots: &mut slots,
            populated: &mut w1,
            removed: &mut w2,
        };
        Pager::new(&u, regions, st, Policy::demand()).map(drop)
    };
    let r = |off: usize, pages: usize| {
        Region::new(a.addr + off * ps, pages * ps, ps, Source::Bytes(&src))
    };
    assert_eq!(
        try_new(&[r(0, 4), r(3, 2)]),
        Err(ConfigError::Overlap {
            first: 0,
            second: 1
        })
    );
    // The later region covering the earlier one from below.
    assert_eq!(
        try_new(&[r(2, 2), r(0, 4)]),
        Err(ConfigError::Overlap {
            first: 0,
            second: 1
        })
    );
    assert_eq!(
        try_new(&[r(0, 4).offset(5 * ps as u64)]),
        Err(ConfigError::SourceTooShort {
            region: 0,
            needed: 9 * ps as u64,
            available: 8 * ps as u64
        })
    );
    // An offset in the wrong unit (not bytes) would shift every page served.
    assert_eq!(
        try_new(&[r(0, 4).offset(100)]),
        Err(ConfigError::UnalignedOffset {
            region: 0,
            offset: 100,
            page_size: ps
        })
    );
    let odd = 3 * ps;
    assert_eq!(
        try_new(&[Region::new(a.addr, odd, odd, Source::Zeros)]),
        Err(ConfigError::BadPageSize {
            region: 0,
            page_size: odd
        })
    );
    assert_eq!(
        try_new(&[r(0, 1), r(1, 1), r(2, 1)]),
        Err(ConfigError::TooFewSlots {
            needed: 3,
            available: 2
        })
    );
    let zeros = Region::new(a.addr, 65 * ps, ps, Source::Zeros);
    assert_eq!(
        try_new(&[zeros]),
        Err(ConfigError::BitmapTooSmall {
            needed: 2,
            available: 1
        })
    );
    // A 2 MiB page size over anonymous (non-hugetlb) memory: registration says so.
    let huge = 2 << 20;
    let base = (a.addr + huge - 1) & !(huge - 1);
    let regions = [Region::new(base, huge, huge, Source::Zeros)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: part of a fresh mapping read only through raw pointers.
    let e = unsafe { pager.register() };
    assert_eq!(
        e,
        Err(PagerError::Config(ConfigError::PageSizeMismatch {
            region: 0,
            page_size: huge,
            hugetlb: false
        }))
    );
    // ... and it was unregistered again: registering the range anew works.
    // SAFETY: as above.
    unsafe { u.register(base, huge, uffd::flags::RegisterMode::MISSING) }.unwrap();
    u.unregister(base, huge).unwrap();
    // A callback region needs a scratch page per worker.
    let f = |_: u64, _: &mut [u8]| -> Result<(), SourceError> { Ok(()) };
    let regions = [Region::new(
        a.addr,
        ps,
        ps,
        Source::Callback {
            source: &f,
            len: ps as u64,
        },
    )];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    let mut small = [0u8; 16];
    assert_eq!(
        pager.worker(&mut small).map(drop),
        Err(ConfigError::ScratchTooSmall {
            needed: ps,
            available: 16
        })
    );

    // A readahead window that starts at its maximum is fine.
    let one = [Region::new(a.addr, 4 * ps, ps, Source::Zeros)];
    let mut st = OwnedStorage::new(&one, 0);
    let policy = Policy::demand().readahead_from(4 * ps, 4 * ps);
    assert!(Pager::new(&u, &one, st.storage(), policy).is_ok());

    // What a pager reports of its configuration: 3 base pages and one 2 MiB page (never
    // registered: nothing here is served).
    let small_at = if base >= a.addr + 3 * ps {
        base - 3 * ps
    } else {
        base + huge
    };
    let regions = [
        Region::new(small_at, 3 * ps, ps, Source::Zeros),
        Region::new(base, huge, huge, Source::Zeros),
    ];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    assert_eq!(pager.regions().as_ptr(), regions.as_ptr());
    assert_eq!(pager.regions().len(), 2);
    assert_eq!((pager.pages(), pager.remaining_pages()), (4, 4));
    assert!(!pager.is_fully_populated());
    let shown = format!("{pager:?}");
    assert!(
        shown.starts_with("Pager {")
            && shown.contains("pages: 4")
            && shown.contains("remaining: 4"),
        "{shown}"
    );
    // Zeros in a huge page are copied from the worker's scratch (hugetlb has no ZEROPAGE):
    // it must hold one; base pages of zeros or bytes need none.
    assert_eq!(
        pager.worker(&mut small).map(drop),
        Err(ConfigError::ScratchTooSmall {
            needed: huge,
            available: 16
        })
    );
    assert!(pager.worker(&mut vec![0; huge]).is_ok());
    let regions = [Region::new(small_at, 3 * ps, ps, Source::Bytes(&src))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    let w = pager.worker(&mut []).unwrap();
    let shown = format!("{w:?}");
    assert!(
        w.queued() == 0 && shown.starts_with("Worker {") && shown.contains("queued: 0"),
        "{shown}"
    );
    assert_eq!(pager.scratch_len(), 0);
    // Stopped for good: a worker started afterwards returns at once.
    assert!(!pager.is_stopped());
    pager.stop();
    assert!(pager.is_stopped());
    assert_eq!(pager.worker(&mut []).unwrap().run(None), Ok(Exit::Stopped));
}

/// One worker with `scratch` until its run ends (the policy's fill to full population), then
/// the pager's ranges unregistered before anything can fail: a page the fill missed would
/// otherwise wait for a server forever when the test reads it.
fn run_then_unregister(pager: &Pager<'_>, scratch: &mut [u8]) -> Result<Exit, PagerError> {
    let exit = pager.worker(scratch).unwrap().run(None);
    pager.unregister().unwrap();
    exit
}

/// A fresh shared read-write mapping of `len` bytes of `file` (a memfd of the test's own),
/// reached only through raw pointers; unmapped on drop.
/// `memfd_create(name, MFD_CLOEXEC | flags)` as a file.
fn memfd(name: &std::ffi::CStr, flags: u32) -> std::fs::File {
    // SAFETY: a NUL-terminated name.
    let fd = unsafe { memfd_create(name.as_ptr(), 1 | flags) };
    assert!(fd >= 0, "memfd_create({name:?}, {flags:#x})");
    // SAFETY: just created, ours alone.
    std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `linux/memfd.h`: a memfd of the default huge page size.
const MFD_HUGETLB: u32 = 4;

fn map_shared(file: &std::fs::File, len: usize) -> Area {
    // SAFETY: a fresh mapping that no Rust value refers to.
    let p = unsafe {
        mmap(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            file,
            0,
        )
    }
    .unwrap();
    Area {
        addr: p.as_ptr() as usize,
        len,
    }
}

/// `check_page` without allocating (for a forked child of this multi-threaded process).
fn page_ok(addr: usize, page: usize, src_off: Option<u64>) -> bool {
    (0..page).step_by(8).all(|i| {
        // SAFETY: as in `check_page`.
        let got = unsafe { ((addr + i) as *const u64).read_volatile() };
        got == src_off.map_or(0, |o| word(o + i as u64))
    })
}

#[test]
fn fork_goes_to_the_caller_and_a_gone_target_ends_workers() {
    use std::sync::atomic::{AtomicBool, Ordering::*};
    let _g = serial();
    // EVENT_FORK needs CAP_SYS_PTRACE: without it the crate's typed refusal is the skip (the
    // test suite runs as root in CI, where it is granted).
    let b = Uffd::builder()
        .non_blocking(true)
        .user_mode_only(true)
        .require(Features::EVENT_FORK);
    if !common::raw_has_userfaultfd("EVENT_FORK") {
        return;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u = match unsafe { b.create() } {
        Err(e @ Error::FeatureNotPermitted { .. }) => return println!("SKIP: EVENT_FORK: {e}"),
        r => match common::created("EVENT_FORK", r) {
            Some(u) => u,
            None => return,
        },
    };
    let ps = u.page_size();
    let n = 16;
    let img = image(n * ps);
    let a = anon(n * ps, MapFlags::empty());
    let regions = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers (in the child too).
    unsafe { pager.register() }.unwrap();
    let forked: Mutex<Option<Uffd>> = Mutex::new(None);
    // Runs while the forking thread waits in fork(): no allocation here.
    let on_fork = |c: Uffd| *forked.lock().unwrap() = Some(c);
    let stop = Stop::new().unwrap();
    let (status, child_exit, child_k) = std::thread::scope(|s| {
        let hs = pager.spawn(s, 1, &stop, Some(&on_fork));
        for i in 0..4 {
            check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
        }
        // SAFETY: the child only reads memory and calls _exit (async-signal-safe).
        let pid = unsafe { common::fork() };
        if pid == 0 {
            // Pages 0..4 came with the fork; page 10 is missing in the child too: its fault
            // goes to the child's userfaultfd, served by the parent's second pager.
            let ok = (0..4).all(|i| page_ok(a.addr + i * ps, ps, Some((i * ps) as u64)))
                && page_ok(a.addr + 10 * ps, ps, Some((10 * ps) as u64));
            // SAFETY: ends the child without running anything of the parent's state.
            unsafe { _exit(if ok { 0 } else { 1 }) }
        }
        assert!(pid > 0, "fork");
        stop.stop();
        assert_eq!(hs.join().unwrap(), Exit::Stopped);
        let child_u = forked
            .lock()
            .unwrap()
            .take()
            .expect("no FORK event reached the caller");
        let mut st2 = OwnedStorage::new(&regions, 0);
        let child_pager =
            Pager::new(&child_u, &regions, st2.storage(), Policy::demand().fill(ps)).unwrap();
        let exited = AtomicBool::new(false);
        let (status, exit) = std::thread::scope(|s2| {
            let h = s2.spawn(|| -> Result<Exit, PagerError> {
                let mut w = child_pager.worker(&mut [])?;
                while !exited.load(Acquire) {
                    if child_pager
                        .uffd()
                        .poll(Some(std::time::Duration::from_millis(5)))?
                    {
                        w.serve_pending()?;
                    }
                }
                // The child is gone: the fill's first COPY says ESRCH.
                w.run(None)
            });
            let mut status = 0;
            // SAFETY: waits for our own child; writes one int.
            assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
            exited.store(true, Release);
            (status, h.join().unwrap().unwrap())
        });
        (status, exit, child_pager.counters())
    });
    assert_eq!(
        status, 0,
        "the child saw wrong contents (status {status:#x})"
    );
    assert_eq!(pager.counters().forks, 1);
    assert_eq!(child_exit, Exit::Gone);
    println!("child's pager: {child_k:?}");
    assert_eq!(child_k.faults, 1);
}

#[test]
fn stress_racing_workers_readahead_fill_and_removes_lose_nothing() {
    let _g = serial();
    let Some(u) = open(Features::EVENT_REMOVE) else {
        return;
    };
    let ps = u.page_size();
    let (rounds, len) = (6, 32 << 20);
    let n = len / ps;
    let img = image(len);
    let removed = 64;
    let mut total = uffd::pager::Counters::default();
    for round in 0..rounds {
        let a = anon(len, MapFlags::empty());
        let regions = [Region::new(a.addr, len, ps, Source::Bytes(&img))];
        let mut st = OwnedStorage::new(&regions, 0);
        let policy = Policy::demand().readahead(64 * ps).fill(16 * ps);
        let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { pager.register() }.unwrap();
        let (r, _) = with_workers(&pager, 3, || {
            std::thread::scope(|s| {
                let hs: Vec<_> = (0..2)
                    .map(|t| {
                        let a = &a;
                        s.spawn(move || -> Result<(), String> {
                            let half = t * n / 2;
                            // One sequential toucher (readahead windows), one random.
                            let order = if t == 0 {
                                (0..n / 2).collect()
                            } else {
                                shuffled(n / 2, 17 + round)
                            };
                            for i in order {
                                let p = half + i;
                                check_page(a.addr + p * ps, ps, Some((p * ps) as u64))?;
                            }
                            // Give some back and read them again: zeros now.
                            let r0 = half + 100;
                            madvise_dontneed(a.addr + r0 * ps, removed * ps);
                            for p in r0..r0 + removed {
                                check_page(a.addr + p * ps, ps, None)?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                hs.into_iter().try_for_each(|h| h.join().unwrap())
            })
        });
        r.unwrap_or_else(|e| panic!("round {round}: {e}"));
        let k = pager.counters();
        assert_eq!(k.bytes_copied, len as u64, "round {round}: {k:?}");
        assert_eq!(
            k.bytes_zeroed,
            (2 * removed * ps) as u64,
            "round {round}: {k:?}"
        );
        assert_eq!(k.removes, 2);
        assert!(pager.is_fully_populated());
        total.faults += k.faults;
        total.exists += k.exists;
        total.again += k.again;
        total.fill_bytes += k.fill_bytes;
        total.readahead_pages += k.readahead_pages;
    }
    println!(
        "stress: {rounds} rounds of {} MiB, 3 workers + fill, 2 touchers: {} faults, {} EEXIST, {} EAGAIN, {} MiB by fill, {} readahead pages; every page verified",
        len >> 20,
        total.faults,
        total.exists,
        total.again,
        total.fill_bytes >> 20,
        total.readahead_pages
    );
}

/// `vm.nr_hugepages` raised for a test, restored on drop.
struct HugePages {
    old: String,
}

const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";

impl HugePages {
    /// At least `n` free 2 MiB pages, or why not (skip reasons outside the code under test).
    fn reserve(n: usize) -> Result<Self, String> {
        // Free and not reserved by another process's mapping (a concurrent test run).
        let free = || -> usize {
            let num = |f: &str| -> usize {
                std::fs::read_to_string(format!("/sys/kernel/mm/hugepages/hugepages-2048kB/{f}"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0)
            };
            num("free_hugepages").saturating_sub(num("resv_hugepages"))
        };
        let old =
            std::fs::read_to_string(NR_HUGEPAGES).map_err(|e| format!("{NR_HUGEPAGES}: {e}"))?;
        let have: usize = old
            .trim()
            .parse()
            .map_err(|_| "nr_hugepages unreadable".to_string())?;
        let guard = HugePages { old };
        if free() < n {
            std::fs::write(NR_HUGEPAGES, format!("{}", have + n))
                .map_err(|e| format!("cannot set {NR_HUGEPAGES} (needs root): {e}"))?;
        }
        if free() < n {
            return Err(format!(
                "the kernel found only {} free 2 MiB pages of {n} (fragmented memory)",
                free()
            ));
        }
        Ok(guard)
    }
}

impl Drop for HugePages {
    fn drop(&mut self) {
        let _ = std::fs::write(NR_HUGEPAGES, self.old.trim());
    }
}

#[test]
fn hugetlb_2mib_regions_with_base_page_regions() {
    let _g = serial();
    let huge = 2 << 20;
    if !std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        return println!("SKIP: no 2 MiB huge pages on this kernel");
    }
    let want = Features::EVENT_REMOVE | Features::MISSING_HUGETLBFS;
    let Some(u) = open(want) else { return };
    let ps = u.page_size();
    let _pool = match HugePages::reserve(16) {
        Ok(p) => p,
        Err(why) => return println!("SKIP: {why}"),
    };
    let hn = 4;
    let h = anon(hn * huge, MapFlags::MAP_HUGETLB);
    let b = anon(64 * ps, MapFlags::empty());
    let img = image(hn * huge + 64 * ps);
    let regions = [
        Region::new(h.addr, h.len, huge, Source::Bytes(&img)),
        Region::new(b.addr, b.len, ps, Source::Bytes(&img)).offset((hn * huge) as u64),
    ];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .readahead(4 * huge)
        .fill(Policy::FILL_PIECE);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: fresh mappings read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    assert_eq!(pager.scratch_len(), huge);
    let (r, _) = with_workers(&pager, 2, || -> Result<(), String> {
        for i in [2, 0, 3, 1] {
            check_page(h.addr + i * huge, huge, Some((i * huge) as u64))?;
        }
        for i in 0..64 {
            check_page(b.addr + i * ps, ps, Some((hn * huge + i * ps) as u64))?;
        }
        // A huge page given back reads as zeros (copied from a zeroed scratch buffer: there
        // is no ZEROPAGE for hugetlb).
        madvise_dontneed(h.addr + huge, huge);
        check_page(h.addr + huge, huge, None)?;
        check_page(h.addr + 2 * huge, huge, Some((2 * huge) as u64))?;
        Ok(())
    });
    r.unwrap();
    let k = pager.counters();
    println!("{k:?}");
    assert_eq!(k.bytes_copied, (hn * huge + 64 * ps) as u64);
    assert_eq!(k.bytes_zeroed, huge as u64);
    assert_eq!(k.removes, 1);

    // A base-page region over hugetlb memory: registration says it is hugetlb.
    let m = anon(huge, MapFlags::MAP_HUGETLB);
    let regions = [Region::new(m.addr, huge, ps, Source::Zeros)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: as above.
    assert_eq!(
        unsafe { pager.register() },
        Err(PagerError::Config(ConfigError::PageSizeMismatch {
            region: 0,
            page_size: ps,
            hugetlb: true
        }))
    );

    // Zeros in huge pages are copied from the worker's scratch (no ZEROPAGE for hugetlb):
    // the fill's runs are capped by its one huge page.
    let z = anon(2 * huge, MapFlags::MAP_HUGETLB);
    let regions = [Region::new(z.addr, z.len, huge, Source::Zeros)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand().fill(2 * huge).exit_when_populated(true);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    // A scratch the caller left dirty: the pager zeroes it before copying zeros from it.
    let mut scratch = vec![0xa5u8; huge];
    let exit = run_then_unregister(&pager, &mut scratch);
    assert_eq!(exit, Ok(Exit::FullyPopulated));
    assert_eq!(pager.counters().bytes_zeroed, (2 * huge) as u64);
    for i in 0..2 {
        check_page(z.addr + i * huge, huge, None).unwrap();
    }

    // Hugetlb memory outside the table: a huge page registered on the same userfaultfd by
    // other code, which no region describes. Its fault gets zeros, copied from the worker's
    // (dirty) scratch, at the smallest region page size above the base one the kernel takes:
    // with a scratch of exactly one huge page and with a larger one. Exact fault addresses
    // (inside the huge page) where the kernel has them: the copy goes to the page's start.
    let exact = open(Features::MISSING_HUGETLBFS | Features::EXACT_ADDRESS);
    let u = exact.as_ref().unwrap_or(&u);
    let h2 = anon(huge, MapFlags::MAP_HUGETLB);
    let small = anon(4 * ps, MapFlags::empty());
    let regions = [
        Region::new(h2.addr, huge, huge, Source::Zeros),
        Region::new(small.addr, small.len, ps, Source::Zeros),
    ];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(u, &regions, st.storage(), Policy::demand()).unwrap();
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    for (round, scratch_len) in [huge, 2 * huge].into_iter().enumerate() {
        let g = anon(huge, MapFlags::MAP_HUGETLB);
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { u.register(g.addr, huge, uffd::flags::RegisterMode::MISSING) }.unwrap();
        let mut scratch = vec![0xa5u8; scratch_len];
        let mut w = pager.worker(&mut scratch).unwrap();
        let outside = pager.counters().outside;
        let grown = std::thread::scope(|s| {
            let t = s.spawn(|| {
                // First touch well inside the huge page.
                let at = g.addr + 3 * ps + 8;
                // SAFETY: a mapped test page, read through a raw pointer.
                let v = unsafe { (at as *const u64).read_volatile() };
                if v != 0 {
                    return Err(format!("{v:#x} at {at:#x}"));
                }
                check_page(g.addr, huge, None)
            });
            let start = std::time::Instant::now();
            while pager.counters().outside == outside && start.elapsed().as_secs() < 5 {
                u.poll(Some(std::time::Duration::from_millis(10))).unwrap();
                w.serve_pending().unwrap();
            }
            if pager.counters().outside == outside {
                release(u);
            }
            t.join().unwrap()
        });
        u.unregister(g.addr, huge).unwrap();
        grown.unwrap_or_else(|e| panic!("scratch of {scratch_len} bytes: {e}"));
        let k = pager.counters();
        let n = round as u64 + 1;
        assert_eq!((k.outside, k.bytes_zeroed), (n, n * huge as u64), "{k:?}");
    }
    pager.unregister().unwrap();

    // Zeros for a hugetlb region are copied from the scratch, which is zeroed once and then
    // known to be zero only if all of it was: one-page zero runs from a three-page (dirty)
    // scratch leave the rest dirty, and a later two-page run must zero it first.
    let z = anon(6 * huge, MapFlags::MAP_HUGETLB);
    let regions = [Region::new(z.addr, z.len, huge, Source::Zeros)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .readahead_from(huge, 4 * huge)
        .fill(2 * huge);
    let pager = Pager::new(u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let mut scratch = vec![0xa5u8; 3 * huge];
    let mut w = pager.worker(&mut scratch).unwrap();
    // Windows (capped at the scratch's 3 pages): 1 page at page 0, 2 at page 1 (one-page
    // runs so far), 3 at page 3: page 3, then pages 4 and 5 in one two-page run.
    for i in [0, 1, 3] {
        std::thread::scope(|s| {
            let t = s.spawn(|| check_page(z.addr + i * huge, huge, None));
            while !t.is_finished() {
                u.poll(Some(std::time::Duration::from_millis(10))).unwrap();
                w.serve_pending().unwrap();
            }
            t.join().unwrap().unwrap();
        });
    }
    assert_eq!(pager.remaining_pages(), 0, "{:?}", pager.counters());
    for i in 4..6 {
        check_page(z.addr + i * huge, huge, None).unwrap();
    }
    pager.unregister().unwrap();

    // MINOR on a hugetlbfs memfd: the data is in its page cache, the answer is CONTINUE.
    // The kernel asked directly (not the crate's account of it).
    let raw = suite::truth::offered().expect("raw UFFDIO_API");
    if raw & Features::MINOR_HUGETLBFS.bits() == 0 {
        return println!("SKIP (minor part): the raw UFFDIO_API lacks MINOR_HUGETLBFS");
    }
    let u2 = open(Features::MINOR_HUGETLBFS).unwrap();
    let file = memfd(c"pager-huge", MFD_HUGETLB);
    file.set_len((2 * huge) as u64).unwrap();
    let (writer, reader) = (map_shared(&file, 2 * huge), map_shared(&file, 2 * huge));
    let data = image(2 * huge);
    // SAFETY: the writer mapping is 2 huge pages, not registered, nothing refers to it.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), writer.addr as *mut u8, data.len()) };
    let regions = [Region::new(reader.addr, reader.len, huge, Source::Continue)];
    let mut st = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&u2, &regions, st.storage(), Policy::demand()).unwrap();
    // CONTINUE needs no scratch, not even for huge pages.
    assert_eq!(pager.scratch_len(), 0);
    // SAFETY: as above.
    unsafe { pager.register() }.unwrap();
    let (r, _) = with_workers(&pager, 1, || -> Result<(), String> {
        check_page(reader.addr + huge, huge, Some(huge as u64))?;
        check_page(reader.addr, huge, Some(0))
    });
    r.unwrap();
    assert_eq!(pager.counters().bytes_continued, (2 * huge) as u64);
    let _ = file.as_raw_fd();
}
