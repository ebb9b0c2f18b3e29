//! The page size of the running kernel, without libc's `getauxval(AT_PAGESZ)`.

use super::{__NR_mincore, arch, raw, Errno};

/// The page size of the running kernel.
///
/// Where the architecture has one page size (x86, x86_64, arm, riscv64, s390x: 4 KiB) it is a
/// constant and costs nothing. Elsewhere (aarch64, powerpc, powerpc64, mips64, loongarch64:
/// 4, 16 or 64 KiB by kernel configuration) it is found once with `mincore(2)` — the kernel
/// rejects an address that is not page-aligned with EINVAL before looking at anything else,
/// so the smallest power of two it accepts (4 KiB .. 1 MiB) is the page size, one to nine
/// calls — and remembered for the life of the process. Available on every kernel.
///
/// # References
/// - [`mincore(2)`](https://man7.org/linux/man-pages/man2/mincore.2.html)
/// - [`getauxval(3)`](https://man7.org/linux/man-pages/man3/getauxval.3.html) (`AT_PAGESZ`, the
///   libc way)
#[inline]
pub fn page_size() -> Result<usize, Errno> {
    if let Some(size) = arch::PAGE_SIZE {
        return Ok(size);
    }
    use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static FOUND: AtomicUsize = AtomicUsize::new(0);
    match FOUND.load(Relaxed) {
        0 => {
            let size = page_size_by_mincore()?;
            FOUND.store(size, Relaxed);
            Ok(size)
        }
        size => Ok(size),
    }
}

/// The page size found with `mincore(2)` (see [`page_size`]), uncached.
///
/// Only the kernel's answers to an aligned or unaligned probe count: EINVAL (not page-aligned:
/// try the next power of two), ENOMEM (aligned, nothing mapped there) or success (aligned and
/// mapped). Any other error — ENOSYS or EPERM from a seccomp filter, say — is returned, never
/// taken for a page size.
pub fn page_size_by_mincore() -> Result<usize, Errno> {
    let mut size = 4096usize;
    let mut vec = [0u8; 1];
    while size <= 1 << 20 {
        // SAFETY: `size` is a low address that is never mapped (below mmap_min_addr); the kernel
        // writes at most one byte of `vec`, and only if the page were mapped.
        let r = unsafe { raw::syscall3(__NR_mincore, size, 1, vec.as_mut_ptr() as usize) };
        match r {
            Err(Errno::EINVAL) => size <<= 1,
            Ok(_) | Err(Errno::ENOMEM) => return Ok(size),
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EINVAL)
}
