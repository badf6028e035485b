//! `BENCH_DATABASE=FILE cargo bench --bench reports`: the scheduled reports' files on a copy of
//! a large database, e.g. the 1,000,000 orders `BENCH_DATABASE_ONLY=FILE cargo bench --bench
//! database` builds. FILE is only read (copied with `std::fs::copy`; it must not be in use).
//!
//! On the copy (migrated by `startup::prepare` if it is older than this build), finished orders
//! are moved to finish 1-72 hours after they were made (the database bench finishes them all
//! at build time, one month of 680,000 closings; BENCH_AS_BUILT keeps that), the month with
//! the most closed orders (by closing moment, Moscow time) is chosen, and each file is built
//! in a fresh process, as the outbox's sender builds it (one connection opened by
//! `db::connection::open`):
//!
//! - `monthly`: that month's report workbook (figures, every closed order's line, every open
//!   order), `reports::period_file`;
//! - `active`: the active-orders export alone, `reports::active_file`;
//! - `statements`: the statement of the master with the most closings that month (each is
//!   built on its own when sent), and all masters' one after another beside it.
//!
//! BENCH_OPEN_ORDERS=N keeps only the newest N orders open (the database bench leaves 200,000
//! open). For each: the first build, the median and slowest of BENCH_REPEATS more (default 5), the
//! file's size and the process's peak RSS (VmHWM) after them. The copy was just written, so
//! the file is in the OS page cache. Target: under 1 s and under 50 MB each. BENCH_KEEP (set:
//! keep the scratch folder).

mod common;

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use common::{env_number, mb, ms, run_child, status_mb, timed, BenchCopy};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use repair_bot::db::connection;
use repair_bot::domain::ids::MasterId;
use repair_bot::domain::period::{utc_range, Period};
use repair_bot::reports::{self, xlsx::Title};

const CHILD_ENV: &str = "REPORTS_BENCH_CHILD";
const TARGET_MS: f64 = 1000.0;
const TARGET_MB: f64 = 50.0;
const TZ: chrono_tz::Tz = chrono_tz::Europe::Moscow;

#[derive(QueryableByName)]
struct Busiest {
    #[diesel(sql_type = diesel::sql_types::Text)]
    month: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    closed: i64,
}

fn main() -> std::process::ExitCode {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    let repeats = env_number("BENCH_REPEATS", 5).max(1);
    let Some((copy, mut prepared)) = BenchCopy::make("reports") else {
        return std::process::ExitCode::FAILURE;
    };
    let db = copy.db.clone();
    // The database bench builds every finished order as finished at build time: one month
    // holding 680,000 closings, 22,000 a day. Unless BENCH_AS_BUILT is set, the copy's
    // finished orders are finished where a company's are: 1 to 72 hours after they were made,
    // so that a month holds that month's work.
    if std::env::var_os("BENCH_AS_BUILT").is_none() {
        let started = Instant::now();
        prepared
            .connection
            .batch_execute(
                "BEGIN IMMEDIATE;
                 UPDATE orders SET status_changed_at = datetime(created_at, '+' || (1 + id % 72) || ' hours')
                     WHERE status IN ('CLOSED', 'REFUSED');
                 COMMIT;
                 PRAGMA wal_checkpoint(TRUNCATE);",
            )
            .expect("spread the closings");
        println!(
            "closings moved to 1-72 h after creation in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // The database bench leaves 200,000 orders open (a fifth of all). BENCH_OPEN_ORDERS=N keeps
    // only the newest N open (the others refused an hour after they were made), for the
    // export at the size of a company's real backlog.
    let keep_open = env_number("BENCH_OPEN_ORDERS", -1);
    if keep_open >= 0 {
        prepared
            .connection
            .batch_execute(&format!(
                "BEGIN IMMEDIATE;
                 UPDATE orders SET status = 'REFUSED',
                        status_changed_at = datetime(created_at, '+1 hours')
                     WHERE status NOT IN ('CLOSED', 'REFUSED') AND id NOT IN
                       (SELECT id FROM orders WHERE status NOT IN ('CLOSED', 'REFUSED')
                        ORDER BY id DESC LIMIT {keep_open});
                 COMMIT;
                 PRAGMA wal_checkpoint(TRUNCATE);"
            ))
            .expect("keep the newest open orders");
    }
    // Moscow is UTC+3 all year: the local month of a closing is its UTC moment + 3 hours.
    let busiest: Busiest = diesel::sql_query(
        "SELECT strftime('%Y-%m', status_changed_at, '+3 hours') AS month, COUNT(*) AS closed \
         FROM orders WHERE status = 'CLOSED' AND deleted_at IS NULL \
         GROUP BY month ORDER BY closed DESC LIMIT 1",
    )
    .get_result(&mut prepared.connection)
    .expect("the busiest month");
    let open: i64 = {
        use repair_bot::schema::orders;
        orders::table
            .filter(orders::status.ne_all(["CLOSED", "REFUSED"]))
            .filter(orders::deleted_at.is_null())
            .count()
            .get_result(&mut prepared.connection)
            .expect("open orders")
    };
    drop(prepared);
    println!(
        "month {}: {} closed orders; {} orders open now",
        busiest.month, busiest.closed, open
    );

    let mut ok = true;
    let kinds = std::env::var("BENCH_KINDS").unwrap_or_else(|_| "monthly,active,statements".into());
    for kind in kinds.split(',') {
        let spec = format!("{}\n{kind}\n{}\n{repeats}", db.display(), busiest.month);
        ok &= run_child(CHILD_ENV, &spec, kind, TARGET_MS, TARGET_MB);
    }
    copy.finish();
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// In the fresh process: one kind of file built 1 + repeats times, and the peak RSS.
fn child(spec: &str) -> std::process::ExitCode {
    let parts: Vec<&str> = spec.split('\n').collect();
    let [db, kind, month, repeats] = parts[..] else {
        eprintln!("bad {CHILD_ENV}");
        return std::process::ExitCode::FAILURE;
    };
    let repeats: usize = repeats.parse().unwrap_or(1);
    let from = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").expect("a month");
    let to = from
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .expect("the month's last day");
    let range = utc_range(Period::Custom { from, to }, chrono::Utc::now(), TZ);
    let rss_at_start = status_mb("VmRSS:");
    let mut conn = connection::open(Path::new(db)).expect("open the database as the bot does");
    let masters =
        repair_bot::store::reports::masters_with_closings(&mut conn, range).expect("masters");
    // Each statement is built on its own when it is sent: the one measured is the master's
    // with the most closings; all of them one after another are shown beside it.
    let busiest = masters
        .iter()
        .max_by_key(|line| line.figures.closed)
        .map(|line| (MasterId(line.master_id), line.figures.closed));
    let title = || Title {
        heading: format!("Отчёт за {month}"),
        subtitle: format!("{from} — {to}"),
    };
    let build = |conn: &mut SqliteConnection| match kind {
        "monthly" => reports::period_file(conn, range, title(), TZ)
            .expect("report")
            .1
            .len(),
        "active" => reports::active_file(conn, title(), TZ)
            .expect("export")
            .len(),
        _ => {
            let (master, _) = busiest.expect("a master with closings");
            reports::statement_file(conn, master, range, title(), TZ)
                .expect("statement")
                .len()
        }
    };
    if kind == "statements" {
        let started = Instant::now();
        for line in &masters {
            reports::statement_file(&mut conn, MasterId(line.master_id), range, title(), TZ)
                .expect("statement");
        }
        println!(
            "  all {} masters' statements one after another: {:.1} ms",
            masters.len(),
            ms(started.elapsed())
        );
    }
    if kind == "active" {
        // How much of it is reading the database: the same pages, nothing written.
        let started = Instant::now();
        let mut lines = 0;
        repair_bot::store::reports::each_active_line(&mut conn, |_| {
            lines += 1;
            diesel::QueryResult::Ok(())
        })
        .expect("the open orders");
        println!(
            "  reading its {lines} lines alone: {:.1} ms",
            ms(started.elapsed())
        );
    }
    let (first, bytes, median, slowest) = timed(repeats, || build(&mut conn));
    let peak = status_mb("VmHWM:");
    let what = match kind {
        "monthly" => "the month's report workbook".to_string(),
        "active" => "the active-orders export".to_string(),
        _ => format!(
            "the statement of the master with the most closings ({})",
            busiest.map_or(0, |(_, closed)| closed)
        ),
    };
    println!(
        "{kind}: {what}, {:.1} MB of .xlsx\n  first {:>8.1} ms, then median {:>8.1} ms, slowest \
         {:>8.1} ms of {repeats}; RSS {:.1} MB at start, peak {:.1} MB",
        mb(bytes as u64),
        ms(first),
        ms(median),
        ms(slowest),
        rss_at_start,
        peak
    );
    println!(
        "figures {:.1} {:.1} {:.1} {:.1} {:.2}",
        ms(first),
        ms(median),
        ms(slowest),
        peak,
        mb(bytes as u64)
    );
    std::process::ExitCode::SUCCESS
}
