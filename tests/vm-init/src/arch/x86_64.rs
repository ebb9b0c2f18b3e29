//! x86_64: entry and the `syscall` instruction.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "x86_64";

pub const NR_WRITE: usize = 1;
pub const NR_GETPID: usize = 39;
pub const NR_REBOOT: usize = 169;
pub const NR_EXIT_GROUP: usize = 231;

// The kernel enters with rsp at argc; the ABI wants rsp 16-byte aligned before `call`.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym crate::start_rust,
);

/// A raw system call with up to three arguments; returns the result or `-errno`.
///
/// # Safety
/// The caller upholds the system call's contract.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: `syscall` clobbers only rax (result), rcx and r11; the caller upholds the call's contract.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}
