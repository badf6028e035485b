//! When each periodic job last ran, so that a restart neither repeats nor skips one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::job_runs;

/// The running bot's last successful getUpdates, written at most every
/// `polling::RECORD_POLL_EVERY` (read by `repair-bot health`).
pub const GET_UPDATES: &str = "get_updates";
/// The newest backup known to be copied off the machine: its `last_run_at` is that backup's
/// taken-at time (from its file name), so that it compares exactly with the newest backup in
/// the folder, whatever the clock did meanwhile.
pub const BACKUP_COPY: &str = "backup_copy";
/// The scheduled reports (`bot::scheduled_reports`): when each last ran.
pub const REPORT_DAILY: &str = "report_daily";
pub const REPORT_WEEKLY: &str = "report_weekly";
pub const REPORT_MONTHLY: &str = "report_monthly";
pub const MASTER_STATEMENTS: &str = "master_statements";

pub fn last_run(conn: &mut SqliteConnection, job: &str) -> QueryResult<Option<NaiveDateTime>> {
    job_runs::table
        .find(job)
        .select(job_runs::last_run_at)
        .first(conn)
        .optional()
}

pub fn record_run(conn: &mut SqliteConnection, job: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::replace_into(job_runs::table)
        .values((job_runs::job.eq(job), job_runs::last_run_at.eq(at)))
        .execute(conn)
        .map(drop)
}
