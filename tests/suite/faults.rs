//! Cases from uffd-unit-tests.c: handshake, registration, and resolving every fault kind.

use super::rt;
use super::util::*;
use super::{Ctx, Outcome};
use crate::{check, hok, msg, ok};
use uffd::flags::*;
use uffd::{Call, Errno, Error, RangeError};

/// API checks: wrong api, unknown feature bit, second UFFDIO_API; probing equals the handshake.
pub fn api(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        let b = builder(ctx, via);
        let u = b.open_unnegotiated().map_err(open_err)?;
        let e = u.api(0xAB, 0).map(|_| ()).unwrap_err_or_fail("api 0xAB")?;
        check!(
            e == Errno::EINVAL,
            "UFFDIO_API api=0xAB: want EINVAL, got {e:?}"
        );
        let e = u
            .api(uffd::abi::UFFD_API, 1 << 63)
            .map(|_| ())
            .unwrap_err_or_fail("bit 63")?;
        check!(
            e == Errno::EINVAL,
            "UFFDIO_API features=1<<63: want EINVAL, got {e:?}"
        );
        let got = ok!(u.api(uffd::abi::UFFD_API, 0), "UFFDIO_API");
        let io = Ioctls::from_bits_retain(got.ioctls);
        check!(
            io.contains(Ioctls::REGISTER | Ioctls::UNREGISTER | Ioctls::API),
            "fd ioctls {io:?}"
        );
        let e = u
            .api(uffd::abi::UFFD_API, 0)
            .map(|_| ())
            .unwrap_err_or_fail("second api")?;
        check!(
            e == Errno::EINVAL,
            "second UFFDIO_API: want EINVAL, got {e:?}"
        );
        let p = ok!(b.probe(), "probe");
        check!(
            p.features.bits() == got.features,
            "probe {:?} != handshake {:#x}",
            p.features,
            got.features
        );
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let h = ok!(unsafe { b.create() }, "create");
        check!(
            h.features().is_empty(),
            "nothing requested, got {:?}",
            h.features()
        );
        check!(
            h.available_features() == p.features,
            "available {:?}",
            h.available_features()
        );
        // A feature both required and requested is asked for once, and granted (THREAD_ID:
        // Linux 4.14, offered by every kernel the suite boots).
        let t = Features::THREAD_ID;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let both = ok!(
            unsafe { b.require(t).request(t).create() },
            "create, THREAD_ID twice"
        );
        check!(
            both.features() == t,
            "required and requested {t:?}: granted {:?}",
            both.features()
        );
        Ok(())
    })
}

trait ErrOrFail<E> {
    fn unwrap_err_or_fail(self, what: &str) -> Result<E, Outcome>;
}
impl<E> ErrOrFail<E> for Result<(), E> {
    fn unwrap_err_or_fail(self, what: &str) -> Result<E, Outcome> {
        match self {
            Ok(()) => Err(fail(msg!("{what}: succeeded, want an error"))),
            Err(e) => Ok(e),
        }
    }
}

/// Every mode combination; masks match the modes; MINOR on anonymous memory is EINVAL; bad
/// ranges are typed errors.
pub fn register_modes(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, mem_features(mem))?;
        let ps = ctx.page_size;
        let a = area(mem, 2 * ps)?;
        let av = u.available_features();
        for m in 1..8u64 {
            let mode = RegisterMode::from_bits_retain(m);
            let wp = mode.contains(RegisterMode::WP);
            let minor = mode.contains(RegisterMode::MINOR);
            let supported = match mem {
                Mem::Anon => !minor && (!wp || av.contains(Features::PAGEFAULT_FLAG_WP)),
                Mem::Shmem => {
                    (!minor || av.contains(Features::MINOR_SHMEM))
                        && (!wp || av.contains(Features::WP_HUGETLBFS_SHMEM))
                }
            };
            // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
            // through raw pointers (`Map::read`/`write`).
            let r = unsafe { u.register(a.addr, 2 * ps, mode) };
            if !supported {
                check!(
                    matches!(
                        r,
                        Err(Error::Sys {
                            errno: Errno::EINVAL,
                            ..
                        })
                    ),
                    "{mem:?} mode {mode:?}: want EINVAL, got {r:?}"
                );
                continue;
            }
            let got = ok!(r, msg!("register {mode:?}").as_str());
            let mut want = Ioctls::WAKE | Ioctls::COPY | Ioctls::ZEROPAGE;
            if av.contains(Features::MOVE) {
                want |= Ioctls::MOVE;
            }
            if av.contains(Features::POISON) {
                want |= Ioctls::POISON;
            }
            if wp {
                want |= Ioctls::WRITEPROTECT;
            }
            if minor {
                want |= Ioctls::CONTINUE;
            }
            let known = Ioctls::all().bits() & ((1 << 9) - 1);
            check!(
                got.bits() & known == want.bits(),
                "{mem:?} mode {mode:?}: mask {got:?}, want {want:?}"
            );
            ok!(u.unregister(a.addr, 2 * ps), "unregister");
        }
        let m = RegisterMode::MISSING;
        // SAFETY: this range and the three below are rejected before the system call, and `a`
        // is raw-pointer-only test memory anyway.
        let r = unsafe { u.register(a.addr + 1, ps, m) };
        check!(
            r == Err(Error::Range(RangeError::UnalignedStart {
                start: a.addr + 1,
                page_size: ps
            })),
            "{r:?}"
        );
        // SAFETY: as above.
        let r = unsafe { u.register(a.addr, ps + 1, m) };
        check!(
            r == Err(Error::Range(RangeError::UnalignedLen {
                len: ps + 1,
                page_size: ps
            })),
            "{r:?}"
        );
        // SAFETY: as above.
        let r = unsafe { u.register(a.addr, 0, m) };
        check!(r == Err(Error::Range(RangeError::Empty)), "{r:?}");
        // SAFETY: as above.
        let r = unsafe { u.register(usize::MAX - ps + 1, 2 * ps, m) };
        check!(r == Err(Error::Range(RangeError::Overflow)), "{r:?}");
        Ok(())
    })
}

/// Missing faults resolved by COPY from a handler process; content verified.
pub fn missing_copy(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, mem_features(mem))?;
        let ps = ctx.page_size;
        let n = 4;
        let a = area(mem, n * ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, n * ps, RegisterMode::MISSING) },
            "register"
        );
        let src = ok!(rt::anon(ps), "mmap src");
        let base = a.addr;
        let h = handler(|| {
            for _ in 0..n {
                let (addr, flags, _) = expect_fault(&u)?;
                if addr % ps != 0 || addr < base || addr >= base + n * ps {
                    return Err(msg!("fault address {addr:#x} not a page of the area"));
                }
                if flags.contains(PagefaultFlags::WP) {
                    return Err(msg!("missing fault with WP flag: {flags:?}"));
                }
                src.fill(0, ps, ((addr - base) / ps + 1) as u8);
                // SAFETY: `src` is an unregistered private mapping that nothing writes while
                // the slice lives (this handler process is single-threaded).
                let r = u.copy(addr, unsafe { src.bytes(0, ps) }, CopyMode::empty());
                if r != Ok(()) {
                    return Err(msg!("copy: {r:?}"));
                }
            }
            Ok(())
        })?;
        for i in 0..n {
            for off in [0, ps / 2, ps - 1] {
                let v = a.read(i * ps + off);
                check!(v == (i + 1) as u8, "page {i} byte {off}: {v}");
            }
        }
        join(h)
    })
}

/// ZEROPAGE resolves to zeros; over a present page it stops with EEXIST; COPY over a range
/// whose second page is present reports the first page done.
pub fn zeropage_and_partial(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, mem_features(mem))?;
        let ps = ctx.page_size;
        let a = area(mem, 4 * ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, 4 * ps, RegisterMode::MISSING) },
            "register"
        );
        let r = u.zeropage(a.addr + ps, ps, ZeropageMode::empty());
        check!(r == Ok(()), "zeropage: {r:?}");
        check!(a.read(ps + 5) == 0, "zeropage content");
        let r = u.zeropage(a.addr, 2 * ps, ZeropageMode::empty());
        check!(
            r == Err(Error::Again {
                call: Call::Zeropage,
                done: ps
            }),
            "zeropage over [missing, present]: want 1 page done + EAGAIN, got {r:?}"
        );
        let r = u.zeropage(a.addr, ps, ZeropageMode::empty());
        check!(
            r == Err(Error::Exists {
                call: Call::Zeropage
            }),
            "zeropage over a present page: want EEXIST, got {r:?}"
        );
        // The EEXIST retry: skip the present page and go on.
        let r = u.zeropage(a.addr + 2 * ps, ps, ZeropageMode::empty());
        check!(r == Ok(()), "retry after EEXIST: {r:?}");
        let src = ok!(rt::anon(2 * ps), "mmap src");
        src.fill(0, 2 * ps, 0x5a);
        // SAFETY: `src` is an unregistered private mapping that nothing writes while the
        // slices below live.
        let (one, two) = unsafe { (src.bytes(0, ps), src.bytes(0, 2 * ps)) };
        let r = u.copy(a.addr + 3 * ps, one, CopyMode::empty());
        check!(r == Ok(()), "copy: {r:?}");
        let r = u.copy(a.addr + 2 * ps, two, CopyMode::empty());
        check!(
            r == Err(Error::Exists { call: Call::Copy }),
            "copy over present pages: {r:?}"
        );
        check!(a.read(3 * ps) == 0x5a, "copied content");
        Ok(())
    })
}

/// COPY with DONTWAKE leaves the faulting thread asleep until WAKE.
pub fn copy_dontwake_wake(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    up_to_three(|| copy_dontwake_wake_once(ctx, mem, via))
}

fn copy_dontwake_wake_once(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, mem_features(mem))?;
        let ps = ctx.page_size;
        let a = area(mem, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let src = ok!(rt::anon(ps), "mmap src");
        // The faulter says on this pipe when its read returned; the handler checks it is
        // still blocked after the DONTWAKE copy and runs only after the WAKE.
        let (done_r, done_w) = ok!(rt::pipe(), "pipe");
        let (pid, tid) = (rt::getpid(), rt::gettid());
        let h = handler(|| {
            let (addr, _, _) = expect_fault(&u)?;
            wait_asleep(pid, tid)?;
            src.fill(0, ps, 0x42);
            // SAFETY: `src` is an unregistered private mapping that nothing writes while the
            // slice lives.
            hok!(
                u.copy(addr, unsafe { src.bytes(0, ps) }, CopyMode::DONTWAKE),
                "copy DONTWAKE"
            );
            // The page is there, but nobody woke the faulter: it must still be blocked.
            rt::sleep_ms(100);
            let mut b = [0u8; 1];
            match done_r.read(&mut b) {
                Err(Errno::EAGAIN) => {}
                r => {
                    return Err(msg!(
                        "faulter ran after a DONTWAKE copy, before WAKE: {r:?}"
                    ))
                }
            }
            hok!(u.wake(addr, ps), "wake");
            let mut waited = 0;
            loop {
                match done_r.read(&mut b) {
                    Ok(1) => break,
                    Err(Errno::EAGAIN) if waited < 10_000 => {
                        rt::sleep_ms(5);
                        waited += 5;
                    }
                    r => return Err(msg!("faulter not running 10 s after WAKE: {r:?}")),
                }
            }
            Ok(())
        })?;
        let v = a.read(1);
        let r = b"r";
        ok!(rt::write(done_w.0, r.as_ptr() as usize, 1), "say done");
        check!(v == 0x42, "content after wake: {v:#x}");
        join(h)
    })
}
