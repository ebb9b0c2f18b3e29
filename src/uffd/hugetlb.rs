//! [`Hugetlb`]: the range operations of a [`Uffd`] on hugetlb memory, checked against the huge
//! page size.

use super::Uffd;
use crate::error::Error;
use crate::flags::{ContinueMode, CopyMode, Ioctls, PoisonMode, RegisterMode, WriteprotectMode};

/// The range operations of a [`Uffd`] for hugetlb memory (`MAP_HUGETLB`, hugetlbfs,
/// `memfd_create(MFD_HUGETLB)`), whose ranges are checked against the huge page size before
/// any system call.
///
/// The kernel works on hugetlb memory in whole huge pages: a range aligned to the base page
/// but not to the huge page is EINVAL from the kernel, with nothing to say why. Checked here,
/// it is [`RangeError::UnalignedStart`](crate::RangeError::UnalignedStart) (or `UnalignedLen`)
/// naming the huge page size. A fault in a hugetlb range is resolved a whole huge page at a
/// time, at [`page_start`](Self::page_start) of its address: the kernel reports the start of
/// the huge page already (seen on 6.18), but the exact address with `EXACT_ADDRESS`.
///
/// `UFFDIO_ZEROPAGE` and `UFFDIO_MOVE` do not exist for hugetlb (EINVAL), so they are not here.
/// Made by [`Uffd::hugetlb`]; one [`Uffd`] serves base-page and hugetlb ranges alike.
#[derive(Clone, Copy, Debug)]
pub struct Hugetlb<'a> {
    uffd: &'a Uffd,
    page_size: usize,
}

impl Uffd {
    /// The operations of this userfaultfd for hugetlb ranges of `huge_page_size` (e.g. 2 MiB
    /// or 1 GiB on x86_64, as in `/sys/kernel/mm/hugepages/`).
    ///
    /// [`Error::BadPageSize`] unless it is a power of two at least the base page size.
    pub fn hugetlb(&self, huge_page_size: usize) -> Result<Hugetlb<'_>, Error> {
        if !huge_page_size.is_power_of_two() || huge_page_size < self.page_size {
            return Err(Error::BadPageSize(huge_page_size));
        }
        Ok(Hugetlb {
            uffd: self,
            page_size: huge_page_size,
        })
    }
}

impl Hugetlb<'_> {
    /// The huge page size ranges are checked against.
    pub const fn page_size(&self) -> usize {
        self.page_size
    }

    /// The start of the huge page holding `address`: what a handler resolves for a fault at
    /// `address` (needed with `EXACT_ADDRESS`; without it the kernel reports this already).
    pub const fn page_start(&self, address: usize) -> usize {
        address & !(self.page_size - 1)
    }

    /// `ioctl(fd, UFFDIO_REGISTER, &{range, mode})` on a hugetlb range: as
    /// [`Uffd::register`], with the range checked against the huge page size.
    ///
    /// Since Linux 4.11 (MISSING on hugetlbfs, `UFFD_FEATURE_MISSING_HUGETLBFS`), 5.13
    /// (MINOR, `MINOR_HUGETLBFS`), 5.19 (WP, `WP_HUGETLBFS_SHMEM`).
    ///
    /// # Safety
    /// As [`Uffd::register`]: no Rust value relies on the contents or the accessibility of
    /// the range while it is registered.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_REGISTER")]
    pub unsafe fn register(
        &self,
        start: usize,
        len: usize,
        mode: RegisterMode,
    ) -> Result<Ioctls, Error> {
        // SAFETY: forwarded to the caller.
        unsafe { self.uffd.register_in(self.page_size, start, len, mode) }
    }

    /// `ioctl(fd, UFFDIO_UNREGISTER, &range)`: as [`Uffd::unregister`], huge-page checked.
    ///
    /// Since Linux 4.11 for hugetlb.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_UNREGISTER")]
    pub fn unregister(&self, start: usize, len: usize) -> Result<(), Error> {
        self.uffd.unregister_in(self.page_size, start, len)
    }

    /// `ioctl(fd, UFFDIO_WAKE, &range)`: as [`Uffd::wake`], huge-page checked.
    ///
    /// Since Linux 4.11 for hugetlb.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_WAKE")]
    pub fn wake(&self, start: usize, len: usize) -> Result<(), Error> {
        self.uffd.wake_in(self.page_size, start, len)
    }

    /// `ioctl(fd, UFFDIO_COPY, &{dst, src, src.len(), mode})`: as [`Uffd::copy`], with `dst`
    /// and `src.len()` huge-page checked.
    ///
    /// Since Linux 4.11 for hugetlb.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_COPY")]
    pub fn copy(&self, dst: usize, src: &[u8], mode: CopyMode) -> Result<(), Error> {
        self.uffd.copy_in(self.page_size, dst, src, mode)
    }

    /// `ioctl(fd, UFFDIO_CONTINUE, &{range, mode})`: as [`Uffd::continue_`], huge-page checked.
    ///
    /// Since Linux 5.13 for hugetlbfs.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_CONTINUE")]
    pub fn continue_(&self, start: usize, len: usize, mode: ContinueMode) -> Result<(), Error> {
        self.uffd.continue_in(self.page_size, start, len, mode)
    }

    /// `ioctl(fd, UFFDIO_WRITEPROTECT, &{range, mode})`: as [`Uffd::writeprotect`],
    /// huge-page checked.
    ///
    /// Since Linux 5.19 for hugetlbfs.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_WRITEPROTECT")]
    pub fn writeprotect(
        &self,
        start: usize,
        len: usize,
        mode: WriteprotectMode,
    ) -> Result<(), Error> {
        self.uffd.writeprotect_in(self.page_size, start, len, mode)
    }

    /// `ioctl(fd, UFFDIO_POISON, &{range, mode})`: as [`Uffd::poison`], huge-page checked.
    ///
    /// Since Linux 6.6.
    ///
    /// # References
    /// - [`ioctl_userfaultfd(2)`](https://man7.org/linux/man-pages/man2/ioctl_userfaultfd.2.html)
    #[doc(alias = "UFFDIO_POISON")]
    pub fn poison(&self, start: usize, len: usize, mode: PoisonMode) -> Result<(), Error> {
        self.uffd.poison_in(self.page_size, start, len, mode)
    }
}
