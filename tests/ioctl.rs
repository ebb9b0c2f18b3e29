//! Encode/decode round trips of every ioctl encoding family, and the typed errors for fields
//! that do not fit. (The numbers themselves are checked against the real headers by
//! `layout-tests` and `cargo xtask verify-layout`.)

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

#[test]
fn io_ior_iow_iowr_use_the_family_direction_bits() {
    for enc in FAMILIES {
        assert_eq!(enc.dir(enc.io(0xAA, 1)), enc.none);
        assert_eq!(enc.dir(enc.ior(0xAA, 1, 16)), enc.read);
        assert_eq!(enc.dir(enc.iow(0xAA, 1, 16)), enc.write);
        assert_eq!(enc.dir(enc.iowr(0xAA, 1, 16)), enc.read | enc.write);
        // The four directions are distinct in every family.
        let dirs = [enc.none, enc.read, enc.write, enc.read | enc.write];
        for (i, a) in dirs.iter().enumerate() {
            for b in &dirs[i + 1..] {
                assert_ne!(a, b, "{}", enc.name);
            }
        }
    }
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

#[test]
fn uffdio_table_matches_the_native_constants() {
    use uffd::abi::*;
    let table = uffdio_ioctls(NATIVE);
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
    for (i, value) in native.iter().enumerate() {
        assert_eq!(table[i].1, *value, "{}", table[i].0);
    }
    // Every request decodes to type UFFDIO and the size of its struct's family field.
    for (name, req) in table {
        assert_eq!(NATIVE.ty(req), UFFDIO, "{name}");
    }
}
