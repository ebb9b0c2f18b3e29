//! Standard output (the console as PID 1) as a `core::fmt::Write` sink, no buffering.

use crate::arch;

/// fd 1: the kernel opens `/dev/console` as fds 0, 1 and 2 for init.
pub struct Console;

const EINTR: isize = 4;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            // SAFETY: the pointer and length describe `bytes`, which outlives the call.
            let n =
                unsafe { arch::syscall3(arch::NR_WRITE, 1, bytes.as_ptr() as usize, bytes.len()) };
            if n == -EINTR {
                continue;
            }
            if n <= 0 {
                return Err(core::fmt::Error);
            }
            bytes = &bytes[n as usize..];
        }
        Ok(())
    }
}
