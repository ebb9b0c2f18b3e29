//! `uffd::pagemap` on the running kernel: `PAGEMAP_SCAN` over `WP_ASYNC` ranges where the kernel
//! has them (6.7+), the typed "not supported" where it does not (6.1: `ENOTTY`), and the entry
//! fallback (pagemap bit 57) with sync write-protect everywhere it exists.
//!
//! Page sets are `u64` bit masks over a 64-page area (no allocation).

use super::rt::{self, Map};
use super::truth;
use super::util::*;
use super::{Ctx, Outcome};
use crate::{check, hok, msg, ok};
use uffd::abi::{page_region, PM_FILE, PM_MMAP_EXCLUSIVE, PM_PRESENT, PM_SWAP, PM_UFFD_WP};
use uffd::flags::{Features, PagefaultFlags, RegisterMode, WriteprotectMode};
use uffd::pagemap::{Error as PmError, Pagemap, Region, Regions, Scan, Written};
use uffd::{Errno, RangeError, Uffd};

/// Pages of the test area: one bit each in a `u64`.
const PAGES: usize = 64;
/// `MADV_NOHUGEPAGE` (15 on every arch this suite runs on): every page its own pte. A kernel
/// without THP (`CONFIG_TRANSPARENT_HUGEPAGE` off, e.g. Debian's armmp) answers `EINVAL`, and
/// has no huge pages to avoid.
const MADV_NOHUGEPAGE: usize = 15;

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

fn open_pagemap() -> Result<Pagemap, Outcome> {
    Pagemap::open_self().map_err(|e| fail(msg!("open /proc/self/pagemap: {e}")))
}

/// An anonymous area of `PAGES` pages without THP.
fn area64(ps: usize) -> Result<Map, Outcome> {
    let m = ok!(rt::anon(PAGES * ps), "mmap");
    match rt::madvise(m.addr, m.len, MADV_NOHUGEPAGE) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(fail(msg!("madvise(MADV_NOHUGEPAGE): {e:?}"))),
    }
    Ok(m)
}

/// Whether the kernel has `PAGEMAP_SCAN`: a plain scan (no flags) either works or must be the
/// typed "not supported" with `ENOTTY` (what a kernel before 6.7 answers).
fn has_scan(pm: &Pagemap, m: &Map) -> Result<bool, Outcome> {
    let mut buf = [page_region::zeroed(); 1];
    match pm.scan(&Scan::new(m.addr, m.len), &mut buf) {
        Ok(_) => Ok(true),
        Err(PmError::NotSupported {
            errno: Errno::ENOTTY,
        }) => Ok(false),
        Err(e) => Err(fail(msg!("plain PAGEMAP_SCAN: {e:?}"))),
    }
}

/// A userfaultfd with `WP_ASYNC`, or Skip saying what the kernel lacks (and having checked
/// that a kernel without `PAGEMAP_SCAN` reports it as [`PmError::NotSupported`]).
fn async_wp(ctx: &Ctx, pm: &Pagemap, m: &Map) -> Result<Uffd, Outcome> {
    let scan = has_scan(pm, m)?;
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    match unsafe {
        builder(ctx, Via::Syscall)
            .require(Features::PAGEFAULT_FLAG_WP | Features::WP_ASYNC)
            .create()
    } {
        Ok(u) if scan => Ok(u),
        Ok(_) => Err(fail(msg!("WP_ASYNC offered but PAGEMAP_SCAN is ENOTTY"))),
        Err(uffd::Error::MissingFeatures { missing, available }) => {
            match missing_skip(missing, available) {
                Outcome::Skip(_) => Err(Outcome::Skip(if scan {
                    msg!("kernel has PAGEMAP_SCAN but lacks {missing:?}")
                } else {
                    msg!("kernel lacks {missing:?}; PAGEMAP_SCAN: NotSupported(ENOTTY), as it must")
                })),
                o => Err(o),
            }
        }
        Err(e) => Err(open_err(e)),
    }
}

/// The page mask of `regions` (each page once, every region inside the area).
fn mask_of(
    regions: impl Iterator<Item = Result<Region, PmError>>,
    base: usize,
    ps: usize,
) -> Result<(u64, usize), Outcome> {
    let (mut mask, mut n) = (0u64, 0);
    for r in regions {
        let r = ok!(r, "region");
        check!(
            r.start < r.end && r.start >= base && r.end <= base + PAGES * ps,
            "region {:#x}..{:#x} outside {base:#x}+{PAGES} pages",
            r.start,
            r.end
        );
        for a in (r.start..r.end).step_by(ps) {
            let bit = 1u64 << ((a - base) / ps);
            check!(mask & bit == 0, "page {a:#x} reported twice");
            mask |= bit;
        }
        n += 1;
    }
    Ok((mask, n))
}

fn scan_mask(it: Regions<'_>, base: usize, ps: usize) -> Result<(u64, usize, usize), Outcome> {
    let mut it = it;
    let (mask, n) = mask_of(it.by_ref(), base, ps)?;
    check!(it.is_complete(), "scan stopped at {:#x}", it.walk_end());
    Ok((mask, n, it.ioctls()))
}

fn entries_mask(w: Written<'_>, base: usize, ps: usize) -> Result<u64, Outcome> {
    mask_of(w, base, ps).map(|(m, _)| m)
}

/// Writes one byte to each page of `mask`.
fn write_mask(m: &Map, ps: usize, mask: u64, v: u8) {
    for p in 0..PAGES {
        if mask & (1 << p) != 0 {
            m.write(p * ps + 17, v);
        }
    }
}

/// Three epochs of random writes: the get-and-reprotect scan (and, before it, the entry
/// fallback) report exactly the written pages, and a scan right after reports none.
pub fn scan_epochs(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        let ps = ctx.page_size;
        let pm = open_pagemap()?;
        let m = area64(ps)?;
        let u = async_wp(ctx, &pm, &m)?;
        m.fill(0, PAGES / 2 * ps, 1); // half populated, half never touched
                                      // SAFETY: a mapping of this test that no Rust value refers to: it is reached through
                                      // `Map`'s raw-pointer accessors only.
        ok!(
            unsafe { u.register(m.addr, m.len, RegisterMode::WP) },
            "register WP"
        );
        ok!(
            u.writeprotect(m.addr, m.len, WriteprotectMode::WP),
            "protect"
        );
        let mut buf = [page_region::zeroed(); 8];
        let mut entries = [0u64; 16];
        let (first, _, _) = scan_mask(ok!(pm.dirty(m.addr, m.len, &mut buf), "scan"), m.addr, ps)?;
        check!(first == 0, "dirty right after protect: {first:#x}");
        let mut rng = Rng(0x5eed ^ ps as u64);
        for epoch in 1..=3u8 {
            let written = rng.next() & rng.next() | 1 << (epoch * 7);
            write_mask(&m, ps, written, epoch);
            let w = ok!(
                pm.written_by_entries(m.addr, m.len, &mut entries),
                "entries"
            );
            let by_entries = entries_mask(w, m.addr, ps)?;
            check!(
                by_entries == written,
                "epoch {epoch}: entries {by_entries:#x}, written {written:#x}"
            );
            let it = ok!(pm.dirty(m.addr, m.len, &mut buf), "scan");
            let (dirty, _, _) = scan_mask(it, m.addr, ps)?;
            check!(
                dirty == written,
                "epoch {epoch}: scan {dirty:#x}, written {written:#x}"
            );
            let it = ok!(pm.dirty(m.addr, m.len, &mut buf), "scan again");
            let (again, _, _) = scan_mask(it, m.addr, ps)?;
            check!(again == 0, "epoch {epoch}: not re-protected: {again:#x}");
        }
        Ok(())
    })
}

/// Resumption from `walk_end`: a buffer of one region gives one ioctl per run, `max_pages`
/// 1 one ioctl per page, and both the written set.
pub fn scan_resume(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        let ps = ctx.page_size;
        let pm = open_pagemap()?;
        let m = area64(ps)?;
        let u = async_wp(ctx, &pm, &m)?;
        // SAFETY: a mapping of this test that no Rust value refers to: it is reached through
        // `Map`'s raw-pointer accessors only.
        ok!(
            unsafe { u.register(m.addr, m.len, RegisterMode::WP) },
            "register WP"
        );
        ok!(
            u.writeprotect(m.addr, m.len, WriteprotectMode::WP),
            "protect"
        );
        let written = 0x0ff0_0003_8001_c0f3u64;
        let runs = (written & !(written << 1)).count_ones() as usize;
        let pages = written.count_ones() as usize;

        write_mask(&m, ps, written, 3);
        let mut one = [page_region::zeroed(); 1];
        let it = ok!(pm.dirty(m.addr, m.len, &mut one), "scan, one region");
        let (mask, n, ioctls) = scan_mask(it, m.addr, ps)?;
        check!(
            mask == written && n == runs && ioctls == runs,
            "one region: {mask:#x} in {n} regions by {ioctls} ioctls; want {written:#x}, {runs}"
        );

        write_mask(&m, ps, written, 4);
        let mut buf = [page_region::zeroed(); 8];
        let scan = Scan::dirty(m.addr, m.len).max_pages(1);
        let it = ok!(pm.scan(&scan, &mut buf), "scan, max_pages 1");
        let (mask, n, ioctls) = scan_mask(it, m.addr, ps)?;
        check!(
            mask == written && n == pages && ioctls == pages,
            "max_pages 1: {mask:#x} in {n} regions by {ioctls} ioctls; want {written:#x}, {pages}"
        );
        Ok(())
    })
}

/// Typed errors: bad ranges and an empty buffer before any system call (every kernel), and
/// `CHECK_WPASYNC` over memory not registered for async write-protect (`EPERM` on 6.7+;
/// `NotSupported` before).
pub fn bad_input(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        let ps = ctx.page_size;
        let pm = open_pagemap()?;
        let m = area64(ps)?;
        let mut buf = [page_region::zeroed(); 4];
        let mut ents = [0u64; 4];
        let e = |r: Result<Regions<'_>, PmError>| r.err();
        let a = m.addr;
        let cases = [
            (
                e(pm.dirty(a + 8, ps, &mut buf)),
                PmError::Range(RangeError::UnalignedStart {
                    start: a + 8,
                    page_size: ps,
                }),
            ),
            (
                e(pm.dirty(a, ps + 8, &mut buf)),
                PmError::Range(RangeError::UnalignedLen {
                    len: ps + 8,
                    page_size: ps,
                }),
            ),
            (
                e(pm.dirty(a, 0, &mut buf)),
                PmError::Range(RangeError::Empty),
            ),
            (e(pm.dirty(a, ps, &mut [])), PmError::EmptyBuffer),
            (
                pm.written_by_entries(a, ps, &mut []).err(),
                PmError::EmptyBuffer,
            ),
            (
                pm.written_by_entries(a, ps - 8, &mut ents).err(),
                PmError::Range(RangeError::UnalignedLen {
                    len: ps - 8,
                    page_size: ps,
                }),
            ),
        ];
        for (i, (got, want)) in cases.iter().enumerate() {
            check!(*got == Some(*want), "case {i}: want {want:?}, got {got:?}");
        }
        let want = if has_scan(&pm, &m)? {
            PmError::NotWpAsync
        } else {
            PmError::NotSupported {
                errno: Errno::ENOTTY,
            }
        };
        let got = e(pm.dirty(a, m.len, &mut buf));
        check!(
            got == Some(want),
            "unregistered + CHECK_WPASYNC: want {want:?}, got {got:?}"
        );
        Ok(())
    })
}

/// The fallback with sync write-protect (5.13+): a handler unprotects each page written; the
/// entries then say exactly those pages are written (bit 57 clear), the rest protected.
pub fn entries_sync_wp(ctx: &Ctx) -> Outcome {
    run(|| {
        let ps = ctx.page_size;
        let u = open(ctx, Via::Syscall, Features::PAGEFAULT_FLAG_WP)?;
        let pm = open_pagemap()?;
        let m = area64(ps)?;
        m.fill(0, m.len, 0x5a); // every page present
                                // SAFETY: a mapping of this test that no Rust value refers to: it is reached through
                                // `Map`'s raw-pointer accessors only.
        ok!(
            unsafe { u.register(m.addr, m.len, RegisterMode::WP) },
            "register WP"
        );
        ok!(
            u.writeprotect(m.addr, m.len, WriteprotectMode::WP),
            "protect"
        );
        let mut ents = [0u64; PAGES];
        let w = ok!(pm.written_by_entries(m.addr, m.len, &mut ents), "entries");
        let none = entries_mask(w, m.addr, ps)?;
        // Before 5.13 pagemap entries have no uffd-wp bit: every present page reads as
        // written, a superset of the truth (never less), which the fallback documents.
        let no_bit = truth::release().is_some_and(|r| r < (5, 13));
        let all = u64::MAX;
        if no_bit {
            check!(
                none == all,
                "before 5.13, right after protect: {none:#x}, want all"
            );
        } else {
            check!(none == 0, "written right after protect: {none:#x}");
        }
        let written = 0x8421_0000_f00d_0006u64;
        let (base, faults) = (m.addr, written.count_ones());
        let h = handler(|| {
            for _ in 0..faults {
                let (addr, flags, _) = expect_fault(&u)?;
                if !flags.contains(PagefaultFlags::WP) {
                    return Err(msg!("want a WP fault at {addr:#x}: {flags:?}"));
                }
                let page = addr & !(ps - 1);
                if page < base || written & 1 << ((page - base) / ps) == 0 {
                    return Err(msg!("WP fault at unwritten page {page:#x}"));
                }
                hok!(
                    u.writeprotect(page, ps, WriteprotectMode::empty()),
                    "unprotect"
                );
            }
            Ok(())
        })?;
        write_mask(&m, ps, written, 0x77);
        join(h)?;
        let w = ok!(
            pm.written_by_entries(m.addr, m.len, &mut ents[..5]),
            "entries"
        );
        let got = entries_mask(w, m.addr, ps)?;
        let want = if no_bit { all } else { written };
        check!(got == want, "entries {got:#x}, written {written:#x}");
        Ok(())
    })
}

/// The documented entry bits on a real kernel: 63 present, 56 exclusive, 61 file/shared,
/// 57 uffd-wp (set by protect, cleared by unprotect); an untouched page has none of them.
pub fn entry_bits(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        let ps = ctx.page_size;
        let pm = open_pagemap()?;
        let anon = area64(ps)?;
        let shm = area(Mem::Shmem, ps)?;
        anon.write(0, 1);
        shm.write(0, 1);
        let mut e = [0u64; 2];
        check!(
            ok!(pm.read_entries(anon.addr, &mut e), "read") == 2,
            "two entries"
        );
        let flags = |v: u64| v & (PM_PRESENT | PM_SWAP | PM_FILE | PM_MMAP_EXCLUSIVE | PM_UFFD_WP);
        check!(
            flags(e[0]) == PM_PRESENT | PM_MMAP_EXCLUSIVE,
            "written anon page: {:#x}",
            e[0]
        );
        check!(flags(e[1]) == 0, "untouched anon page: {:#x}", e[1]);
        let mut s = [0u64; 1];
        ok!(pm.read_entries(shm.addr, &mut s), "read shmem");
        check!(
            s[0] & (PM_PRESENT | PM_FILE) == PM_PRESENT | PM_FILE && s[0] & PM_UFFD_WP == 0,
            "written shared page: {:#x}",
            s[0]
        );
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = match unsafe {
            builder(ctx, Via::Syscall)
                .require(Features::PAGEFAULT_FLAG_WP)
                .create()
        } {
            Ok(u) => u,
            // Bit 57 needs WP: the rest of the case is moot, if the raw truth agrees.
            Err(uffd::Error::MissingFeatures { missing, available }) => {
                return match missing_skip(missing, available) {
                    Outcome::Skip(_) => Ok(()),
                    o => Err(o),
                }
            }
            Err(err) => return Err(open_err(err)),
        };
        // SAFETY: a mapping of this test that no Rust value refers to: it is reached through
        // `Map`'s raw-pointer accessors only.
        ok!(
            unsafe { u.register(anon.addr, ps, RegisterMode::WP) },
            "register WP"
        );
        ok!(
            u.writeprotect(anon.addr, ps, WriteprotectMode::WP),
            "protect"
        );
        ok!(pm.read_entries(anon.addr, &mut e[..1]), "read");
        // The uffd-wp bit is in pagemap since 5.13 (always clear before).
        let wp_bit = if truth::release().is_some_and(|r| r < (5, 13)) {
            0
        } else {
            PM_UFFD_WP
        };
        check!(
            flags(e[0]) == PM_PRESENT | PM_MMAP_EXCLUSIVE | wp_bit,
            "protected page: {:#x}",
            e[0]
        );
        ok!(
            u.writeprotect(anon.addr, ps, WriteprotectMode::empty()),
            "unprotect"
        );
        ok!(pm.read_entries(anon.addr, &mut e[..1]), "read");
        check!(e[0] & PM_UFFD_WP == 0, "unprotected page: {:#x}", e[0]);
        Ok(())
    })
}

/// Another process's pagemap without ptrace read access: the typed error names it.
pub fn open_denied(_ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        if rt::getuid_is_root() != Some(true) {
            return Err(Outcome::Skip(msg!("not root: cannot drop to another uid")));
        }
        let parent = rt::getpid() as u32;
        let c = ok!(
            rt::spawn(|| {
                hok!(rt::setresgid(65534), "setresgid");
                hok!(rt::setresuid(65534), "setresuid");
                // A uid change makes the process non-dumpable (its /proc files root's): undo
                // that so that its own pagemap stays readable.
                // SAFETY: prctl(PR_SET_DUMPABLE, 1) touches no memory.
                let r = unsafe {
                    uffd::sys::raw::syscall2(super::nr::nr::prctl, rt::PR_SET_DUMPABLE, 1)
                };
                hok!(r, "prctl(PR_SET_DUMPABLE, 1)");
                hok!(Pagemap::open_self(), "own pagemap");
                match Pagemap::open_pid(parent) {
                    Err(
                        e @ PmError::PermissionDenied {
                            pid: Some(p),
                            errno: Errno::EACCES | Errno::EPERM,
                        },
                    ) if p == parent => {
                        if !msg!("{e}").as_str().contains("ptrace read access") {
                            return Err(msg!("the error does not name ptrace: {e}"));
                        }
                        Ok(())
                    }
                    r => Err(msg!("pid {parent} as uid 65534: {:?}", r.map(|_| ()))),
                }
            }),
            "fork"
        );
        ok!(c.join(), "child");
        Ok(())
    })
}
