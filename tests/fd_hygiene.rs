//! fd hygiene: `/proc/self/fd` counted around every error path of open and handshake, FORK
//! event handling and `Events` drop (no leak), and close-on-exec (the default) checked across
//! `execve` of this very test binary.
//!
//! Tests here take one lock so the counts are not disturbed by each other. Kernel checks skip
//! (printing why) where there is no userfaultfd.

#![allow(clippy::result_large_err)]

#[allow(dead_code)]
mod common;
#[allow(unused_macros, unused_imports)]
mod suite;

use common::{created, raw_has_userfaultfd};
use std::process::Command;
use std::sync::Mutex;
use suite::rt;
use uffd::abi::uffd_msg;
use uffd::flags::*;
use uffd::{Builder, Errno, Error, Event, OpenStrategy};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Env var naming an fd number the exec'd helper must check.
const CHECK_FD: &str = "UFFD_FD_HYGIENE_CHECK_FD";
/// What the helper must find there: "open" or "closed".
const EXPECT: &str = "UFFD_FD_HYGIENE_EXPECT";

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn fds() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// The fd table is the same after `f` as before (the directory fd of `read_dir` is closed by
/// the time the listing returns, so it appears in neither).
fn no_leak<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let before = fds();
    let r = f();
    let after = fds();
    assert_eq!(before, after, "{what}: fd table changed");
    r
}

fn have_uffd() -> bool {
    raw_has_userfaultfd("fd_hygiene")
}

fn syscall_builder() -> Builder {
    Builder::new().open_strategy(OpenStrategy::SyscallOnly)
}

#[test]
fn open_and_handshake_error_paths_leak_nothing() {
    let _g = lock();
    if !have_uffd() {
        return;
    }
    let ghost = Features::from_bits_retain(1 << 62);
    for strategy in [
        OpenStrategy::SyscallOnly,
        OpenStrategy::DeviceThenSyscall,
        OpenStrategy::SyscallThenDevice,
        OpenStrategy::DeviceOnly,
    ] {
        let b = Builder::new().open_strategy(strategy);
        // Success and drop.
        no_leak("create + drop", || {
            // SAFETY: this test process registers only fresh mappings of its own tests, which no
            // Rust value relies on, and no other code in it registers memory.
            created("create", unsafe { b.create() });
        });
        // Required feature missing: the probe fd is closed.
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        let r = no_leak("required feature missing", || unsafe {
            b.require(ghost).create()
        });
        match r {
            Err(Error::MissingFeatures { missing, available }) => {
                // The ghost is missing, and what the crate says is available is the raw mask.
                if let suite::Outcome::Fail(m) = suite::util::missing_skip(missing, available) {
                    panic!("{strategy:?} require ghost: {}", m.as_str());
                }
            }
            Err(e) => {
                created::<()>("require ghost", Err(e));
            }
            Ok(_) => panic!("ghost feature granted"),
        }
        // Probe.
        no_leak("probe", || {
            let _ = b.probe();
        });
        // negotiate with features the kernel rejects: the fd is closed.
        no_leak("negotiate EINVAL", || {
            if let Ok(fd) = b.open_unnegotiated() {
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                let r = unsafe { fd.negotiate(ghost) }.map(|_| ());
                assert_eq!(r.unwrap_err().errno(), Some(Errno::EINVAL));
            }
        });
        // A bad API number, then drop.
        no_leak("bad api + drop", || {
            if let Ok(fd) = b.open_unnegotiated() {
                assert_eq!(fd.api(0xAB, 0).unwrap_err(), Errno::EINVAL);
            }
        });
        // Second handshake fails on a negotiated-by-hand fd, then drop.
        no_leak("double api", || {
            if let Ok(fd) = b.open_unnegotiated() {
                fd.api(uffd::abi::UFFD_API, 0).unwrap();
                assert_eq!(fd.api(uffd::abi::UFFD_API, 0).unwrap_err(), Errno::EINVAL);
            }
        });
    }
}

/// The lowest free fd number (what the next open gets): allocation-free leak check for
/// forked children.
fn lowest_free() -> i32 {
    let fd = rt::open(c"/dev/null", uffd::sys::O_CLOEXEC).unwrap();
    fd.0
}

#[test]
fn permission_denied_paths_leak_nothing() {
    let _g = lock();
    if !have_uffd() {
        return;
    }
    if rt::getuid_is_root() != Some(true) {
        println!("SKIP: not root: cannot drop to another uid");
        return;
    }
    // In a child dropped to nobody: /dev/userfaultfd (0600 root) is EACCES, the syscall EPERM
    // unless vm.unprivileged_userfaultfd=1. No allocation in the child: leaks are seen through
    // the lowest free fd number.
    let c = rt::spawn(|| {
        rt::setresgid(65534).map_err(|e| crate::msg!("setresgid: {e:?}"))?;
        rt::setresuid(65534).map_err(|e| crate::msg!("setresuid: {e:?}"))?;
        let base = lowest_free();
        let mut denied = 0;
        for strategy in [
            OpenStrategy::DeviceOnly,
            OpenStrategy::DeviceThenSyscall,
            OpenStrategy::SyscallThenDevice,
            OpenStrategy::SyscallOnly,
        ] {
            let b = Builder::new().open_strategy(strategy);
            for r in [
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                unsafe { b.create() }.map(|_| ()),
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                unsafe { b.require(Features::EVENT_FORK).create() }.map(|_| ()),
                b.probe().map(|_| ()),
            ] {
                if matches!(r, Err(Error::PermissionDenied { .. })) {
                    denied += 1;
                }
                if lowest_free() != base {
                    return Err(crate::msg!("{strategy:?}: fd leaked after {r:?}"));
                }
            }
            // EVENT_FORK without CAP_SYS_PTRACE: EPERM from UFFDIO_API (then the probe and a
            // second handshake), fd closed; requested only, it is dropped and the fd kept.
            let b = b.user_mode_only(true);
            for r in [
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                unsafe { b.require(Features::EVENT_FORK).create() }.map(|_| ()),
                // SAFETY: this test process registers only fresh mappings of its own tests, which
                // no Rust value relies on, and no other code in it registers memory.
                unsafe { b.request(Features::EVENT_FORK).create() }.map(|_| ()),
            ] {
                if lowest_free() != base {
                    return Err(crate::msg!("{strategy:?}: fd leaked after {r:?}"));
                }
            }
        }
        if denied == 0 {
            return Err(crate::msg!("nothing was denied as nobody"));
        }
        Ok(())
    })
    .expect("fork");
    c.join().unwrap_or_else(|m| panic!("child: {}", m.as_str()));
}

/// Whether fd `n` is an open userfaultfd (no fd is opened to find out).
fn is_uffd(n: i32) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{n}"))
        .is_ok_and(|t| t.to_string_lossy() == "anon_inode:[userfaultfd]")
}

/// Forks (from another thread: the forking thread waits until the FORK event is read) and
/// returns the child.
fn fork_in_thread() -> std::thread::JoinHandle<()> {
    std::thread::spawn(|| {
        let c = rt::spawn(|| Ok(())).expect("fork");
        c.join().expect("child");
    })
}

#[test]
fn fork_events_and_events_drop_leak_nothing() {
    let _g = lock();
    if !have_uffd() {
        return;
    }
    let Some(u) = created(
        "EVENT_FORK",
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        unsafe { syscall_builder().require(Features::EVENT_FORK).create() },
    ) else {
        return;
    };
    let ps = uffd::sys::page_size().unwrap();
    let a = rt::anon(ps).unwrap();
    // SAFETY: `a` is a fresh mmap that no Rust value refers to; nothing touches it at all.
    unsafe { u.register(a.addr, ps, RegisterMode::MISSING) }.unwrap();
    let base = fds();

    // 1. A FORK event decoded and dropped: the child's fd is closed.
    let t = fork_in_thread();
    let mut buf = [uffd_msg::zeroed(); 4];
    {
        let mut ev = u.read_events(&mut buf).unwrap().unwrap();
        let child = match ev.next() {
            Some(Ok(Event::Fork(c))) => c,
            e => panic!("want FORK, got {e:?}"),
        };
        // (The forking thread holds a report pipe of its own meanwhile, and listing the
        // directory takes the lowest free number: look at the fd itself.)
        let cfd = child.as_raw_fd();
        assert!(!base.contains(&cfd.to_string()), "FORK fd is new");
        assert!(is_uffd(cfd), "FORK fd installed");
        drop(child);
        assert!(!is_uffd(cfd), "FORK fd closed on drop");
    }
    t.join().unwrap();
    assert_eq!(fds(), base, "after the first fork");

    // 2. FORK messages read but never decoded: dropping `Events` closes their fds.
    let t = fork_in_thread();
    {
        let ev = u.read_events(&mut buf).unwrap().unwrap();
        assert_eq!(ev.len(), 1);
        drop(ev);
    }
    t.join().unwrap();
    assert_eq!(fds(), base, "Events drop closed the undecoded FORK fd");

    // 3. Two forks, one read: both messages' fds closed by the drop.
    let (t1, t2) = (fork_in_thread(), fork_in_thread());
    let mut seen = 0;
    while seen < 2 {
        let mut ev = u.read_events(&mut buf).unwrap().unwrap();
        seen += ev.len();
        // Decode the first, leave the rest to Drop.
        if let Some(e) = ev.next() {
            assert!(matches!(e, Ok(Event::Fork(_))));
        }
    }
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!(fds(), base, "after two forks");
    // The child fd after the child exited: ops give ESRCH, drop closes (no leak).
    drop(u);
}

/// How this process was started, up to and including the test binary: just the binary, or
/// e.g. `ld-linux.so.2 --library-path DIR binary` when a foreign ABI's loader runs it (i686 on
/// this x86_64 host), where `current_exe()` is the loader. From `/proc/self/cmdline`.
fn self_command() -> (String, Vec<String>) {
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
    let words: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let argv0 = std::env::args().next().unwrap();
    let end = words.iter().position(|w| *w == argv0).unwrap_or(0);
    (words[0].clone(), words[1..=end].to_vec())
}

/// Runs this test binary again with `--exact exec_helper`, telling it which fd to look at.
fn exec_check(fd: i32, expect: &str) {
    let (program, prefix) = self_command();
    let out = Command::new(program)
        .args(prefix)
        .args(["--exact", "exec_helper", "--nocapture", "--test-threads=1"])
        .env(CHECK_FD, fd.to_string())
        .env(EXPECT, expect)
        .output()
        .expect("spawn self");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "helper failed:\n{text}");
    assert!(
        text.contains(&format!("exec_helper: fd {fd} {expect}")),
        "helper did not check:\n{text}"
    );
}

#[test]
fn close_on_exec_is_the_default() {
    let _g = lock();
    if !have_uffd() {
        return;
    }
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u = unsafe { syscall_builder().create() }.unwrap();
    exec_check(u.as_raw_fd(), "closed");
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let u2 = unsafe { syscall_builder().close_on_exec(false).create() }.unwrap();
    exec_check(u2.as_raw_fd(), "open");
    // Through the device path too, where it is usable.
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    if let Ok(u3) = unsafe {
        Builder::new()
            .open_strategy(OpenStrategy::DeviceOnly)
            .create()
    } {
        exec_check(u3.as_raw_fd(), "closed");
    }
}

/// Not a test on its own: the exec'd side of `close_on_exec_is_the_default`.
#[test]
fn exec_helper() {
    let (Ok(fd), Ok(expect)) = (std::env::var(CHECK_FD), std::env::var(EXPECT)) else {
        return;
    };
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
    let state = match &link {
        Ok(target) => {
            assert_eq!(
                target.to_string_lossy(),
                "anon_inode:[userfaultfd]",
                "inherited fd {fd} is not the userfaultfd"
            );
            "open"
        }
        Err(_) => "closed",
    };
    assert_eq!(state, expect, "fd {fd} after execve: {link:?}");
    println!("exec_helper: fd {fd} {state}");
}

/// What `/proc/self/fd/<fd>` links to (the kernel's name for the open file), or why not.
fn link(fd: i32) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("fd {fd}: {e}"))
}

/// A harness may run tests with descriptor 0 closed (cargo-mutants does): holds 0, 1 and 2 if
/// free, so a userfaultfd's number is not 0, what an accessor broken to `0` returns.
fn hold_low_descriptors() -> Vec<std::fs::File> {
    let mut held = Vec::new();
    loop {
        let f = std::fs::File::open("/dev/null").expect("open /dev/null");
        if std::os::fd::AsRawFd::as_raw_fd(&f) > 2 {
            return held;
        }
        held.push(f);
    }
}

/// The `std` traits (`AsRawFd`, `AsFd`, `IntoRawFd`, `From<Uffd> for OwnedFd`) hand out the
/// descriptor the inherent accessors do (method calls resolve to the inherent ones, so the
/// traits are called by name).
#[cfg(feature = "std")]
#[test]
fn std_fd_traits_name_the_userfaultfd() {
    use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
    if !raw_has_userfaultfd("std fd traits") {
        return;
    }
    let _held = hold_low_descriptors();
    let b = syscall_builder().user_mode_only(true);
    let Some(u) = created("Unnegotiated", b.open_unnegotiated()) else {
        return;
    };
    let fd = uffd::Unnegotiated::as_raw_fd(&u);
    assert_eq!(link(fd), "anon_inode:[userfaultfd]");
    assert_eq!(AsRawFd::as_raw_fd(&u), fd);
    assert_eq!(AsRawFd::as_raw_fd(&AsFd::as_fd(&u)), fd);
    assert_eq!(IntoRawFd::into_raw_fd(u), fd);
    assert_eq!(
        link(fd),
        "anon_inode:[userfaultfd]",
        "into_raw_fd closed it"
    );
    // SAFETY: given up above, owned here alone.
    let u = unsafe { <uffd::Unnegotiated as FromRawFd>::from_raw_fd(fd) };
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let Some(u) = created("negotiate", unsafe {
        u.negotiate(uffd::flags::Features::empty())
    }) else {
        return;
    };
    assert_eq!(AsRawFd::as_raw_fd(&u), fd);
    assert_eq!(AsRawFd::as_raw_fd(&AsFd::as_fd(&u)), fd);
    let owned = OwnedFd::from(u);
    assert_eq!(AsRawFd::as_raw_fd(&owned), fd);
    assert_eq!(link(fd), "anon_inode:[userfaultfd]");
    let u = created(
        "negotiated again",
        // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust
        // value relies on, and no other code in it registers memory.
        unsafe { syscall_builder().user_mode_only(true).create() },
    )
    .expect("a second userfaultfd");
    let fd2 = uffd::Uffd::as_raw_fd(&u);
    assert_eq!(IntoRawFd::into_raw_fd(u), fd2);
    assert_eq!(
        link(fd2),
        "anon_inode:[userfaultfd]",
        "into_raw_fd closed it"
    );
    // SAFETY: given up above, owned here alone.
    drop(unsafe { OwnedFd::from_raw_fd(fd2) });
}

/// `as_raw_fd` and `into_raw_fd` of both handles name the userfaultfd itself (cargo-mutants
/// found that replacing them by 0 went unnoticed): the descriptor's /proc link is the kernel's
/// `anon_inode:[userfaultfd]`, and giving it up leaves it open under the same number.
#[test]
fn raw_fd_accessors_name_the_userfaultfd() {
    if !raw_has_userfaultfd("raw fd accessors") {
        return;
    }
    let _held = hold_low_descriptors();
    let b = syscall_builder().user_mode_only(true);
    let Some(u) = created("Unnegotiated", b.open_unnegotiated()) else {
        return;
    };
    let fd = u.as_raw_fd();
    assert_eq!(link(fd), "anon_inode:[userfaultfd]");
    assert_eq!(u.into_raw_fd(), fd);
    // SAFETY: the fd was given up by the handle above and is owned here alone.
    let u = unsafe { uffd::Unnegotiated::from_raw_fd(fd, 0) };
    // SAFETY: this test process registers only fresh mappings of its own tests, which no Rust value
    // relies on, and no other code in it registers memory.
    let Some(u) = created("negotiate", unsafe {
        u.negotiate(uffd::flags::Features::empty())
    }) else {
        return;
    };
    assert_eq!(
        u.as_raw_fd(),
        fd,
        "the negotiated handle keeps the descriptor"
    );
    assert_eq!(link(fd), "anon_inode:[userfaultfd]");
    let given = u.into_raw_fd();
    assert_eq!(given, fd);
    assert_eq!(
        link(given),
        "anon_inode:[userfaultfd]",
        "into_raw_fd closed it"
    );
    // SAFETY: given up above, owned here alone.
    drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(given) });
}
