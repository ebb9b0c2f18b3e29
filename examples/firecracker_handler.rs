//! Firecracker's page-fault handler on the pager, with the command line of Firecracker's own
//! example handlers: `firecracker_handler <uffd socket path> <memory snapshot file>`.
//!
//! It binds and listens on the socket, accepts one VM, receives the userfaultfd and the JSON
//! region table Firecracker sends in one message ([`uffd::handoff::recv`]), maps the snapshot
//! file and serves every region from it with the [`uffd::pager`]: each fault gets its page
//! (`UFFDIO_COPY` from the file's page cache); a balloon's `MADV_DONTNEED` (a REMOVE event)
//! makes those pages zeros afterwards; the `EAGAIN` a pending REMOVE causes is retried after the
//! event is read. It exits 0 when the VM's side is gone (the socket closed, or the VM process
//! exited), and non-zero with a message on anything else: a bad message, a region the snapshot
//! does not cover, a failed fault.
//!
//! `cargo run --example firecracker_handler --features std -- /tmp/uffd.sock snapshot.mem`;
//! `tests/firecracker.rs` runs it against a sender that reproduces Firecracker's message byte
//! for byte.

use std::io::Read;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::process::ExitCode;

use serde::Deserialize;
use uffd::pager::{Exit, OwnedStorage, Pager, Policy, Region, Source, Stop};
use uffd::sys::{mmap, MAP_PRIVATE, PROT_READ};
use uffd::Uffd;

/// One region of the table (Firecracker's `GuestRegionUffdMapping`). `page_size` and its old,
/// misnamed spelling `page_size_kib` both hold bytes; a release sends one or both.
#[derive(Deserialize)]
struct Mapping {
    base_host_virt_addr: u64,
    size: usize,
    offset: u64,
    page_size: Option<usize>,
    page_size_kib: Option<usize>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(exit) => {
            eprintln!("firecracker_handler: the VM is gone ({exit:?})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("firecracker_handler: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Res<Exit> {
    let mut args = std::env::args_os().skip(1);
    let (Some(socket), Some(path), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: firecracker_handler <uffd socket path> <memory snapshot file>".into());
    };
    let file = std::fs::File::open(&path)?;
    let len = usize::try_from(file.metadata()?.len())?;
    let snapshot: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: a new read-only private mapping of the file; nobody writes the file meanwhile.
        let at = unsafe { mmap(0, len, PROT_READ, MAP_PRIVATE, file.as_raw_fd(), 0)? };
        // SAFETY: `len` readable bytes, mapped until the process exits, never written.
        unsafe { std::slice::from_raw_parts(at as *const u8, len) }
    };

    let listener = UnixListener::bind(&socket)?;
    let (stream, _) = listener.accept()?;
    let mut buf = vec![0u8; 64 << 10];
    let msg = uffd::handoff::recv(&stream, &mut buf)?;
    let table: Vec<Mapping> = serde_json::from_slice(&buf[..msg.len])?;
    // SAFETY: the capability promise, for Firecracker: it registers only guest memory, which
    // it reaches through raw pointers and KVM, never through Rust references.
    let uffd = unsafe { Uffd::from_owned_fd(msg.fd)? };
    if !uffd.is_non_blocking()? {
        uffd.set_non_blocking(true)?; // Firecracker sends it non-blocking; another VMM may not
    }
    let regions = table
        .iter()
        .map(|m| {
            let page = m
                .page_size
                .or(m.page_size_kib)
                .ok_or("a region without page_size")?;
            let start = usize::try_from(m.base_host_virt_addr)?;
            Ok(Region::new(start, m.size, page, Source::Bytes(snapshot)).offset(m.offset))
        })
        .collect::<Res<Vec<_>>>()?;
    let mut storage = OwnedStorage::new(&regions, 8);
    let pager = Pager::new(&uffd, &regions, storage.storage(), Policy::demand())?;
    let stop = Stop::new()?;
    std::thread::scope(|s| -> Res<Exit> {
        // Firecracker keeps the socket open while it runs: end of file is the VM gone.
        s.spawn(|| {
            while let Ok(1..) = (&stream).read(&mut [0u8; 64]) {}
            stop.stop();
        });
        // No FORK events to pass on; `join`: the first worker's error, if any.
        let exit = pager.spawn(s, 1, &stop, None).join();
        stop.stop();
        let _ = stream.shutdown(Shutdown::Both); // ends the reader if the workers ended first
        Ok(exit?)
    })
}
