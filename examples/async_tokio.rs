//! A fault handler as an async task: the userfaultfd in tokio's `AsyncFd`.
//!
//! The uffd is opened non-blocking (a blocking uffd always polls `POLLERR`, so no reactor can
//! wait on it). The handler task awaits readiness, reads a batch of events, and resolves each
//! fault with `UFFDIO_COPY`; `read_events` returning `None` (EAGAIN) clears the readiness.
//!
//! The faulting code runs on plain OS threads: a thread that touches a registered page blocks
//! in the kernel until the fault is resolved, so it must never be a thread the runtime needs
//! to resolve it (that would deadlock).
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`) and the `std` feature:
//! `cargo run --example async_tokio --features std`.

use std::num::NonZeroUsize;

use nix::sys::mman::{mmap_anonymous, munmap, MapFlags, ProtFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use uffd::flags::{CopyMode, RegisterMode};
use uffd::{Error, Event, Uffd};

const PAGES: usize = 128;
const WORKERS: usize = 4;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Serves faults until `expected` have been resolved; each page is filled with its index.
async fn handle(afd: &AsyncFd<Uffd>, base: usize, expected: usize) -> Res<usize> {
    let uffd = afd.get_ref();
    let page = uffd.page_size();
    let mut src = vec![0u8; page];
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 16];
    let mut served = 0;
    while served < expected {
        let mut ready = afd.readable().await?;
        let Some(events) = uffd.read_events(&mut buf)? else {
            // Nothing pending: wait for the next readiness.
            ready.clear_ready();
            continue;
        };
        for event in events {
            let Event::Pagefault { address, .. } = event? else {
                continue;
            };
            let dst = address & !(page - 1);
            src.fill(((dst - base) / page) as u8);
            match uffd.copy(dst, &src, CopyMode::empty()) {
                Ok(()) => served += 1,
                Err(Error::Exists { .. }) => uffd.wake(dst, page)?,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(served)
}

fn main() -> Res<()> {
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
    let region = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )?
    };
    let base = region.as_ptr() as usize;
    // SAFETY: the region is a fresh mapping that no Rust value refers to; the workers reach
    // it only through raw pointers, and it is unmapped only after it is unregistered.
    unsafe { uffd.register(base, len, RegisterMode::MISSING)? };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let served = rt.block_on(async {
        // SAFETY: `Uffd` owns its fd, and `as_raw_fd` returns that same fd until the `AsyncFd`
        // (which owns the `Uffd`) is dropped.
        let afd = unsafe { AsyncFd::register_with_interest(uffd, Interest::READABLE) }
            .map_err(|e| e.to_string())?;
        // The workers: OS threads, each reading its share of the pages.
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                std::thread::spawn(move || {
                    let mut bad = 0;
                    for p in (w..PAGES).step_by(WORKERS) {
                        // SAFETY: inside the region; volatile so every page is really read.
                        let b = unsafe { ((base + p * page + 7) as *const u8).read_volatile() };
                        if b != p as u8 {
                            bad += 1;
                        }
                    }
                    bad
                })
            })
            .collect();
        let served = handle(&afd, base, PAGES).await?;
        let bad: usize = workers.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(bad, 0, "{bad} pages held the wrong contents");
        afd.get_ref().unregister(base, len)?;
        Res::Ok(served)
    })?;
    println!(
        "async_tokio: {WORKERS} threads faulted on {PAGES} pages; the AsyncFd task served {served} faults"
    );
    assert_eq!(served, PAGES);
    // SAFETY: the workers are joined; nothing refers to the region any more.
    unsafe { munmap(region, len)? };
    println!("async_tokio: ok");
    Ok(())
}
