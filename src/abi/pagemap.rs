//! The `PAGEMAP_SCAN` part of `linux/fs.h`, under the kernel's own names, and the documented bits
//! of a `/proc/<pid>/pagemap` entry.
//!
//! `PAGEMAP_SCAN` (Linux 6.7) is an ioctl on `/proc/<pid>/pagemap`: it walks the page table of
//! that process over `[start, end)` and fills a caller's array of [`page_region`] with runs of
//! pages whose `PAGE_IS_*` categories match. With [`PM_SCAN_WP_MATCHING`] it write-protects
//! the written pages it reports, in the same walk: on a range registered with a userfaultfd
//! that negotiated `UFFD_FEATURE_WP_ASYNC` (also 6.7), that is one system call per epoch of
//! dirty tracking. The typed scan built on these items is [`crate::pagemap`].
//!
//! The `PAGE_IS_*` and `PM_SCAN_*` constants are `u64` like the fields they go in
//! (`pm_scan_arg.flags`, `.category_*`, `page_region.categories`); C spells them `int`.
//!
//! The `PM_*` bits of a pagemap entry are **not** in any uapi header: they come from
//! `Documentation/admin-guide/mm/pagemap.rst` (the names are those of `fs/proc/task_mmu.c`,
//! which defines them), so `cargo xtask verify-layout` cannot compare them with C; the test
//! suite checks them against a running kernel instead.
#![allow(non_camel_case_types)]

use crate::ioctl::{IocEncoding, NATIVE};
use core::mem::size_of;

// ---------------------------------------------------------------------------------------------
// The ioctl
// ---------------------------------------------------------------------------------------------

/// Ioctl type of the procfs ioctls (`'f'`). The name since Linux 6.11; `PAGEMAP_SCAN` used the
/// literal `'f'` from 6.7 on.
pub const PROCFS_IOCTL_MAGIC: u32 = b'f' as u32;

/// Command number of `PAGEMAP_SCAN` (the header writes the literal 16). Since Linux 6.7.
const PAGEMAP_SCAN_NR: u32 = 16;

/// `_IOWR(PROCFS_IOCTL_MAGIC, 16, struct pm_scan_arg)`: scan (and optionally write-protect)
/// page-table entries of the process whose `/proc/<pid>/pagemap` the fd is. Returns the number
/// of [`page_region`]s filled. Since Linux 6.7 (before: `ENOTTY`, pagemap had no ioctls).
pub const PAGEMAP_SCAN: u32 = NATIVE.iowr(
    PROCFS_IOCTL_MAGIC,
    PAGEMAP_SCAN_NR,
    size_of::<pm_scan_arg>(),
);

/// How many procfs pagemap requests this crate defines.
pub const PAGEMAP_REQUESTS: usize = 1;

/// Every pagemap request number under `encoding`, with its kernel name (as
/// [`uffdio_ioctls`](super::uffdio_ioctls) for the `UFFDIO_*` ones): the numbers of another
/// architecture family, from any host. `_IOWR` sets both direction bits, so `PAGEMAP_SCAN`
/// happens to be 0xc0606610 under the generic and the powerpc encoding alike; this is how
/// `cargo xtask verify-layout` shows that per ABI rather than assuming it.
pub const fn pagemap_ioctls(encoding: IocEncoding) -> [(&'static str, u32); PAGEMAP_REQUESTS] {
    [(
        "PAGEMAP_SCAN",
        encoding.iowr(
            PROCFS_IOCTL_MAGIC,
            PAGEMAP_SCAN_NR,
            size_of::<pm_scan_arg>(),
        ),
    )]
}

// ---------------------------------------------------------------------------------------------
// Categories (pm_scan_arg masks, page_region.categories)
// ---------------------------------------------------------------------------------------------

/// The VMA is registered with a userfaultfd that has `UFFD_FEATURE_WP_ASYNC` (write-protect
/// tracking possible). Since Linux 6.7.
pub const PAGE_IS_WPALLOWED: u64 = 1 << 0;
/// The page is not uffd-write-protected: written since it was last protected (or never
/// protected). Since Linux 6.7.
pub const PAGE_IS_WRITTEN: u64 = 1 << 1;
/// File-backed (or shared anonymous) page. Since Linux 6.7.
pub const PAGE_IS_FILE: u64 = 1 << 2;
/// Present in memory. Since Linux 6.7.
pub const PAGE_IS_PRESENT: u64 = 1 << 3;
/// Swapped out. Since Linux 6.7.
pub const PAGE_IS_SWAPPED: u64 = 1 << 4;
/// Maps the zero page. Since Linux 6.7.
pub const PAGE_IS_PFNZERO: u64 = 1 << 5;
/// Mapped by a huge page (PMD-mapped THP or hugetlb). Since Linux 6.7.
pub const PAGE_IS_HUGE: u64 = 1 << 6;
/// Soft-dirty (`CONFIG_MEM_SOFT_DIRTY`). Since Linux 6.7.
pub const PAGE_IS_SOFT_DIRTY: u64 = 1 << 7;
/// Part of a guard region (`MADV_GUARD_INSTALL`). Since Linux 6.16 (a kernel before rejects
/// it in any mask with `EINVAL`).
pub const PAGE_IS_GUARD: u64 = 1 << 8;

// ---------------------------------------------------------------------------------------------
// Flags (pm_scan_arg.flags)
// ---------------------------------------------------------------------------------------------

/// Write-protect the pages that matched (only written ones need it), in the same walk. Only
/// VMAs with `PAGE_IS_WPALLOWED` are touched; others are skipped silently unless
/// [`PM_SCAN_CHECK_WPASYNC`]. Since Linux 6.7.
pub const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
/// Fail with `EPERM` on a VMA not registered for async write-protect, instead of skipping it.
/// Since Linux 6.7.
pub const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;

// ---------------------------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------------------------

/// `struct page_region`: one run of pages with the same reported categories, filled by
/// `PAGEMAP_SCAN`. Since Linux 6.7.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct page_region {
    /// Start address of the run (page-aligned).
    pub start: u64,
    /// End address of the run (exclusive).
    pub end: u64,
    /// `PAGE_IS_*` bits of the run, restricted to `pm_scan_arg.return_mask`.
    pub categories: u64,
}

impl page_region {
    /// An all-zero region, e.g. to initialise an output buffer in a `const` or `static`.
    pub const fn zeroed() -> Self {
        Self {
            start: 0,
            end: 0,
            categories: 0,
        }
    }
}

/// `struct pm_scan_arg`: argument of `PAGEMAP_SCAN` (twelve `__u64`). Since Linux 6.7.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct pm_scan_arg {
    /// `sizeof(struct pm_scan_arg)` (96); any other value is `EINVAL`.
    pub size: u64,
    /// `PM_SCAN_*` bits.
    pub flags: u64,
    /// Start address, page-aligned (`EINVAL` otherwise).
    pub start: u64,
    /// End address (exclusive); the kernel rounds it up to a page.
    pub end: u64,
    /// Out: where the walk stopped; `end` when it covered the whole range. Resume from here.
    pub walk_end: u64,
    /// Address of the `page_region` array (0 with `vec_len` 0: no output).
    pub vec: u64,
    /// Length of the array, in regions.
    pub vec_len: u64,
    /// Stop after this many matching pages (0: no limit).
    pub max_pages: u64,
    /// `PAGE_IS_*` categories that match when clear instead of set.
    pub category_inverted: u64,
    /// A page matches only if it has all of these (after inversion).
    pub category_mask: u64,
    /// A page matches only if it has at least one of these (0: no condition).
    pub category_anyof_mask: u64,
    /// The categories reported in `page_region.categories`.
    pub return_mask: u64,
}

// ---------------------------------------------------------------------------------------------
// /proc/<pid>/pagemap entries (kernel documentation, not a uapi header)
// ---------------------------------------------------------------------------------------------

/// Size of one `/proc/<pid>/pagemap` entry: one `u64` per virtual page, at file offset
/// `(address / page_size) * 8`; reads must be 8-byte aligned and a multiple of 8 (`EINVAL`).
/// From `Documentation/admin-guide/mm/pagemap.rst` (name from `fs/proc/task_mmu.c`); since
/// Linux 2.6.25.
pub const PM_ENTRY_BYTES: usize = 8;
/// Bits 0-54 of an entry: the page frame number if present (zero without `CAP_SYS_ADMIN`
/// since 4.2), or swap type (bits 0-4) and offset (5-54) if swapped. From
/// `Documentation/admin-guide/mm/pagemap.rst`; since Linux 2.6.25.
pub const PM_PFRAME_MASK: u64 = (1 << 55) - 1;
/// Bit 55: the pte is soft-dirty (`Documentation/admin-guide/mm/soft-dirty.rst`). From
/// `Documentation/admin-guide/mm/pagemap.rst`; since Linux 3.11.
pub const PM_SOFT_DIRTY: u64 = 1 << 55;
/// Bit 56: the page is exclusively mapped. From `Documentation/admin-guide/mm/pagemap.rst`;
/// since Linux 4.2.
pub const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
/// Bit 57: the pte is uffd-wp write-protected (cleared when the page is unprotected, by
/// `UFFDIO_WRITEPROTECT` or by an async write fault). From
/// `Documentation/admin-guide/mm/pagemap.rst`; since Linux 5.13 (always clear before, e.g. on
/// 5.10: there every present page of a write-protected range reads as written).
pub const PM_UFFD_WP: u64 = 1 << 57;
/// Bit 58: the pte is a guard region (`MADV_GUARD_INSTALL`). From
/// `Documentation/admin-guide/mm/pagemap.rst`; since Linux 6.15.
pub const PM_GUARD_REGION: u64 = 1 << 58;
/// Bit 61: file page or shared anonymous page. From `Documentation/admin-guide/mm/pagemap.rst`;
/// since Linux 3.5.
pub const PM_FILE: u64 = 1 << 61;
/// Bit 62: the page is swapped out. From `Documentation/admin-guide/mm/pagemap.rst`; since
/// Linux 2.6.25.
pub const PM_SWAP: u64 = 1 << 62;
/// Bit 63: the page is present. From `Documentation/admin-guide/mm/pagemap.rst`; since Linux
/// 2.6.25.
pub const PM_PRESENT: u64 = 1 << 63;
