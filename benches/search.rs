//! `cargo bench --bench search`: order search and status lists (`store::search`) on a
//! generated database of 1,000,000 orders (BENCH_ORDERS overrides, e.g. `BENCH_ORDERS=20000`
//! for a quick run; BENCH_REPEATS sets the repeats per measurement, default 51).
//!
//! 1. A database migrated up to the migration before `order_search` gets the orders in one
//!    transaction (recursive CTE: Russian street addresses with "ё", upper-case streets,
//!    ~4 orders per client phone, a realistic status mix, three years of dates).
//! 2. Startup then runs the `order_search` migration on it (pre-migrate backup, indexes,
//!    trigram index of every address): the upgrade an operator waits for.
//! 3. Timings (median and slowest of the repeats) of the first page (10 orders) of: search
//!    by phone, by order number, by address fragments (common, rare, any case, "ё"/"е", no
//!    match), the next page of a fragment, status pages (first, deep, previous) and the
//!    counts per status; plus the query plans. No ANALYZE, as in production.
//!
//! Peak RSS is the process's VmHWM from /proc/self/status (everything runs in process).
//! BENCH_KEEP (set: keep the scratch folder).

use std::fs;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use repair_bot::db::backup::BackupPolicy;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::startup::{self, DatabaseSettings};
use repair_bot::domain::status::OrderStatus;
use repair_bot::store::search::{self, classify, Cursor, Query};

const SEARCH_MIGRATION: &str = "2026-11-25-000001_order_search";
const PAGE: usize = 10;
/// Distinct client phones: about orders / CLIENTS orders each.
const CLIENTS: i64 = 250_000;

fn env_number(name: &str, default: i64) -> i64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn main() {
    let orders = env_number("BENCH_ORDERS", 1_000_000);
    let repeats = env_number("BENCH_REPEATS", 51).max(1) as usize;
    let dir = tempfile::Builder::new()
        .prefix("repair-bot-search-bench-")
        .tempdir()
        .expect("create a temporary folder");
    let settings = DatabaseSettings {
        path: dir.path().join("bot.db"),
        backup: BackupPolicy {
            dir: dir.path().join("backup"),
            keep: 5,
            copy: None,
        },
    };
    println!("repair-bot search benchmark");
    println!("  scratch: {}", dir.path().display());
    println!("  orders:  {orders}, repeats: {repeats}, page: {PAGE}");
    println!("  SQLite:  {}", sqlite_version());

    // 1. The database as the previous release leaves it, then a million orders.
    let before: Vec<_> = Catalog::embedded()
        .all()
        .iter()
        .filter(|m| m.name != SEARCH_MIGRATION)
        .cloned()
        .collect();
    assert!(
        before.len() < Catalog::embedded().all().len(),
        "no {SEARCH_MIGRATION} in the catalog"
    );
    {
        let mut prepared =
            startup::prepare(&settings, &Catalog::new(before)).expect("prepare the database");
        let started = Instant::now();
        generate(&mut prepared.connection, orders);
        println!(
            "generate {orders} orders (one transaction):     {:>9.1} s",
            started.elapsed().as_secs_f64()
        );
        println!("  {}; {}", sizes(&mut prepared.connection), peak_rss());
    }

    // 2. The upgrade.
    let started = Instant::now();
    let mut prepared = startup::prepare(&settings, &Catalog::embedded()).expect("upgrade");
    let upgrade = started.elapsed();
    assert_eq!(prepared.report.ran, vec![SEARCH_MIGRATION.to_string()]);
    println!(
        "startup running {SEARCH_MIGRATION} (incl. backup): {:>6.1} s",
        upgrade.as_secs_f64()
    );
    let conn = &mut prepared.connection;
    println!("  {}; {}", sizes(conn), peak_rss());

    // 3. Queries.
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>6}",
        "first page of 10 unless said", "median", "slowest", "found"
    );
    let phones: Vec<String> = (0..repeats as i64)
        .map(|k| {
            let national = format!("9{:09}", client(k * 7_777 + 11) * 3_989);
            // "8 (9xx) xxx-xx-xx", as a dispatcher types it.
            format!(
                "8 ({}) {}-{}-{}",
                &national[0..3],
                &national[3..6],
                &national[6..8],
                &national[8..10]
            )
        })
        .collect();
    measure(conn, "phone, 8 (9xx) xxx-xx-xx", repeats, |conn, k| {
        let query = classify(&phones[k % phones.len()]).unwrap();
        assert!(matches!(query, Query::Phone(_)));
        search::search(conn, &query, None, PAGE)
            .unwrap()
            .items
            .len()
    });
    measure(conn, "order number", repeats, |conn, k| {
        let id = 1 + (k as i64 * 104_729) % orders;
        let query = classify(&id.to_string()).unwrap();
        search::search(conn, &query, None, PAGE)
            .unwrap()
            .items
            .len()
    });
    for (label, fragment) in [
        ("address \"ул.\" (every order)", "ул."),
        ("address \"лесная\" (1 street in 64)", "лесная"),
        ("address \"ЛЕСНАЯ\" (upper case)", "ЛЕСНАЯ"),
        ("address \"Зеленая\" (stored as Зелёная)", "Зеленая"),
        ("address \"садовая\" (stored upper case)", "садовая"),
        (
            "address \"Лесная, д. 17, кв. 4\" (rare)",
            "Лесная, д. 17, кв. 4",
        ),
        ("address \"Тверская\" (no match)", "Тверская"),
        ("address \"ная д\" (no match, common trigrams)", "ная д"),
    ] {
        let query = classify(fragment).unwrap();
        measure(conn, label, repeats, |conn, _| {
            search::search(conn, &query, None, PAGE)
                .unwrap()
                .items
                .len()
        });
    }
    {
        let query = classify("лесная").unwrap();
        let first = search::search(conn, &query, None, PAGE).unwrap();
        measure(
            conn,
            "address \"лесная\", next page",
            repeats,
            |conn, _| {
                search::search(conn, &query, first.next, PAGE)
                    .unwrap()
                    .items
                    .len()
            },
        );
    }
    let middle = orders / 2;
    for (label, status, cursor) in [
        ("status NEW (5%)", OrderStatus::New, None),
        ("status CLOSED (70%)", OrderStatus::Closed, None),
        ("status REFUSED (8%)", OrderStatus::Refused, None),
        (
            "status CLOSED, page at the middle (next)",
            OrderStatus::Closed,
            Some(Cursor::Before(middle)),
        ),
        (
            "status CLOSED, page at the middle (prev)",
            OrderStatus::Closed,
            Some(Cursor::After(middle)),
        ),
        (
            "status DR, page at the middle (next)",
            OrderStatus::Dr,
            Some(Cursor::Before(middle)),
        ),
    ] {
        measure(conn, label, repeats, |conn, _| {
            search::list_by_status(conn, status, cursor, PAGE)
                .unwrap()
                .items
                .len()
        });
    }
    let count_repeats = repeats.min(11);
    measure(conn, "count_by_status (all 7)", count_repeats, |conn, _| {
        let counts = search::count_by_status(conn).unwrap();
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), orders);
        counts.len()
    });

    println!();
    println!("query plans (EXPLAIN QUERY PLAN of the statement run):");
    let show = |what: &str, plan: Vec<String>| println!("  {what:<26} {}", plan.join(" | "));
    show(
        "phone",
        search::plan(conn, &classify(&phones[0]).unwrap(), None).unwrap(),
    );
    show(
        "phone, next page",
        search::plan(
            conn,
            &classify(&phones[0]).unwrap(),
            Some(Cursor::Before(middle)),
        )
        .unwrap(),
    );
    show(
        "order number",
        search::plan(conn, &Query::OrderId(middle), None).unwrap(),
    );
    show(
        "address",
        search::plan(conn, &classify("лесная").unwrap(), None).unwrap(),
    );
    show(
        "address, next page",
        search::plan(
            conn,
            &classify("лесная").unwrap(),
            Some(Cursor::Before(middle)),
        )
        .unwrap(),
    );
    show(
        "address, previous page",
        search::plan(
            conn,
            &classify("лесная").unwrap(),
            Some(Cursor::After(middle)),
        )
        .unwrap(),
    );
    show(
        "status, first page",
        search::status_plan(conn, OrderStatus::Closed, None).unwrap(),
    );
    show(
        "status, next page",
        search::status_plan(conn, OrderStatus::Closed, Some(Cursor::Before(middle))).unwrap(),
    );
    show(
        "status, previous page",
        search::status_plan(conn, OrderStatus::Closed, Some(Cursor::After(middle))).unwrap(),
    );
    show("count_by_status", search::count_plan(conn).unwrap());

    // 4. Reports: a month of orders (about 28,000 here) per master, and its .xlsx.
    println!();
    conn.batch_execute(
        "BEGIN IMMEDIATE;
         WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 50)
         INSERT INTO users (telegram_id, first_name) SELECT 800000000 + value, 'Мастер ' || value FROM n;
         INSERT INTO masters (telegram_id, phone, specialization)
           SELECT telegram_id, '+79000000000', 'Всё' FROM users WHERE telegram_id > 800000000;
         UPDATE orders SET assigned_master_id = (SELECT MIN(id) FROM masters) + id % 50;
         COMMIT;",
    )
    .expect("assign masters");
    let month = repair_bot::domain::period::Period::Custom {
        from: chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        to: chrono::NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(),
    };
    let (from, to) =
        repair_bot::domain::period::utc_range(month, chrono::Utc::now(), chrono_tz::Europe::Moscow);
    let mut report = None;
    measure(
        conn,
        "month report (masters, equipment, statuses)",
        repeats.min(11),
        |conn, _| {
            let r = repair_bot::store::reports::report(conn, from, to).unwrap();
            let n = r.totals.orders as usize;
            report = Some(r);
            n
        },
    );
    let report = report.expect("a report");
    let started = Instant::now();
    let title = repair_bot::reports::xlsx::Title {
        heading: "Отчёт за март 2024".into(),
        subtitle: String::new(),
    };
    let (_, bytes) =
        repair_bot::reports::period_file(conn, (from, to), title, chrono_tz::Europe::Moscow)
            .expect("xlsx");
    println!(
        "{:<44} {:>10} {:>10} {:>6}",
        format!("workbook of that month ({} bytes)", bytes.len()),
        format!("{:.1} ms", started.elapsed().as_secs_f64() * 1000.0),
        "",
        report.totals.orders
    );
    println!("  {}", peak_rss());

    println!();
    println!("{} (whole run, in process)", peak_rss());
    drop(prepared);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", dir.keep().display());
    }
}

/// The client of order `i` (also used to pick phones that exist).
fn client(i: i64) -> i64 {
    (i * 48_271) % CLIENTS
}

/// `orders` orders in one transaction, through the normal insert path of the schema.
fn generate(conn: &mut SqliteConnection, orders: i64) {
    let streets = [
        "Лесная",
        "Зелёная",
        "Берёзовая",
        "Ёлочная",
        "Ленина",
        "Мира",
        "Гагарина",
        "Пушкина",
        "Чехова",
        "Садовая",
        "Советская",
        "Молодёжная",
        "Школьная",
        "Центральная",
        "Набережная",
        "Полевая",
        "Новая",
        "Луговая",
        "Заречная",
        "Октябрьская",
        "Комсомольская",
        "Первомайская",
        "Рабочая",
        "Северная",
        "Южная",
        "Солнечная",
        "Строителей",
        "Кирова",
        "Победы",
        "Маяковского",
        "Горького",
        "Лермонтова",
        "Суворова",
        "Жукова",
        "Королёва",
        "Тургенева",
        "Толстого",
        "Гоголя",
        "Некрасова",
        "Островского",
        "Фрунзе",
        "Дзержинского",
        "Калинина",
        "Свердлова",
        "Чапаева",
        "Пролетарская",
        "Красная",
        "Вокзальная",
        "Энергетиков",
        "Космонавтов",
        "Парковая",
        "Речная",
        "Озёрная",
        "Светлая",
        "Весенняя",
        "Сиреневая",
        "Вишнёвая",
        "Цветочная",
        "Рябиновая",
        "Сосновая",
        "Дачная",
        "Спортивная",
        "Мичурина",
        "Ломоносова",
    ];
    let mut values = String::new();
    for (k, street) in streets.iter().enumerate() {
        // Some streets typed in capitals, as old records often are (SQLite's upper() would
        // leave Cyrillic alone, so the spelling is given here).
        let name = if k % 8 == 1 {
            street.to_uppercase()
        } else {
            street.to_string()
        };
        if !values.is_empty() {
            values.push_str(", ");
        }
        values.push_str(&format!("({k}, '{name}')"));
    }
    let n_streets = streets.len();
    let sql = format!(
        "BEGIN IMMEDIATE;
        WITH RECURSIVE
          n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {orders}),
          street(k, name) AS (VALUES {values}),
          kind(k, name) AS (VALUES (0, 'ул. '), (1, 'пр. '), (2, 'пер. '), (3, 'ул. '), (4, 'бульвар ')),
          equipment(k, name) AS (VALUES (0, 'Стиральные машины'), (1, 'Духовые шкафы'),
            (2, 'Посудомоечные машины'), (3, 'Кофемашины'), (4, 'Сантехника'), (5, 'Электрика'),
            (6, 'Водонагреватели'), (7, 'Телевизоры'), (8, 'Холодильники'), (9, 'Сушильные машины')),
          person(k, name) AS (VALUES (0, 'Мария Ивановна'), (1, 'Олег'), (2, 'Светлана'),
            (3, 'Игорь Петрович'), (4, 'Нина'), (5, 'Виктор'), (6, 'Анна Сергеевна'), (7, 'Пётр'))
        INSERT INTO orders (equipment_type, description, client_name, client_address,
                            client_phone, status, total_kopecks, materials_kopecks,
                            master_share_kopecks, company_share_kopecks, has_review,
                            created_at, updated_at, status_changed_at)
        SELECT e.name,
               'Не работает, нужна диагностика и ремонт',
               p.name,
               CASE WHEN i % 5 = 0 THEN 'г. Москва, ' ELSE '' END
                 || kd.name || s.name || ', д. ' || (i % 150 + 1)
                 || CASE WHEN i % 3 <> 0 THEN ', кв. ' || (i * 7 % 300 + 1) ELSE '' END,
               '+79' || printf('%09d', ((i * 48271) % {CLIENTS}) * 3989),
               CASE WHEN h < 70 THEN 'CLOSED' WHEN h < 78 THEN 'REFUSED' WHEN h < 83 THEN 'NEW'
                    WHEN h < 88 THEN 'ASSIGNED' WHEN h < 92 THEN 'ACCEPTED'
                    WHEN h < 95 THEN 'ONSITE' ELSE 'DR' END,
               CASE WHEN h < 70 THEN 300000 + i % 50 * 10000 END,
               CASE WHEN h < 70 THEN 50000 END,
               CASE WHEN h < 70 THEN 100000 + i % 50 * 4000 END,
               CASE WHEN h < 70 THEN 150000 + i % 50 * 6000 END,
               h < 30,
               datetime(1672531200 + i * 94, 'unixepoch'),
               datetime(1672531200 + i * 94 + 3600, 'unixepoch'),
               datetime(1672531200 + i * 94 + 3600, 'unixepoch')
        FROM (SELECT i, (i * 2654435761) % 100 AS h FROM n) AS g
        JOIN street AS s ON s.k = (g.i * 31 + g.i / 7) % {n_streets}
        JOIN kind AS kd ON kd.k = g.i % 5
        JOIN equipment AS e ON e.k = g.i % 10
        JOIN person AS p ON p.k = g.i % 8;
        COMMIT;"
    );
    conn.batch_execute(&sql).expect("generate orders");
}

/// Runs `f` `repeats` times (after one warm-up run) and prints the median and the slowest.
fn measure(
    conn: &mut SqliteConnection,
    label: &str,
    repeats: usize,
    mut f: impl FnMut(&mut SqliteConnection, usize) -> usize,
) {
    let found = f(conn, 0);
    let mut times: Vec<Duration> = (0..repeats)
        .map(|k| {
            let started = Instant::now();
            std::hint::black_box(f(conn, k));
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{label:<44} {:>10} {:>10} {found:>6}",
        show(times[times.len() / 2]),
        show(times[times.len() - 1])
    );
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1_000.0)
    }
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

/// After a checkpoint: the file, its free pages, and the bytes of orders, of the two search
/// indexes and of the trigram index (all its shadow tables), from dbstat.
fn sizes(conn: &mut SqliteConnection) -> String {
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    let rows: Vec<Size> = diesel::sql_query(
        "SELECT CASE WHEN name LIKE 'order\\_search\\_%' ESCAPE '\\' THEN 'order_search (FTS5)' \
                ELSE name END AS name, SUM(pgsize) AS bytes \
         FROM dbstat GROUP BY 1 \
         UNION ALL SELECT 'file', page_count * page_size FROM pragma_page_count, pragma_page_size \
         UNION ALL SELECT 'free', freelist_count * page_size \
                   FROM pragma_freelist_count, pragma_page_size",
    )
    .load(conn)
    .expect("dbstat");
    let get = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .map_or(0.0, |r| r.bytes as f64 / 1_048_576.0)
    };
    format!(
        "file {:.0} MB (free {:.0}): orders {:.0} MB, idx_orders_status_id {:.1} MB, \
         idx_orders_client_phone {:.1} MB, order_search {:.1} MB",
        get("file"),
        get("free"),
        get("orders"),
        get("idx_orders_status_id"),
        get("idx_orders_client_phone"),
        get("order_search (FTS5)"),
    )
}

/// "peak RSS 123 MB" from VmHWM.
fn peak_rss() -> String {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    match kb {
        Some(kb) => format!("peak RSS {:.0} MB", kb as f64 / 1024.0),
        None => "peak RSS unknown (no /proc/self/status)".into(),
    }
}

fn sqlite_version() -> String {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let mut conn = SqliteConnection::establish(":memory:").expect("in-memory database");
    diesel::sql_query("SELECT sqlite_version() AS v")
        .get_result::<V>(&mut conn)
        .map(|r| r.v)
        .unwrap_or_default()
}
