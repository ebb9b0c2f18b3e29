//! `cargo xtask bench`: the `uffd-bench` package (benches/) built in release and run.
//!
//! ```text
//! cargo xtask bench [--pages N] [--rounds R] [--restore-mib M] [--readahead W] [--no-patterns]
//!                   wall clock: storm and handler patterns, uffd vs C, alternating
//! cargo xtask bench --callgrind [--cg-pages N1,N2]
//!                   user-space instructions per fault and per ioctl (valgrind, installed if missing)
//! cargo xtask bench --build-cost
//!                   clean release build of a small downstream binary depending on uffd
//! cargo xtask bench --all      all three
//! cargo xtask bench --smoke    the short run of `cargo xtask ci` (contents verified, no timing)
//! cargo xtask bench --dirty [--mib M] [--epochs E]
//!                   dirty tracking: PAGEMAP_SCAN (iterator and batched) vs a hand-written
//!                   PAGEMAP_SCAN loop vs pagemap + UFFDIO_WRITEPROTECT vs sync WP, pinned
//!                   (taskset -c 0) then unpinned
//! cargo xtask bench --pager [--mib M] [--rounds R]
//!                   snapshot restore: the pager (1 and 2 workers, demand only, split) vs eager
//!                   read, the per-page C handler, C ports of restore.c's bg and bg2 and the
//!                   bulk-COPY floor, alternated, every run verified; pinned (taskset -c 0)
//!                   then unpinned; SVG charts (populated, latency, Pareto) into benches/charts/
//! ```
//! Results are written up by hand in BENCHMARKS.md (with the machine and the date).

use crate::env::apt;
use crate::util::process::{cargo, have, output, root, run as sh, target_dir, Result};
use bpaf::{construct, long, Parser};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "the fault-storm benchmark vs a C reference (wall clock, callgrind, build)";

/// The options.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// `--callgrind`: instructions instead of wall clock.
    pub callgrind: bool,
    /// `--build-cost`: the downstream build instead of wall clock.
    pub build_cost: bool,
    /// `--all`: wall clock, callgrind and build cost.
    pub all: bool,
    /// `--smoke`: the short run of `cargo xtask ci` only.
    pub smoke: bool,
    /// `--dirty`: the dirty-tracking bench instead of wall clock.
    pub dirty: bool,
    /// `--pager`: the pager's snapshot-restore bench instead of wall clock.
    pub pager: bool,
    /// `--mib M` / `--epochs E` of the dirty-tracking bench.
    pub dirty_pass: Vec<String>,
    /// `--cg-pages N1,N2`.
    pub cg_pages: Option<(usize, usize)>,
    /// Passed to `uffd-bench` for the wall-clock run.
    pub pass: Vec<String>,
}

/// `N1,N2` with N1 < N2.
fn cg_pages(v: String) -> Result<(usize, usize)> {
    let (a, b) = v.split_once(',').ok_or("--cg-pages N1,N2")?;
    let p = (
        a.parse().map_err(|_| "--cg-pages N1,N2")?,
        b.parse().map_err(|_| "--cg-pages N1,N2")?,
    );
    if p.1 <= p.0 {
        return Err("--cg-pages: N2 must be larger than N1".into());
    }
    Ok(p)
}

pub fn parser() -> impl Parser<Args> {
    let callgrind = long("callgrind")
        .help("user-space instructions per fault and per ioctl under callgrind (valgrind installed if missing)")
        .switch();
    let build_cost = long("build-cost")
        .help("clean release build of a small downstream binary depending on uffd")
        .switch();
    let all = long("all")
        .help("wall clock, callgrind and build cost")
        .switch();
    let smoke = long("smoke")
        .help("the short run of `cargo xtask ci`: every pattern, contents verified, no timing")
        .switch();
    let dirty = long("dirty")
        .help("dirty tracking: PAGEMAP_SCAN (iterator, batched, hand loop) vs pagemap + UFFDIO_WRITEPROTECT vs sync WP, pinned then unpinned")
        .switch();
    let pager = long("pager")
        .help("snapshot restore: the pager vs eager read, the per-page C handler, C bg/bg2 and the bulk floor, pinned then unpinned")
        .switch();
    let cg_pages = long("cg-pages")
        .help("the two fault counts whose difference callgrind measures (default 1000,5000)")
        .argument::<String>("N1,N2")
        .parse(cg_pages)
        .optional();
    // Passed through to uffd-bench (benches/src/main.rs says what they mean).
    let value = |name: &'static str, meta: &'static str, help: &'static str| {
        long(name)
            .help(help)
            .argument::<u64>(meta)
            .optional()
            .map(move |v| v.map(|v| vec![format!("--{name}"), v.to_string()]))
    };
    let pages = value(
        "pages",
        "N",
        "wall clock: pages of the fault storm (default 65536)",
    );
    let rounds = value(
        "rounds",
        "R",
        "wall clock: rounds, uffd and C alternating (default 7); pager: rounds (default 5)",
    );
    let restore_mib = value(
        "restore-mib",
        "M",
        "wall clock: MiB of the snapshot-restore pattern (default 256)",
    );
    let readahead = value(
        "readahead",
        "W",
        "wall clock: pages per fault of the readahead pattern (default 256)",
    );
    let no_patterns = long("no-patterns")
        .help("wall clock: the storm only, not the handler patterns")
        .switch()
        .map(|b| b.then(|| vec!["--no-patterns".to_string()]));
    let pass = construct!(pages, rounds, restore_mib, readahead, no_patterns)
        .map(|(a, b, c, d, e)| [a, b, c, d, e].into_iter().flatten().flatten().collect());
    let mib = value(
        "mib",
        "M",
        "dirty: MiB registered for WP_ASYNC (default 1024); pager: MiB of the snapshot (default 1024)",
    );
    let epochs = value("epochs", "E", "dirty: epochs per fraction (default 15)");
    let dirty_pass =
        construct!(mib, epochs).map(|(a, b)| [a, b].into_iter().flatten().flatten().collect());
    construct!(Args {
        callgrind,
        build_cost,
        all,
        smoke,
        dirty,
        pager,
        dirty_pass,
        cg_pages,
        pass
    })
}

/// Builds `uffd-bench` in release and returns the binary's path.
fn build() -> Result<PathBuf> {
    sh(cargo().args(["build", "--release", "-p", "uffd-bench"]))?;
    Ok(target_dir().join("release/uffd-bench"))
}

pub fn run(a: &Args) -> Result<()> {
    if a.smoke {
        return smoke();
    }
    if a.pager {
        return pager(a);
    }
    let wall = a.all || !(a.callgrind || a.build_cost || a.dirty);
    let (cg, cost) = (a.all || a.callgrind, a.all || a.build_cost);
    let cg_pages = a.cg_pages.unwrap_or((1000, 5000));
    let pass = &a.pass;
    let bin = build()?;
    if wall {
        eprintln!("\n=== bench: wall clock (uffd-bench {})", pass.join(" "));
        sh(Command::new(&bin).args(pass))?;
    }
    if cg {
        callgrind(&bin, cg_pages)?;
    }
    if cost {
        build_cost()?;
    }
    if a.dirty {
        for pinned in [true, false] {
            let label = if pinned {
                "pinned (taskset -c 0)"
            } else {
                "unpinned"
            };
            eprintln!("\n=== bench: dirty tracking, {label}");
            let mut c = if pinned {
                let mut c = Command::new("taskset");
                c.args(["-c", "0"]).arg(&bin);
                c
            } else {
                Command::new(&bin)
            };
            sh(c.args(["dirty", "--label", label]).args(&a.dirty_pass))?;
        }
    }
    Ok(())
}

/// `--pager`: the snapshot-restore contenders pinned to CPU 0 (toucher and handler share it),
/// then unpinned; charts into benches/charts/, the snapshot file under target/.
fn pager(a: &Args) -> Result<()> {
    let bin = build()?;
    let charts = root().join("benches/charts");
    let dir = target_dir();
    // `--mib` comes with the dirty bench's values, `--rounds` with the wall clock's.
    let pick = |v: &[String], name: &str| -> Vec<String> {
        v.chunks(2)
            .filter(|c| c[0] == name)
            .flatten()
            .cloned()
            .collect()
    };
    let mut extra = pick(&a.dirty_pass, "--mib");
    extra.extend(pick(&a.pass, "--rounds"));
    for pinned in [true, false] {
        let mut c = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        c.arg("pager")
            .arg("--charts")
            .arg(&charts)
            .arg("--dir")
            .arg(&dir);
        if pinned {
            c.arg("--pinned");
        }
        sh(c.args(&extra))?;
    }
    Ok(())
}

/// The smoke run for `cargo xtask ci`: a few thousand pages, both implementations, every
/// pattern, contents verified; no timing judged.
fn smoke() -> Result<()> {
    let bin = build()?;
    sh(Command::new(bin).args(["smoke", "--pages", "4096"]))
}

/// Runs `bin args` under callgrind and returns the `totals` of every output file except
/// the parent's (named by `parent_pid=` on stdout when the handler is forked).
fn cg_run(bin: &Path, args: &[&str], toggle: Option<&str>) -> Result<u64> {
    let dir = target_dir().join("bench-callgrind");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut c = Command::new("valgrind");
    c.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}/cg.%p", dir.display()));
    if let Some(t) = toggle {
        c.arg(format!("--toggle-collect={t}"));
    }
    let out = output(c.arg(bin).args(args))?;
    let parent = out
        .lines()
        .find_map(|l| l.strip_prefix("parent_pid="))
        .map(str::to_owned);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    if let Some(p) = &parent {
        files.retain(|f| !f.to_string_lossy().ends_with(&format!(".{p}")));
    }
    if files.len() != 1 {
        return Err(format!("callgrind: expected one profile, got {files:?}"));
    }
    let text = std::fs::read_to_string(&files[0]).map_err(|e| e.to_string())?;
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("totals: "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("callgrind: no totals")?;
    if toggle.is_none() {
        // Keep the profile for the glibc ioctl() attribution.
        let keep = dir.with_extension("last");
        let _ = std::fs::copy(&files[0], keep);
    }
    Ok(total)
}

/// Runs `bin args` under callgrind and returns the `totals` of every process it ran (the
/// faulting parent and the forked handler): what the whole program pays.
fn cg_total(bin: &Path, args: &[&str]) -> Result<u64> {
    let dir = target_dir().join("bench-callgrind-total");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    output(
        Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}/cg.%p", dir.display()))
            .arg(bin)
            .args(args),
    )?;
    let mut total = 0;
    let mut files = 0;
    for e in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
        let text = std::fs::read_to_string(e.map_err(|e| e.to_string())?.path())
            .map_err(|e| e.to_string())?;
        total += text
            .lines()
            .find_map(|l| l.strip_prefix("totals: "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or("callgrind: no totals")?;
        files += 1;
    }
    if files != 2 {
        return Err(format!("callgrind: expected two processes, got {files}"));
    }
    Ok(total)
}

/// Inclusive-free Ir of the functions whose name contains `needle` in the last kept profile.
fn fn_ir(needle: &str) -> Result<u64> {
    let f = target_dir().join("bench-callgrind.last");
    let out = output(Command::new("callgrind_annotate").arg(&f))?;
    Ok(out
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            l.split_whitespace()
                .next()?
                .replace(',', "")
                .parse::<u64>()
                .ok()
        })
        .sum())
}

fn callgrind(bin: &Path, (n1, n2): (usize, usize)) -> Result<()> {
    if !have("valgrind") {
        apt::install(&["valgrind"])?;
    }
    eprintln!(
        "\n=== bench: callgrind (user-space instructions, marginal between N={n1} and N={n2})"
    );
    let d = (n2 - n1) as f64;
    let mut rows = Vec::new();
    for (mode, label) in [("copy", "UFFDIO_COPY"), ("zero", "UFFDIO_ZEROPAGE")] {
        let mut per = [0f64; 2];
        for (k, (imp, toggle)) in [("c", "handler"), ("rust", "uffd_bench::storm::handle")]
            .into_iter()
            .enumerate()
        {
            let a = cg_run(bin, &["cg-storm", imp, mode, &n1.to_string()], Some(toggle))?;
            let b = cg_run(bin, &["cg-storm", imp, mode, &n2.to_string()], Some(toggle))?;
            per[k] = (b as f64 - a as f64) / d;
        }
        rows.push(format!(
            "| storm {label}: handler instructions per fault | {:.1} | {:.1} | {:.2}x |",
            per[0],
            per[1],
            per[0] / per[1]
        ));
    }
    let (w1, w2) = (1000usize, 11000usize);
    let dw = (w2 - w1) as f64;
    let wake = |imp: &str| -> Result<(f64, u64)> {
        let a = cg_run(bin, &["cg-wake", imp, &w1.to_string()], None)?;
        let fa = if imp == "c" { fn_ir(":ioctl [")? } else { 0 };
        let b = cg_run(bin, &["cg-wake", imp, &w2.to_string()], None)?;
        let fb = if imp == "c" { fn_ir(":ioctl [")? } else { 0 };
        Ok(((b as f64 - a as f64) / dw, fb - fa))
    };
    let (c_loop, c_fn) = wake("c")?;
    let (r_loop, _) = wake("rust")?;
    let (raw_loop, _) = wake("rust-raw")?;
    let (empty_loop, _) = wake("rust-empty")?;
    rows.push(format!(
        "| no-op UFFDIO_WAKE loop, per iteration | {c_loop:.1} | {r_loop:.1} | {:.2}x |",
        c_loop / r_loop
    ));
    // Whole process (both sides of the fault), the polled handler: ppoll on the userfaultfd and
    // an exit pipe, read, decode, COPY or ZEROPAGE.
    let (p1, p2) = (n1.max(1000), n2.max(11000));
    let dp = (p2 - p1) as f64;
    let whole = |imp: &str, mode: &str| -> Result<f64> {
        let a = cg_total(bin, &["cg-polled", imp, mode, &p1.to_string()])?;
        let b = cg_total(bin, &["cg-polled", imp, mode, &p2.to_string()])?;
        Ok((b as f64 - a as f64) / dp)
    };
    let mut floors = Vec::new();
    for (mode, label) in [("copy", "COPY"), ("zero", "ZEROPAGE")] {
        let (c, u, raw) = (whole("c", mode)?, whole("uffd", mode)?, whole("raw", mode)?);
        rows.push(format!(
            "| whole process per {label} fault (ppoll on uffd + exit pipe, read, decode, {label}; handler and faulting side) | {c:.1} | {u:.1} | {:.2}x |",
            c / u
        ));
        floors.push(format!("{label} {raw:.1}"));
    }
    println!("\n| callgrind, user-space instructions | C (glibc) | uffd | C / uffd |");
    println!("|---|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
    println!(
        "\nwhole process per fault over uffd::sys (bare inline syscalls, the floor): {}",
        floors.join(", ")
    );
    println!(
        "\nper-iteration detail: glibc ioctl() itself {:.1}; uffd::sys::ioctl (bare inline syscall) loop {raw_loop:.1}; \
         loop with black_box'd arguments and no call {empty_loop:.1}",
        c_fn as f64 / dw
    );
    Ok(())
}

/// A clean release build of a small binary depending on `uffd` (path dependency), in its own
/// workspace and target dir under target/: time, crates compiled, stripped size.
fn build_cost() -> Result<()> {
    eprintln!("\n=== bench: build cost of a downstream binary");
    let dir = target_dir().join("bench-downstream");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let manifest = format!(
        "[package]\nname = \"downstream\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nuffd = {{ path = {:?} }}\n\n[workspace]\n",
        root().display().to_string()
    );
    let main = r#"fn main() {
    // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value relies
    // on, and no other code in this process registers memory.
    match unsafe { uffd::Uffd::builder().create() } {
        Ok(u) => println!("userfaultfd {} features {:?}", u.as_raw_fd(), u.available_features()),
        Err(e) => println!("no userfaultfd: {e}"),
    }
}
"#;
    let w = |p: PathBuf, s: &str| std::fs::write(p, s).map_err(|e| e.to_string());
    w(dir.join("Cargo.toml"), &manifest)?;
    w(dir.join("src/main.rs"), main)?;
    // The workspace's lock: the same versions, no registry index needed.
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    let mut c = cargo();
    c.current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .args(["build", "--release", "--offline"]);
    let t = Instant::now();
    let out = c.output().map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("downstream build failed:\n{log}"));
    }
    let compiled = log
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling"))
        .count();
    let bin = dir.join("target/release/downstream");
    let stripped = dir.join("downstream.stripped");
    sh(Command::new("strip").arg("-o").arg(&stripped).arg(&bin))?;
    let size = std::fs::metadata(&stripped)
        .map_err(|e| e.to_string())?
        .len();
    let unstripped = std::fs::metadata(&bin).map_err(|e| e.to_string())?.len();
    let run = output(&mut Command::new(&bin)).unwrap_or_default();
    println!("\n| downstream binary (uffd as path dependency, default release profile) | |");
    println!("|---|---:|");
    println!("| clean `cargo build --release` wall time (this machine) | {secs:.2} s |");
    println!("| crates compiled (incl. itself) | {compiled} |");
    println!(
        "| stripped binary size | {size} bytes ({:.0} KiB) |",
        size as f64 / 1024.0
    );
    println!("| unstripped | {unstripped} bytes |");
    println!("\ndownstream says: {}", run.trim());
    Ok(())
}
