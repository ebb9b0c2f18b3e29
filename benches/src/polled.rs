//! The polled handler pattern, counted whole (`cargo xtask bench --callgrind`): a non-blocking
//! userfaultfd; a handler in a forked child that waits (`ppoll` on the userfaultfd and an exit
//! pipe), reads one message, decodes it and resolves the page with one `UFFDIO_COPY` from a
//! single source page (or one `UFFDIO_ZEROPAGE`); a parent that touches one word of each page.
//! Both processes are counted, as a user's program pays.
//!
//! The same program three ways: over the crate's typed API ([`Via::Uffd`]), over its bare
//! syscalls (`uffd::sys`, [`Via::Raw`]: the floor for inline-asm syscalls), and in C over
//! glibc (`benches/c/polled.c`).

use crate::ffi;
use std::os::fd::{AsFd, AsRawFd};
use uffd::abi::{
    uffd_msg, uffdio_copy, uffdio_range, uffdio_zeropage, UFFDIO_COPY, UFFDIO_ZEROPAGE,
    UFFD_EVENT_PAGEFAULT,
};
use uffd::fd::BorrowedFd;
use uffd::flags::{CopyMode, RegisterMode, ZeropageMode};
use uffd::sys::{self, Errno, PollFd, POLLERR, POLLIN};
use uffd::wait::{wait, Waiting};
use uffd::{Error, Event, Uffd};

const PATTERN: u64 = 0x5a5a_5a5a_5a5a_5a5a;

/// Which handler.
#[derive(Clone, Copy)]
pub enum Via {
    /// `uffd::wait`, `read_events`, `Event`, `Uffd::copy`/`zeropage`.
    Uffd,
    /// `sys::ppoll`, `sys::read_msgs`, the message's union read directly, `sys::ioctl`.
    Raw,
}

/// How each fault is resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// `UFFDIO_COPY` of the source page.
    Copy,
    /// `UFFDIO_ZEROPAGE`.
    Zero,
}

#[inline(never)]
fn handler_uffd<const ZERO: bool>(
    uffd: &Uffd,
    exit: BorrowedFd<'_>,
    npages: usize,
    src: &[u8],
) -> Result<(), Error> {
    let page = uffd.page_size();
    let mut buf = [uffd_msg::zeroed(); 1];
    let mut done = 0;
    while done < npages {
        let mut fds = [Waiting::uffd(uffd), Waiting::fd(exit)];
        match wait(&mut fds, None) {
            Ok(_)
            | Err(Error::Sys {
                errno: Errno::EINTR,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
        if fds[1].is_ready() {
            return Ok(());
        }
        let Some(events) = uffd.read_events(&mut buf)? else {
            continue;
        };
        for event in events {
            let Event::Pagefault { address, .. } = event? else {
                return Err(Error::UnknownEvent(0));
            };
            let dst = address & !(page - 1);
            let r = if ZERO {
                uffd.zeropage(dst, page, ZeropageMode::empty())
            } else {
                uffd.copy(dst, src, CopyMode::empty())
            };
            match r {
                Ok(()) | Err(Error::Exists { .. }) => {}
                Err(e) => return Err(e),
            }
            done += 1;
        }
    }
    Ok(())
}

#[inline(never)]
fn handler_raw<const ZERO: bool>(
    fd: i32,
    exit: i32,
    npages: usize,
    src: &[u8],
) -> Result<(), Errno> {
    let page = src.len();
    let mut buf = [uffd_msg::zeroed(); 1];
    let mut done = 0;
    while done < npages {
        let mut fds = [
            PollFd {
                fd,
                events: POLLIN,
                revents: 0,
            },
            PollFd {
                fd: exit,
                events: POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fd` (the handler's userfaultfd) and `exit` (the exit pipe) stay open for
        // the whole loop.
        match unsafe { sys::ppoll(&mut fds, None) } {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if fds[0].revents & POLLERR != 0 {
            return Err(Errno::EINVAL);
        }
        if fds[1].revents != 0 {
            return Ok(());
        }
        // SAFETY: as above.
        match unsafe { sys::read_msgs(fd, &mut buf) } {
            Ok(1) => {}
            Ok(_) | Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
        let msg = buf[0];
        if msg.event != UFFD_EVENT_PAGEFAULT {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the kernel wrote the whole message (a page fault: `pagefault` is the member).
        let address = unsafe { msg.arg.pagefault.address };
        let dst = address & !(page as u64 - 1);
        let r = if ZERO {
            let mut arg = uffdio_zeropage {
                range: uffdio_range {
                    start: dst,
                    len: page as u64,
                },
                mode: 0,
                zeropage: 0,
            };
            // SAFETY: UFFDIO_ZEROPAGE reads and writes `arg`; the kernel maps zero pages at a
            // registered page of the parent's area.
            unsafe {
                sys::ioctl(
                    fd,
                    UFFDIO_ZEROPAGE,
                    &mut arg as *mut uffdio_zeropage as usize,
                )
            }
        } else {
            let mut arg = uffdio_copy {
                dst,
                src: src.as_ptr() as u64,
                len: page as u64,
                mode: 0,
                copy: 0,
            };
            // SAFETY: UFFDIO_COPY reads and writes `arg`; the kernel reads `src` (borrowed)
            // and writes a registered page of the parent's area.
            unsafe { sys::ioctl(fd, UFFDIO_COPY, &mut arg as *mut uffdio_copy as usize) }
        };
        match r {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        done += 1;
    }
    Ok(())
}

/// One run over `npages`: handler forked, parent touches and verifies.
pub fn run(npages: usize, via: Via, resolve: Resolve) -> Result<(), String> {
    // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value relies
    // on, and no other code in this process registers memory.
    let uffd =
        unsafe { Uffd::builder().non_blocking(true).create() }.map_err(|e| format!("uffd: {e}"))?;
    let page = uffd.page_size();
    let len = npages * page;
    let area = ffi::map(len).ok_or("mmap")?;
    let src_addr = ffi::map(page).ok_or("mmap")?;
    // SAFETY: a fresh private page, used only through this slice, never registered.
    let src = unsafe { core::slice::from_raw_parts_mut(src_addr as *mut u64, page / 8) };
    src.fill(PATTERN);
    // SAFETY: the same page as bytes, only read from here on.
    let src = unsafe { core::slice::from_raw_parts(src_addr as *const u8, page) };
    // SAFETY: the area is a fresh mapping that no Rust value refers to: the parent reads it
    // through raw pointers only, and it stays mapped while registered.
    unsafe { uffd.register(area, len, RegisterMode::MISSING) }
        .map_err(|e| format!("register: {e}"))?;
    // Polled beside the userfaultfd, never written: the handler's way out, as in a real one.
    let (exit_r, _exit_w) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: the child only runs the handler (no locks, no allocation) and leaves with `_exit`.
    let child = unsafe { ffi::fork() };
    if child < 0 {
        return Err("fork".into());
    }
    if child == 0 {
        let exit = exit_r.as_fd();
        let (fd, raw_exit) = (uffd.as_raw_fd(), exit.as_raw_fd());
        let exit = ffi::borrowed(exit);
        let ok = match (via, resolve) {
            (Via::Uffd, Resolve::Copy) => handler_uffd::<false>(&uffd, exit, npages, src).is_ok(),
            (Via::Uffd, Resolve::Zero) => handler_uffd::<true>(&uffd, exit, npages, src).is_ok(),
            (Via::Raw, Resolve::Copy) => handler_raw::<false>(fd, raw_exit, npages, src).is_ok(),
            (Via::Raw, Resolve::Zero) => handler_raw::<true>(fd, raw_exit, npages, src).is_ok(),
        };
        // SAFETY: ends the forked child without running the parent's destructors.
        unsafe { ffi::_exit(if ok { 0 } else { 1 }) }
    }
    let want = if resolve == Resolve::Zero { 0 } else { PATTERN };
    let mut bad = 0;
    for p in 0..npages {
        // SAFETY: page `p` of the registered area; a missing page blocks until resolved.
        bad |= unsafe { ((area + p * page) as *const u64).read_volatile() } ^ want;
    }
    let mut status = 0;
    // SAFETY: waits for our own child, writing one int.
    if unsafe { ffi::waitpid(child, &mut status, 0) } != child || status != 0 {
        return Err(format!("handler failed: status {status:#x}"));
    }
    uffd.unregister(area, len).map_err(|e| format!("{e}"))?;
    // SAFETY: the area and the source are not used after this.
    unsafe {
        ffi::unmap(area, len);
        ffi::unmap(src_addr, page);
    }
    if bad != 0 {
        return Err("a page held the wrong word".into());
    }
    Ok(())
}
