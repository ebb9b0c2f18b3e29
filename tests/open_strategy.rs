//! `OpenStrategy::SyscallThenDevice` (issue 11): `userfaultfd(2)` first, `/dev/userfaultfd` when
//! the syscall is missing or refused. On the host as root it opens; as nobody (a forked child,
//! uid/gid 65534) with `vm.unprivileged_userfaultfd = 0` and the device at its default mode
//! (0600 root) both ways are refused and the error names both; and where the device is made
//! accessible (a bind mount in a private mount namespace of the child, nothing on the host
//! changes) the refused syscall falls back to it.
//!
//! Nothing here changes the sysctl or the device: they are read, and a test whose premise
//! does not hold skips, saying why.

#![allow(clippy::result_large_err)]

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use common::raw_has_userfaultfd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use suite::rt;
use suite::util::display_contains;
use uffd::{Builder, Call, Errno, Error, OpenStrategy};

const NOBODY: u32 = 65534;

/// `Ok` if a libc call returned 0, else its errno, named with `what`.
fn step(what: &str, r: nix::libc::c_int) -> Result<(), suite::Msg> {
    if r == 0 {
        Ok(())
    } else {
        Err(crate::msg!("{what}: {:?}", nix::errno::Errno::last()))
    }
}

/// In a forked child: a mount namespace of its own whose mounts do not propagate back.
fn private_mount_namespace() -> Result<(), suite::Msg> {
    use nix::libc;
    let null = std::ptr::null::<libc::c_char>();
    // SAFETY: system calls on static NUL-terminated strings; they change the calling child's
    // own (unshared) mount namespace only.
    unsafe {
        step("unshare(CLONE_NEWNS)", libc::unshare(libc::CLONE_NEWNS))?;
        step(
            "make / private",
            libc::mount(
                null,
                c"/".as_ptr(),
                null,
                libc::MS_REC | libc::MS_PRIVATE,
                null.cast(),
            ),
        )
    }
}

/// In a private mount namespace: `source` bind-mounted over `/dev/userfaultfd`.
fn bind_over_device(source: &std::ffi::CStr) -> Result<(), suite::Msg> {
    use nix::libc;
    let null = std::ptr::null::<libc::c_char>();
    // SAFETY: mount(2) on NUL-terminated strings; a private namespace keeps it in this child.
    step("bind mount over /dev/userfaultfd", unsafe {
        libc::mount(
            source.as_ptr(),
            c"/dev/userfaultfd".as_ptr(),
            null,
            libc::MS_BIND,
            null.cast(),
        )
    })
}

/// `create()` with `strategy` must fail with exactly `want` (in a forked child).
fn expect_open(strategy: OpenStrategy, want: Error) -> Result<(), suite::Msg> {
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let r = unsafe { Builder::new().open_strategy(strategy).create() }.map(drop);
    if r != Err(want) {
        return Err(crate::msg!("{r:?}, want {want:?}"));
    }
    Ok(())
}

/// Waits for a child of `rt::spawn` and asserts it exited 0, showing its message if not.
fn child_passed(c: Result<rt::Child, suite::Msg>) {
    let mut c = c.expect("fork");
    let st = c.wait().expect("wait");
    assert_eq!(st, rt::Status::Exited(0), "{}", c.message().as_str());
}

fn syscall_then_device() -> Builder {
    Builder::new().open_strategy(OpenStrategy::SyscallThenDevice)
}

/// `vm.unprivileged_userfaultfd`, if readable.
fn unprivileged_sysctl() -> Option<String> {
    std::fs::read_to_string("/proc/sys/vm/unprivileged_userfaultfd")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Drops this (forked) process to nobody.
fn become_nobody() -> Result<(), suite::Msg> {
    rt::setresgid(NOBODY).map_err(|e| crate::msg!("setresgid: {e:?}"))?;
    rt::setresuid(NOBODY).map_err(|e| crate::msg!("setresuid: {e:?}"))
}

#[test]
fn opens_on_the_host() {
    if !raw_has_userfaultfd("opens_on_the_host") {
        return;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u = unsafe { syscall_then_device().create() }.expect("SyscallThenDevice");
    assert!(u.as_raw_fd() >= 0);
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u = unsafe {
        syscall_then_device()
            .user_mode_only(true)
            .non_blocking(true)
            .create()
    }
    .expect("SyscallThenDevice, user-mode only");
    assert_eq!(u.poll(Some(std::time::Duration::ZERO)), Ok(false));
}

/// As nobody, sysctl 0, device 0600 root: the syscall's EPERM and the device's EACCES, both in
/// one `PermissionDenied`; user-mode-only (which needs no privilege) still opens.
#[test]
fn as_nobody_both_refusals_are_named() {
    let test = "as_nobody_both_refusals_are_named";
    if !raw_has_userfaultfd(test) {
        return;
    }
    if rt::getuid_is_root() != Some(true) {
        println!("SKIP {test}: not root: cannot drop to nobody");
        return;
    }
    match unprivileged_sysctl().as_deref() {
        Some("0") => {}
        s => {
            println!("SKIP {test}: vm.unprivileged_userfaultfd is {s:?}, not 0");
            return;
        }
    }
    match std::fs::metadata("/dev/userfaultfd") {
        Ok(m) if m.file_type().is_char_device() && m.mode() & 0o777 == 0o600 && m.uid() == 0 => {}
        Ok(m) => {
            println!(
                "SKIP {test}: /dev/userfaultfd is mode {:o} uid {}, not 0600 root",
                m.mode() & 0o777,
                m.uid()
            );
            return;
        }
        Err(e) => {
            println!("SKIP {test}: /dev/userfaultfd: {e}");
            return;
        }
    }
    let c = rt::spawn(|| {
        become_nobody()?;
        let want = Error::PermissionDenied {
            call: Call::Userfaultfd,
            errno: Errno::EPERM,
            user_mode_only: false,
            device: Some(Errno::EACCES),
        };
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let r = unsafe { syscall_then_device().create() }.map(|_| ());
        if r != Err(want) {
            return Err(crate::msg!("create: {r:?}, want {want:?}"));
        }
        for needle in ["EPERM", "/dev/userfaultfd", "EACCES", "user_mode_only"] {
            if !display_contains(&want, needle) {
                return Err(crate::msg!("{needle} missing in: {want}"));
            }
        }
        let r = syscall_then_device().probe().map(|_| ());
        if r != Err(want) {
            return Err(crate::msg!("probe: {r:?}, want {want:?}"));
        }
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        match unsafe { syscall_then_device().user_mode_only(true).create() } {
            Ok(_) => Ok(()),
            Err(e) => Err(crate::msg!("user-mode only as nobody: {e:?}")),
        }
    })
    .expect("fork");
    c.join()
        .unwrap_or_else(|m| panic!("nobody: {}", m.as_str()));
}

/// The fallback itself: in a child with a private mount namespace, a node of the same device
/// with mode 0666 (on a tmpfs of its own) is bind-mounted over `/dev/userfaultfd`, then the
/// child drops to nobody. `SyscallOnly` is refused (EPERM), `SyscallThenDevice` opens
/// through the device, as does `DeviceOnly`.
#[test]
fn a_refused_syscall_falls_back_to_an_accessible_device() {
    let test = "a_refused_syscall_falls_back_to_an_accessible_device";
    if !raw_has_userfaultfd(test) {
        return;
    }
    if rt::getuid_is_root() != Some(true) {
        println!("SKIP {test}: not root: cannot set up a mount namespace");
        return;
    }
    match unprivileged_sysctl().as_deref() {
        Some("0") => {}
        s => {
            println!(
                "SKIP {test}: vm.unprivileged_userfaultfd is {s:?}, not 0: the syscall would not \
                 be refused"
            );
            return;
        }
    }
    let rdev = match std::fs::metadata("/dev/userfaultfd") {
        Ok(m) if m.file_type().is_char_device() => m.rdev(),
        r => {
            println!(
                "SKIP {test}: /dev/userfaultfd: {:?}",
                r.map(|m| m.file_type())
            );
            return;
        }
    };
    use nix::libc;
    let c = rt::spawn(|| {
        let null = std::ptr::null::<libc::c_char>();
        private_mount_namespace()?;
        // SAFETY: plain system calls on static NUL-terminated strings; they change this child
        // process's own (unshared) mount namespace only, and its umask.
        unsafe {
            step(
                "tmpfs on /tmp",
                libc::mount(
                    c"uffd-test".as_ptr(),
                    c"/tmp".as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    null.cast(),
                ),
            )?;
            libc::umask(0);
            step(
                "mknod",
                libc::mknod(c"/tmp/userfaultfd".as_ptr(), libc::S_IFCHR | 0o666, rdev),
            )?;
        }
        bind_over_device(c"/tmp/userfaultfd")?;
        become_nobody()?;
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let r = unsafe {
            Builder::new()
                .open_strategy(OpenStrategy::SyscallOnly)
                .create()
        }
        .map(|_| ());
        if !matches!(
            r,
            Err(Error::PermissionDenied {
                call: Call::Userfaultfd,
                errno: Errno::EPERM,
                device: None,
                ..
            })
        ) {
            return Err(crate::msg!("SyscallOnly as nobody: {r:?}, want EPERM"));
        }
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        if let Err(e) = unsafe { syscall_then_device().create() } {
            return Err(crate::msg!("SyscallThenDevice, device accessible: {e:?}"));
        }
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        if let Err(e) = unsafe {
            Builder::new()
                .open_strategy(OpenStrategy::DeviceOnly)
                .create()
        } {
            return Err(crate::msg!("DeviceOnly, device accessible: {e:?}"));
        }
        Ok(())
    })
    .expect("fork");
    c.join().unwrap_or_else(|m| panic!("child: {}", m.as_str()));
}

/// With every descriptor number in use (`RLIMIT_NOFILE` reached), opening the device fails
/// with EMFILE, which the syscall would meet too: `DeviceThenSyscall` reports it as the
/// device's error and does not try the syscall (`falls_back` says no). In a forked child,
/// whose limit is lowered.
#[test]
fn emfile_is_reported_without_falling_back() {
    let test = "emfile_is_reported_without_falling_back";
    if !raw_has_userfaultfd(test) {
        return;
    }
    use nix::libc;
    let c = rt::spawn(|| {
        // The lowest free descriptor number: every number below it is in use.
        let probe = rt::open(c"/dev/null", uffd::sys::O_RDONLY)
            .map_err(|e| crate::msg!("open /dev/null: {e:?}"))?
            .0;
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct above, setrlimit reads it; only this child's
        // soft limit changes (the hard one is kept).
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return Err(crate::msg!("getrlimit: {:?}", nix::errno::Errno::last()));
        }
        lim.rlim_cur = probe as libc::rlim_t;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(crate::msg!("setrlimit: {:?}", nix::errno::Errno::last()));
        }
        expect_open(
            OpenStrategy::DeviceThenSyscall,
            Error::Sys {
                call: Call::OpenDevice,
                errno: Errno::EMFILE,
            },
        )
    });
    child_passed(c);
}

/// A sandbox that hides `userfaultfd(2)` (a seccomp filter answering ENOSYS, as container
/// runtimes do) and has no userfaultfd device (`/dev/null` bound over `/dev/userfaultfd`):
/// `SyscallThenDevice` names both failures (`OpenFailed`), not a permission problem. In a
/// forked child, in a private mount namespace, with the filter installed.
#[test]
fn hidden_syscall_and_no_device_name_both() {
    let test = "hidden_syscall_and_no_device_name_both";
    if !raw_has_userfaultfd(test) {
        return;
    }
    if rt::getuid_is_root() != Some(true) {
        println!("SKIP {test}: not root: cannot set up a mount namespace");
        return;
    }
    if std::fs::metadata("/dev/userfaultfd").is_err() {
        println!("SKIP {test}: no /dev/userfaultfd to cover");
        return;
    }
    use nix::libc;
    let c = rt::spawn(|| {
        private_mount_namespace()?;
        bind_over_device(c"/dev/null")?;
        common::hide_syscall(libc::SYS_userfaultfd as u32)?;
        expect_open(
            OpenStrategy::SyscallThenDevice,
            Error::OpenFailed {
                device_call: Call::DeviceNew,
                device: Errno::ENOTTY,
                syscall: Errno::ENOSYS,
            },
        )
    });
    child_passed(c);
}
