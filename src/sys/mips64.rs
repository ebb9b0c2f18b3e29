//! Facts of mips64 (n64 ABI), from Debian's `linux-libc-dev` 7.2 headers: syscall numbers from
//! `mips64el-linux-gnuabi64/asm/unistd_n64.h (`__NR_Linux` = 5000)`, `O_*`, `MAP_*` and `SOL_SOCKET` from `asm/mman.h`, `asm/socket.h` and `mips asm/fcntl.h`, errno values from `mips asm/errno.h`.
//!
//! The `syscalls` crate needs nightly here, so the raw syscall instruction is our own (below).

/// `__NR_userfaultfd`.
pub const __NR_userfaultfd: usize = 5317;
/// `__NR_openat`.
pub const __NR_openat: usize = 5247;
/// `__NR_ioctl`.
pub const __NR_ioctl: usize = 5015;
/// `__NR_read`.
pub const __NR_read: usize = 5000;
/// `__NR_close`.
pub const __NR_close: usize = 5003;
/// `__NR_ppoll`.
pub const __NR_ppoll: usize = 5261;
/// `__NR_mincore`.
pub const __NR_mincore: usize = 5026;
/// `__NR_pread64`.
pub const __NR_pread64: usize = 5016;

/// `__NR_fcntl`.
pub const __NR_fcntl: usize = 5070;
/// `__NR_sendmsg`.
pub const __NR_sendmsg: usize = 5045;
/// `__NR_recvmsg`.
pub const __NR_recvmsg: usize = 5046;
/// `__NR_mmap`.
pub const __NR_mmap: usize = 5009;
/// The number [`mmap`](super::mmap) issues: `__NR_mmap`.
pub const MMAP_NR: usize = __NR_mmap;
/// `__NR_munmap`.
pub const __NR_munmap: usize = 5011;
/// `__NR_madvise`.
pub const __NR_madvise: usize = 5027;
/// `__NR_mremap`.
pub const __NR_mremap: usize = 5024;
/// `__NR_getrusage`.
pub const __NR_getrusage: usize = 5096;

/// The page size is a kernel configuration choice here (4, 16 or 64 KiB): found at run time.
pub const PAGE_SIZE: Option<usize> = None;

/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o2000000;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0x80;

/// `MAP_ANONYMOUS`.
pub const MAP_ANONYMOUS: u32 = 0x800;
/// `MAP_NORESERVE`.
pub const MAP_NORESERVE: u32 = 0x400;
/// `MAP_POPULATE`.
pub const MAP_POPULATE: u32 = 0x10000;
/// `MAP_HUGETLB`.
pub const MAP_HUGETLB: u32 = 0x80000;
/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 0xffff;

/// `ENOSYS` here.
pub const ENOSYS: i32 = 89;
/// `EOPNOTSUPP` here.
pub const EOPNOTSUPP: i32 = 122;
/// `EHWPOISON` here.
pub const EHWPOISON: i32 = 168;

use core::arch::asm;

// `syscall` takes the number in $2 (v0) and arguments in $4..$9 (a0..a5), returns in $2 and
// reports failure in $7 (a3) with a positive errno in $2; we negate it so every arch returns the
// generic `-errno` word. The kernel saves only $2..$9, $25, $28, $31 on entry (`SAVE_SOME`; the
// static $16..$23 and $30 survive as callee-saved) and returns without restoring the rest, so
// $10..$15 and $24 are clobbered; $3, $8, $9 and $25 are declared clobbered too, as musl does.
// Unused argument registers are passed as 0.
//
// It does not restore $1 (at), hi or lo either, and those three `asm!` cannot name ("reserved for
// assembler"; hi/lo unknown; no `clobber_abi` on mips). Unlike GCC (where $1 is fixed) and clang
// (which adds `~{$1}` to every mips inline asm), rustc does not mark them clobbered, and LLVM does
// allocate $1 as an ordinary register and keeps values in it across an `asm!` (seen in the test
// /init: `move at, ..; syscall; move a0, at`, which broke the forked handlers and their parent).
// So the template saves them in $16..$18 and restores them after the call: the kernel preserves
// the static registers, also in a `clone` child (copied from the parent's). They are named, not
// `reg` operands, because LLVM may give a `reg` operand $1 itself, which would lose the hi/lo
// copy. `target_arch = "mips64"` is never R6 (that is `mips64r6`), so hi/lo exist.
#[inline(always)]
pub(super) unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> usize {
    let ret: usize;
    let err: usize;
    // SAFETY: the caller upholds the system call's contract (see `sys::raw`).
    unsafe {
        asm!(
            ".set push",
            ".set noat",
            "move $16, $1",
            "mfhi $17",
            "mflo $18",
            "syscall",
            "move $1, $16",
            "mthi $17",
            "mtlo $18",
            ".set pop",
            out("$16") _,
            out("$17") _,
            out("$18") _,
            inlateout("$2") n => ret,
            in("$4") a1,
            in("$5") a2,
            in("$6") a3,
            inlateout("$7") a4 => err,
            inlateout("$8") a5 => _,
            inlateout("$9") a6 => _,
            lateout("$3") _,
            lateout("$10") _,
            lateout("$11") _,
            lateout("$12") _,
            lateout("$13") _,
            lateout("$14") _,
            lateout("$15") _,
            lateout("$24") _,
            lateout("$25") _,
            options(nostack)
        );
    }
    if err == 0 {
        ret
    } else {
        ret.wrapping_neg()
    }
}
super::via_syscall6!();
