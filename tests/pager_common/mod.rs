//! What the pager's std tests share (`tests/pager.rs`, `tests/pager_readahead.rs`,
//! `tests/pager_faults.rs`): one test at a time, the userfaultfd they serve, the test source,
//! test mappings and page checks, running workers around a body, and the release that keeps a
//! broken pager from hanging a test. Included as `mod pager_common;` next to `mod common;`.

use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use uffd::flags::Features;
use uffd::pager::{Exit, PageSource, Pager, Region, Source, Stop};
use uffd::Uffd;

/// One test at a time: forks (a FORK case must not see other tests' forks), CPU pinning,
/// timing, global settings (`vm.nr_hugepages`).
static ONE: Mutex<()> = Mutex::new(());

/// A test's turn: the lock, and its deadline ([`crate::common::Deadline`]), until dropped.
pub struct Serial {
    _one: MutexGuard<'static, ()>,
    _deadline: crate::common::Deadline,
}

/// Waits for the test's turn and arms its deadline.
pub fn serial() -> Serial {
    Serial {
        _one: ONE.lock().unwrap_or_else(|e| e.into_inner()),
        _deadline: crate::common::Deadline::arm(),
    }
}

/// A non-blocking, user-mode-only userfaultfd requiring `features`, or `None` (and why)
/// where the kernel has none.
pub fn open(features: Features) -> Option<Uffd> {
    crate::common::create(
        "open",
        Uffd::builder()
            .non_blocking(true)
            .user_mode_only(true)
            .require(features),
    )
}

/// The expected word at byte `off` of the test source (never zero).
pub fn word(off: u64) -> u64 {
    (off | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5a5a
}

/// Fills `buf` with the test source's bytes from offset `off` (a callback source's body).
pub fn fill_words(off: u64, buf: &mut [u8]) {
    for (i, w) in buf.chunks_mut(8).enumerate() {
        w.copy_from_slice(&word(off + 8 * i as u64).to_ne_bytes());
    }
}

/// One region of base pages `[addr, addr + len)`, served by the callback `source`.
pub fn callback_region(addr: usize, len: usize, ps: usize, source: &dyn PageSource) -> Region<'_> {
    Region::new(
        addr,
        len,
        ps,
        Source::Callback {
            source,
            len: len as u64,
        },
    )
}

/// A source of `len` bytes whose words are `word(offset)`.
pub fn image(len: usize) -> Vec<u8> {
    (0..len / 8)
        .flat_map(|i| word(i as u64 * 8).to_ne_bytes())
        .collect()
}

/// Unregisters every mapping of this process from `u`, so that threads blocked on faults no
/// worker serves any more get the kernel's own handling: a broken pager then fails a test on
/// contents instead of hanging it.
pub fn release(u: &Uffd) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    for l in maps.lines() {
        let Some((a, b)) = l.split_once(' ').and_then(|(r, _)| r.split_once('-')) else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
            let _ = u.unregister(a, b - a);
        }
    }
}

/// An anonymous private mapping, unmapped on drop (unless forgotten).
pub struct Area {
    pub addr: usize,
    pub len: usize,
}

pub fn anon(len: usize, flags: MapFlags) -> Area {
    // SAFETY: a fresh mapping, referred to by no Rust value.
    let p = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE | flags,
        )
    }
    .expect("mmap");
    Area {
        addr: p.as_ptr() as usize,
        len,
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: test memory only ever accessed through raw pointers.
            let _ = unsafe { munmap(NonNull::new(self.addr as *mut _).unwrap(), self.len) };
        }
    }
}

/// Reads every word of the page at `addr` (faulting it in) and checks it against
/// `word(src_off + i)`, or zero.
pub fn check_page(addr: usize, page: usize, src_off: Option<u64>) -> Result<(), String> {
    for i in (0..page).step_by(8) {
        // SAFETY: `addr..addr+page` is a mapped test page, read through a raw pointer.
        let got = unsafe { ((addr + i) as *const u64).read_volatile() };
        let want = src_off.map_or(0, |o| word(o + i as u64));
        if got != want {
            return Err(format!(
                "page {addr:#x} word {i:#x}: {got:#x}, want {want:#x}"
            ));
        }
    }
    Ok(())
}

/// A permutation of `0..n` (xorshift, fixed seed).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x = seed | 1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// `mincore(2)`: how many pages of the range are resident.
pub fn resident(addr: usize, len: usize, page: usize) -> usize {
    let mut v = vec![0u8; len / page];
    // SAFETY: mincore writes one byte per page into `v`, which has that many.
    unsafe {
        uffd::sys::raw::syscall3(uffd::sys::__NR_mincore, addr, len, v.as_mut_ptr() as usize)
    }
    .expect("mincore");
    v.iter().filter(|&&b| b & 1 != 0).count()
}

pub fn madvise_dontneed(addr: usize, len: usize) {
    // SAFETY: test memory read only through raw pointers.
    unsafe {
        nix::sys::mman::madvise(
            NonNull::new(addr as *mut _).unwrap(),
            len,
            nix::sys::mman::MmapAdvise::MADV_DONTNEED,
        )
    }
    .expect("madvise");
}

/// Runs `workers` workers of `pager` while `body` runs, then stops them; returns their exits.
/// A worker that ends early (an error) releases the faulting threads ([`release`]).
pub fn with_workers<R>(
    pager: &Pager<'_>,
    workers: usize,
    body: impl FnOnce() -> R,
) -> (R, Vec<Exit>) {
    use std::sync::atomic::{AtomicBool, Ordering::*};
    let stop = Stop::new().expect("pipe");
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let hs = pager.spawn(s, workers, &stop, None);
        let r = std::thread::scope(|w| {
            w.spawn(|| {
                while !done.load(Acquire) {
                    let _ = hs.wait_any(Some(std::time::Duration::from_millis(5)));
                    if hs.ended() > 0 {
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
        let exits = hs
            .into_handles()
            .into_iter()
            .map(|h| h.join().expect("worker panicked").expect("worker"))
            .collect();
        (r, exits)
    })
}
