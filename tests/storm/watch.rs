//! The storm's progress watchdog and its diagnosis, and releasing blocked threads.

use std::sync::atomic::Ordering::*;
use std::time::{Duration, Instant};

use uffd::pager::Pager;
use uffd::Uffd;

use crate::{Cfg, Shared};

/// Unregisters `[lo, lo + len)` from `u`: threads blocked on faults nobody serves any more
/// get the kernel's own pages (a broken pager then fails on contents, not by hanging).
pub fn release(u: &Uffd, lo: usize, len: usize) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    for l in maps.lines() {
        let Some((a, b)) = l.split_once(' ').and_then(|(r, _)| r.split_once('-')) else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
            if a >= lo && b <= lo + len {
                let _ = u.unregister(a, b - a);
            }
        }
    }
}

/// Each thread of this process: id, name, state and where it sleeps in the kernel.
fn threads() -> String {
    let mut out = String::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in dir.flatten() {
        let p = t.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
        let stat = read("stat");
        let state = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 2..i + 3))
            .unwrap_or("?")
            .to_string();
        out += &format!(
            "\n    {} {} {} {}",
            t.file_name().to_string_lossy(),
            read("comm").trim(),
            state,
            read("wchan").trim()
        );
    }
    out
}

/// Ends the process with a diagnosis if nothing progresses for `limit` (a hang would
/// otherwise leave the run waiting forever: its threads sleep in faults nobody serves).
pub fn watchdog(sh: &Shared, pager: &Pager<'_>, cfg: &Cfg, limit: Duration) {
    let mut last = sh.progress.load(Relaxed);
    let mut since = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if sh.done.load(Acquire) {
            return;
        }
        let now = sh.progress.load(Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
            continue;
        }
        if since.elapsed() >= limit {
            // What follows allocates, which blocks for good if a thread hangs in fork()
            // (glibc holds the allocator's locks there): say so without allocating, and let
            // SIGALRM end the process if the diagnosis cannot finish.
            let line = b"storm: no progress; diagnosing (SIGALRM in 10 s if this hangs)\n";
            extern "C" {
                fn write(fd: i32, buf: *const u8, n: usize) -> isize;
                fn alarm(secs: u32) -> u32;
            }
            // SAFETY: writes a static buffer to stderr; arms a timer.
            unsafe {
                write(2, line.as_ptr(), line.len());
                alarm(10);
            }
            let log = sh.log.lock().map(|l| l.iter().cloned().collect::<Vec<_>>());
            eprintln!(
                "storm: seed {}: no progress for {:?} ({cfg:?})\n  pager: {:?}, queued faults \
                 unserved, failed: {}\n  last operations:\n    {}\n  threads (tid, name, \
                 state, kernel wait):{}\n  rerun: UFFD_STORM_FROM={} UFFD_STORM_SEEDS=1 \
                 UFFD_STORM_OPS={}",
                cfg.seed,
                limit,
                pager.counters(),
                pager.has_failed(),
                log.map(|l| l.join("\n    ")).unwrap_or_default(),
                threads(),
                cfg.seed,
                cfg.ops
            );
            std::process::exit(3);
        }
    }
}
