//! Cases from uffd-unit-tests.c: non-cooperative events, mmap_changing, unprivileged use,
//! non-blocking reads and poll.

use super::rt::{self, Status};
use super::util::*;
use super::{Ctx, Outcome};
use crate::{check, hok, msg, ok};
use core::time::Duration;
use uffd::flags::*;
use uffd::{Call, Errno, Error, Event};

/// FORK: the new fd serves the child's faults.
pub fn fork(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::EVENT_FORK)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        let src = ok!(rt::anon(ps), "mmap src");
        let h = handler(|| {
            let child = match one_event(&u)? {
                Event::Fork(c) => c,
                e => return Err(msg!("want FORK, got {e:?}")),
            };
            if !child.features().contains(Features::EVENT_FORK) {
                return Err(msg!("child fd features {:?}", child.features()));
            }
            let (addr, _, _) = expect_fault(&child)?;
            src.fill(0, ps, 0x61);
            // SAFETY: `src` is an unregistered private mapping that nothing writes while the
            // slice lives.
            hok!(
                child.copy(addr, unsafe { src.bytes(0, ps) }, CopyMode::empty()),
                "copy via the child's fd"
            );
            Ok(())
        })?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let c = ok!(
            rt::spawn(|| {
                let v = a.read(3);
                if v != 0x61 {
                    return Err(msg!("child read {v}"));
                }
                Ok(())
            }),
            "fork"
        );
        ok!(c.join(), "child");
        join(h)
    })
}

/// REMAP, REMOVE and UNMAP arrive with the right ranges; the triggering call waits for them.
pub fn noncoop(ctx: &Ctx, via: Via, which: Features) -> Outcome {
    run(|| {
        let u = open(ctx, via, which)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, 2 * ps)?;
        let dst = ok!(rt::anon(2 * ps), "reserve");
        a.fill(0, 2 * ps, 1);
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, 2 * ps, RegisterMode::MISSING) },
            "register"
        );
        let (start, to) = (a.addr, dst.addr);
        let h = handler(|| {
            let e = one_event(&u)?;
            let good = match e {
                Event::Remap { from, to: t, len } => {
                    which == Features::EVENT_REMAP && from == start && t == to && len == 2 * ps
                }
                Event::Remove { start: s, end } => {
                    which == Features::EVENT_REMOVE && s == start && end == start + ps
                }
                Event::Unmap { start: s, end } => {
                    which == Features::EVENT_UNMAP && s == start && end == start + 2 * ps
                }
                _ => false,
            };
            if !good {
                return Err(msg!("unexpected event {e:?} (area {start:#x}, to {to:#x})"));
            }
            Ok(())
        })?;
        if which == Features::EVENT_REMAP {
            let r = rt::mremap(
                a.addr,
                2 * ps,
                2 * ps,
                rt::MREMAP_MAYMOVE | rt::MREMAP_FIXED,
                to,
            );
            check!(r == Ok(to), "mremap: {r:?}");
            a.map.forget_ref();
        } else if which == Features::EVENT_REMOVE {
            ok!(rt::madvise(a.addr, ps, rt::MADV_DONTNEED), "madvise");
        } else {
            ok!(rt::munmap(a.addr, 2 * ps), "munmap");
            a.map.forget_ref();
        }
        join(h)
    })
}

/// mmap_changing: a range op issued while a REMOVE event is unread gives EAGAIN (nothing done);
/// after reading the event it succeeds.
pub fn mmap_changing(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe {
            builder(ctx, via)
                .non_blocking(true)
                .require(Features::EVENT_REMOVE)
                .create()
        }
        .map_err(open_err)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, 2 * ps)?;
        a.fill(0, ps, 1);
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, 2 * ps, RegisterMode::MISSING) },
            "register"
        );
        let src = ok!(rt::anon(ps), "mmap src");
        let h = handler(|| {
            let mut removed = false;
            let r = (|| {
                if !hok!(u.poll(None), "poll") {
                    return Err(msg!("poll: nothing ready"));
                }
                src.fill(0, ps, 0x71);
                // SAFETY: `src` is an unregistered private mapping that nothing writes from
                // here on (this handler process is single-threaded).
                let page = unsafe { src.bytes(0, ps) };
                let r = u.copy(a.addr + ps, page, CopyMode::empty());
                if r != Err(Error::Again {
                    call: Call::Copy,
                    done: 0,
                }) {
                    return Err(msg!("copy with REMOVE unread: want EAGAIN, got {r:?}"));
                }
                let mut buf = [uffd::abi::uffd_msg::zeroed(); 4];
                let mut ev = match hok!(u.read_events(&mut buf), "read") {
                    Some(ev) => ev,
                    None => return Err(msg!("read: nothing pending after poll")),
                };
                removed = matches!(ev.next(), Some(Ok(Event::Remove { .. })));
                if !removed {
                    return Err(msg!("want REMOVE"));
                }
                drop(ev);
                // The faulting thread lowers mmap_changing once it runs again: retry on EAGAIN.
                let mut r = u.copy(a.addr + ps, page, CopyMode::empty());
                let mut tries = 0;
                while matches!(r, Err(Error::Again { .. })) && tries < 5000 {
                    rt::sleep_ms(1);
                    tries += 1;
                    r = u.copy(a.addr + ps, page, CopyMode::empty());
                }
                if r != Ok(()) {
                    return Err(msg!("copy after reading the event: {r:?}"));
                }
                Ok(())
            })();
            if r.is_err() && !removed {
                // The parent's madvise waits until the REMOVE event is read: read it (for up to
                // 10 s), so that the case fails instead of hanging.
                for _ in 0..5000 {
                    let mut buf = [uffd::abi::uffd_msg::zeroed(); 4];
                    if let Ok(Some(ev)) = u.read_events(&mut buf) {
                        if ev
                            .into_iter()
                            .any(|e| matches!(e, Ok(Event::Remove { .. })))
                        {
                            break;
                        }
                    }
                    rt::sleep_ms(2);
                }
            }
            r
        })?;
        ok!(rt::madvise(a.addr, ps, rt::MADV_DONTNEED), "madvise");
        join(h)?;
        check!(a.read(ps) == 0x71, "copied content");
        Ok(())
    })
}

fn unprivileged_sysctl() -> Option<u8> {
    let fd = rt::open(
        c"/proc/sys/vm/unprivileged_userfaultfd",
        uffd::sys::O_CLOEXEC,
    )
    .ok()?;
    let mut b = [0u8; 4];
    let n = fd.read(&mut b).ok()?;
    (n > 0).then_some(b[0])
}

/// In a child that drops to nobody: without user-mode-only creation fails with EPERM and a
/// remedy; with it, it succeeds, and a kernel access to a missing page fails with EFAULT.
pub fn unprivileged(ctx: &Ctx) -> Outcome {
    run(|| {
        available(Via::Syscall)?;
        if rt::getuid_is_root() == Some(false) {
            return Err(Outcome::Skip(msg!("not root: cannot drop to another uid")));
        }
        // mips64el 6.12 oopses ("Unable to handle kernel paging request" in
        // __raw_copy_from_user, no fixup) where the kernel access must fail with EFAULT.
        if cfg!(target_arch = "mips64") && super::truth::release().is_some_and(|r| r >= (6, 12)) {
            return Err(Outcome::Skip(msg!(
                "a kernel access to a user-mode-only range oopses on mips 6.12 (no EFAULT)"
            )));
        }
        let sysctl = unprivileged_sysctl();
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        let c = ok!(
            rt::spawn(|| {
                hok!(rt::setresgid(65534), "setresgid");
                hok!(rt::setresuid(65534), "setresuid");
                let b = uffd::Builder::new().page_size(ps);
                if sysctl != Some(b'1') {
                    // SAFETY: this test process registers only fresh mappings of its own tests,
                    // which no Rust value relies on, and no other code in it registers memory.
                    match unsafe { b.create() } {
                        Err(
                            e @ Error::PermissionDenied {
                                errno: Errno::EPERM,
                                ..
                            },
                        ) => {
                            for remedy in [
                                "user_mode_only",
                                "vm.unprivileged_userfaultfd",
                                "CAP_SYS_PTRACE",
                            ] {
                                if !display_contains(&e, remedy) {
                                    return Err(msg!("remedy {remedy} missing in: {e}"));
                                }
                            }
                        }
                        r => return Err(msg!("want EPERM with a remedy, got {:?}", r.map(|_| ()))),
                    }
                }
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                let u = match unsafe { b.user_mode_only(true).create() } {
                    Ok(u) => u,
                    // Before 5.11 (the raw call agrees): the typed error names the version
                    // and what a privileged caller may do instead; nothing more to test.
                    Err(e @ Error::UserModeOnlyUnsupported { .. })
                        if super::truth::syscall(true)
                            .failed_at(super::truth::Step::Userfaultfd)
                            == Some(Errno::EINVAL) =>
                    {
                        for want in ["5.11", "user_mode_only(false)"] {
                            if !display_contains(&e, want) {
                                return Err(msg!("{want} missing in: {e}"));
                            }
                        }
                        return Ok(());
                    }
                    Err(e) => return Err(msg!("create user-mode-only: {e:?}")),
                };
                // SAFETY: `a` is a fresh mmap that no Rust value refers to; only the kernel
                // touches it below (the write from it is expected to fail).
                hok!(
                    unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
                    "register"
                );
                let (_r, w) = hok!(rt::pipe(), "pipe");
                match rt::write(w.0, a.addr, ps) {
                    Err(Errno::EFAULT) => Ok(()),
                    r => Err(msg!(
                        "kernel access to a missing page: want EFAULT, got {r:?}"
                    )),
                }
            }),
            "fork"
        );
        ok!(c.join(), "unprivileged child");
        Ok(())
    })
}

/// Non-blocking read with nothing pending is `Ok(None)`; poll times out cleanly.
pub fn nonblocking_read(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe { builder(ctx, via).non_blocking(true).create() }.map_err(open_err)?;
        let mut buf = [uffd::abi::uffd_msg::zeroed(); 4];
        let r = u.read_events(&mut buf).map(|e| e.map(|e| e.len()));
        check!(r == Ok(None), "read: {r:?}");
        let r = u.poll(Some(Duration::ZERO));
        check!(r == Ok(false), "poll: {r:?}");
        Ok(())
    })
}

/// poll on a blocking fd reports POLLERR.
pub fn poll_blocking(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe { builder(ctx, via).create() }.map_err(open_err)?;
        let r = u.poll(Some(Duration::ZERO));
        check!(r == Err(Error::PollError), "poll: {r:?}");
        let _ = Status::Exited(0);
        Ok(())
    })
}
