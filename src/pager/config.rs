//! What a [`Pager`](super::Pager) serves and how: [`Region`]s with their [`Source`]s, the
//! [`Policy`], and the typed errors for configurations that cannot work.

use core::fmt;
use core::time::Duration;

use crate::flags::Ioctls;

/// A [`PageSource`] could not produce the bytes asked for; the code is the source's own
/// (an errno, an HTTP status, ...). The worker stops with [`PagerError::Source`](super::PagerError::Source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceError(pub u32);

/// Where the bytes of a [`Source::Callback`] region come from: decompression, a network fetch,
/// anything that can fill a buffer.
///
/// Called by workers concurrently (hence `Sync`), with a buffer of whole pages of the region:
/// one page, or a readahead window or a background-fill piece (capped by the worker's
/// scratch buffer).
pub trait PageSource: Sync {
    /// Fills `buf` with the source's bytes `offset .. offset + buf.len()`.
    fn fill(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError>;
}

impl<F> PageSource for F
where
    F: Fn(u64, &mut [u8]) -> Result<(), SourceError> + Sync,
{
    fn fill(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        self(offset, buf)
    }
}

/// What a region's missing pages are filled with.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// The bytes of a slice (a mapped snapshot file, an image in memory), copied with
    /// `UFFDIO_COPY` straight from it. Since Linux 4.3 (anonymous), 4.11 (shmem, hugetlb).
    Bytes(&'a [u8]),
    /// Zeros: `UFFDIO_ZEROPAGE` (hugetlb: `UFFDIO_COPY` from a zeroed buffer). Lazy
    /// allocation. Since Linux 4.3.
    Zeros,
    /// Bytes a [`PageSource`] writes into the worker's scratch buffer, then `UFFDIO_COPY`.
    /// `len` is the source's length in bytes (checked against the region).
    Callback {
        /// The source.
        source: &'a dyn PageSource,
        /// How many bytes it has.
        len: u64,
    },
    /// MINOR mode: the page cache of shmem or hugetlbfs already holds the data; the answer is
    /// `UFFDIO_CONTINUE`. The region is registered with `MODE_MINOR`. Since Linux 5.13
    /// (hugetlbfs), 5.14 (shmem).
    Continue,
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Zeros => f.write_str("Zeros"),
            Source::Callback { len, .. } => write!(f, "Callback({len} bytes)"),
            Source::Continue => f.write_str("Continue"),
        }
    }
}

impl Source<'_> {
    /// The source's length, if it has one.
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            Source::Bytes(b) => Some(b.len() as u64),
            Source::Callback { len, .. } => Some(*len),
            Source::Zeros | Source::Continue => None,
        }
    }
}

/// One registered range the pager serves: where it is, its page size, and its source.
#[derive(Clone, Copy, Debug)]
pub struct Region<'a> {
    pub(crate) start: usize,
    pub(crate) len: usize,
    pub(crate) page_size: usize,
    pub(crate) source: Source<'a>,
    pub(crate) offset: u64,
    pub(crate) ioctls: Option<Ioctls>,
}

impl<'a> Region<'a> {
    /// `[start, start + len)`, in pages of `page_size` (the base page size, or a huge page size
    /// for hugetlb memory such as 2 MiB), filled from `source` starting at its byte 0.
    pub const fn new(start: usize, len: usize, page_size: usize, source: Source<'a>) -> Self {
        Region {
            start,
            len,
            page_size,
            source,
            offset: 0,
            ioctls: None,
        }
    }
    /// The region starts at byte `offset` of its source (a snapshot holding several regions):
    /// a multiple of the region's page size ([`UnalignedOffset`] otherwise; an offset in the
    /// wrong unit, pages or KiB for bytes, would shift every page served).
    ///
    /// [`UnalignedOffset`]: super::ConfigError::UnalignedOffset
    pub const fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// The region was registered by the caller (or another process), and this is the ioctl
    /// mask `UFFDIO_REGISTER` returned: the pager checks it against the page size (hugetlb
    /// ranges lack `ZEROPAGE`) and the source's needs.
    pub const fn registered(mut self, ioctls: Ioctls) -> Self {
        self.ioctls = Some(ioctls);
        self
    }
    /// Start address.
    pub const fn start(&self) -> usize {
        self.start
    }
    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }
    /// Whether the region is empty (never valid).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Page size.
    pub const fn page_size(&self) -> usize {
        self.page_size
    }
    /// Pages in the region.
    pub const fn pages(&self) -> usize {
        match self.len.checked_div(self.page_size) {
            Some(n) => n,
            None => 0,
        }
    }
}

/// Readahead with sequential detection: a fault right after the previous window (or inside
/// it) doubles the window, up to `max` bytes; any other fault resets it to `initial`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readahead {
    pub(crate) initial: usize,
    pub(crate) max: usize,
}

/// How the pager serves: demand only, readahead, background fill, or both (composable).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub(crate) readahead: Option<Readahead>,
    pub(crate) fill_piece: Option<usize>,
    pub(crate) shared_piece: usize,
    pub(crate) exit_when_populated: bool,
    pub(crate) clock: Option<fn() -> u64>,
    pub(crate) idle: Duration,
}

impl Policy {
    /// The default background-fill piece: 128 KiB. A piece in flight delays a demand fault by
    /// about its copy time (measured here: 44–73 µs at 128 KiB, about 0.5 ms at 2 MiB).
    pub const FILL_PIECE: usize = 128 << 10;
    /// The default piece while a worker shares its CPU with the threads it serves: 8 KiB
    /// (two base pages: a stall behind one is a few µs; measured in BENCHMARKS.md).
    pub const SHARED_PIECE: usize = 8 << 10;

    /// Serve each fault with its own page only.
    pub const fn demand() -> Self {
        Policy {
            readahead: None,
            fill_piece: None,
            shared_piece: Self::SHARED_PIECE,
            exit_when_populated: false,
            clock: None,
            idle: Duration::from_millis(100),
        }
    }
    /// Also read ahead: windows from one page up to `max` bytes (rounded down to whole pages
    /// of the region, at least one).
    pub const fn readahead(self, max: usize) -> Self {
        self.readahead_from(0, max)
    }
    /// Readahead whose window starts at `initial` bytes (0: one page) and grows to `max`.
    ///
    /// A window after a random fault pays off when the worker that serves it also fills: one
    /// stall brings in a window's worth instead of a page, and the thread faults less often
    /// (one worker, BENCHMARKS.md: 512 KiB). Beside a second filling worker, the other's fill
    /// already does that work, and the window only delays the faults read after it: there,
    /// `initial` 0 served random faults with a median stall of 11–15 µs instead of 174–267 µs,
    /// and sooner in total (issue 22).
    pub const fn readahead_from(mut self, initial: usize, max: usize) -> Self {
        self.readahead = Some(Readahead { initial, max });
        self
    }
    /// Also populate everything not yet present in the background, in pieces of at most
    /// `piece` bytes (at least one page of the region), between demand faults, from the last
    /// page down (demand faults and their readahead usually move up from the start).
    pub const fn fill(mut self, piece: usize) -> Self {
        self.fill_piece = Some(piece);
        self
    }
    /// The most a worker places in one `ioctl` of a readahead window while it shares its CPU
    /// with the threads it serves (it was preempted since it last looked, told by
    /// `getrusage(RUSAGE_THREAD)`, Linux 2.6.26): a thread on its CPU runs when an `ioctl`
    /// returns, so this bounds how long it waits behind a window (default
    /// [`Policy::SHARED_PIECE`]; at least one page of the region). A worker alone on its CPU
    /// places a window in one piece. The background fill keeps its own piece: measured, a
    /// shorter fill piece on a shared CPU only let the thread reach more missing pages.
    pub const fn shared_piece(mut self, piece: usize) -> Self {
        self.shared_piece = piece;
        self
    }
    /// Workers return [`Exit::FullyPopulated`](super::Exit::FullyPopulated) once every page
    /// is populated (the caller may then unregister and stop serving).
    pub const fn exit_when_populated(mut self, yes: bool) -> Self {
        self.exit_when_populated = yes;
        self
    }
    /// A monotonic clock in nanoseconds, for the service-latency histogram and the time to
    /// fully populated (none by default: `no_std` has no clock of its own).
    pub const fn clock(mut self, now: fn() -> u64) -> Self {
        self.clock = Some(now);
        self
    }
    /// How long an idle worker waits before looking at [`Pager::stop`](super::Pager::stop)
    /// again and, after a period with no message, asks whether the target process still
    /// exists (default 100 ms); a stop descriptor wakes it at once. `Duration::ZERO`
    /// busy-polls: one `ppoll` and one such question per turn.
    pub const fn idle(mut self, d: Duration) -> Self {
        self.idle = d;
        self
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn a_region_reports_what_it_was_given() {
        let src = [7u8; 3];
        let r = Region::new(0x10000, 0x3000, 0x1000, Source::Bytes(&src));
        assert_eq!(
            (r.start(), r.len(), r.page_size(), r.pages(), r.is_empty()),
            (0x10000, 0x3000, 0x1000, 3, false)
        );
        assert!(Region::new(0x10000, 0, 0x1000, Source::Zeros).is_empty());
        // Debug never prints a source's bytes (a snapshot is gigabytes), only its length.
        let f = |_: u64, _: &mut [u8]| -> Result<(), SourceError> { Ok(()) };
        let shown = [
            Source::Bytes(&src),
            Source::Zeros,
            Source::Callback { source: &f, len: 9 },
            Source::Continue,
        ]
        .map(|s| format!("{s:?}"));
        assert_eq!(
            shown,
            ["Bytes(3 bytes)", "Zeros", "Callback(9 bytes)", "Continue"]
        );
    }
}
