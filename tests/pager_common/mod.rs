//! What the pager's std tests share (`tests/pager.rs`, `tests/pager_faults.rs`): one test at a
//! time, the userfaultfd they serve, the test source, and the release that keeps a broken
//! pager from hanging a test. Included as `mod pager_common;` next to `mod common;`.

use std::sync::{Mutex, MutexGuard};
use uffd::flags::Features;
use uffd::pager::{PageSource, Region, Source};
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
