//! i686: entry and `int 0x80`.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "i686";

pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_EXIT_GROUP: usize = 252;

// The kernel enters with esp at argc; pass it on the stack (cdecl), esp 16-byte aligned at `call`.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov eax, esp",
    "and esp, -16",
    "sub esp, 12",
    "push eax",
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
    // SAFETY: `int 0x80` clobbers only eax (result); the caller upholds the call's contract.
    unsafe {
        asm!("int 0x80", inlateout("eax") n as isize => ret, in("ebx") a1, in("ecx") a2, in("edx") a3,
             options(nostack));
    }
    ret
}
