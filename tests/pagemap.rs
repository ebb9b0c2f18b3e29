//! `uffd::pagemap` on the host kernel, with threads (the no_std suite in `tests/suite/pagemap.rs`
//! covers the same ground single-threaded, in every VM):
//!
//! - three epochs of random writes from four threads: each epoch's dirty set, from the
//!   get-and-reprotect scan and from the entry fallback, equals the written set page for page,
//!   and a scan right after finds nothing (the scan re-protected what it reported);
//! - resumption: a buffer of one `page_region` (one ioctl per run) and `max_pages` 1 (one ioctl
//!   per page) give the same set;
//! - bad input: unaligned and empty ranges, an empty buffer, `CHECK_WPASYNC` on memory not
//!   registered for async write-protect (the kernel's `EPERM`), an unknown category (`EINVAL`),
//!   a missing process.
//!
//! Needs `UFFD_FEATURE_WP_ASYNC` and `PAGEMAP_SCAN` (Linux 6.7): without them each test prints
//! SKIP and why.

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

use nix::sys::mman::{madvise, mmap_anonymous, munmap, MapFlags, MmapAdvise, ProtFlags};
use uffd::abi::page_region;
use uffd::flags::{Categories, Features, RegisterMode, ScanFlags, WriteprotectMode};
use uffd::pagemap::{Error, Pagemap, Region, Scan};
use uffd::{Errno, RangeError, Uffd};

const PAGES: usize = 2048;
const THREADS: usize = 4;

/// A private anonymous mapping (no THP, so every page is its own pte), unmapped on drop.
struct Area {
    ptr: NonNull<core::ffi::c_void>,
    len: usize,
}

impl Area {
    fn new(len: usize) -> Area {
        // SAFETY: a fresh private anonymous mapping, aliased by nothing.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(len).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .expect("mmap");
        // SAFETY: advice on our own mapping. EINVAL: a kernel without THP (no huge pages).
        match unsafe { madvise(ptr, len, MmapAdvise::MADV_NOHUGEPAGE) } {
            Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => panic!("madvise(MADV_NOHUGEPAGE): {e}"),
        }
        Area { ptr, len }
    }
    fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: nothing refers to the mapping any more.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

/// A WP_ASYNC userfaultfd and the pagemap, or `None` after printing SKIP.
/// Tests of this file one at a time: `descriptor_ownership` checks that a closed number is
/// not reopened, which another test opening a descriptor meanwhile would contradict.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn setup() -> Option<(Uffd, Pagemap)> {
    let uffd = common::create(
        "userfaultfd with WP_ASYNC",
        Uffd::builder()
            .user_mode_only(true)
            .require(Features::PAGEFAULT_FLAG_WP | Features::WP_ASYNC),
    )?;
    let pm = Pagemap::open_self().expect("open /proc/self/pagemap");
    Some((uffd, pm))
}

/// xorshift64*: a deterministic stream per seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Page indices of the regions, each page once (a page reported twice fails).
fn pages_of(regions: &[Region], base: usize, ps: usize) -> BTreeSet<usize> {
    let mut set = BTreeSet::new();
    for r in regions {
        assert!(r.start < r.end, "empty region {r:?}");
        assert_eq!((r.start - base) % ps, 0, "unaligned region {r:?}");
        for a in (r.start..r.end).step_by(ps) {
            assert!(set.insert((a - base) / ps), "page {a:#x} reported twice");
        }
    }
    set
}

/// Every region of `pm.dirty(..)` with a buffer of `buf_len`, and the ioctl count.
fn dirty(pm: &Pagemap, base: usize, len: usize, buf_len: usize) -> (Vec<Region>, usize) {
    let mut buf = vec![page_region::zeroed(); buf_len];
    let mut it = pm.dirty(base, len, &mut buf).expect("PAGEMAP_SCAN");
    let regions: Vec<Region> = it.by_ref().map(|r| r.expect("resumed scan")).collect();
    assert!(it.is_complete() && it.walk_end() == base + len);
    (regions, it.ioctls())
}

/// As [`dirty`], read a buffer at a time with `Regions::next_batch`.
fn dirty_batched(pm: &Pagemap, base: usize, len: usize, buf_len: usize) -> (Vec<Region>, usize) {
    let mut buf = vec![page_region::zeroed(); buf_len];
    let mut it = pm.dirty(base, len, &mut buf).expect("PAGEMAP_SCAN");
    let mut regions = Vec::new();
    while let Some(batch) = it.next_batch() {
        let batch = batch.expect("resumed scan");
        assert!(!batch.is_empty(), "an empty batch");
        regions.extend(batch.iter().map(|&r| Region::from(r)));
    }
    assert!(it.next().is_none(), "regions left after the last batch");
    assert!(it.is_complete() && it.walk_end() == base + len);
    (regions, it.ioctls())
}

/// Writes from `THREADS` threads to random pages (a random half of the area each epoch,
/// overlapping between threads); returns the union.
fn random_writes(base: usize, ps: usize, epoch: u64) -> BTreeSet<usize> {
    let handles: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng =
                    Rng(0x9e37_79b9_7f4a_7c15 ^ (epoch << 8 | t).wrapping_mul(0x1234_5679));
                let n = 1 + (rng.next() as usize) % (PAGES / 8);
                let mut mine = Vec::with_capacity(n);
                for _ in 0..n {
                    let p = (rng.next() as usize) % PAGES;
                    // SAFETY: inside the mapped area, which outlives the threads (joined below).
                    unsafe { ((base + p * ps + 8 * t as usize) as *mut u64).write_volatile(epoch) };
                    mine.push(p);
                }
                mine
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("writer panicked"))
        .collect()
}

#[test]
fn three_epochs_of_threaded_writes_exact() {
    let _serial = serial();
    let Some((uffd, pm)) = setup() else { return };
    let ps = pm.page_size();
    let area = Area::new(PAGES * ps);
    let (base, len) = (area.addr(), area.len);
    // Half the pages populated before protection, half never touched: both kinds must count.
    for p in 0..PAGES / 2 {
        // SAFETY: inside the area.
        unsafe { ((base + p * 2 * ps) as *mut u8).write_volatile(1) };
    }
    // SAFETY: the area is a fresh mapping that no Rust value refers to: the test reaches it
    // through raw pointers only.
    unsafe { uffd.register(base, len, RegisterMode::WP) }.expect("register WP");
    uffd.writeprotect(base, len, WriteprotectMode::WP)
        .expect("protect");
    let (none, _) = dirty(&pm, base, len, 64);
    assert!(none.is_empty(), "dirty right after protect: {none:?}");

    for epoch in 1..=3u64 {
        let written = random_writes(base, ps, epoch);
        assert!(!written.is_empty());
        // The fallback first: it only reads (the scan below re-protects).
        let mut entries = vec![0u64; 100];
        let by_entries: Vec<Region> = pm
            .written_by_entries(base, len, &mut entries)
            .expect("entries")
            .map(|r| r.expect("read entries"))
            .collect();
        assert_eq!(
            pages_of(&by_entries, base, ps),
            written,
            "epoch {epoch}: entry fallback"
        );
        // Odd epochs through the iterator, even ones a buffer at a time.
        let read = if epoch % 2 == 1 { dirty } else { dirty_batched };
        let (regions, ioctls) = read(&pm, base, len, 64);
        assert!(regions.iter().all(|r| r.categories == Categories::WRITTEN));
        assert_eq!(
            pages_of(&regions, base, ps),
            written,
            "epoch {epoch}: scan ({ioctls} ioctls)"
        );
        let (again, _) = dirty(&pm, base, len, 64);
        assert!(
            again.is_empty(),
            "epoch {epoch}: not re-protected: {again:?}"
        );
        println!(
            "epoch {epoch}: {} pages written by {THREADS} threads, {} runs, {ioctls} ioctls",
            written.len(),
            regions.len()
        );
    }
}

#[test]
fn resumption_with_one_region_and_one_page() {
    let _serial = serial();
    let Some((uffd, pm)) = setup() else { return };
    let ps = pm.page_size();
    let area = Area::new(PAGES * ps);
    let (base, len) = (area.addr(), area.len);
    // SAFETY: the area is a fresh mapping that no Rust value refers to: the test reaches it
    // through raw pointers only.
    unsafe { uffd.register(base, len, RegisterMode::WP) }.expect("register WP");
    uffd.writeprotect(base, len, WriteprotectMode::WP)
        .expect("protect");
    let mut rng = Rng(42);
    for case in ["one page_region", "one page_region, batched", "max_pages 1"] {
        let mut written = BTreeSet::new();
        for _ in 0..300 {
            let p = (rng.next() as usize) % PAGES;
            // SAFETY: inside the area.
            unsafe { ((base + p * ps) as *mut u8).write_volatile(7) };
            written.insert(p);
        }
        let runs = written
            .iter()
            .filter(|&&p| p == 0 || !written.contains(&(p - 1)))
            .count();
        let (regions, ioctls) = match case {
            "one page_region" => dirty(&pm, base, len, 1),
            "one page_region, batched" => dirty_batched(&pm, base, len, 1),
            _ => {
                let mut buf = [page_region::zeroed(); 64];
                let mut it = pm
                    .scan(&Scan::dirty(base, len).max_pages(1), &mut buf)
                    .expect("scan");
                // The first ioctl stopped after one page: the rest of the range is unwalked.
                assert!(
                    !it.is_complete() && it.walk_end() < base + len,
                    "one page walked"
                );
                let v: Vec<Region> = it.by_ref().map(|r| r.expect("resumed scan")).collect();
                (v, it.ioctls())
            }
        };
        assert_eq!(pages_of(&regions, base, ps), written, "{case}");
        // The kernel stops when the buffer cannot take the next run (one run per ioctl) or
        // when max_pages pages were found (one page per ioctl).
        let want = if case == "max_pages 1" {
            written.len()
        } else {
            runs
        };
        assert_eq!(ioctls, want, "{case}: ioctls");
        assert_eq!(regions.len(), want, "{case}: regions");
        println!(
            "{case}: {} pages, {runs} runs, {ioctls} ioctls",
            written.len()
        );
    }
}

#[test]
fn bad_input_typed_errors() {
    let _serial = serial();
    let Some((uffd, pm)) = setup() else { return };
    let ps = pm.page_size();
    let area = Area::new(8 * ps);
    let base = area.addr();
    let mut buf = [page_region::zeroed(); 4];
    let e = |r: Result<uffd::pagemap::Regions<'_>, Error>| r.err();
    assert_eq!(
        e(pm.dirty(base + 1, ps, &mut buf)),
        Some(Error::Range(RangeError::UnalignedStart {
            start: base + 1,
            page_size: ps
        }))
    );
    assert_eq!(
        e(pm.dirty(base, ps + 8, &mut buf)),
        Some(Error::Range(RangeError::UnalignedLen {
            len: ps + 8,
            page_size: ps
        }))
    );
    assert_eq!(
        e(pm.dirty(base, 0, &mut buf)),
        Some(Error::Range(RangeError::Empty))
    );
    assert_eq!(
        e(pm.dirty(usize::MAX & !(ps - 1), 2 * ps, &mut buf)),
        Some(Error::Range(RangeError::Overflow))
    );
    assert_eq!(e(pm.dirty(base, ps, &mut [])), Some(Error::EmptyBuffer));
    assert_eq!(
        pm.written_by_entries(base, ps, &mut []).err(),
        Some(Error::EmptyBuffer)
    );
    assert_eq!(
        pm.read_entries(base + 1, &mut [0; 1]).err(),
        Some(Error::Range(RangeError::UnalignedStart {
            start: base + 1,
            page_size: ps
        }))
    );
    // Not registered at all: CHECK_WPASYNC makes the kernel refuse (EPERM).
    assert_eq!(e(pm.dirty(base, 8 * ps, &mut buf)), Some(Error::NotWpAsync));
    // CHECK_WPASYNC alone (only reading, no re-protect): the same refusal.
    let check_only = Scan::dirty(base, 8 * ps).flags(ScanFlags::CHECK_WPASYNC);
    assert_eq!(e(pm.scan(&check_only, &mut buf)), Some(Error::NotWpAsync));
    // Registered for WP, but with a sync userfaultfd: refused too.
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let sync = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .require(Features::PAGEFAULT_FLAG_WP)
            .create()
    }
    .expect("sync uffd");
    // SAFETY: the area is a fresh mapping that no Rust value refers to.
    unsafe { sync.register(base, 4 * ps, RegisterMode::WP) }.expect("register sync WP");
    assert_eq!(e(pm.dirty(base, 4 * ps, &mut buf)), Some(Error::NotWpAsync));
    // Without CHECK_WPASYNC the same range is skipped silently: nothing reported, no error.
    let quiet = Scan::dirty(base, 4 * ps).flags(ScanFlags::WP_MATCHING);
    assert_eq!(pm.scan(&quiet, &mut buf).expect("scan").count(), 0);
    // The async half is fine, the whole range is not.
    // SAFETY: as above.
    unsafe { uffd.register(base + 4 * ps, 4 * ps, RegisterMode::WP) }.expect("register async WP");
    assert!(pm.dirty(base + 4 * ps, 4 * ps, &mut buf).is_ok());
    assert_eq!(e(pm.dirty(base, 8 * ps, &mut buf)), Some(Error::NotWpAsync));
    // A category bit no kernel has: EINVAL, as a typed system-call error.
    let unknown = Scan::new(base, ps).report(Categories::from_bits_retain(1 << 40));
    assert_eq!(
        e(pm.scan(&unknown, &mut buf)),
        Some(Error::Sys {
            call: uffd::pagemap::Call::Scan,
            errno: Errno::EINVAL
        })
    );
    // No such process.
    let gone = Pagemap::open_pid(u32::MAX).err();
    assert!(matches!(
        gone,
        Some(Error::NotFound {
            pid: Some(u32::MAX),
            ..
        })
    ));

    // Each error carries the kernel's errno (none for a refusal before any system call), into
    // `std::io::Error` too (with `std`), and says what it is about.
    let said = |e: Error, errno: Option<Errno>, names: &[&str]| {
        assert_eq!(e.errno(), errno, "{e:?}");
        #[cfg(feature = "std")]
        {
            let io = std::io::Error::from(e);
            match errno {
                Some(n) => assert_eq!(io.raw_os_error(), Some(n.raw()), "{e:?}"),
                None => assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput, "{e:?}"),
            }
        }
        let text = e.to_string();
        for name in names {
            assert!(
                text.contains(name),
                "{e:?} displays {text:?}, without {name:?}"
            );
        }
    };
    let einval = e(pm.scan(&unknown, &mut buf)).unwrap();
    said(einval, Some(Errno::EINVAL), &["Scan"]);
    let eperm = e(pm.dirty(base, 8 * ps, &mut buf)).unwrap();
    said(eperm, Some(Errno::EPERM), &["EPERM", "WP_ASYNC"]);
    let enoent = gone.unwrap();
    let errno = enoent.errno();
    assert!(
        matches!(errno, Some(Errno::ENOENT | Errno::ESRCH)),
        "{errno:?}"
    );
    said(enoent, errno, &["/proc/4294967295/pagemap"]);
    let range = e(pm.dirty(base, 0, &mut buf)).unwrap();
    said(range, None, &["range"]);
    said(Error::EmptyBuffer, None, &["buffer"]);
}

/// The pagemap descriptor is read-only and close-on-exec, as the kernel reports it
/// (`/proc/self/fdinfo`): a `fork` + `exec` elsewhere in the program does not leak it.
#[test]
fn pagemap_fd_is_read_only_and_cloexec() {
    let _serial = serial();
    let pm = Pagemap::open_self().expect("open /proc/self/pagemap");
    let info =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pm.as_raw_fd())).expect("fdinfo");
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).expect("octal flags"))
        .expect("flags line");
    // O_ACCMODE is 3 everywhere; `sys::O_CLOEXEC` is checked against each architecture's
    // headers by verify-layout.
    assert_eq!(flags & 0o3, 0, "not O_RDONLY: {flags:#o}");
    assert_ne!(flags & uffd::sys::O_CLOEXEC, 0, "no O_CLOEXEC: {flags:#o}");
}

/// `as_raw_fd` (inherent, and `AsRawFd`/`AsFd` with `std`) names the open pagemap, `into_raw_fd` hands it
/// over open, and dropping a `Pagemap` closes it: as `/proc/self/fd` shows.
#[test]
fn descriptor_ownership() {
    let _serial = serial();
    let target = |fd: i32| std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
    let me = std::path::PathBuf::from(format!("/proc/{}/pagemap", std::process::id()));
    let pm = Pagemap::open_self().expect("open /proc/self/pagemap");
    let fd = pm.as_raw_fd();
    assert_eq!(target(fd).as_ref(), Some(&me));
    #[cfg(feature = "std")]
    {
        use std::os::fd::{AsFd, AsRawFd};
        assert_eq!(AsRawFd::as_raw_fd(&pm), fd);
        assert_eq!(pm.as_fd().as_raw_fd(), fd);
    }
    let ps = pm.page_size();
    let raw = pm.into_raw_fd();
    assert_eq!(raw, fd);
    assert_eq!(target(raw).as_ref(), Some(&me), "closed by into_raw_fd");
    // SAFETY: `raw` is the open pagemap `into_raw_fd` gave up, owned by nobody else.
    let pm = unsafe { Pagemap::from_raw_fd(raw, ps) };
    drop(pm);
    assert_eq!(target(raw), None, "still open after drop");
}

/// The kernel's entries stop at the end of the address space: a read across it returns only
/// the pages before it (a short `pread64`, after which the next one returns nothing), and a
/// read after it nothing. Single-entry reads find the end (each is one whole `pread64`).
#[test]
fn read_entries_stop_at_the_end_of_the_address_space() {
    let _serial = serial();
    let pm = Pagemap::open_self().expect("open /proc/self/pagemap");
    let ps = pm.page_size();
    // Under qemu-user the pagemap is the emulator's (a 64-bit process whose address space
    // goes on past a 32-bit guest's); such runs skip as every kernel case there does, on a
    // raw userfaultfd(2) answering ENOSYS.
    if !common::raw_has_userfaultfd("address-space end") {
        return;
    }
    let has = |page: usize| pm.read_entries(page * ps, &mut [0u64; 1]).expect("pread64") == 1;
    let (mut lo, mut hi) = (0usize, usize::MAX / ps);
    assert!(has(lo) && !has(hi));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if has(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut buf = [0u64; 64];
    assert_eq!(
        pm.read_entries((lo - 9) * ps, &mut buf),
        Ok(10),
        "last page {lo:#x}"
    );
    assert_eq!(pm.read_entries(hi * ps, &mut buf), Ok(0));
}

/// `require`, `any_of` and `inverted` select pages as the kernel's category masks do: of an
/// area with some pages written, PRESENT required gives those, PRESENT required but
/// inverted the others (holes the walk reports too), any of PRESENT|SWAPPED those again.
#[test]
fn category_masks_select_pages() {
    let _serial = serial();
    let Some((_uffd, pm)) = setup() else { return };
    let ps = pm.page_size();
    let area = Area::new(16 * ps);
    let base = area.addr();
    let touched: BTreeSet<usize> = [1, 2, 5, 9, 10, 11].into();
    for &p in &touched {
        // SAFETY: inside the area, reached through raw pointers only.
        unsafe { ((base + p * ps) as *mut u8).write_volatile(1) };
    }
    let untouched: BTreeSet<usize> = (0..16).filter(|p| !touched.contains(p)).collect();
    let mut buf = [page_region::zeroed(); 16];
    let mut pages = |scan: Scan| {
        let regions: Vec<Region> = pm
            .scan(&scan, &mut buf)
            .expect("scan")
            .map(|r| r.expect("scan"))
            .collect();
        pages_of(&regions, base, ps)
    };
    let s = Scan::new(base, 16 * ps).report(Categories::PRESENT);
    assert_eq!(pages(s.require(Categories::PRESENT)), touched, "require");
    assert_eq!(
        pages(s.require(Categories::PRESENT).inverted(Categories::PRESENT)),
        untouched,
        "inverted"
    );
    assert_eq!(
        pages(s.any_of(Categories::PRESENT | Categories::SWAPPED)),
        touched,
        "any_of"
    );
}
