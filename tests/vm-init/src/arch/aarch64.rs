//! aarch64: entry and `svc 0`.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "aarch64";

pub const NR_WRITE: usize = 64;
pub const NR_GETPID: usize = 172;
pub const NR_REBOOT: usize = 142;
pub const NR_EXIT_GROUP: usize = 94;

// The kernel enters with sp (16-byte aligned) at argc.
global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "bl {start}",
    "brk #0",
    start = sym crate::start_rust,
);

/// A raw system call with up to three arguments; returns the result or `-errno`.
///
/// # Safety
/// The caller upholds the system call's contract.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: `svc 0` clobbers only x0 (result); the caller upholds the call's contract.
    unsafe {
        asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2, in("x2") a3,
             options(nostack));
    }
    ret
}
