//! The manifest: every item of `linux/userfaultfd.h`, the `PAGEMAP_SCAN` part of `linux/fs.h`
//! (and the per-architecture values around them) that the crate must match, with the C expression that yields it, the header macro that guards
//! it, the kernel version that brought it, and the Rust expression of the crate's value.
//!
//! It holds names and expressions only, never values: every value comes from a C compiler
//! reading the real header, or from rustc compiling the crate.
//!
//! Used by `layout-tests/build.rs` and the xtask.

/// What an item is; decides how it is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A plain `#define` constant (the same on every architecture).
    Const,
    /// A version-dependent aggregate (`UFFD_API_FEATURES`, ...): compared only against a header
    /// of the version the crate describes.
    Aggregate,
    /// An ioctl request number (depends on the architecture family's encoding).
    Ioctl,
    /// `sizeof` of a named struct.
    Size,
    /// `sizeof` of a nested anonymous struct/union (ABI dependent: 20 or 24 on i386/m68k).
    InnerSize,
    /// Alignment of a struct or union (ABI dependent).
    Align,
    /// Offset of a field from the start of its (outermost) struct.
    Offset,
    /// Per-architecture values the crate defines in `uffd::sys` (syscall number, `O_*`).
    Sys,
    /// Only reported, never compared (the header's `LINUX_VERSION_CODE`).
    Info,
}

/// One item of the manifest.
#[derive(Clone, Debug)]
pub struct Item {
    /// The name shown in reports, e.g. `UFFDIO_API`, `sizeof(struct uffd_msg)`,
    /// `offsetof(struct uffd_msg, arg.pagefault.feat.ptid)`.
    pub key: String,
    /// A C expression of integer type giving the value.
    pub c_expr: String,
    /// The macro whose presence tells that the header has this item.
    pub guard: String,
    /// Kernel version that brought the item (`"4.3"`, ...; `"7.3-rc"` for provisional ones).
    pub since: &'static str,
    /// Only in a 7.3 release candidate: in the crate behind `unstable-7-3`.
    pub unstable: bool,
    /// How it is compared.
    pub kind: Kind,
    /// A Rust expression (type `u64`) of the crate's value, `None` for [`Kind::Info`].
    pub rust: Option<String>,
}

/// `(name, since, unstable)` of every constant that is neither an ioctl nor an aggregate.
const CONSTS: &[(&str, &str, bool)] = &[
    ("USERFAULTFD_IOC", "6.1", false),
    ("UFFD_API", "4.3", false),
    ("_UFFDIO_REGISTER", "4.3", false),
    ("_UFFDIO_UNREGISTER", "4.3", false),
    ("_UFFDIO_WAKE", "4.3", false),
    ("_UFFDIO_COPY", "4.3", false),
    ("_UFFDIO_ZEROPAGE", "4.3", false),
    ("_UFFDIO_MOVE", "6.8", false),
    ("_UFFDIO_WRITEPROTECT", "5.7", false),
    ("_UFFDIO_CONTINUE", "5.13", false),
    ("_UFFDIO_POISON", "6.6", false),
    ("_UFFDIO_RWPROTECT", "7.3-rc", true),
    ("_UFFDIO_SET_MODE", "7.3-rc", true),
    ("_UFFDIO_API", "4.3", false),
    ("UFFDIO", "4.3", false),
    ("UFFD_EVENT_PAGEFAULT", "4.3", false),
    ("UFFD_EVENT_FORK", "4.11", false),
    ("UFFD_EVENT_REMAP", "4.11", false),
    ("UFFD_EVENT_REMOVE", "4.11", false),
    ("UFFD_EVENT_UNMAP", "4.11", false),
    ("UFFD_PAGEFAULT_FLAG_WRITE", "4.3", false),
    ("UFFD_PAGEFAULT_FLAG_WP", "5.7", false),
    ("UFFD_PAGEFAULT_FLAG_MINOR", "5.13", false),
    ("UFFD_PAGEFAULT_FLAG_RWP", "7.3-rc", true),
    ("UFFD_FEATURE_PAGEFAULT_FLAG_WP", "5.7", false),
    ("UFFD_FEATURE_EVENT_FORK", "4.11", false),
    ("UFFD_FEATURE_EVENT_REMAP", "4.11", false),
    ("UFFD_FEATURE_EVENT_REMOVE", "4.11", false),
    ("UFFD_FEATURE_MISSING_HUGETLBFS", "4.11", false),
    ("UFFD_FEATURE_MISSING_SHMEM", "4.11", false),
    ("UFFD_FEATURE_EVENT_UNMAP", "4.11", false),
    ("UFFD_FEATURE_SIGBUS", "4.14", false),
    ("UFFD_FEATURE_THREAD_ID", "4.14", false),
    ("UFFD_FEATURE_MINOR_HUGETLBFS", "5.13", false),
    ("UFFD_FEATURE_MINOR_SHMEM", "5.14", false),
    ("UFFD_FEATURE_EXACT_ADDRESS", "5.18", false),
    ("UFFD_FEATURE_WP_HUGETLBFS_SHMEM", "5.19", false),
    ("UFFD_FEATURE_WP_UNPOPULATED", "6.4", false),
    ("UFFD_FEATURE_POISON", "6.6", false),
    ("UFFD_FEATURE_WP_ASYNC", "6.7", false),
    ("UFFD_FEATURE_MOVE", "6.8", false),
    ("UFFD_FEATURE_RWP", "7.3-rc", true),
    ("UFFD_FEATURE_RWP_ASYNC", "7.3-rc", true),
    ("UFFDIO_REGISTER_MODE_MISSING", "4.3", false),
    ("UFFDIO_REGISTER_MODE_WP", "5.7", false),
    ("UFFDIO_REGISTER_MODE_MINOR", "5.13", false),
    ("UFFDIO_REGISTER_MODE_RWP", "7.3-rc", true),
    ("UFFDIO_COPY_MODE_DONTWAKE", "4.3", false),
    ("UFFDIO_COPY_MODE_WP", "5.7", false),
    ("UFFDIO_ZEROPAGE_MODE_DONTWAKE", "4.3", false),
    ("UFFDIO_WRITEPROTECT_MODE_WP", "5.7", false),
    ("UFFDIO_WRITEPROTECT_MODE_DONTWAKE", "5.7", false),
    ("UFFDIO_CONTINUE_MODE_DONTWAKE", "5.13", false),
    ("UFFDIO_CONTINUE_MODE_WP", "6.4", false),
    ("UFFDIO_POISON_MODE_DONTWAKE", "6.6", false),
    ("UFFDIO_MOVE_MODE_DONTWAKE", "6.8", false),
    ("UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES", "6.8", false),
    ("UFFDIO_RWPROTECT_MODE_RWP", "7.3-rc", true),
    ("UFFDIO_RWPROTECT_MODE_DONTWAKE", "7.3-rc", true),
    ("UFFD_USER_MODE_ONLY", "5.11", false),
    // linux/fs.h: PAGEMAP_SCAN (the ioctl on /proc/<pid>/pagemap).
    ("PROCFS_IOCTL_MAGIC", "6.11", false),
    ("PAGE_IS_WPALLOWED", "6.7", false),
    ("PAGE_IS_WRITTEN", "6.7", false),
    ("PAGE_IS_FILE", "6.7", false),
    ("PAGE_IS_PRESENT", "6.7", false),
    ("PAGE_IS_SWAPPED", "6.7", false),
    ("PAGE_IS_PFNZERO", "6.7", false),
    ("PAGE_IS_HUGE", "6.7", false),
    ("PAGE_IS_SOFT_DIRTY", "6.7", false),
    ("PAGE_IS_GUARD", "6.16", false),
    ("PM_SCAN_WP_MATCHING", "6.7", false),
    ("PM_SCAN_CHECK_WPASYNC", "6.7", false),
];

/// The version-dependent aggregates.
const AGGREGATES: &[(&str, &str)] = &[
    ("UFFD_API_REGISTER_MODES", "4.3"),
    ("UFFD_API_FEATURES", "4.11"),
    ("UFFD_API_IOCTLS", "4.3"),
    ("UFFD_API_RANGE_IOCTLS", "4.3"),
    ("UFFD_API_RANGE_IOCTLS_BASIC", "4.11"),
];

/// `(name, since, unstable)` of every ioctl request number.
pub const IOCTLS: &[(&str, &str, bool)] = &[
    ("USERFAULTFD_IOC_NEW", "6.1", false),
    ("UFFDIO_API", "4.3", false),
    ("UFFDIO_REGISTER", "4.3", false),
    ("UFFDIO_UNREGISTER", "4.3", false),
    ("UFFDIO_WAKE", "4.3", false),
    ("UFFDIO_COPY", "4.3", false),
    ("UFFDIO_ZEROPAGE", "4.3", false),
    ("UFFDIO_MOVE", "6.8", false),
    ("UFFDIO_WRITEPROTECT", "5.7", false),
    ("UFFDIO_CONTINUE", "5.13", false),
    ("UFFDIO_POISON", "6.6", false),
    ("UFFDIO_RWPROTECT", "7.3-rc", true),
    ("UFFDIO_SET_MODE", "7.3-rc", true),
    ("PAGEMAP_SCAN", "6.7", false),
];

/// `(name, since)` of the `uffd::sys` values of kernel uapi headers other than
/// `linux/userfaultfd.h` (per ABI: compared with the crate built for that ABI).
const SYS_CONSTS: &[(&str, &str)] = &[
    ("__NR_fcntl", "2.0"),
    ("__NR_sendmsg", "2.0"),
    ("__NR_recvmsg", "2.0"),
    ("__NR_munmap", "2.0"),
    ("__NR_madvise", "2.4"),
    ("__NR_mremap", "2.0"),
    ("__NR_getrusage", "2.0"),
    ("RUSAGE_THREAD", "2.6.26"),
    ("PROT_NONE", "2.0"),
    ("PROT_READ", "2.0"),
    ("PROT_WRITE", "2.0"),
    ("PROT_EXEC", "2.0"),
    ("MAP_SHARED", "2.0"),
    ("MAP_PRIVATE", "2.0"),
    ("MAP_FIXED", "2.0"),
    ("MAP_ANONYMOUS", "2.0"),
    ("MAP_NORESERVE", "2.0"),
    ("MAP_POPULATE", "2.6"),
    ("MAP_HUGETLB", "2.6"),
    ("MAP_FIXED_NOREPLACE", "4.17"),
    ("MADV_NORMAL", "2.4"),
    ("MADV_DONTNEED", "2.4"),
    ("MADV_FREE", "4.5"),
    ("MADV_REMOVE", "2.6"),
    ("MREMAP_MAYMOVE", "2.0"),
    ("MREMAP_FIXED", "2.4"),
    ("MREMAP_DONTUNMAP", "5.7"),
    ("F_GETFL", "2.0"),
    ("F_SETFL", "2.0"),
    ("SOL_SOCKET", "2.0"),
];

/// `(name, since)` of every `uffd::Errno` constant (`asm-generic/errno-base.h` and
/// `asm/errno.h`: `ENOSYS`, `EOPNOTSUPP` and `EHWPOISON` differ on mips and others).
const ERRNOS: &[(&str, &str)] = &[
    ("EPERM", "1.0"),
    ("ENOENT", "1.0"),
    ("ESRCH", "1.0"),
    ("EINTR", "1.0"),
    ("EIO", "1.0"),
    ("ENXIO", "1.0"),
    ("E2BIG", "1.0"),
    ("EBADF", "1.0"),
    ("ECHILD", "1.0"),
    ("EAGAIN", "1.0"),
    ("EWOULDBLOCK", "1.0"),
    ("ENOMEM", "1.0"),
    ("EACCES", "1.0"),
    ("EFAULT", "1.0"),
    ("EBUSY", "1.0"),
    ("EEXIST", "1.0"),
    ("ENODEV", "1.0"),
    ("EINVAL", "1.0"),
    ("ENFILE", "1.0"),
    ("EMFILE", "1.0"),
    ("ENOTTY", "1.0"),
    ("ENOSPC", "1.0"),
    ("EPIPE", "1.0"),
    ("ERANGE", "1.0"),
    ("ENOSYS", "1.0"),
    ("EOPNOTSUPP", "2.2"),
    ("EHWPOISON", "2.6.32"),
];

/// `(name, since)` of the `uffd::sys` values of the C library's `<sys/socket.h>`.
const LIBC_CONSTS: &[(&str, &str)] = &[
    ("SCM_RIGHTS", "2.0"),
    ("MSG_CTRUNC", "2.0"),
    ("MSG_TRUNC", "2.0"),
    ("MSG_NOSIGNAL", "2.2"),
    ("MSG_CMSG_CLOEXEC", "2.6"),
];

/// `(C type, uffd::sys type, fields)` of the C library's socket structs.
const LIBC_STRUCTS: &[(&str, &str, &[&str])] = &[
    ("struct iovec", "IoVec", &["iov_base", "iov_len"]),
    (
        "struct msghdr",
        "MsgHdr",
        &[
            "msg_name",
            "msg_namelen",
            "msg_iov",
            "msg_iovlen",
            "msg_control",
            "msg_controllen",
            "msg_flags",
        ],
    ),
    (
        "struct cmsghdr",
        "CmsgHdr",
        &["cmsg_len", "cmsg_level", "cmsg_type"],
    ),
];

/// `(C type, uffd::sys type, fields)` of the kernel's own structs outside
/// `linux/userfaultfd.h` (`linux/resource.h`), guarded by `RUSAGE_THREAD`.
const KERNEL_STRUCTS: &[(&str, &str, &[&str])] = &[(
    "struct rusage",
    "Rusage",
    &[
        "ru_utime",
        "ru_stime",
        "ru_maxrss",
        "ru_minflt",
        "ru_majflt",
        "ru_nvcsw",
        "ru_nivcsw",
    ],
)];

/// A struct or union of the header: C type, Rust type, guard, since, fields.
struct Aggregate {
    /// The C type as written in an expression (`struct uffdio_api`, or a `__typeof__` of a
    /// nested anonymous member).
    c_type: &'static str,
    /// Report name of the type.
    name: &'static str,
    /// The Rust type in `uffd::abi`.
    rust: &'static str,
    /// `None`: a named struct, offsets are from its start. `Some(path)`: a nested anonymous
    /// member of `struct uffd_msg` at `path` (its size and alignment only; its fields are
    /// checked from `struct uffd_msg`).
    nested: Option<&'static str>,
    guard: &'static str,
    since: &'static str,
    unstable: bool,
    /// `(C field path, guard, since)`; an empty guard means the struct's own.
    fields: &'static [(&'static str, &'static str, &'static str)],
}

const MSG: &str = "struct uffd_msg";

const STRUCTS: &[Aggregate] = &[
    Aggregate {
        c_type: "struct uffdio_api",
        name: "struct uffdio_api",
        rust: "uffdio_api",
        nested: None,
        guard: "UFFDIO_API",
        since: "4.3",
        unstable: false,
        fields: &[("api", "", ""), ("features", "", ""), ("ioctls", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_range",
        name: "struct uffdio_range",
        rust: "uffdio_range",
        nested: None,
        guard: "UFFDIO_API",
        since: "4.3",
        unstable: false,
        fields: &[("start", "", ""), ("len", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_register",
        name: "struct uffdio_register",
        rust: "uffdio_register",
        nested: None,
        guard: "UFFDIO_REGISTER",
        since: "4.3",
        unstable: false,
        fields: &[
            ("range", "", ""),
            ("range.start", "", ""),
            ("range.len", "", ""),
            ("mode", "", ""),
            ("ioctls", "", ""),
        ],
    },
    Aggregate {
        c_type: "struct uffdio_copy",
        name: "struct uffdio_copy",
        rust: "uffdio_copy",
        nested: None,
        guard: "UFFDIO_COPY",
        since: "4.3",
        unstable: false,
        fields: &[
            ("dst", "", ""),
            ("src", "", ""),
            ("len", "", ""),
            ("mode", "", ""),
            ("copy", "", ""),
        ],
    },
    Aggregate {
        c_type: "struct uffdio_zeropage",
        name: "struct uffdio_zeropage",
        rust: "uffdio_zeropage",
        nested: None,
        guard: "UFFDIO_ZEROPAGE",
        since: "4.3",
        unstable: false,
        fields: &[("range", "", ""), ("mode", "", ""), ("zeropage", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_writeprotect",
        name: "struct uffdio_writeprotect",
        rust: "uffdio_writeprotect",
        nested: None,
        guard: "UFFDIO_WRITEPROTECT",
        since: "5.7",
        unstable: false,
        fields: &[("range", "", ""), ("mode", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_continue",
        name: "struct uffdio_continue",
        rust: "uffdio_continue",
        nested: None,
        guard: "UFFDIO_CONTINUE",
        since: "5.13",
        unstable: false,
        fields: &[("range", "", ""), ("mode", "", ""), ("mapped", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_poison",
        name: "struct uffdio_poison",
        rust: "uffdio_poison",
        nested: None,
        guard: "UFFDIO_POISON",
        since: "6.6",
        unstable: false,
        fields: &[("range", "", ""), ("mode", "", ""), ("updated", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_move",
        name: "struct uffdio_move",
        rust: "uffdio_move",
        nested: None,
        guard: "UFFDIO_MOVE",
        since: "6.8",
        unstable: false,
        fields: &[
            ("dst", "", ""),
            ("src", "", ""),
            ("len", "", ""),
            ("mode", "", ""),
            ("move", "", ""),
        ],
    },
    Aggregate {
        c_type: "struct uffdio_rwprotect",
        name: "struct uffdio_rwprotect",
        rust: "uffdio_rwprotect",
        nested: None,
        guard: "UFFDIO_RWPROTECT",
        since: "7.3-rc",
        unstable: true,
        fields: &[("range", "", ""), ("mode", "", "")],
    },
    Aggregate {
        c_type: "struct uffdio_set_mode",
        name: "struct uffdio_set_mode",
        rust: "uffdio_set_mode",
        nested: None,
        guard: "UFFDIO_SET_MODE",
        since: "7.3-rc",
        unstable: true,
        fields: &[("enable", "", ""), ("disable", "", "")],
    },
    Aggregate {
        c_type: "struct page_region",
        name: "struct page_region",
        rust: "page_region",
        nested: None,
        guard: "PAGEMAP_SCAN",
        since: "6.7",
        unstable: false,
        fields: &[("start", "", ""), ("end", "", ""), ("categories", "", "")],
    },
    Aggregate {
        c_type: "struct pm_scan_arg",
        name: "struct pm_scan_arg",
        rust: "pm_scan_arg",
        nested: None,
        guard: "PAGEMAP_SCAN",
        since: "6.7",
        unstable: false,
        fields: &[
            ("size", "", ""),
            ("flags", "", ""),
            ("start", "", ""),
            ("end", "", ""),
            ("walk_end", "", ""),
            ("vec", "", ""),
            ("vec_len", "", ""),
            ("max_pages", "", ""),
            ("category_inverted", "", ""),
            ("category_mask", "", ""),
            ("category_anyof_mask", "", ""),
            ("return_mask", "", ""),
        ],
    },
    Aggregate {
        c_type: MSG,
        name: MSG,
        rust: "uffd_msg",
        nested: None,
        guard: "UFFD_EVENT_PAGEFAULT",
        since: "4.3",
        unstable: false,
        fields: &[
            ("event", "", ""),
            ("reserved1", "", ""),
            ("reserved2", "", ""),
            ("reserved3", "", ""),
            ("arg", "", ""),
            ("arg.pagefault", "", ""),
            ("arg.pagefault.flags", "", ""),
            ("arg.pagefault.address", "", ""),
            ("arg.pagefault.feat", "UFFD_FEATURE_THREAD_ID", "4.14"),
            ("arg.pagefault.feat.ptid", "UFFD_FEATURE_THREAD_ID", "4.14"),
            ("arg.fork", "UFFD_EVENT_FORK", "4.11"),
            ("arg.fork.ufd", "UFFD_EVENT_FORK", "4.11"),
            ("arg.remap", "UFFD_EVENT_REMAP", "4.11"),
            ("arg.remap.from", "UFFD_EVENT_REMAP", "4.11"),
            ("arg.remap.to", "UFFD_EVENT_REMAP", "4.11"),
            ("arg.remap.len", "UFFD_EVENT_REMAP", "4.11"),
            ("arg.remove", "UFFD_EVENT_REMOVE", "4.11"),
            ("arg.remove.start", "UFFD_EVENT_REMOVE", "4.11"),
            ("arg.remove.end", "UFFD_EVENT_REMOVE", "4.11"),
            ("arg.reserved", "", ""),
            ("arg.reserved.reserved1", "", ""),
            ("arg.reserved.reserved2", "", ""),
            ("arg.reserved.reserved3", "", ""),
        ],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg)",
        name: "uffd_msg.arg",
        rust: "uffd_msg_arg",
        nested: Some("arg"),
        guard: "UFFD_EVENT_PAGEFAULT",
        since: "4.3",
        unstable: false,
        fields: &[],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg.pagefault)",
        name: "uffd_msg.arg.pagefault",
        rust: "uffd_msg_pagefault",
        nested: Some("arg.pagefault"),
        guard: "UFFD_EVENT_PAGEFAULT",
        since: "4.3",
        unstable: false,
        fields: &[],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg.pagefault.feat)",
        name: "uffd_msg.arg.pagefault.feat",
        rust: "uffd_msg_pagefault_feat",
        nested: Some("arg.pagefault.feat"),
        guard: "UFFD_FEATURE_THREAD_ID",
        since: "4.14",
        unstable: false,
        fields: &[],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg.fork)",
        name: "uffd_msg.arg.fork",
        rust: "uffd_msg_fork",
        nested: Some("arg.fork"),
        guard: "UFFD_EVENT_FORK",
        since: "4.11",
        unstable: false,
        fields: &[],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg.remap)",
        name: "uffd_msg.arg.remap",
        rust: "uffd_msg_remap",
        nested: Some("arg.remap"),
        guard: "UFFD_EVENT_REMAP",
        since: "4.11",
        unstable: false,
        fields: &[],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg.remove)",
        name: "uffd_msg.arg.remove",
        rust: "uffd_msg_remove",
        nested: Some("arg.remove"),
        guard: "UFFD_EVENT_REMOVE",
        since: "4.11",
        unstable: false,
        fields: &[],
    },
    Aggregate {
        c_type: "__typeof__(((struct uffd_msg *)0)->arg.reserved)",
        name: "uffd_msg.arg.reserved",
        rust: "uffd_msg_reserved",
        nested: Some("arg.reserved"),
        guard: "UFFD_EVENT_PAGEFAULT",
        since: "4.3",
        unstable: false,
        fields: &[],
    },
];

/// The names of the header's named structs the crate mirrors (to find structs it lacks).
pub fn struct_names() -> impl Iterator<Item = &'static str> {
    STRUCTS
        .iter()
        .filter(|s| s.nested.is_none())
        .map(|s| s.rust)
}

/// A C member path as a Rust one (`move` is a keyword).
fn rust_path(path: &str) -> String {
    path.split('.')
        .map(|p| if p == "move" { "r#move" } else { p })
        .collect::<Vec<_>>()
        .join(".")
}

/// Every item, in a fixed order (the order of the probe's value array and of the crate's value
/// array in `layout-tests`).
pub fn items() -> Vec<Item> {
    let mut v = Vec::new();
    let c = |name: &str| format!("(unsigned long long)({name})");
    for &(name, since, unstable) in CONSTS {
        v.push(Item {
            key: name.into(),
            c_expr: c(name),
            guard: name.into(),
            since,
            unstable,
            kind: Kind::Const,
            rust: Some(format!("uffd::abi::{name} as u64")),
        });
    }
    // Each aggregate twice: the 7.2 value under the kernel's name (compared with a 7.2 header),
    // and 7.3-rc's under `<name>_7_3` (compared with a 7.3 header, only with `unstable-7-3`).
    for &(name, since) in AGGREGATES {
        for unstable in [false, true] {
            let (key, rust) = if unstable {
                (format!("{name} (7.3-rc)"), format!("{name}_7_3"))
            } else {
                (name.to_string(), name.to_string())
            };
            v.push(Item {
                key,
                c_expr: c(name),
                guard: name.into(),
                since,
                unstable,
                kind: Kind::Aggregate,
                rust: Some(format!("uffd::abi::{rust} as u64")),
            });
        }
    }
    for &(name, since, unstable) in IOCTLS {
        v.push(Item {
            key: name.into(),
            c_expr: c(name),
            guard: name.into(),
            since,
            unstable,
            kind: Kind::Ioctl,
            rust: Some(format!("uffd::abi::{name} as u64")),
        });
    }
    for s in STRUCTS {
        let ty = format!("uffd::abi::{}", s.rust);
        let size_kind = if s.nested.is_some() {
            Kind::InnerSize
        } else {
            Kind::Size
        };
        v.push(Item {
            key: format!("sizeof({})", s.name),
            c_expr: format!("sizeof({})", s.c_type),
            guard: s.guard.into(),
            since: s.since,
            unstable: s.unstable,
            kind: size_kind,
            rust: Some(format!("::core::mem::size_of::<{ty}>() as u64")),
        });
        v.push(Item {
            key: format!("alignof({})", s.name),
            c_expr: format!("__alignof__({})", s.c_type),
            guard: s.guard.into(),
            since: s.since,
            unstable: s.unstable,
            kind: Kind::Align,
            rust: Some(format!("::core::mem::align_of::<{ty}>() as u64")),
        });
        for &(path, guard, since) in s.fields {
            v.push(Item {
                key: format!("offsetof({}, {path})", s.name),
                c_expr: format!("__builtin_offsetof({}, {path})", s.c_type),
                guard: if guard.is_empty() { s.guard } else { guard }.into(),
                since: if since.is_empty() { s.since } else { since },
                unstable: s.unstable,
                kind: Kind::Offset,
                rust: Some(format!(
                    "::core::mem::offset_of!({ty}, {}) as u64",
                    rust_path(path)
                )),
            });
        }
    }
    for name in [
        "__NR_userfaultfd",
        "__NR_pread64",
        "O_CLOEXEC",
        "O_NONBLOCK",
    ] {
        v.push(Item {
            key: name.into(),
            c_expr: c(name),
            guard: name.into(),
            since: "4.3",
            unstable: false,
            kind: Kind::Sys,
            rust: Some(format!("uffd::sys::{name} as u64")),
        });
    }
    // `uffd::sys`'s memory, fcntl and socket calls: numbers from `asm/unistd.h`, constants from
    // `asm/mman.h`, `linux/mman.h`, `asm/fcntl.h`, `asm/socket.h`.
    let sys = |key: &str, c_expr: String, guard: &str, since: &'static str, rust: String| Item {
        key: key.into(),
        c_expr,
        guard: guard.into(),
        since,
        unstable: false,
        kind: Kind::Sys,
        rust: Some(rust),
    };
    for &(name, since) in SYS_CONSTS {
        v.push(sys(
            name,
            c(name),
            name,
            since,
            format!("uffd::sys::{name} as u64"),
        ));
    }
    for &(name, since) in ERRNOS {
        v.push(sys(
            name,
            c(name),
            name,
            since,
            format!("uffd::Errno::{name}.raw() as u64"),
        ));
    }
    // The number `uffd::sys::mmap` issues: `mmap2` where the ABI has it (the 32-bit ones).
    v.push(sys(
        "__NR_mmap2, else __NR_mmap",
        c("PROBE_NR_MMAP"),
        "PROBE_NR_MMAP",
        "2.4",
        "uffd::sys::MMAP_NR as u64".into(),
    ));
    // The C library's `<sys/socket.h>` (the kernel does not export these to uapi): compared
    // where the ABI's C library headers are installed, "not in this header" where not.
    for &(name, since) in LIBC_CONSTS {
        v.push(sys(
            name,
            c(name),
            "SCM_RIGHTS",
            since,
            format!("uffd::sys::{name} as u64"),
        ));
    }
    for macro_ in ["CMSG_LEN", "CMSG_SPACE"] {
        let rust = macro_
            .strip_prefix("CMSG_")
            .unwrap_or(macro_)
            .to_lowercase();
        v.push(sys(
            &format!("{macro_}(sizeof(int))"),
            c(&format!("{macro_}(sizeof(int))")),
            "SCM_RIGHTS",
            "2.2",
            format!("uffd::sys::cmsg_{rust}(4) as u64"),
        ));
    }
    // The kernel's own structs (no alignment check: `long`s only), then the C library's.
    let structs = KERNEL_STRUCTS
        .iter()
        .map(|s| (s, "RUSAGE_THREAD", "2.6.26", false))
        .chain(LIBC_STRUCTS.iter().map(|s| (s, "SCM_RIGHTS", "2.2", true)));
    for (&(c_type, rust, fields), guard, since, align) in structs {
        let ty = format!("uffd::sys::{rust}");
        v.push(sys(
            &format!("sizeof({c_type})"),
            format!("sizeof({c_type})"),
            guard,
            since,
            format!("::core::mem::size_of::<{ty}>() as u64"),
        ));
        if align {
            v.push(sys(
                &format!("alignof({c_type})"),
                format!("__alignof__({c_type})"),
                guard,
                since,
                format!("::core::mem::align_of::<{ty}>() as u64"),
            ));
        }
        for f in fields {
            v.push(sys(
                &format!("offsetof({c_type}, {f})"),
                format!("__builtin_offsetof({c_type}, {f})"),
                guard,
                since,
                format!("::core::mem::offset_of!({ty}, {f}) as u64"),
            ));
        }
    }
    v.push(Item {
        key: "LINUX_VERSION_CODE".into(),
        c_expr: c("LINUX_VERSION_CODE"),
        guard: "LINUX_VERSION_CODE".into(),
        since: "",
        unstable: false,
        kind: Kind::Info,
        rust: None,
    });
    v
}

/// `"6.8"` / `"7.3-rc"` as `(major, minor)`; `None` for an empty string.
pub fn parse_since(since: &str) -> Option<(u32, u32)> {
    let s = since.trim_end_matches("-rc");
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
