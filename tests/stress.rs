//! A port of the kernel's `tools/testing/selftests/mm/uffd-stress.c` (anonymous memory):
//! per CPU a locking thread taking a spinlock and bumping a counter that live *inside* the
//! registered pages; a fault handler (blocking `read` on even bounces, `O_NONBLOCK` + `poll`
//! on odd ones) and a background copier racing it (EEXIST handled: wake instead); bounces
//! move the data between two areas (the destination is zapped and registered MISSING, every
//! page is pulled over by a fault or the copier), write-protect on for the second half of the
//! bounces (copies with `MODE_WP`, WP faults resolved by un-protecting). After every bounce
//! each page's counter and fill pattern are checked.
//!
//! Short by default (`cargo test`); `UFFD_STRESS_BYTES` (set by `cargo xtask stress
//! --bytes N`) sizes the long run. Prints the totals; fails on any page lost or corrupted.

// The counters are 64-bit atomics: targets without them (32-bit powerpc) build no stress test.
#![cfg(target_has_atomic = "64")]
#![allow(clippy::result_large_err)]

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use common::{created, raw_has_userfaultfd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};
use suite::rt;
use uffd::flags::*;
use uffd::{Builder, Call, Error, Event, OpenStrategy, Uffd};

struct Area(rt::Map);

#[derive(Default, Debug)]
struct Totals {
    bounces: u64,
    bytes: u64,
    faults: AtomicU64,
    wp_faults: AtomicU64,
    copier_copies: AtomicU64,
    eexist: AtomicU64,
    lock_ops: AtomicU64,
    lost: u64,
    corrupted: u64,
}

const LOCK: usize = 0; // AtomicU32
const COUNTER: usize = 8; // u64
const PATTERN: usize = 16; // bytes 16.. = pattern(page, offset)
/// The bytes between the lock and the counter carry the pattern too: every byte of a page is
/// checked (lock, counter, and these by value).
const GAP: core::ops::Range<usize> = 4..8;

/// The byte at `off` of page `page`: a 64-bit mix (splitmix64's finaliser) of both, so no
/// two pages share a pattern (the old `page * 31 ^ i * 7` repeated every 256 pages).
fn pattern(page: usize, off: usize) -> u8 {
    let mut x = ((page as u64) << 32) ^ off as u64 ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)) as u8
}

/// The page offsets that carry the pattern.
fn patterned(ps: usize) -> impl Iterator<Item = usize> {
    GAP.chain(PATTERN..ps)
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Resolves one page: COPY from the source (EEXIST: the copier won, wake instead).
fn copy_page(u: &Uffd, dst: usize, src: usize, ps: usize, wp: bool, t: &Totals) {
    let mode = if wp { CopyMode::WP } else { CopyMode::empty() };
    // SAFETY: `src` is a page of the bounce's source area: mapped, not registered, and
    // written by no thread during the bounce (the lockers work on the destination).
    let src = unsafe { std::slice::from_raw_parts(src as *const u8, ps) };
    match u.copy(dst, src, mode) {
        Ok(()) => {}
        Err(Error::Exists { call: Call::Copy }) => {
            t.eexist.fetch_add(1, Relaxed);
            u.wake(dst, ps).expect("wake after EEXIST");
        }
        Err(e) => panic!("copy {dst:#x}: {e}"),
    }
}

fn handle(u: &Uffd, ev: Event, src: usize, dst: usize, ps: usize, wp: bool, t: &Totals) {
    match ev {
        Event::Pagefault { flags, address, .. } => {
            let page = address & !(ps - 1);
            if flags.contains(PagefaultFlags::WP) {
                t.wp_faults.fetch_add(1, Relaxed);
                u.writeprotect(page, ps, WriteprotectMode::empty())
                    .expect("un-writeprotect");
            } else {
                t.faults.fetch_add(1, Relaxed);
                copy_page(u, page, src + (page - dst), ps, wp, t);
            }
        }
        e => panic!("unexpected event {e:?}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn bounce(
    u: &Uffd,
    poll: bool,
    src: usize,
    dst: usize,
    npages: usize,
    ps: usize,
    wp: bool,
    expected: &[AtomicU64],
    t: &Totals,
    seed: u64,
) {
    let len = npages * ps;
    let mut mode = RegisterMode::MISSING;
    if wp {
        mode |= RegisterMode::WP;
    }
    // SAFETY: the destination area is an mmap that only the threads below touch: through raw
    // pointers, and through short-lived `&AtomicU32`s made from them, whose contents may change
    // under a shared borrow anyway (a fill of a missing page, or a blocked access until the
    // handler resolves it, is nothing an atomic relies on not happening).
    unsafe { u.register(dst, len, mode) }.expect("register");
    let sentinel = npages - 1; // touched only by the main thread, never by the copier
    let lockers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let ops = (2 * npages / lockers).max(64);
    std::thread::scope(|s| {
        // Fault handler: runs until it has resolved the sentinel page, which only the main
        // thread touches, after every locker is done.
        s.spawn(move || {
            let mut buf = [uffd::abi::uffd_msg::zeroed(); 16];
            let last = dst + sentinel * ps;
            loop {
                if poll && !u.poll(Some(Duration::from_millis(10))).expect("poll") {
                    continue;
                }
                let Some(evs) = u.read_events(&mut buf).expect("read") else {
                    continue;
                };
                let mut done = false;
                for ev in evs {
                    let ev = ev.expect("decode");
                    if let Event::Pagefault { address, .. } = ev {
                        done |= address & !(ps - 1) == last;
                    }
                    handle(u, ev, src, dst, ps, wp, t);
                }
                if done {
                    return;
                }
            }
        });
        // Background copier racing the handler.
        s.spawn(move || {
            for i in 0..sentinel {
                copy_page(u, dst + i * ps, src + i * ps, ps, wp, t);
                t.copier_copies.fetch_add(1, Relaxed);
            }
        });
        // Lockers.
        let mut joins = Vec::new();
        for l in 0..lockers {
            joins.push(s.spawn(move || {
                let mut r = seed ^ (l as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                for _ in 0..ops {
                    let page = (xorshift(&mut r) as usize) % sentinel;
                    let p = dst + page * ps;
                    // SAFETY: `p` is in the mapped destination area; the lock word and the
                    // counter are only touched through these atomics / under the lock.
                    let lock = unsafe { &*((p + LOCK) as *const AtomicU32) };
                    while lock.compare_exchange_weak(0, 1, Acquire, Relaxed).is_err() {
                        std::hint::spin_loop();
                    }
                    // SAFETY: under the page's lock.
                    unsafe {
                        let c = (p + COUNTER) as *mut u64;
                        c.write_volatile(c.read_volatile() + 1);
                    }
                    expected[page].fetch_add(1, Relaxed);
                    lock.store(0, Release);
                    t.lock_ops.fetch_add(1, Relaxed);
                }
            }));
        }
        for j in joins {
            j.join().unwrap();
        }
        // The handler's last job: a fault on the sentinel page.
        // SAFETY: reading the mapped destination area.
        let _ = unsafe { ((dst + sentinel * ps + PATTERN) as *const u8).read_volatile() };
    });
    u.unregister(dst, len).expect("unregister");
}

fn verify(dst: usize, npages: usize, ps: usize, expected: &[AtomicU64], t: &mut Totals) {
    for (page, want) in expected.iter().enumerate().take(npages) {
        let p = dst + page * ps;
        // SAFETY: the area is mapped and no thread touches it any more.
        let (lock, counter) = unsafe {
            (
                ((p + LOCK) as *const u32).read_volatile(),
                ((p + COUNTER) as *const u64).read_volatile(),
            )
        };
        if lock != 0 || counter != want.load(Relaxed) {
            t.lost += 1;
            eprintln!(
                "page {page}: lock {lock} counter {counter}, want {}",
                want.load(Relaxed)
            );
        }
        // SAFETY: as above.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, ps) };
        if patterned(ps).any(|off| bytes[off] != pattern(page, off)) {
            t.corrupted += 1;
            eprintln!("page {page}: pattern corrupted");
        }
    }
}

fn stress(npages: usize, bounces: u64) -> Option<Totals> {
    let ps = uffd::sys::page_size().unwrap();
    let b = Builder::new().open_strategy(OpenStrategy::SyscallOnly);
    if !raw_has_userfaultfd("stress") {
        return None;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let blocking = created("stress", unsafe { b.create() })?;
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let polling = unsafe { b.non_blocking(true).create() }.unwrap();
    let wp_ok = blocking
        .available_features()
        .contains(Features::PAGEFAULT_FLAG_WP);
    let len = npages * ps;
    let mut a = Area(rt::anon(len).unwrap());
    let mut z = Area(rt::anon(len).unwrap());
    for page in 0..npages {
        for off in patterned(ps) {
            a.0.write(page * ps + off, pattern(page, off));
        }
    }
    let expected: Vec<AtomicU64> = (0..npages).map(|_| AtomicU64::new(0)).collect();
    let mut t = Totals::default();
    for n in 0..bounces {
        let wp = wp_ok && n >= bounces / 2;
        let u = if n % 2 == 0 { &blocking } else { &polling };
        let (src, dst) = (a.0.addr, z.0.addr);
        bounce(
            u,
            n % 2 == 1,
            src,
            dst,
            npages,
            ps,
            wp,
            &expected,
            &t,
            n + 1,
        );
        verify(dst, npages, ps, &expected, &mut t);
        // The old source becomes the next destination: zapped, all missing.
        rt::madvise(src, len, rt::MADV_DONTNEED).unwrap();
        std::mem::swap(&mut a, &mut z);
        t.bounces += 1;
        t.bytes += len as u64;
    }
    if wp_ok {
        assert!(
            t.wp_faults.load(Relaxed) > 0,
            "write-protect half ran ({} bounces) without a single WP fault",
            bounces - bounces / 2
        );
    } else {
        // Only if the raw handshake agrees the kernel lacks it.
        let raw = suite::truth::offered().expect("raw UFFDIO_API");
        assert_eq!(
            raw & Features::PAGEFAULT_FLAG_WP.bits(),
            0,
            "crate says no PAGEFAULT_FLAG_WP, raw UFFDIO_API offers {raw:#x}"
        );
        println!("note: no UFFD_FEATURE_PAGEFAULT_FLAG_WP: write-protect half skipped");
    }
    Some(t)
}

#[test]
fn uffd_stress() {
    let bytes: u64 = std::env::var("UFFD_STRESS_BYTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64 << 20);
    let ps = uffd::sys::page_size().unwrap() as u64;
    let npages: usize = std::env::var("UFFD_STRESS_PAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let bounces = (bytes / (npages as u64 * ps)).max(2);
    let started = Instant::now();
    let Some(t) = stress(npages, bounces) else {
        return;
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "uffd-stress: {} bounces of {} pages, {} MiB bounced in {secs:.1} s; faults {} (WP {}), \
         copier copies {}, EEXIST {}, lock ops {}; lost {}, corrupted {}",
        t.bounces,
        npages,
        t.bytes >> 20,
        t.faults.load(Relaxed),
        t.wp_faults.load(Relaxed),
        t.copier_copies.load(Relaxed),
        t.eexist.load(Relaxed),
        t.lock_ops.load(Relaxed),
        t.lost,
        t.corrupted
    );
    assert_eq!((t.lost, t.corrupted), (0, 0));
}
