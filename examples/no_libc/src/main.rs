//! A userfaultfd fault handler with no runtime at all: `#![no_std]`, `#![no_main]`, our own
//! `_start`, `panic = "abort"`, statically linked with no libc (nor any C start file).
//!
//! The process maps a region, opens a userfaultfd and registers the region, then forks. The
//! child is the handler: it reads the fault from the uffd it inherited and resolves it with
//! `UFFDIO_COPY` into the parent's memory (the uffd acts on the mm it was created in). The
//! parent touches the region, blocks until the child resolves the fault, checks every byte,
//! reaps the child and exits 0. Every system call goes through `uffd::sys` (the crate's own
//! inline syscalls); only the numbers of `mmap`, `clone`, `wait4`, `write` and `exit_group`
//! are spelled out here.
//!
//! The parent closes its copy of the uffd right after the fork, so if the child dies without
//! resolving the fault, closing the last fd wakes the parent, which then reads zeroes and
//! fails instead of hanging.
//!
//! Build (x86_64 or aarch64; `_start` and the memory functions are shared with
//! `tests/vm-init`, the same kind of binary):
//!
//! ```sh
//! cargo build -p no-libc-example --target x86_64-unknown-linux-gnu --release
//! CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
//!   cargo build -p no-libc-example --target aarch64-unknown-linux-gnu --release
//! ```
//!
//! Needs Linux 5.11 (`UFFD_USER_MODE_ONLY`, which needs no privilege).

#![no_std]
#![no_main]
// The compiler must not turn the loops of the memory functions into calls to themselves.
#![no_builtins]

use core::fmt::Write;
use uffd::flags::{CopyMode, RegisterMode};
use uffd::sys::raw;
use uffd::{Errno, Event, Uffd};

// `_start` (hands the initial stack pointer to `start_rust`) and `memcpy`/`memset`/... (which
// compiled code calls, and which no libc provides here): the same as the VM test's `/init`.
#[cfg_attr(
    target_arch = "x86_64",
    path = "../../../tests/vm-init/src/arch/x86_64.rs"
)]
#[cfg_attr(
    target_arch = "aarch64",
    path = "../../../tests/vm-init/src/arch/aarch64.rs"
)]
#[allow(dead_code)]
mod entry;
#[path = "../../../tests/vm-init/src/mem.rs"]
mod mem;

/// System call numbers (asm/unistd*.h) of the calls `uffd::sys` does not wrap.
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const WRITE: usize = 1;
    pub const MMAP: usize = 9;
    pub const CLONE: usize = 56;
    pub const WAIT4: usize = 61;
    pub const EXIT_GROUP: usize = 231;
}
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const WRITE: usize = 64;
    pub const MMAP: usize = 222;
    pub const CLONE: usize = 220;
    pub const WAIT4: usize = 260;
    pub const EXIT_GROUP: usize = 94;
}
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("the no_libc example has entry code for x86_64 and aarch64 only");

const PROT_READ_WRITE: usize = 0x3;
const MAP_PRIVATE_ANONYMOUS: usize = 0x02 | 0x20;
const SIGCHLD: usize = 17;
const PAGES: usize = 4;

/// Standard output as a `core::fmt::Write` sink.
struct Stdout;

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut b = s.as_bytes();
        while !b.is_empty() {
            // SAFETY: the pointer and length describe `b`, which outlives the call.
            match unsafe { raw::syscall3(nr::WRITE, 1, b.as_ptr() as usize, b.len()) } {
                Ok(0) => return Err(core::fmt::Error),
                Ok(n) => b = &b[n..],
                Err(Errno::EINTR) => {}
                Err(_) => return Err(core::fmt::Error),
            }
        }
        Ok(())
    }
}

fn exit(status: usize) -> ! {
    loop {
        // SAFETY: exit_group takes no pointers and does not return.
        let _ = unsafe { raw::syscall1(nr::EXIT_GROUP, status) };
    }
}

/// `mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`.
fn map_anonymous(len: usize) -> Result<usize, Errno> {
    // SAFETY: a new private anonymous mapping at an address the kernel picks: nothing that
    // exists is affected.
    unsafe {
        raw::syscall6(
            nr::MMAP,
            0,
            len,
            PROT_READ_WRITE,
            MAP_PRIVATE_ANONYMOUS,
            usize::MAX,
            0,
        )
    }
}

/// The byte the handler puts at `offset` of the region.
fn pattern(offset: usize) -> u8 {
    (offset as u8).wrapping_mul(7) ^ (offset >> 12) as u8 ^ 0x3c
}

/// Called by `_start` with the initial stack pointer (unused: the page size comes from
/// `mincore(2)` through the crate, nothing else from the stack is needed).
///
/// # Safety
/// Only `_start` calls it, once.
#[no_mangle]
pub unsafe extern "C" fn start_rust(_sp: *const usize) -> ! {
    match run() {
        Ok(()) => exit(0),
        Err(e) => {
            let _ = writeln!(Stdout, "no_libc: FAILED: {e}");
            exit(1)
        }
    }
}

fn run() -> Result<(), &'static str> {
    let mut out = Stdout;
    // SAFETY: this program registers only fresh mappings of its own, which no Rust value relies on,
    // and no other code in it registers memory.
    let uffd = match unsafe { Uffd::builder().user_mode_only(true).create() } {
        Ok(u) => u,
        Err(e) => {
            let _ = writeln!(out, "no_libc: cannot open a userfaultfd: {e}");
            return Err("userfaultfd");
        }
    };
    let page = uffd.page_size();
    let len = PAGES * page;
    let region = map_anonymous(len).map_err(|_| "mmap")?;
    // SAFETY: the region is a fresh mapping that no Rust value refers to: both processes
    // reach it only through raw pointers, and it stays mapped while registered.
    unsafe { uffd.register(region, len, RegisterMode::MISSING) }.map_err(|_| "UFFDIO_REGISTER")?;

    // fork(): clone(SIGCHLD) with no new stack, the same on x86_64 and aarch64.
    // SAFETY: a plain fork; this program has no threads, locks or buffered output to duplicate.
    let pid = unsafe { raw::syscall5(nr::CLONE, SIGCHLD, 0, 0, 0, 0) }.map_err(|_| "fork")?;
    if pid == 0 {
        exit(match handler(&uffd, region, len) {
            Ok(()) => 0,
            Err(e) => {
                let _ = writeln!(Stdout, "no_libc: handler: {e}");
                2
            }
        });
    }
    drop(uffd);

    // Touch: every page faults once and waits for the child.
    let mut bad = 0;
    for i in 0..len {
        // SAFETY: inside the region mapped above; volatile so each byte is really read.
        if unsafe { ((region + i) as *const u8).read_volatile() } != pattern(i) {
            bad += 1;
        }
    }
    let mut status: i32 = 0;
    // SAFETY: wait4 writes one int into `status`, borrowed for the call; no rusage.
    unsafe { raw::syscall4(nr::WAIT4, pid, &mut status as *mut i32 as usize, 0, 0) }
        .map_err(|_| "wait4")?;
    let _ = writeln!(
        out,
        "no_libc: {PAGES} pages of {page} bytes resolved by a forked handler; {bad} wrong bytes; \
         handler wait status {status:#x}"
    );
    if bad != 0 {
        return Err("the region holds wrong bytes");
    }
    if status != 0 {
        return Err("the handler failed");
    }
    let _ = writeln!(out, "no_libc: ok");
    Ok(())
}

/// The child: serve `PAGES` faults of the parent's region with COPY from a buffer of its own.
fn handler(uffd: &Uffd, region: usize, len: usize) -> Result<(), &'static str> {
    let page = uffd.page_size();
    let src = map_anonymous(page).map_err(|_| "mmap")?;
    // SAFETY: `src` is a fresh private page of this process, used only through this slice.
    let src = unsafe { core::slice::from_raw_parts_mut(src as *mut u8, page) };
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 4];
    let mut served = 0;
    while served < PAGES {
        let events = uffd
            .read_events(&mut buf)
            .map_err(|_| "read")?
            .ok_or("no event on a blocking uffd")?;
        for event in events {
            let Ok(Event::Pagefault { address, .. }) = event else {
                return Err("unexpected event");
            };
            let dst = address & !(page - 1);
            if dst < region || dst >= region + len {
                return Err("fault outside the region");
            }
            for (i, b) in src.iter_mut().enumerate() {
                *b = pattern(dst - region + i);
            }
            uffd.copy(dst, src, CopyMode::empty())
                .map_err(|_| "UFFDIO_COPY")?;
            served += 1;
        }
    }
    Ok(())
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(Stdout, "no_libc: panic: {info}");
    exit(101)
}
