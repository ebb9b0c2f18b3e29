//! # Guide: from nothing to a correct fault handler
//!
//! This module holds no code, only the things about userfaultfd that the man pages spread over
//! several pages or leave out, in the order a newcomer meets them. The runnable, self-checking
//! programs are in the repository's `examples/`:
//!
//! | example | what it shows |
//! |---|---|
//! | `lazy_alloc` | memory materialised on first touch (`ZEROPAGE`, `COPY` from a template), an allocator on top |
//! | `snapshot_restore` | a handler *process* serving a child's faults from a file; the uffd sent over a Unix socket (`SCM_RIGHTS`); `REMOVE` events from `MADV_DONTNEED`; `EAGAIN` retries |
//! | `dirty_tracking` | write-protect epochs: sync WP faults, and `WP_ASYNC` (6.7) read back from the pagemap |
//! | `async_tokio` | a non-blocking uffd in tokio's `AsyncFd` |
//! | `no_libc` | a `#![no_std]` `#![no_main]` static binary without libc, resolving its faults from a forked handler |
//!
//! Run them with `cargo run --example lazy_alloc --features std` (the `no_libc` one is its own
//! package: `cargo build -p no-libc-example --target x86_64-unknown-linux-gnu`).
//!
//! ## 1. A first fault
//!
//! Register a range, touch it from one thread, resolve the fault from another:
//!
//! ```
//! use uffd::flags::{CopyMode, RegisterMode};
//! use uffd::{Event, Uffd};
//!
//! # fn main() -> Result<(), uffd::Error> {
//! // User-mode faults only: needs no privilege (Linux 5.11+). See section 3.
//! let uffd = Uffd::builder().user_mode_only(true).create()?;
//! let page = uffd.page_size();
//! // A fresh private anonymous mapping: its pages are missing until touched.
//! use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
//! let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
//! let size = std::num::NonZeroUsize::new(page).unwrap();
//! // SAFETY: a new mapping at an address of the kernel's choosing, overlapping nothing.
//! let map = unsafe { mmap_anonymous(None, size, rw, MapFlags::MAP_PRIVATE) }.unwrap();
//! let addr = map.as_ptr() as usize;
//! uffd.register(addr, page, RegisterMode::MISSING)?;
//!
//! std::thread::scope(|s| {
//!     // The thread that touches the page blocks in the kernel until the fault is resolved.
//!     // SAFETY: byte 10 of the page mapped above, which stays mapped until the scope ends.
//!     let reader = s.spawn(|| unsafe { (addr as *const u8).add(10).read_volatile() });
//!     let mut buf = [uffd::abi::uffd_msg::zeroed(); 1];
//!     // A blocking uffd: `read_events` waits for the first message.
//!     for event in uffd.read_events(&mut buf)?.expect("blocking read") {
//!         if let Event::Pagefault { address, .. } = event? {
//!             let src = vec![42u8; page];
//!             uffd.copy(address & !(page - 1), src.as_ptr() as usize, page, CopyMode::empty())?;
//!         }
//!     }
//!     assert_eq!(reader.join().unwrap(), 42);
//!     Ok::<(), uffd::Error>(())
//! })?;
//! uffd.unregister(addr, page)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## 2. Where the file descriptor comes from: syscall or `/dev/userfaultfd`
//!
//! There are two ways to create a userfaultfd ([`OpenStrategy`](crate::OpenStrategy)):
//!
//! - `userfaultfd(2)` (Linux 4.3): subject to the privilege rules of section 3.
//! - `ioctl(open("/dev/userfaultfd"), USERFAULTFD_IOC_NEW, flags)` (Linux 6.1): **only the
//!   device node's file permissions decide**; the sysctl and `CAP_SYS_PTRACE` are not consulted.
//!   An administrator can grant userfaultfd to one group (`chgrp uffd /dev/userfaultfd; chmod
//!   0660`) without opening it to every process. Often the node exists but is `0600 root`.
//!
//! The default, [`OpenStrategy::DeviceThenSyscall`](crate::OpenStrategy::DeviceThenSyscall),
//! tries the device and falls back to the syscall when the node is missing, not accessible or
//! has no driver behind it (`openat`: ENOENT, EACCES, EPERM, ENXIO, ENODEV), or when it does not
//! know `USERFAULTFD_IOC_NEW` (ENOTTY: QEMU user emulation, or another device at that path).
//! Both give the same kind of fd; if the syscall fails too, the error names both failures
//! ([`Error::OpenFailed`](crate::Error::OpenFailed)). Use `SyscallOnly` where `/dev` is not
//! mounted or must not be touched, `DeviceOnly` to insist on the administrator's grant.
//!
//! ## 3. Privileges and `vm.unprivileged_userfaultfd`
//!
//! Through the syscall, a userfaultfd that also reports faults caused by the *kernel* touching
//! registered memory (e.g. `read(2)` into it) needs `CAP_SYS_PTRACE` in the initial user
//! namespace, or the sysctl `vm.unprivileged_userfaultfd = 1` (default 0 since Linux 5.11; the
//! reason is that stalling the kernel mid-copy made exploitation races easy). Otherwise EPERM,
//! which this crate reports as [`Error::PermissionDenied`](crate::Error::PermissionDenied) whose
//! message lists the remedies.
//!
//! [`Builder::user_mode_only(true)`](crate::Builder::user_mode_only) (`UFFD_USER_MODE_ONLY`,
//! Linux 5.11) needs no privilege at all: only faults from user mode are reported, and a kernel
//! access to a missing page fails with EFAULT instead. That is enough whenever only your own
//! code touches the registered memory (allocators, GCs, most VMMs serve guest memory that the
//! kernel does not copy into). Separately, `UFFD_FEATURE_EVENT_FORK` needs `CAP_SYS_PTRACE`
//! (EPERM from `UFFDIO_API` otherwise), whatever the open path.
//!
//! ## 4. Feature probing, and why `UFFDIO_API` is once per fd
//!
//! A new fd does nothing until the `UFFDIO_API` handshake: every other ioctl and `read` give
//! EINVAL and `poll` reports `POLLERR`. The handshake names the features you want; the kernel
//! answers with *every* feature it has, but **only on the first call**: a second `UFFDIO_API`
//! on the same fd is EINVAL. And asking for a feature the kernel lacks fails the handshake. So
//! to ask for "`WP_ASYNC` if available", you must learn what is available on one fd and
//! negotiate on another:
//!
//! - [`Builder::probe`](crate::Builder::probe) opens a throwaway fd, does the handshake with no
//!   features, closes it, and returns what the kernel offers.
//! - [`Builder::require`](crate::Builder::require) / [`Builder::request`](crate::Builder::request)
//!   with [`Builder::create`](crate::Builder::create) do that for you: required features
//!   missing is [`Error::MissingFeatures`](crate::Error::MissingFeatures); requested ones are
//!   asked for only if offered. [`Uffd::features`](crate::Uffd::features) then says what you
//!   got (asking for `WP_ASYNC` also turns on `WP_UNPOPULATED`).
//!
//! Detect capabilities from the feature bits and the `ioctls` masks
//! ([`Uffd::ioctls`](crate::Uffd::ioctls), the mask [`Uffd::register`](crate::Uffd::register)
//! returns), never by trial calls: unknown ioctls return EINVAL, not ENOTTY, which is
//! indistinguishable from a bad argument. The masks may carry bits of kernels newer than this
//! crate; they are kept, not rejected.
//!
//! | capability | feature / ioctl | Linux |
//! |---|---|---|
//! | MISSING faults on anonymous memory, `COPY`, `ZEROPAGE`, `WAKE` | — | 4.3 |
//! | hugetlbfs, shmem; `FORK`/`REMAP`/`REMOVE`/`UNMAP` events | `MISSING_HUGETLBFS`, `MISSING_SHMEM`, `EVENT_*` | 4.11 |
//! | `SIGBUS` instead of events; faulting thread id | `SIGBUS`, `THREAD_ID` | 4.14 |
//! | write-protect (anonymous) | `PAGEFAULT_FLAG_WP`, `UFFDIO_WRITEPROTECT` | 5.7 |
//! | user-mode-only fds | `UFFD_USER_MODE_ONLY` | 5.11 |
//! | MINOR faults, `CONTINUE` | `MINOR_HUGETLBFS` (5.13), `MINOR_SHMEM` (5.14) | 5.13 |
//! | exact fault address | `EXACT_ADDRESS` | 5.18 |
//! | write-protect on shmem / hugetlbfs | `WP_HUGETLBFS_SHMEM` | 5.19 |
//! | `/dev/userfaultfd` | `USERFAULTFD_IOC_NEW` | 6.1 |
//! | write-protect of unpopulated pages | `WP_UNPOPULATED` | 6.4 |
//! | `POISON` | `POISON`, `UFFDIO_POISON` | 6.6 |
//! | asynchronous write-protect | `WP_ASYNC` | 6.7 |
//! | `MOVE` | `MOVE`, `UFFDIO_MOVE` | 6.8 |
//!
//! ## 5. Blocking or not
//!
//! A blocking uffd (the default) suits a dedicated handler thread: `read` waits for the first
//! message. But `poll`/`epoll` on a blocking uffd **always** report `POLLERR`, so any event
//! loop, async runtime or multi-fd wait needs [`Builder::non_blocking(true)`](crate::Builder::non_blocking);
//! [`Uffd::read_events`](crate::Uffd::read_events) then returns `Ok(None)` when nothing is
//! pending. `O_NONBLOCK` lives on the open file description, so it is shared by every copy of
//! the fd, including one passed to another process.
//!
//! ## 6. Partial progress and `EAGAIN`
//!
//! `COPY`, `ZEROPAGE`, `CONTINUE`, `POISON` and `MOVE` can stop part-way. The kernel then
//! writes the bytes done, or `-errno`, into the struct's result field and the ioctl fails;
//! this crate turns that into [`Error::Partial { done, errno, .. }`](crate::Error::Partial)
//! (and never reads a negative result as a length, a mistake real crates made). What to do:
//!
//! - `EAGAIN`: a non-cooperative event (`REMOVE`, `UNMAP`, `REMAP`, `FORK`) is in flight and
//!   changes the address space (`mmap_changing`). **Read the pending events first**, update
//!   your view of the memory, then retry the rest (`start + done`), if it is still wanted.
//! - `EEXIST`: the page is already there (two threads faulted on it and the other fault was
//!   served first). Not an error for a handler, but call [`Uffd::wake`](crate::Uffd::wake) on
//!   it so the thread of this fault is not left waiting.
//! - `ENOENT`: the range is no longer registered (e.g. unmapped meanwhile). `ESRCH`: the
//!   process that owns the memory has exited. `EFAULT` (COPY): the source is unreadable.
//!
//! ## 7. Events that block the faulting thread
//!
//! A thread that touches a missing (or write-protected) page **sleeps in the kernel until the
//! fault is resolved**; so do threads that trigger a non-cooperative event (`fork`, `mremap`,
//! `madvise(MADV_DONTNEED)`, `munmap` on registered memory, with the matching `EVENT_*`
//! feature) until the monitor has *read* that event. Consequences:
//!
//! - The handler must never touch registered memory itself, nor trigger those events on it:
//!   it would wait for itself, forever. Keep the handler's buffers out of registered ranges.
//! - In an async runtime, the faulting code must not run on a thread the runtime needs to make
//!   progress (see the `async_tokio` example).
//! - Closing the last fd of a userfaultfd unregisters everything and wakes all blocked
//!   threads, which then see ordinary memory (zero-filled for missing anonymous pages). A
//!   handler that dies thus unblocks its client instead of hanging it.
//! - With `UFFD_FEATURE_SIGBUS` there are no fault messages at all: the faulting thread gets
//!   SIGBUS.
//!
//! ## 8. A handler loop done right
//!
//! Non-blocking fd, `ppoll` on the uffd and a stop fd, batched reads, every event read before
//! faults are served, `EAGAIN` retried after the next read, `EEXIST` woken, `REMOVE` recorded:
//!
//! ```no_run
//! use std::collections::VecDeque;
//! use uffd::flags::{CopyMode, Features, RegisterMode, ZeropageMode};
//! use uffd::sys::{ppoll, PollFd, POLLERR, POLLHUP, POLLIN};
//! use uffd::{Errno, Error, Event, Uffd};
//!
//! /// Serves faults in `[base, base + len)` from `source` until `stop_fd` is readable.
//! fn serve(uffd: &Uffd, stop_fd: i32, base: usize, source: &[u8]) -> Result<(), Error> {
//!     let page = uffd.page_size();
//!     let mut removed = Vec::new(); // page ranges given back: serve them as zero pages
//!     let mut pending = VecDeque::new(); // faults not served yet
//!     let mut buf = [uffd::abi::uffd_msg::zeroed(); 64];
//!     loop {
//!         if pending.is_empty() {
//!             let mut fds = [
//!                 PollFd { fd: uffd.as_raw_fd(), events: POLLIN, revents: 0 },
//!                 PollFd { fd: stop_fd, events: POLLIN, revents: 0 },
//!             ];
//!             match ppoll(&mut fds, None) {
//!                 Ok(_) | Err(Errno::EINTR) => {}
//!                 Err(errno) => return Err(Error::Sys { call: uffd::Call::Poll, errno }),
//!             }
//!             if fds[0].revents & POLLERR != 0 {
//!                 return Err(Error::PollError); // not O_NONBLOCK, or no handshake
//!             }
//!             if fds[0].revents & POLLIN == 0 && fds[1].revents & (POLLIN | POLLHUP) != 0 {
//!                 return Ok(());
//!             }
//!         }
//!         // Drain everything pending: events must be seen before faults are served.
//!         while let Some(events) = uffd.read_events(&mut buf)? {
//!             for event in events {
//!                 match event? {
//!                     Event::Pagefault { address, .. } => pending.push_back(address & !(page - 1)),
//!                     Event::Remove { start, end } => removed.push(start..end),
//!                     Event::Unmap { start, end } => pending.retain(|a| !(start..end).contains(a)),
//!                     _ => {}
//!                 }
//!             }
//!         }
//!         while let Some(addr) = pending.pop_front() {
//!             let r = if removed.iter().any(|r| r.contains(&addr)) {
//!                 uffd.zeropage(addr, page, ZeropageMode::empty())
//!             } else {
//!                 let src = source[addr - base..].as_ptr() as usize;
//!                 uffd.copy(addr, src, page, CopyMode::empty())
//!             };
//!             match r {
//!                 Ok(_) => {}
//!                 // Served meanwhile by another fault on the same page: wake this one's thread.
//!                 Err(Error::Partial { errno: Errno::EEXIST, .. }) => uffd.wake(addr, page)?,
//!                 // An event is in flight: read it first, then retry.
//!                 Err(Error::Partial { errno: Errno::EAGAIN, .. }) => {
//!                     pending.push_front(addr);
//!                     break;
//!                 }
//!                 // Gone meanwhile (unmapped, or the process exited): drop the fault.
//!                 Err(Error::Partial { errno: Errno::ENOENT | Errno::ESRCH, .. }) => {}
//!                 Err(e) => return Err(e),
//!             }
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Error> {
//! let uffd = Uffd::builder()
//!     .non_blocking(true)
//!     .require(Features::EVENT_REMOVE)
//!     .request(Features::EVENT_UNMAP)
//!     .create()?;
//! # let (base, len, source, stop_fd) = (0usize, 0usize, &[][..], -1);
//! uffd.register(base, len, RegisterMode::MISSING)?;
//! serve(&uffd, stop_fd, base, source)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## 9. Handing the fd to another process
//!
//! A userfaultfd acts on the address space of the process that created it, whoever holds the
//! fd. A VMM can therefore create it, register guest memory and pass the fd to a separate
//! handler process over a Unix socket (`SCM_RIGHTS`), as Firecracker does; the receiver wraps
//! it with [`Uffd::from_raw_parts`](crate::Uffd::from_raw_parts), passing the features that
//! were negotiated (send them along: the fd cannot tell). A forked child inherits the fd and
//! can serve its parent's faults the same way (the `no_libc` example). Without `EVENT_FORK`, a
//! child's own copy of registered memory is not registered.
//!
//! ## 10. Without `std`, without libc
//!
//! The crate is `#![no_std]`, allocates nothing and issues its system calls itself
//! ([`crate::sys`]), so it works in a static binary with its own `_start` (the `no_libc`
//! example). [`sys::raw`](crate::sys::raw) gives the bare `syscall0..6` for the few other
//! calls such a program needs (`mmap`, `clone`, `exit_group`).
//!
//! # References
//! - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
//! - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
//! - The kernel's [admin guide](https://docs.kernel.org/admin-guide/mm/userfaultfd.html)
