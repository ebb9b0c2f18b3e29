//! `uffd-bench`: the fault storm and the handler patterns, `uffd` against the C reference
//! (`c/storm.c`), alternating in one process. Normally run through `cargo xtask bench`.
//!
//! ```text
//! uffd-bench [--pages N] [--rounds R] [--restore-mib M] [--readahead W] [--no-patterns]
//! uffd-bench smoke [--pages N]            # correctness of every run, no timing
//! uffd-bench cg-storm <rust|c> <copy|zero> N   # handler forked (for valgrind --tool=callgrind)
//! uffd-bench cg-wake <rust|rust-raw|rust-empty|c> ITERS   # no-op UFFDIO_WAKE loop (callgrind)
//! uffd-bench cg-polled <c|uffd|raw> <copy|zero> N   # ppoll(uffd, exit pipe)+read+decode+COPY/ZEROPAGE, whole process
//! uffd-bench dirty [--mib N] [--epochs E] [--sync-budget W] [--label TEXT]
//!                                         # dirty tracking: PAGEMAP_SCAN vs pagemap + WP vs sync WP
//! uffd-bench pager [--mib M] [--rounds R] [--pinned] [--charts DIR] [--dir DIR]
//!                                        # snapshot restore: eager, C per-page, the pager (issue 13)
//! ```
//!
//! See [`storm`] for the handler patterns, [`dirty`] for dirty tracking, and BENCHMARKS.md for
//! results.

mod dirty;
mod ffi;
mod pager;
mod polled;
mod storm;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use storm::{Pattern, Spec};

/// Counts every heap allocation of the process (all threads).
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by Rust runs (must stay 0).
static RUST_RUN_ALLOCS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    C,
    Rust(Pattern),
}

impl Impl {
    fn name(self) -> String {
        match self {
            Impl::C => "C per-page (glibc)".into(),
            Impl::Rust(p) => format!("uffd {}", p.name()),
        }
    }
}

#[derive(Clone, Copy)]
struct Work<'a> {
    npages: usize,
    zeropage: bool,
    nthreads: usize,
    order: Option<&'a [u32]>,
    fork_handler: bool,
}

fn run_one(i: Impl, w: Work) -> Result<u64, String> {
    match i {
        Impl::C => {
            let order = w.order.map_or(core::ptr::null(), |o| o.as_ptr());
            // SAFETY: `order` (if any) holds `npages` valid page indices and outlives the call.
            let ns = unsafe {
                ffi::c_run(
                    w.npages,
                    w.zeropage as i32,
                    w.nthreads,
                    order,
                    w.fork_handler as i32,
                )
            };
            if ns < 0 {
                return Err("C run failed (or wrong contents)".into());
            }
            Ok(ns as u64)
        }
        Impl::Rust(pattern) => {
            let before = ALLOCS.load(Relaxed);
            let r = storm::run(Spec {
                npages: w.npages,
                zeropage: w.zeropage,
                nthreads: w.nthreads,
                order: w.order,
                fork_handler: w.fork_handler,
                pattern,
            });
            if r.is_ok() {
                RUST_RUN_ALLOCS.fetch_add(ALLOCS.load(Relaxed) - before, Relaxed);
            }
            r
        }
    }
}

/// A random permutation of `0..n` (xorshift64*, fixed seed: the same order for every run).
fn permutation(n: usize) -> Vec<u32> {
    permutation_seeded(n, 0x9e37_79b9_7f4a_7c15)
}

/// A random permutation of `0..n` from `seed` (xorshift64*).
fn permutation_seeded(n: usize, seed: u64) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n as u32).collect();
    let mut x: u64 = seed;
    for i in (1..n).rev() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        v.swap(i, (r % (i as u64 + 1)) as usize);
    }
    v
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs the C reference and `impls` alternately for `rounds` rounds (order reversed every
/// other round) and prints one line per Rust impl: medians and the median per-round ratio.
fn compare(title: &str, w: Work, impls: &[Pattern], rounds: usize) -> Result<(), String> {
    let mut all = vec![Impl::C];
    all.extend(impls.iter().map(|&p| Impl::Rust(p)));
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    for r in 0..rounds {
        let seq: Vec<usize> = if r % 2 == 0 {
            (0..all.len()).collect()
        } else {
            (0..all.len()).rev().collect()
        };
        for k in seq {
            let ns = run_one(all[k], w).map_err(|e| format!("{title}: {}: {e}", all[k].name()))?;
            times[k].push(ns as f64);
        }
    }
    let mb = (w.npages * 4096) as f64 / (1 << 20) as f64;
    println!("\n{title} ({} pages, {mb:.0} MiB, {} faulting thread(s), {rounds} rounds, A/B alternating)", w.npages, w.nthreads);
    println!(
        "| {:<34} | {:>12} | {:>14} | {:>18} |",
        "handler", "median ms*", "ns/page*", "speed vs C (median)"
    );
    println!("|{:-<36}|{:->14}|{:->16}|{:->20}|", "", "", "", "");
    let c_med = median(&mut times[0].clone());
    println!(
        "| {:<34} | {:>12.1} | {:>14.0} | {:>18} |",
        all[0].name(),
        c_med / 1e6,
        c_med / w.npages as f64,
        "1.00x"
    );
    for k in 1..all.len() {
        let mut ratios: Vec<f64> = times[0].iter().zip(&times[k]).map(|(c, x)| c / x).collect();
        let med = median(&mut times[k].clone());
        println!(
            "| {:<34} | {:>12.1} | {:>14.0} | {:>17.2}x |",
            all[k].name(),
            med / 1e6,
            med / w.npages as f64,
            median(&mut ratios)
        );
    }
    Ok(())
}

struct Args {
    pages: usize,
    rounds: usize,
    restore_mib: usize,
    readahead: usize,
    patterns: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        pages: 65536,
        rounds: 7,
        restore_mib: 256,
        readahead: 256,
        patterns: true,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match x.as_str() {
            "--pages" => a.pages = num("--pages")?,
            "--rounds" => a.rounds = num("--rounds")?.max(1),
            "--restore-mib" => a.restore_mib = num("--restore-mib")?,
            "--readahead" => a.readahead = num("--readahead")?.max(1),
            "--no-patterns" => a.patterns = false,
            _ => return Err(format!("unknown argument {x:?}")),
        }
    }
    Ok(a)
}

fn patterns(readahead: usize) -> Vec<Pattern> {
    vec![
        Pattern::PerPage,
        Pattern::Batched,
        Pattern::RangeWake,
        Pattern::Readahead(readahead),
    ]
}

fn bench(a: Args) -> Result<(), String> {
    let storm = |zeropage| Work {
        npages: a.pages,
        zeropage,
        nthreads: 1,
        order: None,
        fork_handler: false,
    };
    println!("(* absolute times are this machine's, under whatever load it had)");
    compare(
        "storm, UFFDIO_COPY",
        storm(false),
        &[Pattern::PerPage],
        a.rounds,
    )?;
    compare(
        "storm, UFFDIO_ZEROPAGE",
        storm(true),
        &[Pattern::PerPage],
        a.rounds,
    )?;
    if a.patterns {
        let n = a.restore_mib << 8;
        let rounds = a.rounds.div_ceil(2).max(3);
        compare(
            "(a) sequential restore",
            Work {
                npages: n,
                zeropage: false,
                nthreads: 1,
                order: None,
                fork_handler: false,
            },
            &patterns(a.readahead),
            rounds,
        )?;
        let order = permutation(a.pages);
        compare(
            "(b) random access, 2 faulting threads",
            Work {
                npages: a.pages,
                zeropage: false,
                nthreads: 2,
                order: Some(&order),
                fork_handler: false,
            },
            &patterns(a.readahead),
            rounds,
        )?;
    }
    report_allocs()
}

fn report_allocs() -> Result<(), String> {
    let n = RUST_RUN_ALLOCS.load(Relaxed);
    println!(
        "\nheap allocations during the Rust runs (open, register, handler, touch, verify): {n}"
    );
    if n != 0 {
        return Err(format!("{n} heap allocations in the Rust runs (want 0)"));
    }
    Ok(())
}

/// Every run once, contents verified (by the runs themselves), no timing judged.
fn smoke(a: Args) -> Result<(), String> {
    let order = permutation(a.pages);
    let mut impls = vec![Impl::C];
    impls.extend(
        patterns(a.readahead.min(a.pages))
            .into_iter()
            .map(Impl::Rust),
    );
    for (zeropage, nthreads, order) in [
        (false, 1, None),
        (true, 1, None),
        (false, 2, Some(&order[..])),
        (true, 2, Some(&order[..])),
    ] {
        for fork_handler in [false, true] {
            for &i in &impls {
                let w = Work {
                    npages: a.pages,
                    zeropage,
                    nthreads,
                    order,
                    fork_handler,
                };
                run_one(i, w).map_err(|e| {
                    format!(
                        "{} (zeropage {zeropage}, {nthreads} threads, fork {fork_handler}): {e}",
                        i.name()
                    )
                })?;
            }
        }
    }
    println!(
        "smoke: {} pages, C and uffd (4 handler patterns), COPY and ZEROPAGE, 1 and 2 threads, thread and forked handler: contents verified",
        a.pages
    );
    report_allocs()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("smoke") => parse(&args[1..]).and_then(|mut a| {
            if !args.iter().any(|x| x == "--pages") {
                a.pages = 4096;
            }
            smoke(a)
        }),
        Some("cg-storm") => cg_storm(&args[1..]),
        Some("cg-wake") => cg_wake(&args[1..]),
        Some("cg-polled") => cg_polled(&args[1..]),
        Some("dirty") => dirty_args(&args[1..]).and_then(dirty::run),
        Some("pager") => pager::main(&args[1..]),
        _ => parse(&args).and_then(bench),
    };
    if let Err(e) = r {
        eprintln!("uffd-bench: {e}");
        std::process::exit(1);
    }
}

fn which(s: Option<&String>) -> Result<bool, String> {
    match s.map(String::as_str) {
        Some("rust") => Ok(true),
        Some("c") => Ok(false),
        _ => Err("first argument: rust or c".into()),
    }
}

/// One storm with the handler in a forked child; prints this (parent) process's pid so that
/// the caller can tell the child's callgrind output from the parent's.
fn cg_storm(args: &[String]) -> Result<(), String> {
    let rust = which(args.first())?;
    let zeropage = match args.get(1).map(String::as_str) {
        Some("copy") => false,
        Some("zero") => true,
        _ => return Err("second argument: copy or zero".into()),
    };
    let npages = args
        .get(2)
        .and_then(|v| v.parse().ok())
        .ok_or("third argument: pages")?;
    println!("parent_pid={}", std::process::id());
    let w = Work {
        npages,
        zeropage,
        nthreads: 1,
        order: None,
        fork_handler: true,
    };
    let i = if rust {
        Impl::Rust(Pattern::PerPage)
    } else {
        Impl::C
    };
    run_one(i, w)?;
    if rust {
        report_allocs()?;
    }
    Ok(())
}

/// `cg-polled <c|uffd|raw> <copy|zero> N`: the polled handler pattern over N pages, counted
/// whole.
fn cg_polled(args: &[String]) -> Result<(), String> {
    let resolve = match args.get(1).map(String::as_str) {
        Some("copy") => polled::Resolve::Copy,
        Some("zero") => polled::Resolve::Zero,
        _ => return Err("second argument: copy or zero".into()),
    };
    let npages = args
        .get(2)
        .and_then(|v| v.parse().ok())
        .ok_or("third argument: pages")?;
    match args.first().map(String::as_str) {
        // SAFETY: plain C function without pointer arguments.
        Some("c") => {
            match unsafe { ffi::c_polled(npages, (resolve == polled::Resolve::Zero).into()) } {
                0 => Ok(()),
                _ => Err("C polled run failed".into()),
            }
        }
        Some("uffd") => polled::run(npages, polled::Via::Uffd, resolve),
        Some("raw") => polled::run(npages, polled::Via::Raw, resolve),
        _ => Err("first argument: c, uffd or raw".into()),
    }
}

fn cg_wake(args: &[String]) -> Result<(), String> {
    let iters = args
        .get(1)
        .and_then(|v| v.parse().ok())
        .ok_or("second argument: iterations")?;
    let via = match args.first().map(String::as_str) {
        Some("rust") => storm::WakeVia::Checked,
        Some("rust-raw") => storm::WakeVia::Raw,
        Some("rust-empty") => storm::WakeVia::Empty,
        Some("c") => {
            // SAFETY: plain C function without pointer arguments.
            return match unsafe { ffi::c_wake_loop(iters) } {
                0 => Ok(()),
                _ => Err("C wake loop failed".into()),
            };
        }
        _ => return Err("first argument: rust, rust-raw, rust-empty or c".into()),
    };
    storm::wake_loop(iters, via)
}

fn dirty_args(args: &[String]) -> Result<dirty::Opts, String> {
    let mut o = dirty::Opts {
        mib: 1024,
        epochs: 15,
        sync_budget: 300_000,
        label: "this run".into(),
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut val = || it.next().ok_or(format!("{x} needs a value"));
        let num = |v: &String| v.parse::<usize>().map_err(|_| format!("{x}: not a number"));
        match x.as_str() {
            "--mib" => o.mib = num(val()?)?.max(1),
            "--epochs" => o.epochs = num(val()?)?.max(1),
            "--sync-budget" => o.sync_budget = num(val()?)?,
            "--label" => o.label = val()?.clone(),
            _ => return Err(format!("unknown argument {x:?}")),
        }
    }
    Ok(o)
}
