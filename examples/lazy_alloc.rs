//! A lazily materialised arena with a bump allocator on top, served by [`uffd::pager`].
//!
//! A large anonymous region is reserved (`MAP_NORESERVE`); no page exists until something
//! touches it. The arena is two pager regions:
//!
//! - the first half with [`Source::Zeros`] (`UFFDIO_ZEROPAGE`: calloc-style zeroed memory),
//! - the second half with a [`Source::Callback`] that fills each page with the debug
//!   allocator's `0xA5` (then `UFFDIO_COPY`), the way a user whose pages come from elsewhere
//!   plugs in.
//!
//! The allocator hands out objects from both halves, touching a handful of pages. At the end
//! the example checks that the pages the pager populated are exactly the pages that were
//! touched (by the pager's bitmap, its counters, and `mincore(2)`), and prints how many.
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, which needs no privilege) and the `std` feature:
//! `cargo run --example lazy_alloc --features std`.

use std::alloc::Layout;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use uffd::pager::{Exit, OwnedStorage, Pager, Policy, Region, Source, SourceError, Stop};
use uffd::Uffd;

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
    // user code only. Non-blocking so the pager's worker can wait on it and a stop pipe.
    // SAFETY: this program registers only fresh mappings of its own, which no Rust value relies on,
    // and no other code in it registers memory.
    let uffd = unsafe {
        Uffd::builder()
            .user_mode_only(true)
            .non_blocking(true)
            .create()
    }?;
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

    // The filled half's source: every byte FILL, whatever the offset.
    let fill = |_offset: u64, buf: &mut [u8]| -> Result<(), SourceError> {
        buf.fill(FILL);
        Ok(())
    };
    let half = len / 2;
    let regions = [
        Region::new(base, half, page, Source::Zeros),
        Region::new(
            base + half,
            half,
            page,
            Source::Callback {
                source: &fill,
                len: half as u64,
            },
        ),
    ];
    let mut storage = OwnedStorage::new(&regions, 0);
    let pager = Pager::new(&uffd, &regions, storage.storage(), Policy::demand())?;
    // SAFETY: the arena is a fresh mapping that no Rust value refers to: the workload touches
    // it through raw pointers only, and it is unmapped after it is unregistered.
    unsafe { pager.register()? };

    let stop = Stop::new()?;
    let touched = std::thread::scope(|s| -> Result<_, Box<dyn std::error::Error>> {
        let workers = pager.spawn(s, 1, &stop, None);
        let touched = workload(base, len, page)?;
        stop.stop();
        assert_eq!(workers.join()?, Exit::Stopped);
        Ok(touched)
    })?;

    // What the pager populated, page by page, from its bitmap.
    let populated: BTreeSet<usize> = (0..2)
        .flat_map(|r| (0..PAGES / 2).map(move |i| (r, i)))
        .filter(|&(r, i)| pager.is_populated(r, i))
        .map(|(r, i)| base + r * half + i * page)
        .collect();
    let k = pager.counters();
    let resident = resident_pages(base, len, page);
    println!(
        "lazy_alloc: arena of {PAGES} pages ({} KiB); touched {} pages; the pager populated {} \
         ({} zero pages, {} filled by the callback); mincore: {resident} resident",
        len / 1024,
        touched.len(),
        populated.len(),
        k.bytes_zeroed as usize / page,
        k.bytes_copied as usize / page,
    );
    assert_eq!(
        populated, touched,
        "populated pages are not the touched pages"
    );
    assert_eq!(k.faults as usize, touched.len());
    assert_eq!(
        (k.bytes_zeroed + k.bytes_copied) as usize,
        touched.len() * page
    );
    assert_eq!(
        k.bytes_zeroed as usize / page,
        touched.iter().filter(|&&p| p < base + half).count()
    );
    assert_eq!(resident, touched.len(), "mincore disagrees with the pager");
    assert!(touched.len() < PAGES / 10);

    pager.unregister()?;
    // SAFETY: nothing refers to the arena any more.
    unsafe { munmap(arena, len)? };
    println!("lazy_alloc: ok");
    Ok(())
}

/// The workload: a few allocations from each half, touching only what they use; returns the
/// pages touched.
fn workload(
    base: usize,
    len: usize,
    page: usize,
) -> Result<BTreeSet<usize>, Box<dyn std::error::Error>> {
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
    // SAFETY: `table` is 3000 properly aligned u64 inside the arena, readable (the pager
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

    // 3. Filled memory: two buffers that must read as the callback's fill.
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
    Ok(touched)
}
