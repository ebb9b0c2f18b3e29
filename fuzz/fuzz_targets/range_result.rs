//! The partial-progress decoding of range operations (`Error::from_range_result`, built with
//! `--cfg fuzzing` only) on arbitrary
//! ioctl outcomes, result fields and lengths: never a negative length, `done <= len`, the
//! errno from the field only when it holds one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::fmt::Write;
use uffd::{Call, Errno, Error};

const CALLS: [Call; 5] = [
    Call::Copy,
    Call::Zeropage,
    Call::Continue,
    Call::Poison,
    Call::Move,
];

fuzz_target!(|data: [u8; 24]| {
    let w = |o: usize| u64::from_ne_bytes(data[o..o + 8].try_into().unwrap());
    let field = w(0) as i64;
    let len = w(8) as usize;
    let tail = w(16);
    let call = CALLS[(tail as usize >> 33) % CALLS.len()];
    let ret = if tail & (1 << 32) != 0 {
        Ok((tail >> 40) as usize)
    } else {
        Err(Errno::from_raw(tail as u32 as i32))
    };
    let r = Error::from_range_result(call, ret, field, len);
    let Err(ioctl_errno) = ret else {
        assert_eq!(r, Ok(()));
        return;
    };
    let e = r.expect_err("Ok from a failed ioctl");
    // What the kernel said, decoded independently: bytes done from a positive field (never
    // beyond len), the errno from a field holding -errno, else the ioctl's.
    let want_done = if field > 0 { (field as u64).min(len as u64) as usize } else { 0 };
    let want_errno = if (-4095..0).contains(&field) {
        Errno::from_raw(-field as i32)
    } else {
        ioctl_errno
    };
    assert_eq!(e.done(), want_done);
    assert_eq!(e.errno(), Some(want_errno));
    match e {
        Error::Again { call: c, done } => {
            assert_eq!((c, done, want_errno), (call, want_done, Errno::EAGAIN))
        }
        Error::Exists { call: c } => assert_eq!((c, want_done, want_errno), (call, 0, Errno::EEXIST)),
        Error::Sys { call: c, errno } => {
            assert_eq!((c, want_done), (call, 0));
            assert!(errno != Errno::EAGAIN && errno != Errno::EEXIST);
        }
        Error::Partial { call: c, done, errno } => {
            assert_eq!(c, call);
            assert!(done > 0 && errno != Errno::EAGAIN);
        }
        e => panic!("unexpected {e:?}"),
    }
    let mut s = String::new();
    let _ = write!(s, "{e} {e:?}");
    let _: std::io::Error = e.into();
});
