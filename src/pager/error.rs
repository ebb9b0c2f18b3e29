//! The pager's errors: [`ConfigError`] for configurations that cannot work (found before
//! serving), [`PagerError`] for why serving stopped.

use core::fmt;

use super::config::SourceError;
use crate::error::Error;
use crate::flags::{Features, Ioctls};

/// A configuration that cannot work, found before serving starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No regions.
    NoRegions,
    /// The userfaultfd does not know its page size (made with page size 0).
    NoPageSize,
    /// A region of length 0, or one that wraps around the address space.
    BadRange {
        /// Index of the region.
        region: usize,
    },
    /// A page size that is not a power of two or is smaller than the base page.
    BadPageSize {
        /// Index of the region.
        region: usize,
        /// The page size given.
        page_size: usize,
    },
    /// Start or length not a multiple of the region's page size.
    Unaligned {
        /// Index of the region.
        region: usize,
        /// Its page size.
        page_size: usize,
    },
    /// A source offset ([`Region::offset`](super::Region::offset)) that is not a multiple of
    /// the region's page size.
    UnalignedOffset {
        /// Index of the region.
        region: usize,
        /// The offset given.
        offset: u64,
        /// The region's page size.
        page_size: usize,
    },
    /// Two regions overlap.
    Overlap {
        /// The first.
        first: usize,
        /// The second.
        second: usize,
    },
    /// The source ends before the region does (`offset + len > source length`).
    SourceTooShort {
        /// Index of the region.
        region: usize,
        /// Bytes the region needs from the source (`offset + len`).
        needed: u64,
        /// Bytes the source has.
        available: u64,
    },
    /// The page size does not match the mapping: registration reported a hugetlb range for a
    /// base-page region, or a non-hugetlb range for a huge-page region.
    PageSizeMismatch {
        /// Index of the region.
        region: usize,
        /// The page size given.
        page_size: usize,
        /// Whether registration says the mapping is hugetlb.
        hugetlb: bool,
    },
    /// The registration does not allow an ioctl the source needs (`COPY`, `ZEROPAGE`,
    /// `CONTINUE`).
    Unsupported {
        /// Index of the region.
        region: usize,
        /// The ioctls needed and missing.
        missing: Ioctls,
    },
    /// A [`Source::Continue`](super::Source::Continue) region to be registered with
    /// `MODE_MINOR` ([`Pager::register`](super::Pager::register)) on a userfaultfd that did
    /// not negotiate the MINOR feature of its memory: `MINOR_SHMEM` (Linux 5.14) for a
    /// base-page region, `MINOR_HUGETLBFS` (5.13) for a hugetlb one. Before those kernels
    /// (5.10 LTS), and on architectures without `CONFIG_HAVE_ARCH_USERFAULTFD_MINOR`, the
    /// kernel does not offer it and would refuse the registration with a bare EINVAL: serve
    /// the region from bytes or a callback there. Where the kernel offers it, ask for it with
    /// `Builder::require` or `Builder::request`.
    MinorNotNegotiated {
        /// Index of the region.
        region: usize,
        /// The feature the region needs.
        needed: Features,
    },
    /// Fewer slots than regions.
    TooFewSlots {
        /// Slots needed (one per region).
        needed: usize,
        /// Slots given.
        available: usize,
    },
    /// A bitmap with fewer than one bit per page.
    BitmapTooSmall {
        /// Words needed (`pages.div_ceil(64)`).
        needed: usize,
        /// Words given.
        available: usize,
    },
    /// A worker's scratch buffer is smaller than a page of a region that needs one (callback
    /// sources; zeros on hugetlb).
    ScratchTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// A readahead or fill size of 0, or a readahead start larger than its maximum.
    BadPolicy,
    /// The userfaultfd is blocking (no `O_NONBLOCK`): the kernel answers every `poll` of it
    /// with `POLLERR`, so a worker could never wait on it. Make it with
    /// [`Builder::non_blocking`](crate::Builder::non_blocking); a process that hands the fd
    /// to a handler (over `SCM_RIGHTS`) must make it non-blocking before sending (the flag
    /// belongs to the open file, shared by every copy of the fd); a handler that receives a
    /// blocking one can fix it with
    /// [`Uffd::set_non_blocking`](crate::Uffd::set_non_blocking), which the sender sees too.
    Blocking,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::NoRegions => f.write_str("pager: no regions"),
            ConfigError::NoPageSize => f.write_str("pager: the userfaultfd has no page size"),
            ConfigError::BadRange { region } => {
                write!(f, "pager: region {region} is empty or wraps around")
            }
            ConfigError::BadPageSize { region, page_size } => write!(
                f,
                "pager: region {region}: page size {page_size} is not a power of two at least the base page"
            ),
            ConfigError::Unaligned { region, page_size } => write!(
                f,
                "pager: region {region}: start or length not a multiple of its page size {page_size}"
            ),
            ConfigError::UnalignedOffset {
                region,
                offset,
                page_size,
            } => write!(
                f,
                "pager: region {region}: source offset {offset:#x} is not a multiple of its page \
                 size {page_size} (an offset is in bytes)"
            ),
            ConfigError::Overlap { first, second } => {
                write!(f, "pager: regions {first} and {second} overlap")
            }
            ConfigError::SourceTooShort {
                region,
                needed,
                available,
            } => write!(
                f,
                "pager: region {region} needs {needed} bytes of its source, which has {available}"
            ),
            ConfigError::PageSizeMismatch {
                region,
                page_size,
                hugetlb,
            } => write!(
                f,
                "pager: region {region}: page size {page_size} but the mapping is {}hugetlb",
                if hugetlb { "" } else { "not " }
            ),
            ConfigError::Unsupported { region, missing } => write!(
                f,
                "pager: region {region}: its registration lacks {missing:?}"
            ),
            ConfigError::MinorNotNegotiated { region, needed } => write!(
                f,
                "pager: region {region}: Source::Continue needs {needed:?} negotiated on the \
                 userfaultfd (MINOR_SHMEM: Linux 5.14, MINOR_HUGETLBFS: 5.13, and an \
                 architecture with CONFIG_HAVE_ARCH_USERFAULTFD_MINOR); require or request it \
                 with Builder, or serve the region from bytes or a callback"
            ),
            ConfigError::TooFewSlots { needed, available } => {
                write!(f, "pager: {available} slots for {needed} regions")
            }
            ConfigError::BitmapTooSmall { needed, available } => {
                write!(f, "pager: bitmap of {available} words, {needed} needed")
            }
            ConfigError::ScratchTooSmall { needed, available } => write!(
                f,
                "pager: scratch buffer of {available} bytes, a page of {needed} needed"
            ),
            ConfigError::BadPolicy => {
                f.write_str("pager: readahead or fill size 0, or readahead start above its maximum")
            }
            ConfigError::Blocking => f.write_str(
                "pager: the userfaultfd is blocking (poll reports POLLERR): create it with \
                 O_NONBLOCK (Builder::non_blocking(true)), also when another process sends it; \
                 a receiver can set it with Uffd::set_non_blocking(true)",
            ),
        }
    }
}

/// Why serving stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagerError {
    /// A userfaultfd operation failed (other than `EEXIST`, `EAGAIN` and `ESRCH`, which the
    /// pager handles).
    Uffd(Error),
    /// The configuration cannot work.
    Config(ConfigError),
    /// A fault at an address no region covers that the pager cannot answer with zeros
    /// either: hugetlb memory of a huge page size no region has (grown or registered outside
    /// the pager). The fault was woken (its thread faults again). Faults outside the table
    /// that can be answered never end a worker: stale ones (the page was unmapped or moved
    /// after the fault was read: counted in [`Counters::stale`](super::Counters::stale)) are
    /// woken; live ones (a mapping grown with `mremap`, the old range of an
    /// `MREMAP_DONTUNMAP`, a range registered outside the pager: counted in
    /// [`Counters::outside`](super::Counters::outside)) get zeros.
    NoRegion {
        /// The fault address.
        address: usize,
    },
    /// The kernel refused to fill pages of a region (`ENOENT`: no mapping registered with
    /// this userfaultfd there), and no UNMAP or REMAP event explains it: the region was
    /// given at the wrong address or never registered, or it was unmapped, moved or
    /// unregistered without `EVENT_UNMAP`/`EVENT_REMAP` negotiated (negotiate them if the
    /// program may do that). Found by the background fill, at once (no retries).
    Unregistered {
        /// The region.
        region: usize,
        /// Where the refused range starts.
        start: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// The kernel refused to place pages of a region for another reason than those the
    /// pager handles (`EEXIST`, `EAGAIN`, `ENOENT`, `ESRCH`): e.g. `EINVAL` for a region
    /// outside the process's address space, `ENOMEM`. The range and the kernel's answer.
    Refused {
        /// The region.
        region: usize,
        /// Where the refused range starts.
        start: usize,
        /// Its length in bytes.
        len: usize,
        /// The kernel's answer (the operation and its errno).
        error: Error,
    },
    /// A split (UNMAP of a region's middle, REMAP of part of one) found no free [`Slot`](super::Slot).
    TableFull,
    /// A [`PageSource`](super::PageSource) failed.
    Source {
        /// The region.
        region: usize,
        /// The source offset asked for.
        offset: u64,
        /// What it said.
        error: SourceError,
    },
}

impl From<Error> for PagerError {
    fn from(e: Error) -> Self {
        PagerError::Uffd(e)
    }
}
impl From<ConfigError> for PagerError {
    fn from(e: ConfigError) -> Self {
        PagerError::Config(e)
    }
}

impl fmt::Display for PagerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PagerError::Uffd(e) => write!(f, "pager: {e}"),
            PagerError::Config(e) => e.fmt(f),
            PagerError::NoRegion { address } => {
                write!(
                    f,
                    "pager: fault at {address:#x} outside every region, in memory no zero page \
                     answers (hugetlb of a page size no region has)"
                )
            }
            PagerError::Unregistered { region, start, len } => write!(
                f,
                "pager: region {region}: [{start:#x}, {:#x}) is not registered with this \
                 userfaultfd (ENOENT, and no UNMAP/REMAP event explains it: a wrong address, or \
                 unmapped/moved without EVENT_UNMAP/EVENT_REMAP)",
                start + len
            ),
            PagerError::Refused {
                region,
                start,
                len,
                error,
            } => write!(
                f,
                "pager: region {region}: [{start:#x}, {:#x}) refused: {error}",
                start + len
            ),
            PagerError::TableFull => f.write_str("pager: no free slot to split a region"),
            PagerError::Source {
                region,
                offset,
                error,
            } => write!(
                f,
                "pager: region {region}: the source failed at offset {offset:#x} ({})",
                error.0
            ),
        }
    }
}

#[cfg(all(feature = "std", target_os = "linux"))]
impl std::error::Error for PagerError {}
#[cfg(all(feature = "std", target_os = "linux"))]
impl std::error::Error for ConfigError {}
