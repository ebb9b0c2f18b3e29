//! riscv64: entry (with the global pointer the linker relaxes against) and `ecall`.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "riscv64";

pub const NR_WRITE: usize = 64;
pub const NR_GETPID: usize = 172;
pub const NR_REBOOT: usize = 142;
pub const NR_EXIT_GROUP: usize = 94;

// The kernel enters with sp at argc. GNU ld relaxes accesses near `__global_pointer$` to be
// gp-relative, so gp must be set before any Rust code runs.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    ".option push",
    ".option norelax",
    "lla gp, __global_pointer$",
    ".option pop",
    "mv a0, sp",
    "andi sp, sp, -16",
    "li ra, 0",
    "call {start}",
    "unimp",
    start = sym crate::start_rust,
);

/// A raw system call with up to three arguments; returns the result or `-errno`.
///
/// # Safety
/// The caller upholds the system call's contract.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: `ecall` clobbers only a0 (result); the caller upholds the call's contract.
    unsafe {
        asm!("ecall", in("a7") n, inlateout("a0") a1 as isize => ret, in("a1") a2, in("a2") a3,
             options(nostack));
    }
    ret
}
