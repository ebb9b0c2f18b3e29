//! Hugetlb on the host (issue 11), with 2 MiB pages: anonymous `MAP_HUGETLB` with MISSING +
//! COPY, `memfd_create(MFD_HUGETLB)` with MINOR + CONTINUE, what the range check does with a
//! range aligned to the base page but not to the huge page, how a handler rounds a fault
//! address, and page sizes that cannot be one.
//!
//! The tests reserve the 2 MiB pages they need themselves when run as root (raising
//! `/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages`, which is `vm.nr_hugepages` where
//! 2 MiB is the default huge page size, and restoring it afterwards), and skip, saying why,
//! only where none can be had. One test at a time (a lock): they share the pool.

#![allow(clippy::result_large_err)]

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use common::{created, raw_has_userfaultfd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use suite::rt::{self, Map};
use uffd::flags::*;
use uffd::{Builder, Call, Errno, Error, Event, OpenStrategy, RangeError, Uffd};

/// The huge page size under test.
const HUGE: usize = 2 << 20;
/// `MAP_HUGE_2MB` / `MFD_HUGE_2MB`: log2(2 MiB) << 26 (`linux/mman.h`, `linux/memfd.h`),
/// naming the size instead of relying on the default huge page size.
const HUGE_2MB: usize = 21 << 26;
/// Where the kernel keeps the 2 MiB pool (`vm.nr_hugepages` is the default size's).
const POOL: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `need` free 2 MiB pages, held for the test; the pool size is restored on drop.
struct HugePages {
    _lock: MutexGuard<'static, ()>,
    restore: Option<usize>,
}

impl Drop for HugePages {
    fn drop(&mut self) {
        if let Some(n) = self.restore {
            let _ = std::fs::write(format!("{POOL}/nr_hugepages"), n.to_string());
        }
    }
}

fn read_num(path: &str) -> Result<usize, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    s.trim().parse().map_err(|e| format!("{path}: {s:?}: {e}"))
}

/// Reserves `need` free 2 MiB huge pages, or says why not (the skip reason).
/// Free 2 MiB pages not reserved by another process's mapping (a concurrent test run).
fn unreserved() -> Result<usize, String> {
    let free = read_num(&format!("{POOL}/free_hugepages"))?;
    Ok(free.saturating_sub(read_num(&format!("{POOL}/resv_hugepages"))?))
}

fn huge_pages(need: usize) -> Result<HugePages, String> {
    let lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !std::path::Path::new(POOL).exists() {
        return Err(format!(
            "no 2 MiB huge pages on this kernel ({POOL} missing)"
        ));
    }
    let free = unreserved()?;
    if free >= need {
        return Ok(HugePages {
            _lock: lock,
            restore: None,
        });
    }
    let total = read_num(&format!("{POOL}/nr_hugepages"))?;
    if rt::getuid_is_root() != Some(true) {
        return Err(format!(
            "not root: cannot raise {POOL}/nr_hugepages (vm.nr_hugepages) from {total}; \
             {free} of the {need} free 2 MiB huge pages needed"
        ));
    }
    let guard = HugePages {
        _lock: lock,
        restore: Some(total),
    };
    let want = total + need - free;
    std::fs::write(format!("{POOL}/nr_hugepages"), want.to_string())
        .map_err(|e| format!("raising {POOL}/nr_hugepages to {want}: {e}"))?;
    let free = unreserved()?;
    if free < need {
        // `guard` restores the old size.
        return Err(format!(
            "the kernel gave {free} of the {need} free 2 MiB huge pages asked for \
             (nr_hugepages {want}: memory too fragmented?)"
        ));
    }
    Ok(guard)
}

/// What every test needs: userfaultfd, `need` huge pages, and a non-blocking uffd (the
/// handlers poll with a timeout) with `required` (plus `requested` where offered). `None`
/// after printing the skip reason.
fn setup(
    test: &str,
    need: usize,
    required: Features,
    requested: Features,
) -> Option<(HugePages, Uffd)> {
    if !raw_has_userfaultfd(test) {
        return None;
    }
    let pages = match huge_pages(need) {
        Ok(p) => p,
        Err(why) => {
            println!("SKIP {test}: {why}");
            return None;
        }
    };
    let u = created(
        test,
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        unsafe {
            Builder::new()
                .open_strategy(OpenStrategy::SyscallOnly)
                .user_mode_only(true)
                .non_blocking(true)
                .require(required)
                .request(requested)
                .create()
        },
    )?;
    Some((pages, u))
}

/// `len` bytes of private anonymous 2 MiB huge pages.
fn anon_huge(len: usize) -> Map {
    let flags = rt::MAP_PRIVATE | rt::MAP_ANONYMOUS | nix::libc::MAP_HUGETLB as usize | HUGE_2MB;
    let m = rt::mmap(0, len, flags, -1).expect("mmap(MAP_HUGETLB | MAP_HUGE_2MB)");
    assert_eq!(m.addr % HUGE, 0, "a hugetlb mapping starts on a huge page");
    m
}

/// A huge page's worth of `page`-dependent bytes.
fn pattern(page: usize) -> Vec<u8> {
    (0..HUGE)
        .map(|i| (i.wrapping_mul(7) ^ page.wrapping_mul(31) ^ (i >> 12)) as u8)
        .collect()
}

/// Offsets checked in each huge page: its first and last byte, its base pages' edges.
fn offsets() -> impl Iterator<Item = usize> {
    let ps = uffd::sys::page_size().unwrap();
    [0, 1, ps - 1, ps, HUGE / 2 + 3, HUGE - ps, HUGE - 1].into_iter()
}

/// Runs `handle` on a thread of its own while `fault` runs here. A handler that fails (or
/// panics) unregisters `[start, start+len)` and wakes it, so that the faulting thread goes on
/// (with fresh pages) instead of staying blocked, and the handler's error is reported.
fn with_handler<R: Send, T>(
    u: &Uffd,
    start: usize,
    len: usize,
    handle: impl FnOnce() -> Result<R, String> + Send,
    fault: impl FnOnce() -> T,
) -> (Result<R, String>, T) {
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(handle))
                .unwrap_or_else(|_| Err("the handler panicked".into()));
            if r.is_err() {
                // Unregistering wakes MISSING waiters only; the WAKE wakes MINOR ones too, and
                // their retried fault is then an ordinary one.
                let _ = u.unregister(start, len);
                let _ = u.wake(start, len);
            }
            r
        });
        let t = fault();
        (
            h.join()
                .unwrap_or_else(|_| Err("the handler panicked".into())),
            t,
        )
    })
}

/// The next event (the uffd is non-blocking), waiting up to 10 s.
fn next_event(u: &Uffd) -> Result<Event, String> {
    if !u
        .poll(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?
    {
        return Err("no event within 10 s".into());
    }
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 1];
    let mut ev = u
        .read_events(&mut buf)
        .map_err(|e| e.to_string())?
        .ok_or("nothing to read after poll")?;
    ev.next()
        .ok_or("no message")?
        .map_err(|e| format!("decode: {e}"))
}

/// The next event must be a page fault: (address, flags).
fn next_fault(u: &Uffd) -> Result<(usize, PagefaultFlags), String> {
    match next_event(u)? {
        Event::Pagefault { address, flags, .. } => Ok((address, flags)),
        e => Err(format!("want a page fault, got {e:?}")),
    }
}

/// (a) 2 MiB anonymous `MAP_HUGETLB`, registered MISSING through `Uffd::hugetlb`: each first
/// touch of a huge page is one fault, resolved by one 2 MiB COPY from a handler thread; the
/// contents are the handler's. The range's ioctls are those of hugetlb (no ZEROPAGE).
#[test]
fn missing_copy_anonymous_2m() {
    let Some((_pages, u)) = setup(
        "missing_copy_anonymous_2m",
        2,
        Features::MISSING_HUGETLBFS,
        Features::empty(),
    ) else {
        return;
    };
    let h = u.hugetlb(HUGE).unwrap();
    assert_eq!(h.page_size(), HUGE);
    let area = anon_huge(2 * HUGE);
    // SAFETY: `area` is a fresh mmap that no Rust value refers to; it is read only through
    // raw pointers (`Map::read`).
    let ioctls = unsafe { h.register(area.addr, 2 * HUGE, RegisterMode::MISSING) }.unwrap();
    assert!(ioctls.contains(Ioctls::COPY | Ioctls::WAKE), "{ioctls:?}");
    // mm/userfaultfd.c: hugetlb ranges get the basic ioctls, without ZEROPAGE.
    assert!(!ioctls.contains(Ioctls::ZEROPAGE), "{ioctls:?}");
    let sources = [pattern(0), pattern(1)];
    let base = area.addr;
    let (served, seen) = with_handler(
        &u,
        area.addr,
        2 * HUGE,
        || {
            let mut pages = Vec::new();
            for _ in 0..2 {
                let (addr, flags) = next_fault(&u)?;
                if flags.contains(PagefaultFlags::WP) {
                    return Err(format!("a missing fault with WP: {flags:?}"));
                }
                let page = h.page_start(addr);
                let i = page.wrapping_sub(base) / HUGE;
                if i >= 2 || pages.contains(&i) {
                    return Err(format!(
                        "fault at {addr:#x} (area {base:#x}, seen {pages:?})"
                    ));
                }
                pages.push(i);
                // DONTWAKE: the faulting thread sleeps on until the WAKE (without it, the
                // next fault never comes and `next_fault` times out).
                h.copy(page, &sources[i], CopyMode::DONTWAKE)
                    .map_err(|e| format!("copy huge page {i}: {e}"))?;
                h.wake(page, HUGE)
                    .map_err(|e| format!("wake huge page {i}: {e}"))?;
            }
            Ok(())
        },
        || {
            let mut seen = Vec::new();
            for page in [1, 0] {
                for off in offsets() {
                    seen.push((page, off, area.read(page * HUGE + off)));
                }
            }
            seen
        },
    );
    served.unwrap();
    for (page, off, v) in seen {
        assert_eq!(v, sources[page][off], "huge page {page} byte {off:#x}");
    }
    // Both huge pages present now: a second COPY is EEXIST, nothing done.
    assert_eq!(
        h.copy(area.addr, &sources[0], CopyMode::empty()),
        Err(Error::Exists { call: Call::Copy })
    );
    // Unregistered, the range is no longer this userfaultfd's: the kernel refuses a COPY into
    // it before looking at the page (ENOENT, not EEXIST).
    h.unregister(area.addr, 2 * HUGE).unwrap();
    assert_eq!(
        h.copy(area.addr, &sources[0], CopyMode::empty()),
        Err(Error::Sys {
            call: Call::Copy,
            errno: Errno::ENOENT
        })
    );
}

/// (b) `memfd_create(MFD_HUGETLB)` mapped twice (shared): the page cache is filled through
/// one mapping, the other (registered MINOR) faults, and `Hugetlb::continue_` maps the page
/// cache's huge page; contents verified. A second CONTINUE is EEXIST.
#[test]
fn minor_continue_memfd_2m() {
    let Some((_pages, u)) = setup(
        "minor_continue_memfd_2m",
        1,
        Features::MINOR_HUGETLBFS,
        Features::empty(),
    ) else {
        return;
    };
    let h = u.hugetlb(HUGE).unwrap();
    let fd = rt::memfd_with(HUGE, rt::MFD_CLOEXEC | rt::MFD_HUGETLB | HUGE_2MB)
        .expect("memfd_create(MFD_HUGETLB | MFD_HUGE_2MB)");
    let fill = rt::mmap(0, HUGE, rt::MAP_SHARED, fd.0).expect("mmap the memfd");
    let view = rt::mmap(0, HUGE, rt::MAP_SHARED, fd.0).expect("mmap the memfd again");
    assert_eq!(view.addr % HUGE, 0);
    let want = pattern(7);
    for (i, &b) in want.iter().enumerate() {
        fill.write(i, b);
    }
    // SAFETY: `view` is a fresh mmap that no Rust value refers to; it is read only through
    // raw pointers (`Map::read`).
    let ioctls = unsafe { h.register(view.addr, HUGE, RegisterMode::MINOR) }.unwrap();
    assert!(ioctls.contains(Ioctls::CONTINUE), "{ioctls:?}");
    let base = view.addr;
    let (served, seen) = with_handler(
        &u,
        view.addr,
        HUGE,
        || {
            let (addr, flags) = next_fault(&u)?;
            if !flags.contains(PagefaultFlags::MINOR) {
                return Err(format!("want a MINOR fault: {flags:?}"));
            }
            if h.page_start(addr) != base {
                return Err(format!("fault at {addr:#x}, want in {base:#x}"));
            }
            // CONTINUE works in whole huge pages: a base-page length is refused before the
            // call, naming the huge page size.
            let ps = uffd::sys::page_size().unwrap();
            let r = h.continue_(base, ps, ContinueMode::empty());
            if r != Err(Error::Range(RangeError::UnalignedLen {
                len: ps,
                page_size: HUGE,
            })) {
                return Err(format!("continue of one base page: {r:?}"));
            }
            h.continue_(h.page_start(addr), HUGE, ContinueMode::empty())
                .map_err(|e| format!("continue: {e}"))
        },
        || {
            offsets()
                .map(|off| (off, view.read(off)))
                .collect::<Vec<_>>()
        },
    );
    served.unwrap();
    for (off, v) in seen {
        assert_eq!(v, want[off], "byte {off:#x} through the registered mapping");
    }
    assert_eq!(
        h.continue_(view.addr, HUGE, ContinueMode::empty()),
        Err(Error::Exists {
            call: Call::Continue
        })
    );
}

/// (c) A range aligned to the base page but not to the huge page: `Hugetlb` refuses it before
/// any system call with an error naming the huge page size, where the kernel's own answer to
/// the same range is a bare EINVAL (for REGISTER and for COPY alike).
#[test]
fn base_page_aligned_range_is_refused_with_the_huge_page_size() {
    let Some((_pages, u)) = setup(
        "base_page_aligned_range_is_refused_with_the_huge_page_size",
        2,
        Features::MISSING_HUGETLBFS,
        Features::empty(),
    ) else {
        return;
    };
    let ps = u.page_size();
    let h = u.hugetlb(HUGE).unwrap();
    let area = anon_huge(2 * HUGE);
    let src = pattern(3);
    let start = area.addr + ps;
    let unaligned = Error::Range(RangeError::UnalignedStart {
        start,
        page_size: 0x20_0000,
    });
    // SAFETY: `area` is a fresh mmap that no Rust value refers to (and the range is refused).
    let r = unsafe { h.register(start, HUGE, RegisterMode::MISSING) };
    assert_eq!(r, Err(unaligned));
    let text = r.unwrap_err().to_string();
    assert!(
        text.contains("0x200000"),
        "the huge page size is named: {text}"
    );
    assert_eq!(h.copy(start, &src, CopyMode::empty()), Err(unaligned));
    // SAFETY: as above.
    let r = unsafe { h.register(area.addr, ps, RegisterMode::MISSING) };
    assert_eq!(
        r,
        Err(Error::Range(RangeError::UnalignedLen {
            len: ps,
            page_size: HUGE
        }))
    );
    // The kernel on the same ranges: EINVAL, nothing said about why.
    let einval = |call| {
        Err(Error::Sys {
            call,
            errno: Errno::EINVAL,
        })
    };
    // SAFETY: as above (the kernel refuses it: asserted).
    let r = unsafe { u.register(start, HUGE, RegisterMode::MISSING) };
    assert_eq!(
        r.map(|_| ()),
        einval(Call::Register),
        "plain register, start"
    );
    // SAFETY: as above.
    let r = unsafe { u.register(area.addr, ps, RegisterMode::MISSING) };
    assert_eq!(
        r.map(|_| ()),
        einval(Call::Register),
        "plain register, length"
    );
    // Registered properly, COPY of base pages is EINVAL from the kernel too.
    // SAFETY: as above; the area is never read at all.
    unsafe { h.register(area.addr, 2 * HUGE, RegisterMode::MISSING) }.unwrap();
    assert_eq!(
        u.copy(start, &src[..ps], CopyMode::empty()),
        einval(Call::Copy),
        "plain copy of a base page into a hugetlb range"
    );
    assert_eq!(
        h.copy(area.addr, &src[..ps], CopyMode::empty()),
        Err(Error::Range(RangeError::UnalignedLen {
            len: ps,
            page_size: HUGE
        }))
    );
}

/// (d) Rounding a fault address: a read inside the second huge page faults; the reported
/// address is that huge page's start (with EXACT_ADDRESS it is the very address read),
/// `Hugetlb::page_start` rounds it down to the huge page's start, and a COPY there resolves
/// the fault (a COPY at an unrounded address is refused before the call).
#[test]
fn page_start_rounds_a_fault_address_to_its_huge_page() {
    let test = "page_start_rounds_a_fault_address_to_its_huge_page";
    for exact in [false, true] {
        let requested = if exact {
            Features::EXACT_ADDRESS
        } else {
            Features::empty()
        };
        let Some((_pages, u)) = setup(test, 2, Features::MISSING_HUGETLBFS, requested) else {
            return;
        };
        if exact && !u.features().contains(Features::EXACT_ADDRESS) {
            // Only if the kernel, asked directly, lacks it too.
            let raw = suite::truth::offered().expect("raw UFFDIO_API");
            assert_eq!(
                raw & Features::EXACT_ADDRESS.bits(),
                0,
                "EXACT_ADDRESS not granted, but the raw UFFDIO_API offers {raw:#x}"
            );
            println!("SKIP {test} (EXACT_ADDRESS): not offered");
            return;
        }
        let h = u.hugetlb(HUGE).unwrap();
        let area = anon_huge(2 * HUGE);
        // SAFETY: `area` is a fresh mmap that no Rust value refers to; it is read only through
        // raw pointers (`Map::read`).
        unsafe { h.register(area.addr, 2 * HUGE, RegisterMode::MISSING) }.unwrap();
        let off = HUGE + 0x1_2345;
        let touched = area.addr + off;
        let src = pattern(5);
        let (served, v) = with_handler(
            &u,
            area.addr,
            2 * HUGE,
            || {
                let (addr, _) = next_fault(&u)?;
                let page = h.page_start(addr);
                if page != addr {
                    let r = h.copy(addr, &src, CopyMode::empty());
                    let want = Err(Error::Range(RangeError::UnalignedStart {
                        start: addr,
                        page_size: HUGE,
                    }));
                    if r != want {
                        h.copy(page, &src, CopyMode::empty()).ok();
                        return Err(format!("copy at the unrounded {addr:#x}: {r:?}"));
                    }
                }
                h.copy(page, &src, CopyMode::empty())
                    .map_err(|e| format!("copy at {page:#x}: {e}"))?;
                Ok(addr)
            },
            || area.read(off),
        );
        let addr = served.unwrap();
        println!("exact address {exact}: touched {touched:#x}, reported {addr:#x}");
        assert_eq!(v, src[off - HUGE], "the byte read after the fault");
        assert_eq!(
            h.page_start(addr),
            area.addr + HUGE,
            "page_start({addr:#x})"
        );
        if exact {
            assert_eq!(addr, touched, "EXACT_ADDRESS reports the address read");
        } else {
            // Without it a hugetlb fault is reported at its huge page's start (mm/hugetlb.c
            // hands handle_userfault the huge-page-aligned address), not the base page's.
            assert_eq!(addr, area.addr + HUGE, "the reported address");
        }
    }
}

/// (e) Sizes that cannot be a page size: not a power of two, below the base page, zero.
/// Needs no huge pages.
#[test]
fn impossible_page_sizes_are_bad_page_size() {
    if !raw_has_userfaultfd("impossible_page_sizes_are_bad_page_size") {
        return;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u = unsafe {
        Builder::new()
            .open_strategy(OpenStrategy::SyscallOnly)
            .user_mode_only(true)
            .create()
    }
    .expect("open");
    for size in [3 << 20, 2048, 0, HUGE + u.page_size(), usize::MAX] {
        assert_eq!(
            u.hugetlb(size).map(|h| h.page_size()),
            Err(Error::BadPageSize(size)),
            "hugetlb({size:#x})"
        );
    }
    for size in [u.page_size(), HUGE, 1 << 30] {
        assert_eq!(u.hugetlb(size).map(|h| h.page_size()), Ok(size));
    }
}

/// The uffd-wp bit (57, `PM_UFFD_WP`) of `addr`'s entry in `/proc/self/pagemap`: the kernel's
/// own record of a write-protected page (Linux 5.19 for hugetlb).
fn uffd_wp_bit(addr: usize) -> bool {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open("/proc/self/pagemap").expect("open /proc/self/pagemap");
    let mut e = [0u8; 8];
    let base = uffd::sys::page_size().expect("page size");
    f.read_exact_at(&mut e, (addr / base * 8) as u64)
        .expect("read pagemap");
    u64::from_ne_bytes(e) >> 57 & 1 == 1
}

/// `Hugetlb::writeprotect` and `Hugetlb::poison` reach the kernel: a protected huge page has
/// the uffd-wp bit in pagemap and loses it when unprotected; reading a poisoned missing huge
/// page is SIGBUS.
#[test]
fn writeprotect_and_poison_2m() {
    let test = "writeprotect_and_poison_2m";
    let wp =
        Features::MISSING_HUGETLBFS | Features::PAGEFAULT_FLAG_WP | Features::WP_HUGETLBFS_SHMEM;
    // 4 huge pages: 2 for the area, and room for the forked child's own allocation below.
    let Some((_pages, u)) = setup(test, 4, wp, Features::POISON) else {
        return;
    };
    let h = u.hugetlb(HUGE).unwrap();
    let area = anon_huge(2 * HUGE);
    // SAFETY: `area` is a fresh mmap that no Rust value refers to; it is read only through
    // raw pointers (`Map::read`).
    unsafe {
        h.register(
            area.addr,
            2 * HUGE,
            RegisterMode::MISSING | RegisterMode::WP,
        )
    }
    .unwrap();
    let src = pattern(0);
    h.copy(area.addr, &src, CopyMode::empty()).unwrap();
    assert!(
        !uffd_wp_bit(area.addr),
        "copied without MODE_WP: not protected"
    );
    h.writeprotect(area.addr, HUGE, WriteprotectMode::WP)
        .unwrap();
    assert!(uffd_wp_bit(area.addr), "after writeprotect(WP)");
    h.writeprotect(area.addr, HUGE, WriteprotectMode::empty())
        .unwrap();
    assert!(!uffd_wp_bit(area.addr), "after writeprotect(empty)");
    assert_eq!(area.read(77), src[77]);

    if !u.features().contains(Features::POISON) {
        let raw = suite::truth::offered().expect("raw UFFDIO_API");
        assert_eq!(
            raw & Features::POISON.bits(),
            0,
            "POISON not granted, but the raw UFFDIO_API offers {raw:#x}"
        );
        println!("SKIP {test} (poison): not offered");
        return;
    }
    h.poison(area.addr + HUGE, HUGE, PoisonMode::empty())
        .unwrap();
    // A read of the poisoned huge page is SIGBUS. Read in a forked child: fork copies the
    // poison marker, and the child (no EVENT_FORK) has no userfaultfd, so without the marker
    // its read would get a zero huge page from the free pages set aside above.
    let poisoned = area.addr + HUGE;
    let mut c = rt::spawn(|| {
        // SAFETY: inside the child's copy of `area`, read through a raw pointer.
        let v = unsafe { (poisoned as *const u8).read_volatile() };
        Err(crate::msg!("read {v:#x} from the poisoned huge page"))
    })
    .expect("fork");
    let st = c.wait().expect("wait");
    assert_eq!(
        st,
        rt::Status::Signaled(rt::SIGBUS),
        "{}",
        c.message().as_str()
    );
}
