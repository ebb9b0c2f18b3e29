//! Timeouts and wake-ups of `Uffd::poll` and `uffd::wait` (issue 11), timed with std: a
//! timeout is waited out (not returned early, not ignored), a stop fd written by another
//! thread wakes a `wait` without a timeout. The
//! `core`-only case, run in the VMs too, is `wait_stop_fd_syscall` in `tests/suite`.

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uffd::wait::{wait, Waiting};
use uffd::{Builder, OpenStrategy, Uffd};

/// One test at a time: each times a wait.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A non-blocking userfaultfd, or `None` (printing why) where there is none.
fn open(test: &str) -> Option<Uffd> {
    common::create(
        test,
        Builder::new()
            .open_strategy(OpenStrategy::SyscallOnly)
            .user_mode_only(true)
            .non_blocking(true),
    )
}

/// Asserts `took` is `d` or a little more (a timeout never ends early; 2 s of slack for a
/// loaded machine).
fn waited_out(what: &str, took: Duration, d: Duration) {
    assert!(
        took >= d && took < d + Duration::from_secs(2),
        "{what}: returned after {took:?}, timeout {d:?}"
    );
}

#[test]
fn poll_with_nothing_pending_returns_false_after_the_timeout() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(u) = open("poll_with_nothing_pending_returns_false_after_the_timeout") else {
        return;
    };
    for ms in [0, 30, 250] {
        let d = Duration::from_millis(ms);
        let t = Instant::now();
        let r = u.poll(Some(d));
        let took = t.elapsed();
        assert_eq!(r, Ok(false), "poll({d:?})");
        waited_out("poll", took, d);
    }
}

#[test]
fn wait_with_nothing_ready_returns_zero_after_the_timeout() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(u) = open("wait_with_nothing_ready_returns_zero_after_the_timeout") else {
        return;
    };
    let (stop_r, _stop_w) = std::io::pipe().unwrap();
    let d = Duration::from_millis(200);
    let mut fds = [
        Waiting::uffd(&u),
        Waiting::fd(common::borrowed(stop_r.as_fd())),
    ];
    let t = Instant::now();
    let n = wait(&mut fds, Some(d)).unwrap();
    let took = t.elapsed();
    assert_eq!(n, 0);
    assert!(fds.iter().all(|w| !w.is_ready()), "{fds:?}");
    waited_out("wait", took, d);
}

/// A thread waits on the uffd and a stop pipe with no timeout; it is still waiting 200 ms
/// later, and writing the pipe wakes it with the pipe readable and the uffd not.
#[test]
fn writing_the_stop_fd_wakes_a_waiting_thread() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(u) = open("writing_the_stop_fd_wakes_a_waiting_thread") else {
        return;
    };
    let (mut stop_r, mut stop_w) = std::io::pipe().unwrap();
    std::thread::scope(|s| {
        let stop = stop_r.as_fd();
        let u = &u;
        let t = s.spawn(move || {
            let mut fds = [Waiting::uffd(u), Waiting::fd(common::borrowed(stop))];
            let n = wait(&mut fds, None);
            (n, fds[0].is_ready(), fds[1].is_readable(), Instant::now())
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!t.is_finished(), "wait(None) returned with nothing ready");
        let written = Instant::now();
        stop_w.write_all(b"x").unwrap();
        let (n, uffd_ready, stop_readable, woke) = t.join().unwrap();
        assert_eq!(n, Ok(1));
        assert!(
            stop_readable && !uffd_ready,
            "stop {stop_readable}, uffd {uffd_ready}"
        );
        assert!(woke >= written, "woke before the write");
    });
    let mut b = [0u8; 1];
    stop_r.read_exact(&mut b).unwrap();
}

/// The same `Waiting` array waited on twice: after the stop pipe was read empty, the second
/// wait reports nothing ready (`wait` does not reset `revents` beforehand: the kernel writes
/// every entry's back).
#[test]
fn a_reused_array_reports_only_what_is_ready_now() {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(u) = open("a_reused_array_reports_only_what_is_ready_now") else {
        return;
    };
    let (stop_r, mut stop_w) = std::io::pipe().unwrap();
    stop_w.write_all(b"x").unwrap();
    let stop_r_reader = std::fs::File::from(std::os::fd::OwnedFd::from(stop_r));
    let mut fds = [
        Waiting::uffd(&u),
        Waiting::fd(common::borrowed(stop_r_reader.as_fd())),
    ];
    assert_eq!(wait(&mut fds, Some(Duration::ZERO)), Ok(1));
    assert!(fds[1].is_readable() && !fds[0].is_ready(), "{fds:?}");
    let mut b = [0u8; 1];
    (&stop_r_reader).read_exact(&mut b).unwrap();
    assert_eq!(wait(&mut fds, Some(Duration::ZERO)), Ok(0));
    assert!(
        !fds[0].is_ready() && !fds[1].is_ready(),
        "stale revents: {fds:?}"
    );
}

/// Signals caught while `Uffd::poll` and `wait` wait (a no-op SIGUSR1 handler, without
/// `SA_RESTART`, sent five times, 100 ms apart, to the waiting thread): neither returns EINTR,
/// and a timed wait continues with the time left rather than starting over (a 600 ms poll
/// ends before 1000 ms; started over after the last signal it would take at least 1100 ms).
#[test]
fn a_caught_signal_does_not_end_a_wait() {
    use nix::libc;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::SeqCst};
    static CAUGHT: AtomicUsize = AtomicUsize::new(0);
    extern "C" fn on_usr1(_: libc::c_int) {
        CAUGHT.fetch_add(1, SeqCst);
    }
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(u) = open("a_caught_signal_does_not_end_a_wait") else {
        return;
    };
    // SAFETY: a handler that only increments an atomic (async-signal-safe), for SIGUSR1,
    // which nothing else in this test binary uses; `sa` is fully initialised by zeroed().
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let signal_five_times = |tid: &AtomicI32| {
        while tid.load(SeqCst) == 0 {
            std::thread::yield_now();
        }
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(100));
            // SAFETY: tgkill(2) to a thread of this process (ESRCH once it has ended: the
            // assertions on its result then say why).
            let r = unsafe {
                libc::syscall(
                    libc::SYS_tgkill,
                    libc::getpid(),
                    tid.load(SeqCst),
                    libc::SIGUSR1,
                )
            };
            if r != 0 {
                break;
            }
        }
    };
    let (stop_r, mut stop_w) = std::io::pipe().unwrap();
    let (tid, tid2) = (AtomicI32::new(0), AtomicI32::new(0));
    std::thread::scope(|s| {
        // Uffd::poll with a timeout: it waits out the whole timeout, once.
        let before = CAUGHT.load(SeqCst);
        let t = s.spawn(|| {
            // SAFETY: gettid(2) takes no arguments.
            tid.store(unsafe { libc::gettid() }, SeqCst);
            let start = Instant::now();
            (u.poll(Some(Duration::from_millis(600))), start.elapsed())
        });
        signal_five_times(&tid);
        let (r, took) = t.join().unwrap();
        assert_eq!(
            r.map_err(|e| e.to_string()),
            Ok(false),
            "poll under signals"
        );
        assert!(
            CAUGHT.load(SeqCst) - before >= 4,
            "the signals were not caught"
        );
        assert!(
            took >= Duration::from_millis(600) && took < Duration::from_millis(1000),
            "a 600 ms poll under five signals took {took:?}"
        );
        // wait() without a timeout: signals do not end it; the stop pipe does.
        let tid = &tid2;
        let before = CAUGHT.load(SeqCst);
        let stop = common::borrowed(stop_r.as_fd());
        let u = &u;
        let t = s.spawn(move || {
            // SAFETY: as above.
            tid.store(unsafe { libc::gettid() }, SeqCst);
            let mut fds = [Waiting::uffd(u), Waiting::fd(stop)];
            let r = wait(&mut fds, None);
            (r, fds[1].is_readable())
        });
        signal_five_times(tid);
        assert!(!t.is_finished(), "wait(None) ended under signals");
        stop_w.write_all(b"x").unwrap();
        let (r, stop_readable) = t.join().unwrap();
        assert_eq!(r, Ok(1));
        assert!(stop_readable);
        assert!(
            CAUGHT.load(SeqCst) - before >= 4,
            "the signals were not caught"
        );
    });
}
