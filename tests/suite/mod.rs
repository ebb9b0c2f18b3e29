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
mod memory;
mod nr;
pub mod offers;
mod pagemap;
// `uffd::pager` needs 64-bit atomics (not on powerpc32): there, its cases skip, saying so.
#[cfg(target_has_atomic = "64")]
mod pager;
#[cfg(not(target_has_atomic = "64"))]
mod pager {
    use super::util::{available, run, Via};
    use super::{Ctx, Outcome};

    pub(super) fn absent(_: &Ctx) -> Outcome {
        run(|| {
            available(Via::Syscall)?;
            Err(Outcome::Skip(crate::msg!(
                "uffd::pager is not built for this target (it needs 64-bit atomics)"
            )))
        })
    }
    pub(super) use absent as bad_config;
    pub(super) use absent as gone;
    pub(super) use absent as hugetlb;
    pub(super) use absent as minor_refused;
    pub(super) use absent as minor_shmem;
    pub(super) use absent as readahead_fill;
    pub(super) use absent as remove_zeros;
    pub(super) use absent as sources;
    pub(super) use absent as two_handlers;
    pub(super) use absent as outside;
    pub(super) use absent as unmap_remap;
}
mod races;
pub mod rt;
mod surface;
pub mod truth;
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

/// `name => fn` pairs, in order, as `Case`s.
macro_rules! case_list {
    ($($name:literal => $run:expr,)*) => {
        &[$(Case { name: $name, run: $run },)*]
    };
}

/// Every case, in the order harnesses run them.
pub const CASES: &[Case] = case_list![
    "api_syscall" => |c| faults::api(c, Syscall),
    "register_modes_anon_syscall" => |c| faults::register_modes(c, Anon, Syscall),
    "missing_copy_anon_syscall" => |c| faults::missing_copy(c, Anon, Syscall),
    "zeropage_partial_anon_syscall" => |c| faults::zeropage_and_partial(c, Anon, Syscall),
    "copy_dontwake_wake_anon_syscall" => |c| faults::copy_dontwake_wake(c, Anon, Syscall),
    "wp_anon_syscall" => |c| kinds::wp(c, Anon, Syscall),
    "copy_mode_wp_anon_syscall" => |c| kinds::copy_mode_wp(c, Anon, Syscall),
    "register_modes_shmem_syscall" => |c| faults::register_modes(c, Shmem, Syscall),
    "missing_copy_shmem_syscall" => |c| faults::missing_copy(c, Shmem, Syscall),
    "zeropage_partial_shmem_syscall" => |c| faults::zeropage_and_partial(c, Shmem, Syscall),
    "copy_dontwake_wake_shmem_syscall" => |c| faults::copy_dontwake_wake(c, Shmem, Syscall),
    "wp_shmem_syscall" => |c| kinds::wp(c, Shmem, Syscall),
    "copy_mode_wp_shmem_syscall" => |c| kinds::copy_mode_wp(c, Shmem, Syscall),
    "wp_unpopulated_anon_syscall" => |c| kinds::wp_unpopulated(c, Syscall),
    "wp_async_anon_syscall" => |c| kinds::wp_async(c, Syscall),
    "minor_continue_shmem_syscall" => |c| kinds::minor_continue(c, Syscall),
    "move_anon_syscall" => |c| kinds::move_anon(c, Syscall),
    "poison_anon_syscall" => |c| kinds::poison(c, Syscall),
    "sigbus_anon_syscall" => |c| kinds::sigbus(c, Syscall),
    "thread_id_syscall" => |c| kinds::thread_id(c, Syscall),
    "exact_address_syscall" => |c| kinds::exact_address(c, Syscall),
    "event_fork_syscall" => |c| events::fork(c, Syscall),
    "event_remap_syscall" => |c| events::noncoop(c, Syscall, Features::EVENT_REMAP),
    "event_remove_syscall" => |c| events::noncoop(c, Syscall, Features::EVENT_REMOVE),
    "event_unmap_syscall" => |c| events::noncoop(c, Syscall, Features::EVENT_UNMAP),
    "mmap_changing_eagain_syscall" => |c| events::mmap_changing(c, Syscall),
    "nonblocking_read_empty_syscall" => |c| events::nonblocking_read(c, Syscall),
    "poll_blocking_pollerr_syscall" => |c| events::poll_blocking(c, Syscall),
    "api_device" => |c| faults::api(c, Device),
    "register_modes_anon_device" => |c| faults::register_modes(c, Anon, Device),
    "missing_copy_anon_device" => |c| faults::missing_copy(c, Anon, Device),
    "zeropage_partial_anon_device" => |c| faults::zeropage_and_partial(c, Anon, Device),
    "copy_dontwake_wake_anon_device" => |c| faults::copy_dontwake_wake(c, Anon, Device),
    "wp_anon_device" => |c| kinds::wp(c, Anon, Device),
    "copy_mode_wp_anon_device" => |c| kinds::copy_mode_wp(c, Anon, Device),
    "register_modes_shmem_device" => |c| faults::register_modes(c, Shmem, Device),
    "missing_copy_shmem_device" => |c| faults::missing_copy(c, Shmem, Device),
    "zeropage_partial_shmem_device" => |c| faults::zeropage_and_partial(c, Shmem, Device),
    "copy_dontwake_wake_shmem_device" => |c| faults::copy_dontwake_wake(c, Shmem, Device),
    "wp_shmem_device" => |c| kinds::wp(c, Shmem, Device),
    "copy_mode_wp_shmem_device" => |c| kinds::copy_mode_wp(c, Shmem, Device),
    "wp_unpopulated_anon_device" => |c| kinds::wp_unpopulated(c, Device),
    "wp_async_anon_device" => |c| kinds::wp_async(c, Device),
    "minor_continue_shmem_device" => |c| kinds::minor_continue(c, Device),
    "move_anon_device" => |c| kinds::move_anon(c, Device),
    "poison_anon_device" => |c| kinds::poison(c, Device),
    "sigbus_anon_device" => |c| kinds::sigbus(c, Device),
    "thread_id_device" => |c| kinds::thread_id(c, Device),
    "exact_address_device" => |c| kinds::exact_address(c, Device),
    "event_fork_device" => |c| events::fork(c, Device),
    "event_remap_device" => |c| events::noncoop(c, Device, Features::EVENT_REMAP),
    "event_remove_device" => |c| events::noncoop(c, Device, Features::EVENT_REMOVE),
    "event_unmap_device" => |c| events::noncoop(c, Device, Features::EVENT_UNMAP),
    "mmap_changing_eagain_device" => |c| events::mmap_changing(c, Device),
    "nonblocking_read_empty_device" => |c| events::nonblocking_read(c, Device),
    "poll_blocking_pollerr_device" => |c| events::poll_blocking(c, Device),
    "batched_read_anon_syscall" => |c| gaps::batched_read(c, Syscall),
    "register_ebusy_anon_syscall" => |c| gaps::register_ebusy(c, Syscall),
    "continue_wp_shmem_syscall" => |c| gaps::continue_wp(c, Syscall),
    "wp_dontwake_wake_anon_syscall" => |c| gaps::wp_dontwake_wake(c, Anon, Syscall),
    "wp_dontwake_wake_shmem_syscall" => |c| gaps::wp_dontwake_wake(c, Shmem, Syscall),
    "poison_shmem_syscall" => |c| gaps::poison_shmem(c, Syscall),
    "batched_read_anon_device" => |c| gaps::batched_read(c, Device),
    "register_ebusy_anon_device" => |c| gaps::register_ebusy(c, Device),
    "continue_wp_shmem_device" => |c| gaps::continue_wp(c, Device),
    "wp_dontwake_wake_anon_device" => |c| gaps::wp_dontwake_wake(c, Anon, Device),
    "wp_dontwake_wake_shmem_device" => |c| gaps::wp_dontwake_wake(c, Shmem, Device),
    "poison_shmem_device" => |c| gaps::poison_shmem(c, Device),
    "unprivileged" => |c| events::unprivileged(c),
    "fork_pending_fault_syscall" => |c| races::fork_with_pending_fault(c, Syscall),
    "close_wakes_blocked_syscall" => |c| races::close_wakes_blocked(c, Syscall),
    "faulter_exit_esrch_syscall" => |c| races::faulter_exits_esrch(c, Syscall),
    "fork_pending_fault_device" => |c| races::fork_with_pending_fault(c, Device),
    "close_wakes_blocked_device" => |c| races::close_wakes_blocked(c, Device),
    "faulter_exit_esrch_device" => |c| races::faulter_exits_esrch(c, Device),
    "received_fd_syscall" => |c| surface::received_fd(c, Syscall),
    "received_fd_device" => |c| surface::received_fd(c, Device),
    "unprivileged_fork" => |c| surface::unprivileged_fork(c),
    "wait_stop_fd_syscall" => |c| surface::wait_stop_fd(c, Syscall),
    "pagemap_scan_epochs" => pagemap::scan_epochs,
    "pagemap_scan_resume" => pagemap::scan_resume,
    "pagemap_bad_input" => pagemap::bad_input,
    "pagemap_entries_sync_wp" => pagemap::entries_sync_wp,
    "pagemap_entry_bits" => pagemap::entry_bits,
    "pagemap_open_denied" => pagemap::open_denied,
    "pager_sources" => pager::sources,
    "pager_readahead_fill" => pager::readahead_fill,
    "pager_remove_zeros" => pager::remove_zeros,
    "pager_unmap_remap" => pager::unmap_remap,
    "pager_minor_shmem" => pager::minor_shmem,
    "pager_minor_refused" => pager::minor_refused,
    "pager_hugetlb" => pager::hugetlb,
    "pager_gone" => pager::gone,
    "pager_bad_config" => pager::bad_config,
    "pager_two_handlers" => pager::two_handlers,
    "pager_outside" => pager::outside,
    "raw_truth_syscall" => |c| surface::raw_truth(c, Syscall),
    "raw_truth_device" => |c| surface::raw_truth(c, Device),
    "sys_memory" => memory::sys_memory,
];
