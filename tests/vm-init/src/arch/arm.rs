//! armv7 (EABI): entry and `svc 0`.

use core::arch::{asm, global_asm};

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "armv7";

pub const NR_WRITE: usize = 4;
pub const NR_GETPID: usize = 20;
pub const NR_REBOOT: usize = 88;
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

/// A raw system call with up to three arguments; returns the result or `-errno`.
///
/// # Safety
/// The caller upholds the system call's contract.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: `svc 0` clobbers only r0 (result); the caller upholds the call's contract.
    unsafe {
        asm!("svc 0", in("r7") n, inlateout("r0") a1 as isize => ret, in("r1") a2, in("r2") a3,
             options(nostack));
    }
    ret
}

// ARM EHABI personality routines `core`'s unwind tables name; never called (panic = abort).
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr0() {}
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr1() {}
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr2() {}
