//! The pager under a randomized storm, as a VMM would stress it: per seed, 1–3 regions served
//! from a snapshot by 1–2 workers (readahead and a background fill of 4–128 KiB pieces or
//! none; every thread pinned to one CPU or free), while 2–4 toucher threads verify whole
//! pages against a model of what each should hold and one chaos thread changes the memory
//! under them: `MADV_DONTNEED`/`MADV_FREE`, full-page writes, `mremap` moves, shrinks,
//! moves that grow the mapping and moves with `MREMAP_DONTUNMAP` (both leave registered
//! memory the pager's table does not cover, to be read as zeros), `munmap`, `mprotect` splits, and `fork` with a child process whose pager (fed by the FORK
//! event) serves the child while it verifies pages and gives one back. A final pass verifies
//! every live page; a worker that ends early, a wrong page, a child that does not exit within
//! 8 s, or no progress for the watchdog's time fails the seed with a diagnosis (the last
//! operations, the pager's counters, each thread's kernel state).
//!
//! Short by default (`cargo test`); `cargo xtask storm --seeds N --from S --ops K` runs the
//! long one (release mode). Environment: `UFFD_STORM_SEEDS`, `UFFD_STORM_FROM`,
//! `UFFD_STORM_OPS`, `UFFD_STORM_WATCHDOG` (seconds).
#![cfg(all(target_has_atomic = "64", target_pointer_width = "64"))]

#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod model;
#[allow(unused_macros, unused_imports)]
#[path = "../suite/mod.rs"]
mod suite;
mod watch;

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use model::{data_word, src_word, Content, Model, Rng, Want};
use nix::sys::mman::{self, MRemapFlags, MapFlags, MmapAdvise, ProtFlags};
use uffd::flags::Features;
use uffd::pager::{Counters, Exit, OwnedStorage, Pager, Policy, Region, Source, Stop};
use uffd::{Error, Uffd};

extern "C" {
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn kill(pid: i32, sig: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
}

/// One seed's configuration, drawn from the seed.
#[derive(Clone, Debug)]
pub struct Cfg {
    pub seed: u64,
    /// Pages per region.
    pub regions: Vec<usize>,
    pub workers: usize,
    /// Background fill piece in pages.
    pub fill: Option<usize>,
    /// Readahead window in pages.
    pub readahead: Option<usize>,
    pub pinned: bool,
    pub touchers: usize,
    pub ops: usize,
    pub forks: bool,
    /// The regions' source is a callback that takes this long per call (µs), as a
    /// decompressing or fetching source would; `None`: the snapshot's bytes directly.
    pub slow: Option<u64>,
}

impl Cfg {
    fn draw(seed: u64, ops: usize) -> Self {
        let mut r = Rng::new(seed);
        let regions = (0..r.range(1, 3)).map(|_| r.range(32, 512)).collect();
        Cfg {
            seed,
            regions,
            workers: r.range(1, 2),
            fill: r.chance(75).then(|| [1, 4, 16, 32][r.below(4)]),
            readahead: r.chance(50).then(|| r.range(2, 16)),
            pinned: r.chance(50),
            touchers: r.range(2, 4),
            ops,
            forks: r.chance(60),
            slow: r.chance(50).then(|| r.range(5, 60) as u64),
        }
    }
}

/// What one seed did.
#[derive(Default, Debug)]
struct Totals {
    ops: u64,
    pages_verified: u64,
    forks: u64,
    counters: Counters,
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Everything the threads of one seed share.
pub struct Shared {
    /// The model; held only to pick pages and to change them (with their stripes).
    pub model: Mutex<Model>,
    /// Page locks by stripe (`stripe`): a toucher holds its page's while reading it (a
    /// fault may keep it waiting), the chaos thread those of the pages it changes. So chaos
    /// goes on beside touchers blocked in faults elsewhere, as in a real program.
    pub stripes: Vec<RwLock<()>>,
    pub progress: AtomicU64,
    pub verified: AtomicU64,
    pub quit: AtomicBool,
    /// The seed is over (the watchdog stops).
    pub done: AtomicBool,
    pub failure: Mutex<Option<String>>,
    /// The last operations, newest last.
    pub log: Mutex<VecDeque<String>>,
    pub ps: usize,
    pub lo: usize,
    pub hi: AtomicU64,
    /// Where the touchers crowd and chaos strikes often: several threads faulting on one
    /// page, served by different workers, then the page unmapped or moved at once, is how
    /// a fault still queued in one worker goes stale.
    pub hot: AtomicU64,
}

impl Shared {
    pub fn fail(&self, why: String) {
        self.failure.lock().unwrap().get_or_insert(why);
        self.quit.store(true, Release);
    }
    fn note(&self, op: String) {
        let mut l = self.log.lock().unwrap();
        if l.len() == 40 {
            l.pop_front();
        }
        l.push_back(op);
        self.progress.fetch_add(1, Relaxed);
    }
}

fn pin(cpus: u64) {
    // SAFETY: reads one u64 of CPU mask.
    unsafe { sched_setaffinity(0, 8, &cpus) };
}

const ARENA: usize = 4 << 30;
const STRIPES: usize = 256;

impl Shared {
    fn stripe(&self, addr: usize) -> usize {
        (addr / self.ps) % STRIPES
    }
    /// The write locks of the stripes of `n` pages from `start` (in stripe order).
    fn lock_pages(&self, start: usize, n: usize) -> Vec<std::sync::RwLockWriteGuard<'_, ()>> {
        let mut ids: Vec<usize> = (0..n).map(|i| self.stripe(start + i * self.ps)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|i| self.stripes[i].write().unwrap())
            .collect()
    }
    /// Every stripe's write lock: no toucher is reading.
    fn lock_all(&self) -> Vec<std::sync::RwLockWriteGuard<'_, ()>> {
        self.stripes.iter().map(|l| l.write().unwrap()).collect()
    }
}

#[test]
fn storm() {
    if !common::raw_has_userfaultfd("storm") {
        return;
    }
    let seeds = env("UFFD_STORM_SEEDS", 6);
    let from = env("UFFD_STORM_FROM", 1);
    let ops = env("UFFD_STORM_OPS", 150) as usize;
    let watchdog = Duration::from_secs(env("UFFD_STORM_WATCHDOG", 30));
    let t0 = Instant::now();
    let mut all = Totals::default();
    let mut failed = Vec::new();
    for seed in from..from + seeds {
        let cfg = Cfg::draw(seed, ops);
        let t = Instant::now();
        match run_seed(&cfg, watchdog) {
            Ok(k) => {
                println!(
                    "seed {seed}: ok in {} ms: {} ops, {} pages verified, {} forks; {} faults, \
                     {} stale, {} outside, {} EEXIST, {} EAGAIN, {} removes, {} unmaps, {} remaps \
                     ({cfg:?})",
                    t.elapsed().as_millis(),
                    k.ops,
                    k.pages_verified,
                    k.forks,
                    k.counters.faults,
                    k.counters.stale,
                    k.counters.outside,
                    k.counters.exists,
                    k.counters.again,
                    k.counters.removes,
                    k.counters.unmaps,
                    k.counters.remaps,
                );
                all.ops += k.ops;
                all.pages_verified += k.pages_verified;
                all.forks += k.forks;
                all.counters.faults += k.counters.faults;
                all.counters.stale += k.counters.stale;
                all.counters.outside += k.counters.outside;
            }
            Err(e) => {
                println!("seed {seed}: FAILED: {e}\n  ({cfg:?})");
                failed.push(seed);
            }
        }
    }
    println!(
        "storm: {seeds} seeds from {from}, {} failed {failed:?}; {} chaos ops, {} pages verified, \
         {} forks, {} faults ({} stale, {} outside) in {:.1} s",
        failed.len(),
        all.ops,
        all.pages_verified,
        all.forks,
        all.counters.faults,
        all.counters.stale,
        all.counters.outside,
        t0.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "failed seeds: {failed:?}");
}

fn open(fork: bool) -> Result<Option<Uffd>, String> {
    let mut want = Features::EVENT_REMOVE | Features::EVENT_UNMAP | Features::EVENT_REMAP;
    if fork {
        want |= Features::EVENT_FORK;
    }
    // SAFETY: this test process registers only the storm's own fresh mappings, reached
    // through raw pointers only, and no other code in it registers memory.
    match unsafe { Uffd::builder().non_blocking(true).require(want).create() } {
        Ok(u) => Ok(Some(u)),
        Err(Error::FeatureNotPermitted { .. }) if fork => Ok(None),
        Err(e) => Err(format!("userfaultfd: {e}")),
    }
}

fn run_seed(cfg: &Cfg, watchdog: Duration) -> Result<Totals, String> {
    let (u, forks) = match open(cfg.forks)? {
        Some(u) => (u, cfg.forks),
        None => (open(false)?.ok_or("userfaultfd")?, false),
    };
    let ps = u.page_size();
    let total: usize = cfg.regions.iter().sum();
    let img: Vec<u8> = (0..total * ps / 8)
        .flat_map(|i| src_word(i as u64 * 8).to_ne_bytes())
        .collect();
    // SAFETY: a reservation nothing else uses; the storm maps its regions inside it.
    let arena = unsafe {
        mman::mmap_anonymous(
            None,
            NonZeroUsize::new(ARENA).unwrap(),
            ProtFlags::PROT_NONE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
        )
    }
    .map_err(|e| format!("arena: {e}"))?
    .as_ptr() as usize;
    let slow = cfg.slow.unwrap_or(0);
    let fetch = |off: u64, buf: &mut [u8]| -> Result<(), uffd::pager::SourceError> {
        let t = Instant::now();
        buf.copy_from_slice(&img[off as usize..off as usize + buf.len()]);
        while t.elapsed() < Duration::from_micros(slow) {
            std::hint::spin_loop();
        }
        Ok(())
    };
    let source = match cfg.slow {
        Some(_) => Source::Callback {
            source: &fetch,
            len: img.len() as u64,
        },
        None => Source::Bytes(&img),
    };
    let mut model = Model::default();
    let mut regions = Vec::new();
    let (mut at, mut off) = (arena, 0usize);
    for &n in &cfg.regions {
        map_fixed(at, n * ps)?;
        regions.push(Region::new(at, n * ps, ps, source).offset(off as u64));
        for i in 0..n {
            let src = (off + i * ps) as u64;
            model
                .pages
                .insert(at + i * ps, Want::is(Content::Src(src), Some(src)));
        }
        at += (n + 1) * ps;
        off += n * ps;
    }
    let shared = Shared {
        model: Mutex::new(model),
        stripes: (0..STRIPES).map(|_| RwLock::new(())).collect(),
        progress: AtomicU64::new(0),
        verified: AtomicU64::new(0),
        quit: AtomicBool::new(false),
        done: AtomicBool::new(false),
        failure: Mutex::new(None),
        log: Mutex::new(VecDeque::new()),
        ps,
        lo: arena,
        hi: AtomicU64::new(at as u64),
        hot: AtomicU64::new(arena as u64),
    };
    let mut st = OwnedStorage::new(&regions, 4 * cfg.ops + 16);
    let mut policy = Policy::demand().idle(Duration::from_millis(20));
    if let Some(f) = cfg.fill {
        policy = policy.fill(f * ps);
    }
    if let Some(r) = cfg.readahead {
        policy = policy.readahead(r * ps);
    }
    let pager = Pager::new(&u, &regions, st.storage(), policy).map_err(|e| e.to_string())?;
    // SAFETY: the storm's fresh mappings, reached through raw pointers only.
    unsafe { pager.register() }.map_err(|e| e.to_string())?;
    if cfg.pinned {
        pin(1);
    }
    let stop = Stop::new().map_err(|e| e.to_string())?;
    let forked: Mutex<Option<Uffd>> = Mutex::new(None);
    let on_fork = |c: Uffd| *forked.lock().unwrap() = Some(c);
    let mut totals = Totals::default();
    let exit = std::thread::scope(|s| {
        let workers = pager.spawn(s, cfg.workers, &stop, Some(&on_fork));
        let sh = &shared;
        let pager = &pager;
        std::thread::scope(|w| {
            let workers = &workers;
            // A worker that ends early is a failure; release the touchers it leaves blocked.
            let guard = w.spawn(move || {
                while !sh.quit.load(Acquire) {
                    if let Some(r) = workers.wait_any(Some(Duration::from_millis(20))) {
                        sh.fail(format!("a worker ended early: {r:?}"));
                    }
                }
                if workers.ended() > 0 {
                    watch::release(pager.uffd(), sh.lo, ARENA);
                    // Nobody reads events now: an munmap or mremap of the chaos thread would
                    // wait for its event for ever. Read and drop them until it has stopped.
                    let mut buf = [uffd::abi::uffd_msg::zeroed(); 16];
                    while !sh.done.load(Acquire) {
                        if let Ok(None) | Err(_) = pager.uffd().read_events(&mut buf) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
            });
            let dog = w.spawn(move || watch::watchdog(sh, pager, cfg, watchdog));
            // A worker must be in its loop before the first fork: glibc's fork() holds the
            // allocator's locks while the kernel waits for the FORK event to be read, and a
            // thread still starting up allocates (seed 175 deadlocked so once).
            if let Err(e) = first_service(sh, pager) {
                sh.fail(e);
            }
            let touchers: Vec<_> = (0..cfg.touchers)
                .map(|t| w.spawn(move || toucher(sh, cfg.seed * 16 + t as u64)))
                .collect();
            if let Err(e) = chaos(sh, cfg, forks, &forked, &mut totals) {
                sh.fail(e);
            }
            sh.quit.store(true, Release);
            for t in touchers {
                t.join().unwrap();
            }
            if sh.failure.lock().unwrap().is_none() {
                final_pass(sh);
            }
            sh.done.store(true, Release);
            guard.join().unwrap();
            dog.join().unwrap();
        });
        stop.stop();
        workers.join()
    });
    pin(u64::MAX);
    totals.pages_verified = shared.verified.load(Relaxed);
    totals.counters = pager.counters();
    watch::release(&u, arena, ARENA);
    // (The pager only borrows `u`: its use ended above.)
    drop(u);
    // SAFETY: the arena and everything the storm moved inside it.
    let _ = unsafe { mman::munmap(NonNull::new(arena as *mut _).unwrap(), ARENA) };
    if let Some(f) = shared.failure.lock().unwrap().take() {
        let log = shared.log.lock().unwrap();
        return Err(format!(
            "{f}\n  last operations:\n    {}\n  counters: {:?}",
            log.iter().cloned().collect::<Vec<_>>().join("\n    "),
            totals.counters
        ));
    }
    if exit != Ok(Exit::Stopped) {
        return Err(format!("workers: {exit:?}"));
    }
    Ok(totals)
}

fn map_fixed(at: usize, len: usize) -> Result<(), String> {
    // SAFETY: replaces part of the storm's own reservation.
    unsafe {
        mman::mmap_anonymous(
            NonZeroUsize::new(at),
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED | MapFlags::MAP_NORESERVE,
        )
    }
    .map(drop)
    .map_err(|e| format!("mmap: {e}"))
}

/// Reads the first live page and waits until a worker has done something (served it, or
/// filled): one is in its loop.
fn first_service(sh: &Shared, pager: &Pager<'_>) -> Result<(), String> {
    let (addr, want) = {
        let m = sh.model.lock().unwrap();
        let (&a, &w) = m.pages.iter().next().ok_or("no pages")?;
        (a, w)
    };
    want.check(addr, sh.ps)?;
    let t = Instant::now();
    loop {
        let k = pager.counters();
        if k.faults + k.fill_pieces + k.exists > 0 {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!("no worker served anything within 10 s: {k:?}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reads random live pages and checks each against the model until told to quit.
fn toucher(sh: &Shared, seed: u64) {
    let mut rng = Rng::new(seed);
    while !sh.quit.load(Acquire) {
        let (addr, want, _page) = {
            let m = sh.model.lock().unwrap();
            let hi = sh.hi.load(Relaxed) as usize;
            let hot = sh.hot.load(Relaxed) as usize;
            let pick = if rng.chance(40) {
                m.page(&mut rng, hot, hot + 4 * sh.ps, sh.ps)
            } else {
                m.page(&mut rng, sh.lo, hi, sh.ps)
            };
            let Some((addr, want)) = pick else {
                break;
            };
            (addr, want, sh.stripes[sh.stripe(addr)].read().unwrap())
        };
        if let Err(e) = want.check(addr, sh.ps) {
            sh.fail(format!("toucher: {e}"));
            return;
        }
        sh.verified.fetch_add(1, Relaxed);
        sh.progress.fetch_add(1, Relaxed);
    }
}

/// Verifies every live page.
fn final_pass(sh: &Shared) {
    let m = sh.model.lock().unwrap();
    let _all = sh.lock_all();
    for (&addr, want) in &m.pages {
        if let Err(e) = want.check(addr, sh.ps) {
            sh.fail(format!("final pass: {e}"));
            return;
        }
        sh.verified.fetch_add(1, Relaxed);
        sh.progress.fetch_add(1, Relaxed);
    }
}

fn chaos(
    sh: &Shared,
    cfg: &Cfg,
    forks: bool,
    forked: &Mutex<Option<Uffd>>,
    totals: &mut Totals,
) -> Result<(), String> {
    let mut rng = Rng::new(cfg.seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let ps = sh.ps;
    let mut nforks = 0;
    for op in 0..cfg.ops {
        if sh.quit.load(Acquire) {
            break;
        }
        let roll = rng.below(100);
        if roll < 20 {
            // Let the touchers work.
            std::thread::sleep(Duration::from_micros(rng.range(50, 500) as u64));
            continue;
        }
        let mut m = sh.model.lock().unwrap();
        let hi = sh.hi.load(Relaxed) as usize;
        if rng.chance(25) {
            if let Some((a, _)) = m.page(&mut rng, sh.lo, hi, ps) {
                sh.hot.store(a as u64, Relaxed);
            }
        }
        let hot = sh.hot.load(Relaxed) as usize;
        let run = if rng.chance(40) {
            m.run(&mut rng, hot, hot + ps, ps, 4)
        } else {
            m.run(&mut rng, sh.lo, hi, ps, 32)
        };
        let Some((start, n)) = run else {
            break;
        };
        let fork_now = roll >= 96;
        let _pages = if fork_now {
            sh.lock_all()
        } else {
            sh.lock_pages(start, n)
        };
        let len = n * ps;
        let ptr = NonNull::new(start as *mut std::ffi::c_void).unwrap();
        let what = match roll {
            20..=34 => {
                // SAFETY: storm memory, reached through raw pointers only.
                unsafe { mman::madvise(ptr, len, MmapAdvise::MADV_DONTNEED) }
                    .map_err(|e| format!("madvise: {e}"))?;
                for i in 0..n {
                    let p = m.pages.get_mut(&(start + i * ps)).unwrap();
                    *p = Want::is(Content::Zero, p.src);
                }
                "MADV_DONTNEED"
            }
            35..=39 => {
                // SAFETY: as above.
                unsafe { mman::madvise(ptr, len, MmapAdvise::MADV_FREE) }
                    .map_err(|e| format!("madvise: {e}"))?;
                for i in 0..n {
                    let p = m.pages.get_mut(&(start + i * ps)).unwrap();
                    *p = p.freed();
                }
                "MADV_FREE"
            }
            40..=54 => {
                let n = n.min(8);
                for i in 0..n {
                    let tag = rng.next();
                    let a = start + i * ps;
                    for w in 0..ps / 8 {
                        // SAFETY: a live, writable storm page.
                        unsafe { ((a + 8 * w) as *mut u64).write_volatile(data_word(tag, w)) };
                    }
                    let p = m.pages.get_mut(&a).unwrap();
                    *p = Want::is(Content::Data(tag), p.src);
                }
                sh.note(format!("op {op}: write {n} pages at {start:#x}"));
                totals.ops += 1;
                continue;
            }
            65..=69 => {
                grow_or_keep(sh, &mut m, &mut rng, op, (start, n), hi + ps, totals);
                continue;
            }
            55..=64 => {
                let dest = hi + ps;
                sh.hi.store((dest + len + ps) as u64, Relaxed);
                // SAFETY: storm memory; `dest` is inside the storm's reservation.
                let r = unsafe {
                    mman::mremap(
                        ptr,
                        len,
                        len,
                        MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED,
                        NonNull::new(dest as *mut _),
                    )
                };
                match r {
                    Ok(_) => {
                        for i in 0..n {
                            let w = m.pages.remove(&(start + i * ps)).unwrap();
                            m.pages.insert(dest + i * ps, w);
                        }
                        sh.note(format!("op {op}: move {n} pages {start:#x} -> {dest:#x}"));
                    }
                    // Across two mappings (an mprotect split): refused whole.
                    Err(e) => sh.note(format!("op {op}: move {n} pages at {start:#x}: {e}")),
                }
                totals.ops += 1;
                continue;
            }
            70..=74 if n > 1 => {
                let keep = rng.range(1, n - 1);
                // SAFETY: storm memory.
                let r = unsafe { mman::mremap(ptr, len, keep * ps, MRemapFlags::empty(), None) };
                match r {
                    Ok(_) => {
                        for i in keep..n {
                            m.pages.remove(&(start + i * ps));
                        }
                        sh.note(format!("op {op}: shrink {n} pages at {start:#x} to {keep}"));
                    }
                    Err(e) => sh.note(format!("op {op}: shrink {n} pages at {start:#x}: {e}")),
                }
                totals.ops += 1;
                continue;
            }
            70..=79 => {
                // SAFETY: storm memory.
                unsafe { mman::munmap(ptr, len) }.map_err(|e| format!("munmap: {e}"))?;
                for i in 0..n {
                    m.pages.remove(&(start + i * ps));
                }
                "munmap"
            }
            80..=95 => {
                let prot = if rng.chance(50) {
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE | ProtFlags::PROT_EXEC
                } else {
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
                };
                // SAFETY: storm memory; it stays readable and writable.
                unsafe { mman::mprotect(ptr, len, prot) }.map_err(|e| format!("mprotect: {e}"))?;
                "mprotect"
            }
            _ if forks && nforks < 3 => {
                nforks += 1;
                totals.forks += 1;
                sh.note(format!("op {op}: fork"));
                let r = fork_child(sh, &m, &mut rng, forked, cfg);
                drop(m);
                r?;
                totals.ops += 1;
                continue;
            }
            _ => continue,
        };
        sh.note(format!("op {op}: {what} {n} pages at {start:#x}"));
        totals.ops += 1;
    }
    Ok(())
}

/// A `mremap` that leaves registered memory the pager's table does not cover, then the chaos
/// op's outcome: the run `(start, n)` moved to `dest` and grown by 1–8 pages (the new pages
/// are registered, as the moved mapping is), or moved with `MREMAP_DONTUNMAP` (the old range
/// stays mapped, registered and empty). Either new range reads as zeros: the pager answers a
/// fault it has no region for with zeros, as the kernel fills fresh anonymous memory.
fn grow_or_keep(
    sh: &Shared,
    m: &mut Model,
    rng: &mut Rng,
    op: usize,
    (start, n): (usize, usize),
    dest: usize,
    totals: &mut Totals,
) {
    let ps = sh.ps;
    let len = n * ps;
    let keep = rng.chance(50);
    let new_len = if keep {
        len
    } else {
        len + rng.range(1, 8) * ps
    };
    sh.hi.store((dest + new_len + ps) as u64, Relaxed);
    let mut flags = MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED;
    if keep {
        flags |= MRemapFlags::MREMAP_DONTUNMAP;
    }
    let ptr = NonNull::new(start as *mut std::ffi::c_void).unwrap();
    // SAFETY: storm memory; `dest` is inside the storm's reservation.
    let r = unsafe { mman::mremap(ptr, len, new_len, flags, NonNull::new(dest as *mut _)) };
    let what = if keep {
        "move (DONTUNMAP)"
    } else {
        "move and grow"
    };
    match r {
        Ok(_) => {
            for i in 0..n {
                let w = m.pages.remove(&(start + i * ps)).unwrap();
                m.pages.insert(dest + i * ps, w);
                if keep {
                    m.pages
                        .insert(start + i * ps, Want::is(Content::Zero, None));
                }
            }
            for a in (dest + len..dest + new_len).step_by(ps) {
                m.pages.insert(a, Want::is(Content::Zero, None));
            }
            sh.note(format!(
                "op {op}: {what} {n} pages {start:#x} -> {dest:#x} ({} pages)",
                new_len / ps
            ));
        }
        // Across two mappings (an mprotect split), or a kernel without MREMAP_DONTUNMAP
        // (before 5.7): refused whole.
        Err(e) => sh.note(format!("op {op}: {what} {n} pages at {start:#x}: {e}")),
    }
    totals.ops += 1;
}

/// The regions of a forked child: runs of consecutive live pages, each served from the
/// snapshot (consecutive offsets) or as zeros.
fn child_regions<'i>(m: &Model, ps: usize, img: &'i [u8]) -> Vec<Region<'i>> {
    let mut out: Vec<Region<'i>> = Vec::new();
    let mut cur: Option<(usize, usize, Option<u64>)> = None;
    for (&a, w) in &m.pages {
        let src = w.src.filter(|_| w.sourced());
        let extend = match cur {
            Some((s, n, cs)) => {
                a == s + n * ps
                    && match (cs, src) {
                        (Some(c), Some(o)) => o == c + (n * ps) as u64,
                        (None, None) => true,
                        _ => false,
                    }
            }
            None => false,
        };
        if extend {
            cur.as_mut().unwrap().1 += 1;
            continue;
        }
        if let Some(r) = cur.take() {
            out.push(region(r, ps, img));
        }
        cur = Some((a, 1, src));
    }
    if let Some(r) = cur {
        out.push(region(r, ps, img));
    }
    out
}

fn region(r: (usize, usize, Option<u64>), ps: usize, img: &[u8]) -> Region<'_> {
    match r.2 {
        Some(off) => Region::new(r.0, r.1 * ps, ps, Source::Bytes(img)).offset(off),
        None => Region::new(r.0, r.1 * ps, ps, Source::Zeros),
    }
}

/// Forks a child that verifies a sample of pages and gives one back (`MADV_DONTNEED`, then
/// zeros), served by a pager of the FORK event's userfaultfd; waits up to 8 s for it.
fn fork_child(
    sh: &Shared,
    m: &Model,
    rng: &mut Rng,
    forked: &Mutex<Option<Uffd>>,
    cfg: &Cfg,
) -> Result<(), String> {
    let ps = sh.ps;
    let hi = sh.hi.load(Relaxed) as usize;
    let sample: Vec<(usize, Want)> = (0..24).filter_map(|_| m.page(rng, sh.lo, hi, ps)).collect();
    let total: usize = cfg.regions.iter().sum();
    let img: Vec<u8> = (0..total * ps / 8)
        .flat_map(|i| src_word(i as u64 * 8).to_ne_bytes())
        .collect();
    let regions = child_regions(m, ps, &img);
    let mut st = OwnedStorage::new(&regions, 8);
    *forked.lock().unwrap() = None;
    // SAFETY: the child reads memory, calls madvise and _exit only (no allocation).
    let pid = unsafe { common::fork() };
    if pid == 0 {
        let mut code = 0;
        for (a, w) in &sample {
            if !w.fits_page(*a, ps) {
                code = 2;
            }
        }
        if let Some((a, _)) = sample.first() {
            let p = NonNull::new(*a as *mut std::ffi::c_void).unwrap();
            // SAFETY: the child's copy of a storm page.
            if unsafe { mman::madvise(p, ps, MmapAdvise::MADV_DONTNEED) }.is_err()
                || !Want::is(Content::Zero, None).fits_page(*a, ps)
            {
                code = 3;
            }
        }
        // SAFETY: ends the child without running the parent's state.
        unsafe { _exit(code) }
    }
    if pid < 0 {
        return Err("fork failed".into());
    }
    // on_fork runs once the FORK message is read, which may be after fork() returned here.
    let t = Instant::now();
    let child_uffd = loop {
        if let Some(c) = forked.lock().unwrap().take() {
            break c;
        }
        if t.elapsed() > Duration::from_secs(5) {
            // SAFETY: our own child.
            unsafe { kill(pid, 9) };
            let _ = wait_child(pid, Duration::from_secs(5));
            return Err("no FORK event reached on_fork within 5 s".into());
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    let mut policy = Policy::demand().idle(Duration::from_millis(20));
    if let Some(f) = cfg.fill {
        policy = policy.fill(f * ps);
    }
    let pager =
        Pager::new(&child_uffd, &regions, st.storage(), policy).map_err(|e| e.to_string())?;
    let stop = Stop::new().map_err(|e| e.to_string())?;
    let (status, exit) = std::thread::scope(|s| {
        let workers = pager.spawn(s, cfg.workers, &stop, None);
        let status = wait_child(pid, Duration::from_secs(8));
        if status.is_none() {
            // SAFETY: our own child.
            unsafe { kill(pid, 9) };
            let _ = wait_child(pid, Duration::from_secs(5));
        }
        // The child is gone: its pager notices by itself (an idle worker asks the kernel
        // once per idle period).
        let ended = workers.wait_any(Some(Duration::from_secs(8)));
        stop.stop();
        let exit = workers.join();
        (
            status,
            if ended.is_some() {
                exit
            } else {
                Ok(Exit::Stopped)
            },
        )
    });
    let k = pager.counters();
    match (status, exit) {
        (Some(0), Ok(Exit::Gone)) => Ok(()),
        (Some(0), Ok(Exit::Stopped)) => Err(format!(
            "the forked child exited, and its pager did not notice within 8 s: {k:?}"
        )),
        (None, e) => Err(format!(
            "the forked child did not exit within 8 s; its pager: {e:?}, {k:?}"
        )),
        (Some(c), e) => Err(format!(
            "the forked child exited with {c:#x} (2: a wrong page, 3: not zero after \
             DONTNEED); its pager: {e:?}, {k:?}"
        )),
    }
}

/// `waitpid` polled up to `limit`: the raw status, or `None` if still running.
fn wait_child(pid: i32, limit: Duration) -> Option<i32> {
    let t = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: our own child; writes one int. WNOHANG.
        let r = unsafe { waitpid(pid, &mut status, 1) };
        if r == pid {
            return Some(status);
        }
        if r < 0 || t.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
