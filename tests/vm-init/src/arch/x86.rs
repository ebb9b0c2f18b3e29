//! i686: entry.

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "i686";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_MOUNT: usize = 21;
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
