//! What the pager's std tests share (`tests/pager.rs`, `tests/pager_faults.rs`): one test at a
//! time, the userfaultfd they serve, the test source, and the release that keeps a broken
//! pager from hanging a test. Included as `mod pager_common;` next to `mod common;`.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use uffd::flags::Features;
use uffd::Uffd;

/// One test at a time: forks (a FORK case must not see other tests' forks), CPU pinning,
/// timing, global settings (`vm.nr_hugepages`).
static ONE: Mutex<()> = Mutex::new(());

/// A test's turn: it holds the lock and its deadline until dropped.
pub struct Serial {
    _one: MutexGuard<'static, ()>,
    /// Dropping it tells the deadline's thread that the test ended.
    _done: Sender<()>,
}

/// The seconds a test may take before the process fails (`UFFD_TEST_DEADLINE`, default 60;
/// the longest takes ~1.5 s).
fn deadline() -> Duration {
    let secs = std::env::var("UFFD_TEST_DEADLINE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Waits for the test's turn and arms its deadline: a broken pager leaves threads blocked on
/// faults nobody serves (in the kernel, where no panic reaches them), so a test past its
/// deadline ends the whole process with a message naming it, instead of hanging.
pub fn serial() -> Serial {
    let one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let (done, ended) = mpsc::channel::<()>();
    let name = std::thread::current().name().unwrap_or("a test").to_owned();
    let limit = deadline();
    std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(limit) {
            // Straight to the descriptor: the harness captures this thread's `eprintln!`.
            let msg = format!("FAIL {name}: not finished after {limit:?} (UFFD_TEST_DEADLINE)\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            std::process::exit(101);
        }
    });
    Serial {
        _one: one,
        _done: done,
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
