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
