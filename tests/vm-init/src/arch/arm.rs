//! armv7 (EABI): entry.

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "armv7";

// System call numbers (asm/unistd*.h) of the calls only /init makes.
pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
pub const NR_MOUNT: usize = 21;
pub const NR_EXIT_GROUP: usize = 248;

// The kernel enters with sp at argc; AAPCS wants sp 8-byte aligned (we align to 16).
global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov fp, #0",
    "mov lr, #0",
    "mov r0, sp",
    "bic sp, sp, #15",
    "bl {start}",
    "udf #0",
    start = sym crate::start_rust,
);

// ARM EHABI personality routines `core`'s unwind tables name; never called (panic = abort).
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr0() {}
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr1() {}
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr2() {}
