//! Snapshot restore on demand, the way a VMM does it (Firecracker's page-fault handler runs in
//! another process and gets the userfaultfd over a Unix socket), served by [`uffd::pager`].
//!
//! 1. The handler process (this one) writes a memory file, the "snapshot", and maps it.
//! 2. It starts a child process, the "VM", which maps an empty region, creates a userfaultfd
//!    (with `EVENT_REMOVE`), registers the region for MISSING faults and sends the fd, with
//!    the region's address, over a Unix socket (`SCM_RIGHTS`, [`uffd::handoff::send`]).
//! 3. The handler receives it ([`uffd::handoff::recv`]), adopts it (`Uffd::from_owned_fd`)
//!    and runs a [`Pager`] over the region
//!    with the mapped file as its source: every fault is one `UFFDIO_COPY` straight from the
//!    file's page cache. The child verifies every byte of the region.
//! 4. The child then gives some pages back like a balloon does (`madvise(MADV_DONTNEED)`): the
//!    pager reads the `UFFD_EVENT_REMOVE` (the child is blocked in `madvise` until it does) and
//!    from then on serves those pages as zero pages; the child checks that they read as zero and
//!    that every other page still holds the snapshot.
//!
//! The pager's counters are the self-check: every page copied exactly once, the ballooned pages
//! zeroed, one REMOVE; the example fails (non-zero exit) otherwise, or if the child finds a
//! wrong byte or exits unsuccessfully. (`vmm_restore` adds readahead and a background fill.)
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, no privilege needed) and the `std` feature:
//! `cargo run --example snapshot_restore --features std`.

use std::io::Write;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::NonNull;

use nix::sys::mman::{madvise, mmap, mmap_anonymous, MapFlags, MmapAdvise, ProtFlags};
use uffd::flags::{Features, RegisterMode};
use uffd::pager::{Exit, OwnedStorage, Pager, Policy, Region, Source};
use uffd::Uffd;

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
    // SAFETY: this program registers only fresh mappings of its own, which no Rust value relies on,
    // and no other code in it registers memory.
    let uffd = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .non_blocking(true)
            .require(Features::EVENT_REMOVE)
            .create()
    }?;
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
    let range_ioctls = unsafe { uffd.register(base, len, RegisterMode::MISSING)? };

    // Hand the fd over with where the region is and what registering it allowed; the handler
    // reads the negotiated features back from the kernel (`Uffd::from_received_fd`).
    let stream = UnixStream::connect(socket)?;
    let header = [
        base as u64,
        len as u64,
        uffd.features().bits(),
        range_ioctls.bits(),
    ];
    let bytes: Vec<u8> = header.iter().flat_map(|w| w.to_ne_bytes()).collect();
    uffd::handoff::send(&stream, &bytes, &uffd)?;
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
    // 1. The snapshot file, written first, then mapped: the pager copies from its page cache.
    let file: PathBuf = dir.join("memory.bin");
    let snapshot: Vec<u8> = (0..PAGES * page).map(pattern).collect();
    std::fs::write(&file, &snapshot)?;
    drop(snapshot);
    let file = std::fs::File::open(&file)?;
    // SAFETY: a fresh read-only private mapping of a file nobody else writes while we run.
    let map = unsafe {
        mmap(
            None,
            NonZeroUsize::new(PAGES * page).unwrap(),
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE,
            &file,
            0,
        )?
    };
    // SAFETY: the mapping is PAGES * page readable bytes that live until the end of this
    // function and are never written.
    let image = unsafe { std::slice::from_raw_parts(map.as_ptr() as *const u8, PAGES * page) };

    // 2. The child, and its userfaultfd over the socket.
    let sock = dir.join("uffd.sock");
    let listener = UnixListener::bind(&sock)?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("child")
        .arg(&sock)
        .spawn()?;
    let (stream, _) = listener.accept()?;
    // Larger than the message: `recv` refuses one that fills its buffer (it may go on).
    let mut header = [0u8; 64];
    let got = uffd::handoff::recv(&stream, &mut header)?;
    assert_eq!(got.len, 32, "short header");
    let w = |i: usize| u64::from_ne_bytes(header[i * 8..i * 8 + 8].try_into().unwrap());
    let (base, len) = (w(0) as usize, w(1) as usize);
    // SAFETY: the child registered its region under `register`'s promise (it reads it only
    // through raw pointers), and no other code of it registers memory.
    let uffd = unsafe { Uffd::from_owned_fd(got.fd)? };
    assert!(
        uffd.features().contains(Features::EVENT_REMOVE),
        "the negotiated features did not come across"
    );
    assert_eq!(len, image.len());

    // 3. The pager: one region, the mapped file as its source, demand faults only. It serves
    // until the child says it is done (its end of the socket becomes readable or closes).
    let ioctls = uffd::flags::Ioctls::from_bits_retain(w(3));
    let regions = [Region::new(base, len, page, Source::Bytes(image)).registered(ioctls)];
    let mut storage = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&uffd, &regions, storage.storage(), Policy::demand())?;
    let mut worker = pager.worker(&mut [])?;
    let exit = worker.run(Some(stream.as_fd().into()))?;
    let status = child.wait()?;
    let k = pager.counters();
    println!(
        "snapshot_restore: {PAGES} pages of {page} bytes; served {} faults: {} pages by COPY from \
         the mapped file, {} as zero pages after {} REMOVE event(s); {} retries after EAGAIN; \
         worker {exit:?}; child {status}",
        k.faults,
        k.bytes_copied as usize / page,
        k.bytes_zeroed as usize / page,
        k.removes,
        k.again
    );
    assert!(status.success(), "the child failed");
    assert_eq!(exit, Exit::Stopped);
    assert_eq!(
        k.bytes_copied as usize,
        PAGES * page,
        "every page is copied exactly once"
    );
    assert_eq!(
        k.bytes_zeroed as usize,
        BALLOON.len() * page,
        "ballooned pages come back as zero pages"
    );
    assert_eq!(k.removes, 1);
    assert_eq!(k.faults as usize, PAGES + BALLOON.len());
    println!("snapshot_restore: ok");
    Ok(())
}
