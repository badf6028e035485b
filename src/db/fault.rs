//! Fault injection for the crash tests, off unless `REPAIR_BOT_FAULT_AFTER_COMMIT` is set.
//!
//! Startup calls [`durable_write`] right after each write that reaches the disk (a backup copy,
//! a backup renamed into place, the switch to WAL, each migration's commit, the stamps, the
//! recorded checksums). With `REPAIR_BOT_FAULT_AFTER_COMMIT=N` the process kills itself with
//! SIGKILL right after the N-th of them: no destructor, no rollback, no flush — what a power
//! cut or the OOM killer does at that point. Tests use it to prove that every start after a
//! crash at any point ends with the same database as an uninterrupted one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

#[doc(hidden)]
pub const KILL_AFTER_COMMIT: &str = "REPAIR_BOT_FAULT_AFTER_COMMIT";

static WRITES: AtomicU64 = AtomicU64::new(0);

fn kill_after() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var(KILL_AFTER_COMMIT)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    })
}

/// Marks a durable write; kills the process here when the fault injection asks for it.
#[doc(hidden)]
pub fn durable_write(what: &str) {
    let Some(limit) = kill_after() else { return };
    let count = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    if count == limit {
        // Straight to stderr: the logger may buffer, and nothing runs after the signal.
        eprintln!(
            "fault injection ({KILL_AFTER_COMMIT}={limit}): killed after write {count}: {what}"
        );
        kill_now();
    }
}

fn kill_now() -> ! {
    #[cfg(unix)]
    // SAFETY: raise only delivers a signal to this process; SIGKILL cannot be caught.
    unsafe {
        libc::raise(libc::SIGKILL);
    }
    std::process::abort()
}
