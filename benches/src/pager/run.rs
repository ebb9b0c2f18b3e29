//! One run of one contender: the snapshot restored into fresh private anonymous memory while
//! the toucher reads its pages in the pattern's order.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use crate::ffi;
use uffd::flags::{CopyMode, Features, RegisterMode};
use uffd::pager::{Exit, Pager, Policy, Region, Slot, Source, Storage};
use uffd::Uffd;

/// A touch slower than this took a fault (a present page costs well under 1 µs).
pub const FAULT_NS: u64 = 2_000;
/// Readahead window of the pager contenders.
pub const READAHEAD: usize = 1 << 20;
/// The first window of a (random) demand fault of the one-worker fill contender.
pub const FAULT_WINDOW: usize = 512 << 10;
/// The same with several workers: none (a random fault gets its page alone; sequential faults
/// still grow windows). A window amortises a stall when the thread that serves it must also
/// fill; beside a second filling worker it only delays the next fault (BENCHMARKS.md, "Two
/// workers without fault windows").
pub const SHARED_FAULT_WINDOW: usize = 0;

/// The pager contenders' policy sizes (bytes); the defaults above unless the command line
/// says otherwise (`--fill-piece`, `--fault-window`, `--shared-fault-window`, `--readahead`,
/// `--shared-piece`, in KiB).
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    pub fill_piece: usize,
    /// The first window of a fault with one worker.
    pub fault_window: usize,
    /// The first window of a fault with several workers.
    pub shared_fault_window: usize,
    pub readahead: usize,
    /// The piece while a worker shares its CPU ([`Policy::shared_piece`]).
    pub shared_piece: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            fill_piece: Policy::FILL_PIECE,
            fault_window: FAULT_WINDOW,
            shared_fault_window: SHARED_FAULT_WINDOW,
            readahead: READAHEAD,
            shared_piece: Policy::SHARED_PIECE,
        }
    }
}
/// The floor's UFFDIO_COPY piece.
pub const FLOOR_PIECE: usize = 2 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    Eager,
    CPerPage,
    /// restore.c's `bg` (1) and `bg2` (2), ported: benches/c/bgfill.c.
    CBg(usize),
    PagerReadahead,
    PagerFill(usize),
    Floor,
}

impl Contender {
    pub fn name(self) -> String {
        match self {
            Contender::Eager => "eager read".into(),
            Contender::CPerPage => "C per-page handler".into(),
            Contender::CBg(1) => "C bg: 1 thread, faults first, 2 MiB chunks".into(),
            Contender::CBg(n) => format!("C bg{n}: demand thread + filler"),
            Contender::PagerReadahead => "pager demand+readahead".into(),
            Contender::PagerFill(n) => {
                format!("pager +fill, {n} worker{}", if n > 1 { "s" } else { "" })
            }
            Contender::Floor => "floor: COPY 2 MiB pieces".into(),
        }
    }
}

/// What one run measured. Times are ns from the start (handler ready, toucher about to run).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Until the toucher finished (the floor: until everything was copied).
    pub total: u64,
    /// The toucher's first touch.
    pub first: Option<u64>,
    /// Touches that faulted: (when, latency).
    pub faults: Vec<(u64, u32)>,
    /// CPU time of the handler threads (eager: the read; floor: the copier).
    pub cpu: u64,
    /// Bytes copied into the region (eager: read).
    pub bytes: u64,
    /// When every page was populated, if it happened.
    pub populated: Option<u64>,
    /// (ns, pages populated), sampled every 2 ms.
    pub series: Vec<(u64, u32)>,
}

/// The workload's fixed inputs.
pub struct Work<'a> {
    pub snapshot: &'a [u8],
    pub file: &'a std::fs::File,
    pub page: usize,
    pub order: &'a [u32],
    pub all_pages: bool,
    pub tuning: Tuning,
}

/// A mapping for one run, unmapped on drop.
struct Area {
    addr: usize,
    len: usize,
}
impl Area {
    fn new(len: usize) -> Result<Self, String> {
        let addr = ffi::map(len).ok_or("mmap")?;
        Ok(Area { addr, len })
    }
}
impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: nothing refers to the run's area after the run.
        unsafe { ffi::unmap(self.addr, self.len) };
    }
}

/// Samples `populated()` every 2 ms until `stop`.
fn sampler(
    t0: Instant,
    stop: &AtomicBool,
    populated: &(dyn Fn() -> usize + Sync),
) -> Vec<(u64, u32)> {
    let mut v = Vec::with_capacity(1 << 16);
    while !stop.load(Acquire) {
        v.push((t0.elapsed().as_nanos() as u64, populated() as u32));
        std::thread::sleep(Duration::from_millis(2));
    }
    v.push((t0.elapsed().as_nanos() as u64, populated() as u32));
    v
}

/// Touches one word of every page of `order` (each must hold its page index); records the
/// first touch and every touch that faulted. Returns the time until done.
fn touch(area: usize, w: &Work, t0: Instant, out: &mut Outcome) -> Result<u64, String> {
    out.faults.reserve(w.order.len());
    for (k, &p) in w.order.iter().enumerate() {
        let a = Instant::now();
        // SAFETY: inside the run's area, read through a raw pointer (it may be registered).
        let got = unsafe { ((area + p as usize * w.page) as *const u64).read_volatile() };
        let b = Instant::now();
        if got != p as u64 {
            return Err(format!("page {p}: word {got:#x}"));
        }
        let lat = (b - a).as_nanos() as u64;
        if k == 0 {
            out.first = Some(lat);
        }
        if lat >= FAULT_NS {
            out.faults
                .push(((a - t0).as_nanos() as u64, lat.min(u32::MAX as u64) as u32));
        }
    }
    Ok(t0.elapsed().as_nanos() as u64)
}

/// Every word of the touched pages holds the page index (untimed).
fn verify(area: usize, w: &Work) -> Result<(), String> {
    for &p in w.order {
        let base = area + p as usize * w.page;
        for i in (0..w.page).step_by(8) {
            // SAFETY: a touched (present) page of the run's area.
            let got = unsafe { ((base + i) as *const u64).read_volatile() };
            if got != p as u64 {
                return Err(format!("page {p} word {i}: {got:#x}"));
            }
        }
    }
    Ok(())
}

fn open_uffd(features: Features) -> Result<Uffd, String> {
    // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value relies
    // on, and no other code in this process registers memory.
    unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .non_blocking(true)
            .require(features)
            .create()
    }
    .map_err(|e| format!("userfaultfd: {e}"))
}

pub fn run(c: Contender, w: &Work) -> Result<Outcome, String> {
    let len = w.snapshot.len();
    let area = Area::new(len)?;
    let mut out = Outcome::default();
    let stop = AtomicBool::new(false);
    match c {
        Contender::Eager => {
            let progress = AtomicUsize::new(0);
            let t0 = Instant::now();
            std::thread::scope(|s| -> Result<(), String> {
                let h = s.spawn(|| sampler(t0, &stop, &|| progress.load(Relaxed) / w.page));
                let cpu0 = ffi::thread_cpu_ns();
                // SAFETY: the area is ours, unregistered, and referred to by nothing else.
                let dst = unsafe { std::slice::from_raw_parts_mut(area.addr as *mut u8, len) };
                for (i, chunk) in dst.chunks_mut(2 << 20).enumerate() {
                    w.file
                        .read_exact_at(chunk, (i * (2 << 20)) as u64)
                        .map_err(|e| e.to_string())?;
                    progress.fetch_add(chunk.len(), Relaxed);
                }
                out.cpu = ffi::thread_cpu_ns() - cpu0;
                out.populated = Some(t0.elapsed().as_nanos() as u64);
                out.bytes = len as u64;
                out.total = touch(area.addr, w, t0, &mut out)?;
                stop.store(true, Release);
                out.series = h.join().unwrap();
                Ok(())
            })?;
        }
        Contender::Floor => {
            let u = open_uffd(Features::empty())?;
            // SAFETY: the run's fresh area, read only through raw pointers, unmapped after.
            unsafe { u.register(area.addr, len, RegisterMode::MISSING) }
                .map_err(|e| e.to_string())?;
            let progress = AtomicUsize::new(0);
            let t0 = Instant::now();
            std::thread::scope(|s| -> Result<(), String> {
                let h = s.spawn(|| sampler(t0, &stop, &|| progress.load(Relaxed) / w.page));
                let cpu0 = ffi::thread_cpu_ns();
                for off in (0..len).step_by(FLOOR_PIECE) {
                    let n = FLOOR_PIECE.min(len - off);
                    u.copy(
                        area.addr + off,
                        &w.snapshot[off..off + n],
                        CopyMode::empty(),
                    )
                    .map_err(|e| e.to_string())?;
                    progress.fetch_add(n, Relaxed);
                }
                out.cpu = ffi::thread_cpu_ns() - cpu0;
                out.total = t0.elapsed().as_nanos() as u64;
                out.populated = Some(out.total);
                out.bytes = len as u64;
                stop.store(true, Release);
                out.series = h.join().unwrap();
                Ok(())
            })?;
            verify(area.addr, w)?;
        }
        Contender::CPerPage => {
            let u = open_uffd(Features::empty())?;
            // SAFETY: as above.
            unsafe { u.register(area.addr, len, RegisterMode::MISSING) }
                .map_err(|e| e.to_string())?;
            let (stop_r, mut stop_w) = std::io::pipe().map_err(|e| e.to_string())?;
            // SAFETY: the handler reads the snapshot (alive for the call) and copies into the
            // registered area; it runs until the stop pipe is written, then is joined.
            let h = unsafe {
                ffi::c_perpage_start(
                    u.as_raw_fd(),
                    stop_r.as_raw_fd(),
                    w.snapshot.as_ptr(),
                    area.addr as u64,
                    w.page,
                )
            };
            if h.is_null() {
                return Err("c_perpage_start".into());
            }
            let hp = h as usize;
            // SAFETY: `h` is live until joined below.
            while unsafe { ffi::c_perpage_ready(h) } == 0 {
                std::thread::yield_now();
            }
            let t0 = Instant::now();
            let r = std::thread::scope(|s| {
                // SAFETY: as above; reading a counter.
                let smp = s.spawn(|| {
                    sampler(t0, &stop, &|| unsafe {
                        ffi::c_perpage_served(hp as *const _)
                    })
                });
                let r = touch(area.addr, w, t0, &mut out);
                stop.store(true, Release);
                out.series = smp.join().unwrap();
                r
            });
            let r = r.and_then(|t| verify(area.addr, w).map(|()| t));
            let _ = std::io::Write::write_all(&mut stop_w, b"x");
            // SAFETY: the thread was told to stop; joined and freed once.
            let served = unsafe { ffi::c_perpage_served(h) };
            let cpu = unsafe { ffi::c_perpage_join(h) };
            out.total = r?;
            if cpu < 0 {
                return Err("C handler failed".into());
            }
            out.cpu = cpu as u64;
            out.bytes = (served * w.page) as u64;
            out.populated = w.all_pages.then_some(out.total);
        }
        Contender::CBg(threads) => run_c_bg(&area, w, threads, &stop, &mut out)?,
        Contender::PagerReadahead | Contender::PagerFill(_) => {
            let (workers, fill) = match c {
                Contender::PagerFill(n) => (n, true),
                _ => (1, false),
            };
            run_pager(&area, w, workers, fill, &stop, &mut out)?;
        }
    }
    Ok(out)
}

/// The C background-fill handlers (`bg`, `bg2`): started, let go when the toucher starts,
/// stopped after it (the fill runs to the end: joined after it).
fn run_c_bg(
    area: &Area,
    w: &Work,
    threads: usize,
    stop: &AtomicBool,
    out: &mut Outcome,
) -> Result<(), String> {
    let len = area.len;
    let u = open_uffd(Features::empty())?;
    // SAFETY: the run's fresh area, read only through raw pointers, unmapped after the run.
    unsafe { u.register(area.addr, len, RegisterMode::MISSING) }.map_err(|e| e.to_string())?;
    let (stop_r, mut stop_w) = std::io::pipe().map_err(|e| e.to_string())?;
    // SAFETY: the handler reads the snapshot (alive for the call) and copies into the
    // registered area; it runs until the fill is done and the stop pipe written, then is
    // joined.
    let h = unsafe {
        ffi::c_bg_start(
            u.as_raw_fd(),
            stop_r.as_raw_fd(),
            w.snapshot.as_ptr(),
            area.addr as u64,
            len,
            w.page,
            threads as i32,
        )
    };
    if h.is_null() {
        return Err("c_bg_start".into());
    }
    let hp = h as usize;
    // SAFETY: `h` is live until joined below.
    while unsafe { ffi::c_bg_ready(h) } == 0 {
        std::thread::yield_now();
    }
    let t0 = Instant::now();
    // SAFETY: reads a clock.
    let t0_mono = unsafe { ffi::c_mono_ns() };
    // SAFETY: as above.
    if unsafe { ffi::c_bg_go(h) } != 0 {
        return Err("c_bg_go".into());
    }
    let touched = std::thread::scope(|s| {
        // SAFETY: as above; reading a counter.
        let smp = s.spawn(|| sampler(t0, stop, &|| unsafe { ffi::c_bg_copied(hp as *const _) }));
        let touched = touch(area.addr, w, t0, out);
        stop.store(true, Release);
        out.series = smp.join().unwrap();
        touched
    });
    let _ = std::io::Write::write_all(&mut stop_w, b"x");
    // SAFETY: `h` is live until the join; the join waits for the fill to end (on error too:
    // a failed thread ends at once).
    let (mut full, mut copied) = (0, 0);
    let cpu = unsafe { ffi::c_bg_join(h, &mut full, &mut copied) };
    out.total = touched?;
    if cpu < 0 {
        return Err("C handler failed".into());
    }
    out.cpu = cpu as u64;
    out.bytes = (copied * w.page) as u64;
    out.populated = (full > 0).then(|| full.saturating_sub(t0_mono));
    verify(area.addr, w)
}

fn now_ns() -> u64 {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    T0.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn run_pager(
    area: &Area,
    w: &Work,
    workers: usize,
    fill: bool,
    stop: &AtomicBool,
    out: &mut Outcome,
) -> Result<(), String> {
    let len = area.len;
    // Negotiated as a VMM with a balloon would: REMOVE events (and so the event gate) on.
    let u = open_uffd(Features::EVENT_REMOVE)?;
    let regions = [Region::new(
        area.addr,
        len,
        w.page,
        Source::Bytes(w.snapshot),
    )];
    let words = Storage::words(len / w.page);
    let mut slots = [Slot::new()];
    let mut populated: Vec<_> = (0..words)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect();
    let mut removed: Vec<_> = (0..words)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect();
    let storage = Storage {
        slots: &mut slots,
        populated: &mut populated,
        removed: &mut removed,
    };
    let t = w.tuning;
    let mut policy = Policy::demand()
        .readahead(t.readahead)
        .shared_piece(t.shared_piece)
        .clock(now_ns);
    if fill {
        // One worker: even a random fault brings in a window after it (its own page first,
        // then the rest unless another fault already waits), so a toucher racing the fill
        // faults less often. Several: the other workers' fill is the window; a random fault
        // gets its page.
        let window = if workers > 1 {
            t.shared_fault_window
        } else {
            t.fault_window
        };
        policy = Policy::demand()
            .readahead_from(window, t.readahead)
            .clock(now_ns)
            .fill(t.fill_piece)
            .shared_piece(t.shared_piece)
            .exit_when_populated(true);
    }
    let pager = Pager::new(&u, &regions, storage, policy).map_err(|e| e.to_string())?;
    let t_pager = now_ns();
    // SAFETY: the run's fresh area, read only through raw pointers, unmapped after the run.
    unsafe { pager.register() }.map_err(|e| e.to_string())?;
    let (stop_r, mut stop_w) = std::io::pipe().map_err(|e| e.to_string())?;
    let ready = AtomicUsize::new(0);
    let r = std::thread::scope(|s| -> Result<(), String> {
        let hs: Vec<_> = (0..workers)
            .map(|_| {
                let (pager, ready, stop_fd) = (&pager, &ready, stop_r.as_fd());
                s.spawn(move || {
                    let mut w = pager.worker(&mut []).map_err(|e| e.to_string())?;
                    ready.fetch_add(1, Release);
                    let r = w
                        .run(Some(ffi::borrowed(stop_fd)))
                        .map_err(|e| e.to_string());
                    r.map(|e| (e, ffi::thread_cpu_ns()))
                })
            })
            .collect();
        while ready.load(Acquire) < workers {
            std::thread::yield_now();
        }
        let t0 = Instant::now();
        let t0_ns = now_ns();
        let pager = &pager;
        let smp = s.spawn(move || sampler(t0, stop, &|| pager.pages() - pager.remaining_pages()));
        let touched = touch(area.addr, w, t0, out);
        let touched = touched.and_then(|t| verify(area.addr, w).map(|()| t));
        if !fill || touched.is_err() {
            let _ = std::io::Write::write_all(&mut stop_w, b"x");
        }
        let mut cpu = 0;
        for h in hs {
            let (exit, c) = h.join().unwrap()?;
            let want = if fill && touched.is_ok() {
                Exit::FullyPopulated
            } else {
                Exit::Stopped
            };
            if exit != want {
                return Err(format!("worker: {exit:?}"));
            }
            cpu += c;
        }
        stop.store(true, Release);
        out.series = smp.join().unwrap();
        out.total = touched?;
        out.cpu = cpu;
        let k = pager.counters();
        if std::env::var_os("UFFD_BENCH_COUNTERS").is_some() {
            eprintln!("{k:?}");
        }
        out.bytes = k.bytes_copied;
        out.populated =
            (k.populated_at_ns > 0).then(|| (k.populated_at_ns + t_pager).saturating_sub(t0_ns));
        Ok(())
    });
    r
}

/// Reads one word of every page of the snapshot's mapping (untimed), so every run starts
/// with its source in the page cache: this VM runs DAMON with a `pageout` scheme (memory
/// idle for a minute is reclaimed, page cache included), and a source dropped during a long
/// run made later runs read it back from disk (C bg sequential at 2.2–2.5 s instead of
/// 0.33 s, with 25–30 ms stalls).
pub fn rewarm(snapshot: &[u8], page: usize) {
    for off in (0..snapshot.len()).step_by(page) {
        // SAFETY: inside the slice; a volatile read so the touch is not optimised away.
        unsafe { core::ptr::read_volatile(snapshot.as_ptr().add(off)) };
    }
}

/// Touches and frees more memory than a run uses (untimed), so every contender allocates
/// equally warm memory: this VM's balloon hands freed guest pages back to the host, and
/// touching them again costs about 3 µs a page.
pub fn pretouch_and_free(len: usize, page: usize) -> Result<(), String> {
    let len = len + len / 4;
    let a = Area::new(len)?;
    for off in (0..len).step_by(page) {
        // SAFETY: the fresh, unregistered area.
        unsafe { ((a.addr + off) as *mut u8).write_volatile(1) };
    }
    Ok(())
}
