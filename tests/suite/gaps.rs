//! Cases from uffd-unit-tests.c and the kernel's rules that issue 3 left uncovered: a batched
//! read, EBUSY on a range another uffd owns, CONTINUE with MODE_WP, WRITEPROTECT with DONTWAKE
//! then WAKE, and POISON on shmem.

use super::rt::{self, Status};
use super::util::*;
use super::{Ctx, Msg, Outcome};
use crate::{check, hok, msg, ok};
use uffd::flags::*;
use uffd::sys::raw::syscall6;
use uffd::{Call, Errno, Error, Event};

/// `process_vm_readv` (Linux 3.2), from the same headers as `nr.rs` (kept here, next to its
/// only user, while `nr.rs` is being extended elsewhere).
mod nr_vm {
    #[cfg(target_arch = "x86_64")]
    pub const PROCESS_VM_READV: usize = 310;
    #[cfg(target_arch = "x86")]
    pub const PROCESS_VM_READV: usize = 347;
    #[cfg(target_arch = "arm")]
    pub const PROCESS_VM_READV: usize = 376;
    #[cfg(any(
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "loongarch64"
    ))]
    pub const PROCESS_VM_READV: usize = 270;
    #[cfg(any(target_arch = "powerpc", target_arch = "powerpc64"))]
    pub const PROCESS_VM_READV: usize = 351;
    #[cfg(target_arch = "s390x")]
    pub const PROCESS_VM_READV: usize = 340;
    /// n64: `__NR_Linux` (5000) + 304.
    #[cfg(target_arch = "mips64")]
    pub const PROCESS_VM_READV: usize = 5304;
}

/// `process_vm_readv(pid, {buf}, 1, {remote, buf.len()}, 1, 0)`: the kernel reads another
/// process's memory through GUP, faulting there as that process would (a remote fault).
fn read_remote(pid: i32, remote: usize, buf: &mut [u8]) -> Result<usize, Errno> {
    let local = [buf.as_mut_ptr() as usize, buf.len()];
    let remote = [remote, buf.len()];
    // SAFETY: two one-element iovecs ({base, len}: two words on every ABI) that live across the
    // call; the kernel writes at most `buf.len()` bytes into `buf`, borrowed mutably.
    unsafe {
        syscall6(
            nr_vm::PROCESS_VM_READV,
            pid as usize,
            local.as_ptr() as usize,
            1,
            remote.as_ptr() as usize,
            1,
            0,
        )
    }
}

/// Reads single bytes from a non-blocking pipe until `want` arrived or `ms` passed.
fn read_bytes(fd: &rt::Fd, out: &mut [u8], ms: isize) -> Result<(), Msg> {
    let mut got = 0;
    let mut waited = 0;
    while got < out.len() {
        match fd.read(&mut out[got..]) {
            Ok(0) => return Err(msg!("pipe closed after {got} of {} bytes", out.len())),
            Ok(n) => got += n,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {
                if waited >= ms {
                    return Err(msg!("{got} of {} bytes after {ms} ms", out.len()));
                }
                rt::sleep_ms(2);
                waited += 2;
            }
            Err(e) => return Err(msg!("read: {e:?}")),
        }
    }
    Ok(())
}

const BATCH: usize = 4;

/// One `read` returns several messages: `BATCH` processes read one page each of this process's
/// registered memory with `process_vm_readv` (remote faults, each blocking its reader), so that
/// several faults are pending at once on this single-threaded process's uffd. Every message of
/// every batch is decoded and checked, then each page is resolved with its own contents.
pub fn batched_read(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        available(via)?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let u = unsafe {
            builder(ctx, via)
                .non_blocking(true)
                .request(Features::THREAD_ID)
                .create()
        }
        .map_err(open_err)?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, BATCH * ps)?;
        let plain = ok!(rt::anon(ps), "mmap");
        plain.write(0, 0x5a);
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; only the kernel reads it
        // (for the readers' process_vm_readv).
        ok!(
            unsafe { u.register(a.addr, BATCH * ps, RegisterMode::MISSING) },
            "register"
        );
        let me = rt::getpid();
        let (ready_r, ready_w) = ok!(rt::pipe(), "pipe");
        let mut kids = [const { None }; BATCH];
        let mut pids = [0i32; BATCH];
        for (i, k) in kids.iter_mut().enumerate() {
            let (base, probe, w) = (a.addr, plain.addr, ready_w.0);
            let c = ok!(
                rt::spawn(move || {
                    // Can this process read its parent's memory at all (Yama ptrace_scope 1
                    // without CAP_SYS_PTRACE: EPERM)? Tell the parent, then fault.
                    let mut one = [0u8; 1];
                    let r = read_remote(me, probe, &mut one);
                    let tag = if r == Ok(1) && one[0] == 0x5a {
                        b'R'
                    } else {
                        b'P'
                    };
                    let _ = rt::write(w, &tag as *const u8 as usize, 1);
                    hok!(r, "process_vm_readv of an unregistered page");
                    let mut buf = [0u8; 8];
                    let r = read_remote(me, base + i * ps + 8, &mut buf);
                    if r != Ok(8) || buf != [i as u8 + 1; 8] {
                        return Err(msg!("remote read of page {i}: {r:?} {buf:?}"));
                    }
                    Ok(())
                }),
                "fork"
            );
            pids[i] = c.pid();
            *k = Some(c);
        }
        let mut tags = [0u8; BATCH];
        ok!(read_bytes(&ready_r, &mut tags, 10_000), "readers");
        if tags.contains(&b'P') {
            return Err(Outcome::Skip(msg!(
                "process_vm_readv of the parent denied (ptrace scope, no CAP_SYS_PTRACE)"
            )));
        }
        // The readers fault right after saying so; give them time to queue their messages.
        rt::sleep_ms(50);
        let mut faults = [0usize; BATCH];
        let mut total = 0;
        let mut batches = [0usize; BATCH];
        let mut reads = 0;
        let mut pause = 20;
        let mut waited = 0;
        while total < BATCH {
            let mut buf = [uffd::abi::uffd_msg::zeroed(); 2 * BATCH];
            let ev = ok!(u.read_events(&mut buf), "read");
            if let Some(mut ev) = ev {
                check!(
                    ev.len() + total <= BATCH,
                    "{} messages, want {BATCH}",
                    ev.len() + total
                );
                batches[reads] = ev.len();
                reads += 1;
                // What `Events` says it holds, against the messages it then yields.
                let (hint, was_empty, before) = (ev.size_hint(), ev.is_empty(), total);
                for e in ev.by_ref() {
                    let e = ok!(e, "decode");
                    let Event::Pagefault {
                        address,
                        flags,
                        thread_id,
                    } = e
                    else {
                        return Err(fail(msg!("want a page fault, got {e:?}")));
                    };
                    let page = address.wrapping_sub(a.addr) / ps;
                    check!(
                        address % ps == 0 && page < BATCH && !faults[..total].contains(&address),
                        "fault address {address:#x} (area {:#x}, seen {:?})",
                        a.addr,
                        &faults[..total]
                    );
                    check!(
                        !flags.intersects(PagefaultFlags::WRITE | PagefaultFlags::WP),
                        "a remote read fault with flags {flags:?}"
                    );
                    if let Some(t) = thread_id {
                        check!(
                            t as i32 == pids[page],
                            "page {page} faulted by {t}, want reader {}",
                            pids[page]
                        );
                    }
                    faults[total] = address;
                    total += 1;
                }
                let k = total - before;
                check!(
                    hint == (k, Some(k)) && was_empty == (k == 0),
                    "Events said size_hint {hint:?}, is_empty {was_empty}; it yielded {k}"
                );
                check!(
                    ev.is_empty() && ev.size_hint() == (0, Some(0)),
                    "Events after the last message: is_empty {}, size_hint {:?}",
                    ev.is_empty(),
                    ev.size_hint()
                );
                if total == BATCH {
                    break;
                }
            }
            check!(
                waited < 10_000,
                "{total} of {BATCH} faults after 10 s (batches {:?})",
                &batches[..reads]
            );
            // Whatever is still missing then arrives during one pause, in one batch.
            rt::sleep_ms(pause);
            waited += pause;
            pause = (pause * 2).min(1000);
        }
        check!(
            batches[..reads].iter().any(|&n| n > 1),
            "every read returned one message (batches {:?})",
            &batches[..reads]
        );
        let src = ok!(rt::anon(ps), "mmap src");
        for &addr in &faults {
            src.fill(0, ps, ((addr - a.addr) / ps + 1) as u8);
            // SAFETY: `src` is an unregistered private mapping that nothing writes while the
            // slice lives.
            let r = u.copy(addr, unsafe { src.bytes(0, ps) }, CopyMode::empty());
            check!(r == Ok(()), "copy at {addr:#x}: {r:?}");
        }
        for (i, k) in kids.iter_mut().enumerate() {
            if let Some(c) = k.take() {
                ok!(c.join(), msg!("reader {i}").as_str());
            }
        }
        Ok(())
    })
}

/// REGISTER of a range (or part of one) another userfaultfd owns: EBUSY; the same uffd may
/// register it again; once the owner unregisters it, or closes, the other may take it.
pub fn register_ebusy(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u1 = open(ctx, via, Features::empty())?;
        let u2 = open(ctx, via, Features::empty())?;
        let ps = ctx.page_size;
        let a = area(Mem::Anon, 3 * ps)?;
        let m = RegisterMode::MISSING;
        let mid = a.addr + ps;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to and that the case never even
        // reads.
        ok!(
            unsafe { u1.register(mid, ps, m) },
            "register by the first uffd"
        );
        let busy = |r: Result<Ioctls, Error>| {
            matches!(
                r,
                Err(Error::Sys {
                    call: Call::Register,
                    errno: Errno::EBUSY
                })
            )
        };
        // SAFETY: as above.
        let r = unsafe { u2.register(mid, ps, m) };
        check!(busy(r), "same range by another uffd: want EBUSY, got {r:?}");
        // SAFETY: as above.
        let r = unsafe { u2.register(a.addr, 3 * ps, m) };
        check!(
            busy(r),
            "overlapping range by another uffd: want EBUSY, got {r:?}"
        );
        // WP registration is EINVAL where the kernel has no WP at all (e.g. arm64 6.1), before
        // ownership is looked at.
        if u2
            .available_features()
            .contains(Features::PAGEFAULT_FLAG_WP)
        {
            // SAFETY: as above.
            let r = unsafe { u2.register(mid, ps, m | RegisterMode::WP) };
            check!(busy(r), "another mode, another uffd: want EBUSY, got {r:?}");
        }
        // SAFETY: as above.
        let r = unsafe { u1.register(mid, ps, m) };
        check!(r.is_ok(), "same range by the same uffd again: {r:?}");
        // SAFETY: as above.
        let r = unsafe { u2.register(a.addr, ps, m) };
        check!(r.is_ok(), "the page next to it by another uffd: {r:?}");
        // SAFETY: as above.
        let r = unsafe { u1.register(a.addr, 2 * ps, m) };
        check!(busy(r), "back over the other's page: want EBUSY, got {r:?}");
        ok!(u1.unregister(mid, ps), "unregister by the owner");
        // SAFETY: as above.
        let r = unsafe { u2.register(mid, ps, m) };
        check!(r.is_ok(), "after the owner unregistered: {r:?}");
        drop(u2);
        // SAFETY: as above.
        let r = unsafe { u1.register(a.addr, 3 * ps, m) };
        check!(r.is_ok(), "after the other uffd was closed: {r:?}");
        Ok(())
    })
}

/// CONTINUE with MODE_WP (6.4) maps the page cache page write-protected: the minor fault is
/// resolved, and a later write through the registered mapping raises a WP fault.
pub fn continue_wp(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let u = open(
            ctx,
            via,
            Features::MINOR_SHMEM | Features::PAGEFAULT_FLAG_WP | Features::WP_HUGETLBFS_SHMEM,
        )?;
        // No feature bit says MODE_WP is accepted (before 6.4 it is EINVAL): WP_UNPOPULATED came
        // in the same release, and the selftests (minor-wp) use it the same way.
        if !u.available_features().contains(Features::WP_UNPOPULATED) {
            return Err(lacks_skip(
                Features::WP_UNPOPULATED,
                "kernel lacks UFFDIO_CONTINUE_MODE_WP (6.4; no feature bit, WP_UNPOPULATED stands in)",
            ));
        }
        let ps = ctx.page_size;
        let a = area(Mem::Shmem, ps)?;
        let fd = a.fd.as_ref().map(|f| f.0).unwrap_or(-1);
        let b = ok!(rt::mmap(0, ps, rt::MAP_SHARED, fd), "second mapping");
        a.fill(0, ps, 0x55);
        // SAFETY: `b` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`), as it does the other mapping `a`.
        let got = ok!(
            unsafe { u.register(b.addr, ps, RegisterMode::MINOR | RegisterMode::WP) },
            "register MINOR|WP"
        );
        check!(
            got.contains(Ioctls::CONTINUE | Ioctls::WRITEPROTECT),
            "mask {got:?}"
        );
        let base = b.addr;
        let h = handler(|| {
            let (addr, flags, _) = expect_fault(&u)?;
            if addr != base || !flags.contains(PagefaultFlags::MINOR) {
                return Err(msg!("want a MINOR fault at {base:#x}: {addr:#x} {flags:?}"));
            }
            let r = u.continue_(addr, ps, ContinueMode::WP);
            if r != Ok(()) {
                return Err(msg!("continue WP: {r:?}"));
            }
            expect_fault_at(&u, base, PagefaultFlags::WP | PagefaultFlags::WRITE)?;
            hok!(
                u.writeprotect(addr, ps, WriteprotectMode::empty()),
                "unprotect"
            );
            Ok(())
        })?;
        check!(b.read(7) == 0x55, "content through the registered mapping");
        b.write(0, 0x56);
        check!(b.read(0) == 0x56, "write after unprotect");
        join(h)?;
        check!(a.read(0) == 0x56, "the write reached the page cache");
        Ok(())
    })
}

/// Un-protecting with DONTWAKE leaves the writer blocked (checked over a pipe it writes once
/// its write went through) until an explicit WAKE; WP|DONTWAKE together is EINVAL.
pub fn wp_dontwake_wake(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    up_to_three(|| wp_dontwake_wake_once(ctx, mem, via))
}

fn wp_dontwake_wake_once(ctx: &Ctx, mem: Mem, via: Via) -> Outcome {
    run(|| {
        let u = open(ctx, via, super::kinds::wp_features(mem))?;
        let ps = ctx.page_size;
        let a = area(mem, ps)?;
        // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses it only
        // through raw pointers (`Map::read`/`write`).
        ok!(
            unsafe { u.register(a.addr, ps, RegisterMode::WP) },
            "register WP"
        );
        a.write(0, 0x11);
        let r = u.writeprotect(
            a.addr,
            ps,
            WriteprotectMode::WP | WriteprotectMode::DONTWAKE,
        );
        check!(
            r == Err(Error::Sys {
                call: Call::Writeprotect,
                errno: Errno::EINVAL
            }),
            "WP|DONTWAKE: want EINVAL, got {r:?}"
        );
        ok!(u.writeprotect(a.addr, ps, WriteprotectMode::WP), "protect");
        let (done_r, done_w) = ok!(rt::pipe(), "pipe");
        let base = a.addr;
        let (pid, tid) = (rt::getpid(), rt::gettid());
        let h = handler(|| {
            expect_fault_at(&u, base, PagefaultFlags::WP | PagefaultFlags::WRITE)?;
            wait_asleep(pid, tid)?;
            hok!(
                u.writeprotect(base, ps, WriteprotectMode::DONTWAKE),
                "unprotect DONTWAKE"
            );
            rt::sleep_ms(50);
            let mut b = [0u8; 1];
            match done_r.read(&mut b) {
                Err(Errno::EAGAIN) => {}
                r => return Err(msg!("the writer went on before WAKE: {r:?}")),
            }
            hok!(u.wake(base, ps), "wake");
            read_bytes(&done_r, &mut b, 10_000).map_err(|m| msg!("after WAKE: {}", m.as_str()))
        })?;
        a.write(1, 0x22);
        let _ = rt::write(done_w.0, &1u8 as *const u8 as usize, 1);
        check!(
            a.read(0) == 0x11 && a.read(1) == 0x22,
            "content after the WP fault"
        );
        join(h)
    })
}

/// POISON on shmem: the page is marked in the registering process's page table (a later
/// access raises SIGBUS; a second POISON or one over a present page is EEXIST), while the file
/// itself gets no page. Run in a child that opens its own uffd (fork does not copy the page
/// tables of a shared mapping, so a marker would not reach a child).
pub fn poison_shmem(ctx: &Ctx, via: Via) -> Outcome {
    run(|| {
        let features = Features::POISON | Features::MISSING_SHMEM;
        drop(open(ctx, via, features)?);
        poison_access_survivable()?;
        let b = builder(ctx, via).require(features);
        let ps = ctx.page_size;
        let a = area(Mem::Shmem, 2 * ps)?;
        let mut c = ok!(
            rt::spawn(|| {
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                let u = hok!(unsafe { b.create() }, "create");
                // SAFETY: `a` is a fresh mmap that no Rust value refers to; the case accesses
                // it only through raw pointers (`Map::read`).
                let got = hok!(
                    unsafe { u.register(a.addr, 2 * ps, RegisterMode::MISSING) },
                    "register"
                );
                if !got.contains(Ioctls::POISON | Ioctls::COPY) {
                    return Err(msg!("mask {got:?} lacks POISON|COPY"));
                }
                let r = u.poison(a.addr, ps, PoisonMode::empty());
                if r != Ok(()) {
                    return Err(msg!("poison: {r:?}"));
                }
                let eexist = |r: Result<(), Error>| r == Err(Error::Exists { call: Call::Poison });
                let r = u.poison(a.addr, ps, PoisonMode::empty());
                if !eexist(r) {
                    return Err(msg!("poison twice: want EEXIST, got {r:?}"));
                }
                let src = hok!(rt::anon(ps), "mmap src");
                src.fill(0, ps, 0x3c);
                // SAFETY: `src` is an unregistered private mapping that nothing writes while
                // the slice lives.
                let r = u.copy(a.addr + ps, unsafe { src.bytes(0, ps) }, CopyMode::empty());
                if r != Ok(()) {
                    return Err(msg!("copy next to the poisoned page: {r:?}"));
                }
                let r = u.poison(a.addr + ps, ps, PoisonMode::empty());
                if !eexist(r) {
                    return Err(msg!("poison over a present page: want EEXIST, got {r:?}"));
                }
                if a.read(ps + 9) != 0x3c {
                    return Err(msg!("copied content"));
                }
                rt::no_core();
                let _ = a.read(0);
                Err(msg!("read of a poisoned shmem page returned"))
            }),
            "fork"
        );
        let s = ok!(c.wait(), "wait4");
        check!(
            s == Status::Signaled(rt::POISON_SIGNAL),
            "child: {s:?}, want signal {} ({})",
            rt::POISON_SIGNAL,
            c.message().as_str()
        );
        // The file: the copied page is in the page cache, the poisoned one never was.
        check!(a.read(ps + 9) == 0x3c, "the child's COPY in the page cache");
        check!(
            a.read(5) == 0,
            "the poison marker is the child's, not the file's"
        );
        Ok(())
    })
}
