//! The header's structs and unions, `#[repr(C)]`, with the C names and field names.
//!
//! Every `uffdio_*` struct holds only `__u64`/`__s64`, so size and offsets are the same on every
//! architecture; only the alignment differs (8 on most, 4 on i386, 2 on m68k). `uffd_msg` is
//! packed (alignment 1): read its fields by value (copy them out), never through references.
//!
//! The nested anonymous structs and unions of `uffd_msg` get the names `uffd_msg_<member>`, so
//! that each C path works unchanged: `offset_of!(uffd_msg, arg.pagefault.feat.ptid)`.

/// `struct uffdio_api`: argument of `UFFDIO_API`. Since Linux 4.3.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_api {
    /// In: must be [`UFFD_API`](super::UFFD_API).
    pub api: u64,
    /// In: features requested. Out: every feature the kernel offers.
    pub features: u64,
    /// Out: the fd-wide ioctls, bits `1 << _UFFDIO_*`.
    pub ioctls: u64,
}

/// `struct uffdio_range`: a page-aligned range; argument of `UFFDIO_UNREGISTER` and
/// `UFFDIO_WAKE`. Since Linux 4.3.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_range {
    /// Start address, page aligned.
    pub start: u64,
    /// Length in bytes, a non-zero multiple of the page size.
    pub len: u64,
}

/// `struct uffdio_register`: argument of `UFFDIO_REGISTER`. Since Linux 4.3.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_register {
    /// The range to register.
    pub range: uffdio_range,
    /// `UFFDIO_REGISTER_MODE_*` bits.
    pub mode: u64,
    /// Out: the range ioctls available on this range, bits `1 << _UFFDIO_*`.
    pub ioctls: u64,
}

/// `struct uffdio_copy`: argument of `UFFDIO_COPY`. Since Linux 4.3.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_copy {
    /// Destination, page aligned, inside a registered range.
    pub dst: u64,
    /// Source in the caller's memory.
    pub src: u64,
    /// Length in bytes, a multiple of the page size.
    pub len: u64,
    /// `UFFDIO_COPY_MODE_*` bits.
    pub mode: u64,
    /// Out: bytes copied, or a negated errno.
    pub copy: i64,
}

/// `struct uffdio_zeropage`: argument of `UFFDIO_ZEROPAGE`. Since Linux 4.3.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_zeropage {
    /// The range to fill with zero pages.
    pub range: uffdio_range,
    /// `UFFDIO_ZEROPAGE_MODE_*` bits.
    pub mode: u64,
    /// Out: bytes mapped, or a negated errno.
    pub zeropage: i64,
}

/// `struct uffdio_writeprotect`: argument of `UFFDIO_WRITEPROTECT`. Since Linux 5.7.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_writeprotect {
    /// The range to (un)protect.
    pub range: uffdio_range,
    /// `UFFDIO_WRITEPROTECT_MODE_*` bits.
    pub mode: u64,
}

/// `struct uffdio_continue`: argument of `UFFDIO_CONTINUE`. Since Linux 5.13.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_continue {
    /// The range to map from the page cache.
    pub range: uffdio_range,
    /// `UFFDIO_CONTINUE_MODE_*` bits.
    pub mode: u64,
    /// Out: bytes mapped, or a negated errno.
    pub mapped: i64,
}

/// `struct uffdio_poison`: argument of `UFFDIO_POISON`. Since Linux 6.6.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_poison {
    /// The range to mark poisoned.
    pub range: uffdio_range,
    /// `UFFDIO_POISON_MODE_*` bits.
    pub mode: u64,
    /// Out: bytes marked, or a negated errno.
    pub updated: i64,
}

/// `struct uffdio_move`: argument of `UFFDIO_MOVE`. Since Linux 6.8.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_move {
    /// Destination, page aligned, inside a range registered with this uffd.
    pub dst: u64,
    /// Source, page aligned, anonymous private memory of the same process.
    pub src: u64,
    /// Length in bytes, a multiple of the page size.
    pub len: u64,
    /// `UFFDIO_MOVE_MODE_*` bits.
    pub mode: u64,
    /// Out: bytes moved, or a negated errno. (C: `move`.)
    pub r#move: i64,
}

/// `struct uffdio_rwprotect`: argument of `UFFDIO_RWPROTECT`. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_rwprotect {
    /// The range to (un)protect.
    pub range: uffdio_range,
    /// `UFFDIO_RWPROTECT_MODE_*` bits.
    pub mode: u64,
}

/// `struct uffdio_set_mode`: argument of `UFFDIO_SET_MODE`. 7.3-rc, provisional.
#[cfg(feature = "unstable-7-3")]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffdio_set_mode {
    /// Async-mode features to turn on.
    pub enable: u64,
    /// Async-mode features to turn off.
    pub disable: u64,
}

/// `struct uffd_msg`: one message read from a userfaultfd (32 bytes, packed). Since Linux 4.3.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct uffd_msg {
    /// `UFFD_EVENT_*`.
    pub event: u8,
    /// Reserved, zero.
    pub reserved1: u8,
    /// Reserved, zero.
    pub reserved2: u16,
    /// Reserved, zero.
    pub reserved3: u32,
    /// The event's data; which member is valid depends on `event`.
    pub arg: uffd_msg_arg,
}

impl uffd_msg {
    /// An all-zero message (no valid event), e.g. to initialise a read buffer.
    pub const fn zeroed() -> Self {
        Self {
            event: 0,
            reserved1: 0,
            reserved2: 0,
            reserved3: 0,
            arg: uffd_msg_arg {
                reserved: uffd_msg_reserved {
                    reserved1: 0,
                    reserved2: 0,
                    reserved3: 0,
                },
            },
        }
    }
}

impl core::fmt::Debug for uffd_msg {
    /// Prints the fields outside the union and leaves `arg` opaque.
    ///
    /// Safe code can build a `uffd_msg` whose union is only partly initialised (e.g.
    /// `arg: uffd_msg_arg { fork: .. }` sets 4 of its 24 bytes), and `event` says nothing
    /// trustworthy about which member was written, so no union byte is read here. Decode a
    /// message read from the kernel with [`Event::from_msg`](crate::Event::from_msg).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Copies: the struct is packed, so no references to its fields.
        let (event, reserved1, reserved2, reserved3) =
            (self.event, self.reserved1, self.reserved2, self.reserved3);
        f.debug_struct("uffd_msg")
            .field("event", &event)
            .field("reserved1", &reserved1)
            .field("reserved2", &reserved2)
            .field("reserved3", &reserved3)
            .finish_non_exhaustive()
    }
}

/// `uffd_msg.arg` (anonymous union in C).
#[repr(C)]
#[derive(Clone, Copy)]
pub union uffd_msg_arg {
    /// Valid for `UFFD_EVENT_PAGEFAULT`.
    pub pagefault: uffd_msg_pagefault,
    /// Valid for `UFFD_EVENT_FORK`.
    pub fork: uffd_msg_fork,
    /// Valid for `UFFD_EVENT_REMAP`.
    pub remap: uffd_msg_remap,
    /// Valid for `UFFD_EVENT_REMOVE` and `UFFD_EVENT_UNMAP`.
    pub remove: uffd_msg_remove,
    /// The raw 24 bytes.
    pub reserved: uffd_msg_reserved,
}

/// `uffd_msg.arg.pagefault` (anonymous struct in C): 24 bytes on 64-bit, 20 on i386.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct uffd_msg_pagefault {
    /// `UFFD_PAGEFAULT_FLAG_*` bits.
    pub flags: u64,
    /// Faulting address, rounded down to the page unless `UFFD_FEATURE_EXACT_ADDRESS`.
    pub address: u64,
    /// Feature-dependent data.
    pub feat: uffd_msg_pagefault_feat,
}

/// `uffd_msg.arg.pagefault.feat` (anonymous union in C).
#[repr(C)]
#[derive(Clone, Copy)]
pub union uffd_msg_pagefault_feat {
    /// Faulting thread id with `UFFD_FEATURE_THREAD_ID` (since Linux 4.14), else 0.
    pub ptid: u32,
}

/// `uffd_msg.arg.fork` (anonymous struct in C). Since Linux 4.11.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffd_msg_fork {
    /// The child's new userfaultfd, installed in the reader's fd table.
    pub ufd: u32,
}

/// `uffd_msg.arg.remap` (anonymous struct in C). Since Linux 4.11.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffd_msg_remap {
    /// Old start address.
    pub from: u64,
    /// New start address.
    pub to: u64,
    /// Length of the old mapping.
    pub len: u64,
}

/// `uffd_msg.arg.remove` (anonymous struct in C), also used by UNMAP. Since Linux 4.11.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffd_msg_remove {
    /// Start of the range.
    pub start: u64,
    /// End of the range (exclusive).
    pub end: u64,
}

/// `uffd_msg.arg.reserved` (anonymous struct in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct uffd_msg_reserved {
    /// Unused.
    pub reserved1: u64,
    /// Unused.
    pub reserved2: u64,
    /// Unused.
    pub reserved3: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats into a fixed buffer (no allocation in this crate's tests).
    struct Buf([u8; 256], usize);
    impl core::fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(core::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }

    /// Built by safe code with only 4 of the union's 24 bytes initialised: `Debug` must not
    /// read the other 20 (Miri runs this test in `cargo xtask ci` and reports such a read).
    #[test]
    fn debug_of_a_partly_initialised_msg_reads_no_union_byte() {
        let msg = uffd_msg {
            event: crate::abi::UFFD_EVENT_PAGEFAULT,
            reserved1: 0,
            reserved2: 0,
            reserved3: 0,
            arg: uffd_msg_arg {
                fork: uffd_msg_fork { ufd: 7 },
            },
        };
        let mut b = Buf([0; 256], 0);
        core::fmt::Write::write_fmt(&mut b, format_args!("{msg:?}")).unwrap();
        let s = core::str::from_utf8(&b.0[..b.1]).unwrap();
        assert_eq!(
            s,
            "uffd_msg { event: 18, reserved1: 0, reserved2: 0, reserved3: 0, .. }"
        );
    }
}
