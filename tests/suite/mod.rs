//! The kernel test cases, written once and run by three harnesses:
//!
//! - `tests/kernel.rs`: `cargo test` on the host (and under qemu-user by `cargo xtask cross-test`,
//!   where every kernel case must report "skip: ... ENOSYS");
//! - `tests/vm-init`: a static, libc-free `/init` booted in QEMU system VMs by `cargo xtask vm-test`.
//!
//! Everything here is `core` only: no `std`, no `alloc`, no libc. Concurrency comes from `fork`
//! (a handler process serving the parent's faults through the inherited uffd), not threads, so
//! the same code runs as PID 1 in a VM.

#![allow(dead_code)]
// Results carry a fixed-size `Msg` (no allocation) by design.
#![allow(clippy::result_large_err)]

mod events;
mod faults;
mod gaps;
mod kinds;
mod nr;
mod races;
pub mod rt;
pub mod util;

use core::fmt;
use uffd::flags::Features;
use util::Mem::{Anon, Shmem};
use util::Via::{Device, Syscall};

/// What a case may ask of its harness.
pub struct Ctx {
    /// The page size of the running kernel (from AT_PAGESZ or the kernel).
    pub page_size: usize,
}

/// A short message without allocation: formatted into a fixed buffer, truncated if longer.
pub struct Msg {
    buf: [u8; 240],
    len: usize,
}

impl Msg {
    /// An empty message.
    pub const fn new() -> Self {
        Self {
            buf: [0; 240],
            len: 0,
        }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            // Truncation can split a UTF-8 sequence: keep the valid prefix.
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Write for Msg {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Formats a [`Msg`].
#[macro_export]
macro_rules! msg {
    ($($t:tt)*) => {{
        let mut m = $crate::suite::Msg::new();
        let _ = core::fmt::Write::write_fmt(&mut m, format_args!($($t)*));
        m
    }};
}

/// The result of one case.
pub enum Outcome {
    /// Everything asserted held.
    Pass,
    /// Not run, and why (e.g. "kernel lacks UFFD_FEATURE_MOVE", "userfaultfd: ENOSYS").
    Skip(Msg),
    /// An assertion failed: what was expected and what came.
    Fail(Msg),
}

/// One named case.
pub struct Case {
    /// Unique, stable name (printed in result lines).
    pub name: &'static str,
    /// The case.
    pub run: fn(&Ctx) -> Outcome,
}

/// Every case, in the order harnesses run them.
pub const CASES: &[Case] = &[
    Case {
        name: "api_syscall",
        run: |c| faults::api(c, Syscall),
    },
    Case {
        name: "register_modes_anon_syscall",
        run: |c| faults::register_modes(c, Anon, Syscall),
    },
    Case {
        name: "missing_copy_anon_syscall",
        run: |c| faults::missing_copy(c, Anon, Syscall),
    },
    Case {
        name: "zeropage_partial_anon_syscall",
        run: |c| faults::zeropage_and_partial(c, Anon, Syscall),
    },
    Case {
        name: "copy_dontwake_wake_anon_syscall",
        run: |c| faults::copy_dontwake_wake(c, Anon, Syscall),
    },
    Case {
        name: "wp_anon_syscall",
        run: |c| kinds::wp(c, Anon, Syscall),
    },
    Case {
        name: "copy_mode_wp_anon_syscall",
        run: |c| kinds::copy_mode_wp(c, Anon, Syscall),
    },
    Case {
        name: "register_modes_shmem_syscall",
        run: |c| faults::register_modes(c, Shmem, Syscall),
    },
    Case {
        name: "missing_copy_shmem_syscall",
        run: |c| faults::missing_copy(c, Shmem, Syscall),
    },
    Case {
        name: "zeropage_partial_shmem_syscall",
        run: |c| faults::zeropage_and_partial(c, Shmem, Syscall),
    },
    Case {
        name: "copy_dontwake_wake_shmem_syscall",
        run: |c| faults::copy_dontwake_wake(c, Shmem, Syscall),
    },
    Case {
        name: "wp_shmem_syscall",
        run: |c| kinds::wp(c, Shmem, Syscall),
    },
    Case {
        name: "copy_mode_wp_shmem_syscall",
        run: |c| kinds::copy_mode_wp(c, Shmem, Syscall),
    },
    Case {
        name: "wp_unpopulated_anon_syscall",
        run: |c| kinds::wp_unpopulated(c, Syscall),
    },
    Case {
        name: "wp_async_anon_syscall",
        run: |c| kinds::wp_async(c, Syscall),
    },
    Case {
        name: "minor_continue_shmem_syscall",
        run: |c| kinds::minor_continue(c, Syscall),
    },
    Case {
        name: "move_anon_syscall",
        run: |c| kinds::move_anon(c, Syscall),
    },
    Case {
        name: "poison_anon_syscall",
        run: |c| kinds::poison(c, Syscall),
    },
    Case {
        name: "sigbus_anon_syscall",
        run: |c| kinds::sigbus(c, Syscall),
    },
    Case {
        name: "thread_id_syscall",
        run: |c| kinds::thread_id(c, Syscall),
    },
    Case {
        name: "exact_address_syscall",
        run: |c| kinds::exact_address(c, Syscall),
    },
    Case {
        name: "event_fork_syscall",
        run: |c| events::fork(c, Syscall),
    },
    Case {
        name: "event_remap_syscall",
        run: |c| events::noncoop(c, Syscall, Features::EVENT_REMAP),
    },
    Case {
        name: "event_remove_syscall",
        run: |c| events::noncoop(c, Syscall, Features::EVENT_REMOVE),
    },
    Case {
        name: "event_unmap_syscall",
        run: |c| events::noncoop(c, Syscall, Features::EVENT_UNMAP),
    },
    Case {
        name: "mmap_changing_eagain_syscall",
        run: |c| events::mmap_changing(c, Syscall),
    },
    Case {
        name: "nonblocking_read_empty_syscall",
        run: |c| events::nonblocking_read(c, Syscall),
    },
    Case {
        name: "poll_blocking_pollerr_syscall",
        run: |c| events::poll_blocking(c, Syscall),
    },
    Case {
        name: "api_device",
        run: |c| faults::api(c, Device),
    },
    Case {
        name: "register_modes_anon_device",
        run: |c| faults::register_modes(c, Anon, Device),
    },
    Case {
        name: "missing_copy_anon_device",
        run: |c| faults::missing_copy(c, Anon, Device),
    },
    Case {
        name: "zeropage_partial_anon_device",
        run: |c| faults::zeropage_and_partial(c, Anon, Device),
    },
    Case {
        name: "copy_dontwake_wake_anon_device",
        run: |c| faults::copy_dontwake_wake(c, Anon, Device),
    },
    Case {
        name: "wp_anon_device",
        run: |c| kinds::wp(c, Anon, Device),
    },
    Case {
        name: "copy_mode_wp_anon_device",
        run: |c| kinds::copy_mode_wp(c, Anon, Device),
    },
    Case {
        name: "register_modes_shmem_device",
        run: |c| faults::register_modes(c, Shmem, Device),
    },
    Case {
        name: "missing_copy_shmem_device",
        run: |c| faults::missing_copy(c, Shmem, Device),
    },
    Case {
        name: "zeropage_partial_shmem_device",
        run: |c| faults::zeropage_and_partial(c, Shmem, Device),
    },
    Case {
        name: "copy_dontwake_wake_shmem_device",
        run: |c| faults::copy_dontwake_wake(c, Shmem, Device),
    },
    Case {
        name: "wp_shmem_device",
        run: |c| kinds::wp(c, Shmem, Device),
    },
    Case {
        name: "copy_mode_wp_shmem_device",
        run: |c| kinds::copy_mode_wp(c, Shmem, Device),
    },
    Case {
        name: "wp_unpopulated_anon_device",
        run: |c| kinds::wp_unpopulated(c, Device),
    },
    Case {
        name: "wp_async_anon_device",
        run: |c| kinds::wp_async(c, Device),
    },
    Case {
        name: "minor_continue_shmem_device",
        run: |c| kinds::minor_continue(c, Device),
    },
    Case {
        name: "move_anon_device",
        run: |c| kinds::move_anon(c, Device),
    },
    Case {
        name: "poison_anon_device",
        run: |c| kinds::poison(c, Device),
    },
    Case {
        name: "sigbus_anon_device",
        run: |c| kinds::sigbus(c, Device),
    },
    Case {
        name: "thread_id_device",
        run: |c| kinds::thread_id(c, Device),
    },
    Case {
        name: "exact_address_device",
        run: |c| kinds::exact_address(c, Device),
    },
    Case {
        name: "event_fork_device",
        run: |c| events::fork(c, Device),
    },
    Case {
        name: "event_remap_device",
        run: |c| events::noncoop(c, Device, Features::EVENT_REMAP),
    },
    Case {
        name: "event_remove_device",
        run: |c| events::noncoop(c, Device, Features::EVENT_REMOVE),
    },
    Case {
        name: "event_unmap_device",
        run: |c| events::noncoop(c, Device, Features::EVENT_UNMAP),
    },
    Case {
        name: "mmap_changing_eagain_device",
        run: |c| events::mmap_changing(c, Device),
    },
    Case {
        name: "nonblocking_read_empty_device",
        run: |c| events::nonblocking_read(c, Device),
    },
    Case {
        name: "poll_blocking_pollerr_device",
        run: |c| events::poll_blocking(c, Device),
    },
    Case {
        name: "batched_read_anon_syscall",
        run: |c| gaps::batched_read(c, Syscall),
    },
    Case {
        name: "register_ebusy_anon_syscall",
        run: |c| gaps::register_ebusy(c, Syscall),
    },
    Case {
        name: "continue_wp_shmem_syscall",
        run: |c| gaps::continue_wp(c, Syscall),
    },
    Case {
        name: "wp_dontwake_wake_anon_syscall",
        run: |c| gaps::wp_dontwake_wake(c, Anon, Syscall),
    },
    Case {
        name: "wp_dontwake_wake_shmem_syscall",
        run: |c| gaps::wp_dontwake_wake(c, Shmem, Syscall),
    },
    Case {
        name: "poison_shmem_syscall",
        run: |c| gaps::poison_shmem(c, Syscall),
    },
    Case {
        name: "batched_read_anon_device",
        run: |c| gaps::batched_read(c, Device),
    },
    Case {
        name: "register_ebusy_anon_device",
        run: |c| gaps::register_ebusy(c, Device),
    },
    Case {
        name: "continue_wp_shmem_device",
        run: |c| gaps::continue_wp(c, Device),
    },
    Case {
        name: "wp_dontwake_wake_anon_device",
        run: |c| gaps::wp_dontwake_wake(c, Anon, Device),
    },
    Case {
        name: "wp_dontwake_wake_shmem_device",
        run: |c| gaps::wp_dontwake_wake(c, Shmem, Device),
    },
    Case {
        name: "poison_shmem_device",
        run: |c| gaps::poison_shmem(c, Device),
    },
    Case {
        name: "unprivileged",
        run: |c| events::unprivileged(c),
    },
    Case {
        name: "fork_pending_fault_syscall",
        run: |c| races::fork_with_pending_fault(c, Syscall),
    },
    Case {
        name: "close_wakes_blocked_syscall",
        run: |c| races::close_wakes_blocked(c, Syscall),
    },
    Case {
        name: "faulter_exit_esrch_syscall",
        run: |c| races::faulter_exits_esrch(c, Syscall),
    },
    Case {
        name: "fork_pending_fault_device",
        run: |c| races::fork_with_pending_fault(c, Device),
    },
    Case {
        name: "close_wakes_blocked_device",
        run: |c| races::close_wakes_blocked(c, Device),
    },
    Case {
        name: "faulter_exit_esrch_device",
        run: |c| races::faulter_exits_esrch(c, Device),
    },
];
