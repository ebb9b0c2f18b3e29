//! The few system calls only `/init` makes, through the crate's raw syscall primitive
//! (`uffd::sys::raw`); numbers per architecture in `arch/`.

use crate::arch;
use core::ffi::CStr;
use uffd::sys::raw;
use uffd::Errno;

/// `write(fd, buf)`.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    unsafe {
        raw::syscall3(
            arch::NR_WRITE,
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
        )
    }
}

/// `getpid()`.
pub fn getpid() -> usize {
    // SAFETY: no arguments; cannot fail.
    unsafe { raw::syscall0(arch::NR_GETPID) }.unwrap_or(0)
}

/// `mount(source, target, fstype, 0, NULL)`.
pub fn mount(source: &CStr, target: &CStr, fstype: &CStr) -> Result<(), Errno> {
    // SAFETY: three NUL-terminated strings that outlive the call; no flags, no data.
    unsafe {
        raw::syscall5(
            arch::NR_MOUNT,
            source.as_ptr() as usize,
            target.as_ptr() as usize,
            fstype.as_ptr() as usize,
            0,
            0,
        )
    }
    .map(drop)
}

/// `reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF)`
/// (linux/reboot.h); returns only on failure.
///
/// # Safety
/// Powers off the machine this runs on: only ever call it as the init of a test VM.
pub unsafe fn power_off() -> Errno {
    // SAFETY: no pointers; the caller makes sure this is the VM's init.
    match unsafe { raw::syscall3(arch::NR_REBOOT, 0xfee1_dead, 672_274_793, 0x4321_fedc) } {
        Ok(_) => Errno::from_raw(0),
        Err(e) => e,
    }
}

/// `exit_group(status)`.
pub fn exit_group(status: usize) -> ! {
    loop {
        // SAFETY: no pointers; does not return.
        let _ = unsafe { raw::syscall1(arch::NR_EXIT_GROUP, status) };
    }
}
