//! `uffd::sys`'s memory calls, the `no_std` way an allocator or unikernel gets memory around a
//! userfaultfd: `mmap`, `madvise`, `mremap`, `munmap` with the crate's per-arch constants,
//! judged by what the kernel does (zeros after `MADV_DONTNEED`, contents that move with
//! `mremap`, EEXIST from `MAP_FIXED_NOREPLACE`, ENOMEM after `munmap`, a file offset that lands
//! where the suite's own `mmap` put the byte), and a registered range of such memory filled
//! with `UFFDIO_COPY`.

use super::rt;
use super::util::*;
use super::{Ctx, Outcome};
use crate::{check, msg, ok};
use uffd::flags::{CopyMode, RegisterMode};
use uffd::sys::{self, Errno};

/// A mapping made with `uffd::sys::mmap`, unmapped with `uffd::sys::munmap` on drop.
struct Mem {
    addr: usize,
    len: usize,
}

impl Mem {
    fn read(&self, off: usize) -> u8 {
        // SAFETY: inside the mapping, read through a raw pointer.
        unsafe { ((self.addr + off) as *const u8).read_volatile() }
    }
    fn write(&self, off: usize, v: u8) {
        // SAFETY: inside the (writable) mapping, written through a raw pointer.
        unsafe { ((self.addr + off) as *mut u8).write_volatile(v) }
    }
}

impl Drop for Mem {
    fn drop(&mut self) {
        // SAFETY: test memory nothing refers to any more.
        let _ = unsafe { sys::munmap(self.addr, self.len) };
    }
}

fn anon(len: usize, flags: u32) -> Result<Mem, Errno> {
    let prot = sys::PROT_READ | sys::PROT_WRITE;
    let flags = sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | flags;
    // SAFETY: a new private anonymous mapping at an address of the kernel's choosing.
    let addr = unsafe { sys::mmap(0, len, prot, flags, -1, 0) }?;
    Ok(Mem { addr, len })
}

/// The calls, one kernel verdict each.
pub fn sys_memory(ctx: &Ctx) -> Outcome {
    run(|| {
        // Under QEMU user every case skips alike (the `cross-test` rule); the calls are tested
        // on the host and in every VM, 32-bit ABIs (`mmap2`) and s390x (`old_mmap`) included.
        available(Via::Syscall)?;
        let ps = ctx.page_size;
        let m = ok!(anon(4 * ps, sys::MAP_NORESERVE), "sys::mmap(anonymous)");
        check!(m.addr % ps == 0, "mmap gave an unaligned {:#x}", m.addr);
        check!(m.read(ps + 7) == 0, "a fresh anonymous page is not zero");
        m.write(5, 0xa5);
        m.write(2 * ps + 9, 0x5a);
        check!(m.read(5) == 0xa5, "a write did not stay");
        // SAFETY: `m` is read only through raw pointers; page 0 may become zeros.
        ok!(
            unsafe { sys::madvise(m.addr, ps, sys::MADV_DONTNEED) },
            "madvise(DONTNEED)"
        );
        check!(
            m.read(5) == 0,
            "MADV_DONTNEED: the page still holds its byte"
        );
        check!(
            m.read(2 * ps + 9) == 0x5a,
            "MADV_DONTNEED dropped another page"
        );

        // MAP_FIXED_NOREPLACE (4.17) over a mapping: EEXIST, and the mapping is untouched.
        let prot = sys::PROT_READ | sys::PROT_WRITE;
        let flags = sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_FIXED_NOREPLACE;
        // SAFETY: NOREPLACE never replaces: it fails (or, before 4.17, maps elsewhere).
        match unsafe { sys::mmap(m.addr, ps, prot, flags, -1, 0) } {
            Err(Errno::EEXIST) => {}
            Ok(other) if other != m.addr => {
                // SAFETY: the mapping an old kernel just made elsewhere.
                let _ = unsafe { sys::munmap(other, ps) };
            }
            r => check!(false, "MAP_FIXED_NOREPLACE over a mapping: {r:?}"),
        }
        check!(m.read(2 * ps + 9) == 0x5a, "NOREPLACE changed the mapping");

        // mremap: grow and move; the contents go along and the old address is gone.
        let (old, old_len) = (m.addr, m.len);
        core::mem::forget(m);
        // SAFETY: the old range is not used after this (only `grown`).
        let new = ok!(
            unsafe { sys::mremap(old, old_len, 8 * ps, sys::MREMAP_MAYMOVE, 0) },
            "mremap(MAYMOVE)"
        );
        let grown = Mem {
            addr: new,
            len: 8 * ps,
        };
        check!(grown.read(2 * ps + 9) == 0x5a, "mremap lost the contents");
        check!(grown.read(7 * ps) == 0, "the grown part is not zero");

        // A registered range of such memory, filled before anyone touches it.
        {
            // SAFETY: the case registers only `grown`, read through raw pointers.
            let u = unsafe { builder(ctx, Via::Syscall).create() }.map_err(open_err)?;
            // SAFETY: `grown` is memory no Rust value refers to.
            ok!(
                unsafe { u.register(grown.addr + 4 * ps, 4 * ps, RegisterMode::MISSING) },
                "register"
            );
            let src = anon(ps, 0).map_err(|e| Outcome::Fail(msg!("mmap(src): {e:?}")))?;
            src.write(3, 0x3c);
            // SAFETY: `src` is not registered and nothing writes it while the slice lives.
            let bytes = unsafe { core::slice::from_raw_parts(src.addr as *const u8, ps) };
            ok!(
                u.copy(grown.addr + 5 * ps, bytes, CopyMode::empty()),
                "copy"
            );
            check!(grown.read(5 * ps + 3) == 0x3c, "COPY into sys::mmap memory");
            ok!(u.unregister(grown.addr + 4 * ps, 4 * ps), "unregister");
        }

        // munmap: the kernel no longer knows the range (madvise: ENOMEM).
        let (addr, len) = (grown.addr, grown.len);
        drop(grown);
        // SAFETY: an unmapped range: madvise only looks it up.
        let r = unsafe { sys::madvise(addr, len, sys::MADV_NORMAL) };
        check!(
            r == Err(Errno::ENOMEM),
            "madvise after munmap: {r:?}, want ENOMEM"
        );

        // A file offset (mmap2's 4096-byte units on 32-bit ABIs): page 1 of a memfd, mapped by
        // the suite's own `mmap` at offset 0, seen through `sys::mmap` at offset `ps`.
        let fd = ok!(rt::memfd(2 * ps), "memfd");
        let whole = ok!(rt::mmap(0, 2 * ps, rt::MAP_SHARED, fd.0), "rt::mmap(memfd)");
        whole.write(ps + 11, 0x77);
        // SAFETY: a new shared mapping of our memfd.
        let at = ok!(
            unsafe { sys::mmap(0, ps, prot, sys::MAP_SHARED, fd.0, ps as u64) },
            "sys::mmap(memfd, offset)"
        );
        let part = Mem { addr: at, len: ps };
        check!(
            part.read(11) == 0x77,
            "sys::mmap at offset {ps:#x} shows another page"
        );
        // SAFETY: an unaligned offset is refused before anything is mapped.
        let r = unsafe { sys::mmap(0, ps, prot, sys::MAP_SHARED, fd.0, 100) };
        check!(
            r == Err(Errno::EINVAL),
            "an unaligned offset: {r:?}, want EINVAL"
        );
        Ok(())
    })
}
