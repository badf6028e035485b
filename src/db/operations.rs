//! Operator commands over the database besides startup: status, check, revert, redo, restore.

use std::path::{Path, PathBuf};
use std::time::Instant;

use log::info;

use super::backup::{self, BackupReason, Restored};
use super::backup_copy::CopyReport;
use super::connection::{enable_wal, open, open_read_only, DatabaseLock};
use super::legacy::{self, Classification};
use super::migrations::{self, Catalog, Comparison, MigrationState};
use super::snapshot;
use super::startup::DatabaseSettings;
use super::DbError;

/// One line of `migrate status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationLine {
    pub name: String,
    pub state: LineState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineState {
    Applied { run_on: String },
    Stamped { run_on: String },
    Pending,
}

/// Everything `migrate status` and `migrate check` report. Built read-only.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub path: PathBuf,
    pub exists: bool,
    pub classification: Option<Classification>,
    pub lines: Vec<MigrationLine>,
    pub comparison: Comparison,
    /// Differences from the schema the applied migrations should have produced
    /// (only for a database managed by migrations).
    pub schema_differences: Vec<String>,
    pub quick_check: Option<Result<(), String>>,
}

impl StatusReport {
    /// True when nothing is pending and nothing is wrong: what deploy scripts wait for.
    pub fn is_healthy(&self) -> bool {
        self.exists
            && self.classification == Some(Classification::Managed)
            && self.comparison.pending.is_empty()
            && self.comparison.unknown.is_empty()
            && self.comparison.edited.is_empty()
            && self.schema_differences.is_empty()
            && matches!(self.quick_check, Some(Ok(())))
    }
}

/// Reads the state of the database without writing to it (a missing file is reported, not
/// created). `integrity` adds SQLite's `quick_check` (reads the whole file).
pub fn status(
    settings: &DatabaseSettings,
    catalog: &Catalog,
    integrity: bool,
) -> Result<StatusReport, DbError> {
    let path = settings.path.clone();
    let mut report = StatusReport {
        path: path.clone(),
        exists: path.is_file(),
        classification: None,
        lines: Vec::new(),
        comparison: Comparison::default(),
        schema_differences: Vec::new(),
        quick_check: None,
    };
    let state = if report.exists {
        let mut conn = open_read_only(&path)?;
        let classification = legacy::classify(&mut conn, &path, catalog)?;
        let state = migrations::read_state(&mut conn)?;
        if classification == Classification::Managed {
            let applied: Vec<String> = state.applied.keys().cloned().collect();
            let expected = catalog.expected_schema(applied.iter())?;
            let actual =
                snapshot::read(&mut conn).map_err(DbError::sqlite("reading the schema"))?;
            report.schema_differences = actual.differences(&expected);
        }
        if integrity {
            report.quick_check = Some(quick_check(&mut conn));
        }
        report.classification = Some(classification);
        state
    } else {
        MigrationState::default()
    };
    report.comparison = state.compare(catalog);
    report.lines = catalog
        .all()
        .iter()
        .map(|m| {
            let state = match state.applied.get(&m.version()) {
                Some(a) if a.stamped => LineState::Stamped {
                    run_on: a.run_on.clone(),
                },
                Some(a) => LineState::Applied {
                    run_on: a.run_on.clone(),
                },
                None => LineState::Pending,
            };
            MigrationLine {
                name: m.name.to_string(),
                state,
            }
        })
        .collect();
    Ok(report)
}

fn quick_check(conn: &mut diesel::SqliteConnection) -> Result<(), String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        quick_check: String,
    }
    let lines = diesel::sql_query("PRAGMA quick_check")
        .load::<Line>(conn)
        .map_err(|e| e.to_string())?;
    match lines.as_slice() {
        [only] if only.quick_check == "ok" => Ok(()),
        _ => Err(lines
            .into_iter()
            .map(|l| l.quick_check)
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// Opens a database that must already be managed by migrations, locked, and checks it is not
/// newer than the binary nor edited: the common preamble of revert and redo.
fn open_managed(
    settings: &DatabaseSettings,
    catalog: &Catalog,
    action: &str,
) -> Result<(DatabaseLock, diesel::SqliteConnection, MigrationState), DbError> {
    let path = settings.path.as_path();
    if !path.is_file() {
        return Err(DbError::Refused {
            action: action.into(),
            reason: format!("{} does not exist", path.display()),
        });
    }
    let mut conn = open(path)?;
    let lock = DatabaseLock::acquire(path)?;
    if legacy::classify(&mut conn, path, catalog)? != Classification::Managed {
        return Err(DbError::Refused {
            action: action.into(),
            reason: format!(
                "{} is not managed by migrations yet; run `repair-bot migrate run` first",
                path.display()
            ),
        });
    }
    let state = migrations::read_state(&mut conn)?;
    let comparison = state.compare(catalog);
    if !comparison.unknown.is_empty() {
        return Err(DbError::NewerThanBinary {
            path: path.to_owned(),
            versions: comparison.unknown,
        });
    }
    if !comparison.edited.is_empty() {
        return Err(DbError::EditedMigration {
            path: path.to_owned(),
            names: comparison.edited,
        });
    }
    enable_wal(&mut conn).map_err(DbError::sqlite("switching to WAL"))?;
    Ok((lock, conn, state))
}

/// What revert or redo did.
#[derive(Debug, Clone)]
pub struct RevertReport {
    pub backup: PathBuf,
    /// What became of the backup's off-machine copy.
    pub copy: Option<CopyReport>,
    pub reverted: Vec<String>,
    pub reapplied: Vec<String>,
}

/// Reverts the newest `steps` applied migrations, newest first, after a backup.
pub fn revert(
    settings: &DatabaseSettings,
    catalog: &Catalog,
    steps: usize,
) -> Result<RevertReport, DbError> {
    revert_then(settings, catalog, steps, false)
}

/// Reverts the newest applied migration and runs it again, after a backup.
pub fn redo(settings: &DatabaseSettings, catalog: &Catalog) -> Result<RevertReport, DbError> {
    revert_then(settings, catalog, 1, true)
}

fn revert_then(
    settings: &DatabaseSettings,
    catalog: &Catalog,
    steps: usize,
    run_again: bool,
) -> Result<RevertReport, DbError> {
    let action = if run_again { "redo" } else { "revert" };
    let (_lock, mut conn, state) = open_managed(settings, catalog, action)?;
    let newest: Vec<String> = state.applied.keys().rev().take(steps).cloned().collect();
    if newest.is_empty() {
        return Err(DbError::Refused {
            action: action.into(),
            reason: "no migration is applied".into(),
        });
    }
    let taken = backup::take(
        &settings.path,
        &settings.backup,
        &BackupReason::PreRevert(newest[0].clone()),
    )?;
    let backup = taken.path;
    info!("backed up to {}", backup.display());
    // What this run committed before a failure stays: named in the error.
    let attach = |error: DbError, done: &RevertReport| {
        let committed: Vec<String> = (done.reverted.iter().map(|n| format!("revert of {n}")))
            .chain(done.reapplied.iter().cloned())
            .collect();
        DbError::migration_failure(error, &settings.path, Some(backup.clone()), &committed)
    };
    let mut report = RevertReport {
        backup: backup.clone(),
        copy: taken.copy,
        reverted: Vec::new(),
        reapplied: Vec::new(),
    };
    for version in &newest {
        let migration = catalog
            .get(version)
            .expect("known: unknown versions were refused");
        let started = Instant::now();
        migrations::revert_one(&mut conn, migration).map_err(|e| attach(e, &report))?;
        info!(
            "reverted {} ({:.1} ms)",
            migration.name,
            started.elapsed().as_secs_f64() * 1000.0
        );
        report.reverted.push(migration.name.to_string());
    }
    if run_again {
        for version in newest.iter().rev() {
            let migration = catalog.get(version).expect("known");
            let started = Instant::now();
            migrations::run_one(&mut conn, migration).map_err(|e| attach(e, &report))?;
            info!(
                "migrated {} ({:.1} ms)",
                migration.name,
                started.elapsed().as_secs_f64() * 1000.0
            );
            report.reapplied.push(migration.name.to_string());
        }
    }
    backup::run_integrity_check(&mut conn, &settings.path)?;
    Ok(report)
}

/// Restores a backup over the database; refused while the bot (or anything) holds the lock.
pub fn restore(settings: &DatabaseSettings, file: &Path) -> Result<Restored, DbError> {
    let _lock = DatabaseLock::acquire(&settings.path)?;
    backup::restore(&settings.path, &settings.backup, file)
}
