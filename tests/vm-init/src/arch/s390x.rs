//! s390x: entry (first stack frame).

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "s390x";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_MOUNT: usize = 21;
pub const NR_EXIT_GROUP: usize = 248;

// The kernel enters with r15 at argc; the ABI wants a 160-byte register save area below the
// stack pointer with a zero back chain.
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "lgr %r2, %r15",
    "aghi %r15, -160",
    "xc 0(8,%r15), 0(%r15)",
    "brasl %r14, {start}",
    ".word 0",
    start = sym crate::start_rust,
);
