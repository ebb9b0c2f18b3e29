//! s390x: entry (first stack frame) and `svc 0`.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "s390x";

pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_EXIT_GROUP: usize = 248;

// The kernel enters with r15 at argc; the ABI wants a 160-byte register save area below the
// stack pointer with a zero back chain.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "lgr %r2, %r15",
    "aghi %r15, -160",
    "xc 0(8,%r15), 0(%r15)",
    "brasl %r14, {start}",
    ".word 0",
    start = sym crate::start_rust,
);

/// A raw system call with up to three arguments; returns the result or `-errno`.
///
/// # Safety
/// The caller upholds the system call's contract.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: `svc 0` clobbers only r2 (result); the caller upholds the call's contract.
    unsafe {
        asm!("svc 0", in("r1") n, inlateout("r2") a1 as isize => ret, in("r3") a2, in("r4") a3,
             options(nostack));
    }
    ret
}
