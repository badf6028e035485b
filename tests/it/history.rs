//! The order history as admins read it (SPEC 2.7): what the state machine writes with each
//! transition is stored structured (JSON in `order_status_history.notes` and
//! `audit_log.details`) and shown in Russian with rubles; rows written the old way (English
//! notes, raw kopecks) still read in Russian.

use crate::support::MigratedDb as Db;
use std::collections::BTreeSet;

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Europe::Moscow;
use diesel::prelude::*;
use repair_bot::bot::texts;
use repair_bot::domain::ids::{MasterId, OrderId, TelegramId};
use repair_bot::domain::money::{Amounts, Kopecks, PayRules, Payment};
use repair_bot::domain::status::{Action, Actor, Role};
use repair_bot::domain::Phone;
use repair_bot::schema::{audit_log, order_status_history, users};
use repair_bot::store::masters;
use repair_bot::store::orders::{self, Closing, EditableField, Move, NewOrder};

const DISPATCHER: TelegramId = TelegramId(500);
const IVAN: TelegramId = TelegramId(1001);
const PETR: TelegramId = TelegramId(1002);

fn phone(text: &str) -> Phone {
    Phone::parse(text).expect("a phone")
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("timestamp")
}

fn user(conn: &mut SqliteConnection, telegram_id: TelegramId, first: &str, last: Option<&str>) {
    let now = at("2026-11-01 09:00:00");
    diesel::insert_into(users::table)
        .values((
            users::telegram_id.eq(telegram_id),
            users::first_name.eq(first),
            users::last_name.eq(last),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .expect("user");
}

fn staff() -> Actor {
    Actor {
        telegram_id: DISPATCHER,
        roles: BTreeSet::from([Role::Dispatcher]),
        master_id: None,
    }
}

fn master(telegram_id: TelegramId, master_id: MasterId) -> Actor {
    Actor {
        telegram_id,
        roles: BTreeSet::from([Role::Master]),
        master_id: Some(master_id),
    }
}

fn step(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    actor: Actor,
    action: Action,
    closing: Option<Closing>,
    now: NaiveDateTime,
) {
    let request = Move {
        reason: matches!(
            action,
            Action::Decline | Action::Refuse | Action::LongRepair
        )
        .then(|| "Нет запчастей".to_string()),
        closing,
        ..Move::new(order_id, actor, action)
    };
    orders::apply(conn, &request, now, |_, _| Ok(())).expect("transition");
}

/// Two masters, one order: assign, reassign, unassign, assign, accept, on site, close.
fn a_closed_order(db: &mut Db) -> OrderId {
    let conn = db.conn();
    user(conn, DISPATCHER, "Дина", None);
    user(conn, IVAN, "Иван", Some("Петров"));
    user(conn, PETR, "Пётр", None);
    let now = at("2026-11-20 07:00:00");
    let ivan = masters::add(
        conn,
        DISPATCHER,
        IVAN,
        (&phone("+79990000001"), "Холодильники"),
        now,
        |_, _| Ok(()),
    )
    .expect("master")
    .id;
    let petr = masters::add(
        conn,
        DISPATCHER,
        PETR,
        (&phone("+79990000002"), "Холодильники"),
        now,
        |_, _| Ok(()),
    )
    .expect("master")
    .id;
    let order = orders::create(
        conn,
        &NewOrder {
            equipment_type: "Холодильники".into(),
            description: "Не морозит морозильная камера".into(),
            client_name: "Анна".into(),
            client_address: "ул. Лесная, 5".into(),
            client_phone: phone("+79001234567"),
            notes: None,
            scheduled_time: None,
            visit_at: None,
        },
        DISPATCHER,
        now,
        |_, _| Ok(()),
    )
    .expect("order")
    .id;
    let mut t = now;
    let mut next = || {
        t += TimeDelta::minutes(10);
        t
    };
    step(
        conn,
        order,
        staff(),
        Action::Assign { master_id: ivan },
        None,
        next(),
    );
    step(
        conn,
        order,
        staff(),
        Action::Assign { master_id: petr },
        None,
        next(),
    );
    step(conn, order, staff(), Action::Unassign, None, next());
    step(
        conn,
        order,
        staff(),
        Action::Assign { master_id: ivan },
        None,
        next(),
    );
    step(
        conn,
        order,
        master(IVAN, ivan),
        Action::Accept,
        None,
        next(),
    );
    step(
        conn,
        order,
        master(IVAN, ivan),
        Action::GoOnsite,
        None,
        next(),
    );
    step(
        conn,
        order,
        master(IVAN, ivan),
        Action::LongRepair,
        None,
        next(),
    );
    step(
        conn,
        order,
        master(IVAN, ivan),
        Action::ResumeOnsite,
        None,
        next(),
    );
    let money = Closing {
        amounts: Amounts {
            total: Kopecks::from_rubles(10_000),
            materials: Kopecks::from_rubles(500),
            has_review: false,
            payment: Payment::Cash,
        },
        rules: PayRules::default(),
    };
    step(
        conn,
        order,
        master(IVAN, ivan),
        Action::Close,
        Some(money),
        next(),
    );
    order
}

fn rendered(conn: &mut SqliteConnection, order: OrderId) -> String {
    let rows = orders::history(conn, order).expect("history");
    let names = |id: TelegramId| match id {
        DISPATCHER => "Дина".to_string(),
        IVAN => "Иван Петров".to_string(),
        other => other.to_string(),
    };
    texts::history(&rows, &names, Moscow)
}

#[test]
fn history_names_masters_and_shows_money_in_rubles() {
    let mut db = Db::new();
    let order = a_closed_order(&mut db);
    let text = rendered(db.conn(), order);
    for wanted in [
        "мастер Иван Петров",
        "мастер Иван Петров → Пётр",
        "снят мастер Пётр",
        "Нет запчастей",
        "сумма 10 000 ₽, материалы 500 ₽, мастеру 4 750 ₽, компании 4 750 ₽, отзыв: нет",
    ] {
        assert!(text.contains(wanted), "missing {wanted:?} in:\n{text}");
    }
    for unwanted in ["master", "total=", "review=", "1000000", "->"] {
        assert!(!text.contains(unwanted), "{unwanted:?} in:\n{text}");
    }
}

#[test]
fn history_and_audit_details_are_stored_structured() {
    let mut db = Db::new();
    let order = a_closed_order(&mut db);
    let conn = db.conn();
    let closing: Option<String> = order_status_history::table
        .filter(order_status_history::order_id.eq(order))
        .filter(order_status_history::new_status.eq("CLOSED"))
        .select(order_status_history::notes)
        .first(conn)
        .expect("closing row");
    let closing: serde_json::Value =
        serde_json::from_str(&closing.expect("notes")).expect("JSON notes");
    assert_eq!(closing["kind"], "closed");
    assert_eq!(closing["total"], 1_000_000);
    assert_eq!(closing["materials"], 50_000);
    assert_eq!(closing["review"], false);
    let audit: Vec<(String, Option<String>)> = audit_log::table
        .filter(audit_log::entity_type.eq("order"))
        .filter(audit_log::entity_id.eq(order))
        .order(audit_log::id)
        .select((audit_log::action, audit_log::details))
        .load(conn)
        .expect("audit");
    let details = |action: &str| -> serde_json::Value {
        let (_, details) = audit
            .iter()
            .find(|(a, _)| a == action)
            .unwrap_or_else(|| panic!("{action} in {audit:?}"));
        serde_json::from_str(details.as_deref().expect("details")).expect("JSON details")
    };
    assert_eq!(details("ORDER_CLOSED"), closing);
    let reassigned = details("ORDER_REASSIGNED");
    assert_eq!(reassigned["kind"], "reassigned");
    assert_eq!(reassigned["from"]["name"], "Иван Петров");
    assert_eq!(reassigned["to"]["name"], "Пётр");
}

#[test]
fn an_edit_is_audited_with_the_field_and_both_values() {
    let mut db = Db::new();
    let conn = db.conn();
    user(conn, DISPATCHER, "Дина", None);
    let now = at("2026-11-20 07:00:00");
    let order = orders::create(
        conn,
        &NewOrder {
            equipment_type: "Холодильники".into(),
            description: "Не морозит морозильная камера".into(),
            client_name: "Анна".into(),
            client_address: "ул. Лесная, 5".into(),
            client_phone: phone("+79001234567"),
            notes: Some("Домофон 12".into()),
            scheduled_time: None,
            visit_at: None,
        },
        DISPATCHER,
        now,
        |_, _| Ok(()),
    )
    .expect("order")
    .id;
    orders::edit(
        conn,
        order,
        DISPATCHER,
        &orders::FieldEdit::new(EditableField::Notes, None),
        now,
        |_, _| Ok(()),
    )
    .expect("edit");
    let details: Option<String> = audit_log::table
        .filter(audit_log::action.eq("ORDER_EDITED"))
        .select(audit_log::details)
        .first(conn)
        .expect("audit row");
    let details: serde_json::Value =
        serde_json::from_str(&details.expect("details")).expect("JSON details");
    assert_eq!(details["kind"], "edited");
    assert_eq!(details["field"], "notes");
    assert_eq!(details["old"], "Домофон 12");
    assert_eq!(details["new"], serde_json::Value::Null);
}

/// Rows written before the notes were structured still read in Russian.
#[test]
fn old_english_notes_still_render_in_russian() {
    let mut db = Db::new();
    let order = a_closed_order(&mut db);
    let conn = db.conn();
    diesel::delete(order_status_history::table.filter(order_status_history::order_id.eq(order)))
        .execute(conn)
        .expect("clear");
    let old = [
        (Some("NEW"), "ASSIGNED", Some("master 1")),
        (Some("ASSIGNED"), "ASSIGNED", Some("master 1 -> 2")),
        (Some("ASSIGNED"), "NEW", Some("master 2")),
        (Some("ASSIGNED"), "NEW", Some("Нет запчастей")),
        (Some("ONSITE"), "DR", Some("Ждём <плату>")),
        (
            Some("ONSITE"),
            "CLOSED",
            Some("total=1000000 materials=50000 master=380000 company=570000 review=false"),
        ),
        (Some("ASSIGNED"), "ACCEPTED", Some("dual role")),
        (Some("DR"), "ONSITE", None),
    ];
    for (i, (from, to, notes)) in old.into_iter().enumerate() {
        diesel::insert_into(order_status_history::table)
            .values((
                order_status_history::order_id.eq(order),
                order_status_history::old_status.eq(from),
                order_status_history::new_status.eq(to),
                order_status_history::changed_by.eq(DISPATCHER),
                order_status_history::changed_at
                    .eq(at("2026-11-20 07:00:00") + TimeDelta::minutes(i as i64)),
                order_status_history::notes.eq(notes),
            ))
            .execute(conn)
            .expect("old row");
    }
    let text = rendered(conn, order);
    for wanted in [
        "мастер №1",
        "мастер №1 → №2",
        "снят мастер №2",
        "Нет запчастей",
        "Ждём &lt;плату&gt;",
        "сумма 10 000 ₽, материалы 500 ₽, мастеру 3 800 ₽, компании 5 700 ₽, отзыв: нет",
        "dual role",
    ] {
        assert!(text.contains(wanted), "missing {wanted:?} in:\n{text}");
    }
    for unwanted in ["master", "total=", "review=", "->"] {
        assert!(!text.contains(unwanted), "{unwanted:?} in:\n{text}");
    }
}
