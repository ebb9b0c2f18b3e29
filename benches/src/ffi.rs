//! The few glibc functions the harness needs (std links glibc already; no `libc` crate). The
//! Rust runs use the same primitives as the C reference (mmap, pthread_create, fork) so that
//! both sides differ only in the handler.

use core::ffi::c_void;

pub const PROT_READ: i32 = 1;
pub const PROT_WRITE: i32 = 2;
pub const MAP_PRIVATE: i32 = 2;
pub const MAP_ANONYMOUS: i32 = 0x20;
pub const MAP_POPULATE: i32 = 0x8000;
pub const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

extern "C" {
    pub fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: i32,
        flags: i32,
        fd: i32,
        off: i64,
    ) -> *mut c_void;
    pub fn munmap(addr: *mut c_void, len: usize) -> i32;
    pub fn madvise(addr: *mut c_void, len: usize, advice: i32) -> i32;
    pub fn fork() -> i32;
    pub fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    pub fn _exit(code: i32) -> !;
    pub fn pthread_create(
        thread: *mut usize,
        attr: *const c_void,
        start: extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> i32;
    pub fn pthread_join(thread: usize, ret: *mut *mut c_void) -> i32;

    // benches/c/storm.c
    pub fn c_run(
        npages: usize,
        zeropage: i32,
        nthreads: usize,
        order: *const u32,
        fork_handler: i32,
    ) -> i64;
    pub fn c_wake_loop(iters: usize) -> i64;

    // benches/c/polled.c
    pub fn c_polled(npages: usize, zero: i32) -> i64;

    // benches/c/perpage.c
    pub fn c_perpage_start(
        uffd: i32,
        stop_fd: i32,
        src: *const u8,
        area: u64,
        page: usize,
    ) -> *mut c_void;
    pub fn c_perpage_ready(p: *const c_void) -> i32;
    pub fn c_perpage_served(p: *const c_void) -> usize;
    pub fn c_perpage_join(p: *mut c_void) -> i64;

    // benches/c/bgfill.c
    pub fn c_bg_start(
        uffd: i32,
        stop_fd: i32,
        src: *const u8,
        area: u64,
        len: usize,
        page: usize,
        threads: i32,
    ) -> *mut c_void;
    pub fn c_bg_ready(b: *const c_void) -> i32;
    pub fn c_bg_go(b: *const c_void) -> i32;
    pub fn c_bg_copied(b: *const c_void) -> usize;
    pub fn c_bg_join(b: *mut c_void, full_ns: *mut u64, copied: *mut usize) -> i64;
    pub fn c_mono_ns() -> u64;

    fn clock_gettime(clock: i32, ts: *mut [i64; 2]) -> i32;
}

/// This thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: clock_gettime writes one `struct timespec` (two longs on 64-bit Linux) to `ts`.
    unsafe { clock_gettime(3, &mut ts) };
    ts[0] as u64 * 1_000_000_000 + ts[1] as u64
}

/// An anonymous private mapping of `len` bytes, or `None`.
pub fn map(len: usize) -> Option<usize> {
    // SAFETY: a fresh anonymous mapping touches no existing memory.
    let p = unsafe {
        mmap(
            core::ptr::null_mut(),
            len,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (p != MAP_FAILED).then_some(p as usize)
}

/// Unmaps what [`map`] returned.
///
/// # Safety
/// No reference into `[addr, addr+len)` may be used afterwards.
pub unsafe fn unmap(addr: usize, len: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { munmap(addr as *mut c_void, len) };
}

/// std's borrowed descriptor as the crate's (what `.into()` does under uffd's `std` feature,
/// which this workspace member does without: it would link std into the `no_std` members).
pub fn borrowed(fd: std::os::fd::BorrowedFd<'_>) -> uffd::fd::BorrowedFd<'_> {
    use std::os::fd::AsRawFd;
    // SAFETY: std's `BorrowedFd` is open for the same lifetime under the same rules.
    unsafe { uffd::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) }
}
