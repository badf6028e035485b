//! When each periodic job last ran, so that a restart neither repeats nor skips one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::job_runs;

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
