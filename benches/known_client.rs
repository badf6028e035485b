//! `BENCH_DATABASE=FILE cargo bench --bench known_client`: the intake's lookup of a known
//! client (`store::clients::known_client`, what runs after the phone is typed) on a copy of a
//! large database, e.g. the 1,000,000 orders `BENCH_DATABASE_ONLY=FILE cargo bench --bench
//! database` builds. FILE is only read (copied with `std::fs::copy`; it must not be in use).
//!
//! On the copy (migrated by `startup::prepare` if it is older than this build), one phone is
//! given BENCH_MANY_ORDERS orders (default 10,000) spread evenly over the whole table (every
//! n-th order, so that each sits on its own pages: the worst case for reading them), a few of
//! them closed recently (warranty) and one deleted; another phone has none.
//!
//! Each phone is then looked up in a fresh process, as the bot does it (one connection
//! opened by `db::connection::open`): the first lookup, the median and slowest of
//! BENCH_REPEATS more (default 51), and the process's peak RSS (VmHWM from
//! /proc/self/status) after them. The copy was just written, so the file is in the OS page
//! cache: the first lookup is cold for SQLite's own cache, not for the disk. Target: under
//! 1 s and under 50 MB. BENCH_KEEP (set: keep the scratch folder).

mod common;

use std::path::Path;
use std::time::Instant;

use chrono::{NaiveDateTime, TimeDelta};
use common::{env_number, ms, run_child, status_mb, timed, BenchCopy};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use repair_bot::db::connection;
use repair_bot::store::clients;

const CHILD_ENV: &str = "KNOWN_CLIENT_BENCH_CHILD";
const MANY: &str = "+79990000001";
const NONE: &str = "+79990000002";
/// As the intake asks: five recent orders, five under warranty.
const LIMIT: i64 = 5;
const TARGET_MS: f64 = 1000.0;
const TARGET_MB: f64 = 50.0;

/// The moment the lookups are made at: the newest order's creation, so that "recently
/// closed" means the same whenever the database was built.
fn now_of(conn: &mut SqliteConnection) -> NaiveDateTime {
    use repair_bot::schema::orders;
    orders::table
        .select(diesel::dsl::max(orders::created_at))
        .first::<Option<NaiveDateTime>>(conn)
        .expect("read the newest order")
        .expect("the database has orders")
}

fn main() -> std::process::ExitCode {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    let many = env_number("BENCH_MANY_ORDERS", 10_000).max(1);
    let repeats = env_number("BENCH_REPEATS", 51).max(1);
    let Some((copy, mut prepared)) = BenchCopy::make("known-client") else {
        return std::process::ExitCode::FAILURE;
    };
    let db = copy.db.clone();
    let conn = &mut prepared.connection;
    let orders: i64 = repair_bot::schema::orders::table
        .count()
        .get_result(conn)
        .expect("count orders");
    let every = (orders / many).max(1);
    let now = now_of(conn);
    let recently = now - TimeDelta::days(10);
    let started = Instant::now();
    conn.batch_execute(&format!(
        "BEGIN IMMEDIATE;
         UPDATE orders SET client_phone = '{MANY}' WHERE id % {every} = 0;
         UPDATE orders SET status = 'CLOSED', status_changed_at = '{recently}'
             WHERE id IN (SELECT id FROM orders WHERE client_phone = '{MANY}'
                          ORDER BY id DESC LIMIT 3 OFFSET 20);
         UPDATE orders SET deleted_at = '{now}'
             WHERE id = (SELECT MAX(id) FROM orders WHERE client_phone = '{MANY}');
         DELETE FROM orders WHERE client_phone = '{NONE}';
         COMMIT;
         PRAGMA wal_checkpoint(TRUNCATE);"
    ))
    .expect("give one phone many orders");
    let with_many: i64 = repair_bot::schema::orders::table
        .filter(repair_bot::schema::orders::client_phone.eq(MANY))
        .count()
        .get_result(conn)
        .expect("count");
    println!(
        "phone {MANY}: {with_many} of {orders} orders (every {every}th), set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("phone {NONE}: none");
    let since = now - TimeDelta::days(90);
    let plans = clients::known_client_plan(conn, MANY, LIMIT, since).expect("plans");
    for (query, plan) in ["recent", "count", "warranty"].iter().zip(plans) {
        println!("  plan {query:<8} {}", plan.join(" | "));
    }
    drop(prepared);

    let mut ok = true;
    for phone in [MANY, NONE] {
        let spec = format!("{}\n{phone}\n{repeats}", db.display());
        ok &= run_child(CHILD_ENV, &spec, phone, TARGET_MS, TARGET_MB);
    }
    copy.finish();
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// In the fresh process: the lookups of one phone and the peak RSS after them.
fn child(spec: &str) -> std::process::ExitCode {
    let mut parts = spec.split('\n');
    let (Some(db), Some(phone), Some(repeats)) = (parts.next(), parts.next(), parts.next()) else {
        eprintln!("bad {CHILD_ENV}");
        return std::process::ExitCode::FAILURE;
    };
    let repeats: usize = repeats.parse().unwrap_or(1);
    let rss_at_start = status_mb("VmRSS:");
    let mut conn = connection::open(Path::new(db)).expect("open the database as the bot does");
    let since = now_of(&mut conn) - TimeDelta::days(90);
    let (first, known, median, slowest) = timed(repeats, || {
        clients::known_client(&mut conn, phone, LIMIT, since).expect("lookup")
    });
    let peak = status_mb("VmHWM:");
    match &known {
        Some(client) => println!(
            "{phone}: known, {} orders, {} listed, {} under warranty",
            client.total,
            client.listed().len(),
            client.under_warranty.len()
        ),
        None => println!("{phone}: not known"),
    }
    println!(
        "  first lookup {:>8.2} ms, then median {:>7.3} ms, slowest {:>7.3} ms of {repeats}; \
         RSS {:.1} MB at start, peak {:.1} MB",
        ms(first),
        ms(median),
        ms(slowest),
        rss_at_start,
        peak
    );
    println!(
        "figures {:.3} {:.3} {:.3} {:.1}",
        ms(first),
        ms(median),
        ms(slowest),
        peak
    );
    std::process::ExitCode::SUCCESS
}
