//! `Event::from_msg` on arbitrary 32-byte messages and arbitrary negotiated features.
//!
//! A decoded FORK event owns the fd number the message names and would close it on drop:
//! here that number is arbitrary, so the handle is given up with `into_raw_fd` (never closed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use uffd::abi::{uffd_msg, UFFD_EVENT_FORK, UFFD_EVENT_PAGEFAULT};
use uffd::flags::Features;
use uffd::{Error, Event};

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
            assert!(u.as_raw_fd() >= 0);
            assert_eq!(u.features(), features);
            assert_eq!(u.page_size(), page_size);
            let _ = u.into_raw_fd();
        }
        Ok(Event::Pagefault { thread_id, .. }) => {
            assert_eq!(data[0], UFFD_EVENT_PAGEFAULT);
            assert_eq!(thread_id.is_some(), features.contains(Features::THREAD_ID));
        }
        Ok(e) => {
            let _ = write!(s, "{e:?}");
        }
        Err(e) => {
            match e {
                Error::UnknownEvent(c) => assert_eq!(c, data[0]),
                Error::BadForkFd(fd) => {
                    assert_eq!(data[0], UFFD_EVENT_FORK);
                    assert!(fd > i32::MAX as u32);
                }
                e => panic!("unexpected error {e:?}"),
            }
            let _ = write!(s, "{e} {e:?}");
        }
    }
});
