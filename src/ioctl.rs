//! Ioctl request encoding: `_IO`/`_IOR`/`_IOW`/`_IOWR` and their decoders, for every
//! architecture family the kernel has.
//!
//! The kernel packs an ioctl request as `dir << DIRSHIFT | size << SIZESHIFT | type << 8 | nr`,
//! but the width of the size and direction fields, and the bits that mean "none", "read" and
//! "write", differ by architecture (`include/uapi/asm-generic/ioctl.h` and
//! `arch/{alpha,mips,parisc,powerpc,sparc}/include/uapi/asm/ioctl.h`). [`NATIVE`] is the family
//! of the architecture being compiled for; every family stays usable on any host, so one machine
//! can compute (and check) the numbers of all of them.
//!
//! This module knows nothing about userfaultfd: it is the `<asm/ioctl.h>` that
//! `linux/userfaultfd.h` includes, and [`crate::abi`] builds its `UFFDIO_*` numbers with it.
//!
//! The free functions carry the kernel's macro names and use [`NATIVE`]; they are `const fn`, so
//! a request number is a compile-time constant. An oversized `size` is a compile error in a
//! `const` (as `_IOC_TYPECHECK` makes it in C); at run time use [`IocEncoding::try_ioc`], which
//! returns a typed error instead.
#![allow(non_snake_case)]

/// One architecture family's ioctl encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IocEncoding {
    /// Family name, e.g. `"asm-generic"`.
    pub name: &'static str,
    /// `_IOC_SIZEBITS`: width of the size field.
    pub size_bits: u32,
    /// `_IOC_DIRBITS`: width of the direction field.
    pub dir_bits: u32,
    /// `_IOC_NONE`: direction value of a request that transfers no data.
    pub none: u32,
    /// `_IOC_WRITE`: direction bit meaning user space writes (the kernel reads).
    pub write: u32,
    /// `_IOC_READ`: direction bit meaning user space reads (the kernel writes).
    pub read: u32,
}

/// `_IOC_NRBITS`, the same on every architecture.
pub const _IOC_NRBITS: u32 = 8;
/// `_IOC_TYPEBITS`, the same on every architecture.
pub const _IOC_TYPEBITS: u32 = 8;
/// `_IOC_NRSHIFT`.
pub const _IOC_NRSHIFT: u32 = 0;
/// `_IOC_TYPESHIFT`.
pub const _IOC_TYPESHIFT: u32 = _IOC_NRSHIFT + _IOC_NRBITS;
/// `_IOC_SIZESHIFT`.
pub const _IOC_SIZESHIFT: u32 = _IOC_TYPESHIFT + _IOC_TYPEBITS;
/// `_IOC_NRMASK`.
pub const _IOC_NRMASK: u32 = (1 << _IOC_NRBITS) - 1;
/// `_IOC_TYPEMASK`.
pub const _IOC_TYPEMASK: u32 = (1 << _IOC_TYPEBITS) - 1;

/// Why a request could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IocError {
    /// `dir` has bits outside the family's direction field.
    Direction(u32),
    /// `type` does not fit in 8 bits.
    Type(u32),
    /// `nr` does not fit in 8 bits.
    Number(u32),
    /// `size` does not fit in the family's size field (`1 << size_bits` and up).
    Size(usize),
}

impl IocEncoding {
    /// `include/uapi/asm-generic/ioctl.h`: x86, arm, arm64, riscv, s390, loongarch, m68k, sh,
    /// csky, hexagon, microblaze, nios2, openrisc, arc, xtensa.
    pub const GENERIC: Self = Self {
        name: "asm-generic",
        size_bits: 14,
        dir_bits: 2,
        none: 0,
        write: 1,
        read: 2,
    };
    /// powerpc, mips, sparc and alpha: 13 size bits, 3 direction bits, `_IOC_NONE` is 1.
    pub const POWERPC: Self = Self {
        name: "powerpc/mips/sparc/alpha",
        size_bits: 13,
        dir_bits: 3,
        none: 1,
        write: 4,
        read: 2,
    };
    /// parisc: the generic widths with `_IOC_WRITE` and `_IOC_READ` swapped.
    pub const PARISC: Self = Self {
        name: "parisc",
        size_bits: 14,
        dir_bits: 2,
        none: 0,
        write: 2,
        read: 1,
    };

    /// The family of a kernel uapi architecture directory name (`arch/<name>`), if known.
    pub const fn for_kernel_arch(arch: &str) -> Option<Self> {
        match arch.as_bytes() {
            b"powerpc" | b"mips" | b"sparc" | b"alpha" => Some(Self::POWERPC),
            b"parisc" => Some(Self::PARISC),
            b"x86" | b"arm" | b"arm64" | b"riscv" | b"s390" | b"loongarch" | b"m68k" | b"sh"
            | b"csky" | b"hexagon" | b"microblaze" | b"nios2" | b"openrisc" | b"arc"
            | b"xtensa" | b"um" => Some(Self::GENERIC),
            _ => None,
        }
    }

    /// `_IOC_SIZESHIFT`.
    pub const fn size_shift(&self) -> u32 {
        _IOC_SIZESHIFT
    }
    /// `_IOC_DIRSHIFT`.
    pub const fn dir_shift(&self) -> u32 {
        _IOC_SIZESHIFT + self.size_bits
    }
    /// `_IOC_SIZEMASK`.
    pub const fn size_mask(&self) -> u32 {
        (1 << self.size_bits) - 1
    }
    /// `_IOC_DIRMASK`.
    pub const fn dir_mask(&self) -> u32 {
        (1 << self.dir_bits) - 1
    }

    /// `_IOC(dir, type, nr, size)`, checked: every field must fit its width.
    pub const fn try_ioc(&self, dir: u32, ty: u32, nr: u32, size: usize) -> Result<u32, IocError> {
        if dir & !self.dir_mask() != 0 {
            return Err(IocError::Direction(dir));
        }
        if ty & !_IOC_TYPEMASK != 0 {
            return Err(IocError::Type(ty));
        }
        if nr & !_IOC_NRMASK != 0 {
            return Err(IocError::Number(nr));
        }
        if size > self.size_mask() as usize {
            return Err(IocError::Size(size));
        }
        Ok((dir << self.dir_shift())
            | ((size as u32) << _IOC_SIZESHIFT)
            | (ty << _IOC_TYPESHIFT)
            | (nr << _IOC_NRSHIFT))
    }

    /// `_IOC(dir, type, nr, size)`.
    ///
    /// # Panics
    /// If a field does not fit its width; in a `const` that is a compile error, like C's
    /// `_IOC_TYPECHECK`. Use [`try_ioc`](Self::try_ioc) for values known only at run time.
    pub const fn ioc(&self, dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
        match self.try_ioc(dir, ty, nr, size) {
            Ok(v) => v,
            Err(_) => panic!("ioctl field out of range for this encoding"),
        }
    }
    /// `_IO(type, nr)`: no data transferred.
    pub const fn io(&self, ty: u32, nr: u32) -> u32 {
        self.ioc(self.none, ty, nr, 0)
    }
    /// `_IOR(type, nr, T)` with `size = sizeof(T)`: user space reads.
    pub const fn ior(&self, ty: u32, nr: u32, size: usize) -> u32 {
        self.ioc(self.read, ty, nr, size)
    }
    /// `_IOW(type, nr, T)` with `size = sizeof(T)`: user space writes.
    pub const fn iow(&self, ty: u32, nr: u32, size: usize) -> u32 {
        self.ioc(self.write, ty, nr, size)
    }
    /// `_IOWR(type, nr, T)` with `size = sizeof(T)`: both directions.
    pub const fn iowr(&self, ty: u32, nr: u32, size: usize) -> u32 {
        self.ioc(self.read | self.write, ty, nr, size)
    }

    /// `_IOC_DIR(nr)`.
    pub const fn dir(&self, req: u32) -> u32 {
        (req >> self.dir_shift()) & self.dir_mask()
    }
    /// `_IOC_TYPE(nr)`.
    pub const fn ty(&self, req: u32) -> u32 {
        (req >> _IOC_TYPESHIFT) & _IOC_TYPEMASK
    }
    /// `_IOC_NR(nr)`.
    pub const fn nr(&self, req: u32) -> u32 {
        (req >> _IOC_NRSHIFT) & _IOC_NRMASK
    }
    /// `_IOC_SIZE(nr)`.
    pub const fn size(&self, req: u32) -> usize {
        ((req >> _IOC_SIZESHIFT) & self.size_mask()) as usize
    }
}

/// The encoding of the architecture this crate is compiled for.
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64",
))]
pub const NATIVE: IocEncoding = IocEncoding::POWERPC;

/// The encoding of the architecture this crate is compiled for.
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64",
)))]
pub const NATIVE: IocEncoding = IocEncoding::GENERIC;

/// `_IOC_NONE` of the native encoding.
pub const _IOC_NONE: u32 = NATIVE.none;
/// `_IOC_WRITE` of the native encoding.
pub const _IOC_WRITE: u32 = NATIVE.write;
/// `_IOC_READ` of the native encoding.
pub const _IOC_READ: u32 = NATIVE.read;
/// `_IOC_SIZEBITS` of the native encoding.
pub const _IOC_SIZEBITS: u32 = NATIVE.size_bits;
/// `_IOC_DIRBITS` of the native encoding.
pub const _IOC_DIRBITS: u32 = NATIVE.dir_bits;
/// `_IOC_DIRSHIFT` of the native encoding.
pub const _IOC_DIRSHIFT: u32 = NATIVE.dir_shift();
/// `_IOC_SIZEMASK` of the native encoding.
pub const _IOC_SIZEMASK: u32 = NATIVE.size_mask();
/// `_IOC_DIRMASK` of the native encoding.
pub const _IOC_DIRMASK: u32 = NATIVE.dir_mask();

/// `_IOC(dir, type, nr, size)` in the native encoding. See [`IocEncoding::ioc`] for panics.
pub const fn _IOC(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    NATIVE.ioc(dir, ty, nr, size)
}
/// `_IO(type, nr)` in the native encoding.
pub const fn _IO(ty: u32, nr: u32) -> u32 {
    NATIVE.io(ty, nr)
}
/// `_IOR(type, nr, T)` in the native encoding; pass `size_of::<T>()`.
pub const fn _IOR(ty: u32, nr: u32, size: usize) -> u32 {
    NATIVE.ior(ty, nr, size)
}
/// `_IOW(type, nr, T)` in the native encoding; pass `size_of::<T>()`.
pub const fn _IOW(ty: u32, nr: u32, size: usize) -> u32 {
    NATIVE.iow(ty, nr, size)
}
/// `_IOWR(type, nr, T)` in the native encoding; pass `size_of::<T>()`.
pub const fn _IOWR(ty: u32, nr: u32, size: usize) -> u32 {
    NATIVE.iowr(ty, nr, size)
}
/// `_IOC_DIR(nr)` in the native encoding.
pub const fn _IOC_DIR(req: u32) -> u32 {
    NATIVE.dir(req)
}
/// `_IOC_TYPE(nr)`.
pub const fn _IOC_TYPE(req: u32) -> u32 {
    NATIVE.ty(req)
}
/// `_IOC_NR(nr)`.
pub const fn _IOC_NR(req: u32) -> u32 {
    NATIVE.nr(req)
}
/// `_IOC_SIZE(nr)` in the native encoding.
pub const fn _IOC_SIZE(req: u32) -> usize {
    NATIVE.size(req)
}
