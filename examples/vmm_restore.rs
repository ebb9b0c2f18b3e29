//! A VMM restoring a guest from a snapshot, the external-handler way (Firecracker's model): the
//! "VM" process owns the guest memory and its userfaultfd; the page-fault handler process gets
//! the fd over a Unix socket and serves it with [`uffd::pager`] — demand faults first, with
//! readahead, and a background fill that copies everything else so faults stop happening.
//!
//! 1. The handler (this process) writes a snapshot file holding two guest memory regions (a
//!    "low" one at file offset 0 and a "high" one after it) and maps it.
//! 2. It starts the VM, which maps the two regions at unrelated addresses, creates a
//!    userfaultfd, registers both and sends the fd with the region table (address, length,
//!    file offset, the registration's ioctls) over the socket (`SCM_RIGHTS`).
//! 3. The handler adopts the fd with `Uffd::from_received_fd`, builds a [`Pager`] over the two
//!    regions with the mapped file as source, and runs two workers: readahead up to 1 MiB,
//!    background fill in 128 KiB pieces, exit once fully populated. Then it lets the VM run.
//! 4. The VM "resumes" at once: it reads a few hundred random pages and a sequential stretch,
//!    checking every word, while the fill runs.
//! 5. When the pager reports every page populated, the handler unregisters the regions (later
//!    faults would be the kernel's own) and tells the VM, which checks with `mincore(2)` that
//!    every page is resident and then verifies all guest memory.
//!
//! The handler prints the time to fully populated, what the demand faults and the fill each
//! did, and the service-latency histogram; it fails if any count is off (every byte copied
//! exactly once), or the VM finds a wrong word or exits unsuccessfully.
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, no privilege needed) and the `std` feature:
//! `cargo run --release --example vmm_restore --features std`.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;

use nix::sys::mman::{mmap, mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use uffd::flags::{Ioctls, RegisterMode};
use uffd::pager::{
    monotonic_ns, Exit, Histogram, OwnedStorage, Pager, Policy, Region, Source, Stop,
};
use uffd::Uffd;

/// Guest memory: (length, offset in the snapshot file) of each region.
const REGIONS: [(usize, usize); 2] = [(32 << 20, 0), (16 << 20, 32 << 20)];
const SNAPSHOT: usize = 48 << 20;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The snapshot's word at file offset `off` (never zero).
fn word(off: u64) -> u64 {
    (off | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5a5a
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("vm") => vm(Path::new(&args[2])),
        _ => handler(),
    }
}

// ---------------------------------------------------------------------------------------------
// The VM: guest memory, its userfaultfd, a workload that runs while memory is restored.
// ---------------------------------------------------------------------------------------------

/// Checks every word of the page at `addr` (file offset `off`); faults it in if missing.
fn page_ok(addr: usize, off: usize, page: usize) -> bool {
    (0..page).step_by(8).all(|i| {
        // SAFETY: inside a guest region, which stays mapped; read through a raw pointer (the
        // region is registered: no Rust reference may point into it).
        let got = unsafe { ((addr + i) as *const u64).read_volatile() };
        got == word((off + i) as u64)
    })
}

fn vm(socket: &Path) -> Res<()> {
    // SAFETY: this program registers only fresh mappings of its own, which no Rust value relies on,
    // and no other code in it registers memory.
    let uffd = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .non_blocking(true)
            .create()
    }?;
    let page = uffd.page_size();
    let mut table = Vec::new();
    for (len, off) in REGIONS {
        // SAFETY: a fresh private anonymous mapping, not aliased by anything.
        let p = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(len).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
            )?
        };
        let start = p.as_ptr() as usize;
        // SAFETY: guest memory: a fresh mapping that this process reads only through raw
        // pointers (`page_ok`), and never unmaps while registered.
        let ioctls = unsafe { uffd.register(start, len, RegisterMode::MISSING)? };
        table.extend([start as u64, len as u64, off as u64, ioctls.bits()]);
    }
    let mut stream = UnixStream::connect(socket)?;
    let bytes: Vec<u8> = table.iter().flat_map(|w| w.to_ne_bytes()).collect();
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(&bytes)],
        &[ControlMessage::ScmRights(&[uffd.as_raw_fd()])],
        MsgFlags::empty(),
        None,
    )?;
    drop(uffd);
    let region = |i: usize| {
        (
            table[4 * i] as usize,
            table[4 * i + 1] as usize,
            table[4 * i + 2] as usize,
        )
    };

    // Resume when the handler says so, while it restores memory behind our back.
    let mut go = [0u8; 1];
    stream.read_exact(&mut go)?;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (start, len, off) = region((x % 2) as usize);
        let p = (x as usize >> 8) % (len / page);
        assert!(
            page_ok(start + p * page, off + p * page, page),
            "vm: wrong word in page {p}"
        );
    }
    let (start, _, off) = region(1);
    for p in 0..1024 {
        assert!(
            page_ok(start + p * page, off + p * page, page),
            "vm: sequential page {p}"
        );
    }

    // Wait for "fully populated": by then no page may be missing.
    stream.read_exact(&mut go)?;
    for i in 0..REGIONS.len() {
        let (start, len, off) = region(i);
        let mut v = vec![0u8; len / page];
        // SAFETY: mincore writes one byte per page of the range into `v`, which has that many.
        unsafe {
            uffd::sys::raw::syscall3(uffd::sys::__NR_mincore, start, len, v.as_mut_ptr() as usize)
        }?;
        let missing = v.iter().filter(|&&b| b & 1 == 0).count();
        assert_eq!(
            missing, 0,
            "vm: region {i} has {missing} pages not resident"
        );
        for p in 0..len / page {
            assert!(
                page_ok(start + p * page, off + p * page, page),
                "vm: region {i} page {p}"
            );
        }
    }
    stream.write_all(b"ok")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The handler: the snapshot, the received userfaultfd, the pager.
// ---------------------------------------------------------------------------------------------

fn handler() -> Res<()> {
    let dir = std::env::temp_dir().join(format!("uffd-vmm-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let r = run_handler(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn run_handler(dir: &Path) -> Res<()> {
    let page = uffd::sys::page_size()?;
    let path = dir.join("snapshot.bin");
    let bytes: Vec<u8> = (0..SNAPSHOT as u64 / 8)
        .flat_map(|i| word(i * 8).to_ne_bytes())
        .collect();
    std::fs::write(&path, &bytes)?;
    drop(bytes);
    let file = std::fs::File::open(&path)?;
    // SAFETY: a fresh read-only private mapping of a file nobody writes while we run.
    let map = unsafe {
        mmap(
            None,
            NonZeroUsize::new(SNAPSHOT).unwrap(),
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE,
            &file,
            0,
        )?
    };
    // SAFETY: SNAPSHOT readable bytes, mapped until the end of this function, never written.
    let snapshot = unsafe { std::slice::from_raw_parts(map.as_ptr() as *const u8, SNAPSHOT) };

    let sock = dir.join("uffd.sock");
    let listener = UnixListener::bind(&sock)?;
    let mut vm = Command::new(std::env::current_exe()?)
        .arg("vm")
        .arg(&sock)
        .spawn()?;
    let (mut stream, _) = listener.accept()?;
    let mut header = [0u8; 8 * 4 * REGIONS.len()];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut header)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    assert_eq!(msg.bytes, 8 * 4 * REGIONS.len(), "short region table");
    let fd = msg
        .cmsgs()?
        .find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .ok_or("no fd in the message")?;
    let w = |i: usize| u64::from_ne_bytes(header[i * 8..i * 8 + 8].try_into().unwrap());
    // SAFETY: `fd` was just received and is ours alone; the VM registered its regions under
    // `register`'s promise (it reads guest memory only through raw pointers).
    let uffd = unsafe { Uffd::from_received_fd(fd)? };

    let regions: Vec<Region> = (0..REGIONS.len())
        .map(|i| {
            let (start, len, off, ioctls) = (w(4 * i), w(4 * i + 1), w(4 * i + 2), w(4 * i + 3));
            Region::new(start as usize, len as usize, page, Source::Bytes(snapshot))
                .offset(off)
                .registered(Ioctls::from_bits_retain(ioctls))
        })
        .collect();
    let mut storage = OwnedStorage::new(&regions, 2);
    let policy = Policy::demand()
        .readahead(1 << 20)
        .fill(Policy::FILL_PIECE)
        .exit_when_populated(true)
        .clock(monotonic_ns);
    let pager = Pager::new(&uffd, &regions, storage.storage(), policy)?;
    let stop = Stop::new()?;
    let exits = std::thread::scope(|s| -> Res<Vec<Exit>> {
        let workers = pager.spawn(s, 2, &stop, None);
        stream.write_all(b"g")?; // the VM resumes now
        let mut exits = Vec::new();
        for w in workers.into_handles() {
            exits.push(w.join().expect("worker panicked")?);
        }
        Ok(exits)
    })?;
    assert!(pager.is_fully_populated());
    // Every page is there: later faults (none expected) are the kernel's business.
    pager.unregister()?;
    stream.write_all(b"p")?;
    let mut ok = [0u8; 2];
    let answer = stream.read_exact(&mut ok);
    let status = vm.wait()?;

    let k = pager.counters();
    let h = pager.histogram();
    let total: usize = REGIONS.iter().map(|r| r.0).sum();
    let q = |x: f64| {
        h.quantile_upper_us(x)
            .map_or("-".into(), |u| format!("<{u} µs"))
    };
    println!(
        "vmm_restore: {} MiB in {} regions; fully populated after {:.1} ms; workers {exits:?}",
        total >> 20,
        REGIONS.len(),
        k.populated_at_ns as f64 / 1e6
    );
    println!(
        "  demand: {} faults ({} readahead pages, {} sequential hits), service latency median {} p99 {}",
        k.faults,
        k.readahead_pages,
        k.readahead_hits,
        q(0.5),
        q(0.99)
    );
    println!(
        "  fill: {} MiB in {} pieces; EEXIST {}, EAGAIN {}; {} MiB copied in all; VM {status}",
        k.fill_bytes >> 20,
        k.fill_pieces,
        k.exists,
        k.again,
        k.bytes_copied >> 20
    );
    print_histogram(&h);
    assert!(status.success(), "the VM failed");
    answer?;
    assert_eq!(&ok, b"ok");
    assert_eq!(exits, [Exit::FullyPopulated, Exit::FullyPopulated]);
    assert_eq!(
        k.bytes_copied as usize, total,
        "every byte copied exactly once"
    );
    assert!(k.fill_bytes > 0 && k.fill_bytes < total as u64);
    println!("vmm_restore: ok");
    Ok(())
}

fn print_histogram(h: &Histogram) {
    let line: Vec<String> = h
        .counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, c)| match Histogram::upper_us(i) {
            Some(u) => format!("<{u}µs:{c}"),
            None => format!("more:{c}"),
        })
        .collect();
    println!("  latency histogram: {}", line.join(" "));
}
