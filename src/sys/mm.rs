//! Memory mappings without libc: `mmap`, `munmap`, `madvise`, `mremap`, and the constants an
//! allocator or unikernel needs around a userfaultfd, per architecture where they differ
//! (`MAP_ANONYMOUS`, `MAP_NORESERVE`, `MAP_POPULATE`, `MAP_HUGETLB` on mips and powerpc) and
//! here where every architecture agrees. `cargo xtask verify-layout` checks each against the
//! ABI's `asm/mman.h` and `linux/mman.h`.
//!
//! The calls are `unsafe`: they create, move and drop memory behind the borrow checker's
//! back. The architecture differences of the calls themselves are handled here: the 32-bit
//! ABIs have `mmap2` (the offset in 4096-byte units), and s390x's `mmap` is the old one that
//! takes a pointer to its six arguments.

use super::{arch, raw, Errno};

pub use arch::{MAP_ANONYMOUS, MAP_HUGETLB, MAP_NORESERVE, MAP_POPULATE};

/// `PROT_NONE` (0 on every architecture).
pub const PROT_NONE: u32 = 0x0;
/// `PROT_READ` (1 on every architecture).
pub const PROT_READ: u32 = 0x1;
/// `PROT_WRITE` (2 on every architecture).
pub const PROT_WRITE: u32 = 0x2;
/// `PROT_EXEC` (4 on every architecture).
pub const PROT_EXEC: u32 = 0x4;
/// `MAP_SHARED` (1 on every architecture).
pub const MAP_SHARED: u32 = 0x01;
/// `MAP_PRIVATE` (2 on every architecture).
pub const MAP_PRIVATE: u32 = 0x02;
/// `MAP_FIXED` (0x10 on every architecture this crate builds for).
pub const MAP_FIXED: u32 = 0x10;
/// `MAP_FIXED_NOREPLACE` (Linux 4.17; 0x100000 on every architecture this crate builds for):
/// `MAP_FIXED` that fails with EEXIST instead of replacing a mapping.
pub const MAP_FIXED_NOREPLACE: u32 = 0x100000;
/// `MADV_NORMAL` (0).
pub const MADV_NORMAL: u32 = 0;
/// `MADV_DONTNEED` (4): drop the pages; a private anonymous range reads zeros afterwards (and
/// a userfaultfd with `EVENT_REMOVE` gets a REMOVE event first).
pub const MADV_DONTNEED: u32 = 4;
/// `MADV_FREE` (8, Linux 4.5): the pages may be dropped lazily.
pub const MADV_FREE: u32 = 8;
/// `MADV_REMOVE` (9, Linux 2.6.16): drop the pages and their backing store (shmem, tmpfs).
pub const MADV_REMOVE: u32 = 9;
/// `MREMAP_MAYMOVE` (1): the kernel may move the mapping.
pub const MREMAP_MAYMOVE: u32 = 1;
/// `MREMAP_FIXED` (2): move it to `new_addr` (with `MREMAP_MAYMOVE`).
pub const MREMAP_FIXED: u32 = 2;
/// `MREMAP_DONTUNMAP` (4, Linux 5.7): move the pages but leave the old range mapped (empty).
pub const MREMAP_DONTUNMAP: u32 = 4;

/// `mmap(addr, len, prot, flags, fd, offset)`: creates a mapping, returning its address.
///
/// Available on every kernel. On the 32-bit ABIs (x86, arm, powerpc) this is `mmap2`, whose
/// offset is in 4096-byte units: an `offset` that is not a multiple of 4096, or beyond what
/// 32 bits of such units hold, is EINVAL here (the kernel refuses an unaligned offset with
/// EINVAL too). On s390x it passes the six words through memory, as that ABI's `mmap` takes
/// them. `fd` is -1 for `MAP_ANONYMOUS`.
///
/// ```
/// use uffd::sys::{mmap, munmap, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE};
/// // SAFETY: a new private anonymous mapping at an address of the kernel's choosing.
/// let addr = unsafe { mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
/// # #[cfg(target_os = "linux")] {
/// let addr = addr.unwrap();
/// // SAFETY: the mapping made above, which nothing else refers to.
/// unsafe { munmap(addr, 4096) }.unwrap();
/// # }
/// ```
///
/// # Safety
/// With `MAP_FIXED` the new mapping replaces whatever was at `[addr, addr + len)`: nothing
/// may rely on that memory. `fd` must be -1 (anonymous) or a descriptor the caller may use
/// (I/O safety). The memory of a shared or file mapping can change behind any reference into
/// it; the caller decides what may refer to it.
///
/// # References
/// - [`mmap(2)`](https://man7.org/linux/man-pages/man2/mmap.2.html),
///   [`mmap2(2)`](https://man7.org/linux/man-pages/man2/mmap2.2.html)
#[inline]
pub unsafe fn mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u32,
    fd: i32,
    offset: u64,
) -> Result<usize, Errno> {
    let fd = fd as isize as usize;
    #[cfg(target_pointer_width = "32")]
    let offset = {
        if offset % 4096 != 0 || offset / 4096 > u32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        (offset / 4096) as usize
    };
    #[cfg(not(target_pointer_width = "32"))]
    let offset = offset as usize;
    let (prot, flags) = (prot as usize, flags as usize);
    #[cfg(target_arch = "s390x")]
    {
        let args = [addr, len, prot, flags, fd, offset];
        // SAFETY: s390's old_mmap reads the six words at `args`, which live across the call;
        // the mapping itself is the caller's promise.
        unsafe { raw::syscall1(arch::MMAP_NR, args.as_ptr() as usize) }
    }
    #[cfg(not(target_arch = "s390x"))]
    // SAFETY: mmap reads no memory of ours; the mapping is the caller's promise.
    unsafe {
        raw::syscall6(arch::MMAP_NR, addr, len, prot, flags, fd, offset)
    }
}

/// `munmap(addr, len)`: removes the mappings in a range.
///
/// Available on every kernel. A registered range sends an UNMAP event first to a userfaultfd
/// with `EVENT_UNMAP` (and waits until it is read).
///
/// # Safety
/// Nothing may refer to the memory in `[addr, addr + len)` afterwards.
///
/// # References
/// - [`munmap(2)`](https://man7.org/linux/man-pages/man2/munmap.2.html)
#[inline]
pub unsafe fn munmap(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the caller's promise; munmap reads no memory of ours.
    unsafe { raw::syscall2(super::__NR_munmap, addr, len) }.map(|_| ())
}

/// `madvise(addr, len, advice)`: advice about a range (`MADV_DONTNEED` drops its pages).
///
/// Available on every kernel (`MADV_FREE` since 4.5). A userfaultfd with `EVENT_REMOVE` gets a
/// REMOVE event for `MADV_DONTNEED`/`MADV_REMOVE` on a registered range (and the call waits
/// until it is read): how a balloon gives guest memory back.
///
/// # Safety
/// `MADV_DONTNEED`, `MADV_FREE` and `MADV_REMOVE` change the contents of the range (zeros or
/// the file's data afterwards): nothing may rely on them.
///
/// # References
/// - [`madvise(2)`](https://man7.org/linux/man-pages/man2/madvise.2.html)
#[inline]
pub unsafe fn madvise(addr: usize, len: usize, advice: u32) -> Result<(), Errno> {
    // SAFETY: the caller's promise; madvise reads no memory of ours.
    unsafe { raw::syscall3(super::__NR_madvise, addr, len, advice as usize) }.map(|_| ())
}

/// `mremap(old, old_len, new_len, flags, new_addr)`: grows, shrinks or moves a mapping,
/// returning its (new) address.
///
/// Available on every kernel (`MREMAP_DONTUNMAP` since 5.7). A registered range that moves
/// sends a REMAP event to a userfaultfd with `EVENT_REMAP`.
///
/// # Safety
/// Nothing may refer to the old range afterwards (nor, with `MREMAP_FIXED`, to what was at
/// `new_addr`), unless the call failed.
///
/// # References
/// - [`mremap(2)`](https://man7.org/linux/man-pages/man2/mremap.2.html)
#[inline]
pub unsafe fn mremap(
    old: usize,
    old_len: usize,
    new_len: usize,
    flags: u32,
    new_addr: usize,
) -> Result<usize, Errno> {
    // SAFETY: the caller's promise; mremap reads no memory of ours.
    unsafe {
        raw::syscall5(
            super::__NR_mremap,
            old,
            old_len,
            new_len,
            flags as usize,
            new_addr,
        )
    }
}
