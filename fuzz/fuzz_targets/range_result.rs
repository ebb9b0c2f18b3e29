//! The partial-progress decoding of range operations (`Error::from_range_result`) on arbitrary
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
    match r {
        Ok(n) => {
            assert!(ret.is_ok());
            assert_eq!(n, len);
        }
        Err(Error::Partial { call: c, done, errno }) => {
            let Err(ioctl_errno) = ret else {
                panic!("Partial from a successful ioctl")
            };
            assert_eq!(c, call);
            assert!(done <= len);
            if field <= 0 {
                assert_eq!(done, 0);
            } else {
                assert_eq!(done as u64, (field as u64).min(len as u64));
            }
            if (-4095..0).contains(&field) {
                assert_eq!(i64::from(errno.raw()), -field);
            } else {
                assert_eq!(errno, ioctl_errno);
            }
            let e = r.unwrap_err();
            assert_eq!(e.done(), done);
            let mut s = String::new();
            let _ = write!(s, "{e} {e:?}");
            let _: std::io::Error = e.into();
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
});
