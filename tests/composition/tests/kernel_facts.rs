//! What the capability promise rests on, asked of the running kernel: a userfaultfd that
//! registered nothing resolves faults in a range another userfaultfd of the same process
//! registered (here through userfaultfd 0.9, as another crate would), and only UNREGISTER and
//! MOVE check the owner. If a kernel ever checks ownership for the others, this test fails and
//! `uffd::Uffd`'s "The capability" section must say from which version.

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use uffd::flags::{CopyMode, Features, MoveMode, PoisonMode, WriteprotectMode, ZeropageMode};
use uffd::{Errno, Error};
use userfaultfd::{RegisterMode, UffdBuilder};

const PAGE: usize = 4096;

/// `n` fresh private anonymous pages, unmapped on drop: memory no Rust value relies on.
struct Fresh {
    ptr: NonNull<core::ffi::c_void>,
    len: usize,
}

impl Fresh {
    fn new(pages: usize) -> Fresh {
        let len = pages * PAGE;
        // SAFETY: a new anonymous mapping at an address the kernel chooses replaces nothing.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(len).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .expect("mmap");
        Fresh { ptr, len }
    }
    fn page(&self, i: usize) -> usize {
        self.ptr.as_ptr() as usize + i * PAGE
    }
    fn byte(&self, i: usize) -> u8 {
        // SAFETY: page `i` is mapped and present (the caller resolved it); read through a raw
        // pointer, as no Rust value covers this memory.
        unsafe { core::ptr::read_volatile(self.page(i) as *const u8) }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing refers to it any more.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

fn errno(r: Result<(), Error>) -> Option<Errno> {
    match r {
        Err(Error::Sys { errno, .. }) => Some(errno),
        _ => None,
    }
}

#[test]
fn one_userfaultfd_reaches_the_ranges_another_registered() {
    let ps = uffd::sys::page_size().expect("page size");
    assert_eq!(ps, PAGE, "this test assumes 4 KiB pages");
    let mem = Fresh::new(6);
    let lib = UffdBuilder::new()
        .non_blocking(true)
        .create()
        .expect("userfaultfd 0.9 could not open a userfaultfd on this kernel");
    lib.register_with_mode(
        mem.page(0) as *mut _,
        5 * PAGE,
        RegisterMode::MISSING | RegisterMode::WRITE_PROTECT,
    )
    .expect("userfaultfd 0.9 register (MISSING|WP)");

    // SAFETY: the only ranges registered in this process are `mem`'s fresh pages (by `lib`
    // above): no Rust value relies on them, so every range operation below keeps the
    // capability promise.
    let mine = unsafe {
        uffd::Uffd::builder()
            .non_blocking(true)
            .request(Features::POISON | Features::MOVE)
            .create()
    }
    .expect("uffd create");

    // Resolving operations of `mine` act on `lib`'s registration.
    assert_eq!(
        mine.copy(mem.page(0), &[0x41; PAGE], CopyMode::empty())
            .map_err(|e| e.to_string()),
        Ok(()),
        "COPY into another userfaultfd's range"
    );
    assert_eq!(mem.byte(0), 0x41, "COPY through `mine` wrote the page");
    assert_eq!(
        mine.zeropage(mem.page(1), PAGE, ZeropageMode::empty())
            .map_err(|e| e.to_string()),
        Ok(()),
        "ZEROPAGE into another userfaultfd's range"
    );
    assert_eq!(mem.byte(1), 0);
    assert_eq!(
        mine.writeprotect(mem.page(0), PAGE, WriteprotectMode::WP)
            .map_err(|e| e.to_string()),
        Ok(()),
        "WRITEPROTECT of another userfaultfd's range"
    );
    assert_eq!(
        mine.wake(mem.page(0), PAGE).map_err(|e| e.to_string()),
        Ok(()),
        "WAKE in another userfaultfd's range"
    );
    if mine.features().contains(Features::POISON) {
        assert_eq!(
            mine.poison(mem.page(2), PAGE, PoisonMode::empty())
                .map_err(|e| e.to_string()),
            Ok(()),
            "POISON of another userfaultfd's range"
        );
    } else {
        println!("SKIP poison: the kernel does not offer UFFD_FEATURE_POISON (6.6)");
    }

    // The two that check whose registration it is.
    assert_eq!(
        errno(mine.unregister(mem.page(3), PAGE)),
        Some(Errno::EINVAL),
        "UNREGISTER of another userfaultfd's range"
    );
    if mine.features().contains(Features::MOVE) {
        let src = Fresh::new(1);
        // SAFETY: `src` is a fresh page no Rust value relies on (its contents may vanish);
        // the destination falls under the promise above.
        let r = unsafe { mine.move_(mem.page(3), src.page(0), PAGE, MoveMode::ALLOW_SRC_HOLES) };
        assert_eq!(
            errno(r),
            Some(Errno::EINVAL),
            "MOVE into another userfaultfd's range"
        );
    } else {
        println!("SKIP move: the kernel does not offer UFFD_FEATURE_MOVE (6.8)");
    }

    // Where nothing is registered, the kernel refuses.
    assert_eq!(
        errno(mine.copy(mem.page(5), &[0x42; PAGE], CopyMode::empty())),
        Some(Errno::ENOENT),
        "COPY into a range no userfaultfd registered"
    );
}
