//! Russian texts of the bot that carry figures: SLA alerts, the order history, /help per
//! role, the master card. Pure functions, no database, no clock.

use chrono::{NaiveDateTime, TimeDelta};
use repair_bot::bot::texts;
use repair_bot::domain::status::OrderStatus;
use repair_bot::store::orders::Order;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("timestamp")
}

fn order(status: OrderStatus) -> Order {
    let now = at("2026-11-20 09:00:00");
    Order {
        id: 42,
        equipment_type: "Холодильники".into(),
        description: "Не морозит".into(),
        client_name: "Анна".into(),
        client_address: "ул. Лесная, 5".into(),
        client_phone: "+79001234567".into(),
        status: status.as_str().into(),
        assigned_master_id: None,
        dispatcher_id: Some(1),
        notes: None,
        scheduled_time: None,
        total_kopecks: None,
        materials_kopecks: None,
        master_share_kopecks: None,
        company_share_kopecks: None,
        has_review: false,
        created_at: now,
        updated_at: now,
        status_changed_at: now,
        reminders_sent: 0,
        last_reminded_at: None,
    }
}

// ----- SLA alerts -----

#[test]
fn sla_alert_shows_the_limit_in_hours_and_minutes() {
    let new = order(OrderStatus::New);
    let cases = [
        (TimeDelta::minutes(90), "дольше 1 ч 30 мин "),
        (TimeDelta::minutes(120), "дольше 2 ч "),
        (TimeDelta::minutes(45), "дольше 45 мин "),
        (TimeDelta::minutes(721), "дольше 12 ч 1 мин "),
        (TimeDelta::hours(30), "дольше 30 ч "),
        (TimeDelta::seconds(5_430), "дольше 1 ч 30 мин "),
    ];
    for (limit, expected) in cases {
        let text = texts::sla_alert_after(&new, OrderStatus::New, limit);
        assert!(text.contains(expected), "{limit:?}: {text}");
        assert!(
            text.contains("№42") && text.contains("ул. Лесная, 5"),
            "{text}"
        );
    }
}

#[test]
fn sla_alert_in_whole_hours_reads_as_before() {
    let text = texts::sla_alert(&order(OrderStatus::Assigned), OrderStatus::Assigned, 4);
    assert!(text.contains("дольше 4 ч в статусе"), "{text}");
}
