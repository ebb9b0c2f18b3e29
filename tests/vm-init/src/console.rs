//! Standard output (the console as PID 1) as a `core::fmt::Write` sink, no buffering.

use crate::sys;
use uffd::Errno;

/// fd 1: the kernel opens `/dev/console` as fds 0, 1 and 2 for init.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            match sys::write(1, bytes) {
                Ok(0) => return Err(core::fmt::Error),
                Ok(n) => bytes = &bytes[n..],
                Err(Errno::EINTR) => {}
                Err(_) => return Err(core::fmt::Error),
            }
        }
        Ok(())
    }
}
