//! powerpc64le (ELFv2): entry (TOC pointer, first stack frame).

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "ppc64le";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_MOUNT: usize = 21;
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
