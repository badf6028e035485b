//! The stores behind visits and known clients (`store::clients`, `store::visits`): what a
//! lookup counts and lists, which visits a round takes, and that both read through their
//! indexes. Soft-deleted orders count nowhere.

use crate::support::MigratedDb as Db;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use repair_bot::domain::ids::OrderId;
use repair_bot::domain::status::OrderStatus;
use repair_bot::schema::orders;
use repair_bot::store::{clients, visits};

const PHONE: &str = "+79001234567";
const OTHER: &str = "+79160001122";

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a test moment")
}

/// An order as a row: what the stores under test look at.
struct Row<'a> {
    phone: &'a str,
    status: OrderStatus,
    changed: NaiveDateTime,
    visit_at: Option<NaiveDateTime>,
    deleted: bool,
}

impl Default for Row<'_> {
    fn default() -> Self {
        Row {
            phone: PHONE,
            status: OrderStatus::New,
            changed: at("2026-11-23 07:00"),
            visit_at: None,
            deleted: false,
        }
    }
}

impl Db {
    fn add_row(&mut self, row: Row<'_>) -> OrderId {
        let deleted_at = row.deleted.then(|| at("2026-11-23 07:00"));
        let id: i64 = diesel::insert_into(orders::table)
            .values((
                orders::equipment_type.eq("Холодильники"),
                orders::description.eq("Не морозит морозильная камера"),
                orders::client_name.eq("Нина"),
                orders::client_address.eq("ул. Лесная, д. 4"),
                orders::client_phone.eq(row.phone),
                orders::status.eq(row.status.as_str()),
                orders::status_changed_at.eq(row.changed),
                orders::visit_at.eq(row.visit_at),
                orders::deleted_at.eq(deleted_at),
            ))
            .returning(orders::id)
            .get_result(self.conn())
            .expect("insert an order");
        OrderId(id)
    }
}

#[test]
fn a_known_client_is_counted_listed_and_flagged_without_deleted_orders() {
    let mut db = Db::new();
    let now = at("2026-11-23 07:00");
    let since = now - TimeDelta::days(90);
    let closed = |changed: &str| Row {
        status: OrderStatus::Closed,
        changed: at(changed),
        ..Row::default()
    };
    let old = db.add_row(closed("2026-01-10 10:00"));
    let warranty = db.add_row(closed("2026-11-01 10:00"));
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(db.add_row(Row::default()));
    }
    let deleted = db.add_row(Row {
        deleted: true,
        ..closed("2026-11-20 10:00")
    });
    // Somebody else's recent closing, and many of them: never this client's.
    for _ in 0..50 {
        db.add_row(Row {
            phone: OTHER,
            ..closed("2026-11-20 10:00")
        });
    }

    let known = clients::known_client(db.conn(), PHONE, 5, since)
        .unwrap()
        .expect("a known phone");
    assert_eq!(known.total, 6, "the deleted order is not counted");
    let recent: Vec<OrderId> = known.recent.iter().map(|o| o.id).collect();
    assert_eq!(
        recent,
        vec![open[3], open[2], open[1], open[0], warranty],
        "newest first, without the deleted one"
    );
    let flagged: Vec<OrderId> = known.under_warranty.iter().map(|o| o.id).collect();
    assert_eq!(flagged, vec![warranty]);
    assert!(!known.is_under_warranty(old));
    assert_eq!(known.listed().len(), 5);
    assert!(!known.listed().iter().any(|o| o.id == deleted));

    // With a short list, an order under warranty beyond it is listed too.
    let short = clients::known_client(db.conn(), PHONE, 1, since)
        .unwrap()
        .unwrap();
    assert_eq!(short.total, 6);
    let listed: Vec<OrderId> = short.listed().iter().map(|o| o.id).collect();
    assert_eq!(listed, vec![open[3], warranty]);

    assert_eq!(
        clients::known_client(db.conn(), "+79990000000", 5, since).unwrap(),
        None
    );
    assert!(clients::name_and_address(db.conn(), open[0], PHONE)
        .unwrap()
        .is_some());
    assert_eq!(
        clients::name_and_address(db.conn(), deleted, PHONE).unwrap(),
        None,
        "a deleted order offers nothing"
    );
    assert_eq!(
        clients::name_and_address(db.conn(), open[0], OTHER).unwrap(),
        None,
        "another phone's order offers nothing"
    );

    for plan in clients::known_client_plan(db.conn(), PHONE, 5, since).unwrap() {
        let plan = plan.join(" | ");
        assert!(plan.contains("idx_orders_client_phone"), "{plan}");
    }
}

#[test]
fn a_round_takes_each_visit_within_the_lead_once_and_never_a_past_deleted_or_onsite_one() {
    let mut db = Db::new();
    let now = at("2026-11-24 10:00");
    let in_minutes = |m: i64| Some(now + TimeDelta::minutes(m));
    let visit = |minutes: i64, status: OrderStatus| Row {
        status,
        visit_at: in_minutes(minutes),
        ..Row::default()
    };
    let unassigned = db.add_row(visit(60, OrderStatus::New));
    let accepted = db.add_row(visit(90, OrderStatus::Accepted));
    let at_the_edge = db.add_row(visit(120, OrderStatus::Assigned));
    let waiting_for_parts = db.add_row(visit(30, OrderStatus::Dr));
    db.add_row(visit(121, OrderStatus::Assigned));
    db.add_row(visit(-10, OrderStatus::Assigned));
    db.add_row(visit(0, OrderStatus::Assigned));
    db.add_row(visit(45, OrderStatus::Onsite));
    db.add_row(visit(45, OrderStatus::Closed));
    db.add_row(Row {
        deleted: true,
        ..visit(45, OrderStatus::Accepted)
    });
    db.add_row(Row::default());

    let horizon = now + TimeDelta::hours(2);
    let take = |db: &mut Db| {
        visits::take_due_visits(db.conn(), now, horizon, |_, due| Ok(due.len()))
            .unwrap()
            .0
            .into_iter()
            .map(|visit| visit.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        take(&mut db),
        vec![waiting_for_parts, unassigned, accepted, at_the_edge],
        "soonest first"
    );
    assert!(take(&mut db).is_empty(), "each once");

    // A new moment is due again; the same moment stays reminded.
    visits::set_visit(db.conn(), accepted, Some("в 11:30"), in_minutes(90)).unwrap();
    assert!(take(&mut db).is_empty());
    visits::set_visit(db.conn(), accepted, Some("в 11:45"), in_minutes(105)).unwrap();
    assert_eq!(take(&mut db), vec![accepted]);

    let plan = visits::due_visits_plan(db.conn(), now, horizon)
        .unwrap()
        .join(" | ");
    assert!(
        plan.contains("idx_orders_visit_due (visit_at>? AND visit_at<?)"),
        "{plan}"
    );
}
