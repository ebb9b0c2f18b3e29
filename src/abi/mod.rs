//! `linux/userfaultfd.h`, one-to-one, under the kernel's own names.
//!
//! Data only: integer constants and `#[repr(C)]` types, exactly as the header defines them through
//! Linux 7.2, and nothing above them (typed flags live in [`crate::flags`], system calls in
//! `crate::sys`). Each item says which kernel version brought it; a running kernel tells which it
//! actually has through `UFFDIO_API` and `UFFDIO_REGISTER`, never through these constants.
//!
//! Constants have the Rust type of the field or argument they are used in (C spells most of them
//! as `int`): `UFFD_FEATURE_*`, `*_MODE_*` and `UFFD_PAGEFAULT_FLAG_*` are `u64` like
//! `uffdio_api.features`, `mode` and `uffd_msg.arg.pagefault.flags`; `UFFD_EVENT_*` are `u8` like
//! `uffd_msg.event`; ioctl numbers and their parts are `u32`.
//!
//! The ioctl numbers are computed, never typed in: [`crate::ioctl`] encodes them from the struct
//! sizes with the encoding of the target architecture, as `<asm/ioctl.h>` does for C. The numbers
//! of any other architecture family come from [`uffdio_ioctls`].
//!
//! Items only in a 7.3 release candidate (RWP, `uffdio_rwprotect`, `uffdio_set_mode`) are
//! compiled only with the `unstable-7-3` cargo feature: they are provisional until 7.3 is released.
//!
//! Next to the header, the read side of `UFFD_FEATURE_WP_ASYNC`: the `PAGEMAP_SCAN` part of
//! `linux/fs.h` (Linux 6.7; [`PAGEMAP_SCAN`], [`pm_scan_arg`], [`page_region`], `PAGE_IS_*`,
//! `PM_SCAN_*`, numbers of other families from [`pagemap_ioctls`]) and the documented bits of a
//! `/proc/<pid>/pagemap` entry (`PM_*`, from the kernel's documentation, not a uapi header).
#![allow(non_camel_case_types, non_upper_case_globals)]

mod layout;
mod pagemap;
mod types;

pub use pagemap::*;
pub use types::*;

use crate::ioctl::{IocEncoding, NATIVE};
use core::mem::size_of;

// ---------------------------------------------------------------------------------------------
// /dev/userfaultfd
// ---------------------------------------------------------------------------------------------

/// Ioctl type of `/dev/userfaultfd`. Since Linux 6.1.
pub const USERFAULTFD_IOC: u32 = 0xAA;
/// `_IO(USERFAULTFD_IOC, 0x00)`: on an open `/dev/userfaultfd`, create a userfaultfd; the
/// argument is the flags word of `userfaultfd(2)`, passed by value. Since Linux 6.1.
pub const USERFAULTFD_IOC_NEW: u32 = NATIVE.io(USERFAULTFD_IOC, 0x00);

// ---------------------------------------------------------------------------------------------
// API version and the version-dependent aggregates
// ---------------------------------------------------------------------------------------------

/// The only API version: the `api` value `UFFDIO_API` expects. Since Linux 4.3.
pub const UFFD_API: u64 = 0xAA;

// The names below always hold Linux 7.2's values, with or without `unstable-7-3`: cargo unifies
// features across a build, so a feature that changed them would change them for every crate in
// it. The provisional 7.3-rc aggregates have names of their own (`*_7_3`).

/// Every register mode of Linux 7.2. Describes that kernel, not the running one. Since Linux 4.3.
pub const UFFD_API_REGISTER_MODES: u64 =
    UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR;
/// `UFFD_API_REGISTER_MODES` of 7.3-rc (provisional): 7.2's plus RWP.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_API_REGISTER_MODES_7_3: u64 = UFFD_API_REGISTER_MODES | UFFDIO_REGISTER_MODE_RWP;

/// Every feature bit of Linux 7.2. Describes 7.2, not the running kernel: the kernel's own set
/// comes back in `uffdio_api.features`. Since Linux 4.11.
pub const UFFD_API_FEATURES: u64 = UFFD_FEATURE_PAGEFAULT_FLAG_WP
    | UFFD_FEATURE_EVENT_FORK
    | UFFD_FEATURE_EVENT_REMAP
    | UFFD_FEATURE_EVENT_REMOVE
    | UFFD_FEATURE_EVENT_UNMAP
    | UFFD_FEATURE_MISSING_HUGETLBFS
    | UFFD_FEATURE_MISSING_SHMEM
    | UFFD_FEATURE_SIGBUS
    | UFFD_FEATURE_THREAD_ID
    | UFFD_FEATURE_MINOR_HUGETLBFS
    | UFFD_FEATURE_MINOR_SHMEM
    | UFFD_FEATURE_EXACT_ADDRESS
    | UFFD_FEATURE_WP_HUGETLBFS_SHMEM
    | UFFD_FEATURE_WP_UNPOPULATED
    | UFFD_FEATURE_POISON
    | UFFD_FEATURE_WP_ASYNC
    | UFFD_FEATURE_MOVE;
/// `UFFD_API_FEATURES` of 7.3-rc (provisional): 7.2's plus RWP and RWP_ASYNC.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_API_FEATURES_7_3: u64 =
    UFFD_API_FEATURES | UFFD_FEATURE_RWP | UFFD_FEATURE_RWP_ASYNC;

/// The fd-wide ioctls of Linux 7.2, as bits `1 << _UFFDIO_*` (the form of `uffdio_api.ioctls`).
/// Since Linux 4.3.
pub const UFFD_API_IOCTLS: u64 = 1 << _UFFDIO_REGISTER | 1 << _UFFDIO_UNREGISTER | 1 << _UFFDIO_API;
/// `UFFD_API_IOCTLS` of 7.3-rc (provisional): 7.2's plus SET_MODE.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_API_IOCTLS_7_3: u64 = UFFD_API_IOCTLS | 1 << _UFFDIO_SET_MODE;

/// The range ioctls of Linux 7.2 (the most `uffdio_register.ioctls` can hold there).
/// Since Linux 4.3.
pub const UFFD_API_RANGE_IOCTLS: u64 = 1 << _UFFDIO_WAKE
    | 1 << _UFFDIO_COPY
    | 1 << _UFFDIO_ZEROPAGE
    | 1 << _UFFDIO_MOVE
    | 1 << _UFFDIO_WRITEPROTECT
    | 1 << _UFFDIO_CONTINUE
    | 1 << _UFFDIO_POISON;
/// `UFFD_API_RANGE_IOCTLS` of 7.3-rc (provisional): 7.2's plus RWPROTECT.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_API_RANGE_IOCTLS_7_3: u64 = UFFD_API_RANGE_IOCTLS | 1 << _UFFDIO_RWPROTECT;

/// The range ioctls of Linux 7.2 for hugetlbfs ranges (no ZEROPAGE, no MOVE). Since Linux 4.11.
pub const UFFD_API_RANGE_IOCTLS_BASIC: u64 = 1 << _UFFDIO_WAKE
    | 1 << _UFFDIO_COPY
    | 1 << _UFFDIO_WRITEPROTECT
    | 1 << _UFFDIO_CONTINUE
    | 1 << _UFFDIO_POISON;
/// `UFFD_API_RANGE_IOCTLS_BASIC` of 7.3-rc (provisional): 7.2's plus RWPROTECT.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_API_RANGE_IOCTLS_BASIC_7_3: u64 =
    UFFD_API_RANGE_IOCTLS_BASIC | 1 << _UFFDIO_RWPROTECT;

// ---------------------------------------------------------------------------------------------
// Ioctl command numbers (the `nr` part) and requests
// ---------------------------------------------------------------------------------------------

/// Command number of `UFFDIO_REGISTER`. Since Linux 4.3.
pub const _UFFDIO_REGISTER: u32 = 0x00;
/// Command number of `UFFDIO_UNREGISTER`. Since Linux 4.3.
pub const _UFFDIO_UNREGISTER: u32 = 0x01;
/// Command number of `UFFDIO_WAKE`. Since Linux 4.3.
pub const _UFFDIO_WAKE: u32 = 0x02;
/// Command number of `UFFDIO_COPY`. Since Linux 4.3.
pub const _UFFDIO_COPY: u32 = 0x03;
/// Command number of `UFFDIO_ZEROPAGE`. Since Linux 4.3.
pub const _UFFDIO_ZEROPAGE: u32 = 0x04;
/// Command number of `UFFDIO_MOVE`. Since Linux 6.8.
pub const _UFFDIO_MOVE: u32 = 0x05;
/// Command number of `UFFDIO_WRITEPROTECT`. Since Linux 5.7.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el, riscv64, loongarch64, aarch64 before 6.10
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_WP` in the kernels `cargo xtask vm-test` boots; riscv64
/// needs the Svrsw60t59b extension, which QEMU's CPU
/// lacks). Kernels before 6.1 (5.10) offer `PAGEFAULT_FLAG_WP` and `MODE_WP` on every
/// architecture though only x86_64 then delivers WP faults. See KERNELS.md.
pub const _UFFDIO_WRITEPROTECT: u32 = 0x06;
/// Command number of `UFFDIO_CONTINUE`. Since Linux 5.13.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_MINOR`). See KERNELS.md.
pub const _UFFDIO_CONTINUE: u32 = 0x07;
/// Command number of `UFFDIO_POISON`. Since Linux 6.6.
pub const _UFFDIO_POISON: u32 = 0x08;
/// Command number of `UFFDIO_RWPROTECT`. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const _UFFDIO_RWPROTECT: u32 = 0x09;
/// Command number of `UFFDIO_SET_MODE`. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const _UFFDIO_SET_MODE: u32 = 0x0A;
/// Command number of `UFFDIO_API`. Since Linux 4.3.
pub const _UFFDIO_API: u32 = 0x3F;

/// Ioctl type of the userfaultfd ioctls. Since Linux 4.3.
pub const UFFDIO: u32 = 0xAA;

/// Defines each `UFFDIO_*` request once: as a native constant, and as a row of the table
/// function `$table` so any family's number comes from the same definition.
macro_rules! uffdio_requests {
    ($(#[doc = $tdoc:expr])* #[cfg($tcfg:meta)] fn $table:ident -> $count:ident = $n:literal;
     $( $(#[doc = $doc:expr])* $name:ident = $dir:ident($nr:ident, $ty:ty); )*) => {
        $(
            $(#[doc = $doc])*
            #[cfg($tcfg)]
            pub const $name: u32 = NATIVE.$dir(UFFDIO, $nr, size_of::<$ty>());
        )*

        $(#[doc = $tdoc])*
        #[cfg($tcfg)]
        pub const $count: usize = $n;

        $(#[doc = $tdoc])*
        ///
        /// `table(ioctl::NATIVE)` gives the native constants; other families give the numbers
        /// of other architectures (this is how `cargo xtask verify-layout` checks them).
        #[cfg($tcfg)]
        pub const fn $table(encoding: IocEncoding) -> [(&'static str, u32); $count] {
            [$( (stringify!($name), encoding.$dir(UFFDIO, $nr, size_of::<$ty>())), )*]
        }
    };
}

uffdio_requests! {
    /// Every `UFFDIO_*` request of Linux 7.2 under `encoding`, with its kernel name, in header
    /// order. The same with or without `unstable-7-3` (7.3-rc's additions: `uffdio_ioctls_7_3`).
    #[cfg(all())]
    fn uffdio_ioctls -> UFFDIO_REQUESTS = 10;
    /// `_IOWR(UFFDIO, _UFFDIO_API, struct uffdio_api)`: the handshake. Since Linux 4.3.
    UFFDIO_API = iowr(_UFFDIO_API, uffdio_api);
    /// `_IOWR(UFFDIO, _UFFDIO_REGISTER, struct uffdio_register)`. Since Linux 4.3.
    UFFDIO_REGISTER = iowr(_UFFDIO_REGISTER, uffdio_register);
    /// `_IOR(UFFDIO, _UFFDIO_UNREGISTER, struct uffdio_range)`. `_IOR` although the kernel
    /// reads the struct: the header keeps this historical direction. Since Linux 4.3.
    UFFDIO_UNREGISTER = ior(_UFFDIO_UNREGISTER, uffdio_range);
    /// `_IOR(UFFDIO, _UFFDIO_WAKE, struct uffdio_range)` (`_IOR`, as for `UFFDIO_UNREGISTER`).
    /// Since Linux 4.3.
    UFFDIO_WAKE = ior(_UFFDIO_WAKE, uffdio_range);
    /// `_IOWR(UFFDIO, _UFFDIO_COPY, struct uffdio_copy)`. Since Linux 4.3.
    UFFDIO_COPY = iowr(_UFFDIO_COPY, uffdio_copy);
    /// `_IOWR(UFFDIO, _UFFDIO_ZEROPAGE, struct uffdio_zeropage)`. Since Linux 4.3.
    UFFDIO_ZEROPAGE = iowr(_UFFDIO_ZEROPAGE, uffdio_zeropage);
    /// `_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)`. Since Linux 6.8.
    UFFDIO_MOVE = iowr(_UFFDIO_MOVE, uffdio_move);
    /// `_IOWR(UFFDIO, _UFFDIO_WRITEPROTECT, struct uffdio_writeprotect)`. Since Linux 5.7.
    UFFDIO_WRITEPROTECT = iowr(_UFFDIO_WRITEPROTECT, uffdio_writeprotect);
    /// `_IOWR(UFFDIO, _UFFDIO_CONTINUE, struct uffdio_continue)`. Since Linux 5.13.
    UFFDIO_CONTINUE = iowr(_UFFDIO_CONTINUE, uffdio_continue);
    /// `_IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)`. Since Linux 6.6.
    UFFDIO_POISON = iowr(_UFFDIO_POISON, uffdio_poison);
}

uffdio_requests! {
    /// The `UFFDIO_*` requests that 7.3-rc adds (provisional), under `encoding`, in header
    /// order: [`uffdio_ioctls`] plus these are 7.3-rc's whole set.
    #[cfg(feature = "unstable-7-3")]
    fn uffdio_ioctls_7_3 -> UFFDIO_REQUESTS_7_3 = 2;
    /// `_IOWR(UFFDIO, _UFFDIO_RWPROTECT, struct uffdio_rwprotect)`. 7.3-rc, provisional.
    UFFDIO_RWPROTECT = iowr(_UFFDIO_RWPROTECT, uffdio_rwprotect);
    /// `_IOW(UFFDIO, _UFFDIO_SET_MODE, struct uffdio_set_mode)`. 7.3-rc, provisional.
    UFFDIO_SET_MODE = iow(_UFFDIO_SET_MODE, uffdio_set_mode);
}

// ---------------------------------------------------------------------------------------------
// Events and page-fault flags (struct uffd_msg)
// ---------------------------------------------------------------------------------------------

/// `uffd_msg.event`: a page fault. Since Linux 4.3.
pub const UFFD_EVENT_PAGEFAULT: u8 = 0x12;
/// `uffd_msg.event`: the monitored process forked; `arg.fork.ufd` is a new uffd. Since Linux 4.11.
pub const UFFD_EVENT_FORK: u8 = 0x13;
/// `uffd_msg.event`: `mremap` moved a registered range. Since Linux 4.11.
pub const UFFD_EVENT_REMAP: u8 = 0x14;
/// `uffd_msg.event`: `madvise(MADV_DONTNEED/MADV_REMOVE)` dropped pages. Since Linux 4.11.
pub const UFFD_EVENT_REMOVE: u8 = 0x15;
/// `uffd_msg.event`: `munmap` (or `mremap` shrinking) unmapped a range. Since Linux 4.11.
pub const UFFD_EVENT_UNMAP: u8 = 0x16;

/// `arg.pagefault.flags`: a write fault. Since Linux 4.3.
pub const UFFD_PAGEFAULT_FLAG_WRITE: u64 = 1 << 0;
/// `arg.pagefault.flags`: a write-protect fault (`VM_UFFD_WP`). Since Linux 5.7.
pub const UFFD_PAGEFAULT_FLAG_WP: u64 = 1 << 1;
/// `arg.pagefault.flags`: a minor fault (`VM_UFFD_MINOR`). Since Linux 5.13.
pub const UFFD_PAGEFAULT_FLAG_MINOR: u64 = 1 << 2;
/// `arg.pagefault.flags`: a read-write-protect fault (`VM_UFFD_RWP`). 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_PAGEFAULT_FLAG_RWP: u64 = 1 << 3;

// ---------------------------------------------------------------------------------------------
// Features (struct uffdio_api)
// ---------------------------------------------------------------------------------------------

/// Write-protect faults are reported (`UFFDIO_REGISTER_MODE_WP` on anonymous memory).
/// Since Linux 5.7.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el, riscv64, loongarch64, aarch64 before 6.10
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_WP` in the kernels `cargo xtask vm-test` boots; riscv64
/// needs the Svrsw60t59b extension, which QEMU's CPU
/// lacks). Kernels before 6.1 (5.10) offer `PAGEFAULT_FLAG_WP` and `MODE_WP` on every
/// architecture though only x86_64 then delivers WP faults. See KERNELS.md.
pub const UFFD_FEATURE_PAGEFAULT_FLAG_WP: u64 = 1 << 0;
/// `UFFD_EVENT_FORK`. Needs CAP_SYS_PTRACE. Since Linux 4.11.
pub const UFFD_FEATURE_EVENT_FORK: u64 = 1 << 1;
/// `UFFD_EVENT_REMAP`. Since Linux 4.11.
pub const UFFD_FEATURE_EVENT_REMAP: u64 = 1 << 2;
/// `UFFD_EVENT_REMOVE`. Since Linux 4.11.
pub const UFFD_FEATURE_EVENT_REMOVE: u64 = 1 << 3;
/// MISSING registration of hugetlbfs ranges. Since Linux 4.11.
pub const UFFD_FEATURE_MISSING_HUGETLBFS: u64 = 1 << 4;
/// MISSING registration of shmem ranges. Since Linux 4.11.
pub const UFFD_FEATURE_MISSING_SHMEM: u64 = 1 << 5;
/// `UFFD_EVENT_UNMAP`. Since Linux 4.11.
pub const UFFD_FEATURE_EVENT_UNMAP: u64 = 1 << 6;
/// No fault events: the faulting thread gets SIGBUS instead. Since Linux 4.14.
pub const UFFD_FEATURE_SIGBUS: u64 = 1 << 7;
/// `arg.pagefault.feat.ptid` carries the faulting thread's id. Since Linux 4.14.
pub const UFFD_FEATURE_THREAD_ID: u64 = 1 << 8;
/// MINOR registration of hugetlbfs ranges. Since Linux 5.13.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_MINOR`). See KERNELS.md.
pub const UFFD_FEATURE_MINOR_HUGETLBFS: u64 = 1 << 9;
/// MINOR registration of shmem ranges. Since Linux 5.14.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_MINOR`). See KERNELS.md.
pub const UFFD_FEATURE_MINOR_SHMEM: u64 = 1 << 10;
/// `arg.pagefault.address` is not rounded down to the page. Since Linux 5.18. Offered on every
/// architecture, but s390x still reports the page address (its hardware reports only the page),
/// and armv7 did until 6.12 (6.1's fault handler rounds it).
pub const UFFD_FEATURE_EXACT_ADDRESS: u64 = 1 << 11;
/// WP registration of shmem and hugetlbfs ranges. Since Linux 5.19.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el, riscv64, loongarch64, aarch64 before 6.10
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_WP` in the kernels `cargo xtask vm-test` boots; riscv64
/// needs the Svrsw60t59b extension, which QEMU's CPU
/// lacks). Kernels before 6.1 (5.10) offer `PAGEFAULT_FLAG_WP` and `MODE_WP` on every
/// architecture though only x86_64 then delivers WP faults. See KERNELS.md.
pub const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
/// Write protection also applies to unpopulated anonymous pages. Since Linux 6.4.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el, riscv64, loongarch64, aarch64 before 6.10
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_WP` in the kernels `cargo xtask vm-test` boots; riscv64
/// needs the Svrsw60t59b extension, which QEMU's CPU
/// lacks). Kernels before 6.1 (5.10) offer `PAGEFAULT_FLAG_WP` and `MODE_WP` on every
/// architecture though only x86_64 then delivers WP faults. See KERNELS.md.
pub const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
/// `UFFDIO_POISON`: a later access to a poisoned page raises SIGBUS (SIGSEGV on armv7, whose
/// fault handler has no case for hwpoison; on mips64el 6.12 it is a kernel `BUG()` in
/// `__do_page_fault`, which leaves the task hung). Since Linux 6.6.
pub const UFFD_FEATURE_POISON: u64 = 1 << 14;
/// Asynchronous write protection: the kernel resolves WP faults itself (implies
/// `WP_UNPOPULATED`). Since Linux 6.7.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el, riscv64, loongarch64, aarch64 before 6.10
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_WP` in the kernels `cargo xtask vm-test` boots; riscv64
/// needs the Svrsw60t59b extension, which QEMU's CPU
/// lacks). Kernels before 6.1 (5.10) offer `PAGEFAULT_FLAG_WP` and `MODE_WP` on every
/// architecture though only x86_64 then delivers WP faults. See KERNELS.md.
pub const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
/// `UFFDIO_MOVE`. Since Linux 6.8.
pub const UFFD_FEATURE_MOVE: u64 = 1 << 16;
/// Read-write protection tracking (`UFFDIO_REGISTER_MODE_RWP`). 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_FEATURE_RWP: u64 = 1 << 17;
/// Asynchronous mode of RWP. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const UFFD_FEATURE_RWP_ASYNC: u64 = 1 << 18;

// ---------------------------------------------------------------------------------------------
// Mode bits of each operation
// ---------------------------------------------------------------------------------------------

/// `uffdio_register.mode`: report faults on missing pages. Since Linux 4.3.
pub const UFFDIO_REGISTER_MODE_MISSING: u64 = 1 << 0;
/// `uffdio_register.mode`: report write-protect faults. Since Linux 5.7.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el, riscv64, loongarch64, aarch64 before 6.10
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_WP` in the kernels `cargo xtask vm-test` boots; riscv64
/// needs the Svrsw60t59b extension, which QEMU's CPU
/// lacks). Kernels before 6.1 (5.10) offer `PAGEFAULT_FLAG_WP` and `MODE_WP` on every
/// architecture though only x86_64 then delivers WP faults. See KERNELS.md.
pub const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
/// `uffdio_register.mode`: report minor faults (page in the page cache, not mapped).
/// Since Linux 5.13.
/// Not offered on: i686, armv7, ppc64le, s390x, mips64el
/// (no `CONFIG_HAVE_ARCH_USERFAULTFD_MINOR`). See KERNELS.md.
pub const UFFDIO_REGISTER_MODE_MINOR: u64 = 1 << 2;
/// `uffdio_register.mode`: report read-write-protect faults. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const UFFDIO_REGISTER_MODE_RWP: u64 = 1 << 3;

/// `uffdio_copy.mode`: do not wake the faulting threads. Since Linux 4.3.
pub const UFFDIO_COPY_MODE_DONTWAKE: u64 = 1 << 0;
/// `uffdio_copy.mode`: map the page write-protected. Since Linux 5.7.
pub const UFFDIO_COPY_MODE_WP: u64 = 1 << 1;

/// `uffdio_zeropage.mode`: do not wake the faulting threads. Since Linux 4.3.
pub const UFFDIO_ZEROPAGE_MODE_DONTWAKE: u64 = 1 << 0;

/// `uffdio_writeprotect.mode`: set protection (clear it when absent). Since Linux 5.7.
pub const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
/// `uffdio_writeprotect.mode`: do not wake on unprotect (EINVAL together with `WP`).
/// Since Linux 5.7.
pub const UFFDIO_WRITEPROTECT_MODE_DONTWAKE: u64 = 1 << 1;

/// `uffdio_continue.mode`: do not wake the faulting threads. Since Linux 5.13.
pub const UFFDIO_CONTINUE_MODE_DONTWAKE: u64 = 1 << 0;
/// `uffdio_continue.mode`: map the page write-protected. Since Linux 6.4.
pub const UFFDIO_CONTINUE_MODE_WP: u64 = 1 << 1;

/// `uffdio_poison.mode`: do not wake the faulting threads. Since Linux 6.6.
pub const UFFDIO_POISON_MODE_DONTWAKE: u64 = 1 << 0;

/// `uffdio_move.mode`: do not wake the faulting threads. Since Linux 6.8.
pub const UFFDIO_MOVE_MODE_DONTWAKE: u64 = 1 << 0;
/// `uffdio_move.mode`: holes in the source are skipped instead of failing with ENOENT.
/// Since Linux 6.8.
pub const UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES: u64 = 1 << 1;

/// `uffdio_rwprotect.mode`: set protection (clear it when absent). 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const UFFDIO_RWPROTECT_MODE_RWP: u64 = 1 << 0;
/// `uffdio_rwprotect.mode`: do not wake. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
pub const UFFDIO_RWPROTECT_MODE_DONTWAKE: u64 = 1 << 1;

// ---------------------------------------------------------------------------------------------
// userfaultfd(2) flags
// ---------------------------------------------------------------------------------------------

/// Flag of `userfaultfd(2)` and `USERFAULTFD_IOC_NEW`: handle only faults raised in user mode;
/// needs no privilege. Since Linux 5.11 (before: EINVAL). A kernel access to a missing page then
/// fails with EFAULT, except on mips64el 6.12, which oopses in `__raw_copy_from_user`.
pub const UFFD_USER_MODE_ONLY: u32 = 1;
