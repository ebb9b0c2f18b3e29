//! Dirty-page tracking with write-protect, as a garbage collector or checkpointer does it.
//!
//! A populated region is registered for write-protect faults (`UFFDIO_REGISTER_MODE_WP`) and
//! write-protected as a whole; a workload writes to some pages; the tracker learns which ones,
//! then protects them again for the next epoch. Three ways:
//!
//! - **sync** (Linux 5.7, `PAGEFAULT_FLAG_WP`): each first write to a protected page blocks the
//!   writer and sends a WP fault; a handler thread records the page and unprotects it with
//!   `UFFDIO_WRITEPROTECT` (which wakes the writer). The pagemap entries (uffd-wp bit 57,
//!   `uffd::pagemap::Pagemap::written_by_entries`) must then say the same.
//! - **async + PAGEMAP_SCAN** (Linux 6.7, `WP_ASYNC`): the kernel unprotects the page itself,
//!   with no message and no blocking; one `PAGEMAP_SCAN` ioctl (`Pagemap::dirty`) returns the
//!   written pages and protects them again.
//! - **async + entries** (the fallback where `PAGEMAP_SCAN` is missing): read the pagemap
//!   entries, then re-protect each written run with `UFFDIO_WRITEPROTECT`.
//!
//! Sync mode always runs; the async ways run where the kernel offers `WP_ASYNC`. The example
//! prints which ran and checks that the dirty set of every epoch is exactly the set of pages
//! written.
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, no privilege needed) and the `std` feature:
//! `cargo run --example dirty_tracking --features std`.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use uffd::abi::page_region;
use uffd::flags::{Features, PagefaultFlags, RegisterMode, WriteprotectMode};
use uffd::pagemap::{self, Pagemap, Region};
use uffd::wait::{wait, Waiting};
use uffd::{Error, Event, Uffd};

const PAGES: usize = 64;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The pages each epoch's workload writes to.
fn epochs() -> [BTreeSet<usize>; 2] {
    [
        (0..PAGES).step_by(5).chain([7, 63]).collect(),
        [1, 2, 3, 40].into_iter().collect(),
    ]
}

/// Writes one byte into each page of `pages`.
fn workload(base: usize, page: usize, pages: &BTreeSet<usize>, epoch: u8) {
    for &p in pages {
        // SAFETY: inside the mapped region; a volatile write so the compiler keeps it.
        unsafe { ((base + p * page + 100) as *mut u8).write_volatile(epoch) };
    }
}

/// A private anonymous region of `PAGES` pages, every page populated.
fn populated_region(page: usize) -> Res<(std::ptr::NonNull<std::ffi::c_void>, usize)> {
    let len = PAGES * page;
    // SAFETY: a fresh private anonymous mapping, not aliased by anything.
    let region = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )?
    };
    // SAFETY: the region is `len` writable bytes used by nothing else.
    unsafe { (region.as_ptr() as *mut u8).write_bytes(0xee, len) };
    Ok((region, len))
}

// ---------------------------------------------------------------------------------------------
// Sync mode: WP faults, served by a handler thread.
// ---------------------------------------------------------------------------------------------

/// Records and unprotects write-protected pages until `stop` is readable.
fn wp_handler(uffd: &Uffd, stop: UnixStream, dirty: &Mutex<BTreeSet<usize>>) -> Result<(), Error> {
    let page = uffd.page_size();
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 16];
    loop {
        let mut fds = [Waiting::uffd(uffd), Waiting::fd(stop.as_fd())];
        wait(&mut fds, None)?;
        let [u, stop] = fds;
        if u.is_error() {
            return Err(Error::PollError);
        }
        if !u.is_readable() && (stop.is_readable() || stop.is_hung_up()) {
            return Ok(());
        }
        let Some(events) = uffd.read_events(&mut buf)? else {
            continue;
        };
        for event in events {
            if let Event::Pagefault { flags, address, .. } = event? {
                assert!(flags.contains(PagefaultFlags::WP | PagefaultFlags::WRITE));
                let addr = address & !(page - 1);
                dirty.lock().unwrap().insert(addr);
                // Unprotect (no DONTWAKE): the writer goes on.
                uffd.writeprotect(addr, page, WriteprotectMode::empty())?;
            }
        }
    }
}

fn sync_mode(page: usize) -> Res<Vec<usize>> {
    // SAFETY: this program registers only fresh mappings of its own, which no Rust value relies on,
    // and no other code in it registers memory.
    let uffd = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .non_blocking(true)
            .require(Features::PAGEFAULT_FLAG_WP)
            .create()
    }?;
    let (region, len) = populated_region(page)?;
    let base = region.as_ptr() as usize;
    // SAFETY: the region is a fresh mapping that no Rust value refers to: the workload writes
    // it through raw pointers only, and it is unmapped after it is unregistered.
    unsafe { uffd.register(base, len, RegisterMode::WP)? };
    let pagemap = Pagemap::open_self()?;
    let uffd = Arc::new(uffd);
    let mut counts = Vec::new();
    for (i, written) in epochs().iter().enumerate() {
        uffd.writeprotect(base, len, WriteprotectMode::WP)?;
        let dirty = Arc::new(Mutex::new(BTreeSet::new()));
        let (stop_tx, stop_rx) = UnixStream::pair()?;
        let h = {
            let (uffd, dirty) = (uffd.clone(), dirty.clone());
            std::thread::spawn(move || wp_handler(&uffd, stop_rx, &dirty))
        };
        workload(base, page, written, i as u8 + 1);
        drop(stop_tx);
        h.join().expect("handler panicked")?;
        let dirty: BTreeSet<usize> = dirty
            .lock()
            .unwrap()
            .iter()
            .map(|a| (a - base) / page)
            .collect();
        assert_eq!(
            &dirty, written,
            "sync epoch {i}: dirty set differs from what was written"
        );
        // The handler unprotected exactly these pages: their uffd-wp bit is clear.
        let mut entries = [0u64; 16];
        let by_entries: Vec<Region> = pagemap
            .written_by_entries(base, len, &mut entries)?
            .collect::<Result<_, _>>()?;
        assert_eq!(
            &pages_of(&by_entries, base, page),
            written,
            "sync epoch {i}: pagemap entries differ from what was written"
        );
        counts.push(dirty.len());
    }
    uffd.unregister(base, len)?;
    // SAFETY: nothing refers to the region any more.
    unsafe { munmap(region, len)? };
    Ok(counts)
}

// ---------------------------------------------------------------------------------------------
// Async mode: the kernel unprotects on its own; the pagemap tells which pages were written.
// ---------------------------------------------------------------------------------------------

/// Page indices of `regions`.
fn pages_of(regions: &[Region], base: usize, page: usize) -> BTreeSet<usize> {
    regions
        .iter()
        .flat_map(|r| (r.start..r.end).step_by(page))
        .map(|a| (a - base) / page)
        .collect()
}

/// How an async epoch's written pages are found and protected again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Collect {
    /// `PAGEMAP_SCAN` with `PM_SCAN_WP_MATCHING`: one ioctl (Linux 6.7).
    Scan,
    /// The pagemap entries (bit 57), then `UFFDIO_WRITEPROTECT` per written run.
    Entries,
}

/// The pages written since the last call, protected again.
fn written_and_reprotect(
    how: Collect,
    uffd: &Uffd,
    pagemap: &Pagemap,
    base: usize,
    len: usize,
) -> Res<Vec<Region>> {
    if how == Collect::Scan {
        let mut buf = [page_region::zeroed(); 16];
        match pagemap.dirty(base, len, &mut buf) {
            Ok(regions) => return Ok(regions.collect::<Result<_, _>>()?),
            // Not on a kernel with WP_ASYNC, but this is the way down if it happens.
            Err(pagemap::Error::NotSupported { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut entries = [0u64; 16];
    let runs: Vec<Region> = pagemap
        .written_by_entries(base, len, &mut entries)?
        .collect::<Result<_, _>>()?;
    for r in &runs {
        uffd.writeprotect(r.start, r.len(), WriteprotectMode::WP)?;
    }
    Ok(runs)
}

fn async_mode(page: usize, how: Collect) -> Res<Vec<usize>> {
    // SAFETY: this program registers only fresh mappings of its own, which no Rust value relies on,
    // and no other code in it registers memory.
    let uffd = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .require(Features::PAGEFAULT_FLAG_WP | Features::WP_ASYNC)
            .create()
    }?;
    let (region, len) = populated_region(page)?;
    let base = region.as_ptr() as usize;
    // SAFETY: the region is a fresh mapping that no Rust value refers to: the workload writes
    // it through raw pointers only, and it is unmapped after it is unregistered.
    unsafe { uffd.register(base, len, RegisterMode::WP)? };
    let pagemap = Pagemap::open_self()?;
    // Protect once; from then on each collection protects again what it reports.
    uffd.writeprotect(base, len, WriteprotectMode::WP)?;
    let mut counts = Vec::new();
    for (i, written) in epochs().iter().enumerate() {
        // No handler: the writes do not block.
        workload(base, page, written, i as u8 + 1);
        let dirty = pages_of(
            &written_and_reprotect(how, &uffd, &pagemap, base, len)?,
            base,
            page,
        );
        assert_eq!(
            &dirty, written,
            "async epoch {i} ({how:?}): dirty set differs from what was written"
        );
        counts.push(dirty.len());
    }
    let after = written_and_reprotect(how, &uffd, &pagemap, base, len)?;
    assert!(after.is_empty(), "nothing written after the last epoch");
    uffd.unregister(base, len)?;
    // SAFETY: nothing refers to the region any more.
    unsafe { munmap(region, len)? };
    Ok(counts)
}

fn main() -> Res<()> {
    let probe = Uffd::builder().user_mode_only(true).probe()?;
    let page = uffd::sys::page_size()?;
    if !probe.features.contains(Features::PAGEFAULT_FLAG_WP) {
        return Err(
            "the kernel offers no write-protect faults (PAGEFAULT_FLAG_WP, Linux 5.7)".into(),
        );
    }
    let sync = sync_mode(page)?;
    println!(
        "dirty_tracking: sync mode (WP faults + UFFDIO_WRITEPROTECT, checked against the pagemap entries) ran: {PAGES} pages, dirty per epoch {sync:?}"
    );
    if probe.features.contains(Features::WP_ASYNC) {
        for (how, what) in [
            (Collect::Scan, "WP_ASYNC + PAGEMAP_SCAN get-and-reprotect"),
            (
                Collect::Entries,
                "WP_ASYNC + pagemap entries + UFFDIO_WRITEPROTECT",
            ),
        ] {
            let asy = async_mode(page, how)?;
            assert_eq!(asy, sync, "every way sees the same dirty sets");
            println!(
                "dirty_tracking: async mode ({what}) ran: {PAGES} pages, dirty per epoch {asy:?}"
            );
        }
    } else {
        println!(
            "dirty_tracking: async modes not run: the kernel does not offer WP_ASYNC (Linux 6.7)"
        );
    }
    println!("dirty_tracking: ok");
    Ok(())
}
