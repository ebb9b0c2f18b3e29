//! Races (issue 7): fork while faults are pending, closing the last uffd while a process is
//! blocked on a fault, and the faulting process exiting under its handler (ESRCH).
//! `mmap_changing` EAGAIN is `events::mmap_changing`.
//!
//! Concurrency by fork only; the cases skip on ENOSYS and missing features like the rest.

use super::nr::nr;
use super::rt::{self, Fd};
use super::util::*;
use super::{Ctx, Msg, Outcome};
use crate::{check, hok, msg, ok};
use uffd::flags::*;
use uffd::sys::raw::*;
use uffd::{Errno, Error, Event};

/// Reads a pipe (non-blocking read end) until EOF, at most `ms` milliseconds: what was read.
fn read_to_eof(fd: &rt::Fd, ms: isize) -> Result<Msg, Msg> {
    let mut m = Msg::new();
    let mut buf = [0u8; 200];
    let mut waited = 0;
    loop {
        match fd.read(&mut buf) {
            Ok(0) => return Ok(m),
            Ok(n) => {
                let _ = core::fmt::Write::write_str(
                    &mut m,
                    core::str::from_utf8(&buf[..n]).unwrap_or("?"),
                );
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {
                if waited >= ms {
                    return Err(msg!("no EOF after {ms} ms (got {:?})", m.as_str()));
                }
                rt::sleep_ms(2);
                waited += 2;
            }
            Err(e) => return Err(msg!("read: {e:?}")),
        }
    }
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: signalling a process this test created.
    let _ = unsafe { syscall2(nr::kill, pid as usize, sig as usize) };
}

/// A process with a fault pending on its (FORK-event) uffd is forked from again: the handler
/// gets the second FORK while the first child's fault is unresolved, then resolves each
/// child through its own fd with different contents, and the parent's own fault last.
pub fn fork_with_pending_fault(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, Features::EVENT_FORK)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, ps)?;
        let src = ok!(rt::anon(ps), "mmap src");
        // The handler is forked before the registration: no FORK event for it.
        let h = handler(|| {
            let c1 = match one_event(&u)? {
                Event::Fork(c) => c,
                e => return Err(msg!("want FORK 1, got {e:?}")),
            };
            let (f1, _, _) = expect_fault(&c1)?;
            // Child 1 is now blocked; the parent forks again meanwhile.
            let c2 = match one_event(&u)? {
                Event::Fork(c) => c,
                e => return Err(msg!("want FORK 2 (fault of child 1 pending), got {e:?}")),
            };
            let (f2, _, _) = expect_fault(&c2)?;
            if f1 != a.addr || f2 != a.addr {
                return Err(msg!("fault addresses {f1:#x} {f2:#x}, want {:#x}", a.addr));
            }
            src.fill(0, ps, 0x22);
            // SAFETY: `src` is an unregistered private mapping that nothing writes while the
            // slice lives (each `fill` comes before its slice).
            hok!(
                c2.copy(f2, unsafe { src.bytes(0, ps) }, CopyMode::empty()),
                "copy child 2"
            );
            src.fill(0, ps, 0x11);
            // SAFETY: as above.
            hok!(
                c1.copy(f1, unsafe { src.bytes(0, ps) }, CopyMode::empty()),
                "copy child 1"
            );
            let (f0, _, _) = expect_fault(&u)?;
            src.fill(0, ps, 0x33);
            // SAFETY: as above.
            hok!(
                u.copy(f0, unsafe { src.bytes(0, ps) }, CopyMode::empty()),
                "copy parent"
            );
            Ok(())
        })?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case and its children
        // access it only through raw pointers (`Map::read`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
            "register"
        );
        let ar = &a;
        let child = |want: u8| {
            move || {
                let v = ar.read(0);
                if v != want {
                    return Err(msg!("child read {v:#x}, want {want:#x}"));
                }
                Ok(())
            }
        };
        let c1 = ok!(rt::spawn(child(0x11)), "fork 1");
        let c2 = ok!(rt::spawn(child(0x22)), "fork 2");
        ok!(c2.join(), "child 2");
        ok!(c1.join(), "child 1");
        let v = a.read(0);
        check!(v == 0x33, "parent read {v:#x} (its copy is its own)");
        join(h)
    })
}

/// A process blocked on a fault wakes when the last fd of its uffd is closed (the handler,
/// holding the only copy, exits without resolving): the fault then completes as an ordinary
/// missing-page fault (zeros).
pub fn close_wakes_blocked(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        let b = builder(ctx, via);
        let ps = ctx.page_size;
        // Probe in the parent so a missing kernel is a skip, not a child failure.
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        drop(unsafe { b.create() }.map_err(open_err)?);
        let f = ok!(
            rt::spawn(|| {
                let a = hok!(rt::anon(ps), "mmap");
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                let u = hok!(unsafe { b.create() }, "create");
                // SAFETY: `a` is a fresh mmap that no Rust value refers to; it is accessed only
                // through raw pointers (`Map::read`).
                hok!(
                    unsafe { u.register(a.addr, ps, RegisterMode::MISSING) },
                    "register"
                );
                let h = rt::spawn(|| {
                    let (addr, _, _) = expect_fault(&u)?;
                    if addr != a.addr {
                        return Err(msg!("fault at {addr:#x}"));
                    }
                    rt::sleep_ms(20);
                    // Exit without resolving: the last fd goes with this process.
                    Ok(())
                })?;
                drop(u);
                let v = a.read(1);
                if v != 0 {
                    return Err(msg!("after the uffd went away: read {v:#x}, want 0"));
                }
                h.join()
            }),
            "fork"
        );
        // The faulter must finish: a hang here means the close did not wake it.
        ok!(f.join(), "faulter");
        Ok(())
    })
}

/// The faulting process is killed while its fault is pending: once its mm is gone, range ops
/// on its uffd give ESRCH (field untouched: done 0); until then they may succeed.
pub fn faulter_exits_esrch(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        let b = builder(ctx, via);
        let ps = ctx.page_size;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        drop(unsafe { b.create() }.map_err(open_err)?);
        let (res_r, res_w) = ok!(rt::pipe(), "pipe");
        let f = ok!(
            rt::spawn(|| {
                let n = 16;
                let a = hok!(rt::anon(n * ps), "mmap");
                let src = hok!(rt::anon(ps), "mmap src");
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                let u = hok!(unsafe { b.create() }, "create");
                // SAFETY: `a` is a fresh mmap that no Rust value refers to; it is accessed only
                // through raw pointers (`Map::read`).
                hok!(
                    unsafe { u.register(a.addr, n * ps, RegisterMode::MISSING) },
                    "register"
                );
                let (alive_r, alive_w) = hok!(rt::pipe(), "pipe");
                let me = rt::getpid();
                // The handler: a grandchild of the test, reporting through `res_w`.
                let h = rt::spawn_outliving(|| {
                    // This process's copy of the write end: the faulter's is the last.
                    drop(Fd(alive_w.0));
                    let r = (|| -> Result<(), Msg> {
                        let (addr, _, _) = expect_fault(&u)?;
                        if addr != a.addr {
                            return Err(msg!("fault at {addr:#x}"));
                        }
                        kill(me, rt::SIGKILL);
                        // EOF once the faulter's files are gone (after its mm).
                        read_to_eof(&alive_r, 5000)?;
                        // SAFETY: `src` is an unregistered private mapping that nothing writes.
                        let page = unsafe { src.bytes(0, ps) };
                        for i in 0..n {
                            let r = u.copy(a.addr + i * ps, page, CopyMode::empty());
                            // Nothing done: a plain system call error, not partial progress.
                            let want = Err(Error::Sys {
                                call: uffd::Call::Copy,
                                errno: Errno::ESRCH,
                            });
                            if r != want {
                                return Err(msg!("copy page {i} after exit: {r:?}"));
                            }
                        }
                        let r = u.zeropage(a.addr, ps, ZeropageMode::empty());
                        if r.map_err(|e| e.errno()) != Err(Some(Errno::ESRCH)) {
                            return Err(msg!("zeropage after exit: {r:?}"));
                        }
                        Ok(())
                    })();
                    let s = match &r {
                        Ok(()) => "OK",
                        Err(m) => m.as_str(),
                    };
                    let _ = rt::write(res_w.0, s.as_ptr() as usize, s.len());
                    r
                })?;
                core::mem::forget(h); // never joined: this process dies first
                drop(u);
                let _ = a.read(0); // blocks until killed
                Err(msg!("the fault returned"))
            }),
            "fork"
        );
        let mut f = f;
        let st = ok!(f.wait(), "wait faulter");
        check!(
            st == rt::Status::Signaled(rt::SIGKILL),
            "faulter ended {st:?}"
        );
        drop(res_w);
        let m = ok!(read_to_eof(&res_r, 10_000), "handler result");
        check!(m.as_str() == "OK", "handler: {}", m.as_str());
        Ok(())
    })
}
