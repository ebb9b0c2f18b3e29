//! Shared pieces of the cases: opening through a chosen path, test memory, result plumbing.

#![allow(dead_code)]

use super::rt::{self, Fd, Map};
use super::truth::{self, Raw, Step};
use super::{Ctx, Msg, Outcome};
use crate::msg;
use uffd::flags::Features;
use uffd::{Builder, Errno, Error, OpenStrategy, Uffd};

/// A case body: `Err` carries a Skip or a Fail.
pub type R = Result<(), Outcome>;

pub fn run(f: impl FnOnce() -> R) -> Outcome {
    match f() {
        Ok(()) => Outcome::Pass,
        Err(o) => o,
    }
}

pub fn fail(m: Msg) -> Outcome {
    Outcome::Fail(m)
}

/// `check!(cond, "fmt", args)`: fail the case unless `cond`.
#[macro_export]
macro_rules! check {
    ($c:expr, $($t:tt)*) => {
        if !$c {
            return Err($crate::suite::Outcome::Fail($crate::msg!($($t)*)));
        }
    };
}

/// `ok!(expr, "what")`: the `Ok` value, or fail with the error.
#[macro_export]
macro_rules! ok {
    ($e:expr, $what:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                return Err($crate::suite::Outcome::Fail($crate::msg!(
                    "{}: {:?}", $what, e
                )))
            }
        }
    };
}

/// Which way the fd is opened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Via {
    Syscall,
    Device,
}

/// What memory backs the test area.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mem {
    Anon,
    Shmem,
}

/// Skips every case on a system whose raw `userfaultfd(2)` gets ENOSYS (qemu-user), and device
/// cases where the raw open of `/dev/userfaultfd` (or its `USERFAULTFD_IOC_NEW`) fails: both
/// asked of the kernel directly ([`truth`]), not through the crate under test.
pub fn available(via: Via) -> R {
    if truth::syscall(false).failed_at(Step::Userfaultfd) == Some(Errno::ENOSYS) {
        return Err(Outcome::Skip(msg!("userfaultfd: ENOSYS")));
    }
    if via == Via::Device {
        if let Raw::Failed { step, errno } = truth::device(false) {
            if step != Step::Api {
                return Err(Outcome::Skip(msg!(
                    "/dev/userfaultfd: {errno:?} (raw {step:?})"
                )));
            }
        }
    }
    Ok(())
}

/// Skips a case that needs `PAGEFAULT_FLAG_WP` where the kernel offers it but the
/// architecture cannot deliver WP faults ([`truth::wp_offered_but_unimplemented`]: 5.10 off
/// x86_64): the case would wait for a fault that never comes.
pub fn wp_implemented(features: Features) -> R {
    if features.contains(Features::PAGEFAULT_FLAG_WP) && truth::wp_offered_but_unimplemented() {
        let (major, minor) = truth::release().unwrap_or((0, 0));
        return Err(Outcome::Skip(msg!(
            "kernel {major}.{minor} offers PAGEFAULT_FLAG_WP but this architecture has no \
             uffd-wp bit before 6.1 (x86_64 only): no WP fault would come"
        )));
    }
    Ok(())
}

/// Skips a POISON case on mips64: touching a `UFFDIO_POISON`ed page hits `BUG()` in the mips
/// `__do_page_fault` (it has no case for `VM_FAULT_HWPOISON`; "Kernel bug detected" on
/// 5kc-malta 6.12), and the oopsed child never reaps. Decided by the architecture.
pub fn poison_access_survivable() -> R {
    if cfg!(target_arch = "mips64") {
        return Err(Outcome::Skip(msg!(
            "an access to a poisoned page is a kernel BUG() on mips (VM_FAULT_HWPOISON unhandled)"
        )));
    }
    Ok(())
}

/// The raw truth for the path a failed crate call took (`OpenDevice`/`DeviceNew`: the device).
fn raw_for(call: uffd::Call) -> Raw {
    match call {
        uffd::Call::OpenDevice | uffd::Call::DeviceNew => truth::device(false),
        _ => truth::syscall(false),
    }
}

/// A skip for features the crate says are missing, if the raw `UFFDIO_API` agrees that every
/// one is missing and offers exactly what the crate says is available; else a failure naming
/// the disagreement.
pub fn missing_skip(missing: Features, available: Features) -> Outcome {
    match truth::offered() {
        Some(raw) if raw & missing.bits() == 0 && raw == available.bits() => {
            Outcome::Skip(msg!("kernel lacks {missing:?}"))
        }
        Some(raw) => Outcome::Fail(msg!(
            "crate says kernel lacks {missing:?} (available {:#x}), raw UFFDIO_API offers {raw:#x}",
            available.bits()
        )),
        None => Outcome::Fail(msg!(
            "crate says kernel lacks {missing:?}, raw open/UFFDIO_API failed: {:?} / {:?}",
            truth::syscall(false),
            truth::device(false)
        )),
    }
}

/// Skip unless the raw mask has every bit of `f`: the case needs `f`, which the crate says
/// (through `available_features`) the kernel lacks. Fails if the raw mask has it.
pub fn lacks_skip(f: Features, why: &str) -> Outcome {
    match truth::offered() {
        Some(raw) if raw & f.bits() != f.bits() => Outcome::Skip(msg!("{why}")),
        raw => Outcome::Fail(msg!(
            "crate says kernel lacks {f:?} ({why}), raw UFFDIO_API offers {raw:#x?}"
        )),
    }
}

/// The raw step that matches the crate's open `call`.
fn step_of(call: uffd::Call) -> Step {
    match call {
        uffd::Call::OpenDevice => Step::OpenDevice,
        uffd::Call::DeviceNew => Step::DeviceNew,
        uffd::Call::Userfaultfd => Step::Userfaultfd,
        _ => Step::Api,
    }
}

/// Maps a creation error to Skip or Fail. A skip must be what the raw truth ([`truth`]) says
/// too: missing features only if the raw `UFFDIO_API` lacks them and offers exactly what the
/// crate says is available; an open or handshake errno only if the raw open of the same path
/// failed at the same step with the same errno (both steps for `OpenFailed`). Anything else,
/// and any disagreement, fails naming both sides.
pub fn open_err(e: Error) -> Outcome {
    match e {
        Error::MissingFeatures { missing, available } => missing_skip(missing, available),
        Error::Sys { call, errno } | Error::PermissionDenied { call, errno, .. } => {
            let raw = raw_for(call);
            if raw.failed_at(step_of(call)) == Some(errno) {
                Outcome::Skip(msg!(
                    "userfaultfd: {errno:?} ({call:?}); the raw call agrees"
                ))
            } else {
                Outcome::Fail(msg!("crate: {e}; raw says {raw:?}"))
            }
        }
        Error::OpenFailed {
            device_call,
            device,
            syscall,
        } => {
            let (d, s) = (truth::device(false), truth::syscall(false));
            if d.failed_at(step_of(device_call)) == Some(device)
                && s.failed_at(Step::Userfaultfd) == Some(syscall)
            {
                Outcome::Skip(msg!(
                    "userfaultfd: {syscall:?}, /dev/userfaultfd: {device:?}; the raw calls agree"
                ))
            } else {
                Outcome::Fail(msg!("crate: {e}; raw says device {d:?}, syscall {s:?}"))
            }
        }
        e => Outcome::Fail(msg!("open: {e}")),
    }
}

/// Opens a negotiated fd requiring `features`.
pub fn open(ctx: &Ctx, via: Via, features: Features) -> Result<Uffd, Outcome> {
    available(via)?;
    wp_implemented(features)?;
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    unsafe { builder(ctx, via).require(features).create() }.map_err(open_err)
}

pub fn builder(ctx: &Ctx, via: Via) -> Builder {
    Builder::new()
        .page_size(ctx.page_size)
        .open_strategy(match via {
            Via::Syscall => OpenStrategy::SyscallOnly,
            Via::Device => OpenStrategy::DeviceOnly,
        })
}

/// The features a registration over `mem` needs.
pub fn mem_features(mem: Mem) -> Features {
    match mem {
        Mem::Anon => Features::empty(),
        Mem::Shmem => Features::MISSING_SHMEM,
    }
}

/// Test memory: anonymous private, or a shared mapping of a memfd (kept open).
pub struct Area {
    pub map: Map,
    pub fd: Option<Fd>,
}

impl core::ops::Deref for Area {
    type Target = Map;
    fn deref(&self) -> &Map {
        &self.map
    }
}

pub fn area(mem: Mem, len: usize) -> Result<Area, Outcome> {
    match mem {
        Mem::Anon => Ok(Area {
            map: ok!(rt::anon(len), "mmap"),
            fd: None,
        }),
        Mem::Shmem => {
            let fd = ok!(rt::memfd(len), "memfd_create");
            let map = ok!(rt::mmap(0, len, rt::MAP_SHARED, fd.0), "mmap(memfd)");
            Ok(Area { map, fd: Some(fd) })
        }
    }
}

/// Runs a handler in a forked child; its failure message comes back on join.
pub fn handler<F: FnOnce() -> Result<(), Msg>>(f: F) -> Result<rt::Child, Outcome> {
    rt::spawn(f).map_err(Outcome::Fail)
}

pub fn join(c: rt::Child) -> R {
    c.join().map_err(|m| fail(msg!("handler: {}", m.as_str())))
}

/// In a handler: `Ok` value or a message.
#[macro_export]
macro_rules! hok {
    ($e:expr, $what:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err($crate::msg!("{}: {:?}", $what, e)),
        }
    };
}

/// In a handler: reads exactly one event (blocking fd) and returns it.
pub fn one_event(u: &Uffd) -> Result<uffd::Event, Msg> {
    let mut buf = [uffd::abi::uffd_msg::zeroed(); 1];
    let mut ev = match u.read_events(&mut buf) {
        Ok(Some(ev)) => ev,
        Ok(None) => return Err(msg!("read: nothing pending on a blocking fd")),
        Err(e) => return Err(msg!("read: {e:?}")),
    };
    match ev.next() {
        Some(Ok(e)) => Ok(e),
        Some(Err(e)) => Err(msg!("decode: {e:?}")),
        None => Err(msg!("read returned no message")),
    }
}

/// In a handler: the next event must be a page fault; returns (address, flags, thread id).
pub fn expect_fault(u: &Uffd) -> Result<(usize, uffd::flags::PagefaultFlags, Option<u32>), Msg> {
    match one_event(u)? {
        uffd::Event::Pagefault {
            address,
            flags,
            thread_id,
        } => Ok((address, flags, thread_id)),
        e => Err(msg!("expected a page fault, got {e:?}")),
    }
}

/// In a handler: the next event must be a page fault at `base` carrying at least `want`.
pub fn expect_fault_at(
    u: &Uffd,
    base: usize,
    want: uffd::flags::PagefaultFlags,
) -> Result<(), Msg> {
    let (addr, flags, _) = expect_fault(u)?;
    if addr != base || !flags.contains(want) {
        return Err(msg!(
            "want a {want:?} fault at {base:#x}: {addr:#x} {flags:?}"
        ));
    }
    Ok(())
}

/// Whether an error's `Display` contains `needle` (formatted into a 1 KiB buffer).
pub fn display_contains(e: &Error, needle: &str) -> bool {
    struct Buf([u8; 1024], usize);
    impl core::fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.0.len() - self.1);
            self.0[self.1..self.1 + n].copy_from_slice(&s.as_bytes()[..n]);
            self.1 += n;
            Ok(())
        }
    }
    let mut b = Buf([0; 1024], 0);
    let _ = core::fmt::Write::write_fmt(&mut b, format_args!("{e}"));
    let hay = &b.0[..b.1];
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Reads a `/proc` file (or any file) into `buf`; the bytes read.
pub fn read_proc(path: &core::ffi::CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = rt::open(path, uffd::sys::O_RDONLY | uffd::sys::O_CLOEXEC)?;
    let mut n = 0;
    while n < buf.len() {
        match fd.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Waits (up to 10 s) until thread `tid` of process `pid` sleeps (state `S` or `D` in
/// `/proc/<pid>/task/<tid>/stat`). A thread whose fault a handler has read then sleeps in
/// the kernel past its last "resolved already?" check, so only a wake ends the sleep. A
/// handler that resolves the page before that check lets the thread go on without any wake:
/// the kernel's design, which a DONTWAKE case must not mistake for a wake.
pub fn wait_asleep(pid: i32, tid: i32) -> Result<(), Msg> {
    let p = msg!("/proc/{pid}/task/{tid}/stat");
    let mut path = [0u8; 64];
    path[..p.as_str().len()].copy_from_slice(p.as_str().as_bytes());
    let path = core::ffi::CStr::from_bytes_until_nul(&path).map_err(|_| msg!("path"))?;
    for _ in 0..2000 {
        let mut buf = [0u8; 512];
        let n = read_proc(path, &mut buf).map_err(|e| msg!("{}: {e:?}", p.as_str()))?;
        let state = buf[..n]
            .iter()
            .rposition(|&b| b == b')')
            .and_then(|i| buf[..n].get(i + 2).copied());
        if matches!(state, Some(b'S' | b'D')) {
            return Ok(());
        }
        rt::sleep_ms(5);
    }
    Err(msg!(
        "thread {tid} did not go to sleep in its fault within 10 s"
    ))
}

/// A DONTWAKE case, tried up to three times while its only failure is that the faulting
/// thread went on before the WAKE. The kernel may end that sleep without our WAKE (a wake-up
/// it allows itself, or the thread's last must-wait check racing the copy), seen once in a
/// few hundred runs on 7.2; an operation that ignores DONTWAKE wakes the thread every time
/// and still fails all three.
pub fn up_to_three(mut attempt: impl FnMut() -> Outcome) -> Outcome {
    for _ in 0..2 {
        match attempt() {
            Outcome::Fail(m) if m.as_str().contains("before WAKE") => continue,
            o => return o,
        }
    }
    attempt()
}
