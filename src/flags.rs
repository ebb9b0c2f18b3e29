//! Typed bit sets over the header's integers ([`bitflags`](mod@bitflags) 2).
//!
//! Sets the kernel writes ([`Features`], [`Ioctls`], [`PagefaultFlags`]) keep bits this crate
//! does not know (`const _ = !0`): a newer kernel adding a bit must not break an older binary
//! (a Rust crate broke on Linux 6.6 exactly that way when `UFFDIO_POISON` appeared). Sets the
//! caller writes (the modes) know their bits; `from_bits_retain` still passes anything through.

use crate::abi::*;
use bitflags::bitflags;

bitflags! {
    /// `uffdio_api.features`: `UFFD_FEATURE_*`. Since Linux 4.11 (the field since 4.3).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Features: u64 {
        /// [`UFFD_FEATURE_PAGEFAULT_FLAG_WP`] (5.7).
        const PAGEFAULT_FLAG_WP = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
        /// [`UFFD_FEATURE_EVENT_FORK`] (4.11).
        const EVENT_FORK = UFFD_FEATURE_EVENT_FORK;
        /// [`UFFD_FEATURE_EVENT_REMAP`] (4.11).
        const EVENT_REMAP = UFFD_FEATURE_EVENT_REMAP;
        /// [`UFFD_FEATURE_EVENT_REMOVE`] (4.11).
        const EVENT_REMOVE = UFFD_FEATURE_EVENT_REMOVE;
        /// [`UFFD_FEATURE_MISSING_HUGETLBFS`] (4.11).
        const MISSING_HUGETLBFS = UFFD_FEATURE_MISSING_HUGETLBFS;
        /// [`UFFD_FEATURE_MISSING_SHMEM`] (4.11).
        const MISSING_SHMEM = UFFD_FEATURE_MISSING_SHMEM;
        /// [`UFFD_FEATURE_EVENT_UNMAP`] (4.11).
        const EVENT_UNMAP = UFFD_FEATURE_EVENT_UNMAP;
        /// [`UFFD_FEATURE_SIGBUS`] (4.14).
        const SIGBUS = UFFD_FEATURE_SIGBUS;
        /// [`UFFD_FEATURE_THREAD_ID`] (4.14).
        const THREAD_ID = UFFD_FEATURE_THREAD_ID;
        /// [`UFFD_FEATURE_MINOR_HUGETLBFS`] (5.13).
        const MINOR_HUGETLBFS = UFFD_FEATURE_MINOR_HUGETLBFS;
        /// [`UFFD_FEATURE_MINOR_SHMEM`] (5.14).
        const MINOR_SHMEM = UFFD_FEATURE_MINOR_SHMEM;
        /// [`UFFD_FEATURE_EXACT_ADDRESS`] (5.18).
        const EXACT_ADDRESS = UFFD_FEATURE_EXACT_ADDRESS;
        /// [`UFFD_FEATURE_WP_HUGETLBFS_SHMEM`] (5.19).
        const WP_HUGETLBFS_SHMEM = UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
        /// [`UFFD_FEATURE_WP_UNPOPULATED`] (6.4).
        const WP_UNPOPULATED = UFFD_FEATURE_WP_UNPOPULATED;
        /// [`UFFD_FEATURE_POISON`] (6.6).
        const POISON = UFFD_FEATURE_POISON;
        /// [`UFFD_FEATURE_WP_ASYNC`] (6.7).
        const WP_ASYNC = UFFD_FEATURE_WP_ASYNC;
        /// [`UFFD_FEATURE_MOVE`] (6.8).
        const MOVE = UFFD_FEATURE_MOVE;
        /// `UFFD_FEATURE_RWP` (7.3-rc, provisional).
        #[cfg(feature = "unstable-7-3")]
        const RWP = UFFD_FEATURE_RWP;
        /// `UFFD_FEATURE_RWP_ASYNC` (7.3-rc, provisional).
        #[cfg(feature = "unstable-7-3")]
        const RWP_ASYNC = UFFD_FEATURE_RWP_ASYNC;
        // Bits of kernels newer than this crate.
        const _ = !0;
    }
}

bitflags! {
    /// `uffdio_api.ioctls` and `uffdio_register.ioctls`: bit `1 << _UFFDIO_*` per ioctl the
    /// kernel offers (fd-wide or on the registered range). Since Linux 4.3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Ioctls: u64 {
        /// `UFFDIO_REGISTER` (4.3).
        const REGISTER = 1 << _UFFDIO_REGISTER;
        /// `UFFDIO_UNREGISTER` (4.3).
        const UNREGISTER = 1 << _UFFDIO_UNREGISTER;
        /// `UFFDIO_WAKE` (4.3).
        const WAKE = 1 << _UFFDIO_WAKE;
        /// `UFFDIO_COPY` (4.3).
        const COPY = 1 << _UFFDIO_COPY;
        /// `UFFDIO_ZEROPAGE` (4.3).
        const ZEROPAGE = 1 << _UFFDIO_ZEROPAGE;
        /// `UFFDIO_MOVE` (6.8).
        const MOVE = 1 << _UFFDIO_MOVE;
        /// `UFFDIO_WRITEPROTECT` (5.7).
        const WRITEPROTECT = 1 << _UFFDIO_WRITEPROTECT;
        /// `UFFDIO_CONTINUE` (5.13).
        const CONTINUE = 1 << _UFFDIO_CONTINUE;
        /// `UFFDIO_POISON` (6.6).
        const POISON = 1 << _UFFDIO_POISON;
        /// `UFFDIO_RWPROTECT` (7.3-rc, provisional).
        #[cfg(feature = "unstable-7-3")]
        const RWPROTECT = 1 << _UFFDIO_RWPROTECT;
        /// `UFFDIO_SET_MODE` (7.3-rc, provisional).
        #[cfg(feature = "unstable-7-3")]
        const SET_MODE = 1 << _UFFDIO_SET_MODE;
        /// `UFFDIO_API` (4.3).
        const API = 1 << _UFFDIO_API;
        // Ioctls of kernels newer than this crate (one appeared in 6.6 and broke a crate).
        const _ = !0;
    }
}

bitflags! {
    /// `uffd_msg.arg.pagefault.flags`: `UFFD_PAGEFAULT_FLAG_*`. Since Linux 4.3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PagefaultFlags: u64 {
        /// [`UFFD_PAGEFAULT_FLAG_WRITE`] (4.3).
        const WRITE = UFFD_PAGEFAULT_FLAG_WRITE;
        /// [`UFFD_PAGEFAULT_FLAG_WP`] (5.7).
        const WP = UFFD_PAGEFAULT_FLAG_WP;
        /// [`UFFD_PAGEFAULT_FLAG_MINOR`] (5.13).
        const MINOR = UFFD_PAGEFAULT_FLAG_MINOR;
        /// `UFFD_PAGEFAULT_FLAG_RWP` (7.3-rc, provisional).
        #[cfg(feature = "unstable-7-3")]
        const RWP = UFFD_PAGEFAULT_FLAG_RWP;
        // Flags of kernels newer than this crate.
        const _ = !0;
    }
}

bitflags! {
    /// `uffdio_register.mode`: `UFFDIO_REGISTER_MODE_*`. Since Linux 4.3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RegisterMode: u64 {
        /// [`UFFDIO_REGISTER_MODE_MISSING`] (4.3).
        const MISSING = UFFDIO_REGISTER_MODE_MISSING;
        /// [`UFFDIO_REGISTER_MODE_WP`] (5.7).
        const WP = UFFDIO_REGISTER_MODE_WP;
        /// [`UFFDIO_REGISTER_MODE_MINOR`] (5.13).
        const MINOR = UFFDIO_REGISTER_MODE_MINOR;
        /// `UFFDIO_REGISTER_MODE_RWP` (7.3-rc, provisional).
        #[cfg(feature = "unstable-7-3")]
        const RWP = UFFDIO_REGISTER_MODE_RWP;
    }
}

bitflags! {
    /// `uffdio_copy.mode`: `UFFDIO_COPY_MODE_*`. Since Linux 4.3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct CopyMode: u64 {
        /// [`UFFDIO_COPY_MODE_DONTWAKE`] (4.3).
        const DONTWAKE = UFFDIO_COPY_MODE_DONTWAKE;
        /// [`UFFDIO_COPY_MODE_WP`] (5.7).
        const WP = UFFDIO_COPY_MODE_WP;
    }
}

bitflags! {
    /// `uffdio_zeropage.mode`: `UFFDIO_ZEROPAGE_MODE_*`. Since Linux 4.3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ZeropageMode: u64 {
        /// [`UFFDIO_ZEROPAGE_MODE_DONTWAKE`] (4.3).
        const DONTWAKE = UFFDIO_ZEROPAGE_MODE_DONTWAKE;
    }
}

bitflags! {
    /// `uffdio_writeprotect.mode`: `UFFDIO_WRITEPROTECT_MODE_*`. Since Linux 5.7.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct WriteprotectMode: u64 {
        /// [`UFFDIO_WRITEPROTECT_MODE_WP`] (5.7).
        const WP = UFFDIO_WRITEPROTECT_MODE_WP;
        /// [`UFFDIO_WRITEPROTECT_MODE_DONTWAKE`] (5.7).
        const DONTWAKE = UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
    }
}

bitflags! {
    /// `uffdio_continue.mode`: `UFFDIO_CONTINUE_MODE_*`. Since Linux 5.13.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ContinueMode: u64 {
        /// [`UFFDIO_CONTINUE_MODE_DONTWAKE`] (5.13).
        const DONTWAKE = UFFDIO_CONTINUE_MODE_DONTWAKE;
        /// [`UFFDIO_CONTINUE_MODE_WP`] (6.4).
        const WP = UFFDIO_CONTINUE_MODE_WP;
    }
}

bitflags! {
    /// `uffdio_poison.mode`: `UFFDIO_POISON_MODE_*`. Since Linux 6.6.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PoisonMode: u64 {
        /// [`UFFDIO_POISON_MODE_DONTWAKE`] (6.6).
        const DONTWAKE = UFFDIO_POISON_MODE_DONTWAKE;
    }
}

bitflags! {
    /// `uffdio_move.mode`: `UFFDIO_MOVE_MODE_*`. Since Linux 6.8.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct MoveMode: u64 {
        /// [`UFFDIO_MOVE_MODE_DONTWAKE`] (6.8).
        const DONTWAKE = UFFDIO_MOVE_MODE_DONTWAKE;
        /// [`UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES`] (6.8).
        const ALLOW_SRC_HOLES = UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES;
    }
}

#[cfg(feature = "unstable-7-3")]
bitflags! {
    /// `uffdio_rwprotect.mode`: `UFFDIO_RWPROTECT_MODE_*`. 7.3-rc, provisional.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RwprotectMode: u64 {
        /// `UFFDIO_RWPROTECT_MODE_RWP`.
        const RWP = UFFDIO_RWPROTECT_MODE_RWP;
        /// `UFFDIO_RWPROTECT_MODE_DONTWAKE`.
        const DONTWAKE = UFFDIO_RWPROTECT_MODE_DONTWAKE;
    }
}

impl Ioctls {
    /// The bit of the ioctl with command number `nr` (`_UFFDIO_*`), if it is one of the 64.
    pub const fn from_command(nr: u32) -> Option<Self> {
        if nr < 64 {
            Some(Self::from_bits_retain(1 << nr))
        } else {
            None
        }
    }
}

bitflags! {
    /// `PAGE_IS_*`: the categories of `PAGEMAP_SCAN` (`pm_scan_arg` masks,
    /// `page_region.categories`). Since Linux 6.7. The kernel reports only bits asked for in
    /// `return_mask`; unknown bits are kept (a newer kernel may report more).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Categories: u64 {
        /// [`PAGE_IS_WPALLOWED`] (6.7).
        const WPALLOWED = PAGE_IS_WPALLOWED;
        /// [`PAGE_IS_WRITTEN`] (6.7).
        const WRITTEN = PAGE_IS_WRITTEN;
        /// [`PAGE_IS_FILE`] (6.7).
        const FILE = PAGE_IS_FILE;
        /// [`PAGE_IS_PRESENT`] (6.7).
        const PRESENT = PAGE_IS_PRESENT;
        /// [`PAGE_IS_SWAPPED`] (6.7).
        const SWAPPED = PAGE_IS_SWAPPED;
        /// [`PAGE_IS_PFNZERO`] (6.7).
        const PFNZERO = PAGE_IS_PFNZERO;
        /// [`PAGE_IS_HUGE`] (6.7).
        const HUGE = PAGE_IS_HUGE;
        /// [`PAGE_IS_SOFT_DIRTY`] (6.7).
        const SOFT_DIRTY = PAGE_IS_SOFT_DIRTY;
        /// [`PAGE_IS_GUARD`] (6.16).
        const GUARD = PAGE_IS_GUARD;
        // Bits of kernels newer than this crate.
        const _ = !0;
    }
}

bitflags! {
    /// `pm_scan_arg.flags`: `PM_SCAN_*`. Since Linux 6.7.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ScanFlags: u64 {
        /// [`PM_SCAN_WP_MATCHING`] (6.7).
        const WP_MATCHING = PM_SCAN_WP_MATCHING;
        /// [`PM_SCAN_CHECK_WPASYNC`] (6.7).
        const CHECK_WPASYNC = PM_SCAN_CHECK_WPASYNC;
    }
}
