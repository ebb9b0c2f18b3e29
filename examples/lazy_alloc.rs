//! A lazily materialised arena with a bump allocator on top.
//!
//! A large anonymous region is reserved (`MAP_NORESERVE`) and registered for MISSING faults.
//! No page exists until something touches it; a handler thread then materialises it:
//!
//! - the first half of the arena with `UFFDIO_ZEROPAGE` (calloc-style zeroed memory),
//! - the second half with `UFFDIO_COPY` from a template page (debug-allocator fill `0xA5`).
//!
//! The allocator hands out objects from both halves, touching a handful of pages. At the end
//! the example checks that the pages the handler populated are exactly the pages that were
//! touched (counted by the handler, and by `mincore(2)`), and prints how many that was.
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, which needs no privilege) and the `std` feature:
//! `cargo run --example lazy_alloc --features std`.

use std::alloc::Layout;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use uffd::flags::{CopyMode, RegisterMode, ZeropageMode};
use uffd::wait::{wait, Waiting};
use uffd::{Errno, Error, Event, Uffd};

const PAGES: usize = 1024;
const FILL: u8 = 0xA5;

/// A bump allocator over `[base, base + len)`; the first half is "zeroed", the second "filled".
struct Bump {
    base: usize,
    len: usize,
    zeroed_next: Cell<usize>,
    filled_next: Cell<usize>,
}

impl Bump {
    fn new(base: usize, len: usize) -> Self {
        Bump {
            base,
            len,
            zeroed_next: Cell::new(base),
            filled_next: Cell::new(base + len / 2),
        }
    }

    fn alloc_in(next: &Cell<usize>, end: usize, layout: Layout) -> Option<NonNull<u8>> {
        let start = next.get().checked_next_multiple_of(layout.align())?;
        let stop = start.checked_add(layout.size())?;
        if stop > end {
            return None;
        }
        next.set(stop);
        NonNull::new(start as *mut u8)
    }

    /// Memory that reads as zeroes (materialised with ZEROPAGE on first touch).
    fn alloc_zeroed(&self, layout: Layout) -> Option<NonNull<u8>> {
        Self::alloc_in(&self.zeroed_next, self.base + self.len / 2, layout)
    }

    /// Memory that reads as `FILL` (materialised with COPY from the template on first touch).
    fn alloc_filled(&self, layout: Layout) -> Option<NonNull<u8>> {
        Self::alloc_in(&self.filled_next, self.base + self.len, layout)
    }
}

/// The fault handler: serves faults until `stop` is readable (the other end was dropped).
///
/// The uffd is non-blocking, so `poll` works and `read_events` returns `None` when nothing is
/// pending; the handler waits on both fds at once with `uffd::wait`.
fn handler(
    uffd: &Uffd,
    stop: UnixStream,
    arena: (usize, usize),
    template: &[u8],
    populated: &Mutex<BTreeSet<usize>>,
) -> Result<(), Error> {
    let page = uffd.page_size();
    let (base, len) = arena;
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 16];
    loop {
        let mut fds = [Waiting::uffd(uffd), Waiting::fd(stop.as_fd())];
        match wait(&mut fds, None) {
            Ok(_)
            | Err(Error::Sys {
                errno: Errno::EINTR,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
        let [u, stop] = fds;
        if u.is_error() {
            return Err(Error::PollError);
        }
        if stop.is_readable() || stop.is_hung_up() {
            return Ok(());
        }
        let Some(events) = uffd.read_events(&mut buf)? else {
            continue; // spurious wake-up, or another reader got there first
        };
        for event in events {
            let Event::Pagefault { address, .. } = event? else {
                continue; // no non-cooperative events were negotiated
            };
            assert!(
                address >= base && address < base + len,
                "fault outside the arena"
            );
            let dst = address & !(page - 1);
            let r = if dst < base + len / 2 {
                uffd.zeropage(dst, page, ZeropageMode::empty())
            } else {
                uffd.copy(dst, template, CopyMode::empty())
            };
            match r {
                Ok(()) => {
                    populated.lock().unwrap().insert(dst);
                }
                // Another fault on the same page was served first: the page is there, but
                // make sure this fault's thread is woken.
                Err(Error::Exists { .. }) => uffd.wake(dst, page)?,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Pages of `[base, base + len)` that are resident, by `mincore(2)` (through the crate's raw
/// syscall: neither std nor nix wraps it).
fn resident_pages(base: usize, len: usize, page: usize) -> usize {
    let mut vec = vec![0u8; len / page];
    // SAFETY: mincore writes one byte per page of the range into `vec`, which has that many.
    let r = unsafe {
        uffd::sys::raw::syscall3(
            uffd::sys::__NR_mincore,
            base,
            len,
            vec.as_mut_ptr() as usize,
        )
    };
    r.expect("mincore");
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // User-mode faults only: needs no privilege (Linux 5.11+), and this arena is touched by
    // user code only. Non-blocking so the handler can poll.
    let uffd = Uffd::builder()
        .user_mode_only(true)
        .non_blocking(true)
        .create()?;
    let page = uffd.page_size();
    let len = PAGES * page;

    // SAFETY: a fresh private anonymous mapping, not aliased by anything.
    let arena = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
        )?
    };
    let base = arena.as_ptr() as usize;
    // SAFETY: the arena is a fresh mapping that no Rust value refers to: the workers touch it
    // through raw pointers only, and it is unmapped after it is unregistered.
    let ioctls = unsafe { uffd.register(base, len, RegisterMode::MISSING)? };
    assert!(ioctls.contains(uffd::flags::Ioctls::COPY | uffd::flags::Ioctls::ZEROPAGE));

    let template = vec![FILL; page];
    let populated = Arc::new(Mutex::new(BTreeSet::new()));
    let (stop_tx, stop_rx) = UnixStream::pair()?;
    let uffd = Arc::new(uffd);
    let h = {
        let (uffd, populated) = (uffd.clone(), populated.clone());
        std::thread::spawn(move || handler(&uffd, stop_rx, (base, len), &template, &populated))
    };

    // The workload: a few allocations from each half, touching only what they use.
    let bump = Bump::new(base, len);
    let mut touched = BTreeSet::new();
    let mut touch = |p: NonNull<u8>, size: usize| {
        let s = p.as_ptr() as usize;
        for pg in (s & !(page - 1)..s + size).step_by(page) {
            touched.insert(pg);
        }
    };

    // 1. A zeroed table of 3000 u64 (about 6 pages with 4 KiB pages).
    let layout = Layout::array::<u64>(3000)?;
    let table = bump.alloc_zeroed(layout).expect("arena full").cast::<u64>();
    // SAFETY: `table` is 3000 properly aligned u64 inside the arena, readable (the handler
    // materialises each page on first touch) and used by nothing else.
    let table = unsafe { std::slice::from_raw_parts_mut(table.as_ptr(), 3000) };
    assert!(table.iter().all(|&x| x == 0), "zeroed memory is not zero");
    for (i, x) in table.iter_mut().enumerate().step_by(7) {
        *x = i as u64;
    }
    touch(NonNull::from(&table[0]).cast(), layout.size());

    // 2. Skip far ahead: a 100-byte object much later in the zeroed half.
    let _gap = bump.alloc_zeroed(Layout::from_size_align(200 * page, 1)?);
    let obj = bump.alloc_zeroed(Layout::new::<[u8; 100]>()).unwrap();
    // SAFETY: 100 bytes inside the arena, used by nothing else.
    unsafe { obj.as_ptr().write_bytes(7, 100) };
    touch(obj, 100);

    // 3. Filled memory: two buffers that must read as the template's fill.
    for size in [3 * page + 17, 64] {
        let buf = bump
            .alloc_filled(Layout::from_size_align(size, 8)?)
            .unwrap();
        // SAFETY: `size` bytes inside the arena, used by nothing else.
        let s = unsafe { std::slice::from_raw_parts(buf.as_ptr(), size) };
        assert!(s.iter().all(|&b| b == FILL), "filled memory lost its fill");
        touch(buf, size);
    }

    // Everything written is still there.
    for (i, x) in table.iter().enumerate() {
        assert_eq!(*x, if i % 7 == 0 { i as u64 } else { 0 });
    }

    drop(stop_tx);
    h.join().expect("handler panicked")?;

    let populated = populated.lock().unwrap().clone();
    let resident = resident_pages(base, len, page);
    println!(
        "lazy_alloc: arena of {PAGES} pages ({} KiB); touched {} pages; the handler populated {} \
         ({} zero pages, {} copies of the template); mincore: {resident} resident",
        len / 1024,
        touched.len(),
        populated.len(),
        populated.iter().filter(|&&p| p < base + len / 2).count(),
        populated.iter().filter(|&&p| p >= base + len / 2).count(),
    );
    assert_eq!(
        populated, touched,
        "populated pages are not the touched pages"
    );
    assert_eq!(
        resident,
        touched.len(),
        "mincore disagrees with the handler"
    );
    assert!(touched.len() < PAGES / 10);

    uffd.unregister(base, len)?;
    // SAFETY: nothing refers to the arena any more (`table` is not used after this).
    unsafe { munmap(arena, len)? };
    println!("lazy_alloc: ok");
    Ok(())
}
