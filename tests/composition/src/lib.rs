//! `uffd` in the company of another sound crate that registers memory its own way.
//!
//! The kernel lets any userfaultfd of a process resolve faults in any range registered with any
//! userfaultfd of that process (`validate_dst_vma()` in `mm/userfaultfd.c` checks only that the
//! destination has *a* userfaultfd context). userfaultfd 0.9's `register` is safe (its
//! `copy`/`zeropage` are `unsafe`), and so a `uffd::Uffd` obtained safely would let two sound
//! crates compose into undefined behaviour: the program below would overwrite a `Vec`'s
//! `Option<Box<u64>>`s with `0x4141…` and crash reading them. Creating a `Uffd` is `unsafe`
//! (the capability promise, see `uffd::Uffd`), so the program does not compile:
//!
//! ```compile_fail,E0133
//! #![forbid(unsafe_code)]
//! let v: Vec<Option<Box<u64>>> = vec![None; 1 << 20]; // calloc → a fresh mmap
//! let page = (v.as_ptr() as usize + 4095) & !4095;
//! let lib = userfaultfd::UffdBuilder::new().non_blocking(true).create().unwrap();
//! lib.register(page as *mut _, 4096).unwrap(); // userfaultfd 0.9: register is safe
//! let mine = uffd::Uffd::builder().create().unwrap(); // registered nothing
//! let _ = mine.copy(page, &[0x41u8; 4096], uffd::flags::CopyMode::empty());
//! ```
//!
//! The same program with the promise written out compiles (so the only error above is the
//! missing `unsafe`, E0133); it is not run, because its promise would be false:
//!
//! ```no_run
//! let v: Vec<Option<Box<u64>>> = vec![None; 1 << 20];
//! let page = (v.as_ptr() as usize + 4095) & !4095;
//! let lib = userfaultfd::UffdBuilder::new().non_blocking(true).create().unwrap();
//! lib.register(page as *mut _, 4096).unwrap();
//! // The capability promise, written out — and false here: `lib` registered a page that `v`
//! // owns, and the copy below reaches it. Writing `unsafe` is where that is decided.
//! let mine = unsafe { uffd::Uffd::builder().create() }.unwrap();
//! let _ = mine.copy(page, &[0x41u8; 4096], uffd::flags::CopyMode::empty());
//! ```
//!
//! `tests/kernel_facts.rs` shows, on the running kernel, what the promise rests on: which
//! operations of one userfaultfd reach another's registration.
