//! `/init` for `cargo xtask vm-test`: the shared kernel test suite as a static, libc-free binary.
//!
//! Our own `_start` (per architecture, in `arch/`) hands the initial stack to [`start_rust`],
//! which reads argc/argv/envp and the auxiliary vector (the page size comes from `AT_PAGESZ`),
//! runs every case of `tests/suite` and prints one line per case on the console:
//!
//! ```text
//! uffd-suite: begin arch=<arch> page_size=<n> cases=<n>
//! uffd-suite: features=0x<mask>            (or: features=none (<why>))
//! uffd-offers: ...                           (what the kernel offers: tests/suite/offers.rs)
//! uffd-suite: running <name>                 (before each case)
//! uffd-case: <name> ... pass
//! uffd-case: <name> ... skip: <reason>
//! uffd-case: <name> ... fail: <message>
//! uffd-suite: end passed=<n> skipped=<n> failed=<n>
//! ```
//!
//! As PID 1 it first mounts devtmpfs on /dev and proc on /proc (a failed mount is a
//! `uffd-suite: panic:` line and ends the run), and at the end powers the machine off with
//! `reboot(2)`; as any other process (run under qemu-user or on the host by `cargo xtask
//! cross-test`) it exits with status 1 if a case failed.
//! A panic prints `uffd-suite: panic: ...` and stops the same way.

#![no_std]
#![no_main]
// The compiler must not turn the loops in `mem` (memcpy and friends) into calls to themselves.
#![no_builtins]
// mips `asm!`/`global_asm!` is unstable (nightly with -Zbuild-std only there).
#![cfg_attr(target_arch = "mips64", feature(asm_experimental_arch))]

#[path = "../../suite/mod.rs"]
mod suite;

mod console;
mod mem;
mod sys;

#[cfg_attr(target_arch = "x86_64", path = "arch/x86_64.rs")]
#[cfg_attr(target_arch = "x86", path = "arch/x86.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arch/aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "arch/arm.rs")]
#[cfg_attr(target_arch = "riscv64", path = "arch/riscv64.rs")]
#[cfg_attr(target_arch = "powerpc64", path = "arch/powerpc64.rs")]
#[cfg_attr(target_arch = "s390x", path = "arch/s390x.rs")]
#[cfg_attr(target_arch = "mips64", path = "arch/mips64.rs")]
#[cfg_attr(target_arch = "loongarch64", path = "arch/loongarch64.rs")]
mod arch;

use console::Console;
use core::fmt::Write;

/// `AT_NULL`, `AT_PAGESZ` from `linux/auxvec.h`.
const AT_NULL: usize = 0;
const AT_PAGESZ: usize = 6;

/// What the kernel put on the initial stack.
struct Start {
    argc: usize,
    page_size: Option<usize>,
}

/// Reads argc, skips argv and envp, and walks the auxiliary vector.
///
/// # Safety
/// `sp` is the stack pointer the kernel handed to `_start`.
unsafe fn read_start(sp: *const usize) -> Start {
    // SAFETY: the kernel's initial stack is argc, argv[argc], NULL, envp..., NULL, then
    // (type, value) pairs ending with AT_NULL; every read stays inside that layout.
    unsafe {
        let argc = *sp;
        let mut p = sp.add(1 + argc + 1); // first envp entry
        while *p != 0 {
            p = p.add(1);
        }
        p = p.add(1); // first auxv entry
        let mut page_size = None;
        while *p != AT_NULL {
            if *p == AT_PAGESZ {
                page_size = Some(*p.add(1));
            }
            p = p.add(2);
        }
        Start { argc, page_size }
    }
}

/// Called by `_start` with the initial stack pointer.
///
/// # Safety
/// Only `_start` calls it, once, with the kernel's initial stack pointer.
#[no_mangle]
pub unsafe extern "C" fn start_rust(sp: *const usize) -> ! {
    // SAFETY: `_start` passes the kernel's initial stack pointer.
    let start = unsafe { read_start(sp) };
    let failed = run(&start);
    finish(if failed { 1 } else { 0 })
}

fn run(start: &Start) -> bool {
    let mut out = Console;
    let Some(page_size) = start.page_size.filter(|p| p.is_power_of_two()) else {
        let _ = writeln!(
            out,
            "uffd-suite: panic: no valid AT_PAGESZ in the auxiliary vector (argc {})",
            start.argc
        );
        return true;
    };
    let _ = writeln!(
        out,
        "uffd-suite: begin arch={} page_size={page_size} cases={}",
        arch::ARCH,
        suite::CASES.len()
    );
    if sys::getpid() == 1 {
        mount_filesystems(&mut out);
    }
    features(&mut out);
    suite::offers::print(&mut out, page_size);
    let ctx = suite::Ctx { page_size };
    let (mut passed, mut skipped, mut failed) = (0, 0, 0);
    for case in suite::CASES {
        // Names the case if it never returns (the harness's timeout then says which).
        let _ = writeln!(out, "uffd-suite: running {}", case.name);
        match (case.run)(&ctx) {
            suite::Outcome::Pass => {
                passed += 1;
                let _ = writeln!(out, "uffd-case: {} ... pass", case.name);
            }
            suite::Outcome::Skip(why) => {
                skipped += 1;
                let _ = writeln!(
                    out,
                    "uffd-case: {} ... skip: {}",
                    case.name,
                    one_line(why.as_str())
                );
            }
            suite::Outcome::Fail(why) => {
                failed += 1;
                let _ = writeln!(
                    out,
                    "uffd-case: {} ... fail: {}",
                    case.name,
                    one_line(why.as_str())
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "uffd-suite: end passed={passed} skipped={skipped} failed={failed}"
    );
    failed != 0
}

/// Messages go on one console line each: newlines would break the parser.
fn one_line(s: &str) -> OneLine<'_> {
    OneLine(s)
}

struct OneLine<'a>(&'a str);

impl core::fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in self.0.chars() {
            f.write_char(if c == '\n' || c == '\r' { ' ' } else { c })?;
        }
        Ok(())
    }
}

/// Prints what the kernel offers (`UFFDIO_API` on a throwaway fd, through the crate's handle).
fn features(out: &mut Console) {
    // The raw truth (tests/suite/truth.rs: our own syscall numbers, struct and ioctl number),
    // not the crate's probe: the mask vm-test checks must not come from the code under test.
    let _ = match suite::truth::syscall(false) {
        suite::truth::Raw::Offered { features, ioctls } => {
            writeln!(out, "uffd-suite: features={features:#x} ioctls={ioctls:#x}")
        }
        suite::truth::Raw::Failed { step, errno } => {
            writeln!(out, "uffd-suite: features=none (raw {step:?}: {errno:?})")
        }
    };
}

/// Powers off as PID 1 (QEMU then exits), otherwise exits with `status`.
fn finish(status: usize) -> ! {
    if sys::getpid() == 1 {
        // SAFETY: PID 1 is the VM's init (on a host, init is not us).
        let e = unsafe { sys::power_off() };
        let _ = writeln!(Console, "uffd-suite: panic: reboot(RB_POWER_OFF): {e:?}");
    }
    sys::exit_group(status)
}

/// As the VM's init: devtmpfs on /dev (for `/dev/userfaultfd`, whose minor is dynamic) and
/// procfs on /proc (sysctls), as on any booted system. A failed mount fails the boot: it prints
/// `uffd-suite: panic: mount ...` (which `cargo xtask vm-test` counts as a failure) and powers
/// off before any case runs, since the cases would otherwise skip or fail for a reason that is
/// not the kernel's.
fn mount_filesystems(out: &mut Console) {
    for (fstype, target) in [(c"devtmpfs", c"/dev"), (c"proc", c"/proc")] {
        if let Err(e) = sys::mount(fstype, target, fstype) {
            let _ = writeln!(
                out,
                "uffd-suite: panic: mount {fstype:?} on {target:?}: {e:?}"
            );
            finish(1);
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(Console, "uffd-suite: panic: {info}");
    finish(101)
}
