//! x86_64: entry.

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "x86_64";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 1;
pub const NR_GETPID: usize = 39;
pub const NR_REBOOT: usize = 169;
pub const NR_MOUNT: usize = 165;
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
