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

/// A point where the process kills itself on the N-th pass when the variable says N.
struct KillPoint {
    variable: &'static str,
    limit: OnceLock<Option<u64>>,
    passes: AtomicU64,
}

impl KillPoint {
    const fn new(variable: &'static str) -> KillPoint {
        KillPoint {
            variable,
            limit: OnceLock::new(),
            passes: AtomicU64::new(0),
        }
    }

    /// Counts a pass; kills the process on the N-th, saying where (`killed`, given the count).
    fn pass(&self, killed: &dyn Fn(u64) -> String) {
        let limit = self.limit.get_or_init(|| {
            std::env::var(self.variable)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
        });
        let Some(limit) = *limit else { return };
        let count = self.passes.fetch_add(1, Ordering::SeqCst) + 1;
        if count == limit {
            // Straight to stderr: the logger may buffer, and nothing runs after the signal.
            eprintln!(
                "fault injection ({}={limit}): {}",
                self.variable,
                killed(count)
            );
            kill_now();
        }
    }
}

static AFTER_COMMIT: KillPoint = KillPoint::new(KILL_AFTER_COMMIT);
static BEFORE_SEND: KillPoint = KillPoint::new(KILL_BEFORE_SEND);

/// Marks an outbox send about to go out; kills the process here when asked to.
#[doc(hidden)]
pub fn before_send(chat_id: i64) {
    BEFORE_SEND.pass(&|_| format!("killed before sending to chat {chat_id}"));
}

/// Marks a durable write; kills the process here when the fault injection asks for it.
#[doc(hidden)]
pub fn durable_write(what: &str) {
    AFTER_COMMIT.pass(&|count| format!("killed after write {count}: {what}"));
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
