//! What the std integration tests share on top of `suite`: a skip only where the kernel,
//! asked directly (`suite::truth`, raw system calls that do not go through the crate), agrees.
//! Included as `mod common;` next to `mod suite;`.

use crate::suite;
use uffd::Error;

/// The value of a `create()`/`probe()`, or `None` after a SKIP line if the raw truth fails the
/// same way (same call, same errno; missing features only if the raw `UFFDIO_API` lacks them
/// too); any other error fails the test, naming the disagreement.
pub fn created<T>(what: &str, r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => match suite::util::open_err(e) {
            suite::Outcome::Skip(m) => {
                println!("SKIP {what}: {}", m.as_str());
                None
            }
            suite::Outcome::Fail(m) => panic!("FAIL {what}: {}", m.as_str()),
            suite::Outcome::Pass => unreachable!("open_err never passes"),
        },
    }
}

/// Whether the kernel has userfaultfd at all, asked of the kernel directly (a raw
/// `userfaultfd(2)`): only a raw ENOSYS (qemu-user) skips, printing why.
pub fn raw_has_userfaultfd(what: &str) -> bool {
    match suite::util::available(suite::util::Via::Syscall) {
        Ok(()) => true,
        Err(suite::Outcome::Skip(m)) => {
            println!("SKIP {what}: {}", m.as_str());
            false
        }
        Err(suite::Outcome::Fail(m)) => panic!("FAIL {what}: {}", m.as_str()),
        Err(suite::Outcome::Pass) => unreachable!("available never passes as an error"),
    }
}

/// `create()` of `b` where the raw truth says there is a userfaultfd, through [`created`].
pub fn create(what: &str, b: uffd::Builder) -> Option<uffd::Uffd> {
    if !raw_has_userfaultfd(what) {
        return None;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    created(what, unsafe { b.create() })
}

/// std's borrowed descriptor as the crate's (what `.into()` does with the `std` feature, which
/// these tests are built without).
pub fn borrowed(fd: std::os::fd::BorrowedFd<'_>) -> uffd::fd::BorrowedFd<'_> {
    use std::os::fd::AsRawFd;
    // SAFETY: std's `BorrowedFd` is open for the same lifetime under the same rules.
    unsafe { uffd::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) }
}

/// In a forked child: a seccomp filter that answers ENOSYS to system call `nr` (as container
/// runtimes hide calls), every other call allowed. Needs no privilege (`PR_SET_NO_NEW_PRIVS`).
#[allow(clippy::result_large_err)] // the suite's message type, as everywhere in the suite
pub fn hide_syscall(nr: u32) -> Result<(), suite::Msg> {
    use nix::libc;
    // One instruction each: load the syscall number; if `nr`, ENOSYS; else allow.
    let insn = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let filter = [
        insn(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        insn(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 0, 1, nr),
        insn(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        insn(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    let step = |what: &str, r: libc::c_int| {
        if r == 0 {
            Ok(())
        } else {
            Err(crate::msg!("{what}: {:?}", nix::errno::Errno::last()))
        }
    };
    // SAFETY: prctl(2) reading `prog`, which outlives the calls; they change this process's
    // own syscall filter only.
    unsafe {
        step(
            "PR_SET_NO_NEW_PRIVS",
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
        )?;
        step(
            "seccomp filter",
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ),
        )
    }
}

/// `fork()`, the child killed when the thread that forked it ends (`PR_SET_PDEATHSIG`): a test
/// that fails, or ends the process at its deadline, leaves no child behind waiting forever.
///
/// # Safety
/// As `fork(2)` in a multi-threaded process: the child calls only async-signal-safe functions
/// (no allocation, no locks) until it exits.
pub unsafe fn fork() -> i32 {
    use nix::libc;
    // SAFETY: the caller's promise; prctl is a plain system call.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        }
        pid
    }
}

/// A test's deadline, armed until dropped: a broken pager leaves threads blocked on faults
/// nobody serves (in the kernel, where no panic reaches them), so a test still running after
/// `UFFD_TEST_DEADLINE` seconds (default 60; the longest takes ~1.5 s) ends the whole process
/// with a message naming it, instead of hanging.
pub struct Deadline {
    /// Dropping it tells the deadline's thread that the test ended.
    _done: std::sync::mpsc::Sender<()>,
}

impl Deadline {
    pub fn arm() -> Deadline {
        let secs = std::env::var("UFFD_TEST_DEADLINE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        let limit = std::time::Duration::from_secs(secs);
        let (done, ended) = std::sync::mpsc::channel::<()>();
        let name = std::thread::current().name().unwrap_or("a test").to_owned();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = ended.recv_timeout(limit) {
                // Straight to the descriptor: the harness captures this thread's `eprintln!`.
                let msg =
                    format!("FAIL {name}: not finished after {limit:?} (UFFD_TEST_DEADLINE)\n");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
                std::process::exit(101);
            }
        });
        Deadline { _done: done }
    }
}
