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

use super::backup_copy::{self, CopyCommand, CopyReport};
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

/// Where backups of one database go, how many are kept, and how they leave the machine.
#[derive(Debug, Clone)]
pub struct BackupPolicy {
    pub dir: PathBuf,
    pub keep: usize,
    /// Run on every backup the bot or an operator command takes, once it is verified.
    pub copy: Option<CopyCommand>,
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

/// A backup the bot or an operator command took: the verified file, and what became of its
/// off-machine copy (None when no copy command is configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub path: PathBuf,
    pub copy: Option<CopyReport>,
}

/// [`create`], then the policy's copy command on the new file. A failed copy is reported in
/// [`Taken::copy`], not as an error: the backup itself is good, and what it protects (a
/// migration, a restore) may go on.
pub fn take(
    db_path: &Path,
    policy: &BackupPolicy,
    reason: &BackupReason,
) -> Result<Taken, DbError> {
    let path = create(db_path, policy, reason)?;
    let copy = policy
        .copy
        .as_ref()
        .map(|copy| backup_copy::run(copy, &path));
    Ok(Taken { path, copy })
}

/// When the backup in this file was taken, from its name; None for a file that is not one.
pub fn taken_at(path: &Path) -> Option<DateTime<Utc>> {
    let name = path.file_name()?.to_str()?;
    parse_name(name).map(|(_, taken_at, _)| taken_at)
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
    while target.exists() || partial_path(&target).exists() {
        taken_at += chrono::Duration::milliseconds(1);
        target = policy.dir.join(file_name(db_path, taken_at, reason));
    }
    let partial = partial_path(&target);
    // Held until the copy is renamed or removed: a start cleaning up the leftovers of killed
    // backups (see [`remove_incomplete`]) leaves a copy that is being written alone.
    let claim = claim_partial(&partial).map_err(|e| {
        fail(format!(
            "cannot create {} in the backup folder: {e}",
            partial.display()
        ))
    })?;
    let result = write_verified(db_path, &partial, &target);
    if let Err(detail) = result {
        let _ = fs::remove_file(&partial);
        drop(claim);
        return Err(fail(detail));
    }
    drop(claim);
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

/// The temporary name a backup is written under: `<backup name>.partial`.
fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(PARTIAL);
    PathBuf::from(name)
}

const PARTIAL: &str = ".partial";
/// What SQLite may leave next to a copy killed while it was written.
const PARTIAL_SIDE_FILES: [&str; 3] = ["-journal", "-wal", "-shm"];

/// Creates the temporary file and takes an exclusive advisory lock on it (flock, which does
/// not interfere with SQLite's own fcntl locks of this process on the same file).
fn claim_partial(partial: &Path) -> std::io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(partial)?;
    file.try_lock().map_err(std::io::Error::other)?;
    Ok(file)
}

/// True while another backup still writes this temporary copy.
fn being_written(partial: &Path) -> bool {
    match fs::File::open(partial) {
        Ok(file) => matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// A file a killed or failed backup left in the backup folder: the copy under its temporary
/// name, or SQLite's journal of that copy. Never a usable backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteBackup {
    pub path: PathBuf,
    /// The temporary copy this file belongs to (the file itself for the copy).
    pub partial: PathBuf,
    pub size: u64,
}

/// `<backup name>.partial[-journal|-wal|-shm]` of this database -> the `.partial` name.
fn partial_of(name: &str, stem: &str) -> Option<String> {
    let end = name.rfind(PARTIAL)? + PARTIAL.len();
    let (partial, side) = name.split_at(end);
    if !(side.is_empty() || PARTIAL_SIDE_FILES.contains(&side)) {
        return None;
    }
    let (file_stem, _, _) = parse_name(partial.strip_suffix(PARTIAL)?)?;
    (file_stem == stem).then(|| partial.to_string())
}

/// Leftovers of interrupted backups of this database in the folder, by name.
pub fn list_incomplete(db_path: &Path, dir: &Path) -> Result<Vec<IncompleteBackup>, DbError> {
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
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(partial) = partial_of(&name, &stem) {
            files.push(IncompleteBackup {
                path: entry.path(),
                partial: dir.join(partial),
                size: entry.metadata().map(|m| m.len()).unwrap_or(0),
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// What [`remove_incomplete`] did.
#[derive(Debug, Clone, Default)]
pub struct Cleanup {
    pub removed: Vec<PathBuf>,
    /// Files that could not be removed, each with the reason.
    pub failed: Vec<String>,
}

/// Removes the leftovers of interrupted backups of this database, except those of a backup
/// still being written by another process (`repair-bot backup create` while the bot starts).
pub fn remove_incomplete(db_path: &Path, dir: &Path) -> Result<Cleanup, DbError> {
    let files = list_incomplete(db_path, dir)?;
    let mut cleanup = Cleanup::default();
    let mut busy = std::collections::BTreeSet::new();
    for file in files.iter().filter(|f| f.path == f.partial) {
        if being_written(&file.path) {
            busy.insert(file.partial.clone());
        }
    }
    for file in files {
        if busy.contains(&file.partial) {
            continue;
        }
        match fs::remove_file(&file.path) {
            Ok(()) => cleanup.removed.push(file.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => cleanup.failed.push(format!("{}: {e}", file.path.display())),
        }
    }
    Ok(cleanup)
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
    /// What became of the pre-restore backup's off-machine copy.
    pub copy: Option<CopyReport>,
    pub schema_version: Option<String>,
}

/// Replaces the database with a backup. The caller holds the database lock (the bot is
/// stopped). The chosen file is verified first, the current database is backed up
/// (`pre-restore`), then the backup's pages are copied over the database through SQLite, so
/// a leftover WAL can never be replayed onto the restored file.
pub fn restore(db_path: &Path, policy: &BackupPolicy, file: &Path) -> Result<Restored, DbError> {
    let verified = verify(file)?;
    let pre_restore = if db_path.is_file() {
        Some(take(db_path, policy, &BackupReason::PreRestore)?)
    } else {
        None
    };
    let (pre_restore_backup, copy) = match pre_restore {
        Some(taken) => (Some(taken.path), taken.copy),
        None => (None, None),
    };
    sqlite_copy::copy(file, db_path).map_err(|detail| DbError::Backup {
        what: format!("restore of {} from {}", db_path.display(), file.display()),
        detail,
    })?;
    integrity_check(db_path)?;
    Ok(Restored {
        pre_restore_backup,
        copy,
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
    fn leftovers_of_interrupted_backups_are_recognised() {
        let name = "bot_database__20261123T101500.123Z__manual.db.partial";
        assert_eq!(partial_of(name, "bot_database").as_deref(), Some(name));
        assert_eq!(
            partial_of(&format!("{name}-journal"), "bot_database").as_deref(),
            Some(name)
        );
        assert_eq!(partial_of(name, "other"), None);
        assert_eq!(partial_of(&format!("{name}-backup"), "bot_database"), None);
        assert_eq!(partial_of("notes.partial", "notes"), None);
        assert_eq!(
            partial_of(
                "bot_database__20261123T101500.123Z__manual.db",
                "bot_database"
            ),
            None
        );
    }

    #[test]
    fn foreign_files_are_not_backups() {
        assert!(parse_name("notes.txt").is_none());
        assert!(parse_name("bot_database.db").is_none());
        assert!(parse_name("bot__yesterday__manual.db").is_none());
    }
}
