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
