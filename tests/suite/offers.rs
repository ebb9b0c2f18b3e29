//! What the running kernel offers, item by item, asked without the crate: the evidence
//! `cargo xtask vm-test` checks every "Since Linux X" of the docs against.
//!
//! Printed by `tests/vm-init` after the feature line, one `uffd-offers:` line per subject:
//!
//! ```text
//! uffd-offers: open syscall=ok device=<ok|errno> user_mode_only=<ok|errno> pagemap_scan=<ok|errno>
//! uffd-offers: register <anon|shmem|hugetlbfs> missing=<0x ioctls|errno> wp=<...> minor=<...>
//! uffd-offers: register hugetlbfs unavailable=<errno>      (no huge page could be mapped)
//! ```
//!
//! Every call is a raw system call with the suite's own numbers and structs (`truth.rs`,
//! `nr.rs`, `rt.rs`); each registration is made on a fresh userfaultfd after `UFFDIO_API` with
//! no features, on a fresh one-page mapping (one default-size huge page for hugetlbfs).

use super::nr::nr;
use super::rt::{self, Map};
use super::truth::{self, RawApi, UFFDIO_API, UFFD_API};
use core::fmt::Write;
use uffd::sys::raw::{syscall1, syscall3};
use uffd::Errno;

/// `UFFDIO_REGISTER` = `_IOWR(0xAA, 0x00, struct uffdio_register)`, 32 bytes (both direction
/// bits: the same word under every encoding, as for `UFFDIO_API`).
const UFFDIO_REGISTER: usize = (3 << 30) | (32 << 16) | (0xAA << 8);
/// `UFFDIO_REGISTER_MODE_MISSING`, `_WP`, `_MINOR` (linux/userfaultfd.h).
const MODES: [(&str, u64); 3] = [("missing", 1), ("wp", 2), ("minor", 4)];
/// `PAGEMAP_SCAN` = `_IOWR('f', 16, struct pm_scan_arg)`, 96 bytes (linux/fs.h, 6.7).
const PAGEMAP_SCAN: usize = (3 << 30) | (96 << 16) | ((b'f' as usize) << 8) | 16;
/// `MAP_HUGETLB` (asm-generic/mman-common.h; mips's asm/mman.h differs).
#[cfg(target_arch = "mips64")]
const MAP_HUGETLB: usize = 0x80000;
#[cfg(not(target_arch = "mips64"))]
const MAP_HUGETLB: usize = 0x40000;

/// `struct uffdio_register`: range (start, len), mode, ioctls (out).
#[repr(C)]
struct RawRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

struct Answer(Result<u64, Errno>);

impl core::fmt::Display for Answer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Ok(0) => f.write_str("ok"),
            Ok(v) => write!(f, "{v:#x}"),
            Err(e) => write!(f, "{e:?}"),
        }
    }
}

/// A fresh userfaultfd through the raw syscall, after `UFFDIO_API` with no features.
fn negotiated() -> Result<usize, Errno> {
    // SAFETY: userfaultfd(2) takes flags by value and creates an fd the caller closes.
    let fd = unsafe { syscall1(nr::userfaultfd, truth::O_CLOEXEC) }?;
    let mut api = RawApi {
        api: UFFD_API,
        features: 0,
        ioctls: 0,
    };
    // SAFETY: UFFDIO_API reads and writes exactly one `struct uffdio_api`, which `api` is.
    match unsafe { syscall3(nr::ioctl, fd, UFFDIO_API, &mut api as *mut RawApi as usize) } {
        Ok(_) => Ok(fd),
        Err(e) => {
            truth::close(fd);
            Err(e)
        }
    }
}

/// `UFFDIO_REGISTER` of `m` with `mode` on a fresh fd: the range ioctls, or the errno.
fn register(m: &Map, len: usize, mode: u64) -> Result<u64, Errno> {
    let fd = negotiated()?;
    let mut r = RawRegister {
        start: m.addr as u64,
        len: len as u64,
        mode,
        ioctls: 0,
    };
    // SAFETY: UFFDIO_REGISTER reads and writes one `struct uffdio_register`, which `r` is;
    // the range is a mapping of ours that nothing reads while it is registered (the fd is
    // closed right after, which unregisters it).
    let res = unsafe {
        syscall3(
            nr::ioctl,
            fd,
            UFFDIO_REGISTER,
            &mut r as *mut RawRegister as usize,
        )
    };
    truth::close(fd);
    res.map(|_| r.ioctls)
}

/// `PAGEMAP_SCAN` with an all-zero argument on `/proc/self/pagemap`: EINVAL (bad `size`)
/// where the ioctl exists, ENOTTY before 6.7.
fn pagemap_scan() -> Result<u64, Errno> {
    let path = b"/proc/self/pagemap\0";
    // SAFETY: a NUL-terminated path that outlives the call; the fd is closed below.
    let fd = unsafe {
        uffd::sys::raw::syscall4(
            nr::openat,
            truth::AT_FDCWD as usize,
            path.as_ptr() as usize,
            truth::O_RDONLY | truth::O_CLOEXEC,
            0,
        )
    }?;
    let mut arg = [0u64; 12];
    // SAFETY: PAGEMAP_SCAN reads (and may write) one 96-byte `struct pm_scan_arg`: `arg`.
    let r = unsafe { syscall3(nr::ioctl, fd, PAGEMAP_SCAN, arg.as_mut_ptr() as usize) };
    truth::close(fd);
    match r {
        Err(Errno::EINVAL) | Ok(_) => Ok(0),
        Err(e) => Err(e),
    }
}

/// A test mapping, the memfd behind it (kept open), and its length.
type Area = (Map, Option<rt::Fd>, usize);

/// Prints the `uffd-offers:` lines.
pub fn print(out: &mut impl Write, page_size: usize) {
    let open = |r: truth::Raw| {
        Answer(match r {
            truth::Raw::Offered { .. } => Ok(0),
            truth::Raw::Failed { errno, .. } => Err(errno),
        })
    };
    let _ = writeln!(
        out,
        "uffd-offers: open syscall={} device={} user_mode_only={} pagemap_scan={}",
        open(truth::syscall(false)),
        open(truth::device(false)),
        open(truth::syscall(true)),
        Answer(pagemap_scan()),
    );
    let huge = hugepage_size();
    let kinds: [(&str, Result<Area, Errno>); 3] = [
        ("anon", rt::anon(page_size).map(|m| (m, None, page_size))),
        (
            "shmem",
            rt::memfd(page_size).and_then(|fd| {
                let m = rt::mmap(0, page_size, rt::MAP_SHARED, fd.0)?;
                Ok((m, Some(fd), page_size))
            }),
        ),
        (
            "hugetlbfs",
            huge.ok_or(Errno::ENOENT).and_then(|hs| {
                let m = rt::mmap(0, hs, rt::MAP_PRIVATE | rt::MAP_ANONYMOUS | MAP_HUGETLB, -1)?;
                Ok((m, None, hs))
            }),
        ),
    ];
    for (kind, area) in kinds {
        let _ = write!(out, "uffd-offers: register {kind}");
        match area {
            Ok((m, _fd, len)) => {
                for (name, mode) in MODES {
                    let _ = write!(out, " {name}={}", Answer(register(&m, len, mode)));
                }
            }
            Err(e) => {
                let _ = write!(out, " unavailable={e:?}");
            }
        }
        let _ = writeln!(out);
    }
}

/// `Hugepagesize:` of /proc/meminfo in bytes, if the kernel has hugetlbfs.
fn hugepage_size() -> Option<usize> {
    let mut buf = [0u8; 4096];
    let n = super::util::read_proc(c"/proc/meminfo", &mut buf).ok()?;
    let text = core::str::from_utf8(&buf[..n]).ok()?;
    let line = text.lines().find(|l| l.starts_with("Hugepagesize:"))?;
    let kb: usize = line["Hugepagesize:".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
