//! Test support: the raw system calls the cases need (memory, processes, pipes), through
//! `uffd::sys::raw`, no libc. Per-arch numbers in `nr.rs`, per-arch constants here.

#![allow(dead_code)]

use super::nr::nr;
use super::Msg;
use crate::msg;
use uffd::sys::raw::*;
use uffd::Errno;

pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const MAP_SHARED: usize = 1;
pub const MAP_PRIVATE: usize = 2;
pub const MAP_FIXED: usize = 0x10;
#[cfg(target_arch = "mips64")]
pub const MAP_ANONYMOUS: usize = 0x800;
#[cfg(not(target_arch = "mips64"))]
pub const MAP_ANONYMOUS: usize = 0x20;
pub const MADV_DONTNEED: usize = 4;
pub const MREMAP_MAYMOVE: usize = 1;
pub const MREMAP_FIXED: usize = 2;
pub const MFD_CLOEXEC: usize = 1;
/// `linux/memfd.h` (the same on every architecture): the default huge page size.
pub const MFD_HUGETLB: usize = 4;
pub const PR_SET_PDEATHSIG: usize = 1;
pub const PR_SET_DUMPABLE: usize = 4;
pub const SIGKILL: i32 = 9;
#[cfg(target_arch = "mips64")]
pub const SIGBUS: i32 = 10;
#[cfg(not(target_arch = "mips64"))]
pub const SIGBUS: i32 = 7;
/// The signal an access to a `UFFDIO_POISON`ed page raises: SIGBUS, but SIGSEGV on arm32,
/// whose `do_page_fault` (arch/arm/mm/fault.c) gives SIGBUS only for `VM_FAULT_SIGBUS` and
/// SIGSEGV for the `VM_FAULT_HWPOISON` a poison marker answers (seen on armmp 6.12).
#[cfg(target_arch = "arm")]
pub const POISON_SIGNAL: i32 = 11;
#[cfg(not(target_arch = "arm"))]
pub const POISON_SIGNAL: i32 = SIGBUS;
#[cfg(target_arch = "mips64")]
pub const SIGCHLD: usize = 18;
#[cfg(not(target_arch = "mips64"))]
pub const SIGCHLD: usize = 17;

/// An anonymous or memfd mapping, unmapped on drop.
pub struct Map {
    pub addr: usize,
    pub len: usize,
    owned: core::cell::Cell<bool>,
}

impl Map {
    pub fn ptr(&self, off: usize) -> *mut u8 {
        (self.addr + off) as *mut u8
    }
    pub fn read(&self, off: usize) -> u8 {
        // SAFETY: test memory we mapped; volatile so the fault really happens here.
        unsafe { self.ptr(off).read_volatile() }
    }
    pub fn write(&self, off: usize, v: u8) {
        // SAFETY: as above.
        unsafe { self.ptr(off).write_volatile(v) }
    }
    pub fn fill(&self, off: usize, len: usize, v: u8) {
        for i in 0..len {
            self.write(off + i, v);
        }
    }
    /// `[off, off+len)` as a byte slice: the source of a COPY.
    ///
    /// # Safety
    /// While the slice lives nothing writes the range (no `write`/`fill`, no other process or
    /// thread sharing it) and it is not registered with a userfaultfd, so its bytes cannot
    /// change behind the shared borrow.
    pub unsafe fn bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(
            off.checked_add(len).is_some_and(|end| end <= self.len),
            "bytes({off:#x}, {len:#x}) outside a mapping of {:#x}",
            self.len
        );
        // SAFETY: in bounds of our readable mapping (asserted); unchanging while borrowed
        // (the caller's promise).
        unsafe { core::slice::from_raw_parts(self.ptr(off), len) }
    }
    /// Stops owning the mapping (when the test moved or unmapped it itself).
    pub fn forget_ref(&self) {
        self.owned.set(false)
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        if !self.owned.get() {
            return;
        }
        // SAFETY: unmapping test memory nothing references any more.
        let _ = unsafe { syscall2(nr::munmap, self.addr, self.len) };
    }
}

pub fn mmap(addr: usize, len: usize, flags: usize, fd: i32) -> Result<Map, Errno> {
    let args = [
        addr,
        len,
        PROT_READ | PROT_WRITE,
        flags,
        fd as isize as usize,
        0,
    ];
    let a = sys_mmap(&args)?;
    Ok(Map {
        addr: a,
        len,
        owned: core::cell::Cell::new(true),
    })
}

/// `mmap(2)` with the six words of `args`.
#[cfg(not(target_arch = "s390x"))]
fn sys_mmap(args: &[usize; 6]) -> Result<usize, Errno> {
    let [a1, a2, a3, a4, a5, a6] = *args;
    // SAFETY: a new mapping (MAP_FIXED only over reservations the test owns).
    unsafe { syscall6(nr::mmap, a1, a2, a3, a4, a5, a6) }
}

/// s390x's `__NR_mmap` is the old `mmap`: one pointer to the six argument words.
#[cfg(target_arch = "s390x")]
fn sys_mmap(args: &[usize; 6]) -> Result<usize, Errno> {
    // SAFETY: as above; `args` outlives the call and the kernel only reads it.
    unsafe { syscall6(nr::mmap, args.as_ptr() as usize, 0, 0, 0, 0, 0) }
}

pub fn anon(len: usize) -> Result<Map, Errno> {
    mmap(0, len, MAP_PRIVATE | MAP_ANONYMOUS, -1)
}

/// A memfd of `len` bytes (the fd is returned and must be closed by the caller).
pub fn memfd(len: usize) -> Result<Fd, Errno> {
    memfd_with(len, MFD_CLOEXEC)
}

/// `memfd_create("uffd-test", flags)` sized to `len` bytes (e.g. `MFD_HUGETLB`: `len` a
/// multiple of the huge page size).
pub fn memfd_with(len: usize, flags: usize) -> Result<Fd, Errno> {
    // SAFETY: the name is a NUL-terminated static string.
    let fd = unsafe { syscall2(nr::memfd_create, c"uffd-test".as_ptr() as usize, flags) }? as i32;
    let fd = Fd(fd);
    // SAFETY: ftruncate of our own fd.
    unsafe { syscall2(nr::ftruncate, fd.0 as usize, len) }?;
    Ok(fd)
}

/// An owned fd, closed on drop.
pub struct Fd(pub i32);
impl Fd {
    /// The descriptor, borrowed for as long as `self` is.
    pub fn borrow(&self) -> uffd::fd::BorrowedFd<'_> {
        // SAFETY: we own it, and it stays open until `self` drops.
        unsafe { uffd::fd::BorrowedFd::borrow_raw(self.0) }
    }
    /// `read(2)` from it.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        read(self.borrow(), buf)
    }
}
/// `openat(AT_FDCWD, path, flags)`: an owned fd.
pub fn open(path: &core::ffi::CStr, flags: u32) -> Result<Fd, Errno> {
    // SAFETY: AT_FDCWD names no descriptor of anyone's.
    unsafe { uffd::sys::openat(uffd::sys::AT_FDCWD, path, flags, 0) }.map(Fd)
}
/// Whether descriptor number `n` is closed (`ppoll` reports `POLLNVAL`), for checks that an
/// error path closed it. Polling takes nothing from a descriptor: were the number reused by
/// then, the check would fail without stealing anyone's data.
pub fn is_closed(n: i32) -> bool {
    let mut fds = [uffd::sys::PollFd {
        fd: n,
        events: 0,
        revents: 0,
    }];
    let mut zero = uffd::sys::Timespec::default();
    // SAFETY: see above: `n` is only polled, with no events asked for.
    let r = unsafe { uffd::sys::ppoll(&mut fds, Some(&mut zero)) };
    r.is_ok() && fds[0].revents & uffd::sys::POLLNVAL != 0
}
/// `read(2)` from a borrowed descriptor.
pub fn read(fd: uffd::fd::BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `fd` is borrowed, so open, for the call.
    unsafe { uffd::sys::read(fd.as_raw_fd(), buf) }
}
impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own it.
        let _ = unsafe { uffd::sys::close(self.0) };
    }
}

pub fn madvise(addr: usize, len: usize, advice: usize) -> Result<(), Errno> {
    // SAFETY: test memory.
    unsafe { syscall3(nr::madvise, addr, len, advice) }.map(|_| ())
}

pub fn mremap(
    old: usize,
    old_len: usize,
    new_len: usize,
    flags: usize,
    new: usize,
) -> Result<usize, Errno> {
    // SAFETY: test memory; the destination is a reservation the test owns.
    unsafe { syscall5(nr::mremap, old, old_len, new_len, flags, new) }
}

pub fn munmap(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: test memory.
    unsafe { syscall2(nr::munmap, addr, len) }.map(|_| ())
}

pub fn write(fd: i32, addr: usize, len: usize) -> Result<usize, Errno> {
    // SAFETY: the kernel only reads [addr, addr+len), faults included.
    unsafe { syscall3(nr::write, fd as usize, addr, len) }
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { syscall0(nr::getpid) }.unwrap_or(0) as i32
}
/// Whether the effective uid is 0 (`None` if geteuid failed).
pub fn getuid_is_root() -> Option<bool> {
    // SAFETY: no arguments.
    unsafe { syscall0(nr::geteuid) }.ok().map(|u| u == 0)
}
pub fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { syscall0(nr::gettid) }.unwrap_or(0) as i32
}

pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: ends the process.
        let _ = unsafe { syscall1(nr::exit_group, code as usize) };
    }
}

pub fn setresuid(uid: u32) -> Result<(), Errno> {
    // SAFETY: no memory involved.
    unsafe { syscall3(nr::setresuid, uid as usize, uid as usize, uid as usize) }.map(|_| ())
}
pub fn setresgid(gid: u32) -> Result<(), Errno> {
    // SAFETY: no memory involved.
    unsafe { syscall3(nr::setresgid, gid as usize, gid as usize, gid as usize) }.map(|_| ())
}

/// `pipe2(O_CLOEXEC | O_NONBLOCK)`: (read end, write end).
pub fn pipe() -> Result<(Fd, Fd), Errno> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    unsafe {
        syscall2(
            nr::pipe2,
            fds.as_mut_ptr() as usize,
            (uffd::sys::O_CLOEXEC | uffd::sys::O_NONBLOCK) as usize,
        )
    }?;
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// How a child ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

/// A forked child process running a closure; killed and reaped on drop if not joined.
pub struct Child {
    pid: i32,
    report: Fd,
    done: bool,
}

/// Forks; the child runs `f` and exits 0 on `Ok`, or sends the message and exits 1. The child
/// is killed when the forking thread ends (`PR_SET_PDEATHSIG`): a harness that gives up on a
/// hung case leaves no child behind.
pub fn spawn<F: FnOnce() -> Result<(), Msg>>(f: F) -> Result<Child, Msg> {
    fork_child(f, 0)
}

/// [`spawn`] for a child that must outlive the process forking it (a handler that sees its
/// faulting parent exit): a sibling of that process (`CLONE_PARENT`), so it is killed with
/// *their* parent's thread instead, the test's: a handler that never stops (a broken pager
/// under `cargo mutants`) cannot outlive the test and spin on as an orphan. The forking
/// process cannot wait for it.
pub fn spawn_outliving<F: FnOnce() -> Result<(), Msg>>(f: F) -> Result<Child, Msg> {
    fork_child(f, CLONE_PARENT)
}

/// `clone`'s flag for a child of the caller's parent (`linux/sched.h`, every architecture).
const CLONE_PARENT: usize = 0x8000;

/// Forks (`clone` with `flags | SIGCHLD`); the child dies with its parent's forking thread.
fn fork_child<F: FnOnce() -> Result<(), Msg>>(f: F, flags: usize) -> Result<Child, Msg> {
    let (r, w) = pipe().map_err(|e| msg!("pipe2: {e:?}"))?;
    // SAFETY: fork (clone with SIGCHLD, and CLONE_PARENT if asked, which changes only whose
    // child it is): the child gets a copy of this process with the calling thread only, and
    // runs nothing but `f` (no allocation, no locks) before exiting.
    #[cfg(not(target_arch = "s390x"))]
    let pid = unsafe { syscall5(nr::clone, flags | SIGCHLD, 0, 0, 0, 0) };
    // SAFETY: as above; s390 takes the stack first, then the flags.
    #[cfg(target_arch = "s390x")]
    let pid = unsafe { syscall5(nr::clone, 0, flags | SIGCHLD, 0, 0, 0) };
    match pid {
        Err(e) => Err(msg!("fork: {e:?}")),
        Ok(0) => {
            // SAFETY: prctl(PR_SET_PDEATHSIG, SIGKILL) touches no memory.
            let _ = unsafe { syscall2(nr::prctl, PR_SET_PDEATHSIG, SIGKILL as usize) };
            let code = match f() {
                Ok(()) => 0,
                Err(m) => {
                    let s = m.as_str();
                    let _ = write(w.0, s.as_ptr() as usize, s.len());
                    1
                }
            };
            exit(code)
        }
        Ok(pid) => Ok(Child {
            pid: pid as i32,
            report: r,
            done: false,
        }),
    }
}

impl Child {
    pub fn pid(&self) -> i32 {
        self.pid
    }
    /// Waits for the child: its exit status.
    pub fn wait(&mut self) -> Result<Status, Msg> {
        let mut status: i32 = 0;
        loop {
            // SAFETY: the kernel writes one int into `status`.
            let r = unsafe {
                syscall4(
                    nr::wait4,
                    self.pid as usize,
                    &mut status as *mut i32 as usize,
                    0,
                    0,
                )
            };
            match r {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(msg!("wait4: {e:?}")),
            }
        }
        self.done = true;
        if status & 0x7f == 0 {
            Ok(Status::Exited((status >> 8) & 0xff))
        } else {
            Ok(Status::Signaled(status & 0x7f))
        }
    }
    /// Waits and expects a clean exit; a failing child's message becomes the error.
    pub fn join(mut self) -> Result<(), Msg> {
        match self.wait()? {
            Status::Exited(0) => Ok(()),
            Status::Exited(c) => Err(msg!("child exited {c}: {}", self.message().as_str())),
            Status::Signaled(s) => Err(msg!("child killed by signal {s}")),
        }
    }
    /// What a failing child sent before exiting (empty if nothing); read after `wait`.
    pub fn message(&self) -> Msg {
        let mut buf = [0u8; 200];
        let n = self.report.read(&mut buf).unwrap_or(0);
        msg!("{}", core::str::from_utf8(&buf[..n]).unwrap_or("?"))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: signalling and reaping our own child.
            let _ = unsafe { syscall2(nr::kill, self.pid as usize, SIGKILL as usize) };
            let _ = self.wait();
        }
    }
}

/// Sleeps about `ms` milliseconds (`ppoll` with no fds).
pub fn sleep_ms(ms: isize) {
    let mut t = uffd::sys::Timespec {
        tv_sec: (ms / 1000) as i64,
        tv_nsec: (ms % 1000) as i64 * 1_000_000,
    };
    // SAFETY: no descriptors are polled.
    let _ = unsafe { uffd::sys::ppoll(&mut [], Some(&mut t)) };
}

/// Makes this (child) process not dumpable, so an expected SIGBUS leaves no core file.
pub fn no_core() {
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) touches no memory.
    let _ = unsafe { syscall2(nr::prctl, PR_SET_DUMPABLE, 0) };
}
