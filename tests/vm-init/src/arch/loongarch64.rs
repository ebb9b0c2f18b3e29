//! loongarch64 (LP64D): entry.

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "loongarch64";

// System call numbers (asm/unistd_64.h, the generic table) of the calls only /init makes.
pub const NR_WRITE: usize = 64;
pub const NR_GETPID: usize = 172;
pub const NR_REBOOT: usize = 142;
pub const NR_MOUNT: usize = 40;
pub const NR_EXIT_GROUP: usize = 94;

// The kernel enters with $sp at argc; the ABI wants $sp 16-byte aligned.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "move $fp, $zero",
    "move $ra, $zero",
    "move $a0, $sp",
    "bstrins.d $sp, $zero, 3, 0",
    "bl {start}",
    "break 0",
    start = sym crate::start_rust,
);
