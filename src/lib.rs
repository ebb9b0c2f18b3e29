//! # uffd — the Linux userfaultfd ABI, bare
//!
//! `#![no_std]`, no `alloc`, no libc. Layers, each using only those before it:
//!
//! - [`ioctl`]: `_IO`/`_IOR`/`_IOW`/`_IOWR` with every architecture family's encoding.
//! - [`abi`]: `linux/userfaultfd.h` one-to-one under the kernel's names (data only).
//! - [`flags`]: typed `bitflags` over the header's bit sets.
//! - [`sys`]: inline raw system calls (the only place that issues one) and [`Errno`]; [`fd`]:
//!   borrowed descriptors with std's I/O-safety rules, for `no_std`.
//! - [`Uffd`] ([`Builder`], [`Unnegotiated`]): open, negotiate, register, resolve faults,
//!   with partial progress reported honestly ([`Error`]). Creating one is `unsafe`: a
//!   userfaultfd reaches every registered range of its process (the guide's section 2).
//! - [`event`]: batched reads into a caller's buffer, decoded into [`Event`]s.
//! - [`wait`]: waiting on a userfaultfd together with other descriptors.
//! - [`pager`] (an engine on top of the handle): serves faults from a source with readahead,
//!   background fill and the non-cooperative events handled, allocation-free.
//! - `handoff` (`std`): a userfaultfd and a payload over a UNIX socket (`SCM_RIGHTS`), as
//!   Firecracker hands its fd to a page-fault handler.
//! - [`pagemap`]: dirty-page tracking without faults, `PAGEMAP_SCAN` over `WP_ASYNC` ranges
//!   (Linux 6.7), with a fallback that reads pagemap entries.
//!
//! New here? Start with the [`guide`]: choosing syscall or `/dev/userfaultfd`, privileges,
//! feature probing, partial progress, events that block, and a handler loop done right.
//!
//! No allocation anywhere. With the `std` feature: `OwnedFd`/`AsFd`/`AsRawFd` conversions,
//! `std::error::Error`, and `From<Errno> for std::io::Error` (on Linux; on targets without an OS,
//! such as `x86_64-unknown-none`, the feature changes nothing, so `--all-features` builds there).
#![cfg_attr(not(all(feature = "std", target_os = "linux")), no_std)]
#![cfg_attr(target_arch = "mips64", feature(asm_experimental_arch))]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod fd;
pub mod flags;
pub mod guide;
pub mod ioctl;
pub mod sys;

mod error;
pub mod event;
#[cfg(all(feature = "std", target_os = "linux"))]
pub mod handoff;
pub mod pagemap;
// The pager's shared state (populated bitmaps, counters) is 64-bit atomics: on targets without
// them (powerpc32, mips32) it is not built.
#[cfg(target_has_atomic = "64")]
pub mod pager;
mod uffd;
pub mod wait;

pub use error::{Call, Error, RangeError};
pub use event::{Event, Events};
pub use sys::Errno;
pub use uffd::{Builder, Hugetlb, OpenStrategy, Probe, Uffd, Unnegotiated};

// The README's examples are compiled (and the first run) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
