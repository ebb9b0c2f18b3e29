//! `uffd-bench dirty`: dirty-page tracking of a large region, five ways side by side in one run.
//!
//! The region (1 GiB by default) is populated, registered for write-protect and protected. Each
//! epoch writes one byte to `n` random pages (0.1 / 1 / 10 / 100 % of them, in random order),
//! then the tracker finds the written pages and protects them again:
//!
//! 1. **scan**: `WP_ASYNC` registration, one `PAGEMAP_SCAN` with `PM_SCAN_WP_MATCHING`
//!    ([`Pagemap::dirty`], resumed as the 4096-region buffer fills);
//! 2. **pagemap + WP**: `WP_ASYNC` registration, the 8-byte pagemap entries read 64 Ki at a time
//!    ([`Pagemap::written_by_entries`]), and one `UFFDIO_WRITEPROTECT` per written run;
//! 3. **sync WP**: a sync registration and a handler thread: each first write faults, the
//!    handler records the page and unprotects it (which wakes the writer); at the end of the
//!    epoch the recorded pages are sorted into runs and each run protected again;
//! 4. **hand loop**: the same `PAGEMAP_SCAN` as 1, written out by hand over the raw ABI
//!    (`uffd::abi::pm_scan_arg`, `uffd::sys::ioctl`): the ioctl, resumed from `walk_end`, each
//!    returned `page_region` pushed as it comes; the contender of [`Pagemap::dirty`]'s iterator
//!    (written in Rust rather than C: Debian 12's `<linux/fs.h>` predates `PAGEMAP_SCAN`,
//!    and the ABI structs it uses are the ones `verify-layout` checks against newer headers);
//! 5. **scan, batched**: 1 read a buffer at a time ([`uffd::pagemap::Regions::next_batch`]).
//!
//! Measured per epoch, the ways alternating (order reversed every other epoch): the time to
//! read and re-protect the dirty set (the writes done), and the writer's time for its `n`
//! writes under each way and on a fourth, unregistered region ("off"). Every epoch's dirty set
//! is checked against the written one, page for page; the scans must not allocate.
//!
//! The regions are `MADV_NOHUGEPAGE` (4 KiB ptes throughout, whatever the THP setting).

use crate::ffi;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use uffd::abi::page_region;
use uffd::flags::{Features, PagefaultFlags, RegisterMode, WriteprotectMode};
use uffd::pagemap::{Pagemap, Region};
use uffd::wait::{wait, Waiting};
use uffd::{Event, Uffd};

/// `MADV_NOHUGEPAGE`.
const MADV_NOHUGEPAGE: i32 = 15;

pub struct Opts {
    pub mib: usize,
    pub epochs: usize,
    /// Sync-WP writes per fraction at most (each costs a fault round trip): fewer epochs there.
    pub sync_budget: usize,
    pub label: String,
}

struct Area {
    addr: usize,
    len: usize,
}

impl Area {
    fn new(len: usize) -> Result<Area, String> {
        let addr = ffi::map(len).ok_or("mmap failed")?;
        // SAFETY: advice on our own fresh mapping. It fails (EINVAL) only on a kernel without
        // THP, which has no huge pages to avoid.
        let _ = unsafe { ffi::madvise(addr as *mut _, len, MADV_NOHUGEPAGE) };
        let a = Area { addr, len };
        // Populate every page, so that "off" writes do not fault either.
        for off in (0..len).step_by(4096) {
            // SAFETY: inside the mapping.
            unsafe { ((addr + off) as *mut u8).write_volatile(1) };
        }
        Ok(a)
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: nothing refers to the area any more (the tracker is done with it).
        unsafe { ffi::unmap(self.addr, self.len) };
    }
}

/// Writes one byte to each page of `order`; returns the nanoseconds it took.
fn write_pages(base: usize, ps: usize, order: &[u32], v: u8) -> f64 {
    let t = Instant::now();
    for &p in order {
        // SAFETY: every index is below the page count of the area at `base`.
        unsafe { ((base + p as usize * ps) as *mut u8).write_volatile(v) };
    }
    t.elapsed().as_nanos() as f64
}

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Checks that `regions` cover exactly the pages of `order`, using `mark` (one byte per page,
/// all zero on entry and on return).
fn check_set(
    what: &str,
    regions: &[Region],
    order: &[u32],
    base: usize,
    ps: usize,
    mark: &mut [u8],
) -> Result<(), String> {
    for &p in order {
        mark[p as usize] = 1;
    }
    let mut found = 0usize;
    let mut bad = None;
    for r in regions {
        for a in (r.start..r.end).step_by(ps) {
            let p = (a - base) / ps;
            match mark.get_mut(p) {
                Some(m @ 1) => {
                    *m = 2;
                    found += 1;
                }
                _ => bad = bad.or(Some(a)),
            }
        }
    }
    mark.iter_mut().for_each(|m| *m = 0);
    match bad {
        Some(a) => Err(format!(
            "{what}: page {a:#x} reported but not written (or twice)"
        )),
        None if found != order.len() => Err(format!(
            "{what}: {found} pages reported, {} written",
            order.len()
        )),
        None => Ok(()),
    }
}

/// The sync-WP handler: records and unprotects each faulting page until `stop` is readable.
fn handler(
    uffd: &Uffd,
    stop: UnixStream,
    mut rec: Vec<u32>,
    base: usize,
) -> Result<Vec<u32>, String> {
    let ps = uffd.page_size();
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 64];
    loop {
        let mut fds = [
            Waiting::uffd(uffd),
            Waiting::fd(crate::ffi::borrowed(stop.as_fd())),
        ];
        wait(&mut fds, None).map_err(|e| format!("ppoll: {e}"))?;
        let [u, stop] = fds;
        if !u.is_readable() && stop.is_ready() {
            return Ok(rec);
        }
        let Some(events) = uffd.read_events(&mut buf).map_err(|e| e.to_string())? else {
            continue;
        };
        for ev in events {
            if let Event::Pagefault { flags, address, .. } = ev.map_err(|e| e.to_string())? {
                if !flags.contains(PagefaultFlags::WP) {
                    return Err(format!("not a WP fault: {flags:?}"));
                }
                let page = address & !(ps - 1);
                rec.push(((page - base) / ps) as u32);
                uffd.writeprotect(page, ps, WriteprotectMode::empty())
                    .map_err(|e| e.to_string())?;
            }
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[derive(Default)]
struct Times {
    scan: Vec<f64>,
    hand: Vec<f64>,
    batched: Vec<f64>,
    pm: Vec<f64>,
    sync: Vec<f64>,
    w_off: Vec<f64>,
    w_async: Vec<f64>,
    w_sync: Vec<f64>,
}

/// The median of the per-epoch ratios `a[i] / b[i]` (the two ran in the same epoch, one
/// right after the other).
fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    median(&r)
}

/// The hand-written `PAGEMAP_SCAN` loop: what [`Pagemap::dirty`] does, over the raw ABI.
fn hand_scan(
    pagemap: &std::fs::File,
    start: usize,
    len: usize,
    vec: &mut [page_region],
    found: &mut Vec<Region>,
) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    use uffd::abi::{
        pm_scan_arg, PAGEMAP_SCAN, PAGE_IS_WRITTEN, PM_SCAN_CHECK_WPASYNC, PM_SCAN_WP_MATCHING,
    };
    let mut arg = pm_scan_arg {
        size: core::mem::size_of::<pm_scan_arg>() as u64,
        flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
        start: start as u64,
        end: (start + len) as u64,
        walk_end: 0,
        vec: vec.as_mut_ptr() as u64,
        vec_len: vec.len() as u64,
        max_pages: 0,
        category_inverted: 0,
        category_mask: PAGE_IS_WRITTEN,
        category_anyof_mask: 0,
        return_mask: PAGE_IS_WRITTEN,
    };
    loop {
        // SAFETY: an open pagemap; PAGEMAP_SCAN reads and writes `arg` and writes at most
        // `vec_len` regions at `vec` (the borrowed slice).
        let n = unsafe {
            uffd::sys::ioctl(
                pagemap.as_raw_fd(),
                PAGEMAP_SCAN,
                &mut arg as *mut _ as usize,
            )
        }
        .map_err(|e| format!("PAGEMAP_SCAN: {e:?}"))?;
        found.extend(vec[..n].iter().map(|&r| Region::from(r)));
        if arg.walk_end >= arg.end {
            return Ok(());
        }
        arg.start = arg.walk_end;
    }
}

pub fn run(o: Opts) -> Result<(), String> {
    let ps = uffd::sys::page_size().map_err(|e| e.to_string())?;
    let len = o.mib << 20;
    let npages = len / ps;
    let off = Area::new(len)?;
    let asy = Area::new(len)?;
    let syn = Area::new(len)?;

    // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value relies
    // on, and no other code in this process registers memory.
    let ua = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .require(Features::PAGEFAULT_FLAG_WP | Features::WP_ASYNC)
            .create()
    }
    .map_err(|e| format!("userfaultfd with WP_ASYNC: {e}"))?;
    // SAFETY: the areas are fresh mappings that no Rust value refers to: the writers reach
    // them through raw pointers only, and they stay mapped while registered.
    unsafe { ua.register(asy.addr, len, RegisterMode::WP) }.map_err(|e| e.to_string())?;
    ua.writeprotect(asy.addr, len, WriteprotectMode::WP)
        .map_err(|e| e.to_string())?;
    let us = std::sync::Arc::new(
        // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value
        // relies on, and no other code in this process registers memory.
        unsafe {
            Uffd::builder()
                .user_mode_only(true)
                .non_blocking(true)
                .require(Features::PAGEFAULT_FLAG_WP)
                .create()
        }
        .map_err(|e| format!("sync userfaultfd: {e}"))?,
    );
    // SAFETY: as above.
    unsafe { us.register(syn.addr, len, RegisterMode::WP) }.map_err(|e| e.to_string())?;
    us.writeprotect(syn.addr, len, WriteprotectMode::WP)
        .map_err(|e| e.to_string())?;
    let pm = Pagemap::open_self().map_err(|e| e.to_string())?;
    let pm_file = std::fs::File::open("/proc/self/pagemap").map_err(|e| e.to_string())?;

    let mut regions_buf = vec![page_region::zeroed(); 4096];
    let mut entries = vec![0u64; 64 << 10];
    let mut found: Vec<Region> = Vec::with_capacity(npages / 2 + 1);
    let mut mark = vec![0u8; npages];
    let mut perm: Vec<u32> = (0..npages as u32).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut scan_allocs = 0usize;

    println!(
        "\ndirty tracking, {} MiB ({npages} pages of {ps} B), {}: medians of {} epochs (sync WP: fewer \
         at large fractions, see n)",
        o.mib, o.label, o.epochs
    );
    println!(
        "| dirty | pages | scan (WP_MATCHING) ms | pagemap + WP ms | sync WP re-protect ms | \
         pagemap/scan | scan/hand loop | batched/hand loop | write off µs/page | WP_ASYNC µs/page | sync WP µs/page | added per first \
         write: async µs | sync µs | sync/async |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for frac in [0.001f64, 0.01, 0.1, 1.0] {
        let n = ((npages as f64 * frac).round() as usize).clamp(1, npages);
        let sync_epochs = (o.sync_budget / n).clamp(3, o.epochs);
        let mut t = Times::default();
        for e in 0..o.epochs {
            // n distinct random pages in random order (a partial Fisher-Yates shuffle).
            for i in 0..n {
                let j = i + (rng.next() % (npages - i) as u64) as usize;
                perm.swap(i, j);
            }
            let order = &perm[..n];
            let v = (e % 250) as u8 + 2;
            let mut ways = [0, 1, 2, 3, 4, 5];
            if e % 2 == 1 {
                ways.reverse();
            }
            for way in ways {
                match way {
                    0 => t.w_off.push(write_pages(off.addr, ps, order, v)),
                    1 => {
                        t.w_async.push(write_pages(asy.addr, ps, order, v));
                        found.clear();
                        let a0 = crate::ALLOCS.load(Relaxed);
                        let t0 = Instant::now();
                        let it = pm
                            .dirty(asy.addr, len, &mut regions_buf)
                            .map_err(|e| format!("PAGEMAP_SCAN: {e}"))?;
                        for r in it {
                            found.push(r.map_err(|e| format!("PAGEMAP_SCAN: {e}"))?);
                        }
                        let (ns, d) = (t0.elapsed().as_nanos(), crate::ALLOCS.load(Relaxed) - a0);
                        t.scan.push(ns as f64);
                        scan_allocs += d;
                        check_set("scan", &found, order, asy.addr, ps, &mut mark)?;
                    }
                    2 => {
                        t.w_async.push(write_pages(asy.addr, ps, order, v));
                        found.clear();
                        let t0 = Instant::now();
                        let it = pm
                            .written_by_entries(asy.addr, len, &mut entries)
                            .map_err(|e| format!("pagemap entries: {e}"))?;
                        for r in it {
                            let r = r.map_err(|e| format!("pagemap entries: {e}"))?;
                            ua.writeprotect(r.start, r.len(), WriteprotectMode::WP)
                                .map_err(|e| e.to_string())?;
                            found.push(r);
                        }
                        t.pm.push(t0.elapsed().as_nanos() as f64);
                        check_set("pagemap + WP", &found, order, asy.addr, ps, &mut mark)?;
                    }
                    4 => {
                        t.w_async.push(write_pages(asy.addr, ps, order, v));
                        found.clear();
                        let t0 = Instant::now();
                        hand_scan(&pm_file, asy.addr, len, &mut regions_buf, &mut found)?;
                        t.hand.push(t0.elapsed().as_nanos() as f64);
                        check_set("hand loop", &found, order, asy.addr, ps, &mut mark)?;
                    }
                    5 => {
                        t.w_async.push(write_pages(asy.addr, ps, order, v));
                        found.clear();
                        let t0 = Instant::now();
                        let mut it = pm
                            .dirty(asy.addr, len, &mut regions_buf)
                            .map_err(|e| format!("PAGEMAP_SCAN: {e}"))?;
                        while let Some(batch) = it.next_batch() {
                            let batch = batch.map_err(|e| format!("PAGEMAP_SCAN: {e}"))?;
                            found.extend(batch.iter().map(|&r| Region::from(r)));
                        }
                        t.batched.push(t0.elapsed().as_nanos() as f64);
                        check_set("scan, batched", &found, order, asy.addr, ps, &mut mark)?;
                    }
                    _ if e < sync_epochs => {
                        let (stop_tx, stop_rx) = UnixStream::pair().map_err(|e| e.to_string())?;
                        let rec = Vec::with_capacity(n);
                        let h = {
                            let us = us.clone();
                            let base = syn.addr;
                            std::thread::spawn(move || handler(&us, stop_rx, rec, base))
                        };
                        t.w_sync.push(write_pages(syn.addr, ps, order, v));
                        drop(stop_tx);
                        let mut rec = h.join().map_err(|_| "handler panicked")??;
                        found.clear();
                        let t0 = Instant::now();
                        rec.sort_unstable();
                        let mut i = 0;
                        while i < rec.len() {
                            let mut j = i + 1;
                            while j < rec.len() && rec[j] == rec[j - 1] + 1 {
                                j += 1;
                            }
                            let start = syn.addr + rec[i] as usize * ps;
                            let r = Region {
                                start,
                                end: start + (j - i) * ps,
                                categories: Default::default(),
                            };
                            us.writeprotect(r.start, r.len(), WriteprotectMode::WP)
                                .map_err(|e| e.to_string())?;
                            found.push(r);
                            i = j;
                        }
                        t.sync.push(t0.elapsed().as_nanos() as f64);
                        check_set("sync WP", &found, order, syn.addr, ps, &mut mark)?;
                    }
                    _ => {}
                }
            }
        }
        let ms = |v: &[f64]| median(v) / 1e6;
        let per = |v: &[f64]| median(v) / n as f64 / 1e3;
        let (off_us, async_us, sync_us) = (per(&t.w_off), per(&t.w_async), per(&t.w_sync));
        println!(
            "| {:.1} % | {n} | {:.2} | {:.2} | {:.2} | {:.1}x | {:.3}x | {:.3}x | {off_us:.3} | {async_us:.3} | \
             {sync_us:.2} | {:.3} | {:.2} | {:.0}x |",
            frac * 100.0,
            ms(&t.scan),
            ms(&t.pm),
            ms(&t.sync),
            median(&t.pm) / median(&t.scan),
            paired_ratio(&t.scan, &t.hand),
            paired_ratio(&t.batched, &t.hand),
            async_us - off_us,
            sync_us - off_us,
            (sync_us - off_us) / (async_us - off_us),
        );
        if sync_epochs < o.epochs {
            println!("  (sync WP at {:.1} %: {sync_epochs} epochs)", frac * 100.0);
        }
    }
    println!(
        "every epoch's dirty set equal to the written set (5 ways); heap allocations during the \
         scans: {scan_allocs}"
    );
    if scan_allocs != 0 {
        return Err(format!(
            "{scan_allocs} allocations during PAGEMAP_SCAN scans (want 0)"
        ));
    }
    Ok(())
}
