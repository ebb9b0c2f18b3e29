//! Compile-time proof of every layout in [`super::types`] and `super::pagemap`: size, alignment
//! and the offset of every field, nested union members included. A wrong layout fails the build.
//!
//! The figures follow from the C rules for the header's types (every `uffdio_*` member is a
//! 64-bit integer; `uffd_msg` is packed); `layout-tests` checks them against the real headers.

use super::pagemap::{page_region, pm_scan_arg};
use super::types::*;
use core::mem::{align_of, offset_of, size_of};
use static_assertions::const_assert_eq;

/// Alignment of `__u64`: 8 on most ABIs, 4 on i386, 2 on m68k.
const U64_ALIGN: usize = align_of::<u64>();

/// `size` rounded up to `U64_ALIGN`, as C pads a struct that ends in a smaller member.
const fn padded(size: usize) -> usize {
    size.div_ceil(U64_ALIGN) * U64_ALIGN
}

macro_rules! assert_layout {
    ($ty:ident: size $size:expr, align $align:expr $(, $($field:ident).+ @ $off:expr)* $(,)?) => {
        const_assert_eq!(size_of::<$ty>(), $size);
        const_assert_eq!(align_of::<$ty>(), $align);
        $( const_assert_eq!(offset_of!($ty, $($field).+), $off); )*
    };
}

assert_layout!(uffdio_api: size 24, align U64_ALIGN, api @ 0, features @ 8, ioctls @ 16);
assert_layout!(uffdio_range: size 16, align U64_ALIGN, start @ 0, len @ 8);
assert_layout!(uffdio_register: size 32, align U64_ALIGN,
    range @ 0, range.start @ 0, range.len @ 8, mode @ 16, ioctls @ 24);
assert_layout!(uffdio_copy: size 40, align U64_ALIGN,
    dst @ 0, src @ 8, len @ 16, mode @ 24, copy @ 32);
assert_layout!(uffdio_zeropage: size 32, align U64_ALIGN,
    range @ 0, range.start @ 0, range.len @ 8, mode @ 16, zeropage @ 24);
assert_layout!(uffdio_writeprotect: size 24, align U64_ALIGN,
    range @ 0, range.start @ 0, range.len @ 8, mode @ 16);
assert_layout!(uffdio_continue: size 32, align U64_ALIGN,
    range @ 0, range.start @ 0, range.len @ 8, mode @ 16, mapped @ 24);
assert_layout!(uffdio_poison: size 32, align U64_ALIGN,
    range @ 0, range.start @ 0, range.len @ 8, mode @ 16, updated @ 24);
assert_layout!(uffdio_move: size 40, align U64_ALIGN,
    dst @ 0, src @ 8, len @ 16, mode @ 24, r#move @ 32);
#[cfg(feature = "unstable-7-3")]
assert_layout!(uffdio_rwprotect: size 24, align U64_ALIGN,
    range @ 0, range.start @ 0, range.len @ 8, mode @ 16);
#[cfg(feature = "unstable-7-3")]
assert_layout!(uffdio_set_mode: size 16, align U64_ALIGN, enable @ 0, disable @ 8);

assert_layout!(uffd_msg: size 32, align 1,
    event @ 0, reserved1 @ 1, reserved2 @ 2, reserved3 @ 4, arg @ 8,
    arg.pagefault @ 8, arg.pagefault.flags @ 8, arg.pagefault.address @ 16,
    arg.pagefault.feat @ 24, arg.pagefault.feat.ptid @ 24,
    arg.fork @ 8, arg.fork.ufd @ 8,
    arg.remap @ 8, arg.remap.from @ 8, arg.remap.to @ 16, arg.remap.len @ 24,
    arg.remove @ 8, arg.remove.start @ 8, arg.remove.end @ 16,
    arg.reserved @ 8, arg.reserved.reserved1 @ 8, arg.reserved.reserved2 @ 16,
    arg.reserved.reserved3 @ 24);
assert_layout!(uffd_msg_arg: size 24, align U64_ALIGN,
    pagefault @ 0, fork @ 0, remap @ 0, remove @ 0, reserved @ 0);
assert_layout!(uffd_msg_pagefault: size padded(20), align U64_ALIGN,
    flags @ 0, address @ 8, feat @ 16, feat.ptid @ 16);
assert_layout!(uffd_msg_pagefault_feat: size 4, align 4, ptid @ 0);
assert_layout!(uffd_msg_fork: size 4, align 4, ufd @ 0);
assert_layout!(uffd_msg_remap: size 24, align U64_ALIGN, from @ 0, to @ 8, len @ 16);
assert_layout!(uffd_msg_remove: size 16, align U64_ALIGN, start @ 0, end @ 8);
assert_layout!(uffd_msg_reserved: size 24, align U64_ALIGN,
    reserved1 @ 0, reserved2 @ 8, reserved3 @ 16);

// linux/fs.h (PAGEMAP_SCAN): only __u64 members.
assert_layout!(page_region: size 24, align U64_ALIGN, start @ 0, end @ 8, categories @ 16);
assert_layout!(pm_scan_arg: size 96, align U64_ALIGN,
    size @ 0, flags @ 8, start @ 16, end @ 24, walk_end @ 32, vec @ 40, vec_len @ 48,
    max_pages @ 56, category_inverted @ 64, category_mask @ 72, category_anyof_mask @ 80,
    return_mask @ 88);
