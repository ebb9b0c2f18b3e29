//! The Rust side of the benchmark: the per-page handler (the C reference of `c/storm.c`, line
//! for line) and the handler patterns `uffd` makes easy.
//!
//! # Handler patterns
//!
//! Every fault is a round trip through the kernel (~10 µs here), so beyond a wrapper that
//! costs nothing, what a handler can win is fewer round trips and fewer system calls:
//!
//! - **Per page** ([`Pattern::PerPage`]): read one `uffd_msg`, resolve its page with one
//!   `UFFDIO_COPY` (or `UFFDIO_ZEROPAGE`), which wakes the faulting thread. What the kernel
//!   selftests and most C handlers do.
//! - **Batched reads** ([`Pattern::Batched`]): `read_events` into a buffer of several
//!   `uffd_msg`; one `read` returns every fault pending at that moment (when several threads
//!   fault at once), each then resolved as above. Saves one `read` per extra message.
//!   ```ignore
//!   let mut buf = [uffd_msg::zeroed(); 64];
//!   for ev in uffd.read_events(&mut buf)?.unwrap() {
//!       if let Event::Pagefault { address, .. } = ev? { /* resolve */ }
//!   }
//!   ```
//! - **Range ops with `DONTWAKE` and one `WAKE`** ([`Pattern::RangeWake`]): resolve every page
//!   of a batch with `CopyMode::DONTWAKE`, then wake them all with one `uffd.wake(lo, hi - lo)`.
//!   One wake-up pass instead of one per page; waking a page nobody waits on is a no-op, and a
//!   thread woken on a page still missing just faults again.
//! - **Readahead** ([`Pattern::Readahead`]): resolve a window of `W` pages from the fault
//!   onwards with one `UFFDIO_COPY` (`uffd.copy(addr, src, W * page, CopyMode::empty())`).
//!   On sequential access (restoring a snapshot, a VM's memory) that is one round trip per
//!   window instead of per page. A page already present stops the copy part-way:
//!   [`uffd::Error::Partial`] says how many bytes were done (`done()`) and why (`EAGAIN` after
//!   progress, `EEXIST` at the start), so the handler skips that page and goes on.
//!
//! The page contents: every 8-byte word of page `p` holds `p` (COPY from a source area filled
//! before the run, as in the selftests) or 0 (ZEROPAGE); the faulting threads verify every word.

use crate::ffi;
use core::ffi::c_void;
use uffd::abi::uffd_msg;
use uffd::flags::{CopyMode, RegisterMode, ZeropageMode};
use uffd::{Error, Event, Uffd};

/// How the handler resolves faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// One message per `read`, one `COPY`/`ZEROPAGE` per fault (like the C reference).
    PerPage,
    /// Up to 64 messages per `read`, one `COPY` per fault.
    Batched,
    /// Up to 64 messages per `read`, `COPY | DONTWAKE` each, one `WAKE` over the batch.
    RangeWake,
    /// Up to 64 messages per `read`, one `COPY` of this many pages from each fault on.
    Readahead(usize),
}

impl Pattern {
    pub fn name(self) -> String {
        match self {
            Pattern::PerPage => "per-page".into(),
            Pattern::Batched => "batched reads".into(),
            Pattern::RangeWake => "batch + DONTWAKE + 1 WAKE".into(),
            Pattern::Readahead(w) => format!("readahead {w} pages"),
        }
    }
}

/// One run's parameters.
#[derive(Clone, Copy)]
pub struct Spec<'a> {
    pub npages: usize,
    pub zeropage: bool,
    /// Faulting threads (the main thread is one of them).
    pub nthreads: usize,
    /// Touch order (`None`: sequential); thread `t` touches `order[t]`, `order[t + nthreads]`...
    pub order: Option<&'a [u32]>,
    /// Handler in a forked child (for valgrind) instead of a thread.
    pub fork_handler: bool,
    pub pattern: Pattern,
}

struct Storm<'a> {
    uffd: Uffd,
    zeropage: bool,
    area: usize,
    src: usize,
    page_size: usize,
    npages: usize,
    order: Option<&'a [u32]>,
    nthreads: usize,
    pattern: Pattern,
}

impl Storm<'_> {
    /// The source bytes for `[addr, addr + len)` of the area.
    fn source(&self, addr: usize, len: usize) -> &[u8] {
        debug_assert!(addr >= self.area && addr - self.area + len <= self.npages * self.page_size);
        // SAFETY: the source is a private mapping of `npages` pages, written once before the
        // run and never registered; it is only read from here on, and outlives `self`.
        unsafe { core::slice::from_raw_parts((self.src + (addr - self.area)) as *const u8, len) }
    }
}

fn die(what: &str) -> ! {
    eprintln!("rust storm: {what}");
    std::process::abort()
}

/// The C reference's `handler`, in Rust.
fn per_page(s: &Storm) {
    let ps = s.page_size;
    let mut done = 0;
    let mut buf = [uffd_msg::zeroed(); 1];
    while done < s.npages {
        let Ok(Some(events)) = s.uffd.read_events(&mut buf) else {
            die("read")
        };
        for ev in events {
            let Ok(Event::Pagefault { address, .. }) = ev else {
                die("event")
            };
            let addr = address & !(ps - 1);
            let r = if s.zeropage {
                s.uffd.zeropage(addr, ps, ZeropageMode::empty())
            } else {
                s.uffd.copy(addr, s.source(addr, ps), CopyMode::empty())
            };
            match r {
                Ok(()) | Err(Error::Exists { .. }) => {}
                Err(_) => die("copy"),
            }
            done += 1;
        }
    }
}

/// Resolves `[addr, addr + len)` (COPY or ZEROPAGE), skipping pages already present; returns
/// the bytes newly resolved.
fn resolve_range(s: &Storm, addr: usize, len: usize, dontwake: bool) -> usize {
    let ps = s.page_size;
    let end = addr + len;
    let mut cur = addr;
    let mut resolved = 0;
    while cur < end {
        let r = if s.zeropage {
            let m = if dontwake {
                ZeropageMode::DONTWAKE
            } else {
                ZeropageMode::empty()
            };
            s.uffd.zeropage(cur, end - cur, m)
        } else {
            let m = if dontwake {
                CopyMode::DONTWAKE
            } else {
                CopyMode::empty()
            };
            s.uffd.copy(cur, s.source(cur, end - cur), m)
        };
        match r {
            Ok(()) => {
                resolved += end - cur;
                cur = end;
            }
            // Stopped part-way (at a page already present): go on from there.
            Err(Error::Again { done, .. }) if done > 0 => {
                resolved += done;
                cur += done;
            }
            // The page at `cur` is present (resolved earlier, or by another window): skip it.
            Err(Error::Exists { .. }) => cur += ps,
            Err(_) => die("range copy"),
        }
    }
    resolved
}

/// The batched patterns: several messages per read; handler ends when every page is resolved.
fn batched(s: &Storm) {
    let ps = s.page_size;
    let area_end = s.area + s.npages * ps;
    let mut resolved = 0;
    let mut buf = [uffd_msg::zeroed(); 64];
    while resolved < s.npages * ps {
        let Ok(Some(events)) = s.uffd.read_events(&mut buf) else {
            die("read")
        };
        let (mut lo, mut hi) = (usize::MAX, 0);
        for ev in events {
            let Ok(Event::Pagefault { address, .. }) = ev else {
                die("event")
            };
            let addr = address & !(ps - 1);
            match s.pattern {
                Pattern::Batched | Pattern::PerPage => {
                    resolved += resolve_range(s, addr, ps, false)
                }
                Pattern::RangeWake => {
                    resolved += resolve_range(s, addr, ps, true);
                    lo = lo.min(addr);
                    hi = hi.max(addr + ps);
                }
                Pattern::Readahead(w) => {
                    let end = (addr + w * ps).min(area_end);
                    let n = resolve_range(s, addr, end - addr, false);
                    if n == 0 {
                        // The faulting page itself was present: make sure its thread runs.
                        let _ = s.uffd.wake(addr, ps);
                    }
                    resolved += n;
                }
            }
        }
        if lo < hi && s.uffd.wake(lo, hi - lo).is_err() {
            die("wake")
        }
    }
}

/// The handler's entry (not inlined: `callgrind --zero-before` starts counting here).
#[inline(never)]
fn handle(s: &Storm) {
    match s.pattern {
        Pattern::PerPage => per_page(s),
        _ => batched(s),
    }
}

extern "C" fn handler_thread(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the `Storm` of `run`, which outlives the thread (joined before it ends).
    handle(unsafe { &*(arg as *const Storm) });
    core::ptr::null_mut()
}

/// The C reference's `touch`: returns the OR of every word XOR its expected value.
fn touch(s: &Storm, first: usize) -> u64 {
    let words_per_page = s.page_size / 8;
    let mut bad = 0;
    let mut i = first;
    while i < s.npages {
        let p = match s.order {
            Some(o) => o[i] as usize,
            None => i,
        };
        let want = if s.zeropage { 0 } else { p as u64 };
        let words = (s.area + p * s.page_size) as *const u64;
        for w in 0..words_per_page {
            // SAFETY: page `p` of the registered area, mapped for the whole run; a missing page
            // blocks until the handler resolves it. Read volatile: the contents change under
            // us (the kernel fills the page).
            bad |= unsafe { words.add(w).read_volatile() } ^ want;
        }
        i += s.nthreads;
    }
    bad
}

struct Toucher<'s, 'a> {
    s: &'s Storm<'a>,
    first: usize,
    bad: u64,
}

extern "C" fn toucher_thread(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is a `Toucher` of `run`, alive and not otherwise used until joined.
    let t = unsafe { &mut *(arg as *mut Toucher) };
    t.bad = touch(t.s, t.first);
    core::ptr::null_mut()
}

/// One run (structured as `c_run`): nanoseconds from starting the handler to the end of the
/// verification. No heap allocation on the way (checked by the counting allocator).
pub fn run(spec: Spec) -> Result<u64, String> {
    if spec.nthreads == 0 || spec.nthreads > 64 {
        return Err("1..=64 threads".into());
    }
    // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value relies
    // on, and no other code in this process registers memory.
    let uffd = unsafe { Uffd::builder().create() }.map_err(|e| format!("uffd: {e}"))?;
    let ps = uffd.page_size();
    let len = spec.npages * ps;
    let area = ffi::map(len).ok_or("mmap")?;
    let src = if spec.zeropage {
        0
    } else {
        let src = ffi::map(len).ok_or("mmap")?;
        for p in 0..spec.npages {
            let words = (src + p * ps) as *mut u64;
            for w in 0..ps / 8 {
                // SAFETY: inside the source mapping just made, used by nothing else yet.
                unsafe { words.add(w).write(p as u64) };
            }
        }
        src
    };
    // SAFETY: the area is a fresh mapping that no Rust value refers to: the touchers read it
    // through raw pointers only, and it stays mapped while registered.
    unsafe { uffd.register(area, len, RegisterMode::MISSING) }
        .map_err(|e| format!("register: {e}"))?;
    let s = Storm {
        uffd,
        zeropage: spec.zeropage,
        area,
        src,
        page_size: ps,
        npages: spec.npages,
        order: spec.order,
        nthreads: spec.nthreads,
        pattern: spec.pattern,
    };
    let arg = &s as *const Storm as *mut c_void;

    let t0 = std::time::Instant::now();
    let mut th = 0usize;
    let mut child = -1;
    if spec.fork_handler {
        // SAFETY: the child only runs the handler (no locks taken, no allocation) and exits
        // with `_exit`, never returning into the parent's code.
        child = unsafe { ffi::fork() };
        if child < 0 {
            return Err("fork".into());
        }
        if child == 0 {
            handle(&s);
            // SAFETY: ends the forked child without running the parent's destructors.
            unsafe { ffi::_exit(0) }
        }
    } else {
        // SAFETY: `s` outlives the thread, which is joined below.
        if unsafe { ffi::pthread_create(&mut th, core::ptr::null(), handler_thread, arg) } != 0 {
            return Err("pthread_create".into());
        }
    }
    let mut t: [Toucher; 64] = core::array::from_fn(|i| Toucher {
        s: &s,
        first: i,
        bad: 0,
    });
    let mut tt = [0usize; 64];
    for i in 1..spec.nthreads {
        let a = &mut t[i] as *mut Toucher as *mut c_void;
        // SAFETY: `t[i]` outlives the thread, which is joined below; nothing else touches it.
        if unsafe { ffi::pthread_create(&mut tt[i], core::ptr::null(), toucher_thread, a) } != 0 {
            die("pthread_create");
        }
    }
    let mut bad = touch(&s, 0);
    for i in 1..spec.nthreads {
        // SAFETY: a thread created above, joined once.
        unsafe { ffi::pthread_join(tt[i], core::ptr::null_mut()) };
        bad |= t[i].bad;
    }
    if spec.fork_handler {
        let mut status = 0;
        // SAFETY: waits for our own child.
        let r = unsafe { ffi::waitpid(child, &mut status, 0) };
        if r != child || status != 0 {
            bad |= 1;
        }
    } else {
        // SAFETY: the handler thread created above, joined once.
        unsafe { ffi::pthread_join(th, core::ptr::null_mut()) };
    }
    let ns = t0.elapsed().as_nanos() as u64;

    // SAFETY: every thread that used the areas has been joined; nothing refers to them now.
    unsafe {
        ffi::unmap(area, len);
        if src != 0 {
            ffi::unmap(src, len);
        }
    }
    drop(s);
    if bad != 0 {
        return Err("wrong page contents".into());
    }
    Ok(ns)
}

/// What [`wake_loop`] issues per iteration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WakeVia {
    /// `Uffd::wake` (range checks, errno mapping).
    Checked,
    /// `uffd::sys::ioctl` with a `uffdio_range`: the bare inline syscall, the floor.
    Raw,
    /// Nothing: the loop and its `black_box`es alone (the harness cost to subtract).
    Empty,
}

/// `iters` no-op `UFFDIO_WAKE`s on one registered page (nobody waiting): the wrapper's cost per
/// ioctl is the difference between two `iters` under callgrind, minus the `Empty` loop's.
pub fn wake_loop(iters: usize, via: WakeVia) -> Result<(), String> {
    // SAFETY: the benchmark registers only fresh mappings of its own, which no Rust value relies
    // on, and no other code in this process registers memory.
    let uffd = unsafe { Uffd::builder().create() }.map_err(|e| format!("uffd: {e}"))?;
    let ps = uffd.page_size();
    let p = ffi::map(ps).ok_or("mmap")?;
    // SAFETY: a fresh page that nothing reads: only woken, never touched.
    unsafe { uffd.register(p, ps, RegisterMode::MISSING) }.map_err(|e| format!("register: {e}"))?;
    let fd = uffd.as_raw_fd();
    let mut failed = false;
    for _ in 0..iters {
        // black_box: the arguments are opaque, as a handler's are (otherwise the range checks
        // would be hoisted out of the loop).
        let (a, l) = core::hint::black_box((p, ps));
        failed |= match via {
            WakeVia::Checked => uffd.wake(a, l).is_err(),
            WakeVia::Raw => {
                let mut r = uffd::abi::uffdio_range {
                    start: a as u64,
                    len: l as u64,
                };
                // SAFETY: `fd` is a negotiated userfaultfd; UFFDIO_WAKE reads one
                // `uffdio_range`, which `r` is, borrowed for the call.
                unsafe { uffd::sys::ioctl(fd, uffd::abi::UFFDIO_WAKE, &mut r as *mut _ as usize) }
                    .is_err()
            }
            WakeVia::Empty => a == 0 || l == 0,
        };
    }
    // SAFETY: nothing refers to the page.
    unsafe { ffi::unmap(p, ps) };
    if failed {
        return Err("wake failed".into());
    }
    Ok(())
}
