//! Errors an operator can act on: each names the file, migration or object that is wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {detail}")]
    Open { path: PathBuf, detail: String },

    #[error(
        "database {db} is in use by another process (lock {lock} is held): stop the running bot \
         or migration first"
    )]
    Locked { db: PathBuf, lock: PathBuf },

    #[error("{path} is not a readable SQLite database: {detail}")]
    NotADatabase { path: PathBuf, detail: String },

    #[error(
        "refusing to touch {path}: its schema is not one this bot knows; nothing was changed.\n{}",
        bullet_list(problems)
    )]
    UnknownSchema {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error(
        "refusing to adopt {path}: some rows cannot be carried over; nothing was changed.\n{}",
        bullet_list(problems)
    )]
    UnadoptableData {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error(
        "database {path} has migrations this binary does not know (it is newer than the binary): \
         {}; run a newer repair-bot or restore a backup",
        versions.join(", ")
    )]
    NewerThanBinary {
        path: PathBuf,
        versions: Vec<String>,
    },

    #[error(
        "migrations applied to {path} were edited after they ran (checksum differs): {}; \
         restore their original up.sql and add a new migration instead",
        names.join(", ")
    )]
    EditedMigration { path: PathBuf, names: Vec<String> },

    #[error("migration {name} failed: {detail}{}", backup_hint(backup))]
    MigrationFailed {
        name: String,
        detail: String,
        backup: Option<PathBuf>,
    },

    #[error(
        "the disk is full: migration {name} could not be written to {path} (SQLite: {detail}). \
         {path} is unchanged by it: the migration was rolled back{}.{} Free some space on that \
         disk, then start again: the next start continues from there",
        committed_hint(committed),
        backup_location(backup)
    )]
    DiskFull {
        name: String,
        path: PathBuf,
        detail: String,
        backup: Option<PathBuf>,
        /// Migrations this same run had committed before (they stay applied).
        committed: Vec<String>,
    },

    #[error(
        "cannot use database {path}: the {what} is not writable ({detail}); the bot needs to \
         write the database and to create {path}.lock, -wal and -shm next to it. Make it \
         writable for this user, or point DATABASE_URL to a file in a writable folder"
    )]
    NotWritable {
        path: PathBuf,
        /// "folder <path>" or "file <path>".
        what: String,
        detail: String,
    },

    #[error("{what} failed: {detail}")]
    Backup { what: String, detail: String },

    #[error("integrity check of {path} failed: {detail}")]
    Integrity { path: PathBuf, detail: String },

    #[error("{action} is not possible: {reason}")]
    Refused { action: String, reason: String },

    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        source: diesel::result::Error,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl DbError {
    pub fn sqlite(context: impl Into<String>) -> impl FnOnce(diesel::result::Error) -> DbError {
        let context = context.into();
        move |source| DbError::Sqlite { context, source }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DbError {
        let context = context.into();
        move |source| DbError::Io { context, source }
    }
}

impl DbError {
    /// A migration that did not commit: [`DbError::DiskFull`] when SQLite ran out of space
    /// (SQLITE_FULL, "database or disk is full"), else `error` with the backup attached.
    pub fn migration_failure(
        error: DbError,
        path: &std::path::Path,
        backup: Option<PathBuf>,
        committed: &[String],
    ) -> DbError {
        match error {
            DbError::MigrationFailed { name, detail, .. }
                if is_disk_full(&detail) || out_of_space(path, &detail) =>
            {
                DbError::DiskFull {
                    name,
                    path: path.to_owned(),
                    detail,
                    backup,
                    committed: committed.to_vec(),
                }
            }
            DbError::MigrationFailed { name, detail, .. } => DbError::MigrationFailed {
                name,
                detail,
                backup,
            },
            other => other,
        }
    }
}

/// SQLite's message for SQLITE_FULL (a full disk, or the database's size limit).
pub fn is_disk_full(detail: &str) -> bool {
    detail.contains("database or disk is full")
}

/// With WAL, a disk with (almost) nothing left fails on the shared-memory file before any page
/// is written: SQLite then says "disk I/O error". Counted as a full disk when the file system
/// of the database has less room left than the database's own size (what a rebuild needs).
fn out_of_space(path: &std::path::Path, detail: &str) -> bool {
    if !detail.contains("disk I/O error") {
        return false;
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    free_bytes(folder).is_some_and(|free| free < size.max(1 << 20))
}

#[cfg(unix)]
fn free_bytes(folder: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct we own; c_path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_folder: &std::path::Path) -> Option<u64> {
    None
}

fn committed_hint(committed: &[String]) -> String {
    if committed.is_empty() {
        String::new()
    } else {
        format!(
            " (committed before it in this run, and kept: {})",
            committed.join(", ")
        )
    }
}

fn backup_location(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(path) => format!(" The backup taken before this run: {}.", path.display()),
        None => " No backup was needed (a new database).".to_string(),
    }
}

fn bullet_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("  - {item}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn backup_hint(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(path) => format!(
            " (it was rolled back: the database is as it was before it; backup taken first: {})",
            path.display()
        ),
        None => " (it was rolled back: the database is as it was before it)".to_string(),
    }
}
