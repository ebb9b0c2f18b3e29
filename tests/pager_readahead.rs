//! The pager's readahead on the host kernel, with threads (`--features std`): windows that
//! grow on sequential faults and reset on random ones, step by step; in one piece or in
//! shared pieces depending on whether the worker was preempted; and faults first: a fault
//! outside a window, waiting before or arriving between its pieces, ends it.
// The pager needs 64-bit atomics (not on powerpc32).
#![cfg(target_has_atomic = "64")]

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod pager_common;
#[allow(unused_macros, unused_imports)]
mod suite;

use pager_common::{
    anon, callback_region, check_page, fill_words, image, madvise_dontneed, open, resident, serial,
    shuffled, with_workers,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use nix::sys::mman::MapFlags;
use nix::sys::resource::{getrusage, UsageWho};
use uffd::flags::Features;
use uffd::pager::{Counters, OwnedStorage, Pager, Policy, Region, Source, SourceError};

#[test]
fn readahead_grows_on_sequential_and_resets_on_random() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 2048;
    let img = image(n * ps);
    let max = 64 * ps;
    for sequential in [true, false] {
        let a = anon(n * ps, MapFlags::empty());
        let regions = [Region::new(a.addr, a.len, ps, Source::Bytes(&img))];
        let mut st = OwnedStorage::new(&regions, 0);
        let pager =
            Pager::new(&u, &regions, st.storage(), Policy::demand().readahead(max)).unwrap();
        // SAFETY: a fresh mapping read only through raw pointers.
        unsafe { pager.register() }.unwrap();
        let order: Vec<usize> = if sequential {
            (0..n).collect()
        } else {
            shuffled(n, 3)[..n / 4].to_vec()
        };
        let (r, _) = with_workers(&pager, 1, || -> Result<(), String> {
            for &i in &order {
                check_page(a.addr + i * ps, ps, Some((i * ps) as u64))?;
            }
            Ok(())
        });
        r.unwrap();
        let k = pager.counters();
        println!("sequential {sequential}: {k:?}");
        // A fault read while a window was placing its page finds it there (`exists`: woken,
        // nothing copied); every other fault copies its page.
        let copying = k.faults - k.exists;
        assert_eq!(k.bytes_copied, (copying + k.readahead_pages) * ps as u64);
        if sequential {
            // Windows 1, 2, 4, .. 64 pages: 6 faults to ramp up, then one per 64 pages.
            assert!(copying <= 6 + (n / 64) as u64 + 1, "{k:?}");
            assert!(k.readahead_hits >= copying - 1, "{k:?}");
            assert_eq!(copying + k.readahead_pages, n as u64);
        } else {
            // Random faults reset the window to one page: few extra pages.
            assert!(k.faults >= order.len() as u64 * 3 / 4, "{k:?}");
            assert!(k.readahead_hits < k.faults / 4, "{k:?}");
        }
    }
}

/// This thread's involuntary context switches so far, as the C library reads them.
#[allow(clippy::useless_conversion)] // `c_long` is i32 on 32-bit ABIs
fn involuntary_switches() -> i64 {
    getrusage(UsageWho::RUSAGE_THREAD)
        .unwrap()
        .involuntary_context_switches()
        .into()
}

/// The readahead window, step by step (one worker driven by hand, so each fault is served
/// before the next): a fault that does not continue a run gets the initial window (2 pages),
/// each fault where the last window ended doubles it up to the maximum (8 pages); the pages
/// after the faulting one are placed in one piece when the worker was not preempted since it
/// last looked (`Counters::readahead_whole`; always so when this thread, the worker, saw no
/// involuntary context switch from the start of the previous call on), else in pieces of at
/// most the shared piece (2 pages): one source call each. A page dropped behind the pager's back
/// (`MADV_DONTNEED` with no `EVENT_REMOVE`) that the bitmap still calls populated faults like
/// any other, and its window covers the missing pages after it.
#[test]
fn readahead_windows_step_by_step() {
    let _g = serial();
    let Some(u) = open(Features::empty()) else {
        return;
    };
    let ps = u.page_size();
    let n = 256;
    let a = anon(n * ps, MapFlags::empty());
    let calls = AtomicUsize::new(0);
    let src = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        calls.fetch_add(1, SeqCst);
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(a.addr, a.len, ps, &src)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .readahead_from(2 * ps, 8 * ps)
        .fill(4 * ps)
        .shared_piece(2 * ps);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    // Room for twice the largest window: the windows, not the scratch, cap the runs.
    let mut scratch = vec![0u8; 16 * ps];
    // The worker compares its switch count with its last look (made first when it is made):
    // from then on this thread's own count brackets each interval.
    let mut since = involuntary_switches();
    let mut w = pager.worker(&mut scratch).unwrap();
    let window = a.addr + 100 * ps;
    // (page touched, pages resident from page 100 on after it, shared-sized pieces after the
    // faulting page); returns (pages resident, source calls) and checks how the rest went.
    let mut touch = |page: usize, pieces: usize| {
        calls.store(0, SeqCst);
        let whole_before = pager.counters().readahead_whole;
        let switches = involuntary_switches();
        std::thread::scope(|s| {
            let t = s.spawn(|| check_page(a.addr + page * ps, ps, Some((page * ps) as u64)));
            assert!(u.poll(Some(std::time::Duration::from_secs(5))).unwrap());
            assert_eq!(w.serve_pending(), Ok(1));
            t.join().unwrap().unwrap();
        });
        // The look before this window was made during the previous call (or when the
        // worker was made), the one now during this call: both inside `since..now`.
        let undisturbed = involuntary_switches() == since;
        since = switches;
        let whole = pager.counters().readahead_whole - whole_before;
        assert!(
            whole <= 1 && (whole == 1 || !undisturbed),
            "page {page}: whole {whole}"
        );
        let rest_calls = if whole == 1 { 1 } else { pieces };
        let placed = (resident(window, 50 * ps, ps), calls.load(SeqCst));
        (placed.0, placed.1 - rest_calls)
    };
    for (page, pages, pieces) in [(100, 2, 1), (102, 6, 2), (106, 14, 4), (114, 22, 4)] {
        // One call for the faulting page, the rest as counted above.
        assert_eq!(touch(page, pieces), (pages, 1), "after page {page}");
        // Every page placed is marked (the bitmap is what later windows and the fill read).
        assert_eq!(pager.remaining_pages(), n - pages, "after page {page}");
    }
    // Pages 110..130 dropped silently: 110..122 are still populated in the bitmap.
    madvise_dontneed(a.addr + 110 * ps, 20 * ps);
    assert_eq!(resident(window, 50 * ps, ps), 10);
    // Page 121 continues the run: 8 pages, 121 and the 7 missing after it.
    assert_eq!(touch(121, 4), (18, 1));
    for i in 121..129 {
        check_page(a.addr + i * ps, ps, Some((i * ps) as u64)).unwrap();
    }
    pager.unregister().unwrap();
}

/// A worker preempted since its last look (here: while it places the faulting page, spinning
/// in the source callback pinned to one CPU beside a spinning thread until the kernel counts
/// an involuntary switch) places the window after it in pieces of the shared piece, not in
/// one: the woken thread may share its CPU and runs after each piece.
#[test]
fn readahead_window_in_pieces_when_the_worker_was_preempted() {
    let _g = serial();
    let Some((c, r, calls)) = faults_during_a_window(&[], 0, true) else {
        return;
    };
    // The page, then 7 pages in pieces of 2: 4 more calls; nothing counted as whole.
    assert_eq!(calls, 5);
    assert_eq!(c.readahead_whole, 0);
    assert_eq!(count(&r, 0..64), 8);
}

/// Pins this thread to CPU 0 beside a thread that spins there until the returned guard is
/// dropped (also when a test panics, so its scope can end).
fn spin_beside<'s>(s: &'s std::thread::Scope<'s, '_>, spin: &'s AtomicBool) -> impl Drop + 's {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(false, SeqCst);
        }
    }
    let mut cpu0 = CpuSet::new();
    cpu0.set(0).unwrap();
    sched_setaffinity(Pid::from_raw(0), &cpu0).unwrap();
    spin.store(true, SeqCst);
    s.spawn(move || {
        sched_setaffinity(Pid::from_raw(0), &cpu0).unwrap();
        while spin.load(SeqCst) {
            std::hint::spin_loop();
        }
    });
    Stop(spin)
}

/// Spins until this thread is preempted (the kernel counts an involuntary switch).
fn until_preempted() {
    let (before, t0) = (involuntary_switches(), std::time::Instant::now());
    while involuntary_switches() == before {
        assert!(t0.elapsed().as_secs() < 10, "never preempted");
    }
}

/// Threads fault: the first at page 10 (window 11..18), then one thread per page of `others`,
/// in order, once the source callback has been called `signal_at` times (the worker waits
/// there until the first of them is pending, and 50 ms for each later one, so they queue in
/// that order before that piece is placed). With `preempt`, the callback of page 10 also
/// waits until the worker's thread is preempted (it spins pinned to CPU 0 beside a spinner).
/// Returns the counters, which of the 64 pages are resident, and the source calls.
fn faults_during_a_window(
    others: &[usize],
    signal_at: usize,
    preempt: bool,
) -> Option<(Counters, Vec<bool>, usize)> {
    let u = open(Features::empty())?;
    let ps = u.page_size();
    let n = 64;
    let a = anon(n * ps, MapFlags::empty());
    let calls = AtomicUsize::new(0);
    let turn = AtomicUsize::new(usize::MAX);
    let src = |off: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        let call = calls.fetch_add(1, SeqCst) + 1;
        if call == 1 && preempt {
            until_preempted();
        }
        if call == signal_at {
            for k in 0..others.len() {
                turn.store(k, SeqCst);
                if k == 0 {
                    assert!(u.poll(Some(std::time::Duration::from_secs(5))).unwrap());
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
        }
        fill_words(off, buf);
        Ok(())
    };
    let regions = [callback_region(a.addr, a.len, ps, &src)];
    let mut st = OwnedStorage::new(&regions, 0);
    let policy = Policy::demand()
        .readahead_from(8 * ps, 8 * ps)
        .fill(4 * ps)
        .shared_piece(2 * ps);
    let pager = Pager::new(&u, &regions, st.storage(), policy).unwrap();
    // SAFETY: a fresh mapping read only through raw pointers.
    unsafe { pager.register() }.unwrap();
    let mut scratch = vec![0u8; 16 * ps];
    let mut w = pager.worker(&mut scratch).unwrap();
    let spin = AtomicBool::new(false);
    std::thread::scope(|s| {
        let spinning = preempt.then(|| spin_beside(s, &spin));
        let mut ts = vec![s.spawn(|| check_page(a.addr + 10 * ps, ps, Some((10 * ps) as u64)))];
        for (k, &page) in others.iter().enumerate() {
            let turn = &turn;
            ts.push(s.spawn(move || {
                while turn.load(SeqCst) != k {
                    std::thread::yield_now();
                }
                check_page(a.addr + page * ps, ps, Some((page * ps) as u64))
            }));
        }
        // Until every thread's fault is served (one that came after the window's last look
        // is read by the next call).
        let mut served = 0;
        while served < 1 + others.len() {
            assert!(u.poll(Some(std::time::Duration::from_secs(5))).unwrap());
            served += w.serve_pending().unwrap();
        }
        drop(spinning);
        assert_eq!(served, 1 + others.len());
        for t in ts {
            t.join().unwrap().unwrap();
        }
    });
    let got = (
        pager.counters(),
        (0..n)
            .map(|i| resident(a.addr + i * ps, ps, ps) == 1)
            .collect(),
        calls.load(SeqCst),
    );
    pager.unregister().unwrap();
    Some(got)
}

/// How many of `pages` are resident.
fn count(resident: &[bool], pages: std::ops::Range<usize>) -> usize {
    resident[pages].iter().filter(|&&r| r).count()
}

/// Faults first: a fault outside the window (after it, or before it), waiting when the window
/// would start, ends it before its first page (`Counters::readahead_cut`), preempted or not;
/// it is served next, with its own window.
#[test]
fn readahead_window_gives_way_to_a_fault_already_waiting() {
    let _g = serial();
    for (other, its_window) in [(40, 40..48), (5, 5..10)] {
        let Some((c, r, _)) = faults_during_a_window(&[other], 1, false) else {
            return;
        };
        assert_eq!(c.readahead_cut, 1, "fault at {other}");
        assert_eq!(count(&r, 11..18), 0, "fault at {other}");
        // Its window stops at page 10 (present) when it comes before it.
        assert_eq!(
            count(&r, its_window.clone()),
            its_window.len(),
            "fault at {other}"
        );
        assert_eq!(c.readahead_pages as usize, its_window.len() - 1);
    }
}

/// A fault inside the window (a sequential thread ahead of the pieces, page 11 or 13) does
/// not end it: the window places it. One outside queued behind it (page 40) does, whichever of the
/// queued faults is outside.
#[test]
fn readahead_window_gives_way_only_to_faults_outside_it() {
    let _g = serial();
    // The window's first page, one further in, and both queued.
    for inside in [&[11][..], &[13], &[11, 13]] {
        let Some((c, r, _)) = faults_during_a_window(inside, 1, false) else {
            return;
        };
        assert_eq!(c.readahead_cut, 0, "faults at {inside:?}");
        assert_eq!(count(&r, 10..18), 8, "faults at {inside:?}");
    }
    let Some((c, r, _)) = faults_during_a_window(&[13, 40], 1, false) else {
        return;
    };
    assert!(c.readahead_cut >= 1);
    // Page 11 was never placed: the window of page 10 did not start, page 13's starts at 14.
    assert!(!r[11]);
    assert!(r[10] && r[13] && r[40]);
}

/// A worker preempted since it last looked places a window in shared pieces and looks for
/// faults before each: one outside the window that arrives during the first piece ends the
/// window after that piece (2 pages), and is served next.
#[test]
fn readahead_window_in_pieces_gives_way_to_a_fault_between_them() {
    let _g = serial();
    let Some((c, r, _)) = faults_during_a_window(&[40], 2, true) else {
        return;
    };
    assert_eq!(c.readahead_cut, 1);
    assert_eq!((count(&r, 11..18), count(&r, 40..48)), (2, 8));
    // The first window's 2 pages, then page 40's (in one piece or in pieces: whether this
    // thread was preempted again decides).
    assert_eq!(c.readahead_pages, 2 + 7);
    // A fault that arrives during the last piece (the fifth source call: pages 17) finds the
    // window done: nothing is cut, it is served after.
    let Some((c, r, _)) = faults_during_a_window(&[40], 5, true) else {
        return;
    };
    assert_eq!(c.readahead_cut, 0);
    assert_eq!((count(&r, 11..18), count(&r, 40..48)), (7, 8));
}
