//! powerpc64le (ELFv2): entry (TOC pointer, first stack frame) and `sc`.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "ppc64le";

pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_EXIT_GROUP: usize = 234;

// The kernel enters with r1 at argc and no TOC pointer: find our own address with `bcl`, derive
// r2 from `.TOC.`, then open a minimal (32-byte, ELFv2) frame with a zero back chain.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "bcl 20, 31, 1f",
    "1:",
    "mflr 12",
    "addis 2, 12, (.TOC. - 1b)@ha",
    "addi 2, 2, (.TOC. - 1b)@l",
    "mr 3, 1",
    "clrrdi 1, 1, 4",
    "li 0, 0",
    "stdu 1, -32(1)",
    "mtlr 0",
    "std 0, 0(1)",
    "bl {start}",
    "nop",
    "trap",
    start = sym crate::start_rust,
);

/// A raw system call with up to three arguments; returns the result or `-errno`.
///
/// # Safety
/// The caller upholds the system call's contract.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: usize;
    let cr: usize;
    // SAFETY: `sc` clobbers r0, r4-r12, cr0, ctr, xer; failure is CR0.SO with a positive errno
    // in r3. The caller upholds the call's contract.
    unsafe {
        asm!("sc", "mfcr {cr}", cr = out(reg) cr,
             inlateout("r0") n => _, inlateout("r3") a1 => ret, inlateout("r4") a2 => _,
             inlateout("r5") a3 => _, out("r6") _, out("r7") _, out("r8") _, out("r9") _,
             out("r10") _, out("r11") _, out("r12") _, out("ctr") _, out("xer") _,
             out("cr0") _, options(nostack));
    }
    // CR0.SO is bit 3 of the CR0 field, i.e. bit 28 counting from the least significant end.
    if cr & (1 << 28) != 0 {
        -(ret as isize)
    } else {
        ret as isize
    }
}
