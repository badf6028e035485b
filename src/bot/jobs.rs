//! Periodic work while the bot runs: reminders to masters who have not accepted, SLA alerts
//! to admins, the daily backup, the daily summary and the scheduled reports. [`tick`] does one
//! round at the clock's time, so tests drive it with a manual clock instead of sleeping;
//! [`run_periodically`] runs a round every half minute and stops between persons when the bot
//! stops ([`tick_until`]). Many orders due for one person at once (downtime, an adopted
//! database) make one summary, not a message each. A round sends nothing itself: what it owes is queued in the outbox in the transaction
//! that counts it (a reminder counted is a reminder queued), and the outbox's sender
//! delivers it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use tokio::sync::watch;

use super::texts;
use super::{notices, App};
use crate::db::backup::{self, BackupReason};
use crate::db::backup_copy::{CopyOutcome, CopyReport};
use crate::domain::ids::{MasterId, OrderId};
use crate::domain::period::{self, Cadence};
use crate::domain::status::{OrderStatus, Role};
use crate::store::audit::{self, AuditAction, Entity};
use crate::store::outbox;
use crate::store::{jobs, masters, orders, users};

const PERIOD: Duration = Duration::from_secs(30);
/// After the stop signal, how long a round may go on to its next stopping point (it stops
/// between persons) before it is dropped. A round only writes to the database, so it runs
/// into this only when the database is stuck (a backup in progress).
pub const ROUND_GRACE: Duration = Duration::from_secs(2);
/// Up to this many due orders for one person in one round are sent one message each; more
/// become one summary. Orders fall due at their own times and a round runs every half
/// minute, so in normal work a person seldom has more than one or two at once; four or more
/// at once means the bot was down or has just adopted an old database, where a message per
/// order would bury the chat.
const SEPARATE_UP_TO: usize = 3;
/// How many order numbers a summary names: those waiting longest.
const SUMMARY_NAMES: usize = 5;
const DAILY_BACKUP: &str = "daily_backup";
const DAILY_SUMMARY: &str = "daily_summary";

/// What one round did (for tests and the log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Orders whose reminder this round counted (one each, or in a summary).
    pub reminded: Vec<OrderId>,
    /// Orders whose visit this round reminded of (`VISIT_REMINDER_MINUTES` before it).
    pub visit_reminded: Vec<OrderId>,
    pub sla_alerted: SlaAlerted,
    /// The daily backup's file (or why there is none), when this round took it.
    pub backup: Option<Result<std::path::PathBuf, String>>,
    /// What became of its off-machine copy (None: no copy command, or no backup).
    pub backup_copy: Option<CopyReport>,
    /// How many people got the daily summary this round.
    pub summary_sent_to: Option<usize>,
    /// The scheduled reports this round queued, and to how many people each.
    pub reports_queued: super::scheduled_reports::Queued,
    /// The stop signal came during the round: what it did not reach is still due.
    pub stopped: bool,
}

/// The orders a round alerted about, per status, longest late first. Kept per status as bare
/// ids: after downtime a round may alert about a hundred thousand orders at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaAlerted(pub Vec<(OrderStatus, Vec<OrderId>)>);

impl SlaAlerted {
    pub fn len(&self) -> usize {
        self.0.iter().map(|(_, ids)| ids.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (order, status) alerted.
    pub fn pairs(&self) -> Vec<(OrderId, OrderStatus)> {
        self.0
            .iter()
            .flat_map(|(status, ids)| ids.iter().map(move |&id| (id, *status)))
            .collect()
    }
}

pub async fn run_periodically(app: App, mut stop: watch::Receiver<bool>) {
    loop {
        let watched = stop.clone();
        let round = tick_until(&app, &watched);
        tokio::pin!(round);
        let outcome = tokio::select! {
            outcome = &mut round => Some(outcome),
            _ = stopped(&mut stop) => tokio::time::timeout(ROUND_GRACE, &mut round).await.ok(),
        };
        match outcome {
            Some(Ok(_)) => {}
            Some(Err(error)) => log::error!("periodic jobs failed: {error}"),
            None => log::warn!(
                "periodic jobs dropped {ROUND_GRACE:?} after the stop, stuck in a send: what was not sent is sent after the next start"
            ),
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(PERIOD) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// Resolves once the stop is asked (or nobody can ask it any more).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Whether `now` falls in the configured quiet hours (company time zone).
fn is_quiet(app: &App, now: NaiveDateTime) -> bool {
    let local = now.and_utc().with_timezone(&app.config.timezone).time();
    app.config
        .quiet_hours
        .is_some_and(|quiet| quiet.contains(local))
}

/// One whole round at the clock's time.
pub async fn tick(app: &App) -> Result<TickReport, super::BoxError> {
    let (_never, running) = watch::channel(false);
    tick_until(app, &running).await
}

/// One round that, once `stop` is set, takes on no further person: each master's reminders
/// are counted and queued together, the SLA alerts found are recorded and queued together, and
/// whatever was not reached stays due for the next start.
pub async fn tick_until(
    app: &App,
    stop: &watch::Receiver<bool>,
) -> Result<TickReport, super::BoxError> {
    let now = app.now();
    let mut report = TickReport::default();
    if !is_quiet(app, now) {
        report.reminded = remind(app, now, stop).await?;
        report.sla_alerted = sla_alerts(app, now, stop).await?;
        if !stopping(stop) {
            report.visit_reminded = super::visits::remind_visits(app, now).await?;
        }
    }
    if !stopping(stop) {
        if let Some((file, copy)) = daily_backup(app, now).await? {
            report.backup = Some(file);
            report.backup_copy = copy;
        }
    }
    if !stopping(stop) {
        report.summary_sent_to = daily_summary(app, now).await?;
    }
    if !stopping(stop) {
        report.reports_queued = super::scheduled_reports::queue_due(app, now).await?;
    }
    report.stopped = stopping(stop);
    Ok(report)
}

async fn remind(
    app: &App,
    now: NaiveDateTime,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<OrderId>, super::BoxError> {
    let cutoffs = app.config.reminders.cutoffs(now);
    let mut due = app
        .db_long(move |conn| orders::reminders_due(conn, &cutoffs))
        .await?;
    due.sort_by_key(|order| (order.status_changed_at, order.id));
    // An ASSIGNED order without a master has nobody to remind; it is counted all the same,
    // so that it does not come back every round.
    let mut by_master: BTreeMap<Option<MasterId>, Vec<OrderId>> = BTreeMap::new();
    for order in &due {
        by_master
            .entry(order.assigned_master_id)
            .or_default()
            .push(order.id);
    }
    let mut reminded = Vec::new();
    let tz = app.config.timezone;
    for (master_id, order_ids) in by_master {
        if stopping(stop) {
            break;
        }
        let counted = order_ids.clone();
        app.db_long(move |conn| {
            let found = match master_id {
                Some(master_id) => masters::with_user(conn, master_id)?,
                None => None,
            };
            orders::mark_reminded(conn, &counted, now, |conn| {
                let Some((master, user)) = found else {
                    return Ok(());
                };
                let owed = if counted.len() > SEPARATE_UP_TO {
                    let text = texts::reminders_summary(named(&counted), counted.len());
                    vec![notices::to_master(&master, &user, &text, None)]
                } else {
                    // One each, with the offer's Accept / Decline buttons.
                    counted
                        .iter()
                        .map(|&id| notices::reminder_to_master(conn, tz, id, &master, &user))
                        .collect::<diesel::QueryResult<Vec<_>>>()?
                };
                outbox::enqueue(conn, &owed, now)
            })
        })
        .await?;
        app.outbox.wake();
        reminded.extend(order_ids);
    }
    Ok(reminded)
}

/// The first few of a list ordered longest-waiting first, for a summary.
fn named(order_ids: &[OrderId]) -> &[OrderId] {
    &order_ids[..order_ids.len().min(SUMMARY_NAMES)]
}

async fn sla_alerts(
    app: &App,
    now: NaiveDateTime,
    stop: &watch::Receiver<bool>,
) -> Result<SlaAlerted, super::BoxError> {
    if stopping(stop) {
        return Ok(SlaAlerted::default());
    }
    let sla = app.config.sla;
    let thresholds: [(OrderStatus, TimeDelta); 4] = [
        (OrderStatus::New, sla.new),
        (OrderStatus::Assigned, sla.assigned),
        (OrderStatus::Accepted, sla.accepted),
        (OrderStatus::Onsite, sla.onsite),
    ];
    // Found, recorded and queued in one transaction: an alert is owed exactly once.
    let recorded = app
        .db_long(move |conn| {
            conn.immediate_transaction(|conn| {
                let mut late = Vec::new();
                for (status, limit) in thresholds {
                    let ids = orders::record_sla_breaches(conn, status, now - limit, now)?;
                    if !ids.is_empty() {
                        late.push(Late { status, limit, ids });
                    }
                }
                if late.is_empty() {
                    return Ok(SlaAlerted::default());
                }
                let messages = sla_messages(conn, &late)?;
                let admins = users::with_roles(conn, &[Role::Admin])?;
                let mut owed: Vec<_> = messages
                    .iter()
                    .flat_map(|text| notices::to_each(&admins, text))
                    .collect();
                // A NEW order nobody assigned is the dispatchers' to act on: they get its
                // alert too (admins have it already).
                let unassigned: Vec<Late> = late
                    .iter()
                    .filter(|l| l.status == OrderStatus::New)
                    .cloned()
                    .collect();
                if !unassigned.is_empty() {
                    let dispatchers: Vec<_> = users::with_roles(conn, &[Role::Dispatcher])?
                        .into_iter()
                        .filter(|id| !admins.contains(id))
                        .collect();
                    if !dispatchers.is_empty() {
                        for text in sla_messages(conn, &unassigned)? {
                            owed.extend(notices::to_each(&dispatchers, &text));
                        }
                    }
                }
                outbox::enqueue(conn, &owed, now)?;
                Ok(SlaAlerted(
                    late.into_iter()
                        .map(|late| (late.status, late.ids))
                        .collect(),
                ))
            })
        })
        .await?;
    app.outbox.wake();
    Ok(recorded)
}

/// The orders found late in one status, longest in it first.
#[derive(Clone)]
struct Late {
    status: OrderStatus,
    limit: TimeDelta,
    ids: Vec<OrderId>,
}

/// One alert per late order, or one summary when there are many, naming those late longest.
/// Only the few orders a message names are read whole.
fn sla_messages(
    conn: &mut diesel::SqliteConnection,
    late: &[Late],
) -> diesel::QueryResult<Vec<String>> {
    let total: usize = late.iter().map(|l| l.ids.len()).sum();
    let mut longest = Vec::new();
    for group in late {
        for &id in group.ids.iter().take(SUMMARY_NAMES.max(SEPARATE_UP_TO)) {
            if let Some(order) = orders::get(conn, id)? {
                let late_since = order.status_changed_at + group.limit;
                longest.push((late_since, order, group.status, group.limit));
            }
        }
    }
    longest.sort_by_key(|(late_since, order, _, _)| (*late_since, order.id));
    if total > SEPARATE_UP_TO {
        let per_status: Vec<(OrderStatus, TimeDelta, usize)> = late
            .iter()
            .map(|l| (l.status, l.limit, l.ids.len()))
            .collect();
        let ids: Vec<OrderId> = longest.iter().map(|(_, order, _, _)| order.id).collect();
        return Ok(vec![texts::sla_summary(&per_status, named(&ids), total)]);
    }
    Ok(longest
        .iter()
        .map(|(_, order, status, limit)| texts::sla_alert_after(order, *status, *limit))
        .collect())
}

/// Whether a daily job is due: its time today has come and it has not run since. A day
/// missed while the bot was down is not made up (tomorrow's run does the work).
async fn daily_due(
    app: &App,
    now: NaiveDateTime,
    at: Option<chrono::NaiveTime>,
    job: &'static str,
) -> Result<bool, super::BoxError> {
    let tz = app.config.timezone;
    let today = period::local_day(now, tz);
    let Some(due) = at
        .and_then(|at| period::latest_occurrence(Cadence::Daily, at, now, tz))
        .and_then(|(day, due)| (day == today).then_some(due))
    else {
        return Ok(false);
    };
    let last = app.db(move |conn| jobs::last_run(conn, job)).await?;
    Ok(last.is_none_or(|last| last < due))
}

/// The file (or why there is none) and what became of its copy, when a backup was due.
type DailyBackup = (Result<std::path::PathBuf, String>, Option<CopyReport>);

async fn daily_backup(
    app: &App,
    now: NaiveDateTime,
) -> Result<Option<DailyBackup>, super::BoxError> {
    if !daily_due(app, now, app.config.backup_at, DAILY_BACKUP).await? {
        return Ok(None);
    }
    let settings = app.database.clone();
    let taken = tokio::task::spawn_blocking(move || {
        backup::take(&settings.path, &settings.backup, &BackupReason::Scheduled)
    })
    .await?
    .map_err(|e| e.to_string());
    let (action, details) = match &taken {
        Ok(taken) => (AuditAction::BackupCreated, taken.path.display().to_string()),
        Err(error) => (AuditAction::BackupFailed, error.clone()),
    };
    let failure = taken
        .as_ref()
        .err()
        .map(|error| texts::backup_failed(error));
    let copy = taken.as_ref().ok().and_then(|taken| taken.copy.clone());
    let recorded_copy = copy.clone();
    app.db_long(move |conn| {
        conn.immediate_transaction(|conn| {
            audit::record(conn, None, action, Entity::System, Some(details), now)?;
            jobs::record_run(conn, DAILY_BACKUP, now)?;
            if let Some(text) = failure {
                let admins = users::with_roles(conn, &[Role::Admin])?;
                outbox::enqueue(conn, &notices::to_each(&admins, &text), now)?;
            }
            if let Some(copy) = &recorded_copy {
                record_backup_copy(conn, copy, now)?;
            }
            Ok(())
        })
    })
    .await?;
    app.outbox.wake();
    match &taken {
        Ok(taken) => log::info!("scheduled backup written to {}", taken.path.display()),
        Err(error) => log::error!("scheduled backup failed: {error}"),
    }
    Ok(Some((taken.map(|taken| taken.path), copy)))
}

/// [`record_backup_copy`] for the start and the operator commands, in a transaction of its
/// own. Only a database the bot runs on can keep it: an old bot's, or one reverted below the
/// outbox, cannot (Ok(false)).
pub fn record_backup_copy_alone(
    conn: &mut diesel::SqliteConnection,
    copy: &CopyReport,
    now: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    let tables = crate::db::snapshot::object_names(conn)?;
    let has = |name: &str| tables.iter().any(|(kind, n)| kind == "table" && n == name);
    if !["__diesel_schema_migrations", "job_runs", "outbox"]
        .into_iter()
        .all(has)
    {
        return Ok(false);
    }
    conn.immediate_transaction(|conn| record_backup_copy(conn, copy, now))?;
    Ok(true)
}

/// Writes down what became of a backup's off-machine copy, inside the caller's transaction:
/// the audit log always; on success the newest backup known copied (what `repair-bot health`
/// compares the newest backup with); on failure a message to every admin.
pub fn record_backup_copy(
    conn: &mut diesel::SqliteConnection,
    copy: &CopyReport,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let file = copy.backup.file_name().map_or_else(
        || copy.backup.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match &copy.outcome {
        CopyOutcome::Copied => {
            audit::record(
                conn,
                None,
                AuditAction::BackupCopied,
                Entity::System,
                Some(copy.details()),
                now,
            )?;
            let Some(taken_at) = backup::taken_at(&copy.backup).map(|t| t.naive_utc()) else {
                return Ok(());
            };
            // An older backup copied late (a retry by hand) does not hide a newer one.
            if jobs::last_run(conn, jobs::BACKUP_COPY)?.is_none_or(|copied| copied < taken_at) {
                jobs::record_run(conn, jobs::BACKUP_COPY, taken_at)?;
            }
            Ok(())
        }
        CopyOutcome::Failed { status, output } => {
            audit::record(
                conn,
                None,
                AuditAction::BackupCopyFailed,
                Entity::System,
                Some(copy.details()),
                now,
            )?;
            let text = texts::backup_copy_failed(&file, status, output);
            let admins = users::with_roles(conn, &[Role::Admin])?;
            outbox::enqueue(conn, &notices::to_each(&admins, &text), now)
        }
    }
}

/// The day's summary (new, open per status, closed with money) to admins and dispatchers.
async fn daily_summary(app: &App, now: NaiveDateTime) -> Result<Option<usize>, super::BoxError> {
    if !daily_due(app, now, app.config.summary_at, DAILY_SUMMARY).await? {
        return Ok(None);
    }
    let (from, to) = period::utc_range(period::Period::Today, now.and_utc(), app.config.timezone);
    let summary = app
        .db_long(move |conn| crate::store::reports::daily_summary(conn, from, to))
        .await?;
    let text = texts::daily_summary(&summary);
    let told = app
        .db_long(move |conn| {
            conn.immediate_transaction(|conn| {
                jobs::record_run(conn, DAILY_SUMMARY, now)?;
                let staff = users::with_roles(conn, &[Role::Admin, Role::Dispatcher])?;
                outbox::enqueue(conn, &notices::to_each(&staff, &text), now)?;
                Ok(staff.len())
            })
        })
        .await?;
    app.outbox.wake();
    Ok(Some(told))
}
