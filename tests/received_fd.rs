//! `Uffd::from_received_fd` with std (issue 11): a negotiated userfaultfd sent over a Unix
//! socket (`SCM_RIGHTS`, a new fd number as a receiving process gets) and a `dup` of it are
//! adopted with the negotiated features; a fault of another thread, read through the adopted
//! handle, names that thread. And what `/proc/self/fdinfo/<fd>` shows for the fds adoption
//! must tell apart (printed: run with `--nocapture`). The `core`-only cases, run in the VMs
//! too, are `received_fd_*` in `tests/suite`.

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use common::raw_has_userfaultfd;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Mutex;
use suite::rt;
use uffd::flags::*;
use uffd::{Builder, Call, Errno, Error, Event, OpenStrategy, Uffd};

/// The tests compare fd numbers: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn builder() -> Builder {
    // User-mode faults only: all these tests need, and what needs no privilege.
    Builder::new()
        .open_strategy(OpenStrategy::SyscallOnly)
        .user_mode_only(true)
}

/// Sends `fd` over a fresh socket pair and returns the fd received (the sent one stays open).
fn pass(fd: BorrowedFd<'_>) -> OwnedFd {
    let (tx, rx) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair");
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        tx.as_raw_fd(),
        &[IoSlice::new(b"u")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .expect("sendmsg");
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        rx.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg");
    let mut got = None;
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            got = fds.first().copied();
        }
    }
    let got = got.expect("no fd received");
    // SAFETY: the kernel installed `got` in this process for us; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(got) }
}

/// The `API:` line of `/proc/self/fdinfo/<fd>`.
fn api_line(fd: i32) -> String {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).expect("fdinfo");
    info.lines()
        .find(|l| l.starts_with("API:"))
        .unwrap_or("(no API: line)")
        .to_string()
}

#[test]
fn passed_and_dup_fds_keep_their_features_and_thread_ids() {
    let test = "passed_and_dup_fds_keep_their_features_and_thread_ids";
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !raw_has_userfaultfd(test) {
        return;
    }
    let Some(u) = common::created(
        test,
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        unsafe {
            builder()
                .require(Features::THREAD_ID)
                .request(Features::EXACT_ADDRESS | Features::PAGEFAULT_FLAG_WP)
                .create()
        },
    ) else {
        return;
    };
    let (features, ioctls) = (u.features(), u.ioctls());
    let ps = u.page_size();
    let a = rt::anon(2 * ps).unwrap();
    // SAFETY: `a` is a fresh mmap that no Rust value refers to; it is read only through raw
    // pointers (`Map::read`).
    unsafe { u.register(a.addr, 2 * ps, RegisterMode::MISSING) }.unwrap();
    // SAFETY: `into_raw_fd` hands over sole ownership of the open userfaultfd.
    let sent = unsafe { OwnedFd::from_raw_fd(u.into_raw_fd()) };
    let received = pass(sent.as_fd());
    assert_ne!(received.as_raw_fd(), sent.as_raw_fd(), "a new fd number");
    drop(sent);
    let n = received.into_raw_fd();
    // SAFETY: `n` is the received userfaultfd, owned by nothing else; its registered range
    // `a` is used through raw pointers only.
    let got = unsafe { Uffd::from_received_fd(n) }.expect("adopt the received fd");
    assert_eq!(got.features(), features, "features of the received fd");
    assert_eq!(got.ioctls(), ioctls, "ioctls of the received fd");
    // SAFETY: `got` keeps `n` open while the clone is made.
    let dup = unsafe { BorrowedFd::borrow_raw(n) }
        .try_clone_to_owned()
        .expect("F_DUPFD_CLOEXEC")
        .into_raw_fd();
    // SAFETY: `dup` was just made and is owned by nothing else; same registered range.
    let twin = unsafe { Uffd::from_received_fd(dup) }.expect("adopt the dup");
    assert_eq!(twin.features(), features, "features of the dup");

    // Another thread faults; the fault is read through the received fd and resolved through
    // the dup (one userfaultfd, two descriptors).
    let touched = a.addr + ps + 123;
    let page = a.addr + ps;
    let src = vec![0x5au8; ps];
    let (tid, v, event) = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = s.spawn(move || {
            tx.send(rt::gettid() as u32).unwrap();
            a.read(ps + 123)
        });
        let tid = rx.recv().unwrap();
        let mut buf = [uffd::abi::uffd_msg::zeroed(); 1];
        let event = match got.read_events(&mut buf).map(|e| e.map(|mut e| e.next())) {
            Ok(Some(Some(Ok(Event::Pagefault {
                address, thread_id, ..
            })))) => Ok((address, thread_id)),
            r => Err(format!("{r:?}")),
        };
        // Resolve whatever happened, so the thread ends.
        twin.copy(page, &src, CopyMode::empty())
            .expect("copy via the dup");
        (tid, t.join().unwrap(), event)
    });
    let (address, thread_id) = event.expect("a page fault through the received fd");
    assert_eq!(
        thread_id,
        Some(tid),
        "the faulting thread, through the received fd"
    );
    if features.contains(Features::EXACT_ADDRESS) {
        assert_eq!(address, touched);
    } else {
        assert_eq!(address, page);
    }
    assert_eq!(v, 0x5a);
}

/// What `/proc/self/fdinfo/<fd>` shows (printed) and what adoption makes of it: an fd before
/// `UFFDIO_API` (also after a refused one) is `NotNegotiated`, one negotiated with no features
/// is adopted with none, one with features gets them; `/dev/null` is `NotUserfaultfd`, a
/// closed or negative fd number an `FdInfo` system call error. Every fd given is closed.
#[test]
fn fdinfo_states() {
    let test = "fdinfo_states";
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !raw_has_userfaultfd(test) {
        return;
    }
    let b = builder();
    let is_closed = |fd: i32| std::fs::metadata(format!("/proc/self/fd/{fd}")).is_err();

    // A dup of an fd before its handshake: refused and closed; the original, the same open
    // file, can still do the handshake.
    let pre = b.open_unnegotiated().unwrap();
    println!("{:<28}{}", "unnegotiated:", api_line(pre.as_raw_fd()));
    // SAFETY: `pre` keeps its fd open while the clone is made.
    let dup = unsafe { BorrowedFd::borrow_raw(pre.as_raw_fd()) }
        .try_clone_to_owned()
        .unwrap()
        .into_raw_fd();
    // SAFETY: `dup` was just made and given up by `into_raw_fd`; nothing is registered on it.
    let r = unsafe { Uffd::from_received_fd(dup) }.map(|_| ());
    assert_eq!(r, Err(Error::NotNegotiated(dup)));
    assert!(is_closed(dup), "closed after the error");
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u =
        unsafe { pre.negotiate(Features::empty()) }.expect("handshake after the refused adoption");
    assert!(u.features().is_empty());
    drop(u);

    let refused = b.open_unnegotiated().unwrap();
    assert_eq!(refused.api(0xAB, 0).unwrap_err(), Errno::EINVAL);
    let fd = refused.as_raw_fd();
    println!("{:<28}{}", "after a refused UFFDIO_API:", api_line(fd));
    // SAFETY: as above.
    let r = unsafe { Uffd::from_received_fd(refused.into_raw_fd()) }.map(|_| ());
    assert_eq!(r, Err(Error::NotNegotiated(fd)));

    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let none = unsafe { b.create() }.unwrap();
    let fd = none.as_raw_fd();
    println!("{:<28}{}", "negotiated, no features:", api_line(fd));
    // SAFETY: as above.
    let got = unsafe { Uffd::from_received_fd(none.into_raw_fd()) }.expect("negotiated, none");
    assert_eq!(got.features(), Features::empty());
    drop(got);

    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let some = unsafe {
        b.request(Features::THREAD_ID | Features::EXACT_ADDRESS | Features::PAGEFAULT_FLAG_WP)
            .create()
    }
    .unwrap();
    let (fd, features) = (some.as_raw_fd(), some.features());
    let label = format!("negotiated, {:#x}:", features.bits());
    println!("{label:<28}{}", api_line(fd));
    // SAFETY: as above.
    let got = unsafe { Uffd::from_received_fd(some.into_raw_fd()) }.expect("negotiated");
    assert_eq!(got.features(), features);
    drop(got);

    let null = std::fs::File::open("/dev/null").unwrap().into_raw_fd();
    println!("{:<28}{}", "/dev/null:", api_line(null));
    // SAFETY: `null` was just opened and given up by `into_raw_fd`.
    let r = unsafe { Uffd::from_received_fd(null) }.map(|_| ());
    assert_eq!(r, Err(Error::NotUserfaultfd(null)));
    assert!(is_closed(null), "closed after the error");

    for fd in [1 << 30, -1] {
        // SAFETY: no fd is open with that number: nothing to own or close.
        let r = unsafe { Uffd::from_received_fd(fd) }.map(|_| ());
        println!("fd {fd}: {r:?}");
        assert!(
            matches!(
                r,
                Err(Error::Sys {
                    call: Call::FdInfo,
                    ..
                })
            ),
            "fd {fd}: {r:?}"
        );
    }
    // SAFETY: as above.
    let r = unsafe { Uffd::from_received_fd(-1) }.map(|_| ());
    assert_eq!(
        r,
        Err(Error::Sys {
            call: Call::FdInfo,
            errno: Errno::EBADF
        })
    );
}

extern "C" {
    fn dup2(old: i32, new: i32) -> i32;
}

#[allow(clippy::result_large_err)]
/// A userfaultfd received as descriptor 0 (a handler started with it as its standard input) is
/// adopted like any other number. Checked in a forked child, whose descriptor 0 is replaced.
#[test]
fn descriptor_zero_is_adopted() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !raw_has_userfaultfd("descriptor 0") {
        return;
    }
    let Some(u) = common::created(
        "descriptor 0",
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        unsafe { builder().request(Features::THREAD_ID).create() },
    ) else {
        return;
    };
    let (want, fd) = (u.features(), u.as_raw_fd());
    let mut child = rt::spawn(|| {
        // SAFETY: this child has one thread; its descriptor 0 becomes a duplicate of the
        // negotiated userfaultfd.
        if unsafe { dup2(fd, 0) } != 0 {
            return Err(crate::msg!("dup2 onto 0 failed"));
        }
        // SAFETY: descriptor 0 is this child's own duplicate of a negotiated userfaultfd,
        // registered nowhere.
        let got = unsafe { Uffd::from_received_fd(0) }.map_err(|e| crate::msg!("{e}"))?;
        if (got.as_raw_fd(), got.features()) != (0, want) {
            return Err(crate::msg!(
                "adopted fd {} with {:?}, want 0 with {want:?}",
                got.as_raw_fd(),
                got.features()
            ));
        }
        Ok(())
    })
    .expect("fork");
    let st = child.wait().expect("wait");
    assert_eq!(st, rt::Status::Exited(0), "{}", child.message().as_str());
}

/// `set_non_blocking` fixes a fd its sender made blocking: `fcntl(F_GETFL)` through nix (the
/// C library's view) shows `O_NONBLOCK` come and go, and the kernel's answers change with it:
/// `poll` is `POLLERR` on a blocking userfaultfd and a timeout on a non-blocking one; a read with
/// nothing pending is EAGAIN (`Ok(None)`) only when non-blocking.
#[test]
fn set_non_blocking_fixes_a_blocking_fd() {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::time::Duration;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !raw_has_userfaultfd("set_non_blocking") {
        return;
    }
    // SAFETY: nothing is registered on it.
    let uffd = unsafe { builder().create() }.unwrap();
    // SAFETY: the handle's fd, open while `u` is borrowed (no `AsFd` without the `std` feature).
    let getfl = |u: &Uffd| {
        fcntl(
            unsafe { BorrowedFd::borrow_raw(u.as_raw_fd()) },
            FcntlArg::F_GETFL,
        )
    };
    let libc_says = |u: &Uffd| {
        let fl = getfl(u).unwrap();
        OFlag::from_bits_retain(fl).contains(OFlag::O_NONBLOCK)
    };
    assert!(!libc_says(&uffd));
    assert_eq!(uffd.is_non_blocking(), Ok(false));
    assert_eq!(uffd.poll(Some(Duration::ZERO)), Err(Error::PollError));

    uffd.set_non_blocking(true).unwrap();
    assert!(libc_says(&uffd));
    assert_eq!(uffd.is_non_blocking(), Ok(true));
    assert_eq!(uffd.poll(Some(Duration::ZERO)), Ok(false));
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 1];
    assert!(matches!(uffd.read_events(&mut buf), Ok(None)));
    // Idempotent, and the other flags are kept (the access mode: O_RDONLY from the syscall).
    let mode = |u: &Uffd| getfl(u).unwrap() & !OFlag::O_NONBLOCK.bits();
    let rdwr = mode(&uffd);
    uffd.set_non_blocking(true).unwrap();
    assert_eq!(mode(&uffd), rdwr);

    uffd.set_non_blocking(false).unwrap();
    assert!(!libc_says(&uffd));
    assert_eq!(uffd.is_non_blocking(), Ok(false));
    assert_eq!(mode(&uffd), rdwr);
    assert_eq!(uffd.poll(Some(Duration::ZERO)), Err(Error::PollError));
}
