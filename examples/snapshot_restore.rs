//! Snapshot restore on demand, the way a VMM does it (Firecracker's page-fault handler runs in
//! another process and gets the userfaultfd over a Unix socket).
//!
//! 1. The handler process (this one) writes a memory file: the "snapshot".
//! 2. It starts a child process, the "VM", which maps an empty region, creates a userfaultfd
//!    (with `EVENT_REMOVE`), registers the region for MISSING faults and sends the fd, with
//!    the region's address, over a Unix socket (`SCM_RIGHTS`).
//! 3. The handler serves every fault with `UFFDIO_COPY` from the file; the child verifies every
//!    byte of the region.
//! 4. The child then gives some pages back like a balloon does (`madvise(MADV_DONTNEED)`): the
//!    handler reads the `UFFD_EVENT_REMOVE` (the child is blocked in `madvise` until it does) and
//!    from then on serves those pages as zero pages; the child checks that they read as zero and
//!    that every other page still holds the snapshot.
//!
//! The handler retries a COPY that stops with `EAGAIN` (a REMOVE in flight) after reading the
//! pending events, and counts what it did. The example fails (non-zero exit) if the child
//! finds a wrong byte or exits unsuccessfully, or if the counts are not the expected ones.
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, no privilege needed) and the `std` feature:
//! `cargo run --example snapshot_restore --features std`.

use std::collections::{BTreeSet, VecDeque};
use std::io::{IoSlice, IoSliceMut, Write};
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::NonNull;

use nix::sys::mman::{madvise, mmap_anonymous, MapFlags, MmapAdvise, ProtFlags};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use uffd::flags::{CopyMode, Features, RegisterMode, ZeropageMode};
use uffd::wait::{wait, Waiting};
use uffd::{Errno, Error, Event, Uffd};

const PAGES: usize = 256;
/// The pages the child gives back with `MADV_DONTNEED`.
const BALLOON: std::ops::Range<usize> = 64..96;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The snapshot's byte at `offset`: differs per page and per byte, never all-zero on a page.
fn pattern(offset: usize) -> u8 {
    let page = offset / 4096;
    (offset as u8) ^ (page as u8).wrapping_mul(31) ^ 0x5a
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") => child(Path::new(&args[2])),
        _ => handler_process(),
    }
}

// ---------------------------------------------------------------------------------------------
// The child ("VM"): maps an empty region, hands its userfaultfd to the handler, checks memory.
// ---------------------------------------------------------------------------------------------

fn child(socket: &Path) -> Res<()> {
    // Non-blocking, so the handler (which shares this open file description) can poll it.
    let uffd = Uffd::builder()
        .user_mode_only(true)
        .non_blocking(true)
        .require(Features::EVENT_REMOVE)
        .create()?;
    let page = uffd.page_size();
    let len = PAGES * page;
    // SAFETY: a fresh private anonymous mapping, not aliased by anything.
    let region = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
        )?
    };
    let base = region.as_ptr() as usize;
    // SAFETY: the region is a fresh mapping that no Rust value refers to: this process reads
    // it only through raw pointers (`byte_at`), and never unmaps it while registered.
    unsafe { uffd.register(base, len, RegisterMode::MISSING)? };

    // Hand the fd over with where the region is; the handler reads the negotiated features
    // back from the kernel (`Uffd::from_received_fd`).
    let stream = UnixStream::connect(socket)?;
    let header = [
        base as u64,
        len as u64,
        uffd.features().bits(),
        uffd.ioctls().bits(),
    ];
    let bytes: Vec<u8> = header.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let fds = [uffd.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )?;
    // The handler holds the fd now; ours is closed (the registration lives on).
    drop(uffd);

    // The region is registered: no Rust value may rely on its contents (the handler fills it
    // behind the borrow checker's back), so it is read through raw pointers, never a slice.
    // SAFETY: `i < len`: inside the region, which stays mapped; every page is readable (the
    // handler materialises it on first touch).
    let byte_at = |i: usize| unsafe { ((base + i) as *const u8).read_volatile() };
    for (i, b) in (0..len).map(|i| (i, byte_at(i))) {
        assert_eq!(
            b,
            pattern(i),
            "child: byte {i:#x} differs from the snapshot"
        );
    }

    // Balloon: give pages back. `madvise` blocks until the handler has read the REMOVE event.
    let start = NonNull::new((base + BALLOON.start * page) as *mut _).unwrap();
    // SAFETY: the range is inside the region, which no Rust value refers to.
    unsafe { madvise(start, BALLOON.len() * page, MmapAdvise::MADV_DONTNEED)? };
    for (i, b) in (0..len).map(|i| (i, byte_at(i))) {
        let want = if BALLOON.contains(&(i / page)) {
            0
        } else {
            pattern(i)
        };
        assert_eq!(b, want, "child: byte {i:#x} after the balloon");
    }
    // Tell the handler we are done (it also sees EOF if we die).
    (&stream).write_all(b"done")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The handler process: writes the snapshot, starts the child, serves its faults.
// ---------------------------------------------------------------------------------------------

struct Stats {
    copied: usize,
    zeroed: usize,
    removes: usize,
    eagain: usize,
}

fn handler_process() -> Res<()> {
    let dir = std::env::temp_dir().join(format!("uffd-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let r = run_handler(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn run_handler(dir: &Path) -> Res<()> {
    let page = uffd::sys::page_size()?;
    assert_eq!(page % 4096, 0);
    // 1. The snapshot file, written first.
    let file: PathBuf = dir.join("memory.bin");
    let snapshot: Vec<u8> = (0..PAGES * page).map(pattern).collect();
    std::fs::write(&file, &snapshot)?;
    // The handler serves from the file's contents (a VMM would mmap it).
    let snapshot = std::fs::read(&file)?;

    // 2. The child, and its userfaultfd over the socket.
    let sock = dir.join("uffd.sock");
    let listener = UnixListener::bind(&sock)?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("child")
        .arg(&sock)
        .spawn()?;
    let (stream, _) = listener.accept()?;
    let mut header = [0u8; 32];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut header)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let got = msg.bytes;
    let mut fd = None;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            fd = fds.first().copied();
        }
    }
    let fd = fd.ok_or("no fd in the message")?;
    assert_eq!(got, 32, "short header");
    let w = |i: usize| u64::from_ne_bytes(header[i * 8..i * 8 + 8].try_into().unwrap());
    let (base, len) = (w(0) as usize, w(1) as usize);
    // SAFETY: `fd` was just received and is ours alone; the child registered its region
    // under `register`'s promise (it reads it only through raw pointers).
    let uffd = unsafe { Uffd::from_received_fd(fd)? };
    assert!(
        uffd.features().contains(Features::EVENT_REMOVE),
        "the negotiated features did not come across"
    );
    assert_eq!(len, snapshot.len());

    // 3. Serve until the child says it is done (or its end of the socket closes).
    let stats = serve(&uffd, &stream, base, &snapshot)?;
    let status = child.wait()?;
    println!(
        "snapshot_restore: {PAGES} pages of {page} bytes; served {} pages by COPY from the file, \
         {} as zero pages after {} REMOVE event(s); {} COPY retries after EAGAIN; child {status}",
        stats.copied, stats.zeroed, stats.removes, stats.eagain
    );
    assert!(status.success(), "the child failed");
    assert_eq!(stats.copied, PAGES, "every page is copied exactly once");
    assert_eq!(
        stats.zeroed,
        BALLOON.len(),
        "ballooned pages come back as zero pages"
    );
    assert!(stats.removes >= 1);
    println!("snapshot_restore: ok");
    Ok(())
}

/// The handler loop: poll the uffd and the socket, read events in batches, serve faults.
fn serve(uffd: &Uffd, stream: &UnixStream, base: usize, snapshot: &[u8]) -> Res<Stats> {
    let page = uffd.page_size();
    let len = snapshot.len();
    let mut removed = BTreeSet::new(); // page indexes given back by the child
    let mut pending = VecDeque::new(); // faults to (re)try
    let mut stats = Stats {
        copied: 0,
        zeroed: 0,
        removes: 0,
        eagain: 0,
    };
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 32];
    loop {
        // Faults left over from the last round (EAGAIN) first, then wait for more.
        if pending.is_empty() {
            let mut fds = [Waiting::uffd(uffd), Waiting::fd(stream.as_fd())];
            match wait(&mut fds, None) {
                Ok(_)
                | Err(Error::Sys {
                    errno: Errno::EINTR,
                    ..
                }) => {}
                Err(e) => return Err(e.into()),
            }
            let [u, peer] = fds;
            if u.is_error() {
                return Err(Error::PollError.into());
            }
            if !u.is_readable() && (peer.is_readable() || peer.is_hung_up()) {
                return Ok(stats); // the child is done (or gone), and no event is pending
            }
        }
        // Read every pending message first: REMOVE events must be seen before serving faults
        // (and a COPY fails with EAGAIN until they are read).
        while let Some(events) = uffd.read_events(&mut buf)? {
            for event in events {
                match event? {
                    Event::Pagefault { address, .. } => pending.push_back(address & !(page - 1)),
                    Event::Remove { start, end } => {
                        stats.removes += 1;
                        for p in (start.max(base)..end.min(base + len)).step_by(page) {
                            removed.insert((p - base) / page);
                        }
                    }
                    other => return Err(format!("unexpected event {other:?}").into()),
                }
            }
        }
        while let Some(addr) = pending.pop_front() {
            let idx = (addr - base) / page;
            let r = if removed.contains(&idx) {
                uffd.zeropage(addr, page, ZeropageMode::empty())
            } else {
                uffd.copy(addr, &snapshot[idx * page..][..page], CopyMode::empty())
            };
            match r {
                Ok(()) if removed.contains(&idx) => stats.zeroed += 1,
                Ok(()) => stats.copied += 1,
                // Already there (a second fault on the same page): just wake the thread.
                Err(Error::Exists { .. }) => uffd.wake(addr, page)?,
                // A non-cooperative event is in flight: read it, then retry this fault.
                Err(Error::Again { .. }) => {
                    stats.eagain += 1;
                    pending.push_front(addr);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
