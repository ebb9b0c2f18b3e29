//! Cases from uffd-unit-tests.c: write-protect, minor, move, poison, SIGBUS, THREAD_ID,
//! EXACT_ADDRESS.

use super::rt::{self, Status};
use super::util::*;
use super::{Ctx, Outcome};
use crate::{check, hok, msg, ok};
use uffd::flags::*;
use uffd::wait::{wait, Waiting};
use uffd::{Call, Errno, Error};

/// The features a WP registration over `mem` needs.
pub(super) fn wp_features(mem: Mem) -> Features {
    match mem {
        Mem::Anon => Features::PAGEFAULT_FLAG_WP,
        Mem::Shmem => Features::PAGEFAULT_FLAG_WP | Features::WP_HUGETLBFS_SHMEM,
    }
}

/// WP register, protect, a write fault arrives with WRITE|WP, unprotecting wakes it.
pub fn wp(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, wp_features(mem))?;
        let ps = ctx.page_size;
        let a = area(mem, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::WP) },
            "register WP"
        );
        a.write(0, 0x11);
        ok!(u.writeprotect(a.addr, ps, WriteprotectMode::WP), "protect");
        let base = a.addr;
        let h = handler(|| {
            expect_fault_at(&u, base, PagefaultFlags::WP | PagefaultFlags::WRITE)?;
            hok!(
                u.writeprotect(base, ps, WriteprotectMode::empty()),
                "unprotect"
            );
            Ok(())
        })?;
        a.write(1, 0x22);
        check!(
            a.read(0) == 0x11 && a.read(1) == 0x22,
            "content after WP fault"
        );
        join(h)
    })
}

/// COPY with MODE_WP maps the page write-protected: a later write raises a WP fault.
pub fn copy_mode_wp(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, wp_features(mem) | mem_features(mem))?;
        let ps = ctx.page_size;
        let a = area(mem, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING | RegisterMode::WP) },
            "register"
        );
        let src = ok!(rt::anon(ps), "mmap src");
        let h = handler(|| {
            let (addr, flags, _) = expect_fault(&u)?;
            if flags.contains(PagefaultFlags::WP) {
                return Err(msg!("first fault should be MISSING: {flags:?}"));
            }
            src.fill(0, ps, 0x33);
            // SAFETY: `src` is an unregistered private mapping that nothing writes while the
            // slice lives.
            hok!(
                u.copy(addr, unsafe { src.bytes(0, ps) }, CopyMode::WP),
                "copy WP"
            );
            let (addr, flags, _) = expect_fault(&u)?;
            if !flags.contains(PagefaultFlags::WP) {
                return Err(msg!("second fault should be WP: {flags:?}"));
            }
            hok!(
                u.writeprotect(addr, ps, WriteprotectMode::empty()),
                "unprotect"
            );
            Ok(())
        })?;
        check!(a.read(0) == 0x33, "copied content");
        a.write(0, 0x34);
        check!(a.read(0) == 0x34, "write after unprotect");
        join(h)
    })
}

/// WP_UNPOPULATED: protecting an unpopulated anonymous range still catches the first write.
pub fn wp_unpopulated(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(
            ctx,
            via,
            Features::PAGEFAULT_FLAG_WP | Features::WP_UNPOPULATED,
        )?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::WP) },
            "register WP"
        );
        ok!(u.writeprotect(a.addr, ps, WriteprotectMode::WP), "protect");
        let h = handler(|| {
            let (addr, flags, _) = expect_fault(&u)?;
            if !flags.contains(PagefaultFlags::WP) {
                return Err(msg!("want WP fault: {flags:?}"));
            }
            hok!(
                u.writeprotect(addr, ps, WriteprotectMode::empty()),
                "unprotect"
            );
            Ok(())
        })?;
        a.write(0, 0x44);
        check!(a.read(0) == 0x44, "content");
        join(h)
    })
}

/// WP_ASYNC: writes to protected pages resolve in the kernel, no event.
pub fn wp_async(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe {
            builder(ctx, via)
                .non_blocking(true)
                .require(Features::PAGEFAULT_FLAG_WP | Features::WP_ASYNC)
                .create()
        }
        .map_err(open_err)?;
        check!(
            u.features().contains(Features::WP_UNPOPULATED),
            "WP_ASYNC implies WP_UNPOPULATED"
        );
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::WP) },
            "register WP"
        );
        a.write(0, 1);
        ok!(u.writeprotect(a.addr, ps, WriteprotectMode::WP), "protect");
        a.write(0, 2);
        check!(a.read(0) == 2, "async write");
        let mut buf = [uffd::abi::uffd_msg::zeroed(); 2];
        let r = u.read_events(&mut buf);
        check!(
            matches!(r, Ok(None)),
            "no event expected: {:?}",
            r.map(|e| e.map(|e| e.len()))
        );
        Ok(())
    })
}

/// Minor faults on shmem resolved with CONTINUE; a second CONTINUE gives EEXIST.
pub fn minor_continue(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::MINOR_SHMEM)?;
        let ps = ctx.page_size;
        let a = area(Mem::Shmem, ps)?;
        let fd = a.fd.as_ref().map(|f| f.0).unwrap_or(-1);
        let b = ok!(rt::mmap(0, ps, rt::MAP_SHARED, fd), "second mapping");
        // The page cache, populated through the unregistered mapping.
        a.fill(0, ps, 0x55);
        // SAFETY: `b` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`), as it does the other mapping `a`.
        let got = ok!(
            unsafe { u.register(b.addr, ps, RegisterMode::MINOR) },
            "register MINOR"
        );
        check!(got.contains(Ioctls::CONTINUE), "mask {got:?}");
        let h = handler(|| {
            let (addr, flags, _) = expect_fault(&u)?;
            if !flags.contains(PagefaultFlags::MINOR) {
                return Err(msg!("want MINOR fault: {flags:?}"));
            }
            a.fill(0, ps, 0x66); // the handler updates the page cache, then maps it
            let r = u.continue_(addr, ps, ContinueMode::empty());
            if r != Ok(()) {
                return Err(msg!("continue: {r:?}"));
            }
            let r = u.continue_(addr, ps, ContinueMode::empty());
            if r != Err(Error::Exists {
                call: Call::Continue,
            }) {
                return Err(msg!("second continue: want EEXIST, got {r:?}"));
            }
            Ok(())
        })?;
        check!(b.read(7) == 0x66, "content through the registered mapping");
        join(h)
    })
}

/// MOVE of an anonymous page into a registered hole; holes in the source need ALLOW_SRC_HOLES.
pub fn move_anon(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::MOVE)?;
        let ps = ctx.page_size;
        let dst = area(Mem::Anon, 2 * ps)?;
        let src = area(Mem::Anon, 2 * ps)?;
        // SAFETY: `dst` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(dst.addr, 2 * ps, RegisterMode::MISSING) },
            "register"
        );
        src.fill(0, ps, 0x77);
        // SAFETY: source and destination are test memory nothing holds references into (used
        // through raw pointers only); the destination is registered above.
        let r = unsafe { u.move_(dst.addr, src.addr, ps, MoveMode::empty()) };
        check!(r == Ok(()), "move: {r:?}");
        check!(dst.read(9) == 0x77, "moved content");
        check!(src.read(9) == 0, "source is now a hole (reads zero)");
        // SAFETY: as above.
        let r = unsafe { u.move_(dst.addr + ps, src.addr + ps, ps, MoveMode::empty()) };
        check!(
            r == Err(Error::Sys {
                call: Call::Move,
                errno: Errno::ENOENT
            }),
            "move from a hole: want ENOENT, got {r:?}"
        );
        // SAFETY: as above.
        let r = unsafe { u.move_(dst.addr + ps, src.addr + ps, ps, MoveMode::ALLOW_SRC_HOLES) };
        check!(r == Ok(()), "move from a hole with ALLOW_SRC_HOLES: {r:?}");
        Ok(())
    })
}

/// POISON: a later access raises SIGBUS (SIGSEGV on arm32; a kernel BUG on mips) (checked in a
/// forked child, which inherits the marker).
pub fn poison(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::POISON)?;
        poison_access_survivable()?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, 2 * ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, 2 * ps, RegisterMode::MISSING) },
            "register"
        );
        let r = u.poison(a.addr, ps, PoisonMode::empty());
        check!(r == Ok(()), "poison: {r:?}");
        let r = u.poison(a.addr, ps, PoisonMode::empty());
        check!(
            r == Err(Error::Exists { call: Call::Poison }),
            "poison twice: {r:?}"
        );
        let mut c = ok!(
            rt::spawn(|| {
                rt::no_core();
                let _ = a.read(0);
                Err(msg!("read of a poisoned page returned"))
            }),
            "fork"
        );
        let s = ok!(c.wait(), "wait4");
        check!(
            s == Status::Signaled(rt::POISON_SIGNAL),
            "child: {s:?}, want signal {}",
            rt::POISON_SIGNAL
        );
        Ok(())
    })
}

/// SIGBUS feature: a missing fault raises SIGBUS instead of an event. The faulting process is
/// a forked child whose registration comes from EVENT_FORK (a monitor reads that event).
pub fn sigbus(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::SIGBUS | Features::EVENT_FORK)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        let (rel_r, rel_w) = ok!(rt::pipe(), "pipe");
        // The monitor exists before anything is registered, so its own fork is no event.
        let mon = handler(|| {
            let child = match one_event(&u)? {
                uffd::Event::Fork(c) => c,
                e => return Err(msg!("want FORK, got {e:?}")),
            };
            // Wait for the release (the pipe readable, or hung up if the parent died).
            let _ = wait(&mut [Waiting::fd(rel_r.borrow())], None);
            drop(child);
            Ok(())
        })?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let mut c = ok!(
            rt::spawn(|| {
                rt::no_core();
                let _ = a.read(0);
                Err(msg!("read of a missing page returned under SIGBUS"))
            }),
            "fork"
        );
        let s = ok!(c.wait(), "wait4");
        let _ = rt::write(rel_w.0, &0u8 as *const u8 as usize, 1);
        check!(
            s == Status::Signaled(rt::SIGBUS),
            "child: {s:?}, want SIGBUS"
        );
        join(mon)
    })
}

/// THREAD_ID: the fault names the faulting thread.
pub fn thread_id(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::THREAD_ID)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let tid = rt::gettid() as u32;
        let h = handler(|| {
            let (addr, _, t) = expect_fault(&u)?;
            if t != Some(tid) {
                return Err(msg!("thread id {t:?}, want {tid}"));
            }
            hok!(u.zeropage(addr, ps, ZeropageMode::empty()), "zeropage");
            Ok(())
        })?;
        check!(a.read(0) == 0, "content");
        join(h)
    })
}

/// EXACT_ADDRESS: the fault address is not rounded down to the page.
const PAGE_ADDRESS_ONLY: &str =
    "kernel lacks exact fault addresses on this arch (s390; arm32 before 6.12: it reports the page address)";

pub fn exact_address(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::EXACT_ADDRESS)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let want = a.addr + 123;
        let h = handler(|| {
            let (addr, _, _) = expect_fault(&u)?;
            // Resolve before judging, so a wrong address fails the case instead of leaving
            // the faulting parent blocked forever.
            hok!(u.zeropage(a.addr, ps, ZeropageMode::empty()), "zeropage");
            if addr == want {
                Ok(())
            } else if addr == a.addr && cfg!(any(target_arch = "arm", target_arch = "s390x")) {
                // The kernel offers the feature but cannot honour it here: arm32's fault path
                // hands `addr & PAGE_MASK` to handle_mm_fault (arch/arm/mm/fault.c), and on s390
                // the hardware reports only the page of a translation exception.
                Err(msg!("{PAGE_ADDRESS_ONLY}"))
            } else {
                Err(msg!("address {addr:#x}, want {want:#x}"))
            }
        })?;
        check!(a.read(123) == 0, "content");
        match h.join() {
            Ok(()) => Ok(()),
            Err(m) if m.as_str().ends_with(PAGE_ADDRESS_ONLY) => {
                Err(Outcome::Skip(msg!("{PAGE_ADDRESS_ONLY}")))
            }
            Err(m) => Err(fail(msg!("handler: {}", m.as_str()))),
        }
    })
}
