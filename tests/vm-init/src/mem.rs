//! The memory functions compiled code calls. `compiler_builtins` leaves them to libc on
//! `*-linux-gnu` targets, and there is no libc here. (The crate is `#![no_builtins]`, so these
//! loops stay loops.) Plus the unwinding personality `core` references but never calls with
//! `panic = "abort"`.

/// # Safety
/// `dest` and `src` are valid for `n` bytes and do not overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, and both are valid for n bytes (caller).
        unsafe { *dest.add(i) = *src.add(i) };
        i += 1;
    }
    dest
}

/// # Safety
/// `dest` and `src` are valid for `n` bytes (they may overlap).
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) {
        // SAFETY: copying upwards never overwrites a source byte not yet read.
        return unsafe { memcpy(dest, src, n) };
    }
    let mut i = n;
    while i > 0 {
        i -= 1;
        // SAFETY: i < n, both valid for n bytes (caller); downwards copy is overlap-safe here.
        unsafe { *dest.add(i) = *src.add(i) };
    }
    dest
}

/// # Safety
/// `dest` is valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, dest valid for n bytes (caller).
        unsafe { *dest.add(i) = c as u8 };
        i += 1;
    }
    dest
}

/// # Safety
/// `a` and `b` are valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, both valid for n bytes (caller).
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// `a` and `b` are valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { memcmp(a, b, n) }
}

/// Referenced from `core`'s unwind tables; never called, since nothing unwinds (panic = abort).
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
