//! The shared kernel test cases (`tests/suite`), one `#[test]` each, on the running kernel.
//!
//! Cases run one at a time (a lock): a case that negotiates `EVENT_FORK` would otherwise see
//! the forks of other cases running in parallel threads.

#[allow(dead_code)]
mod common;
mod suite;

use std::sync::Mutex;
use suite::{Ctx, Outcome, CASES};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `AT_PAGESZ` from the auxiliary vector.
fn page_size() -> usize {
    let auxv = std::fs::read("/proc/self/auxv").expect("/proc/self/auxv");
    let w = std::mem::size_of::<usize>();
    let word = |i: usize| usize::from_ne_bytes(auxv[i * w..(i + 1) * w].try_into().unwrap());
    (0..auxv.len() / w / 2)
        .find(|&i| word(2 * i) == 6)
        .map(|i| word(2 * i + 1))
        .expect("AT_PAGESZ")
}

fn run(name: &str) {
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _deadline = common::Deadline::arm();
    let ctx = Ctx {
        page_size: page_size(),
    };
    match (case.run)(&ctx) {
        Outcome::Pass => {}
        Outcome::Skip(m) => println!("SKIP {name}: {}", m.as_str()),
        Outcome::Fail(m) => panic!("FAIL {name}: {}", m.as_str()),
    }
}

macro_rules! cases {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*
        /// Every case of the suite has a test here, and no test names a missing case.
        #[test]
        fn every_case_has_a_test() {
            let names = [$(stringify!($name)),*];
            for c in CASES {
                assert!(names.contains(&c.name), "case {} has no #[test]", c.name);
            }
            assert_eq!(names.len(), CASES.len());
        }
    };
}

cases! {
api_syscall
register_modes_anon_syscall
missing_copy_anon_syscall
zeropage_partial_anon_syscall
copy_dontwake_wake_anon_syscall
wp_anon_syscall
copy_mode_wp_anon_syscall
register_modes_shmem_syscall
missing_copy_shmem_syscall
zeropage_partial_shmem_syscall
copy_dontwake_wake_shmem_syscall
wp_shmem_syscall
copy_mode_wp_shmem_syscall
wp_unpopulated_anon_syscall
wp_async_anon_syscall
minor_continue_shmem_syscall
move_anon_syscall
poison_anon_syscall
sigbus_anon_syscall
thread_id_syscall
exact_address_syscall
event_fork_syscall
event_remap_syscall
event_remove_syscall
event_unmap_syscall
mmap_changing_eagain_syscall
nonblocking_read_empty_syscall
poll_blocking_pollerr_syscall
api_device
register_modes_anon_device
missing_copy_anon_device
zeropage_partial_anon_device
copy_dontwake_wake_anon_device
wp_anon_device
copy_mode_wp_anon_device
register_modes_shmem_device
missing_copy_shmem_device
zeropage_partial_shmem_device
copy_dontwake_wake_shmem_device
wp_shmem_device
copy_mode_wp_shmem_device
wp_unpopulated_anon_device
wp_async_anon_device
minor_continue_shmem_device
move_anon_device
poison_anon_device
sigbus_anon_device
thread_id_device
exact_address_device
event_fork_device
event_remap_device
event_remove_device
event_unmap_device
mmap_changing_eagain_device
nonblocking_read_empty_device
poll_blocking_pollerr_device
batched_read_anon_syscall
register_ebusy_anon_syscall
continue_wp_shmem_syscall
wp_dontwake_wake_anon_syscall
wp_dontwake_wake_shmem_syscall
poison_shmem_syscall
batched_read_anon_device
register_ebusy_anon_device
continue_wp_shmem_device
wp_dontwake_wake_anon_device
wp_dontwake_wake_shmem_device
poison_shmem_device
unprivileged
fork_pending_fault_syscall
close_wakes_blocked_syscall
faulter_exit_esrch_syscall
fork_pending_fault_device
close_wakes_blocked_device
faulter_exit_esrch_device
received_fd_syscall
received_fd_device
unprivileged_fork
wait_stop_fd_syscall
pagemap_scan_epochs
pagemap_scan_resume
pagemap_bad_input
pagemap_entries_sync_wp
pagemap_entry_bits
pagemap_open_denied
pager_sources
pager_readahead_fill
pager_remove_zeros
pager_unmap_remap
pager_minor_shmem
pager_minor_refused
pager_hugetlb
pager_gone
pager_bad_config
pager_two_handlers
pager_outside
raw_truth_syscall
raw_truth_device
sys_memory
}
