//! `BENCH_DATABASE=FILE cargo bench --bench reports`: the scheduled reports' files on a copy of
//! a large database, e.g. the 1,000,000 orders `BENCH_DATABASE_ONLY=FILE cargo bench --bench
//! database` builds. FILE is only read (copied with `std::fs::copy`; it must not be in use).
//!
//! On the copy (migrated by `startup::prepare` if it is older than this build), the month with
//! the most closed orders (by closing moment, Moscow time) is chosen, and each file is built
//! in a fresh process, as the outbox's sender builds it (one connection opened by
//! `db::connection::open`):
//!
//! - `monthly`: that month's report workbook (figures, every closed order's line, every open
//!   order), `reports::period_file`;
//! - `active`: the active-orders export alone, `reports::active_file`;
//! - `statements`: every master's statement for that month, one after another.
//!
//! For each: the first build, the median and slowest of BENCH_REPEATS more (default 5), the
//! file's size and the process's peak RSS (VmHWM) after them. The copy was just written, so
//! the file is in the OS page cache. Target: under 1 s and under 50 MB each. BENCH_KEEP (set:
//! keep the scratch folder).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::{env_number, mb, ms, status_mb};
use diesel::prelude::*;
use repair_bot::db::backup::BackupPolicy;
use repair_bot::db::connection;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::startup::{self, DatabaseSettings};
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
    let Some(source) = std::env::var_os("BENCH_DATABASE").map(PathBuf::from) else {
        eprintln!(
            "BENCH_DATABASE=FILE is required: a database to copy, e.g. one built by \
             `BENCH_DATABASE_ONLY=FILE cargo bench --bench database`"
        );
        return std::process::ExitCode::FAILURE;
    };
    let repeats = env_number("BENCH_REPEATS", 5).max(1);
    let dir = tempfile::Builder::new()
        .prefix("repair-bot-reports-")
        .tempdir()
        .expect("create a temporary folder");
    let db = dir.path().join("bot.db");
    println!("repair-bot reports benchmark");
    println!("  source:  {}", source.display());
    println!("  scratch: {}", dir.path().display());
    std::fs::copy(&source, &db).expect("copy the database");
    let settings = DatabaseSettings {
        path: db.clone(),
        backup: BackupPolicy {
            dir: dir.path().join("backup"),
            keep: 1,
            copy: None,
        },
    };
    let started = Instant::now();
    let mut prepared = startup::prepare(&settings, &Catalog::embedded()).expect("prepare");
    println!(
        "startup (migrations if any: {}): {:.1} s",
        prepared.report.ran.len(),
        started.elapsed().as_secs_f64()
    );
    // Moscow is UTC+3 all year: the local month of a closing is its UTC moment + 3 hours.
    let busiest: Busiest = diesel::sql_query(
        "SELECT strftime('%Y-%m', status_changed_at, '+3 hours') AS month, COUNT(*) AS closed \
         FROM orders WHERE status = 'CLOSED' AND deleted_at IS NULL \
         GROUP BY month ORDER BY closed DESC LIMIT 1",
    )
    .get_result(&mut prepared.connection)
    .expect("the busiest month");
    let open: i64 = diesel::sql_query(
        "SELECT COUNT(*) AS closed, '' AS month FROM orders \
         WHERE status NOT IN ('CLOSED', 'REFUSED') AND deleted_at IS NULL",
    )
    .get_result::<Busiest>(&mut prepared.connection)
    .expect("open orders")
    .closed;
    drop(prepared);
    println!(
        "month {}: {} closed orders; {} orders open now",
        busiest.month, busiest.closed, open
    );

    let mut ok = true;
    for kind in ["monthly", "active", "statements"] {
        let output = Command::new(std::env::current_exe().expect("this bench's path"))
            .env(
                CHILD_ENV,
                format!("{}\n{kind}\n{}\n{repeats}", db.display(), busiest.month),
            )
            .output()
            .expect("build in a fresh process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the build process failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        print!("{stdout}");
        for line in stdout.lines() {
            if let Some(figures) = line.strip_prefix("figures ") {
                let values: Vec<f64> = figures.split(' ').filter_map(|v| v.parse().ok()).collect();
                if let [first_ms, median_ms, slowest_ms, peak_mb, _file_mb] = values[..] {
                    let within =
                        first_ms.max(median_ms).max(slowest_ms) < TARGET_MS && peak_mb < TARGET_MB;
                    ok &= within;
                    println!(
                        "  {kind}: {} (target: under {TARGET_MS:.0} ms and {TARGET_MB:.0} MB)",
                        if within {
                            "within target"
                        } else {
                            "OVER TARGET"
                        }
                    );
                }
            }
        }
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("BENCH_KEEP: kept {}", dir.keep().display());
    }
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
    let masters: Vec<MasterId> =
        repair_bot::store::reports::masters_with_closings(&mut conn, range)
            .expect("masters")
            .into_iter()
            .map(|line| MasterId(line.master_id))
            .collect();
    let title = || Title {
        heading: format!("Отчёт за {month}"),
        subtitle: format!("{from} — {to}"),
    };
    let build = |conn: &mut SqliteConnection| -> (Duration, usize) {
        let started = Instant::now();
        let bytes = match kind {
            "monthly" => reports::period_file(conn, range, title(), TZ)
                .expect("report")
                .len(),
            "active" => reports::active_file(conn, title(), TZ)
                .expect("export")
                .len(),
            _ => masters
                .iter()
                .map(|&master| {
                    reports::statement_file(conn, master, range, title(), TZ)
                        .expect("statement")
                        .len()
                })
                .sum(),
        };
        (started.elapsed(), bytes)
    };
    let (first, bytes) = build(&mut conn);
    let mut times: Vec<Duration> = (0..repeats).map(|_| build(&mut conn).0).collect();
    times.sort();
    let median = times[times.len() / 2];
    let slowest = times[times.len() - 1];
    let peak = status_mb("VmHWM:");
    let what = match kind {
        "monthly" => "the month's report workbook".to_string(),
        "active" => "the active-orders export".to_string(),
        _ => format!("{} masters' statements", masters.len()),
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
