//! Whether a worker shares its CPU with the threads it serves, told by the kernel's count
//! of its involuntary context switches (`getrusage(RUSAGE_THREAD)`, Linux 2.6.26).
//!
//! A thread that a placement wakes and that runs on this worker's CPU preempts the worker
//! when its `ioctl` returns (it counts as an involuntary switch); one on another CPU does
//! not. Sharing, each `ioctl` the worker issues is a stretch the woken thread cannot run in
//! (it waits for the CPU, not for a page): so readahead goes in short pieces then.

use super::Worker;

/// The calling thread's involuntary context switches at one moment, if the kernel says
/// (`None` when `getrusage` is refused, e.g. by a seccomp filter).
#[derive(Clone, Copy, Debug)]
pub(super) struct Switches(Option<isize>);

impl Switches {
    pub(super) fn now() -> Self {
        Switches(
            crate::sys::getrusage(crate::sys::RUSAGE_THREAD)
                .ok()
                .map(|u| u.ru_nivcsw),
        )
    }
}

impl Worker<'_, '_> {
    /// Whether this worker shares its CPU with a thread it serves: it was preempted since it
    /// last looked (one `getrusage` per look; `None` while the kernel does not say). A
    /// worker sleeps only voluntarily (waiting for events), which the count leaves out; so a
    /// change means a thread on this CPU ran while this one could have.
    pub(super) fn sharing(&mut self) -> Option<bool> {
        let now = Switches::now();
        let then = core::mem::replace(&mut self.switches, now);
        match (then.0, now.0) {
            (Some(a), Some(b)) => Some(a != b),
            _ => None,
        }
    }
}
