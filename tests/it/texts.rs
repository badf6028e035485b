//! Russian texts of the bot that carry figures: SLA alerts, the order history, /help per
//! role, the master card. Pure functions, no database, no clock.

use chrono::{NaiveDateTime, TimeDelta};
use repair_bot::bot::texts;
use repair_bot::domain::ids::{OrderId, TelegramId};
use repair_bot::domain::status::OrderStatus;
use repair_bot::store::orders::Order;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("timestamp")
}

fn order(status: OrderStatus) -> Order {
    let now = at("2026-11-20 09:00:00");
    Order {
        id: OrderId(42),
        equipment_type: "Холодильники".into(),
        description: "Не морозит".into(),
        client_name: "Анна".into(),
        client_address: "ул. Лесная, 5".into(),
        client_phone: "+79001234567".into(),
        status,
        assigned_master_id: None,
        dispatcher_id: Some(TelegramId(1)),
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
        visit_at: None,
        visit_reminded_at: None,
        reschedule_count: 0,
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

// ----- /help per role -----

use repair_bot::domain::status::Role;

fn mentions_all(text: &str, what: &[&str]) {
    for item in what {
        assert!(text.contains(item), "missing {item:?} in:\n{text}");
    }
}

fn mentions_none(text: &str, what: &[&str]) {
    for item in what {
        assert!(!text.contains(item), "unexpected {item:?} in:\n{text}");
    }
}

const STAFF_ITEMS: [&str; 7] = [
    texts::MENU_NEW_ORDER,
    texts::MENU_ORDERS,
    texts::MENU_SEARCH,
    texts::MENU_REPORTS,
    texts::BUTTON_EDIT,
    "назнач",
    ".xlsx",
];
const ADMIN_ITEMS: [&str; 3] = [texts::MENU_ADD_MASTER, texts::MENU_MASTERS, "SLA"];
const MASTER_ITEMS: [&str; 4] = [
    texts::MENU_MY_ORDERS,
    texts::MENU_MY_STATS,
    "Принять",
    "На месте",
];

#[test]
fn help_for_a_dispatcher_lists_search_reports_and_editing() {
    let text = texts::help(&[Role::Dispatcher]);
    mentions_all(&text, &["/start", "/help", "/cancel"]);
    mentions_all(&text, &STAFF_ITEMS);
    mentions_none(&text, &ADMIN_ITEMS);
    mentions_none(&text, &MASTER_ITEMS);
}

#[test]
fn help_for_an_admin_adds_masters_to_what_a_dispatcher_can() {
    let text = texts::help(&[Role::Admin]);
    mentions_all(&text, &STAFF_ITEMS);
    mentions_all(&text, &ADMIN_ITEMS);
    mentions_none(&text, &MASTER_ITEMS);
}

#[test]
fn help_for_a_master_lists_the_masters_flow_only() {
    let text = texts::help(&[Role::Master]);
    mentions_all(&text, &MASTER_ITEMS);
    mentions_all(&text, &["Закрыть", "Длительный ремонт", "отзыв", "телефон"]);
    mentions_none(&text, &STAFF_ITEMS[..5]);
    mentions_none(&text, &ADMIN_ITEMS);
}

#[test]
fn help_for_several_roles_has_every_part_once() {
    let text = texts::help(&[Role::Master, Role::Dispatcher, Role::Admin]);
    mentions_all(&text, &STAFF_ITEMS);
    mentions_all(&text, &ADMIN_ITEMS);
    mentions_all(&text, &MASTER_ITEMS);
    assert_eq!(text.matches(texts::MENU_SEARCH).count(), 1, "{text}");
}

#[test]
fn help_without_a_role_says_who_gives_access() {
    let text = texts::help(&[]);
    mentions_all(&text, &["/start", "администратор"]);
    mentions_none(&text, &STAFF_ITEMS[..5]);
    mentions_none(&text, &MASTER_ITEMS);
}

// ----- history notes -----

#[test]
fn an_edit_note_names_the_field_in_russian() {
    use repair_bot::domain::history::{Details, Note};
    let note = Note::Details(Details::Edited {
        field: "client_phone".into(),
        old: Some("+79001234567".into()),
        new: Some("+79160001122".into()),
    });
    assert_eq!(
        texts::history_note(&note),
        "Телефон: «+79001234567» → «+79160001122»"
    );
    let cleared = Note::Details(Details::Edited {
        field: "notes".into(),
        old: Some("<b>код</b>".into()),
        new: None,
    });
    assert_eq!(
        texts::history_note(&cleared),
        "Примечания: «&lt;b&gt;код&lt;/b&gt;» → «—»"
    );
}
