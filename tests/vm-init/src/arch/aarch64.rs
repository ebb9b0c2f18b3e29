//! aarch64: entry.

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "aarch64";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 64;
pub const NR_GETPID: usize = 172;
pub const NR_REBOOT: usize = 142;
pub const NR_MOUNT: usize = 40;
pub const NR_EXIT_GROUP: usize = 94;

// The kernel enters with sp (16-byte aligned) at argc.
global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "bl {start}",
    "brk #0",
    start = sym crate::start_rust,
);

/// `getauxval(type)`: compiler-builtins' outline atomics (the `__aarch64_ldadd*`/`cas*`
/// helpers that atomic read-modify-writes, e.g. the pager's bitmaps, compile to) ask libc
/// whether the CPU has LSE atomics at start-up. There is no libc here: 0 ("not known"), so
/// the helpers use the ARMv8.0 load/store-exclusive sequences, correct on every aarch64 CPU.
#[no_mangle]
pub extern "C" fn getauxval(_type: core::ffi::c_ulong) -> core::ffi::c_ulong {
    0
}
