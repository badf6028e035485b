//! Fault injection for the crash tests, off unless `REPAIR_BOT_FAULT_AFTER_COMMIT` is set.
//!
//! Startup calls [`durable_write`] right after each write that reaches the disk (a backup copy,
//! a backup renamed into place, the switch to WAL, each migration's commit, the stamps, the
//! recorded checksums). With `REPAIR_BOT_FAULT_AFTER_COMMIT=N` the process kills itself with
//! SIGKILL right after the N-th of them: no destructor, no rollback, no flush — what a power
//! cut or the OOM killer does at that point. Tests use it to prove that every start after a
//! crash at any point ends with the same database as an uninterrupted one.
//!
//! With `REPAIR_BOT_FAULT_KILL_BEFORE_SEND=N` the bot kills itself the same way right before
//! the outbox's N-th send: the change that queued the message has committed, Telegram has not
//! seen it.
//!
//! With `REPAIR_BOT_FAULT_DISK_FULL_AT=<version>` the database may not grow any more from the
//! start of that migration on (`PRAGMA max_page_count` on the startup connection): SQLite then
//! fails with SQLITE_FULL exactly as on a full disk, without needing root or a tiny file system.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

#[doc(hidden)]
pub const KILL_AFTER_COMMIT: &str = "REPAIR_BOT_FAULT_AFTER_COMMIT";

#[doc(hidden)]
pub const DISK_FULL_AT: &str = "REPAIR_BOT_FAULT_DISK_FULL_AT";

#[doc(hidden)]
pub const KILL_BEFORE_SEND: &str = "REPAIR_BOT_FAULT_KILL_BEFORE_SEND";

static SENDS: AtomicU64 = AtomicU64::new(0);

/// Marks an outbox send about to go out; kills the process here when asked to.
#[doc(hidden)]
pub fn before_send(chat_id: i64) {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    let limit = LIMIT.get_or_init(|| {
        std::env::var(KILL_BEFORE_SEND)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    });
    let Some(limit) = *limit else { return };
    let count = SENDS.fetch_add(1, Ordering::SeqCst) + 1;
    if count == limit {
        eprintln!(
            "fault injection ({KILL_BEFORE_SEND}={limit}): killed before sending to chat {chat_id}"
        );
        kill_now();
    }
}

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

/// Called before each migration of startup: simulates a full disk from `version` on.
#[doc(hidden)]
pub fn before_migration(conn: &mut diesel::SqliteConnection, version: &str) {
    use diesel::connection::SimpleConnection;
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| {
        std::env::var(DISK_FULL_AT)
            .ok()
            .map(|v| v.trim().to_string())
    });
    if at.as_deref() == Some(version) {
        eprintln!("fault injection ({DISK_FULL_AT}={version}): the database may not grow");
        // max_page_count cannot go below the current size: 1 means "exactly as big as now".
        let _ = conn.batch_execute("PRAGMA max_page_count = 1;");
    }
}
