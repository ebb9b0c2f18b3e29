//! Cases for the surface settled in issue 11: adopting a userfaultfd handed over by number
//! (`Uffd::from_received_fd`), `EVENT_FORK` without `CAP_SYS_PTRACE`, and waiting on a
//! userfaultfd together with a stop fd (`uffd::wait`).

use super::rt;
use super::util::*;
use super::{Ctx, Outcome};
use crate::{check, hok, msg, ok};
use core::time::Duration;
use uffd::flags::*;
use uffd::wait::{wait, Waiting};
use uffd::{Errno, Error, Uffd};

/// A fd number no process here has open (`RLIMIT_NOFILE` is far below it).
const NEVER_OPEN: i32 = 1 << 30;

/// `Uffd::from_received_fd`: a negotiated fd (THREAD_ID required, EXACT_ADDRESS and WP asked
/// for) given up with `into_raw_fd` and adopted by number, in this process and in a forked
/// handler that inherited it, has the original's features and ioctls; a fault read through
/// the handler's adopted handle names the faulting thread. A pipe is `NotUserfaultfd`, an fd
/// before its handshake `NotNegotiated` (both closed), and an fd negotiated with no feature
/// is adopted with none.
pub fn received_fd(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe {
            builder(ctx, via)
                .require(Features::THREAD_ID)
                .request(Features::EXACT_ADDRESS | Features::PAGEFAULT_FLAG_WP)
                .create()
        }
        .map_err(open_err)?;
        let (features, ioctls) = (u.features(), u.ioctls());
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let raw = u.into_raw_fd();
        let base = a.addr;
        let tid = rt::gettid() as u32;
        // Forked while no value owns `raw`: the handler's inherited copy is its alone.
        let h = handler(|| {
            // SAFETY: in this process `raw` is the copy inherited across fork, owned by nothing
            // else here; its one registered range, `a`, is used through raw pointers only.
            let got = hok!(unsafe { Uffd::from_received_fd(raw) }, "adopt (handler)");
            if got.features() != features {
                return Err(msg!(
                    "handler: adopted features {:?}, want {features:?}",
                    got.features()
                ));
            }
            let (addr, _, t) = expect_fault(&got)?;
            // Resolve before judging, so a wrong answer fails instead of leaving the faulting
            // parent blocked.
            hok!(
                got.zeropage(base, ps, ZeropageMode::empty()),
                "zeropage via the adopted fd"
            );
            if addr & !(ps - 1) != base {
                return Err(msg!("fault at {addr:#x}, want the page {base:#x}"));
            }
            if t != Some(tid) {
                return Err(msg!("thread id {t:?} through the adopted fd, want {tid}"));
            }
            Ok(())
        })?;
        // SAFETY: `raw` was given up by `into_raw_fd` above and is owned by nothing else in
        // this process; its registered range `a` is used through raw pointers only.
        let mine = ok!(unsafe { Uffd::from_received_fd(raw) }, "adopt");
        check!(mine.as_raw_fd() == raw, "adopted fd {}", mine.as_raw_fd());
        check!(
            mine.features() == features,
            "adopted features {:?}, want {features:?}",
            mine.features()
        );
        check!(
            mine.ioctls() == ioctls,
            "adopted ioctls {:?}, want the handshake's {ioctls:?}",
            mine.ioctls()
        );
        check!(a.read(77) == 0, "content after the handler's ZEROPAGE");
        join(h)?;
        drop(mine);

        // Not a userfaultfd: typed error, and the fd is closed (a read is EBADF, not EAGAIN).
        let (r, w) = ok!(rt::pipe(), "pipe");
        let n = r.0;
        core::mem::forget(r);
        // SAFETY: `n` is the pipe's read end, given up just above (its guard forgotten).
        let e = unsafe { Uffd::from_received_fd(n) }.map(|_| ());
        check!(e == Err(Error::NotUserfaultfd(n)), "a pipe: {e:?}");
        check!(rt::is_closed(n), "the pipe is closed after the error");
        drop(w);

        // Before UFFDIO_API.
        let pre = builder(ctx, via).open_unnegotiated().map_err(open_err)?;
        let n = pre.into_raw_fd();
        // SAFETY: `n` was given up by `into_raw_fd`; nothing is registered on it.
        let e = unsafe { Uffd::from_received_fd(n) }.map(|_| ());
        check!(e == Err(Error::NotNegotiated(n)), "unnegotiated: {e:?}");
        check!(
            rt::is_closed(n),
            "the unnegotiated fd is closed after the error"
        );

        // Negotiated, no features: still negotiated.
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let none = unsafe { builder(ctx, via).create() }.map_err(open_err)?;
        let n = none.into_raw_fd();
        // SAFETY: `n` was given up by `into_raw_fd`; nothing is registered on it.
        let got = ok!(
            unsafe { Uffd::from_received_fd(n) },
            "adopt an fd negotiated with no features"
        );
        check!(got.features().is_empty(), "features {:?}", got.features());
        Ok(())
    })
}

/// `EVENT_FORK` needs `CAP_SYS_PTRACE`: as root `request` is granted; as nobody (a forked
/// child, user-mode-only so that it may open at all) `request` opens without it and
/// `require` fails with `FeatureNotPermitted` naming it and the capability.
pub fn unprivileged_fork(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        // Nobody opens with UFFD_USER_MODE_ONLY: a kernel before 5.11 refuses the flag itself.
        if super::truth::syscall(true).failed_at(super::truth::Step::Userfaultfd)
            == Some(Errno::EINVAL)
        {
            return Err(Outcome::Skip(msg!(
                "kernel lacks UFFD_USER_MODE_ONLY (5.11): raw userfaultfd(UFFD_USER_MODE_ONLY) is EINVAL"
            )));
        }
        if rt::getuid_is_root() != Some(true) {
            return Err(Outcome::Skip(msg!(
                "not root: cannot compare root and nobody"
            )));
        }
        let b = builder(ctx, Via::Syscall);
        let offered = ok!(b.probe(), "probe").features;
        check!(
            Some(offered.bits()) == super::truth::offered(),
            "probe offers {:#x}, raw UFFDIO_API {:#x?}",
            offered.bits(),
            super::truth::offered()
        );
        if !offered.contains(Features::EVENT_FORK) {
            return Err(lacks_skip(
                Features::EVENT_FORK,
                "kernel does not offer EVENT_FORK",
            ));
        }
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = ok!(
            unsafe { b.request(Features::EVENT_FORK).create() },
            "create as root"
        );
        check!(
            u.features().contains(Features::EVENT_FORK),
            "root: request(EVENT_FORK) not granted: {:?}",
            u.features()
        );
        drop(u);
        let b = b.user_mode_only(true);
        let c = ok!(
            rt::spawn(|| {
                hok!(rt::setresgid(65534), "setresgid");
                hok!(rt::setresuid(65534), "setresuid");
                let u = hok!(
                    // SAFETY: this test process registers only fresh mappings of its own tests,
                    // which no Rust value relies on, and no other code in it registers memory.
                    unsafe {
                        b.request(Features::EVENT_FORK | Features::THREAD_ID)
                            .create()
                    },
                    "request(EVENT_FORK) as nobody"
                );
                if u.features().contains(Features::EVENT_FORK) {
                    return Err(msg!("nobody was granted EVENT_FORK: {:?}", u.features()));
                }
                if offered.contains(Features::THREAD_ID)
                    && !u.features().contains(Features::THREAD_ID)
                {
                    return Err(msg!(
                        "the other requested feature was dropped too: {:?}",
                        u.features()
                    ));
                }
                if !u.available_features().contains(Features::EVENT_FORK) {
                    return Err(msg!(
                        "offered (to root) but not in available_features: {:?}",
                        u.available_features()
                    ));
                }
                drop(u);
                // Required and also requested, beside the refused EVENT_FORK: the retry
                // without EVENT_FORK still asks for (and gets) it.
                let t = Features::THREAD_ID;
                if offered.contains(t) {
                    let u = hok!(
                        // SAFETY: this test process registers only fresh mappings of its own tests,
                        // which no Rust value relies on, and no other code in it registers memory.
                        unsafe { b.require(t).request(Features::EVENT_FORK | t).create() },
                        "require(THREAD_ID) + request(EVENT_FORK | THREAD_ID) as nobody"
                    );
                    if u.features() != t {
                        return Err(msg!("granted {:?}, want {t:?}", u.features()));
                    }
                }
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                match unsafe { b.require(Features::EVENT_FORK).create() } {
                    Err(
                        e @ Error::FeatureNotPermitted {
                            features,
                            errno: Errno::EPERM,
                        },
                    ) if features == Features::EVENT_FORK => {
                        for needle in ["CAP_SYS_PTRACE", "EVENT_FORK"] {
                            if !display_contains(&e, needle) {
                                return Err(msg!("{needle} missing in: {e}"));
                            }
                        }
                        Ok(())
                    }
                    r => Err(msg!(
                        "require(EVENT_FORK) as nobody: want FeatureNotPermitted, got {:?}",
                        r.map(|u| u.features())
                    )),
                }
            }),
            "fork"
        );
        ok!(c.join(), "nobody");
        Ok(())
    })
}

/// `uffd::wait` on a non-blocking userfaultfd and a stop pipe: nothing ready with a zero
/// timeout; a fault makes the uffd readable and not the pipe; writing the pipe makes it
/// readable and not the uffd; a closed and a negative fd are `is_invalid`; a blocking
/// userfaultfd is `is_error`.
pub fn wait_stop_fd(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe { builder(ctx, via).non_blocking(true).create() }.map_err(open_err)?;
        let (stop_r, stop_w) = ok!(rt::pipe(), "pipe");
        let mut fds = [Waiting::uffd(&u), Waiting::fd(stop_r.borrow())];
        let n = ok!(wait(&mut fds, Some(Duration::ZERO)), "wait");
        check!(
            n == 0 && !fds[0].is_ready() && !fds[1].is_ready(),
            "nothing pending: {n} ready, {fds:?}"
        );
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let (base, stop) = (a.addr, stop_r.borrow());
        let h = handler(|| {
            let ten_s = Some(Duration::from_secs(10));
            let mut fds = [Waiting::uffd(&u), Waiting::fd(stop)];
            let n = hok!(wait(&mut fds, ten_s), "wait for the fault");
            if n != 1 || !fds[0].is_readable() || fds[1].is_ready() {
                return Err(msg!("a fault pending: {n} ready, {fds:?}"));
            }
            let (addr, _, _) = expect_fault(&u)?;
            hok!(u.zeropage(base, ps, ZeropageMode::empty()), "zeropage");
            if addr & !(ps - 1) != base {
                return Err(msg!("fault at {addr:#x}"));
            }
            let mut fds = [Waiting::uffd(&u), Waiting::fd(stop)];
            let n = hok!(wait(&mut fds, ten_s), "wait for the stop fd");
            if n != 1 || !fds[1].is_readable() || fds[0].is_ready() {
                return Err(msg!("stop written: {n} ready, {fds:?}"));
            }
            Ok(())
        })?;
        check!(a.read(9) == 0, "content after the fault");
        let one = 1u8;
        ok!(
            rt::write(stop_w.0, &one as *const u8 as usize, 1),
            "write the stop fd"
        );
        join(h)?;
        // A blocking userfaultfd always polls POLLERR.
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let blocking = unsafe { builder(ctx, via).create() }.map_err(open_err)?;
        let mut fds = [Waiting::uffd(&blocking)];
        let n = ok!(
            wait(&mut fds, Some(Duration::ZERO)),
            "wait on a blocking fd"
        );
        check!(
            n == 1 && fds[0].is_error() && !fds[0].is_invalid(),
            "blocking: {n} ready, {fds:?}"
        );
        Ok(())
    })
}

/// `UFFD_API_IOCTLS` of linux/userfaultfd.h: `1 << _UFFDIO_REGISTER (0x00) |
/// 1 << _UFFDIO_UNREGISTER (0x01) | 1 << _UFFDIO_API (0x3F)`, what every kernel since 4.3
/// reports for the fd itself.
const RAW_API_IOCTLS: u64 = (1 << 0x00) | (1 << 0x01) | (1 << 0x3F);

/// The crate reports what the kernel offers: `available_features()` and `ioctls()` of a
/// created fd, and `probe()`, equal the raw handshake's answer on the same path
/// ([`super::truth`]), which itself reports the fd-wide ioctls the header names.
pub fn raw_truth(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        let raw = match via {
            Via::Syscall => super::truth::syscall(false),
            Via::Device => super::truth::device(false),
        };
        let super::truth::Raw::Offered { features, ioctls } = raw else {
            return Err(fail(msg!("raw open + UFFDIO_API: {raw:?}")));
        };
        check!(
            ioctls == RAW_API_IOCTLS,
            "raw UFFDIO_API ioctls {ioctls:#x}, linux/userfaultfd.h says {RAW_API_IOCTLS:#x}"
        );
        check!(features != 0, "raw UFFDIO_API offers no features");
        let b = builder(ctx, via);
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe { b.create() }.map_err(open_err)?;
        check!(
            u.available_features().bits() == features,
            "available_features() {:#x}, raw UFFDIO_API {features:#x}",
            u.available_features().bits()
        );
        check!(
            u.ioctls().bits() == ioctls,
            "ioctls() {:#x}, raw UFFDIO_API {ioctls:#x}",
            u.ioctls().bits()
        );
        let p = ok!(b.probe(), "probe");
        check!(
            p.features.bits() == features,
            "probe() features {:#x}, raw UFFDIO_API {features:#x}",
            p.features.bits()
        );
        Ok(())
    })
}
