//! Firecracker's handoff, byte for byte, against `examples/firecracker_handler.rs`.
//!
//! This process plays Firecracker: it maps guest memory (two regions at unrelated addresses),
//! creates a userfaultfd with `EVENT_REMOVE` as Firecracker's `guest_memory_from_uffd` does,
//! registers the regions, connects to the handler's socket and sends, in one `sendmsg` with
//! the fd as `SCM_RIGHTS`, the JSON `serde_json` makes of Firecracker's
//! `Vec<GuestRegionUffdMapping>` (`src/vmm/src/persist.rs`: field order `base_host_virt_addr`,
//! `size`, `offset`, `page_size`, `page_size_kib`, no spaces). Then it touches every page and
//! checks every word against the snapshot file, gives ranges back like a balloon
//! (`MADV_DONTNEED`) and checks they read as zeros while the rest still holds the snapshot, and
//! closes the socket: the handler must exit 0.
//!
//! The handler is the example binary, which `cargo test --features std` builds next to this
//! test (`target/<profile>/examples/`).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uffd::flags::{Features, RegisterMode};
use uffd::sys::{madvise, mmap, munmap, MADV_DONTNEED, MAP_ANONYMOUS, MAP_NORESERVE};
use uffd::sys::{MAP_PRIVATE, PROT_READ, PROT_WRITE};
use uffd::Uffd;

/// The snapshot's word at file offset `off` (never zero).
fn word(off: u64) -> u64 {
    (off | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xa5a5
}

fn handler_exe() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let exe = deps.parent().unwrap().parent().unwrap();
    let exe = exe.join("examples/firecracker_handler");
    assert!(
        exe.is_file(),
        "{} missing: build it with `cargo test -p uffd --features std` (examples are built \
         with the tests)",
        exe.display()
    );
    exe
}

/// How the "VMM" speaks.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// Firecracker today: `page_size` and `page_size_kib` (both bytes), a non-blocking fd.
    Current,
    /// An older release: `page_size_kib` only; and a sender that forgot `non_blocking`.
    LegacyBlocking,
}

/// One Firecracker region as `serde_json::to_string` writes a `GuestRegionUffdMapping`.
fn json_region(style: Style, addr: usize, size: usize, offset: usize, page: usize) -> String {
    match style {
        Style::Current => format!(
            "{{\"base_host_virt_addr\":{addr},\"size\":{size},\"offset\":{offset},\
             \"page_size\":{page},\"page_size_kib\":{page}}}"
        ),
        Style::LegacyBlocking => format!(
            "{{\"base_host_virt_addr\":{addr},\"size\":{size},\"offset\":{offset},\
             \"page_size_kib\":{page}}}"
        ),
    }
}

struct Handler {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
}

impl Handler {
    fn start(name: &str, snapshot: &[u8]) -> Handler {
        let dir = std::env::temp_dir().join(format!("uffd-fc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (socket, mem) = (dir.join("uffd.sock"), dir.join("snapshot.mem"));
        std::fs::write(&mem, snapshot).unwrap();
        let child = Command::new(handler_exe())
            .arg(&socket)
            .arg(&mem)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Handler { child, dir, socket }
    }
    fn connect(&mut self) -> UnixStream {
        let t0 = Instant::now();
        loop {
            match UnixStream::connect(&self.socket) {
                Ok(s) => return s,
                Err(_) if t0.elapsed() < Duration::from_secs(20) => {
                    if let Some(st) = self.child.try_wait().unwrap() {
                        panic!("the handler exited before listening: {st}");
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("connect {}: {e}", self.socket.display()),
            }
        }
    }
    /// Waits (at most 30 s, then kills it) for the handler; its status and stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let t0 = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let st = self.child.wait().unwrap();
                let _ = std::fs::remove_dir_all(&self.dir);
                panic!("the handler did not exit within 30 s of the VM closing its socket ({st})");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut err = String::new();
        use std::io::Read;
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        let _ = std::fs::remove_dir_all(&self.dir);
        (status, err)
    }
}

/// The VM's side: regions, userfaultfd, Firecracker's message, the workload.
fn vmm(style: Style) {
    let page = uffd::sys::page_size().unwrap();
    // (pages, offset in the snapshot in pages) of each region; the file has a gap and a tail.
    let layout = [(48usize, 0usize), (32, 64)];
    let file_pages = 100;
    let snapshot: Vec<u8> = (0..(file_pages * page) as u64 / 8)
        .flat_map(|i| word(i * 8).to_ne_bytes())
        .collect();
    let mut handler = Handler::start(
        if style == Style::Current {
            "cur"
        } else {
            "old"
        },
        &snapshot,
    );
    let stream = handler.connect();

    // As Firecracker's `guest_memory_from_uffd` (user-mode faults only: no privilege needed).
    // SAFETY: this process registers only the fresh mappings below, which it reads only through
    // raw pointers, and no other code in it registers memory.
    let uffd = unsafe {
        Uffd::builder()
            .require(Features::EVENT_REMOVE)
            .close_on_exec(true)
            .non_blocking(style == Style::Current)
            .user_mode_only(true)
            .create()
    }
    .unwrap();
    let mut regions = Vec::new();
    for (pages, off) in layout {
        let len = pages * page;
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
        // SAFETY: a new private anonymous mapping at an address of the kernel's choosing.
        let at = unsafe { mmap(0, len, PROT_READ | PROT_WRITE, flags, -1, 0) }.unwrap();
        // SAFETY: guest memory: a fresh mapping no Rust value refers to.
        unsafe { uffd.register(at, len, RegisterMode::MISSING) }.unwrap();
        regions.push((at, len, off * page));
    }
    let json = format!(
        "[{}]",
        regions
            .iter()
            .map(|&(at, len, off)| json_region(style, at, len, off, page))
            .collect::<Vec<_>>()
            .join(",")
    );
    uffd::handoff::send(&stream, json.as_bytes(), &uffd).unwrap();
    // Firecracker keeps its copy; this "VMM" lets go, so that a handler that dies cannot leave
    // this test blocked in a fault (its pages would read zeros and the checks below fail).
    drop(uffd);

    let read = |addr: usize| {
        // SAFETY: inside a guest region, mapped until the end of this function; a raw read.
        unsafe { (addr as *const u64).read_volatile() }
    };
    let page_is = |at: usize, off: Option<usize>| {
        (0..page).step_by(8).all(|i| {
            let want = off.map_or(0, |o| word((o + i) as u64));
            read(at + i) == want
        })
    };
    for &(at, len, off) in &regions {
        for p in (0..len / page).rev() {
            assert!(
                page_is(at + p * page, Some(off + p * page)),
                "page {p} of {at:#x}"
            );
        }
    }
    // The balloon: ranges given back read as zeros; everything else keeps the snapshot.
    let ballooned = [
        (0usize, 3usize..9usize),
        (0, 40..48),
        (1, 0..1),
        (1, 17..30),
    ];
    for (r, pages) in &ballooned {
        let (at, _, _) = regions[*r];
        // SAFETY: guest memory, read only through raw pointers.
        unsafe { madvise(at + pages.start * page, pages.len() * page, MADV_DONTNEED) }.unwrap();
    }
    for (r, &(at, len, off)) in regions.iter().enumerate() {
        for p in 0..len / page {
            let gone = ballooned.iter().any(|(b, ps)| *b == r && ps.contains(&p));
            let want = if gone { None } else { Some(off + p * page) };
            assert!(
                page_is(at + p * page, want),
                "region {r} page {p} (ballooned: {gone})"
            );
        }
    }
    drop(stream); // the VM's side is gone
    let (status, err) = handler.finish();
    assert!(status.success(), "handler: {status}: {err}");
    for &(at, len, _) in &regions {
        // SAFETY: the guest regions mapped above; nothing refers to them any more.
        unsafe { munmap(at, len) }.unwrap();
    }
}

fn skip() -> bool {
    // SAFETY: a probe: a throwaway fd with nothing registered.
    match unsafe { Uffd::builder().user_mode_only(true).create() } {
        Ok(_) => false,
        Err(e) => {
            eprintln!("skip: no userfaultfd here: {e}");
            true
        }
    }
}

#[test]
fn firecracker_message_served_balloon_zeros_exit_zero() {
    if !skip() {
        vmm(Style::Current);
    }
}

#[test]
fn old_page_size_kib_and_a_blocking_fd_are_served() {
    if !skip() {
        vmm(Style::LegacyBlocking);
    }
}

/// Anything but Firecracker's message is an error the handler names, and a non-zero exit.
#[test]
fn bad_messages_fail_with_a_message() {
    if skip() {
        return;
    }
    let page = uffd::sys::page_size().unwrap();
    type Send<'a> = &'a dyn Fn(&UnixStream, &Uffd);
    let cases: [(&str, Send); 3] = [
        ("file descriptor", &|s, _| (&*s).write_all(b"[]").unwrap()),
        ("expected", &|s, u| {
            uffd::handoff::send(s, b"{not json", u).unwrap()
        }),
        ("source", &|s, u| {
            // A region beyond the end of the (one-page) snapshot file.
            let json = format!(
                "[{}]",
                json_region(Style::Current, 1 << 30, 2 * page, 0, page)
            );
            uffd::handoff::send(s, json.as_bytes(), u).unwrap()
        }),
    ];
    for (i, (expect, send)) in cases.iter().enumerate() {
        let mut handler = Handler::start(&format!("bad{i}"), &vec![1u8; page]);
        let stream = handler.connect();
        // SAFETY: nothing is registered on it.
        let uffd = unsafe {
            Uffd::builder()
                .user_mode_only(true)
                .non_blocking(true)
                .create()
        }
        .unwrap();
        send(&stream, &uffd);
        let (status, err) = handler.finish();
        assert!(!status.success(), "case {i}: exit 0 for a bad message");
        assert!(err.to_lowercase().contains(expect), "case {i}: {err}");
    }
}

/// `handoff::recv`'s typed errors: no descriptor, the peer gone, a payload that fills the
/// buffer, two descriptors; `from_owned_fd` of something that is not a userfaultfd.
#[test]
fn handoff_errors_are_typed() {
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};
    use uffd::handoff::{recv, send, HandoffError};
    let pair = || UnixStream::pair().unwrap();
    let mut buf = [0u8; 16];

    let (a, b) = pair();
    (&a).write_all(b"[]").unwrap();
    assert_eq!(
        recv(&b, &mut buf).unwrap_err(),
        HandoffError::NoFd { len: 2 }
    );

    let (a, b) = pair();
    drop(a);
    assert_eq!(recv(&b, &mut buf).unwrap_err(), HandoffError::Closed);

    let (a, b) = pair();
    let (p, _q) = pair();
    send(&a, &[7u8; 16], &p).unwrap();
    assert_eq!(
        recv(&b, &mut buf).unwrap_err(),
        HandoffError::PayloadTooLong { capacity: 16 }
    );

    // Two descriptors in one SCM_RIGHTS message, by hand.
    let (a, b) = pair();
    let fds = [p.as_raw_fd(), _q.as_raw_fd()];
    let mut control = [0u64; 4];
    let hdr = uffd::sys::CmsgHdr {
        cmsg_len: uffd::sys::cmsg_len(8),
        cmsg_level: uffd::sys::SOL_SOCKET,
        cmsg_type: uffd::sys::SCM_RIGHTS,
    };
    let base = control.as_mut_ptr() as *mut u8;
    // SAFETY: the header and two ints fit in the 32-byte, 8-aligned buffer.
    unsafe {
        (base as *mut uffd::sys::CmsgHdr).write(hdr);
        (base.add(uffd::sys::cmsg_len(0)) as *mut [i32; 2]).write_unaligned(fds);
    }
    let payload = [1u8];
    let iov = uffd::sys::IoVec {
        iov_base: payload.as_ptr() as usize,
        iov_len: 1,
    };
    let msg = uffd::sys::MsgHdr {
        msg_iov: &iov as *const _ as usize,
        msg_iovlen: 1,
        msg_control: base as usize,
        msg_controllen: uffd::sys::cmsg_space(8),
        ..Default::default()
    };
    // SAFETY: `a` is our socket; `msg` points at live buffers; the fds are ours to share.
    assert_eq!(unsafe { uffd::sys::sendmsg(a.as_raw_fd(), &msg, 0) }, Ok(1));
    assert_eq!(
        recv(&b, &mut buf).unwrap_err(),
        HandoffError::TooManyFds { count: 2 }
    );

    // A socket is no userfaultfd: a typed error, and the fd is closed.
    let (a, b) = pair();
    send(&a, b"x", &p).unwrap();
    let got = recv(&b, &mut buf).unwrap();
    assert_eq!((got.len, &buf[..1]), (1, &b"x"[..]));
    let fd: OwnedFd = got.fd;
    let n = fd.as_fd().as_raw_fd();
    // SAFETY: the capability promise is moot: it is not a userfaultfd.
    let e = unsafe { Uffd::from_owned_fd(fd) }.unwrap_err();
    assert_eq!(e, uffd::Error::NotUserfaultfd(n));
}
