//! Is the bot well? The checks behind `repair-bot health` (scripts, Docker's HEALTHCHECK) and
//! `/healthz`: the database is at the newest migration, the bot reached Telegram recently,
//! the outbox is not backing up, the newest backup is recent and was copied off the machine.
//!
//! Read-only: the command opens the file with SQLite's `mode=ro` and never creates nor
//! migrates anything (not even diesel's bookkeeping table). The time is passed in, so tests
//! judge fixed moments.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::SqliteConnection;

use crate::db::backup;
use crate::db::connection::open_read_only;
use crate::db::migrations::{self, Catalog};
use crate::db::snapshot;
use crate::db::startup::DatabaseSettings;
use crate::store::audit::{self, AuditAction};
use crate::store::{jobs, outbox};

/// The limits each check holds the bot to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The last successful getUpdates at most this old. The bot records one at most every 30 s
    /// and a long poll lasts 10 s; a Telegram outage retries with back-off up to 30 s.
    pub poll_age: Duration,
    /// At most this many messages waiting in the outbox...
    pub outbox_pending: u64,
    /// ...and the oldest of them queued at most this long ago.
    pub outbox_age: Duration,
    /// The newest backup at most this old; None: not checked.
    pub backup_age: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            poll_age: Duration::from_secs(300),
            outbox_pending: 500,
            outbox_age: Duration::from_secs(900),
            // A daily backup, with room for a slow one.
            backup_age: Some(Duration::from_secs(26 * 3600)),
        }
    }
}

/// One check, in the order they are printed. Each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Database,
    GetUpdates,
    Outbox,
    Backup,
    BackupCopy,
}

impl Area {
    pub fn name(self) -> &'static str {
        match self {
            Area::Database => "database",
            Area::GetUpdates => "getUpdates",
            Area::Outbox => "outbox",
            Area::Backup => "backup",
            Area::BackupCopy => "backup copy",
        }
    }

    /// The exit code of `repair-bot health` when this is the first check that failed
    /// (1 stays what it is for every command: an error before any check).
    pub fn exit_code(self) -> u8 {
        match self {
            Area::Database => 2,
            Area::GetUpdates => 3,
            Area::Outbox => 4,
            Area::Backup => 5,
            Area::BackupCopy => 6,
        }
    }

    /// The label of this check in Prometheus text.
    pub fn metric_label(self) -> &'static str {
        match self {
            Area::Database => "database",
            Area::GetUpdates => "get_updates",
            Area::Outbox => "outbox",
            Area::Backup => "backup",
            Area::BackupCopy => "backup_copy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Fail,
    /// Not configured: neither ok nor a failure.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub area: Area,
    pub verdict: Verdict,
    /// The figure and the limit, or what is wrong.
    pub detail: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.verdict {
            Verdict::Ok => "ok",
            Verdict::Fail => "FAIL",
            Verdict::Skipped => "skipped",
        };
        write!(f, "{}: {verdict}, {}", self.area.name(), self.detail)
    }
}

/// The measured figures, for `/metrics` (None: could not be measured).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub poll_age: Option<Duration>,
    pub outbox_pending: Option<u64>,
    pub outbox_oldest_age: Option<Duration>,
    pub backup_age: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
    pub figures: Figures,
}

impl Report {
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }

    /// 0 when healthy, else the code of the first check that failed.
    pub fn exit_code(&self) -> u8 {
        self.checks
            .iter()
            .find(|c| c.verdict == Verdict::Fail)
            .map_or(0, |c| c.area.exit_code())
    }

    /// A report of one failed check (the others could not run).
    pub fn failed(area: Area, detail: String) -> Report {
        let mut report = Report::default();
        report.push(area, Verdict::Fail, detail);
        report
    }

    fn push(&mut self, area: Area, verdict: Verdict, detail: String) {
        self.checks.push(Check {
            area,
            verdict,
            detail,
        });
    }
}

/// Every check on the database file of `settings`, opened read-only. A database that is
/// missing, unreadable or not at the newest migration fails the first check; the others
/// need its tables and are not run then.
pub fn check_file(settings: &DatabaseSettings, limits: &Limits, now: DateTime<Utc>) -> Report {
    let path = &settings.path;
    if !path.is_file() {
        return Report::failed(
            Area::Database,
            format!(
                "{} does not exist (wrong DATABASE_URL or working folder, or the bot never started)",
                path.display()
            ),
        );
    }
    match open_read_only(path) {
        Ok(mut conn) => check(&mut conn, settings, limits, now),
        Err(error) => Report::failed(Area::Database, error.to_string()),
    }
}

/// Every check, on a connection to the database of `settings` (the running bot's own for
/// `/healthz`). Reads only.
pub fn check(
    conn: &mut SqliteConnection,
    settings: &DatabaseSettings,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Report {
    let mut report = Report::default();
    let (verdict, detail) = migration_state(conn, &settings.path);
    report.push(Area::Database, verdict, detail);
    if verdict == Verdict::Fail {
        return report;
    }
    let now_naive = now.naive_utc();
    let (verdict, detail) = match jobs::last_run(conn, jobs::GET_UPDATES) {
        Err(error) => (Verdict::Fail, format!("cannot read job_runs: {error}")),
        Ok(None) => (
            Verdict::Fail,
            "no successful getUpdates recorded yet (the bot has not reached Telegram since it \
             started)"
                .to_string(),
        ),
        Ok(Some(at)) => {
            let age = age(now_naive, at);
            report.figures.poll_age = Some(age);
            judge(
                age <= limits.poll_age,
                format!(
                    "last successful getUpdates {} ago (limit {})",
                    human(age),
                    human(limits.poll_age)
                ),
            )
        }
    };
    report.push(Area::GetUpdates, verdict, detail);

    let (verdict, detail) = match outbox::backlog(conn) {
        Err(error) => (Verdict::Fail, format!("cannot read the outbox: {error}")),
        Ok((pending, oldest)) => {
            let pending = u64::try_from(pending).unwrap_or(0);
            let oldest = oldest.map(|at| age(now_naive, at));
            report.figures.outbox_pending = Some(pending);
            report.figures.outbox_oldest_age = Some(oldest.unwrap_or_default());
            let figure = match oldest {
                Some(oldest) => {
                    format!("{pending} pending, the oldest queued {} ago", human(oldest))
                }
                None => "nothing pending".to_string(),
            };
            judge(
                pending <= limits.outbox_pending
                    && oldest.is_none_or(|oldest| oldest <= limits.outbox_age),
                format!(
                    "{figure} (limits {} messages, {})",
                    limits.outbox_pending,
                    human(limits.outbox_age)
                ),
            )
        }
    };
    report.push(Area::Outbox, verdict, detail);

    let newest = backup::list(&settings.path, &settings.backup.dir).map(|b| b.into_iter().next());
    let newest = match newest {
        Ok(newest) => newest,
        Err(error) => {
            report.push(Area::Backup, Verdict::Fail, error.to_string());
            return report;
        }
    };
    if let Some(newest) = &newest {
        report.figures.backup_age = Some(age(now_naive, newest.taken_at.naive_utc()));
    }
    let (verdict, detail) = match (limits.backup_age, &newest) {
        (None, _) => (
            Verdict::Skipped,
            "not checked (BACKUP_TIME=off or HEALTH_MAX_BACKUP_AGE_HOURS=off)".to_string(),
        ),
        // A fresh install has nothing to back up before its first daily backup: a database
        // younger than the limit is not yet late.
        (Some(limit), None) => match managed_since(conn) {
            Some(since) if age(now_naive, since) <= limit => (
                Verdict::Ok,
                format!(
                    "no backup yet; the database was created {} ago (limit {})",
                    human(age(now_naive, since)),
                    human(limit)
                ),
            ),
            _ => (
                Verdict::Fail,
                format!(
                    "no backup of {} in {}",
                    settings.path.display(),
                    settings.backup.dir.display()
                ),
            ),
        },
        (Some(limit), Some(newest)) => {
            let age = age(now_naive, newest.taken_at.naive_utc());
            judge(
                age <= limit,
                format!(
                    "newest taken {} ago (limit {}): {}",
                    human(age),
                    human(limit),
                    newest.path.display()
                ),
            )
        }
    };
    report.push(Area::Backup, verdict, detail);

    let (verdict, detail) = copy_state(conn, settings, newest.as_ref());
    report.push(Area::BackupCopy, verdict, detail);
    report
}

/// When the bot first ran its migrations on this file (created it, or adopted it).
fn managed_since(conn: &mut SqliteConnection) -> Option<NaiveDateTime> {
    use crate::schema::migration_ledger::dsl::*;
    use diesel::prelude::*;
    migration_ledger
        .select(diesel::dsl::min(recorded_at))
        .first::<Option<NaiveDateTime>>(conn)
        .ok()
        .flatten()
}

fn judge(ok: bool, detail: String) -> (Verdict, String) {
    (if ok { Verdict::Ok } else { Verdict::Fail }, detail)
}

/// Whether the database is at the newest migration this binary knows, read without
/// creating anything.
fn migration_state(conn: &mut SqliteConnection, path: &Path) -> (Verdict, String) {
    let fail = |detail: String| (Verdict::Fail, detail);
    let catalog = Catalog::embedded();
    let objects = match snapshot::object_names(conn) {
        Ok(objects) => objects,
        Err(error) => return fail(format!("{} cannot be read: {error}", path.display())),
    };
    let state = match migrations::read_state(conn) {
        Ok(state) => state,
        Err(error) => return fail(error.to_string()),
    };
    if state.applied.is_empty() {
        let what = if objects.is_empty() {
            "an empty database"
        } else {
            "a database of the old bot, not adopted yet"
        };
        return fail(format!(
            "{} is {what}: no migration applied (start the bot or run `repair-bot migrate run`)",
            path.display()
        ));
    }
    let comparison = state.compare(&catalog);
    if !comparison.unknown.is_empty() {
        return fail(format!(
            "{} has migrations this binary does not know (it is newer): {}",
            path.display(),
            comparison.unknown.join(", ")
        ));
    }
    if !comparison.edited.is_empty() {
        return fail(format!(
            "{}: applied migrations were edited since: {}",
            path.display(),
            comparison.edited.join(", ")
        ));
    }
    if !comparison.pending.is_empty() {
        return fail(format!(
            "{} is not migrated: {} migration(s) pending, the newest {} (start the bot or run \
             `repair-bot migrate run`)",
            path.display(),
            comparison.pending.len(),
            comparison.pending.last().map_or("", String::as_str)
        ));
    }
    (
        Verdict::Ok,
        format!(
            "at the newest migration {} ({})",
            catalog.latest_version().unwrap_or_default(),
            path.display()
        ),
    )
}

/// Whether the newest backup left the machine (when a copy command is configured).
fn copy_state(
    conn: &mut SqliteConnection,
    settings: &DatabaseSettings,
    newest: Option<&backup::BackupFile>,
) -> (Verdict, String) {
    if settings.backup.copy.is_none() {
        return (
            Verdict::Skipped,
            "BACKUP_COPY_COMMAND is not set".to_string(),
        );
    }
    let Some(newest) = newest else {
        return (Verdict::Ok, "no backup to copy yet".to_string());
    };
    let copied_up_to = match jobs::last_run(conn, jobs::BACKUP_COPY) {
        Ok(copied) => copied,
        Err(error) => return (Verdict::Fail, format!("cannot read job_runs: {error}")),
    };
    let name = newest.path.file_name().map_or_else(
        || newest.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if copied_up_to.is_some_and(|copied| copied >= newest.taken_at.naive_utc()) {
        return (
            Verdict::Ok,
            format!("newest backup copied off the machine: {name}"),
        );
    }
    let last_failure = match audit::latest(conn, AuditAction::BackupCopyFailed) {
        Ok(Some((at, details))) => format!(
            "; the last copy that failed, at {} UTC: {}",
            at.format("%Y-%m-%d %H:%M:%S"),
            details.unwrap_or_default()
        ),
        _ => String::new(),
    };
    (
        Verdict::Fail,
        format!("newest backup {name} was not copied off the machine{last_failure}"),
    )
}

/// How long ago `then` was at `now` (a time in the future counts as now).
fn age(now: NaiveDateTime, then: NaiveDateTime) -> Duration {
    (now - then).to_std().unwrap_or_default()
}

/// "45 s", "12 min", "5 h 3 min", "2 d 4 h".
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        7200..172_800 => match (secs / 3600, secs % 3600 / 60) {
            (hours, 0) => format!("{hours} h"),
            (hours, minutes) => format!("{hours} h {minutes} min"),
        },
        _ => match (secs / 86_400, secs % 86_400 / 3600) {
            (days, 0) => format!("{days} d"),
            (days, hours) => format!("{days} d {hours} h"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        let s = Duration::from_secs;
        assert_eq!(human(s(45)), "45 s");
        assert_eq!(human(s(300)), "5 min");
        assert_eq!(human(s(26 * 3600)), "26 h");
        assert_eq!(human(s(5 * 3600 + 180)), "5 h 3 min");
        assert_eq!(human(s(2 * 86_400 + 4 * 3600 + 59)), "2 d 4 h");
    }

    #[test]
    fn the_first_failure_names_the_exit_code() {
        let mut report = Report::default();
        report.push(Area::Database, Verdict::Ok, String::new());
        report.push(Area::GetUpdates, Verdict::Ok, String::new());
        report.push(Area::Outbox, Verdict::Fail, String::new());
        report.push(Area::Backup, Verdict::Fail, String::new());
        assert!(!report.healthy());
        assert_eq!(report.exit_code(), 4);
        report.checks.retain(|c| c.verdict == Verdict::Ok);
        assert_eq!(report.exit_code(), 0);
    }
}
