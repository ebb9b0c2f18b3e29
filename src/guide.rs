//! # Guide: from nothing to a correct fault handler
//!
//! This module holds no code, only the things about userfaultfd that the man pages spread over
//! several pages or leave out, in the order a newcomer meets them. The runnable, self-checking
//! programs are in the repository's `examples/`:
//!
//! | example | what it shows |
//! |---|---|
//! | `lazy_alloc` | memory materialised on first touch by the [`pager`](crate::pager) (zeros, and a callback source filling a template), an allocator on top |
//! | `snapshot_restore` | a handler *process* serving a child's faults from a mapped file with the [`pager`](crate::pager); the uffd sent over a Unix socket with `uffd::handoff::send` and received with `recv` (`std`); `REMOVE` events from `MADV_DONTNEED` served as zeros |
//! | `vmm_restore` | the external-handler VMM restore: a received uffd (`Uffd::from_received_fd`), two guest regions at their snapshot offsets, the pager with readahead and a background fill to fully populated, then unregister |
//! | `firecracker_handler` | Firecracker's page-fault handler protocol (`firecracker_handler <uffd socket path> <memory snapshot file>`): the fd and the JSON region table received with `uffd::handoff` (`std`), served by the pager, balloon REMOVEs as zeros, exit 0 when the VM is gone |
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
//! // User-mode faults only: needs no privilege (Linux 5.11+). See section 4.
//! // SAFETY: the capability promise (section 2): this program registers only the fresh
//! // mapping below, and no other code in it registers memory.
//! let uffd = unsafe { Uffd::builder().user_mode_only(true).create() }?;
//! let page = uffd.page_size();
//! // A fresh private anonymous mapping: its pages are missing until touched.
//! use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
//! let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
//! let size = std::num::NonZeroUsize::new(page).unwrap();
//! // SAFETY: a new mapping at an address of the kernel's choosing, overlapping nothing.
//! let map = unsafe { mmap_anonymous(None, size, rw, MapFlags::MAP_PRIVATE) }.unwrap();
//! let addr = map.as_ptr() as usize;
//! // SAFETY: the page is a fresh mapping that no Rust value refers to; it is read below only
//! // through a raw pointer, and unmapped by nobody while registered (section 2).
//! unsafe { uffd.register(addr, page, RegisterMode::MISSING)? };
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
//!             uffd.copy(address & !(page - 1), &src, CopyMode::empty())?;
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
//! ## 2. Safety model: the fd is the capability, registration adds ranges
//!
//! Rust's guarantees rest on knowing who can change memory: nothing changes what a `&T` points
//! to while it is live. userfaultfd breaks that from the outside: once a range is registered,
//! the kernel writes into it on behalf of `COPY`, `ZEROPAGE`, `CONTINUE` and `MOVE`, makes it
//! raise SIGBUS after `POISON`, and blocks any access to a missing or write-protected page
//! until a handler resolves it — all through calls that take only addresses.
//!
//! **The kernel does not check whose registration a range operation hits.**
//! `validate_dst_vma()` in `mm/userfaultfd.c` only checks that the destination has *a*
//! userfaultfd context: from a userfaultfd that registered nothing, `COPY`, `ZEROPAGE`,
//! `POISON`, `WRITEPROTECT` and `WAKE` succeed on a range another userfaultfd of the same
//! process registered; only `MOVE` and `UNREGISTER` check the owner (EINVAL). The
//! `uffd-composition` test crate (`tests/composition/`) asks the running kernel and fails if
//! that ever changes. So a userfaultfd is a capability over every registered range of its
//! process, whoever registered it, and two sound crates would compose into undefined
//! behaviour if either handed it out for free:
//!
//! ```text
//! let v: Vec<Option<Box<u64>>> = vec![None; 1 << 20];   // calloc → a fresh mmap
//! let page = (v.as_ptr() as usize + 4095) & !4095;
//! let lib = userfaultfd::UffdBuilder::new().non_blocking(true).create()?;
//! lib.register(page as *mut _, 4096)?;                   // userfaultfd 0.9: register is safe
//! let mine = unsafe { uffd::Uffd::builder().create() }?; // registered nothing
//! mine.copy(page, &[0x41u8; 4096], CopyMode::empty())?;  // Ok(()): v[i] is now garbage
//! ```
//!
//! The crate therefore asks for **two promises**, where the capability is made and where
//! memory is added to it:
//!
//! > **Creating or adopting a [`Uffd`](crate::Uffd) is `unsafe`** ([`Builder::create`],
//! > [`Unnegotiated::negotiate`], [`Uffd::from_raw_parts`], [`Uffd::from_received_fd`]): for as
//! > long as the fd or a duplicate lives, no range its range operations are applied to holds
//! > memory a Rust value relies on.
//! >
//! > **[`Uffd::register`](crate::Uffd::register) is `unsafe`**: no Rust value relies on the
//! > contents or the accessibility of the range while it is registered.
//!
//! A program whose userfaultfds all come from this crate, and whose ranges all went through
//! `register`, keeps the first promise by keeping the second; a program that also links code
//! registering memory its own way (a C library, another crate, a GC) says at creation that
//! that memory is fit too, or that it never passes those ranges to this handle. Everything
//! else — `copy`, `zeropage`, `continue_`, `poison`, `writeprotect`, `wake`, `unregister`, the
//! pager's regions and fill — is safe *because* of these two promises. What needs a promise of
//! its own stays `unsafe`:
//!
//! - [`Uffd::move_`](crate::Uffd::move_): its *source* need not be registered, and its pages
//!   vanish.
//! - [`Event::from_msg`](crate::Event::from_msg): the message must be fully initialised (read
//!   from the kernel) and a FORK fd is owned once.
//!
//! A FORK event's [`Uffd`](crate::Uffd) acts on the child process's copies of the parent's
//! registered ranges; the creation promise covers them (the child is a copy of the caller).
//!
//! **Why the fd, and not a registration token?** The other design weighed: `unsafe register`
//! returns a `Registration` value that unregisters on drop and bounds every range operation
//! (a VMA has one userfaultfd context at a time, so the kernel's EBUSY keeps others out while
//! it lives), with creation safe. It fails where the kernel moves or makes registrations the
//! crate never issued: an `mremap` moves a registered range (REMAP event) and the token's
//! bounds go stale; a FORK event hands over a userfaultfd whose child ranges no token covers;
//! a received fd (Firecracker's handler) arrives with registrations another process made, so
//! every token would come from an `unsafe` constructor anyway; and `UNREGISTER` on drop cannot
//! run for a handler whose fd serves another process. It would also add a bounds check per
//! operation on the fault path and a lifetime tying every worker of the pager to tokens. The
//! capability model costs one `unsafe` where the fd is born, in the code that knows the
//! process — the choice rustix makes too (`rustix::mm::userfaultfd` is an `unsafe fn`: "the
//! returned file descriptor lets users observe and manipulate process memory").
//!
//! What the promises mean in practice:
//!
//! - **An allocator or GC** registers an arena it obtained with `mmap` and hands out objects
//!   only in pages it has resolved (or accepts that a first touch blocks until the handler
//!   resolves it). No `&[u8]`/`Vec` may span a registered, unresolved page; the allocator's
//!   own metadata lives outside the arena.
//! - **A VMM** registers guest RAM: the guest reads and writes it, Rust code reaches it only
//!   through raw pointers or volatile accessors (as `vm-memory` does). It must not hold a
//!   `&[u8]` over guest memory across a restore, a balloon `REMOVE` or a `MOVE`.
//! - **A unikernel** registers regions it manages as raw memory (a heap it grows on demand,
//!   a page cache): the same rule as the allocator, without libc.
//!
//! **Another process's memory.** A userfaultfd received over a socket (section 11) acts on the
//! address space of the process that created it: `copy` there writes memory no Rust value *of
//! this process* can read. Adopting it is still `unsafe`: the caller vouches that the fd is an
//! owned userfaultfd, and (for the other process) that its registered ranges hold no Rust
//! values. Only `COPY`'s source (`&[u8]`, in this process, only read) and `MOVE` (own process
//! only) touch the caller's memory.
//!
//! **Descriptors are not integers.** No safe function takes a bare `i32` and acts on it as a
//! file descriptor (std's I/O-safety rule): a stale number may name another component's new
//! descriptor, and reading it would take that component's data — or a pager's fault messages.
//! Safe APIs take a [`Uffd`](crate::Uffd) or a [`BorrowedFd`](crate::fd::BorrowedFd) (std's
//! converts with `.into()`); the raw layer [`crate::sys`] takes integers in `unsafe fn`s.
//!
//! Without `unsafe`, the holes do not compile: the doc tests on
//! [`Builder::create`](crate::Builder::create) and [`Uffd::register`](crate::Uffd::register)
//! fail with E0133, and `tests/composition` holds the program above as a `compile_fail` test.
//!
//! [`Builder::create`]: crate::Builder::create
//! [`Unnegotiated::negotiate`]: crate::Unnegotiated::negotiate
//! [`Uffd::from_raw_parts`]: crate::Uffd::from_raw_parts
//! [`Uffd::from_received_fd`]: crate::Uffd::from_received_fd
//!
//! ## 3. Where the file descriptor comes from: syscall or `/dev/userfaultfd`
//!
//! There are two ways to create a userfaultfd ([`OpenStrategy`](crate::OpenStrategy)):
//!
//! - `userfaultfd(2)` (Linux 4.3): subject to the privilege rules of section 4.
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
//! ([`Error::OpenFailed`](crate::Error::OpenFailed)). `SyscallThenDevice` is the other order:
//! the syscall, then the device when the syscall is missing (ENOSYS: seccomp, or a kernel
//! without it) or refused (EPERM: where the administrator granted the device instead). Use
//! `SyscallOnly` where `/dev` is not mounted or must not be touched, `DeviceOnly` to insist on
//! the administrator's grant.
//!
//! ## 4. Privileges and `vm.unprivileged_userfaultfd`
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
//! (EPERM from `UFFDIO_API` otherwise), whatever the open path, although the kernel *offers* it
//! to everyone in the handshake. [`Builder::request`](crate::Builder::request)`(EVENT_FORK)`
//! therefore drops it for an unprivileged process ([`Uffd::features`](crate::Uffd::features)
//! lacks it), and [`Builder::require`](crate::Builder::require)`(EVENT_FORK)` fails with
//! [`Error::FeatureNotPermitted`](crate::Error::FeatureNotPermitted), which names it and
//! `CAP_SYS_PTRACE`.
//!
//! ## 5. Feature probing, and why `UFFDIO_API` is once per fd
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
//!   with [`Builder::create`](crate::Builder::create) do that for you, cheaply: a refused
//!   handshake leaves the fd unnegotiated, so `create` first asks for everything on the real
//!   fd (one open, one `UFFDIO_API` when the kernel has it all) and probes only if that is
//!   refused. Required features missing is
//!   [`Error::MissingFeatures`](crate::Error::MissingFeatures); requested ones are asked for
//!   only if offered and permitted. [`Uffd::features`](crate::Uffd::features) then says what
//!   you got (asking for `WP_ASYNC` also turns on `WP_UNPOPULATED`).
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
//! ## 6. Blocking or not
//!
//! A blocking uffd (the default) suits a dedicated handler thread: `read` waits for the first
//! message. But `poll`/`epoll` on a blocking uffd **always** report `POLLERR`, so any event
//! loop, async runtime or multi-fd wait needs [`Builder::non_blocking(true)`](crate::Builder::non_blocking);
//! [`Uffd::read_events`](crate::Uffd::read_events) then returns `Ok(None)` when nothing is
//! pending. `O_NONBLOCK` lives on the open file description, so it is shared by every copy of
//! the fd, including one passed to another process.
//!
//! ## 7. Partial progress and `EAGAIN`
//!
//! `COPY`, `ZEROPAGE`, `CONTINUE`, `POISON` and `MOVE` can stop part-way. The kernel then
//! writes the bytes done, or `-errno`, into the struct's result field and the ioctl fails;
//! this crate decodes that (never reading a negative result as a length, a mistake real crates
//! made) into an error that says what happened, so a handler matches without guards:
//!
//! - [`Error::Again { done, .. }`](crate::Error::Again) (`EAGAIN`): a non-cooperative event
//!   (`REMOVE`, `UNMAP`, `REMAP`, `FORK`) is in flight and changes the address space
//!   (`mmap_changing`). **Read the pending events first**, update your view of the memory,
//!   then retry the rest (`start + done`), if it is still wanted.
//! - [`Error::Exists`](crate::Error::Exists) (`EEXIST`, nothing done): the first page is
//!   already there (two threads faulted on it and the other fault was served first, or a
//!   background fill got there). Not an error for a handler, but call
//!   [`Uffd::wake`](crate::Uffd::wake) on it so the thread of this fault is not left waiting.
//! - **A multi-page operation that meets a present page part-way does not give `EEXIST`**:
//!   the kernel stops there, reports the pages before it as done and returns `EAGAIN`, so it
//!   is `Error::Again { done }` with `done > 0`. Retrying from `start + done` then gives
//!   `Exists` for that page: skip one page and go on.
//! - **Any other stop part-way is `EAGAIN` too**: Linux reports every range operation that
//!   did some pages and then stopped (`ENOMEM`, `EFAULT` in the source, a present page) as
//!   `EAGAIN` with the bytes done (`fs/userfaultfd.c`: `range.len == len ? 0 : -EAGAIN`, in
//!   every kernel since 4.3). The retry of the rest then meets the cause with nothing done
//!   and reports it.
//! - [`Error::Partial { done, errno, .. }`](crate::Error::Partial): `done > 0` bytes and an
//!   errno other than `EAGAIN`. No Linux kernel reports that; the decoding keeps it so that
//!   no combination of result field and errno is misread.
//! - [`Error::Sys`](crate::Error::Sys) with nothing done: `ENOENT`: the range is not (or no
//!   longer all) one registered mapping. **It can be transient**: observed on 6.18, a `COPY`
//!   into a range an `mremap` has just moved fails with `ENOENT` *before* its `REMAP` event
//!   is read (not `EAGAIN`), and a range an `munmap` is removing does the same before its
//!   `UNMAP`; a range split under it (`mprotect` of part) is refused whole while each part
//!   would work. So do not stop on it: retry smaller (a split), and retry the one page
//!   once: the kernel raises `mmap_changing` before an `munmap`/`mremap` changes a registered
//!   mapping and lowers it only once its event has been read, and `COPY` checks it first, so
//!   while the event is pending the second try is `EAGAIN` (read the events, then copy at the
//!   new place). `ENOENT` twice with no event read in between: the page is not registered
//!   (the pager stops with `PagerError::Unregistered`, naming it, at once).
//!   `ESRCH`: the process that owns the memory has exited. `EFAULT` (COPY): the source is
//!   unreadable. `EINVAL`: an argument the kernel refused before doing anything.
//!
//! ## 8. Events that block the faulting thread
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
//! - `UNREGISTER` wakes the threads waiting on MISSING faults in the range, not those waiting
//!   on MINOR (or write-protect) faults: follow it with [`Uffd::wake`](crate::Uffd::wake) on
//!   the range, or they sleep until something else wakes them.
//! - Closing the last fd of a userfaultfd unregisters everything and wakes all blocked
//!   threads, which then see ordinary memory (zero-filled for missing anonymous pages). A
//!   handler that dies does **not** close the last fd when its client keeps a copy (a VMM
//!   that created the fd and sent it to a handler process, as Firecracker does): the
//!   client's faulting threads then sleep until that copy is closed too. Such a client
//!   watches its handler (EOF on the socket it sent the fd over, or the handler's exit
//!   status) and decides: closing its own copy wakes the threads onto zero-filled memory,
//!   which is not the snapshot, so a restoring VMM should rather stop the guest.
//! - With `UFFD_FEATURE_SIGBUS` there are no fault messages at all: the faulting thread gets
//!   SIGBUS.
//! - **The glibc `fork()` trap.** With `EVENT_FORK`, `fork()` does not return until the
//!   handler has *read* the FORK event. glibc's `fork()` takes its malloc arena locks (and
//!   stdio's list lock) before the system call and releases them after. A handler thread in
//!   the same process that allocates (a `Vec`, a `String`, `format!`, a `Box`) or uses C stdio
//!   between two reads then waits for a lock held by the forking thread, which waits for the
//!   handler: a deadlock. The remedy is a handler that allocates nothing while a fork can be
//!   in flight: every buffer made before the loop (the message buffer, the fault queue with
//!   its capacity, the source), only [`Uffd`](crate::Uffd) calls inside it (this crate never
//!   allocates), no logging that allocates. Or serve from another process (section 11), which
//!   shares no locks with the forking one.
//!
//! ## 9. A handler loop done right
//!
//! Non-blocking fd, [`wait`](crate::wait::wait) on the uffd and a stop fd, batched reads,
//! every event read before faults are served, `EAGAIN` retried after the next read, `EEXIST`
//! woken, `REMOVE` recorded, nothing allocated inside the loop (section 8):
//!
//! ```no_run
//! use std::collections::VecDeque;
//! use std::time::Duration;
//! use uffd::flags::{CopyMode, Features, RegisterMode, ZeropageMode};
//! use std::os::fd::AsFd;
//! use uffd::fd::BorrowedFd;
//! use uffd::wait::{wait, Waiting};
//! use uffd::{Errno, Error, Event, Uffd};
//!
//! /// Serves faults in `[base, base + len)` from `source` until `stop` is readable.
//! fn serve(uffd: &Uffd, stop: BorrowedFd<'_>, base: usize, source: &[u8]) -> Result<(), Error> {
//!     let page = uffd.page_size();
//!     let mut removed = Vec::with_capacity(64); // page ranges given back: serve them as zeros
//!     let mut pending = VecDeque::with_capacity(64); // faults not served yet
//!     let mut buf = [uffd::abi::uffd_msg::zeroed(); 64];
//!     loop {
//!         if pending.is_empty() {
//!             let mut fds = [Waiting::uffd(uffd), Waiting::fd(stop)];
//!             wait(&mut fds, None)?; // a caught signal does not end it (EINTR is retried)
//!             let [u, stop] = fds;
//!             if u.is_error() {
//!                 return Err(Error::PollError); // not O_NONBLOCK, or no handshake
//!             }
//!             if !u.is_readable() && (stop.is_readable() || stop.is_hung_up()) {
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
//!                 uffd.copy(addr, &source[addr - base..][..page], CopyMode::empty())
//!             };
//!             match r {
//!                 Ok(()) => {}
//!                 // Served meanwhile by another fault on the same page: wake this one's thread.
//!                 Err(Error::Exists { .. }) => uffd.wake(addr, page)?,
//!                 // An event is in flight: read it first, then retry.
//!                 Err(Error::Again { .. }) => {
//!                     pending.push_front(addr);
//!                     break;
//!                 }
//!                 // Gone meanwhile (unmapped, or the process exited): drop the fault.
//!                 Err(Error::Sys { errno: Errno::ENOENT | Errno::ESRCH, .. }) => {}
//!                 Err(e) => return Err(e),
//!             }
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Error> {
//! // SAFETY: the capability promise (section 2): the only memory registered in this process
//! // is the guest RAM below.
//! let uffd = unsafe {
//!     Uffd::builder()
//!         .non_blocking(true)
//!         .require(Features::EVENT_REMOVE)
//!         .request(Features::EVENT_UNMAP)
//!         .create()
//! }?;
//! # let (base, len, source) = (0usize, 0usize, &[0u8; 0][..]);
//! let (stop_r, _stop_w) = std::io::pipe().unwrap(); // written to stop the handler
//! // SAFETY: `[base, base + len)` is guest memory that no Rust value refers to (section 2).
//! unsafe { uffd.register(base, len, RegisterMode::MISSING)? };
//! # let _ = Duration::ZERO;
//! # #[cfg(feature = "std")] // (`.into()` from std's BorrowedFd is the `std` feature's)
//! serve(&uffd, stop_r.as_fd().into(), base, source)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## 10. The pager: the loop of section 9, done once
//!
//! [`pager`](crate::pager) is that loop as an engine, `no_std` and allocation-free, with what
//! section 9 leaves out: several regions with their own page sizes and sources (a mapped
//! snapshot, zeros, a callback that decompresses or fetches, `CONTINUE` for a page cache),
//! readahead that follows sequential faults, a background fill between demand faults until
//! every page is populated, `UNMAP`/`REMAP` followed in its region table, FORK's new fd handed
//! to you. Its state (region table, two page bitmaps) is a [`Storage`](crate::pager::Storage)
//! you provide (`OwnedStorage` under `std`); each [`Worker`](crate::pager::Worker) serves through
//! the shared [`Pager`](crate::pager::Pager), on a thread each (`Pager::spawn` under `std`) or
//! driven by hand. The fd must be non-blocking.
//!
//! ```no_run
//! # #[cfg(feature = "std")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use uffd::pager::{Exit, OwnedStorage, Pager, Policy, Region, Source, Stop};
//! # let (uffd, base, len, snapshot): (uffd::Uffd, usize, usize, &[u8]) = todo!();
//! // One region, served from a snapshot; a REMOVE'd page is served as zeros afterwards.
//! let regions = [Region::new(base, len, uffd.page_size(), Source::Bytes(snapshot))];
//! let mut storage = OwnedStorage::new(&regions, 4);
//! let pager = Pager::new(&uffd, &regions, storage.storage(), Policy::demand())?;
//! let stop = Stop::new()?; // `stop.stop()` from anywhere ends the workers
//! std::thread::scope(|s| {
//!     // `None`: no FORK events to pass on (`Some(&|child_uffd| ..)` otherwise).
//!     let workers = pager.spawn(s, 2, &stop, None);
//!     // `Exit::Gone` when the process whose memory it serves has exited; the first
//!     // worker's error if one failed (the others then stop too).
//!     let exit: Exit = workers.join()?;
//!     println!("{exit:?}; {:?}", pager.counters());
//!     Ok::<_, uffd::pager::PagerError>(())
//! })?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "std"))]
//! # fn main() {}
//! ```
//!
//! What it does with each kernel answer is section 7's: `EEXIST` is a wake (counted), `EAGAIN`
//! reads the pending events and retries, `ENOENT` is waited out for the event that explains
//! it, `ESRCH` ends the workers with `Exit::Gone`. [`Policy`](crate::pager::Policy) composes
//! demand-only, readahead and background fill; `exit_when_populated` ends the workers once
//! nothing is left to fault in ([`Pager::unregister`](crate::pager::Pager::unregister) then
//! hands later faults back to the kernel). The `lazy_alloc`, `snapshot_restore`, `vmm_restore`
//! and `firecracker_handler` examples are built on it.
//!
//! ## 11. Handing the fd to another process
//!
//! A userfaultfd acts on the address space of the process that created it, whoever holds the
//! fd. A VMM can therefore create it, register guest memory and pass the fd to a separate
//! handler process over a Unix socket (`SCM_RIGHTS`), as Firecracker does.
//! `uffd::handoff::send` and `uffd::handoff::recv` (`std`)
//! pass the fd with a payload in one message (Firecracker's is a JSON region table: the
//! `firecracker_handler` example parses it with `serde_json`), with typed errors for a message
//! without a descriptor, with several, or cut short (`snapshot_restore` shows both sides). The
//! receiver adopts the fd with
//! `Uffd::from_owned_fd` (`std`; or
//! [`Uffd::from_received_fd`](crate::Uffd::from_received_fd) for a bare number), which reads the
//! negotiated features back from the kernel (`/proc/self/fdinfo/<fd>` shows
//! `API:\t<api>:<features>:<ioctls>`), so `thread_id`, `WP_ASYNC` and the rest are not lost on
//! the way. Without `/proc`, send the features along and use
//! [`Uffd::from_raw_parts`](crate::Uffd::from_raw_parts).
//!
//! **The sender must create the fd non-blocking** ([`Builder::non_blocking(true)`](crate::Builder::non_blocking),
//! as Firecracker does). `O_NONBLOCK` belongs to the open file description, which both
//! processes share: the receiver cannot have its own setting. On a blocking fd `poll` reports
//! only `POLLERR`, so a `poll`-based handler and the pager fail at once, and the faulting
//! threads of the other process stay blocked. A handler that cannot trust its sender checks
//! [`Uffd::is_non_blocking`](crate::Uffd::is_non_blocking) and fixes the fd with
//! [`Uffd::set_non_blocking(true)`](crate::Uffd::set_non_blocking) (`fcntl(F_SETFL)`, which the
//! sender then sees too).
//!
//! A forked child inherits the fd and can serve its parent's faults the same way (the
//! `no_libc` example). Without `EVENT_FORK`, a child's own copy of registered memory is not
//! registered.
//!
//! ## 12. Hugetlb memory
//!
//! `MAP_HUGETLB`, hugetlbfs files and `memfd_create(MFD_HUGETLB)` are resolved in whole huge
//! pages: `COPY` copies a huge page, `CONTINUE` maps one, ranges must be aligned to the huge
//! page size. The kernel says only EINVAL for a range that is aligned to the base page but
//! not to the huge page. [`Uffd::hugetlb`](crate::Uffd::hugetlb)`(2 << 20)` gives the same
//! operations checked against the huge page size, so such a range is
//! [`RangeError::UnalignedStart { start, page_size: 0x200000 }`](crate::RangeError::UnalignedStart)
//! before any system call. A handler resolves the whole huge page at
//! [`Hugetlb::page_start`](crate::Hugetlb::page_start) of the fault address (the kernel
//! reports the huge page's start already, but the exact address with `EXACT_ADDRESS`).
//! `ZEROPAGE` and `MOVE` do not exist for hugetlb. The huge pages must be reserved
//! (`vm.nr_hugepages`), or the mapping fails (or a fault raises SIGBUS). One
//! [`Uffd`](crate::Uffd) serves base-page and hugetlb ranges alike.
//!
//! ## 13. Without `std`, without libc
//!
//! The crate is `#![no_std]`, allocates nothing and issues its system calls itself
//! ([`crate::sys`]), so it works in a static binary with its own `_start` (the `no_libc`
//! example). The memory an allocator or unikernel registers comes from
//! [`sys::mmap`](crate::sys::mmap), and goes with [`sys::madvise`](crate::sys::madvise),
//! [`sys::mremap`](crate::sys::mremap) and [`sys::munmap`](crate::sys::munmap), with each
//! architecture's `MAP_*`/`PROT_*`/`MADV_*`/`MREMAP_*` values (`MAP_ANONYMOUS` is 0x800 on mips,
//! `MAP_NORESERVE` 0x40 on powerpc) and its calling quirks handled (`mmap2` with the offset in
//! 4096-byte units on the 32-bit ABIs, s390's `mmap` taking its arguments through memory), all
//! checked against the real headers by `cargo xtask verify-layout`:
//!
//! ```
//! use uffd::sys::{madvise, mmap, munmap, MADV_DONTNEED, MAP_ANONYMOUS, MAP_NORESERVE};
//! use uffd::sys::{MAP_PRIVATE, PROT_READ, PROT_WRITE};
//!
//! # fn main() -> Result<(), uffd::Errno> {
//! let len = 1 << 30; // a lazily materialised 1 GiB arena
//! let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
//! // SAFETY: a new mapping at an address of the kernel's choosing.
//! let arena = unsafe { mmap(0, len, PROT_READ | PROT_WRITE, flags, -1, 0)? };
//! // ... register it, serve its faults, hand out objects in resolved pages ...
//! // SAFETY: no object lives in the first 2 MiB any more: give the pages back.
//! unsafe { madvise(arena, 2 << 20, MADV_DONTNEED)? };
//! // SAFETY: nothing refers to the arena any more.
//! unsafe { munmap(arena, len)? };
//! # Ok(())
//! # }
//! ```
//!
//! [`sys::raw`](crate::sys::raw) gives the bare `syscall0..6` for the few other calls such a
//! program needs (`clone`, `exit_group`).
//!
//! # References
//! - [`userfaultfd(2)`](https://man7.org/linux/man-pages/man2/userfaultfd.2.html)
//! - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
//! - The kernel's [admin guide](https://docs.kernel.org/admin-guide/mm/userfaultfd.html)
