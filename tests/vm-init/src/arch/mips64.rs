//! mips64el (n64 ABI): entry (load bias and `$t9` for the PIC callee's `$gp`).

use core::arch::global_asm;

/// The name `cargo xtask vm-test --arch` uses.
pub const ARCH: &str = "mips64el";

// System call numbers (asm/unistd_n64.h, `__NR_Linux` = 5000) of the calls only /init makes.
pub const NR_WRITE: usize = 5001;
pub const NR_GETPID: usize = 5038;
pub const NR_REBOOT: usize = 5164;
pub const NR_MOUNT: usize = 5160;
pub const NR_EXIT_GROUP: usize = 5205;

// The kernel enters with $sp at argc and no $gp. n64 PIC code computes its $gp from $t9 ($25) at
// function entry, so the call goes through $25. `bal` puts the run-time address of the
// `.gpdword .` in $ra; that word holds its own address minus `_gp`, so `$ra` minus it is `_gp`
// at run time, and `start_rust`'s address comes from its GOT entry (`%got_disp`, filled at link
// time: the binary is a static, non-PIE executable). (A second `.gpdword start_rust` relocated
// by hand, as musl's crt_arch.h does, linked to the image base here (0x120000000): /init died
// with SIGSEGV before its first line, on the 6.1 kernel and under qemu-mips64el alike.) GNU
// ld's default entry on mips is `__start`, hence the second name.
global_asm!(
    ".set push",
    ".set noreorder",
    ".globl _start",
    ".globl __start",
    ".type _start,@function",
    "_start:",
    "__start:",
    "bal 1f",
    "move $fp, $0",
    ".gpdword .",
    "1:",
    "ld $gp, 0($ra)",
    "dsubu $gp, $ra, $gp",
    "move $4, $sp",
    "ld $25, %got_disp({start})($gp)",
    "and $sp, $sp, -16",
    "jalr $25",
    "move $ra, $0",
    "break",
    ".set pop",
    start = sym crate::start_rust,
);
