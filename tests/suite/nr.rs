//! Syscall numbers of the test-support calls, per architecture, from Debian's
//! `linux-libc-dev` 7.2 headers (`usr/include/<triplet>/asm/unistd*.h`). 32-bit ABIs use
//! `mmap2` (offset in pages; we always pass 0) and the 32-bit-uid `setres[ug]id32`.
//! `userfaultfd`, `openat`, `ioctl`, `close` (the raw truth, `truth.rs`) from the same
//! 7.2.13 package (`usr/lib/linux/uapi/<arch>/asm/unistd*.h`, asm-generic for the
//! `__NR3264`-style arches; mips n64 `__NR_Linux` = 5000, arm EABI base 0); the host's
//! x86_64 values agree with /usr/include/x86_64-linux-gnu/asm/unistd_64.h.
#![allow(non_upper_case_globals, dead_code, clippy::module_inception)]

/// x86_64: x86_64/asm/unistd_64.h.
#[cfg(target_arch = "x86_64")]
pub mod nr {
    pub const userfaultfd: usize = 323;
    pub const openat: usize = 257;
    pub const ioctl: usize = 16;
    pub const close: usize = 3;
    pub const geteuid: usize = 107;
    pub const mmap: usize = 9;
    pub const munmap: usize = 11;
    pub const mremap: usize = 25;
    pub const madvise: usize = 28;
    pub const memfd_create: usize = 319;
    pub const clone: usize = 56;
    pub const wait4: usize = 61;
    pub const exit_group: usize = 231;
    pub const getpid: usize = 39;
    pub const gettid: usize = 186;
    pub const kill: usize = 62;
    pub const setresuid: usize = 117;
    pub const setresgid: usize = 119;
    pub const pipe2: usize = 293;
    pub const write: usize = 1;
    pub const read: usize = 0;
    pub const ftruncate: usize = 77;
    pub const prctl: usize = 157;
}
/// x86: i386/asm/unistd_32.h (mmap2, setresuid32, setresgid32).
#[cfg(target_arch = "x86")]
pub mod nr {
    pub const userfaultfd: usize = 374;
    pub const openat: usize = 295;
    pub const ioctl: usize = 54;
    pub const close: usize = 6;
    pub const geteuid: usize = 201;
    pub const mmap: usize = 192;
    pub const munmap: usize = 91;
    pub const mremap: usize = 163;
    pub const madvise: usize = 219;
    pub const memfd_create: usize = 356;
    pub const clone: usize = 120;
    pub const wait4: usize = 114;
    pub const exit_group: usize = 252;
    pub const getpid: usize = 20;
    pub const gettid: usize = 224;
    pub const kill: usize = 37;
    pub const setresuid: usize = 208;
    pub const setresgid: usize = 210;
    pub const pipe2: usize = 331;
    pub const write: usize = 4;
    pub const read: usize = 3;
    pub const ftruncate: usize = 93;
    pub const prctl: usize = 172;
}
/// aarch64: aarch64 asm/unistd_64.h.
#[cfg(target_arch = "aarch64")]
pub mod nr {
    pub const userfaultfd: usize = 282;
    pub const openat: usize = 56;
    pub const ioctl: usize = 29;
    pub const close: usize = 57;
    pub const geteuid: usize = 175;
    pub const mmap: usize = 222;
    pub const munmap: usize = 215;
    pub const mremap: usize = 216;
    pub const madvise: usize = 233;
    pub const memfd_create: usize = 279;
    pub const clone: usize = 220;
    pub const wait4: usize = 260;
    pub const exit_group: usize = 94;
    pub const getpid: usize = 172;
    pub const gettid: usize = 178;
    pub const kill: usize = 129;
    pub const setresuid: usize = 147;
    pub const setresgid: usize = 149;
    pub const pipe2: usize = 59;
    pub const write: usize = 64;
    pub const read: usize = 63;
    pub const ftruncate: usize = 46;
    pub const prctl: usize = 167;
}
/// arm: arm-linux-gnueabihf asm/unistd-eabi.h (mmap2, setresuid32, setresgid32).
#[cfg(target_arch = "arm")]
pub mod nr {
    pub const userfaultfd: usize = 388;
    pub const openat: usize = 322;
    pub const ioctl: usize = 54;
    pub const close: usize = 6;
    pub const geteuid: usize = 201;
    pub const mmap: usize = 192;
    pub const munmap: usize = 91;
    pub const mremap: usize = 163;
    pub const madvise: usize = 220;
    pub const memfd_create: usize = 385;
    pub const clone: usize = 120;
    pub const wait4: usize = 114;
    pub const exit_group: usize = 248;
    pub const getpid: usize = 20;
    pub const gettid: usize = 224;
    pub const kill: usize = 37;
    pub const setresuid: usize = 208;
    pub const setresgid: usize = 210;
    pub const pipe2: usize = 359;
    pub const write: usize = 4;
    pub const read: usize = 3;
    pub const ftruncate: usize = 93;
    pub const prctl: usize = 172;
}
/// riscv64: riscv64 asm/unistd_64.h.
#[cfg(target_arch = "riscv64")]
pub mod nr {
    pub const userfaultfd: usize = 282;
    pub const openat: usize = 56;
    pub const ioctl: usize = 29;
    pub const close: usize = 57;
    pub const geteuid: usize = 175;
    pub const mmap: usize = 222;
    pub const munmap: usize = 215;
    pub const mremap: usize = 216;
    pub const madvise: usize = 233;
    pub const memfd_create: usize = 279;
    pub const clone: usize = 220;
    pub const wait4: usize = 260;
    pub const exit_group: usize = 94;
    pub const getpid: usize = 172;
    pub const gettid: usize = 178;
    pub const kill: usize = 129;
    pub const setresuid: usize = 147;
    pub const setresgid: usize = 149;
    pub const pipe2: usize = 59;
    pub const write: usize = 64;
    pub const read: usize = 63;
    pub const ftruncate: usize = 46;
    pub const prctl: usize = 167;
}
/// loongarch64: loongarch64 asm/unistd_64.h.
#[cfg(target_arch = "loongarch64")]
pub mod nr {
    pub const userfaultfd: usize = 282;
    pub const openat: usize = 56;
    pub const ioctl: usize = 29;
    pub const close: usize = 57;
    pub const geteuid: usize = 175;
    pub const mmap: usize = 222;
    pub const munmap: usize = 215;
    pub const mremap: usize = 216;
    pub const madvise: usize = 233;
    pub const memfd_create: usize = 279;
    pub const clone: usize = 220;
    pub const wait4: usize = 260;
    pub const exit_group: usize = 94;
    pub const getpid: usize = 172;
    pub const gettid: usize = 178;
    pub const kill: usize = 129;
    pub const setresuid: usize = 147;
    pub const setresgid: usize = 149;
    pub const pipe2: usize = 59;
    pub const write: usize = 64;
    pub const read: usize = 63;
    pub const ftruncate: usize = 46;
    pub const prctl: usize = 167;
}
/// powerpc64: powerpc64le asm/unistd_64.h.
#[cfg(target_arch = "powerpc64")]
pub mod nr {
    pub const userfaultfd: usize = 364;
    pub const openat: usize = 286;
    pub const ioctl: usize = 54;
    pub const close: usize = 6;
    pub const geteuid: usize = 49;
    pub const mmap: usize = 90;
    pub const munmap: usize = 91;
    pub const mremap: usize = 163;
    pub const madvise: usize = 205;
    pub const memfd_create: usize = 360;
    pub const clone: usize = 120;
    pub const wait4: usize = 114;
    pub const exit_group: usize = 234;
    pub const getpid: usize = 20;
    pub const gettid: usize = 207;
    pub const kill: usize = 37;
    pub const setresuid: usize = 164;
    pub const setresgid: usize = 169;
    pub const pipe2: usize = 317;
    pub const write: usize = 4;
    pub const read: usize = 3;
    pub const ftruncate: usize = 93;
    pub const prctl: usize = 171;
}
/// powerpc: powerpc asm/unistd_32.h (mmap2).
#[cfg(target_arch = "powerpc")]
pub mod nr {
    pub const userfaultfd: usize = 364;
    pub const openat: usize = 286;
    pub const ioctl: usize = 54;
    pub const close: usize = 6;
    pub const geteuid: usize = 49;
    pub const mmap: usize = 192;
    pub const munmap: usize = 91;
    pub const mremap: usize = 163;
    pub const madvise: usize = 205;
    pub const memfd_create: usize = 360;
    pub const clone: usize = 120;
    pub const wait4: usize = 114;
    pub const exit_group: usize = 234;
    pub const getpid: usize = 20;
    pub const gettid: usize = 207;
    pub const kill: usize = 37;
    pub const setresuid: usize = 164;
    pub const setresgid: usize = 169;
    pub const pipe2: usize = 317;
    pub const write: usize = 4;
    pub const read: usize = 3;
    pub const ftruncate: usize = 93;
    pub const prctl: usize = 171;
}
/// s390x: s390x asm/unistd_64.h.
#[cfg(target_arch = "s390x")]
pub mod nr {
    pub const userfaultfd: usize = 355;
    pub const openat: usize = 288;
    pub const ioctl: usize = 54;
    pub const close: usize = 6;
    pub const geteuid: usize = 201;
    pub const mmap: usize = 90;
    pub const munmap: usize = 91;
    pub const mremap: usize = 163;
    pub const madvise: usize = 219;
    pub const memfd_create: usize = 350;
    pub const clone: usize = 120;
    pub const wait4: usize = 114;
    pub const exit_group: usize = 248;
    pub const getpid: usize = 20;
    pub const gettid: usize = 236;
    pub const kill: usize = 37;
    pub const setresuid: usize = 208;
    pub const setresgid: usize = 210;
    pub const pipe2: usize = 325;
    pub const write: usize = 4;
    pub const read: usize = 3;
    pub const ftruncate: usize = 93;
    pub const prctl: usize = 172;
}
/// mips64: mips64el asm/unistd_n64.h (__NR_Linux 5000).
#[cfg(target_arch = "mips64")]
pub mod nr {
    pub const userfaultfd: usize = 5317;
    pub const openat: usize = 5247;
    pub const ioctl: usize = 5015;
    pub const close: usize = 5003;
    pub const geteuid: usize = 5105;
    pub const mmap: usize = 5009;
    pub const munmap: usize = 5011;
    pub const mremap: usize = 5024;
    pub const madvise: usize = 5027;
    pub const memfd_create: usize = 5314;
    pub const clone: usize = 5055;
    pub const wait4: usize = 5059;
    pub const exit_group: usize = 5205;
    pub const getpid: usize = 5038;
    pub const gettid: usize = 5178;
    pub const kill: usize = 5060;
    pub const setresuid: usize = 5115;
    pub const setresgid: usize = 5117;
    pub const pipe2: usize = 5287;
    pub const write: usize = 5001;
    pub const read: usize = 5000;
    pub const ftruncate: usize = 5075;
    pub const prctl: usize = 5153;
}
