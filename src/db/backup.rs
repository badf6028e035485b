//! Backups: consistent online copies named `<database>__<UTC time>__<reason>.db`, each checked
//! with `PRAGMA integrity_check` before it counts; retention; verification; restore.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::Text;

use super::connection::open_read_only;
use super::migrations::read_state;
use super::{fault, sqlite_copy, DbError};

const SEPARATOR: &str = "__";
const TIME_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// Why a backup was taken; part of its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupReason {
    /// Before migrating up to this version.
    PreMigrate(String),
    /// Before reverting this version.
    PreRevert(String),
    Scheduled,
    Manual,
    PreRestore,
}

impl fmt::Display for BackupReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupReason::PreMigrate(version) => write!(f, "pre-migrate-{version}"),
            BackupReason::PreRevert(version) => write!(f, "pre-revert-{version}"),
            BackupReason::Scheduled => f.write_str("scheduled"),
            BackupReason::Manual => f.write_str("manual"),
            BackupReason::PreRestore => f.write_str("pre-restore"),
        }
    }
}

/// Where backups of one database go and how many are kept.
#[derive(Debug, Clone)]
pub struct BackupPolicy {
    pub dir: PathBuf,
    pub keep: usize,
}

/// A backup file found in the backup folder.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub path: PathBuf,
    pub taken_at: DateTime<Utc>,
    pub reason: String,
    pub size: u64,
}

impl BackupFile {
    pub fn age(&self) -> Duration {
        (Utc::now() - self.taken_at).to_std().unwrap_or_default()
    }
}

/// What verification of a backup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The newest applied migration, or None for a database not managed by migrations.
    pub schema_version: Option<String>,
}

fn database_stem(db_path: &Path) -> String {
    db_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into())
}

fn file_name(db_path: &Path, taken_at: DateTime<Utc>, reason: &BackupReason) -> String {
    format!(
        "{}{SEPARATOR}{}{SEPARATOR}{reason}.db",
        database_stem(db_path),
        taken_at.format(TIME_FORMAT)
    )
}

/// Parses `<stem>__<time>__<reason>.db`; None for files that are not our backups.
fn parse_name(name: &str) -> Option<(String, DateTime<Utc>, String)> {
    let rest = name.strip_suffix(".db")?;
    let mut parts = rest.rsplitn(3, SEPARATOR);
    let reason = parts.next()?.to_string();
    let time = parts.next()?;
    let stem = parts.next()?.to_string();
    let taken_at = NaiveDateTime::parse_from_str(time, TIME_FORMAT)
        .ok()?
        .and_utc();
    Some((stem, taken_at, reason))
}

/// Copies the database into the backup folder (created if missing), checks the copy's
/// integrity, then applies retention. The copy is written under a temporary name and only
/// renamed into place once it verified, so a full disk or a failed check leaves no file that
/// looks like a backup.
pub fn create(
    db_path: &Path,
    policy: &BackupPolicy,
    reason: &BackupReason,
) -> Result<PathBuf, DbError> {
    let what = format!(
        "backup of {} into {}",
        db_path.display(),
        policy.dir.display()
    );
    let fail = |detail: String| DbError::Backup {
        what: what.clone(),
        detail,
    };
    fs::create_dir_all(&policy.dir)
        .map_err(|e| fail(format!("cannot create the backup folder: {e}")))?;
    // Names order the backups: a clock that went back (or stands still) must not put a new
    // backup before an older one, so a name is never older than the newest existing one.
    let mut taken_at = Utc::now();
    if let Some(newest) = list(db_path, &policy.dir)
        .ok()
        .and_then(|b| b.into_iter().next())
    {
        if newest.taken_at >= taken_at {
            taken_at = newest.taken_at + chrono::Duration::milliseconds(1);
        }
    }
    let mut target = policy.dir.join(file_name(db_path, taken_at, reason));
    while target.exists() {
        taken_at += chrono::Duration::milliseconds(1);
        target = policy.dir.join(file_name(db_path, taken_at, reason));
    }
    let partial = target.with_extension("db.partial");
    let result = write_verified(db_path, &partial, &target);
    if let Err(detail) = result {
        let _ = fs::remove_file(&partial);
        return Err(fail(detail));
    }
    apply_retention(db_path, policy)?;
    Ok(target)
}

fn write_verified(db_path: &Path, partial: &Path, target: &Path) -> Result<(), String> {
    sqlite_copy::copy(db_path, partial)?;
    fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())?;
    fault::durable_write("backup copied, not yet verified");
    integrity_check(partial).map_err(|e| e.to_string())?;
    fs::rename(partial, target).map_err(|e| e.to_string())?;
    if let Some(dir) = target.parent() {
        // Make the rename itself durable; not every platform can open a directory.
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    fault::durable_write("backup in place");
    Ok(())
}

/// `PRAGMA integrity_check` on a file, read-only. Ok only when SQLite answers "ok".
pub fn integrity_check(path: &Path) -> Result<(), DbError> {
    let mut conn = open_read_only(path)?;
    run_integrity_check(&mut conn, path)
}

#[derive(QueryableByName)]
struct CheckLine {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

pub fn run_integrity_check(conn: &mut SqliteConnection, path: &Path) -> Result<(), DbError> {
    let lines = sql_query("PRAGMA integrity_check")
        .load::<CheckLine>(conn)
        .map_err(|e| DbError::Integrity {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    let lines: Vec<String> = lines.into_iter().map(|l| l.integrity_check).collect();
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(DbError::Integrity {
            path: path.to_owned(),
            detail: lines.join("; "),
        })
    }
}

/// Checks a backup file: a readable SQLite database that passes the integrity check.
pub fn verify(path: &Path) -> Result<Verified, DbError> {
    let mut conn = open_read_only(path)?;
    run_integrity_check(&mut conn, path)?;
    let state = read_state(&mut conn)?;
    Ok(Verified {
        schema_version: state.applied.keys().max().cloned(),
    })
}

/// Backups of this database in the folder, newest first.
pub fn list(db_path: &Path, dir: &Path) -> Result<Vec<BackupFile>, DbError> {
    let stem = database_stem(db_path);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(DbError::io(format!(
                "cannot read backup folder {}",
                dir.display()
            ))(e))
        }
    };
    let mut backups = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((file_stem, taken_at, reason)) = parse_name(&name) else {
            continue;
        };
        if file_stem != stem {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        backups.push(BackupFile {
            path: entry.path(),
            taken_at,
            reason,
            size,
        });
    }
    backups.sort_by(|a, b| {
        b.taken_at
            .cmp(&a.taken_at)
            .then_with(|| b.path.cmp(&a.path))
    });
    Ok(backups)
}

/// Keeps the newest `keep` backups of this database and, whatever their age, two pre-migrate
/// backups: the newest (the way back from the latest migration) and the oldest one taken since
/// the database last migrated successfully (the database as it was before a series of failed
/// starts, each of which took a backup of its own). Deletes the rest.
pub fn apply_retention(db_path: &Path, policy: &BackupPolicy) -> Result<Vec<PathBuf>, DbError> {
    let backups = list(db_path, &policy.dir)?;
    let protected = protected(&backups, current_version(db_path).as_deref());
    let mut removed = Vec::new();
    for backup in backups.into_iter().skip(policy.keep) {
        if protected.contains(&backup.path) {
            continue;
        }
        fs::remove_file(&backup.path).map_err(DbError::io(format!(
            "cannot remove old backup {}",
            backup.path.display()
        )))?;
        removed.push(backup.path);
    }
    Ok(removed)
}

/// The pre-migrate backups retention never deletes, from `backups` (newest first) and the
/// newest migration the database has applied. A pre-migrate backup names the version its
/// migration was to reach: once the database holds that version, that migration succeeded.
/// The backups after the newest such one were each followed by a failed start.
fn protected(backups: &[BackupFile], current: Option<&str>) -> Vec<PathBuf> {
    let pre_migrate: Vec<(&BackupFile, &str)> = backups
        .iter()
        .filter_map(|b| Some((b, b.reason.strip_prefix("pre-migrate-")?)))
        .collect();
    let reached = |target: &str| current.is_some_and(|version| version >= target);
    let oldest_since_success = pre_migrate
        .iter()
        .take_while(|(_, target)| !reached(target))
        .last();
    pre_migrate
        .first()
        .into_iter()
        .chain(oldest_since_success)
        .map(|(b, _)| b.path.clone())
        .collect()
}

/// The newest migration applied to the database; None when it has none or cannot be read
/// (then every pre-migrate backup counts as taken since the last success: kept, not lost).
fn current_version(db_path: &Path) -> Option<String> {
    let mut conn = open_read_only(db_path).ok()?;
    read_state(&mut conn).ok()?.applied.keys().max().cloned()
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub pre_restore_backup: Option<PathBuf>,
    pub schema_version: Option<String>,
}

/// Replaces the database with a backup. The caller holds the database lock (the bot is
/// stopped). The chosen file is verified first, the current database is backed up
/// (`pre-restore`), then the backup's pages are copied over the database through SQLite, so
/// a leftover WAL can never be replayed onto the restored file.
pub fn restore(db_path: &Path, policy: &BackupPolicy, file: &Path) -> Result<Restored, DbError> {
    let verified = verify(file)?;
    let pre_restore_backup = if db_path.is_file() {
        Some(create(db_path, policy, &BackupReason::PreRestore)?)
    } else {
        None
    };
    sqlite_copy::copy(file, db_path).map_err(|detail| DbError::Backup {
        what: format!("restore of {} from {}", db_path.display(), file.display()),
        detail,
    })?;
    integrity_check(db_path)?;
    Ok(Restored {
        pre_restore_backup,
        schema_version: verified.schema_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let at = NaiveDateTime::parse_from_str("20261123T101500.123Z", TIME_FORMAT)
            .unwrap()
            .and_utc();
        let name = file_name(
            Path::new("data/bot_database.db"),
            at,
            &BackupReason::PreMigrate("20261123000001".into()),
        );
        assert_eq!(
            name,
            "bot_database__20261123T101500.123Z__pre-migrate-20261123000001.db"
        );
        let (stem, parsed, reason) = parse_name(&name).unwrap();
        assert_eq!(
            (stem.as_str(), parsed, reason.as_str()),
            ("bot_database", at, "pre-migrate-20261123000001")
        );
    }

    #[test]
    fn foreign_files_are_not_backups() {
        assert!(parse_name("notes.txt").is_none());
        assert!(parse_name("bot_database.db").is_none());
        assert!(parse_name("bot__yesterday__manual.db").is_none());
    }
}
