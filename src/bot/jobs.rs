//! Periodic work while the bot runs: reminders to masters who have not accepted, SLA alerts
//! to admins, the daily backup. [`tick`] does one round at the clock's time, so tests drive it
//! with a manual clock instead of sleeping; [`run_periodically`] calls it every half minute.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use teloxide::prelude::*;

use super::cards;
use super::texts;
use super::App;
use crate::db::backup::{self, BackupReason};
use crate::domain::status::{OrderStatus, Role};
use crate::store::audit::{self, AuditAction, Entity};
use crate::store::{jobs, masters, orders, users};

const PERIOD: Duration = Duration::from_secs(30);
const DAILY_BACKUP: &str = "daily_backup";
const DAILY_SUMMARY: &str = "daily_summary";

/// What one round did (for tests and the log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub reminded: Vec<i64>,
    pub sla_alerted: Vec<(i64, OrderStatus)>,
    pub backup: Option<Result<std::path::PathBuf, String>>,
    /// How many people got the daily summary this round.
    pub summary_sent_to: Option<usize>,
}

pub async fn run_periodically(bot: Bot, app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(error) = tick(&bot, &app).await {
            log::error!("periodic jobs failed: {error}");
        }
        tokio::select! {
            _ = tokio::time::sleep(PERIOD) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whether `now` falls in the configured quiet hours (company time zone).
fn is_quiet(app: &App, now: NaiveDateTime) -> bool {
    let local = now.and_utc().with_timezone(&app.config.timezone).time();
    app.config
        .quiet_hours
        .is_some_and(|quiet| quiet.contains(local))
}

pub async fn tick(bot: &Bot, app: &App) -> Result<TickReport, super::BoxError> {
    let now = app.now();
    let mut report = TickReport::default();
    if !is_quiet(app, now) {
        report.reminded = remind(bot, app, now).await?;
        report.sla_alerted = sla_alerts(bot, app, now).await?;
    }
    report.backup = daily_backup(bot, app, now).await?;
    report.summary_sent_to = daily_summary(bot, app, now).await?;
    Ok(report)
}

async fn remind(bot: &Bot, app: &App, now: NaiveDateTime) -> Result<Vec<i64>, super::BoxError> {
    let policy = app.config.reminders;
    let waiting = app
        .db(move |conn| orders::awaiting_acceptance(conn, now - policy.first))
        .await?;
    let mut reminded = Vec::new();
    for order in waiting {
        let sent = order.reminders_sent.max(0) as u32;
        if sent >= policy.max || now < order.status_changed_at + policy.due_after(sent) {
            continue;
        }
        let Some(master_id) = order.assigned_master_id else {
            continue;
        };
        let found = app
            .db(move |conn| {
                let Some(master) = masters::by_id(conn, master_id)? else {
                    return Ok(None);
                };
                Ok(users::by_telegram_id(conn, master.telegram_id)?.map(|user| (master, user)))
            })
            .await?;
        if let Some((master, user)) = found {
            cards::to_master(bot, &master, &user, &texts::reminder(order.id), None).await;
        }
        let order_id = order.id;
        app.db(move |conn| orders::mark_reminded(conn, order_id, now))
            .await?;
        reminded.push(order_id);
    }
    Ok(reminded)
}

async fn sla_alerts(
    bot: &Bot,
    app: &App,
    now: NaiveDateTime,
) -> Result<Vec<(i64, OrderStatus)>, super::BoxError> {
    let sla = app.config.sla;
    let thresholds: [(OrderStatus, TimeDelta); 4] = [
        (OrderStatus::New, sla.new),
        (OrderStatus::Assigned, sla.assigned),
        (OrderStatus::Accepted, sla.accepted),
        (OrderStatus::Onsite, sla.onsite),
    ];
    let admins = app
        .db(|conn| users::with_roles(conn, &[Role::Admin]))
        .await?;
    let mut alerted = Vec::new();
    for (status, limit) in thresholds {
        let late = app
            .db(move |conn| orders::sla_breaches(conn, status, now - limit))
            .await?;
        for order in late {
            let order_id = order.id;
            // Recorded first: an alert is sent at most once even if sending is retried later.
            if !app
                .db(move |conn| orders::record_sla_alert(conn, order_id, status, now))
                .await?
            {
                continue;
            }
            let text = texts::sla_alert(&order, status, limit.num_hours());
            for admin in &admins {
                super::notify::send_logged(bot, ChatId(*admin), &text, None).await;
            }
            alerted.push((order_id, status));
        }
    }
    Ok(alerted)
}

/// Today's occurrence of a local time of day, in UTC.
fn today_at(app: &App, now: NaiveDateTime, at: chrono::NaiveTime) -> Option<NaiveDateTime> {
    let tz = app.config.timezone;
    let local_today = now.and_utc().with_timezone(&tz).date_naive();
    let local_due = local_today.and_time(at).and_local_timezone(tz).earliest()?;
    Some(local_due.naive_utc())
}

/// Whether a daily job is due: its time today has come and it has not run since.
async fn daily_due(
    app: &App,
    now: NaiveDateTime,
    at: Option<chrono::NaiveTime>,
    job: &'static str,
) -> Result<bool, super::BoxError> {
    let Some(due) = at.and_then(|at| today_at(app, now, at)) else {
        return Ok(false);
    };
    if now < due {
        return Ok(false);
    }
    let last = app.db(move |conn| jobs::last_run(conn, job)).await?;
    Ok(last.is_none_or(|last| last < due))
}

async fn daily_backup(
    bot: &Bot,
    app: &App,
    now: NaiveDateTime,
) -> Result<Option<Result<std::path::PathBuf, String>>, super::BoxError> {
    if !daily_due(app, now, app.config.backup_at, DAILY_BACKUP).await? {
        return Ok(None);
    }
    let settings = app.database.clone();
    let result = tokio::task::spawn_blocking(move || {
        backup::create(&settings.path, &settings.backup, &BackupReason::Scheduled)
    })
    .await?
    .map_err(|e| e.to_string());
    let (action, details) = match &result {
        Ok(path) => (AuditAction::BackupCreated, path.display().to_string()),
        Err(error) => (AuditAction::BackupFailed, error.clone()),
    };
    app.db(move |conn| {
        audit::record(conn, None, action, Entity::System, Some(details), now)?;
        jobs::record_run(conn, DAILY_BACKUP, now)
    })
    .await?;
    match &result {
        Ok(path) => log::info!("scheduled backup written to {}", path.display()),
        Err(error) => {
            log::error!("scheduled backup failed: {error}");
            let admins = app
                .db(|conn| users::with_roles(conn, &[Role::Admin]))
                .await?;
            for admin in admins {
                super::notify::send_logged(bot, ChatId(admin), &texts::backup_failed(error), None)
                    .await;
            }
        }
    }
    Ok(Some(result))
}

/// The day's summary (new, open per status, closed with money) to admins and dispatchers.
async fn daily_summary(
    bot: &Bot,
    app: &App,
    now: NaiveDateTime,
) -> Result<Option<usize>, super::BoxError> {
    if !daily_due(app, now, app.config.summary_at, DAILY_SUMMARY).await? {
        return Ok(None);
    }
    let (from, to) = crate::domain::period::utc_range(
        crate::domain::period::Period::Today,
        now.and_utc(),
        app.config.timezone,
    );
    let summary = app
        .db(move |conn| crate::store::reports::daily_summary(conn, from, to))
        .await?;
    let staff = app
        .db(move |conn| {
            jobs::record_run(conn, DAILY_SUMMARY, now)?;
            users::with_roles(conn, &[Role::Admin, Role::Dispatcher])
        })
        .await?;
    let text = texts::daily_summary(&summary);
    for id in &staff {
        super::notify::send_logged(bot, ChatId(*id), &text, None).await;
    }
    Ok(Some(staff.len()))
}
