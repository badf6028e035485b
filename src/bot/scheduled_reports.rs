//! The reports the owner reconciles from, sent on their own: yesterday's to admins every day,
//! last week's on Mondays, last month's on the 1st, and each master's statement for last month
//! to him privately, each at its configured local time (`REPORT_*_TIME`,
//! `MASTER_STATEMENT_TIME`).
//!
//! A report is queued like every other message the bot owes: the run is recorded and the
//! messages are queued in one transaction (`store::outbox`), so a crash can neither lose a due
//! report nor send one twice. The workbook is not stored: the outbox row names it
//! ([`Document`]) and the sender builds it when it sends ([`render`]).
//!
//! When is a report due: at its latest occurrence not after now, when it has not run since.
//! A bot that was down over an occurrence sends that report when it is back (last month's
//! report on the 2nd). A job that never ran (a new install, an upgrade from the old bot) sends
//! only what falls due today, so a first start does not send a backlog of old periods.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};

use super::{texts, App, BoxError};
use crate::domain::ids::MasterId;
use crate::domain::period::{
    day_start_utc, latest_occurrence, local_dates, local_day, utc_range, Cadence, Period,
};
use crate::domain::status::Role;
use crate::reports;
use crate::store::outbox::{self, NewMessage};
use crate::store::{jobs, masters, reports as figures, users};

/// One scheduled job: what it sends, how often, at which local time (None: off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Job {
    name: &'static str,
    cadence: Cadence,
    at: Option<NaiveTime>,
    statements: bool,
}

/// What the outbox row of a file names, to be built when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Document {
    /// The period report with its order lines and the active orders.
    PeriodReport {
        heading: String,
        from: NaiveDate,
        /// The last day, included.
        to: NaiveDate,
    },
    /// One master's statement.
    MasterStatement {
        heading: String,
        master: MasterId,
        from: NaiveDate,
        to: NaiveDate,
    },
}

impl Document {
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A built file: its name and bytes.
pub struct BuiltFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl BuiltFile {
    /// A report's workbook, named after its heading.
    pub fn report(heading: &str, bytes: Vec<u8>) -> BuiltFile {
        BuiltFile {
            name: texts::report_file_name(heading),
            bytes,
        }
    }

    /// What goes instead of the file when it is bigger than `limit` (Telegram would refuse
    /// it): its caption and why. None: it fits.
    pub fn too_big(&self, caption: &str, limit: usize) -> Option<String> {
        (self.bytes.len() > limit).then(|| texts::file_too_big(caption, self.bytes.len(), limit))
    }
}

/// Builds the file an outbox row names. Err: the row can never be sent (its description is
/// unreadable, or the workbook cannot be written); a database that is busy is retried.
pub async fn render(app: &App, json: &str) -> Result<Result<BuiltFile, String>, BoxError> {
    let document: Document = match serde_json::from_str(json) {
        Ok(document) => document,
        Err(error) => return Ok(Err(format!("unreadable file description: {error}"))),
    };
    let tz = app.config.timezone;
    let (heading, from, to) = match &document {
        Document::PeriodReport { heading, from, to }
        | Document::MasterStatement {
            heading, from, to, ..
        } => (heading.clone(), *from, *to),
    };
    let range = utc_range(Period::Custom { from, to }, app.clock.now(), tz);
    let title = texts::report_title(&heading, from, to, tz);
    let built = app
        .db_read_alone(move |conn| {
            Ok(match document {
                Document::PeriodReport { .. } => {
                    reports::period_file(conn, range, title, tz).map(|(_, bytes)| bytes)
                }
                Document::MasterStatement { master, .. } => {
                    reports::statement_file(conn, master, range, title, tz)
                }
            })
        })
        .await?;
    Ok(match built {
        Ok(bytes) => Ok(BuiltFile::report(&heading, bytes)),
        Err(reports::FileError::Database(error)) => return Err(error.into()),
        Err(error) => Err(error.to_string()),
    })
}

/// What a round queued: per job run, how many people it went to.
pub type Queued = Vec<(&'static str, usize)>;

/// Queues every scheduled report that is due at `now`.
pub async fn queue_due(app: &App, now: NaiveDateTime) -> Result<Queued, BoxError> {
    let schedule = app.config.reports;
    let report = |name, cadence, at| Job {
        name,
        cadence,
        at,
        statements: false,
    };
    let jobs = [
        report(jobs::REPORT_DAILY, Cadence::Daily, schedule.daily),
        report(jobs::REPORT_WEEKLY, Cadence::Weekly, schedule.weekly),
        report(jobs::REPORT_MONTHLY, Cadence::Monthly, schedule.monthly),
        Job {
            name: jobs::MASTER_STATEMENTS,
            cadence: Cadence::Monthly,
            at: schedule.statements,
            statements: true,
        },
    ];
    let mut queued = Vec::new();
    for job in jobs {
        if let Some(told) = run_if_due(app, job, now).await? {
            queued.push((job.name, told));
        }
    }
    if !queued.is_empty() {
        app.outbox.wake();
    }
    Ok(queued)
}

/// Runs `job` when due: records the run and queues its messages in one transaction. Some(n):
/// it ran and went to n people.
async fn run_if_due(app: &App, job: Job, now: NaiveDateTime) -> Result<Option<usize>, BoxError> {
    let tz = app.config.timezone;
    let Some(at) = job.at else {
        return Ok(None);
    };
    let Some((day, due)) = latest_occurrence(job.cadence, at, now, tz) else {
        return Ok(None);
    };
    let today = day == local_day(now, tz);
    let (from, end) = local_dates(job.cadence.reported(), day);
    let to = end.pred_opt().unwrap_or(from);
    let range = (day_start_utc(from, tz), day_start_utc(end, tz));
    let last = app.db(move |conn| jobs::last_run(conn, job.name)).await?;
    let due_now = match last {
        Some(last) => last < due,
        None => today,
    };
    if !due_now {
        return Ok(None);
    }
    // The figures are read on a connection of their own (a month of a big company takes a
    // while), then the run is recorded and the messages queued in one short transaction.
    let owed = app
        .db_read_alone(move |conn| {
            if job.statements {
                statements(conn, range, from, to)
            } else {
                period_report(conn, job.cadence, range, from, to)
            }
        })
        .await?;
    let people = owed
        .iter()
        .map(|m| m.chat_id)
        .collect::<std::collections::BTreeSet<i64>>()
        .len();
    let told = app
        .db_long(move |conn| {
            conn.immediate_transaction(|conn| {
                // Recorded meanwhile (another round of the same occurrence): nothing to add.
                if jobs::last_run(conn, job.name)?.is_some_and(|last| last >= due) {
                    return Ok(None);
                }
                jobs::record_run(conn, job.name, now)?;
                outbox::enqueue(conn, &owed, now)?;
                Ok(Some(people))
            })
        })
        .await?;
    if let Some(told) = told {
        log::info!(
            "scheduled {} for {from}..={to} queued to {told} people",
            job.name
        );
    }
    Ok(told)
}

/// The period report to every admin: the figures as a message, then the workbook.
fn period_report(
    conn: &mut diesel::SqliteConnection,
    cadence: Cadence,
    range: (NaiveDateTime, NaiveDateTime),
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<NewMessage>> {
    let report = figures::report(conn, range.0, range.1)?;
    let heading = texts::scheduled_report_heading(cadence, from, to);
    let text = texts::report(&heading, &report);
    let document = Document::PeriodReport {
        heading: heading.clone(),
        from,
        to,
    }
    .json();
    let caption = texts::report_file_caption(&heading);
    let admins = users::with_roles(conn, &[Role::Admin])?;
    Ok(admins
        .iter()
        .flat_map(|admin| {
            [
                NewMessage::to(admin.0, text.clone()),
                NewMessage::to(admin.0, caption.clone()).with_document(document.clone()),
            ]
        })
        .collect())
}

/// Each master who closed orders in the period (and is not fired) gets his figures and his
/// lines, privately: money is nobody else's business, so never through his work group.
fn statements(
    conn: &mut diesel::SqliteConnection,
    range: (NaiveDateTime, NaiveDateTime),
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<NewMessage>> {
    let heading = texts::statement_heading(from, to);
    let caption = texts::report_file_caption(&heading);
    let mut owed = Vec::new();
    for line in figures::masters_with_closings(conn, range)? {
        let master = MasterId(line.master_id);
        let Some(chat) = masters::by_id(conn, master)?.map(|m| m.telegram_id.0) else {
            continue;
        };
        let document = Document::MasterStatement {
            heading: heading.clone(),
            master,
            from,
            to,
        };
        owed.push(NewMessage::to(
            chat,
            texts::statement(&heading, &line.figures),
        ));
        owed.push(NewMessage::to(chat, caption.clone()).with_document(document.json()));
    }
    Ok(owed)
}
