//! The polled handler pattern, counted whole (`cargo xtask bench --callgrind`): a non-blocking
//! userfaultfd; a handler in a forked child that waits (`ppoll`), reads one message, decodes it
//! and resolves the page with one `UFFDIO_COPY` from a single source page; a parent that
//! touches one word of each page. Both processes are counted, as a user's program pays.
//!
//! The same program three ways: over the crate's typed API ([`Via::Uffd`]), over its bare
//! syscalls (`uffd::sys`, [`Via::Raw`]: the floor for inline-asm syscalls), and in C over
//! glibc (`benches/c/polled.c`).

use crate::ffi;
use uffd::abi::{uffd_msg, uffdio_copy, UFFDIO_COPY, UFFD_EVENT_PAGEFAULT};
use uffd::flags::{CopyMode, RegisterMode};
use uffd::sys::{self, Errno, PollFd, POLLERR, POLLIN};
use uffd::{Error, Event, Uffd};

const PATTERN: u64 = 0x5a5a_5a5a_5a5a_5a5a;

/// Which handler.
#[derive(Clone, Copy)]
pub enum Via {
    /// `Uffd::poll`, `read_events`, `Event`, `Uffd::copy`.
    Uffd,
    /// `sys::ppoll`, `sys::read_msgs`, the message's union read directly, `sys::ioctl`.
    Raw,
}

#[inline(never)]
fn handler_uffd(uffd: &Uffd, npages: usize, src: &[u8]) -> Result<(), Error> {
    let page = uffd.page_size();
    let mut buf = [uffd_msg::zeroed(); 1];
    let mut done = 0;
    while done < npages {
        match uffd.poll(None) {
            Ok(_)
            | Err(Error::Sys {
                errno: Errno::EINTR,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
        let Some(events) = uffd.read_events(&mut buf)? else {
            continue;
        };
        for event in events {
            let Event::Pagefault { address, .. } = event? else {
                return Err(Error::UnknownEvent(0));
            };
            match uffd.copy(address & !(page - 1), src, CopyMode::empty()) {
                Ok(()) | Err(Error::Exists { .. }) => {}
                Err(e) => return Err(e),
            }
            done += 1;
        }
    }
    Ok(())
}

#[inline(never)]
fn handler_raw(fd: i32, npages: usize, src: &[u8]) -> Result<(), Errno> {
    let page = src.len();
    let mut buf = [uffd_msg::zeroed(); 1];
    let mut done = 0;
    while done < npages {
        let mut fds = [PollFd {
            fd,
            events: POLLIN,
            revents: 0,
        }];
        // SAFETY: `fd` is the handler's userfaultfd, open for the whole loop.
        match unsafe { sys::ppoll(&mut fds, None) } {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if fds[0].revents & POLLERR != 0 {
            return Err(Errno::EINVAL);
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
        let mut arg = uffdio_copy {
            dst: address & !(page as u64 - 1),
            src: src.as_ptr() as u64,
            len: page as u64,
            mode: 0,
            copy: 0,
        };
        // SAFETY: UFFDIO_COPY reads and writes `arg`; the kernel reads `src` (borrowed) and
        // writes a registered page of the parent's area.
        match unsafe { sys::ioctl(fd, UFFDIO_COPY, &mut arg as *mut uffdio_copy as usize) } {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        done += 1;
    }
    Ok(())
}

/// One run over `npages`: handler forked, parent touches and verifies.
pub fn run(npages: usize, via: Via) -> Result<(), String> {
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
    // SAFETY: the child only runs the handler (no locks, no allocation) and leaves with `_exit`.
    let child = unsafe { ffi::fork() };
    if child < 0 {
        return Err("fork".into());
    }
    if child == 0 {
        let ok = match via {
            Via::Uffd => handler_uffd(&uffd, npages, src).is_ok(),
            Via::Raw => handler_raw(uffd.as_raw_fd(), npages, src).is_ok(),
        };
        // SAFETY: ends the forked child without running the parent's destructors.
        unsafe { ffi::_exit(if ok { 0 } else { 1 }) }
    }
    let mut bad = 0;
    for p in 0..npages {
        // SAFETY: page `p` of the registered area; a missing page blocks until resolved.
        bad |= unsafe { ((area + p * page) as *const u64).read_volatile() } ^ PATTERN;
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
