//! What each case of `tests/suite` needs from the kernel it runs on, and so which cases a boot
//! must skip: derived from the row's recorded feature mask (the raw `UFFDIO_API` of a real
//! run), its kernel version and architecture, never from the code under test. A row writes
//! down only what this cannot derive (`Kernel::also_skips`).
//!
//! Feature bits are `linux/userfaultfd.h`'s (`UFFD_FEATURE_*`), numbered as there.

use super::tables::Kernel;
use std::collections::BTreeSet;

/// `UFFD_FEATURE_*` bit numbers of linux/userfaultfd.h.
const WP: u64 = 1 << 0;
const EVENT_FORK: u64 = 1 << 1;
const EVENT_REMAP: u64 = 1 << 2;
const EVENT_REMOVE: u64 = 1 << 3;
const MISSING_HUGETLBFS: u64 = 1 << 4;
const MISSING_SHMEM: u64 = 1 << 5;
const EVENT_UNMAP: u64 = 1 << 6;
const SIGBUS: u64 = 1 << 7;
const THREAD_ID: u64 = 1 << 8;
const MINOR_SHMEM: u64 = 1 << 10;
const EXACT_ADDRESS: u64 = 1 << 11;
const WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
const WP_UNPOPULATED: u64 = 1 << 13;
const POISON: u64 = 1 << 14;
const WP_ASYNC: u64 = 1 << 15;
const MOVE: u64 = 1 << 16;

/// One requirement of a case.
#[derive(Clone, Copy, Debug)]
enum Need {
    /// Every one of these feature bits offered.
    Bits(u64),
    /// WP faults delivered: `PAGEFAULT_FLAG_WP` offered, and not the 5.10 kind of offer on an
    /// architecture with no uffd-wp page-table bit (before 6.1 only x86_64 has it).
    WpFaults,
    /// `UFFD_USER_MODE_ONLY` (Linux 5.11).
    UserModeOnly,
    /// A kernel access to a missing page of a user-mode-only range fails with EFAULT (mips64el
    /// 6.12 oopses in `__raw_copy_from_user` instead).
    KernelAccessEfault,
    /// A poisoned page's access kills the task with a signal (on mips it is a kernel BUG()).
    PoisonSignal,
    /// Fault addresses not rounded to the page: the kernel reports only the page address on
    /// s390 (the hardware's translation exception) and on arm32 before 6.12 (6.1's
    /// arch/arm/mm/fault.c rounds it; 6.12's does not).
    ExactAddresses,
}

/// The requirements of a case by its name without the `_syscall`/`_device` suffix. A case not
/// listed needs nothing beyond userfaultfd itself (every feature up to 4.14: EVENT_*,
/// MISSING_SHMEM, SIGBUS, THREAD_ID are in every kernel the table boots).
const NEEDS: &[(&str, &[Need])] = &[
    ("wp_anon", &[Need::WpFaults]),
    ("copy_mode_wp_anon", &[Need::WpFaults]),
    ("wp_dontwake_wake_anon", &[Need::WpFaults]),
    (
        "wp_shmem",
        &[Need::WpFaults, Need::Bits(WP_HUGETLBFS_SHMEM)],
    ),
    (
        "copy_mode_wp_shmem",
        &[Need::WpFaults, Need::Bits(WP_HUGETLBFS_SHMEM)],
    ),
    (
        "wp_dontwake_wake_shmem",
        &[Need::WpFaults, Need::Bits(WP_HUGETLBFS_SHMEM)],
    ),
    (
        "wp_unpopulated_anon",
        &[Need::WpFaults, Need::Bits(WP_UNPOPULATED)],
    ),
    ("wp_async_anon", &[Need::WpFaults, Need::Bits(WP_ASYNC)]),
    ("minor_continue_shmem", &[Need::Bits(MINOR_SHMEM)]),
    ("move_anon", &[Need::Bits(MOVE)]),
    ("poison_anon", &[Need::Bits(POISON), Need::PoisonSignal]),
    ("poison_shmem", &[Need::Bits(POISON), Need::PoisonSignal]),
    ("sigbus_anon", &[Need::Bits(SIGBUS)]),
    ("thread_id", &[Need::Bits(THREAD_ID)]),
    (
        "exact_address",
        &[Need::Bits(EXACT_ADDRESS), Need::ExactAddresses],
    ),
    ("event_fork", &[Need::Bits(EVENT_FORK)]),
    ("event_remap", &[Need::Bits(EVENT_REMAP)]),
    ("event_remove", &[Need::Bits(EVENT_REMOVE)]),
    ("event_unmap", &[Need::Bits(EVENT_UNMAP)]),
    // CONTINUE with MODE_WP (6.4: WP_UNPOPULATED, of the same release, stands in).
    (
        "continue_wp_shmem",
        &[
            Need::Bits(MINOR_SHMEM | WP_HUGETLBFS_SHMEM | WP_UNPOPULATED),
            Need::WpFaults,
        ],
    ),
    ("unprivileged_fork", &[Need::UserModeOnly]),
    ("unprivileged", &[Need::KernelAccessEfault]),
    (
        "pagemap_scan_epochs",
        &[Need::WpFaults, Need::Bits(WP_ASYNC)],
    ),
    (
        "pagemap_scan_resume",
        &[Need::WpFaults, Need::Bits(WP_ASYNC)],
    ),
    ("pagemap_entries_sync_wp", &[Need::WpFaults]),
    ("pager_minor_shmem", &[Need::Bits(MINOR_SHMEM)]),
    (
        "pager_hugetlb",
        &[Need::Bits(MISSING_HUGETLBFS | EVENT_REMOVE)],
    ),
    ("register_modes_shmem", &[Need::Bits(MISSING_SHMEM)]),
];

/// `/dev/userfaultfd` (Linux 6.1): every `_device` case needs it.
const DEVICE: (u32, u32) = (6, 1);

fn met(n: Need, k: &Kernel) -> bool {
    match n {
        Need::Bits(b) => k.features & b == b,
        Need::WpFaults => k.features & WP != 0 && (k.on == "x86_64" || k.version() >= (6, 1)),
        Need::UserModeOnly => k.version() >= (5, 11),
        Need::ExactAddresses => match k.on {
            "armv7" => k.version() >= (6, 12),
            "s390x" => false,
            _ => true,
        },
        Need::PoisonSignal => k.on != "mips64el",
        Need::KernelAccessEfault => !(k.on == "mips64el" && k.version() >= (6, 12)),
    }
}

/// Whether case `name` runs on row `k` (by the table above), or skips.
pub fn runs(name: &str, k: &Kernel) -> bool {
    let (base, device) = match name.strip_suffix("_device") {
        Some(b) => (b, true),
        None => (name.strip_suffix("_syscall").unwrap_or(name), false),
    };
    if device && k.version() < DEVICE {
        return false;
    }
    NEEDS
        .iter()
        .filter(|(n, _)| *n == base)
        .flat_map(|(_, needs)| needs.iter())
        .all(|n| met(*n, k))
}

/// The cases of `all` (a run's case names) that row `k` must skip: derived, plus the row's
/// written exceptions.
pub fn skips<'a>(k: &Kernel, all: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = all.filter(|n| !runs(n, k)).map(str::to_string).collect();
    s.extend(k.also_skips.iter().map(|n| n.to_string()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(on: &'static str, derived_from: &'static str, features: u64) -> Kernel {
        Kernel {
            arch: on,
            on,
            suite: "s",
            flavour: "f",
            derived_from,
            features,
            also_skips: &[],
        }
    }

    /// The 6.1 rows' skip sets as recorded by hand before this table existed (x86_64, arm64,
    /// armv7), derived again from their feature masks.
    #[test]
    fn derivation_matches_the_hand_written_6_1_rows() {
        let all = [
            "wp_anon_syscall",
            "wp_anon_device",
            "minor_continue_shmem_device",
            "exact_address_syscall",
            "move_anon_syscall",
            "missing_copy_anon_device",
            "unprivileged_fork",
            "pagemap_entries_sync_wp",
        ];
        let x86 = row("x86_64", "linux-image-6.1.0-50-amd64 6.1.176-1", 0x1fff);
        let s = skips(&x86, all.iter().copied());
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["move_anon_syscall"]);
        let arm64 = row("aarch64", "linux-image-6.1.0-50-arm64 6.1.176-1", 0xffe);
        let s = skips(&arm64, all.iter().copied());
        assert_eq!(
            s.into_iter().collect::<Vec<_>>(),
            [
                "move_anon_syscall",
                "pagemap_entries_sync_wp",
                "wp_anon_device",
                "wp_anon_syscall"
            ]
        );
        let armv7 = row("armv7", "linux-image-6.1.0-50-armmp 6.1.176-1", 0x9fe);
        assert!(!runs("exact_address_syscall", &armv7));
        assert!(!runs("minor_continue_shmem_device", &armv7));
    }

    /// 5.10: no device, no user-mode-only, and an offered WP bit off x86_64 does not count.
    #[test]
    fn five_ten() {
        let x86 = row("x86_64", "linux-image-5.10.0-32-amd64 5.10.223-1", 0x1ff);
        assert!(!runs("missing_copy_anon_device", &x86));
        assert!(runs("missing_copy_anon_syscall", &x86));
        assert!(runs("wp_anon_syscall", &x86));
        assert!(!runs("unprivileged_fork", &x86));
        let arm64 = row("aarch64", "linux-image-5.10.0-32-arm64 5.10.223-1", 0x1ff);
        assert!(!runs("wp_anon_syscall", &arm64));
    }
}
