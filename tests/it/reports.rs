//! Report figures against sums computed independently from the inserted rows, period
//! boundaries in the company's time zone, the daily summary, and the `.xlsx` read back.
//!
//! Every database is created the way the bot creates it (`db::startup::prepare` with the
//! embedded migrations) in a temporary folder.

use crate::support::MigratedDb as Db;
use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Moscow;
use chrono_tz::Tz;
use diesel::prelude::*;
use repair_bot::domain::ids::MasterId;
use repair_bot::domain::money::{Amounts, Job, Kopecks, PayRules, Payment, MAX_AMOUNT};
use repair_bot::domain::period::{utc_range, Period};
use repair_bot::domain::status::OrderStatus;
use repair_bot::domain::validation::EQUIPMENT_TYPES;
use repair_bot::reports::xlsx;
use repair_bot::schema::{masters, orders, users};
use repair_bot::store::reports::{self, Figures, Report, StatusLine};

// ----- the database -----

/// A master as the test inserts them.
struct MasterSeed {
    telegram_id: i64,
    first_name: Option<&'static str>,
    last_name: Option<&'static str>,
}

const MASTERS: [MasterSeed; 4] = [
    MasterSeed {
        telegram_id: 1001,
        first_name: Some("Иван"),
        last_name: Some("Петров"),
    },
    MasterSeed {
        telegram_id: 1002,
        first_name: Some("Пётр"),
        last_name: None,
    },
    MasterSeed {
        telegram_id: 1003,
        first_name: None,
        last_name: None,
    },
    // Has no orders at all.
    MasterSeed {
        telegram_id: 1004,
        first_name: Some("Без"),
        last_name: Some("Заявок"),
    },
];

/// Inserts the users and masters of [`MASTERS`]; returns their `masters.id`s in that order.
fn insert_masters(conn: &mut SqliteConnection) -> Vec<i64> {
    let now = naive("2026-10-01 00:00:00");
    MASTERS
        .iter()
        .map(|seed| {
            diesel::insert_into(users::table)
                .values((
                    users::telegram_id.eq(seed.telegram_id),
                    users::first_name.eq(seed.first_name),
                    users::last_name.eq(seed.last_name),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("user");
            diesel::insert_into(masters::table)
                .values((
                    masters::telegram_id.eq(seed.telegram_id),
                    masters::phone.eq("+79990000000"),
                    masters::specialization.eq("Стиральные машины"),
                    masters::is_active.eq(true),
                    masters::is_approved.eq(true),
                    masters::created_at.eq(now),
                    masters::updated_at.eq(now),
                ))
                .returning(masters::id)
                .get_result(conn)
                .expect("master")
        })
        .collect()
}

/// Money columns of an order, kopecks.
#[derive(Debug, Clone, Copy)]
struct Money {
    total: i64,
    materials: i64,
    master_share: i64,
    company_share: i64,
    cash_due: i64,
}

/// One order as inserted; the expected figures are computed from these.
#[derive(Debug, Clone)]
struct Row {
    equipment: &'static str,
    status: OrderStatus,
    master: Option<i64>,
    created: NaiveDateTime,
    changed: NaiveDateTime,
    money: Option<Money>,
    review: bool,
}

fn insert_order(conn: &mut SqliteConnection, row: &Row) -> i64 {
    diesel::insert_into(orders::table)
        .values((
            orders::equipment_type.eq(row.equipment),
            orders::description.eq("Не включается"),
            orders::client_name.eq("Клиент"),
            orders::client_address.eq("ул. Ленина, 1"),
            orders::client_phone.eq("+79991234567"),
            orders::status.eq(row.status.as_str()),
            orders::assigned_master_id.eq(row.master),
            orders::total_kopecks.eq(row.money.map(|m| m.total)),
            orders::materials_kopecks.eq(row.money.map(|m| m.materials)),
            orders::master_share_kopecks.eq(row.money.map(|m| m.master_share)),
            orders::company_share_kopecks.eq(row.money.map(|m| m.company_share)),
            orders::cash_due_kopecks.eq(row.money.map(|m| m.cash_due)),
            orders::has_review.eq(row.review),
            orders::created_at.eq(row.created),
            orders::updated_at.eq(row.changed),
            orders::status_changed_at.eq(row.changed),
        ))
        .returning(orders::id)
        .get_result(conn)
        .expect("order")
}

fn insert_all(conn: &mut SqliteConnection, rows: &[Row]) {
    conn.transaction(|conn| {
        for row in rows {
            insert_order(conn, row);
        }
        QueryResult::Ok(())
    })
    .expect("insert");
}

/// The money of a closed order, split by the real rules so the shares add up.
fn money(total: i64, materials: i64, review: bool) -> Money {
    let amounts = Amounts {
        total: Kopecks(total),
        materials: Kopecks(materials),
        has_review: review,
        // Odd totals were paid to the company: the company owes those masters.
        payment: if total % 2 == 0 {
            Payment::Cash
        } else {
            Payment::Cashless
        },
    };
    let job = Job {
        equipment_type: "Холодильники",
        out_of_city: false,
        senior_master: false,
        prepayment: Kopecks::ZERO,
    };
    let b = PayRules::default()
        .split(amounts, &job)
        .expect("valid amounts");
    Money {
        total: b.total.get(),
        materials: b.materials.get(),
        master_share: b.master.get(),
        company_share: b.company.get(),
        cash_due: b.cash_due.get(),
    }
}

// ----- time helpers -----

fn naive(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("timestamp")
}

/// A Moscow wall-clock time as the UTC timestamp stored in the database.
fn msk(text: &str) -> NaiveDateTime {
    Moscow
        .from_local_datetime(&naive(text))
        .single()
        .expect("Moscow time")
        .naive_utc()
}

fn utc(text: &str) -> DateTime<Utc> {
    naive(text).and_utc()
}

fn range_of(period: Period, now: &str) -> (NaiveDateTime, NaiveDateTime) {
    utc_range(period, utc(now), Moscow)
}

// ----- the rows: a deterministic pseudo-random mix -----

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// 1200 orders created from mid-October to early January (UTC), every status, three
/// masters and unassigned ones, odd kopecks, huge amounts, fractional seconds, and REFUSED
/// orders carrying money (legacy data) that must not count.
fn random_rows(master_ids: &[i64]) -> Vec<Row> {
    let mut rng = Lcg(20_261_130);
    let start = naive("2026-10-15 00:00:00");
    let minutes = 80 * 24 * 60;
    let mut rows = Vec::new();
    for i in 0..1200u64 {
        let mut created = start + TimeDelta::minutes(rng.next(minutes) as i64);
        if i % 7 == 0 {
            created += TimeDelta::milliseconds(rng.next(1000) as i64);
        }
        let status = OrderStatus::ALL[rng.next(7) as usize];
        let master = match status {
            OrderStatus::New => None,
            OrderStatus::Refused if i % 3 == 0 => None,
            // The fourth master never gets an order.
            _ => Some(master_ids[rng.next(3) as usize]),
        };
        let review = status == OrderStatus::Closed && rng.next(3) == 0;
        let order_money = match status {
            OrderStatus::Closed => {
                let total = if rng.next(10) == 0 {
                    MAX_AMOUNT.get() - rng.next(1000) as i64
                } else {
                    1 + rng.next(5_000_000) as i64
                };
                let materials = rng.next(total as u64 + 1) as i64;
                Some(money(total, materials, review))
            }
            OrderStatus::Refused if i % 4 == 0 => Some(money(12_345, 0, false)),
            _ => None,
        };
        let changed = created + TimeDelta::minutes(rng.next(72 * 60) as i64);
        rows.push(Row {
            equipment: EQUIPMENT_TYPES[rng.next(EQUIPMENT_TYPES.len() as u64) as usize],
            status,
            master,
            created,
            changed,
            money: order_money,
            review,
        });
    }
    rows
}

// ----- the expected figures, computed in Rust from the rows -----

/// The figures of a report period as the rows give them: `orders` counts the rows created in
/// `range`; `closed`, `refused`, money and reviews those that entered CLOSED / REFUSED in it.
fn period_sum<'a>(
    rows: impl IntoIterator<Item = &'a Row>,
    (from, to): (NaiveDateTime, NaiveDateTime),
) -> Figures {
    let mut f = Figures::default();
    for row in rows {
        if from <= row.created && row.created < to {
            f.orders += 1;
        }
        if !(from <= row.changed && row.changed < to) {
            continue;
        }
        match row.status {
            OrderStatus::Closed => {
                let m = row.money.expect("closed orders have money");
                f.closed += 1;
                f.total += m.total;
                f.materials += m.materials;
                f.master_share += m.master_share;
                f.company_share += m.company_share;
                f.cash_due += m.cash_due;
                f.reviews += i64::from(row.review);
            }
            OrderStatus::Refused => f.refused += 1,
            _ => {}
        }
    }
    f
}

/// The rows a period report sees: created in `range`, or closed or refused in it.
fn in_period(rows: &[Row], (from, to): (NaiveDateTime, NaiveDateTime)) -> Vec<&Row> {
    let inside = |at: NaiveDateTime| from <= at && at < to;
    rows.iter()
        .filter(|r| inside(r.created) || (!r.status.is_open() && inside(r.changed)))
        .collect()
}

fn group_in_period<K: Ord>(
    rows: &[&Row],
    range: (NaiveDateTime, NaiveDateTime),
    key: impl Fn(&Row) -> Option<K>,
) -> BTreeMap<K, Figures> {
    let mut groups: BTreeMap<K, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        if let Some(k) = key(row) {
            groups.entry(k).or_default().push(row);
        }
    }
    groups
        .into_iter()
        .map(|(k, rows)| (k, period_sum(rows, range)))
        .collect()
}

fn sum_up<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Figures {
    let mut f = Figures::default();
    for row in rows {
        f.orders += 1;
        match row.status {
            OrderStatus::Closed => {
                let m = row.money.expect("closed orders have money");
                f.closed += 1;
                f.total += m.total;
                f.materials += m.materials;
                f.master_share += m.master_share;
                f.company_share += m.company_share;
                f.cash_due += m.cash_due;
                f.reviews += i64::from(row.review);
            }
            OrderStatus::Refused => f.refused += 1,
            _ => {}
        }
    }
    f
}

fn created_in(rows: &[Row], (from, to): (NaiveDateTime, NaiveDateTime)) -> Vec<&Row> {
    rows.iter()
        .filter(|r| from <= r.created && r.created < to)
        .collect()
}

/// Checks every period query over `range` against the rows; returns how many orders were
/// closed in the range but created before it.
fn check_period(
    conn: &mut SqliteConnection,
    rows: &[Row],
    ids: &[i64],
    range: (NaiveDateTime, NaiveDateTime),
) -> usize {
    let (from, to) = range;
    let created = created_in(rows, range);
    assert!(!created.is_empty(), "the period {range:?} has orders");
    let seen = in_period(rows, range);

    let masters = reports::per_master(conn, from, to).expect("per_master");
    let got: BTreeMap<i64, Figures> = masters.iter().map(|l| (l.master_id, l.figures)).collect();
    assert_eq!(
        got,
        group_in_period(&seen, range, |r| r.master),
        "per master {range:?}"
    );
    let ids_in_order: Vec<i64> = masters.iter().map(|l| l.master_id).collect();
    assert!(ids_in_order.is_sorted(), "masters by id");
    for line in &masters {
        let seed = &MASTERS[ids
            .iter()
            .position(|id| *id == line.master_id)
            .expect("known")];
        assert_eq!(line.first_name.as_deref(), seed.first_name);
        assert_eq!(line.last_name.as_deref(), seed.last_name);
    }

    let equipment = reports::per_equipment(conn, from, to).expect("per_equipment");
    let got: BTreeMap<String, Figures> = equipment
        .iter()
        .map(|l| (l.equipment_type.clone(), l.figures))
        .collect();
    let expected = group_in_period(&seen, range, |r| Some(r.equipment.to_string()));
    assert_eq!(got, expected, "per equipment {range:?}");
    let names: Vec<&str> = equipment
        .iter()
        .map(|l| l.equipment_type.as_str())
        .collect();
    assert!(names.is_sorted(), "equipment by name");

    let statuses = reports::per_status(conn, from, to).expect("per_status");
    let expected: Vec<StatusLine> = OrderStatus::ALL
        .into_iter()
        .map(|status| StatusLine {
            status,
            orders: created.iter().filter(|r| r.status == status).count() as i64,
        })
        .collect();
    assert_eq!(statuses, expected, "per status {range:?}");

    let totals = reports::totals(conn, from, to).expect("totals");
    assert_eq!(totals, period_sum(rows, range), "totals {range:?}");

    for &id in ids {
        let stats = reports::master_stats(conn, MasterId(id), from, to).expect("master_stats");
        let own = rows.iter().filter(|r| r.master == Some(id));
        assert_eq!(stats, period_sum(own, range), "master {id} {range:?}");
    }

    let report = reports::report(conn, from, to).expect("report");
    assert_eq!(report.masters, masters);
    assert_eq!(report.equipment, equipment);
    assert_eq!(report.statuses, statuses);
    assert_eq!(report.totals, totals);
    let unassigned = rows.iter().filter(|r| r.master.is_none());
    assert_eq!(
        report.unassigned,
        period_sum(unassigned, range),
        "unassigned {range:?}"
    );
    seen.iter()
        .filter(|r| r.status == OrderStatus::Closed && r.created < from && from <= r.changed)
        .count()
}

// ----- tests -----

#[test]
fn period_figures_equal_sums_computed_from_the_inserted_rows() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let rows = random_rows(&ids);
    insert_all(db.conn(), &rows);

    let periods = [
        range_of(Period::LastMonth, "2026-11-10 12:00:00"),
        range_of(Period::ThisMonth, "2026-11-10 12:00:00"),
        range_of(Period::ThisMonth, "2026-12-31 20:00:00"),
        range_of(Period::ThisWeek, "2026-11-18 12:00:00"),
        range_of(Period::LastWeek, "2026-12-02 12:00:00"),
        range_of(Period::Today, "2026-11-20 12:00:00"),
        range_of(Period::Yesterday, "2026-11-21 12:00:00"),
        range_of(
            Period::Custom {
                from: NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
                to: NaiveDate::from_ymd_opt(2027, 1, 31).expect("date"),
            },
            "2027-02-01 00:00:00",
        ),
    ];
    let mut closed_later = 0;
    for range in periods {
        closed_later += check_period(db.conn(), &rows, &ids, range);
    }
    assert!(
        closed_later > 10,
        "the periods hold orders created before them and closed in them"
    );
}

#[test]
fn money_is_exact_and_shares_add_up() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let rows = random_rows(&ids);
    insert_all(db.conn(), &rows);
    let (from, to) = range_of(
        Period::Custom {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            to: NaiveDate::from_ymd_opt(2027, 12, 31).expect("date"),
        },
        "2026-11-01 00:00:00",
    );
    let report = reports::report(db.conn(), from, to).expect("report");
    let t = report.totals;
    assert_eq!(t.orders, rows.len() as i64);
    // Huge amounts are in: far beyond what a float keeps exactly to the kopeck.
    assert!(t.total > 10 * MAX_AMOUNT.get(), "{t:?}");
    assert_eq!(t.master_share + t.company_share, t.net());
    let closed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.status == OrderStatus::Closed)
        .collect();
    let total: i64 = closed.iter().map(|r| r.money.map_or(0, |m| m.total)).sum();
    assert_eq!(t.total, total);
    assert_eq!(t.average_check(), total / closed.len() as i64);
    // REFUSED orders with money (legacy rows) add nothing.
    assert!(rows
        .iter()
        .any(|r| r.status == OrderStatus::Refused && r.money.is_some()));
    for line in &report.masters {
        let f = line.figures;
        assert_eq!(f.master_share + f.company_share, f.net(), "{line:?}");
    }
    let by_master: Figures = report.masters.iter().map(|l| l.figures).sum();
    assert_eq!(by_master + report.unassigned, report.totals);
    let by_type: Figures = report.equipment.iter().map(|l| l.figures).sum();
    assert_eq!(by_type, report.totals);
}

#[test]
fn average_check_and_reviews() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let day = msk("2026-11-05 12:00:00");
    let closed = |total: i64, review: bool| Row {
        equipment: "Холодильники",
        status: OrderStatus::Closed,
        master: Some(ids[0]),
        created: day,
        changed: day,
        money: Some(money(total, 0, review)),
        review,
    };
    let mut refused = closed(0, false);
    refused.status = OrderStatus::Refused;
    refused.money = None;
    let rows = [
        closed(10_001, true),
        closed(20_000, false),
        closed(30_000, true),
        refused,
    ];
    insert_all(db.conn(), &rows);
    let (from, to) = range_of(Period::ThisMonth, "2026-11-05 12:00:00");
    let stats = reports::master_stats(db.conn(), MasterId(ids[0]), from, to).expect("stats");
    assert_eq!((stats.orders, stats.closed, stats.refused), (4, 3, 1));
    assert_eq!(stats.total, 60_001);
    // 600,01 / 3 = 200,003… rounded to the kopeck.
    assert_eq!(stats.average_check(), 20_000);
    assert_eq!(stats.reviews, 2);
    assert_eq!(Figures::default().average_check(), 0);
}

#[test]
fn a_master_without_orders_gets_zeros() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let (from, to) = range_of(Period::ThisMonth, "2026-11-05 12:00:00");
    let stats = reports::master_stats(db.conn(), MasterId(ids[3]), from, to).expect("stats");
    assert_eq!(stats, Figures::default());
    let stats = reports::master_stats(db.conn(), MasterId(999_999), from, to).expect("unknown id");
    assert_eq!(stats, Figures::default());
}

#[test]
fn orders_at_local_midnight_count_in_their_local_month() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    // 23:30 MSK on 30 Nov = 20:30 UTC on 30 Nov; 00:10 MSK on 1 Dec = 21:10 UTC on 30 Nov:
    // both have the UTC date 30 Nov.
    let late = msk("2026-11-30 23:30:00");
    let early = msk("2026-12-01 00:10:00");
    assert_eq!(late, naive("2026-11-30 20:30:00"));
    assert_eq!(early, naive("2026-11-30 21:10:00"));
    let order = |created: NaiveDateTime, total: i64| Row {
        equipment: "Стиральные машины",
        status: OrderStatus::Closed,
        master: Some(ids[0]),
        created,
        changed: created,
        money: Some(money(total, 0, false)),
        review: false,
    };
    insert_all(db.conn(), &[order(late, 100_000), order(early, 200_000)]);
    // Exactly at the boundary, written as SQLite writes CURRENT_TIMESTAMP (whole seconds), and
    // a moment before it with a fraction.
    let exact = order(naive("2026-11-30 21:00:00"), 400_000);
    let just_before = order(naive("2026-11-30 20:59:59.999"), 800_000);
    insert_all(db.conn(), &[exact, just_before]);

    let november = range_of(Period::ThisMonth, "2026-11-15 12:00:00");
    let december = range_of(Period::ThisMonth, "2026-12-15 12:00:00");
    assert_eq!(range_of(Period::LastMonth, "2026-12-15 12:00:00"), november);

    let report = reports::report(db.conn(), november.0, november.1).expect("november");
    assert_eq!(report.totals.orders, 2);
    assert_eq!(report.totals.total, 900_000);
    assert_eq!(report.masters.len(), 1);
    assert_eq!(report.masters[0].figures.total, 900_000);

    let report = reports::report(db.conn(), december.0, december.1).expect("december");
    assert_eq!(report.totals.orders, 2);
    assert_eq!(report.totals.total, 600_000);
    assert_eq!(report.equipment[0].figures.total, 600_000);

    // The same rows seen day by day.
    let last_day = range_of(Period::Today, "2026-11-30 20:59:00");
    let first_day = range_of(Period::Today, "2026-11-30 21:00:00");
    let totals = reports::totals(db.conn(), last_day.0, last_day.1).expect("30 Nov");
    assert_eq!(totals.total, 900_000);
    let totals = reports::totals(db.conn(), first_day.0, first_day.1).expect("1 Dec");
    assert_eq!(totals.total, 600_000);
}

/// The bug of «Сегодня» showing 0 ₽: money belongs to the day the order was closed, in the
/// company's time zone, whatever day it was created; the order count stays by creation.
#[test]
fn money_counts_on_the_local_day_the_order_was_closed() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let row = |status, created: &str, changed: &str, total: i64| Row {
        equipment: "Холодильники",
        status,
        master: Some(ids[0]),
        created: msk(created),
        changed: msk(changed),
        money: (status == OrderStatus::Closed).then(|| money(total, 10_000, true)),
        review: status == OrderStatus::Closed,
    };
    use OrderStatus::*;
    insert_all(
        db.conn(),
        &[
            // Made yesterday, closed today at 00:30 Moscow (21:30 UTC yesterday).
            row(
                Closed,
                "2026-11-19 15:00:00",
                "2026-11-20 00:30:00",
                1_000_000,
            ),
            // Made today, closed tomorrow: counted today, money tomorrow.
            row(
                Closed,
                "2026-11-20 10:00:00",
                "2026-11-21 09:00:00",
                300_000,
            ),
            // Made yesterday, refused today.
            row(Refused, "2026-11-19 12:00:00", "2026-11-20 12:00:00", 0),
            // Made today, still open.
            row(Onsite, "2026-11-20 11:00:00", "2026-11-20 12:00:00", 0),
        ],
    );
    let closed_one = money(1_000_000, 10_000, true);

    let (from, to) = range_of(Period::Today, "2026-11-20 12:00:00");
    let report = reports::report(db.conn(), from, to).expect("today");
    let t = report.totals;
    assert_eq!((t.orders, t.closed, t.refused, t.reviews), (2, 1, 1, 1));
    assert_eq!(t.total, 1_000_000);
    assert_eq!(t.materials, 10_000);
    assert_eq!(t.master_share, closed_one.master_share);
    assert_eq!(t.company_share, closed_one.company_share);
    assert_eq!(t.average_check(), 1_000_000);
    assert_eq!(report.masters.len(), 1);
    assert_eq!(report.masters[0].figures, t);
    assert_eq!(report.equipment[0].figures, t);
    assert_eq!(report.unassigned, Figures::default());
    let stats = reports::master_stats(db.conn(), MasterId(ids[0]), from, to).expect("stats");
    assert_eq!(stats, t);
    // Statuses stay the orders created in the period, by their status now.
    let statuses: i64 = report.statuses.iter().map(|s| s.orders).sum();
    assert_eq!(statuses, 2);

    let (from, to) = range_of(Period::Yesterday, "2026-11-20 12:00:00");
    let t = reports::totals(db.conn(), from, to).expect("yesterday");
    assert_eq!((t.orders, t.closed, t.refused, t.total), (2, 0, 0, 0));

    let (from, to) = range_of(Period::Today, "2026-11-21 12:00:00");
    let t = reports::totals(db.conn(), from, to).expect("tomorrow");
    assert_eq!((t.orders, t.closed, t.total), (0, 1, 300_000));
}

#[test]
fn daily_summary_of_a_handmade_day() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let m = Some(ids[1]);
    let row = |status, master, created: &str, changed: &str| Row {
        equipment: "Кофемашины",
        status,
        master,
        created: msk(created),
        changed: msk(changed),
        money: (status == OrderStatus::Closed).then(|| money(150_050, 50_000, true)),
        review: status == OrderStatus::Closed,
    };
    use OrderStatus::*;
    let rows = [
        // Created the day before, closed at 00:10 on the day: finished, not new.
        row(Closed, m, "2026-11-14 10:00:00", "2026-11-15 00:10:00"),
        // New on the day, still NEW.
        row(New, None, "2026-11-15 09:00:00", "2026-11-15 09:00:00"),
        // Created and closed late on the day.
        row(Closed, m, "2026-11-15 23:30:00", "2026-11-15 23:50:00"),
        // Closed one minute before the day: not finished on it.
        row(Closed, m, "2026-11-10 10:00:00", "2026-11-14 23:59:00"),
        // Refused on the day.
        row(Refused, m, "2026-11-10 10:00:00", "2026-11-15 12:00:00"),
        // Open for weeks.
        row(Dr, m, "2026-11-01 10:00:00", "2026-11-03 10:00:00"),
        // Created after the day (seen from a later "now"): open, not new.
        row(Assigned, m, "2026-11-16 00:10:00", "2026-11-16 00:10:00"),
        // Created exactly at the day's first moment: new.
        row(Onsite, m, "2026-11-15 00:00:00", "2026-11-15 08:00:00"),
        row(Accepted, m, "2026-11-15 11:00:00", "2026-11-15 11:30:00"),
    ];
    insert_all(db.conn(), &rows);
    let (from, to) = range_of(Period::Yesterday, "2026-11-16 06:00:00");
    assert_eq!(
        (from, to),
        (msk("2026-11-15 00:00:00"), msk("2026-11-16 00:00:00"))
    );
    let summary = reports::daily_summary(db.conn(), from, to).expect("summary");
    assert_eq!(summary.created, 4);
    let open: Vec<(OrderStatus, i64)> = summary
        .open_now
        .iter()
        .map(|l| (l.status, l.orders))
        .collect();
    assert_eq!(
        open,
        [(New, 1), (Assigned, 1), (Accepted, 1), (Onsite, 1), (Dr, 1)]
    );
    let f = summary.finished;
    assert_eq!((f.orders, f.closed, f.refused, f.reviews), (3, 2, 1, 2));
    assert_eq!(f.total, 2 * 150_050);
    assert_eq!(f.materials, 2 * 50_000);
    assert_eq!(f.net(), 2 * 100_050);
    assert_eq!(f.master_share + f.company_share, f.net());
}

#[test]
fn daily_summaries_equal_sums_computed_from_the_inserted_rows() {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    let rows = random_rows(&ids);
    insert_all(db.conn(), &rows);
    let open: Vec<StatusLine> = OrderStatus::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|status| StatusLine {
            status,
            orders: rows.iter().filter(|r| r.status == status).count() as i64,
        })
        .collect();
    for now in [
        "2026-11-01 08:00:00",
        "2026-11-20 20:59:59",
        "2026-11-20 21:00:00",
        "2026-12-24 12:00:00",
    ] {
        let range @ (from, to) = range_of(Period::Today, now);
        let summary = reports::daily_summary(db.conn(), from, to).expect("summary");
        assert_eq!(
            summary.created,
            created_in(&rows, range).len() as i64,
            "{now}"
        );
        assert_eq!(summary.open_now, open, "{now}");
        let finished = rows
            .iter()
            .filter(|r| !r.status.is_open() && from <= r.changed && r.changed < to);
        assert_eq!(summary.finished, sum_up(finished), "{now}");
        assert!(
            summary.finished.orders > 0,
            "{now}: the day has finished orders"
        );
    }
}

#[test]
fn an_empty_period_gives_an_empty_report_and_a_valid_file() {
    let mut db = Db::new();
    insert_masters(db.conn());
    let (from, to) = range_of(Period::Today, "2026-11-05 12:00:00");
    let report = reports::report(db.conn(), from, to).expect("report");
    assert!(report.masters.is_empty() && report.equipment.is_empty());
    assert_eq!(report.totals, Figures::default());
    assert_eq!(report.unassigned, Figures::default());
    assert!(report.statuses.iter().all(|s| s.orders == 0));
    assert_eq!(report.statuses.len(), 7);
    let summary = reports::daily_summary(db.conn(), from, to).expect("summary");
    assert_eq!(summary.created, 0);
    assert_eq!(summary.finished, Figures::default());
    assert_eq!(summary.open_now.len(), 5);

    let bytes = write(&report);
    let mut book = open(bytes);
    let sheet = book.worksheet_range(xlsx::MASTERS_SHEET).expect("sheet");
    assert_eq!(text(&sheet, 1, 0), "Итого");
    assert_eq!(number(&sheet, 1, 1), 0.0);
    assert_eq!(number(&sheet, 1, 4), 0.0);
}

// ----- the .xlsx file -----

fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes)).expect("a readable .xlsx")
}

/// A cell counted from the header row (row 0 is the header; the title rows are above it).
fn cell(sheet: &Range<Data>, row: u32, col: u32) -> &Data {
    sheet
        .get_value((row + xlsx::HEADER_ROW, col))
        .unwrap_or(&Data::Empty)
}

/// The workbook of a report's figures, under a title.
fn write(report: &Report) -> Vec<u8> {
    let title = xlsx::Title {
        heading: "Отчёт за ноябрь 2026".into(),
        subtitle: "01.11.2026 — 30.11.2026".into(),
    };
    xlsx::write(report, title, Moscow).expect("xlsx")
}

fn text(sheet: &Range<Data>, row: u32, col: u32) -> String {
    match cell(sheet, row, col) {
        Data::String(s) => s.clone(),
        other => panic!("({row}, {col}) is not text: {other:?}"),
    }
}

fn number(sheet: &Range<Data>, row: u32, col: u32) -> f64 {
    match cell(sheet, row, col) {
        Data::Float(v) => *v,
        other => panic!("({row}, {col}) is not a number cell: {other:?}"),
    }
}

/// A money cell: a number equal to kopecks / 100, and back to the same kopecks.
fn assert_money(sheet: &Range<Data>, row: u32, col: u32, kopecks: i64) {
    let value = number(sheet, row, col);
    assert_eq!(value, kopecks as f64 / 100.0, "({row}, {col})");
    assert_eq!((value * 100.0).round() as i64, kopecks, "({row}, {col})");
}

fn assert_figures_row(sheet: &Range<Data>, row: u32, f: &Figures) {
    let counts = [
        (1, f.orders),
        (2, f.closed),
        (3, f.refused),
        (10, f.reviews),
    ];
    for (col, count) in counts {
        assert_eq!(number(sheet, row, col), count as f64, "({row}, {col})");
    }
    let amounts = [
        (4, f.total),
        (5, f.materials),
        (6, f.net()),
        (7, f.master_share),
        (8, f.company_share),
        (9, f.average_check()),
        (11, f.cash_due),
    ];
    for (col, kopecks) in amounts {
        assert_money(sheet, row, col, kopecks);
    }
}

fn assert_header(sheet: &Range<Data>, first: &str) {
    let header: Vec<String> = (0..12).map(|col| text(sheet, 0, col)).collect();
    let mut expected = vec![first.to_string()];
    expected.extend(xlsx::FIGURE_HEADERS.iter().map(|s| s.to_string()));
    assert_eq!(header, expected);
}

fn november_report() -> Report {
    let mut db = Db::new();
    let ids = insert_masters(db.conn());
    insert_all(db.conn(), &random_rows(&ids));
    let (from, to) = range_of(Period::ThisMonth, "2026-11-15 12:00:00");
    reports::report(db.conn(), from, to).expect("report")
}

#[test]
fn xlsx_holds_the_report_as_numbers() {
    let report = november_report();
    assert!(
        report.unassigned.orders > 0,
        "the data has unassigned orders"
    );
    let bytes = write(&report);
    assert!(bytes.starts_with(b"PK"), "an .xlsx is a zip file");
    let mut book = open(bytes);
    assert_eq!(book.sheet_names(), ["Мастера", "Техника", "Статусы"]);

    // Masters: one row each, then "Без мастера", then "Итого".
    let sheet = book.worksheet_range("Мастера").expect("masters");
    assert_header(&sheet, "Мастер");
    let mut row = 1;
    for line in &report.masters {
        let name = if line.name().is_empty() {
            format!("Мастер №{}", line.master_id)
        } else {
            line.name()
        };
        assert_eq!(text(&sheet, row, 0), name);
        assert_figures_row(&sheet, row, &line.figures);
        row += 1;
    }
    assert!(report.masters.iter().any(|l| l.name() == "Иван Петров"));
    assert!(report.masters.iter().any(|l| l.name().is_empty()));
    assert_eq!(text(&sheet, row, 0), "Без мастера");
    assert_figures_row(&sheet, row, &report.unassigned);
    row += 1;
    assert_eq!(text(&sheet, row, 0), "Итого");
    assert_figures_row(&sheet, row, &report.totals);
    assert_eq!(
        sheet.get_size().0,
        (row + xlsx::HEADER_ROW) as usize + 1,
        "nothing after the total"
    );
    assert_eq!(
        sheet.get_value((0, 0)),
        Some(&Data::String("Отчёт за ноябрь 2026".into())),
        "the title row"
    );

    // Equipment types.
    let sheet = book.worksheet_range("Техника").expect("equipment");
    assert_header(&sheet, "Техника");
    let mut row = 1;
    for line in &report.equipment {
        assert_eq!(text(&sheet, row, 0), line.equipment_type);
        assert_figures_row(&sheet, row, &line.figures);
        row += 1;
    }
    assert_eq!(text(&sheet, row, 0), "Итого");
    assert_figures_row(&sheet, row, &report.totals);

    // Statuses: all seven in life order and the total.
    let sheet = book.worksheet_range("Статусы").expect("statuses");
    assert_eq!(text(&sheet, 0, 0), "Статус");
    assert_eq!(text(&sheet, 0, 1), "Заявок");
    for (i, line) in report.statuses.iter().enumerate() {
        let row = i as u32 + 1;
        assert_eq!(text(&sheet, row, 0), xlsx::status_name(line.status));
        assert_eq!(number(&sheet, row, 1), line.orders as f64);
    }
    assert_eq!(text(&sheet, 8, 0), "Итого");
    assert_eq!(number(&sheet, 8, 1), report.totals.orders as f64);
}

#[test]
fn money_cells_survive_odd_kopecks_and_huge_amounts() {
    let f = Figures {
        orders: 3,
        closed: 3,
        refused: 0,
        total: 3 * MAX_AMOUNT.get() - 1,
        materials: 1,
        master_share: 123_456_789,
        company_share: 3 * MAX_AMOUNT.get() - 2 - 123_456_789,
        reviews: 1,
        cash_due: -(3 * MAX_AMOUNT.get() - 1),
    };
    let report = Report {
        masters: Vec::new(),
        equipment: vec![reports::EquipmentLine {
            equipment_type: "Телевизоры".into(),
            figures: f,
        }],
        statuses: Vec::new(),
        unassigned: Figures::default(),
        totals: f,
    };
    let mut book = open(write(&report));
    let sheet = book.worksheet_range("Техника").expect("equipment");
    assert_figures_row(&sheet, 1, &f);
    assert_money(&sheet, 1, 4, 29_999_999_999);
    // (299 999 999,99 ₽) / 3 = 99 999 999,996… ₽, rounded half up.
    assert_money(&sheet, 1, 9, 10_000_000_000);
}

/// The average check of the file is rounded half up to the kopeck, not down.
#[test]
fn average_check_in_the_file_rounds_half_up() {
    let closed = |closed: i64, total: i64| Figures {
        orders: closed,
        closed,
        total,
        master_share: total / 2,
        company_share: total - total / 2,
        ..Figures::default()
    };
    // 200 ₽ / 3 = 66,666… ₽ -> 66,67; 100,01 ₽ / 2 = 50,005 ₽ -> 50,01; 100,01 ₽ / 3 =
    // 33,336… -> 33,34; 0,04 ₽ / 3 = 0,0133… -> 0,01.
    let cases = [
        (3, 20_000, 6_667),
        (2, 10_001, 5_001),
        (3, 10_001, 3_334),
        (3, 4, 1),
    ];
    for (n, total, average) in cases {
        let f = closed(n, total);
        let report = Report {
            masters: Vec::new(),
            equipment: vec![reports::EquipmentLine {
                equipment_type: "Телевизоры".into(),
                figures: f,
            }],
            statuses: Vec::new(),
            unassigned: Figures::default(),
            totals: f,
        };
        let mut book = open(write(&report));
        let sheet = book.worksheet_range("Техника").expect("equipment");
        assert_money(&sheet, 1, 9, average);
        assert_money(&sheet, 2, 9, average);
    }
}

/// `TIMEZONE` is read into a `chrono_tz::Tz` by name; the range follows that zone.
#[test]
fn a_zone_read_by_name_gives_the_same_ranges() {
    let zone: Tz = "Europe/Moscow".parse().expect("zone");
    assert_eq!(
        utc_range(Period::Today, utc("2026-11-30 22:00:00"), zone),
        (naive("2026-11-30 21:00:00"), naive("2026-12-01 21:00:00"))
    );
}

/// The period filter reads the orders created in the period and those closed or refused in
/// it through their indexes, never the whole table.
#[test]
fn the_period_filter_uses_the_indexes() {
    let mut db = Db::new();
    let plan = reports::plan(db.conn()).expect("plan");
    let text = plan.join("\n");
    assert!(text.contains("idx_orders_created_at"), "{text}");
    assert!(text.contains("idx_orders_status"), "{text}");
    assert!(
        !plan.iter().any(|step| step.starts_with("SCAN")),
        "no full scan: {text}"
    );
}
