//! The one startup sequence (SPEC 1.3), shared by the bot and `repair-bot migrate run`:
//! open, lock, classify without writing, refuse what is unknown / newer / edited, back up,
//! stamp and migrate one transaction per migration (the ledger and the stamps of an adoption
//! in one), verify. One log line per step. Every commit leaves a database the next start can
//! classify and finish: a crash at any point is resumed, never bricks the file.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use diesel::prelude::*;
use log::{info, warn};

use super::backup::{self, BackupPolicy, BackupReason};
use super::backup_copy::CopyReport;
use super::connection::{enable_wal, open, DatabaseLock};
use super::legacy::{self, Classification};
use super::migrations::{self, Catalog, MigrationSource, LEDGER_VERSION, REBUILD_VERSION};
use super::{fault, DbError};

/// Where the database lives and how it is backed up.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub path: PathBuf,
    pub backup: BackupPolicy,
}

/// What startup did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartupReport {
    pub stamped: Vec<String>,
    pub ran: Vec<String>,
    pub backup: Option<PathBuf>,
    /// What became of the backup's off-machine copy (None: no backup, or no copy command).
    pub copy: Option<CopyReport>,
    /// Checksums recorded for migrations diesel CLI had applied.
    pub recorded: Vec<String>,
}

/// A migrated database, still locked: the lock lives as long as this value.
pub struct PreparedDatabase {
    pub lock: DatabaseLock,
    pub connection: SqliteConnection,
    pub report: StartupReport,
}

struct Step {
    number: u8,
    started: Instant,
}

impl Step {
    fn start(number: u8) -> Self {
        Self {
            number,
            started: Instant::now(),
        }
    }

    fn done(self, message: impl AsRef<str>) {
        info!(
            "startup {}/7 {} ({:.1} ms)",
            self.number,
            message.as_ref(),
            self.started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// Runs startup steps 1-7 and returns the locked, migrated database.
pub fn prepare(
    settings: &DatabaseSettings,
    catalog: &Catalog,
) -> Result<PreparedDatabase, DbError> {
    let path = settings.path.as_path();

    let zero_bytes = fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0);
    let step = Step::start(1);
    let mut conn = open(path)?;
    step.done(format!("opened {}", path.display()));

    let step = Step::start(2);
    let lock = DatabaseLock::acquire(path)?;
    step.done(format!("locked {}", lock.path().display()));
    remove_incomplete_backups(settings);

    let step = Step::start(3);
    let classification = legacy::classify(&mut conn, path, catalog)?;
    let state = migrations::read_state(&mut conn)?;
    let comparison = state.compare(catalog);
    step.done(describe(&classification, comparison.pending.len()));
    if zero_bytes && classification == Classification::Empty {
        warn_zero_bytes(settings);
    }

    let step = Step::start(4);
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
    let (to_stamp, to_run) = plan(&classification, &comparison.pending, catalog);
    if to_run.iter().any(|m| m.version() == REBUILD_VERSION) {
        for note in legacy::preflight_rebuild(&mut conn, path)? {
            warn!("adoption: {note}");
        }
    }
    if let Classification::Legacy(shape) = &classification {
        for note in &shape.notes {
            info!("adoption: {note}");
        }
    }
    step.done(format!(
        "checked: {} applied migration(s) match this binary; {} to stamp, {} to run",
        state.applied.len(),
        to_stamp.len(),
        to_run.len()
    ));

    let mut report = StartupReport::default();
    let step = Step::start(5);
    if to_stamp.is_empty() && to_run.is_empty() {
        step.done("nothing pending: no backup needed");
    } else if classification == Classification::Empty {
        step.done("new database: nothing to back up");
    } else {
        let target = catalog.latest_version().unwrap_or_default();
        let taken = backup::take(path, &settings.backup, &BackupReason::PreMigrate(target))?;
        step.done(format!("backed up to {}", taken.path.display()));
        report.backup = Some(taken.path);
        report.copy = taken.copy;
    }

    let step = Step::start(6);
    enable_wal(&mut conn).map_err(DbError::sqlite("switching to WAL"))?;
    fault::durable_write("switched to WAL");
    let backup_file = report.backup.clone();
    let failed = |error: DbError, committed: &[String]| {
        DbError::migration_failure(error, path, backup_file.clone(), committed)
    };
    let (ledger_first, rest): (Vec<_>, Vec<_>) = to_run
        .into_iter()
        .partition(|m| m.version() == LEDGER_VERSION);
    let stamped: Vec<String> = to_stamp.iter().map(|m| m.name.to_string()).collect();
    match (ledger_first.first(), to_stamp.is_empty()) {
        (Some(ledger), false) => {
            // One transaction: a crash can never leave the ledger without the stamps.
            migrations::run_ledger_and_stamp(&mut conn, ledger, &to_stamp)
                .map_err(|e| failed(e, &committed(&report)))?;
            fault::durable_write("created the ledger and stamped legacy steps");
            report.ran.push(ledger.name.to_string());
            info!(
                "migrated {} and stamped as already present: {}",
                ledger.name,
                stamped.join(", ")
            );
        }
        (Some(ledger), true) => {
            run_logged(&mut conn, ledger).map_err(|e| failed(e, &committed(&report)))?;
            report.ran.push(ledger.name.to_string());
        }
        (None, false) => {
            migrations::stamp(&mut conn, &to_stamp)?;
            fault::durable_write("stamped legacy steps");
            info!("stamped as already present: {}", stamped.join(", "));
        }
        (None, true) => {}
    }
    report.stamped = stamped;
    for migration in rest {
        run_logged(&mut conn, migration).map_err(|e| failed(e, &committed(&report)))?;
        report.ran.push(migration.name.to_string());
    }
    if !comparison.unrecorded.is_empty() {
        migrations::record_unrecorded(&mut conn, catalog, &comparison.unrecorded)?;
        fault::durable_write("recorded checksums");
        report.recorded = comparison.unrecorded.clone();
    }
    step.done(if report.ran.is_empty() && report.stamped.is_empty() {
        "no migrations to run".to_string()
    } else {
        format!("stamped {}, ran {}", report.stamped.len(), report.ran.len())
    });

    let step = Step::start(7);
    if report.ran.is_empty() && report.stamped.is_empty() {
        step.done("schema up to date");
    } else {
        let left = migrations::read_state(&mut conn)?.compare(catalog).pending;
        if !left.is_empty() {
            return Err(DbError::Refused {
                action: "startup".into(),
                reason: format!(
                    "migrations still pending after the run: {}",
                    left.join(", ")
                ),
            });
        }
        backup::run_integrity_check(&mut conn, path)?;
        step.done("verified: nothing pending, integrity check ok");
    }
    Ok(PreparedDatabase {
        lock,
        connection: conn,
        report,
    })
}

/// What this run has committed so far, for an error that stops it.
fn committed(report: &StartupReport) -> Vec<String> {
    let mut committed = report.ran.clone();
    if !report.stamped.is_empty() {
        // The stamps commit with the ledger, the first migration of an adoption.
        let stamps = format!("the stamps of {} old-bot step(s)", report.stamped.len());
        committed.insert(committed.len().min(1), stamps);
    }
    committed
}

/// A file of 0 bytes is what SQLite calls an empty database, so startup creates the schema in
/// it. That is also what a database emptied by accident looks like: the log says so, with the
/// way back if there is one.
fn warn_zero_bytes(settings: &DatabaseSettings) {
    let path = settings.path.display();
    let dir = &settings.backup.dir;
    let way_back = match backup::list(&settings.path, dir)
        .ok()
        .and_then(|b| b.into_iter().next())
    {
        Some(newest) => format!(
            "backups of it exist, the newest is {0}: if the file lost its data, stop and run \
             `repair-bot backup restore {0}`",
            newest.path.display()
        ),
        None => format!("there is no backup of it in {}", dir.display()),
    };
    warn!(
        "{path} is an empty file (0 bytes): treated as a new empty database, every migration \
         runs; {way_back}"
    );
}

/// Files of backups killed or failed before they were complete: never usable, only in the way.
fn remove_incomplete_backups(settings: &DatabaseSettings) {
    match backup::remove_incomplete(&settings.path, &settings.backup.dir) {
        Ok(cleanup) => {
            if !cleanup.removed.is_empty() {
                let names: Vec<String> = cleanup
                    .removed
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                warn!(
                    "removed {} file(s) of an incomplete backup (interrupted before it was \
                     verified): {}",
                    names.len(),
                    names.join(", ")
                );
            }
            for failure in cleanup.failed {
                warn!("cannot remove a file of an incomplete backup: {failure}");
            }
        }
        Err(error) => warn!("cannot look for incomplete backups: {error}"),
    }
}

fn describe(classification: &Classification, pending: usize) -> String {
    match classification {
        Classification::Empty => "classified: empty database, every migration pending".into(),
        Classification::Managed => format!("classified: managed by migrations, {pending} pending"),
        Classification::Legacy(shape) => format!(
            "classified: database of the old bot holding {} of {} legacy steps",
            shape.present_steps.len(),
            shape.present_steps.len() + shape.absent_steps.len()
        ),
    }
}

/// Which migrations are recorded without running (legacy steps found present) and which run.
fn plan<'c>(
    classification: &Classification,
    pending: &[String],
    catalog: &'c Catalog,
) -> (Vec<&'c MigrationSource>, Vec<&'c MigrationSource>) {
    let present: &[String] = match classification {
        Classification::Legacy(shape) => &shape.present_steps,
        _ => &[],
    };
    let pick = |keep: &dyn Fn(&String) -> bool| -> Vec<&'c MigrationSource> {
        pending
            .iter()
            .filter(|v| keep(v))
            .filter_map(|v| catalog.get(v))
            .collect()
    };
    (
        pick(&|v| present.contains(v)),
        pick(&|v| !present.contains(v)),
    )
}

fn run_logged(conn: &mut SqliteConnection, migration: &MigrationSource) -> Result<(), DbError> {
    let started = Instant::now();
    fault::before_migration(conn, &migration.version());
    migrations::run_one(conn, migration)?;
    fault::durable_write(migration.name);
    info!(
        "migrated {} ({:.1} ms)",
        migration.name,
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
