//! `uffd-bench pager`: restoring a snapshot file (warm in the page cache) into private
//! anonymous memory, contenders alternated in one run (see BENCHMARKS.md, issue 13):
//!
//! - eager: `pread` the whole file into the memory, then let the toucher run;
//! - the per-page C handler (`c/perpage.c`): poll, read one message, `UFFDIO_COPY` one page;
//! - the pager with demand faults and readahead (1 MiB windows);
//! - the pager with a background fill (128 KiB pieces), one worker (fault windows of 512 KiB
//!   from any fault, growing to 1 MiB on sequential ones) and two (windows only on
//!   sequential faults, from one page to 1 MiB);
//! - the floor: `UFFDIO_COPY` of the whole region in 2 MiB pieces, no toucher.
//!
//! The toucher reads one word of every page sequentially, of every page in a random order, or
//! of a random 10 % of the pages, timing each touch. Before each run, more memory than a run
//! uses is touched and freed (untimed). Run it pinned (`taskset -c 0 uffd-bench pager
//! --pinned`) and unpinned; `cargo xtask bench --pager` does both.
//!
//! ```text
//! uffd-bench pager [--mib M] [--rounds R] [--pinned] [--charts DIR] [--dir DIR]
//!                  [--only NAME,NAME..] [--patterns sequential,random,ws10]
//!                  [--fill-piece KiB] [--fault-window KiB] [--shared-fault-window KiB]
//!                  [--readahead KiB]
//! ```

mod chart;
mod run;

use run::{Contender, Outcome, Tuning, Work};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    Sequential,
    Random,
    WorkingSet,
}

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::Sequential => "sequential",
            Pattern::Random => "random",
            Pattern::WorkingSet => "random 10 %",
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Pattern::Sequential => "sequential",
            Pattern::Random => "random",
            Pattern::WorkingSet => "ws10",
        }
    }
}

const CONTENDERS: [Contender; 8] = [
    Contender::Eager,
    Contender::CPerPage,
    Contender::CBg(1),
    Contender::CBg(2),
    Contender::PagerReadahead,
    Contender::PagerFill(1),
    Contender::PagerFill(2),
    Contender::Floor,
];

struct Args {
    /// Only contenders whose name contains one of these comma-separated words (the tables
    /// then leave the others' cells empty).
    only: Option<String>,
    /// Only these patterns (`sequential,random,ws10`).
    patterns: Option<String>,
    mib: usize,
    rounds: usize,
    pinned: bool,
    charts: Option<PathBuf>,
    dir: PathBuf,
    tuning: Tuning,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        only: None,
        patterns: None,
        mib: 1024,
        rounds: 5,
        pinned: false,
        charts: None,
        dir: std::env::temp_dir(),
        tuning: Tuning::default(),
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut val = |n: &str| it.next().cloned().ok_or(format!("{n} needs a value"));
        match x.as_str() {
            "--mib" => a.mib = val("--mib")?.parse().map_err(|_| "--mib N")?,
            "--rounds" => {
                a.rounds = val("--rounds")?
                    .parse::<usize>()
                    .map_err(|_| "--rounds N")?
                    .max(1)
            }
            "--pinned" => a.pinned = true,
            "--charts" => a.charts = Some(val("--charts")?.into()),
            "--dir" => a.dir = val("--dir")?.into(),
            "--only" => a.only = Some(val("--only")?),
            "--patterns" => a.patterns = Some(val("--patterns")?),
            "--fill-piece"
            | "--fault-window"
            | "--shared-fault-window"
            | "--readahead"
            | "--shared-piece" => {
                let kib: usize = val(x)?.parse().map_err(|_| format!("{x} KiB"))?;
                let t = &mut a.tuning;
                *match x.as_str() {
                    "--fill-piece" => &mut t.fill_piece,
                    "--fault-window" => &mut t.fault_window,
                    "--shared-fault-window" => &mut t.shared_fault_window,
                    "--shared-piece" => &mut t.shared_piece,
                    _ => &mut t.readahead,
                } = kib << 10;
            }
            _ => return Err(format!("unknown argument {x:?}")),
        }
    }
    Ok(a)
}

/// The snapshot file (every word of page p holds p), created if missing, read once so it is
/// warm in the page cache, and mapped (populated) for the copying contenders.
fn snapshot(a: &Args, page: usize) -> Result<(std::fs::File, &'static [u8]), String> {
    let len = a.mib << 20;
    let path = a.dir.join(format!("uffd-bench-snapshot-{}.bin", a.mib));
    let fresh = std::fs::metadata(&path)
        .map(|m| m.len() != len as u64)
        .unwrap_or(true);
    if fresh {
        let mut buf = vec![0u8; len];
        for (p, chunk) in buf.chunks_mut(page).enumerate() {
            for w in chunk.chunks_mut(8) {
                w.copy_from_slice(&(p as u64).to_ne_bytes());
            }
        }
        std::fs::write(&path, &buf).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
    std::io::copy(&mut &file, &mut std::io::sink()).map_err(|e| e.to_string())?;
    use std::os::fd::AsRawFd;
    // SAFETY: a read-only private mapping of a file nobody writes during the run; leaked for
    // the program's lifetime.
    let p = unsafe {
        crate::ffi::mmap(
            core::ptr::null_mut(),
            len,
            crate::ffi::PROT_READ,
            crate::ffi::MAP_PRIVATE | crate::ffi::MAP_POPULATE,
            file.as_raw_fd(),
            0,
        )
    };
    if p == crate::ffi::MAP_FAILED {
        return Err("mmap snapshot".into());
    }
    // SAFETY: `len` readable bytes, mapped until exit, never written.
    Ok((file, unsafe {
        std::slice::from_raw_parts(p as *const u8, len)
    }))
}

pub fn main(args: &[String]) -> Result<(), String> {
    let a = parse(args)?;
    let page = uffd::sys::page_size().map_err(|e| e.to_string())?;
    let (file, snap) = snapshot(&a, page)?;
    let n = snap.len() / page;
    let perm = crate::permutation(n);
    let ws: Vec<u32> = crate::permutation_seeded(n, 0x5bd1_e995)[..n / 10].to_vec();
    let seq: Vec<u32> = (0..n as u32).collect();
    let mode = if a.pinned { "pinned" } else { "unpinned" };
    println!(
        "\npager bench, {mode}: {} MiB snapshot file (warm) into private anonymous memory, {} rounds, contenders alternated (order reversed every other round); {} CPUs online",
        a.mib,
        a.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "pager policy: fill pieces {} KiB, fault windows {} KiB (one worker) / {} KiB (several) growing to {} KiB",
        a.tuning.fill_piece >> 10,
        a.tuning.fault_window >> 10,
        a.tuning.shared_fault_window >> 10,
        a.tuning.readahead >> 10
    );
    let (mut all, mut pats) = (Vec::new(), Vec::new());
    for pattern in [Pattern::Sequential, Pattern::Random, Pattern::WorkingSet] {
        if a.patterns
            .as_ref()
            .is_some_and(|p| !p.split(',').any(|x| x == pattern.slug()))
        {
            continue;
        }
        let order: &[u32] = match pattern {
            Pattern::Sequential => &seq,
            Pattern::Random => &perm,
            Pattern::WorkingSet => &ws,
        };
        let work = Work {
            snapshot: snap,
            file: &file,
            page,
            order,
            all_pages: pattern != Pattern::WorkingSet,
            tuning: a.tuning,
        };
        let mut res: Vec<Vec<Outcome>> = vec![Vec::new(); CONTENDERS.len()];
        for r in 0..a.rounds {
            let seq: Vec<usize> = if r % 2 == 0 {
                (0..CONTENDERS.len()).collect()
            } else {
                (0..CONTENDERS.len()).rev().collect()
            };
            for k in seq {
                if a.only
                    .as_ref()
                    .is_some_and(|o| !o.split(',').any(|w| CONTENDERS[k].name().contains(w)))
                {
                    continue;
                }
                run::pretouch_and_free(snap.len(), page)?;
                run::rewarm(work.snapshot, page);
                let o = run::run(CONTENDERS[k], &work)
                    .map_err(|e| format!("{} {}: {e}", pattern.name(), CONTENDERS[k].name()))?;
                res[k].push(o);
            }
        }
        report(pattern, &res, n);
        if let Some(dir) = &a.charts {
            chart::populated(dir, mode, pattern, &CONTENDERS, &res, n)?;
        }
        all.push(res);
        pats.push(pattern);
    }
    first_access(&all);
    if let Some(dir) = &a.charts {
        chart::latency(dir, mode, &CONTENDERS, &all)?;
        chart::pareto(dir, mode, &CONTENDERS, &pats, &all)?;
    }
    Ok(())
}

pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn idx(c: Contender) -> usize {
    CONTENDERS.iter().position(|&x| x == c).unwrap()
}

/// One table per pattern: medians over rounds, ratios per round.
fn report(p: Pattern, res: &[Vec<Outcome>], n: usize) {
    let ms = |x: f64| x / 1e6;
    let med = |k: usize, f: &dyn Fn(&Outcome) -> Option<f64>| -> f64 {
        median(&mut res[k].iter().filter_map(f).collect::<Vec<_>>())
    };
    let ratio = |k: usize, base: usize, inv: bool| -> f64 {
        let mut v: Vec<f64> = res[k]
            .iter()
            .zip(&res[base])
            .map(|(x, b)| {
                if inv {
                    b.total as f64 / x.total as f64
                } else {
                    x.total as f64 / b.total as f64
                }
            })
            .collect();
        median(&mut v)
    };
    let (eager, cpp, floor, bg, bg2) = (
        idx(Contender::Eager),
        idx(Contender::CPerPage),
        idx(Contender::Floor),
        idx(Contender::CBg(1)),
        idx(Contender::CBg(2)),
    );
    println!(
        "\n#### {} ({} of {n} pages touched)\n",
        p.name(),
        if p == Pattern::WorkingSet { n / 10 } else { n }
    );
    println!("| contender | toucher done (ms) | ÷ eager | per-page C ÷ this | ÷ floor | ÷ C bg | ÷ C bg2 | fully populated (ms) | handler CPU (ms) | MiB copied | faulting touches | fault median / p99 (µs) | median fault during fill (µs) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (k, c) in CONTENDERS
        .iter()
        .enumerate()
        .filter(|(k, _)| !res[*k].is_empty())
    {
        let total = med(k, &|o| Some(o.total as f64));
        let pop = med(k, &|o| o.populated.map(|x| x as f64));
        let cpu = med(k, &|o| Some(o.cpu as f64));
        let mib = med(k, &|o| Some(o.bytes as f64 / (1 << 20) as f64));
        let nf = med(k, &|o| Some(o.faults.len() as f64));
        let mut lat: Vec<f64> = res[k]
            .iter()
            .flat_map(|o| o.faults.iter().map(|f| f.1 as f64 / 1e3))
            .collect();
        let (lm, lp) = (median(&mut lat.clone()), quantile(&mut lat, 0.99));
        let during = if matches!(c, Contender::PagerFill(_) | Contender::CBg(_)) {
            let mut v: Vec<f64> = res[k]
                .iter()
                .flat_map(|o| {
                    let end = o.populated.unwrap_or(u64::MAX);
                    o.faults
                        .iter()
                        .filter(move |f| f.0 < end)
                        .map(|f| f.1 as f64 / 1e3)
                })
                .collect();
            format!("{:.0} (n={})", median(&mut v), v.len())
        } else {
            "-".into()
        };
        let f = |x: f64| {
            if x.is_nan() {
                "-".to_string()
            } else {
                format!("{x:.1}")
            }
        };
        let na_touch = *c == Contender::Floor;
        println!(
            "| {} | {} | {:.2}x | {} | {:.2}x | {:.2}x | {:.2}x | {} | {:.1} | {:.0} | {} | {} | {} |",
            c.name(),
            if na_touch {
                format!("({:.1})", ms(total))
            } else {
                format!("{:.1}", ms(total))
            },
            ratio(k, eager, false),
            if k == cpp {
                "1.00x".into()
            } else {
                format!("{:.2}x", ratio(k, cpp, true))
            },
            ratio(k, floor, false),
            ratio(k, bg, false),
            ratio(k, bg2, false),
            f(ms(pop)),
            ms(cpu),
            mib,
            if na_touch {
                "-".into()
            } else {
                format!("{nf:.0}")
            },
            if lat.is_empty() {
                "-".into()
            } else {
                format!("{lm:.0} / {lp:.0}")
            },
            during
        );
    }
}

/// First access: the toucher's first touch of every run, pooled over rounds and patterns.
fn first_access(all: &[Vec<Vec<Outcome>>]) {
    println!("\n#### first access (the toucher's first touch right after the handler is ready; all runs pooled)\n");
    println!("| contender | samples | median (µs) | p99 (µs) | max (µs) |");
    println!("|---|---:|---:|---:|---:|");
    for (k, c) in CONTENDERS.iter().enumerate() {
        if matches!(c, Contender::Floor | Contender::Eager) {
            continue;
        }
        let v: Vec<f64> = all
            .iter()
            .flat_map(|p| p[k].iter().filter_map(|o| o.first.map(|x| x as f64 / 1e3)))
            .collect();
        if v.is_empty() {
            continue;
        }
        let m = median(&mut v.clone());
        let p99 = quantile(&mut v.clone(), 0.99);
        let max = v.iter().cloned().fold(0.0, f64::max);
        println!(
            "| {} | {} | {m:.0} | {p99:.0} | {max:.0} |",
            c.name(),
            v.len()
        );
    }
}
