//! `Event::from_msg` on arbitrary 32-byte messages and arbitrary negotiated features.
//!
//! A decoded FORK event owns the fd number the message names and would close it on drop:
//! here that number is arbitrary, so the handle is given up with `into_raw_fd` (never closed).
//!
//! Every decoded field is checked against the bytes themselves, read at the offsets of
//! `struct uffd_msg` in `linux/userfaultfd.h` (packed: `event` at 0, `arg` at 8;
//! `pagefault.flags` 8..16, `.address` 16..24, `.feat.ptid` 24..28 (a `__u32`: its first four
//! bytes on both endiannesses); `fork.ufd` 8..12; `remap.from/to/len` 8/16/24;
//! `remove.start/end` 8/16, which UNMAP shares), in native byte order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use uffd::abi::{
    uffd_msg, UFFD_EVENT_FORK, UFFD_EVENT_PAGEFAULT, UFFD_EVENT_REMAP, UFFD_EVENT_REMOVE,
    UFFD_EVENT_UNMAP,
};
use uffd::flags::Features;
use uffd::{Error, Event};

/// The native-endian `__u64` at byte `o` of the message.
fn u64_at(data: &[u8], o: usize) -> u64 {
    u64::from_ne_bytes(data[o..o + 8].try_into().unwrap())
}

/// The native-endian `__u32` at byte `o` of the message.
fn u32_at(data: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes(data[o..o + 4].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let mut msg = uffd_msg::zeroed();
    // SAFETY: `uffd_msg` is 32 bytes of plain integers (packed, every bit pattern valid) and
    // `data` has at least 32.
    unsafe {
        core::ptr::copy_nonoverlapping(
            data.as_ptr(),
            &mut msg as *mut uffd_msg as *mut u8,
            core::mem::size_of::<uffd_msg>(),
        )
    };
    let mut f = [0u8; 8];
    let rest = &data[32..];
    f[..rest.len().min(8)].copy_from_slice(&rest[..rest.len().min(8)]);
    let features = Features::from_bits_retain(u64::from_ne_bytes(f));
    let page_size = 4096usize << (data[0] & 7);
    // SAFETY: a FORK event's fd is never closed (given up below).
    let r = unsafe { Event::from_msg(&msg, features, page_size) };
    let mut s = String::new();
    match r {
        Ok(Event::Fork(u)) => {
            assert_eq!(data[0], UFFD_EVENT_FORK);
            assert_eq!(u.as_raw_fd() as u32, u32_at(data, 8));
            assert!(u.as_raw_fd() >= 0);
            assert_eq!(u.features(), features);
            assert_eq!(u.page_size(), page_size);
            let _ = u.into_raw_fd();
        }
        Ok(Event::Pagefault {
            flags,
            address,
            thread_id,
        }) => {
            assert_eq!(data[0], UFFD_EVENT_PAGEFAULT);
            assert_eq!(flags.bits(), u64_at(data, 8));
            assert_eq!(address, u64_at(data, 16) as usize);
            let want = features
                .contains(Features::THREAD_ID)
                .then(|| u32_at(data, 24));
            assert_eq!(thread_id, want);
        }
        Ok(Event::Remap { from, to, len }) => {
            assert_eq!(data[0], UFFD_EVENT_REMAP);
            assert_eq!(from, u64_at(data, 8) as usize);
            assert_eq!(to, u64_at(data, 16) as usize);
            assert_eq!(len, u64_at(data, 24) as usize);
        }
        Ok(Event::Remove { start, end }) => {
            assert_eq!(data[0], UFFD_EVENT_REMOVE);
            assert_eq!(start, u64_at(data, 8) as usize);
            assert_eq!(end, u64_at(data, 16) as usize);
        }
        Ok(Event::Unmap { start, end }) => {
            assert_eq!(data[0], UFFD_EVENT_UNMAP);
            assert_eq!(start, u64_at(data, 8) as usize);
            assert_eq!(end, u64_at(data, 16) as usize);
        }
        Ok(e) => panic!("an event this target does not know: {e:?}"),
        Err(e) => {
            match e {
                Error::UnknownEvent(c) => {
                    assert_eq!(c, data[0]);
                    assert!(![
                        UFFD_EVENT_PAGEFAULT,
                        UFFD_EVENT_FORK,
                        UFFD_EVENT_REMAP,
                        UFFD_EVENT_REMOVE,
                        UFFD_EVENT_UNMAP
                    ]
                    .contains(&c));
                }
                Error::BadForkFd(fd) => {
                    assert_eq!(data[0], UFFD_EVENT_FORK);
                    assert_eq!(fd, u32_at(data, 8));
                    assert!(fd > i32::MAX as u32);
                }
                e => panic!("unexpected error {e:?}"),
            }
            let _ = write!(s, "{e} {e:?}");
        }
    }
});
