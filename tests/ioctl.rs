//! Encode/decode round trips of every ioctl encoding family, and the typed errors for fields
//! that do not fit. (The numbers themselves are checked against the real headers by
//! `layout-tests` and `cargo xtask verify-layout`; the words below were printed by gcc from the
//! headers.)

use uffd::ioctl::{IocEncoding, IocError, NATIVE};

const FAMILIES: [IocEncoding; 3] = [
    IocEncoding::GENERIC,
    IocEncoding::POWERPC,
    IocEncoding::PARISC,
];

#[test]
fn round_trip_every_field_of_every_family() {
    for enc in FAMILIES {
        let max_size = (1usize << enc.size_bits) - 1;
        let sizes = [0, 1, 8, 24, 40, 255, 256, 4096, max_size - 1, max_size];
        for dir in 0..(1u32 << enc.dir_bits) {
            for ty in [0u32, 1, 0x55, 0xAA, 0xFF] {
                for nr in 0..=255u32 {
                    for size in sizes {
                        let req = enc.try_ioc(dir, ty, nr, size).unwrap();
                        assert_eq!(
                            (enc.dir(req), enc.ty(req), enc.nr(req), enc.size(req)),
                            (dir, ty, nr, size),
                            "{}: dir {dir} type {ty:#x} nr {nr:#x} size {size} -> {req:#x}",
                            enc.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn out_of_range_fields_are_typed_errors() {
    for enc in FAMILIES {
        let too_big = 1usize << enc.size_bits;
        assert_eq!(
            enc.try_ioc(enc.read, 0xAA, 0, too_big),
            Err(IocError::Size(too_big))
        );
        assert_eq!(
            enc.try_ioc(enc.read, 0x100, 0, 8),
            Err(IocError::Type(0x100))
        );
        assert_eq!(
            enc.try_ioc(enc.read, 0xAA, 0x100, 8),
            Err(IocError::Number(0x100))
        );
        let bad_dir = 1 << enc.dir_bits;
        assert_eq!(
            enc.try_ioc(bad_dir, 0xAA, 0, 8),
            Err(IocError::Direction(bad_dir))
        );
    }
}

/// Words printed by gcc from the Linux 7.2.13 uapi headers (Debian `linux-libc-dev`
/// 7.2.13-1): `asm/ioctl.h` of `arch/x86` (asm-generic), `arch/powerpc` (mips and sparc print
/// the same words) and `arch/parisc`, each with `asm-generic/ioctl.h`. The program:
/// `printf("%#x", _IO(0xAA,1))`, `_IOR(0xAA,1,char[16])`, `_IOW(0xAA,1,char[16])`,
/// `_IOWR(0xAA,1,char[16])`, `_IOWR(0x55,0xFF,char[0x1FFF])` — independent of this crate.
const HEADER_WORDS: [(IocEncoding, [u32; 5]); 3] = [
    (
        IocEncoding::GENERIC,
        [
            0x0000_AA01,
            0x8010_AA01,
            0x4010_AA01,
            0xC010_AA01,
            0xDFFF_55FF,
        ],
    ),
    (
        IocEncoding::POWERPC,
        [
            0x2000_AA01,
            0x4010_AA01,
            0x8010_AA01,
            0xC010_AA01,
            0xDFFF_55FF,
        ],
    ),
    (
        IocEncoding::PARISC,
        [
            0x0000_AA01,
            0x4010_AA01,
            0x8010_AA01,
            0xC010_AA01,
            0xDFFF_55FF,
        ],
    ),
];

#[test]
fn io_ior_iow_iowr_equal_the_words_of_the_kernel_headers() {
    for (enc, words) in HEADER_WORDS {
        let ours = [
            enc.io(0xAA, 1),
            enc.ior(0xAA, 1, 16),
            enc.iow(0xAA, 1, 16),
            enc.iowr(0xAA, 1, 16),
            enc.iowr(0x55, 0xFF, 0x1FFF),
        ];
        for (i, (got, want)) in ours.iter().zip(words).enumerate() {
            assert_eq!(
                *got, want,
                "{} word {i}: {got:#010x} != {want:#010x}",
                enc.name
            );
        }
    }
    // The 14-bit size field of asm-generic and parisc: gcc prints `_IOR(0xFF,0x80,char[0x3FFF])`
    // as 0xBFFFFF80 (asm-generic) and 0x7FFFFF80 (parisc).
    assert_eq!(IocEncoding::GENERIC.ior(0xFF, 0x80, 0x3FFF), 0xBFFF_FF80);
    assert_eq!(IocEncoding::PARISC.ior(0xFF, 0x80, 0x3FFF), 0x7FFF_FF80);
    // powerpc's 13-bit size field: C silently lets 0x3FFF run into the direction bits (gcc:
    // 0x7FFFFF80, a _IOW-looking word); we refuse it.
    assert_eq!(
        IocEncoding::POWERPC.try_ioc(IocEncoding::POWERPC.read, 0xFF, 0x80, 0x3FFF),
        Err(IocError::Size(0x3FFF))
    );
}

#[test]
fn native_family_is_the_one_for_this_arch() {
    let kernel_arch = if cfg!(any(target_arch = "x86", target_arch = "x86_64")) {
        "x86"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "arm") {
        "arm"
    } else if cfg!(any(target_arch = "riscv32", target_arch = "riscv64")) {
        "riscv"
    } else if cfg!(any(target_arch = "powerpc", target_arch = "powerpc64")) {
        "powerpc"
    } else if cfg!(target_arch = "s390x") {
        "s390"
    } else if cfg!(any(target_arch = "mips", target_arch = "mips64")) {
        "mips"
    } else if cfg!(target_arch = "loongarch64") {
        "loongarch"
    } else {
        return;
    };
    assert_eq!(IocEncoding::for_kernel_arch(kernel_arch), Some(NATIVE));
}

/// `UFFDIO_*` printed by gcc from `linux/userfaultfd.h` of Linux 7.2.13 with each family's
/// `asm/ioctl.h` (see [`HEADER_WORDS`]), in `uffdio_ioctls` order: API, REGISTER, UNREGISTER,
/// WAKE, COPY, ZEROPAGE, MOVE, WRITEPROTECT, CONTINUE, POISON.
const HEADER_UFFDIO: [(IocEncoding, [u32; 10]); 3] = [
    (
        IocEncoding::GENERIC,
        [
            0xC018_AA3F,
            0xC020_AA00,
            0x8010_AA01,
            0x8010_AA02,
            0xC028_AA03,
            0xC020_AA04,
            0xC028_AA05,
            0xC018_AA06,
            0xC020_AA07,
            0xC020_AA08,
        ],
    ),
    (
        IocEncoding::POWERPC,
        [
            0xC018_AA3F,
            0xC020_AA00,
            0x4010_AA01,
            0x4010_AA02,
            0xC028_AA03,
            0xC020_AA04,
            0xC028_AA05,
            0xC018_AA06,
            0xC020_AA07,
            0xC020_AA08,
        ],
    ),
    (
        IocEncoding::PARISC,
        [
            0xC018_AA3F,
            0xC020_AA00,
            0x4010_AA01,
            0x4010_AA02,
            0xC028_AA03,
            0xC020_AA04,
            0xC028_AA05,
            0xC018_AA06,
            0xC020_AA07,
            0xC020_AA08,
        ],
    ),
];

#[test]
fn uffdio_tables_equal_the_words_of_the_kernel_headers() {
    use uffd::abi::*;
    for (enc, words) in HEADER_UFFDIO {
        let table = uffdio_ioctls(enc);
        assert_eq!(table.len(), words.len(), "{}", enc.name);
        for ((name, got), want) in table.iter().zip(words) {
            assert_eq!(
                *got, want,
                "{} {name}: {got:#010x} != {want:#010x}",
                enc.name
            );
        }
    }
    // The native constants are the words of this target's family.
    let (_, words) = HEADER_UFFDIO
        .iter()
        .find(|(enc, _)| enc.name == NATIVE.name)
        .unwrap();
    let native = [
        UFFDIO_API,
        UFFDIO_REGISTER,
        UFFDIO_UNREGISTER,
        UFFDIO_WAKE,
        UFFDIO_COPY,
        UFFDIO_ZEROPAGE,
        UFFDIO_MOVE,
        UFFDIO_WRITEPROTECT,
        UFFDIO_CONTINUE,
        UFFDIO_POISON,
    ];
    assert_eq!(native, *words);
}
