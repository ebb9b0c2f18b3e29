//! riscv64: entry (with the global pointer the linker relaxes against).

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "riscv64";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 64;
pub const NR_GETPID: usize = 172;
pub const NR_REBOOT: usize = 142;
pub const NR_MOUNT: usize = 40;
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
