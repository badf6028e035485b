//! Search and status lists (SPEC 2.6, `store::search`): every phone format, order numbers,
//! address fragments in any letter case (Cyrillic included, "ё" = "е"), keyset pages that
//! neither repeat nor skip while orders are added, and query plans that use the indexes.

use crate::support::MigratedDb as Db;
use crate::support::Sandbox;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::startup::{self};
use repair_bot::domain::status::OrderStatus;
use repair_bot::domain::validation::PhoneError;
use repair_bot::schema::orders;
use repair_bot::store::orders::Order;
use repair_bot::store::search::{
    self, classify, count_by_status, list_by_status, Cursor, Page, Query, Refused,
};

const PHONE: &str = "+79001234567";

impl Db {
    fn add(&mut self, address: &str, phone: &str, status: OrderStatus) -> i64 {
        diesel::insert_into(orders::table)
            .values((
                orders::equipment_type.eq("Холодильники"),
                orders::description.eq("Не морозит морозильная камера"),
                orders::client_name.eq("Нина"),
                orders::client_address.eq(address),
                orders::client_phone.eq(phone),
                orders::status.eq(status.as_str()),
            ))
            .returning(orders::id)
            .get_result(self.conn())
            .expect("insert an order")
    }

    fn search(&mut self, input: &str) -> Vec<i64> {
        let query = classify(input).unwrap_or_else(|e| panic!("{input:?} refused: {e}"));
        ids(&search::search(self.conn(), &query, None, 100).unwrap())
    }

    /// FTS5's own check of its index, and every `fragments` search against a plain scan of
    /// the orders (Rust's Unicode lower-casing, "ё" as "е").
    fn check_index(&mut self, fragments: &[&str]) {
        self.conn()
            .batch_execute("INSERT INTO order_search (order_search) VALUES ('integrity-check');")
            .expect("order_search is sound");
        let all: Vec<(i64, String)> = orders::table
            .select((orders::id, orders::client_address))
            .order(orders::id.desc())
            .load(self.conn())
            .unwrap();
        let fold = |s: &str| s.to_lowercase().replace('ё', "е");
        for fragment in fragments {
            let wanted: Vec<i64> = all
                .iter()
                .filter(|(_, a)| fold(a).contains(&fold(fragment)))
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(self.search(fragment), wanted, "{fragment}");
        }
    }
}

fn ids(page: &Page<Order>) -> Vec<i64> {
    page.items.iter().map(|o| o.id.0).collect()
}

fn address(input: &str) -> Query {
    Query::Address(input.to_string())
}

// ----- Understanding the input -----

#[test]
fn classify_tells_phones_numbers_and_fragments_apart() {
    for phone in [
        "+7 900 123-45-67",
        "89001234567",
        "8 (900) 123 45 67",
        "9001234567",
        "+79001234567",
        "7 900 1234567",
        "  8-900-123-45-67 ",
    ] {
        assert_eq!(classify(phone), Ok(Query::Phone(PHONE.into())), "{phone}");
    }
    assert_eq!(classify("1234"), Ok(Query::OrderId(1234)));
    assert_eq!(classify(" #1234 "), Ok(Query::OrderId(1234)));
    assert_eq!(classify("№ 77"), Ok(Query::OrderId(77)));
    assert_eq!(classify("7"), Ok(Query::OrderId(7)));
    assert_eq!(classify("123456789"), Ok(Query::OrderId(123_456_789)));
    // Typed as a phone but not a Russian one: the phone's own error, not an address search.
    assert_eq!(
        classify("4951234567"),
        Err(Refused::BadPhone(PhoneError::MissingPrefix))
    );
    assert_eq!(
        classify("+7 900 123"),
        Err(Refused::BadPhone(PhoneError::WrongLength { digits: 7 }))
    );
    assert_eq!(
        classify("8 (900) 123-45-6"),
        Err(Refused::BadPhone(PhoneError::WrongLength { digits: 10 }))
    );
    assert_eq!(
        classify("+1 202 555 0100"),
        Err(Refused::BadPhone(PhoneError::NotRussian))
    );
    assert_eq!(
        Refused::BadPhone(PhoneError::Empty).code(),
        "search.bad_phone"
    );
    // Digits with other characters are an address fragment.
    assert_eq!(classify("15-17"), Ok(address("15-17")));
    assert_eq!(classify("22/1"), Ok(address("22/1")));
    assert_eq!(classify("  ул. Лесная "), Ok(address("ул. Лесная")));
    assert_eq!(classify("ЛЕС"), Ok(address("ЛЕС")));
    assert_eq!(classify("д. 15"), Ok(address("д. 15")));

    assert_eq!(classify("   "), Err(Refused::Empty));
    assert_eq!(classify("Ле"), Err(Refused::TooShort { min: 3 }));
    assert_eq!(classify("#"), Err(Refused::TooShort { min: 3 }));
    assert_eq!(Refused::Empty.code(), "search.empty");
    assert_eq!(Refused::TooShort { min: 3 }.code(), "search.too_short");
}

#[test]
fn cursor_tokens_fit_callback_data_and_round_trip() {
    for cursor in [
        Cursor::Before(1),
        Cursor::After(9_999_999),
        Cursor::Before(0),
    ] {
        assert_eq!(Cursor::from_token(&cursor.token()), Some(cursor));
    }
    assert_eq!(Cursor::Before(123).token(), "b123");
    assert_eq!(Cursor::After(45).token(), "a45");
    for junk in ["", "b", "x12", "b-1", "a1x", "bb1", "b99999999999999999999"] {
        assert_eq!(Cursor::from_token(junk), None, "{junk:?}");
    }
}

// ----- Finding -----

#[test]
fn every_phone_format_finds_the_clients_orders_newest_first() {
    let mut db = Db::new();
    let first = db.add("ул. Лесная, д. 5", PHONE, OrderStatus::Closed);
    db.add("пр. Мира, 22", "+79031112233", OrderStatus::New);
    let second = db.add("ул. Садовая, 1", PHONE, OrderStatus::New);
    for input in [
        "+7 900 123-45-67",
        "89001234567",
        "8 (900) 123 45 67",
        "9001234567",
    ] {
        assert_eq!(db.search(input), vec![second, first], "{input}");
    }
    assert_eq!(db.search("+7 999 000-00-00"), Vec::<i64>::new());
}

#[test]
fn an_order_number_finds_that_order_only() {
    let mut db = Db::new();
    let a = db.add("ул. Лесная, д. 5", PHONE, OrderStatus::New);
    let b = db.add("ул. Лесная, д. 6", PHONE, OrderStatus::Refused);
    assert_eq!(db.search(&a.to_string()), vec![a]);
    assert_eq!(db.search(&format!("#{b}")), vec![b]);
    assert_eq!(db.search("99999"), Vec::<i64>::new());
    let page = search::search(db.conn(), &Query::OrderId(b), None, 10).unwrap();
    assert_eq!((page.next, page.prev), (None, None));
}

#[test]
fn an_address_fragment_matches_in_any_letter_case() {
    let mut db = Db::new();
    let lesnaya = db.add("ул. Лесная, д. 4, кв. 44", PHONE, OrderStatus::New);
    let zelenaya = db.add("ул. Зелёная, 7", PHONE, OrderStatus::Closed);
    let yolochnaya = db.add("ЁЛОЧНАЯ УЛ., 3", PHONE, OrderStatus::Dr);
    let nevsky = db.add("Невский пр. 100, Saint Petersburg", PHONE, OrderStatus::New);
    let quoted = db.add("ТЦ \"Лесной\", павильон 3", PHONE, OrderStatus::New);

    assert_eq!(db.search("ЛЕСНАЯ"), vec![lesnaya]);
    assert_eq!(db.search("лесная"), vec![lesnaya]);
    assert_eq!(db.search("лЕсНаЯ, Д. 4"), vec![lesnaya]);
    assert_eq!(db.search("кв. 44"), vec![lesnaya]);
    assert_eq!(db.search("ЛЕС"), vec![quoted, lesnaya]);
    assert_eq!(db.search("\"лесной\""), vec![quoted]);
    // "ё" and "е" are one letter to search, either way round and in either case.
    assert_eq!(db.search("зеленая"), vec![zelenaya]);
    assert_eq!(db.search("ЗЕЛЁНАЯ"), vec![zelenaya]);
    assert_eq!(db.search("елочная"), vec![yolochnaya]);
    assert_eq!(db.search("Ёлочн"), vec![yolochnaya]);
    // Latin folds too; the middle of a word matches.
    assert_eq!(db.search("PETERS"), vec![nevsky]);
    assert_eq!(db.search("вский"), vec![nevsky]);
    // FTS5 syntax in a fragment is just text.
    assert_eq!(db.search("AND OR NOT * ^"), Vec::<i64>::new());
    assert_eq!(db.search("Тверская"), Vec::<i64>::new());
    // Reached without classify(), a fragment too short for trigrams finds nothing.
    let short = search::search(db.conn(), &address("Ле"), None, 10).unwrap();
    assert!(short.items.is_empty());
    db.check_index(&["лесн", "ЗЕЛЕН", "ул.", "пр.", "вский"]);
}

#[test]
fn the_address_index_follows_edits_and_deletions() {
    let mut db = Db::new();
    let id = db.add("ул. Лесная, д. 5", PHONE, OrderStatus::New);
    let other = db.add("ул. Лесная, д. 9", PHONE, OrderStatus::New);
    diesel::update(orders::table.find(id))
        .set(orders::client_address.eq("пр. Ёжиков, 12"))
        .execute(db.conn())
        .unwrap();
    assert_eq!(db.search("лесная"), vec![other]);
    assert_eq!(db.search("ежиков"), vec![id]);
    // A status change does not touch the index (the trigger watches the address only).
    diesel::update(orders::table.find(id))
        .set(orders::status.eq(OrderStatus::Assigned.as_str()))
        .execute(db.conn())
        .unwrap();
    assert_eq!(db.search("ЕЖИКОВ"), vec![id]);
    diesel::delete(orders::table.find(other))
        .execute(db.conn())
        .unwrap();
    assert_eq!(db.search("лесная"), Vec::<i64>::new());
    db.check_index(&["лесная", "ЁЖИК", "ул.", "пр."]);
}

#[test]
fn orders_of_an_adopted_database_are_searchable() {
    // The old bot's database C: the migration indexes the orders already there.
    let sandbox = Sandbox::with_fixture("C");
    let mut prepared = startup::prepare(&sandbox.settings(), &Catalog::embedded()).unwrap();
    let conn = &mut prepared.connection;
    let found = |conn: &mut SqliteConnection, input: &str| {
        ids(&search::search(conn, &classify(input).unwrap(), None, 10).unwrap())
    };
    assert_eq!(found(conn, "ЛЕСНАЯ"), vec![8]);
    assert_eq!(found(conn, "невский"), vec![6]);
    assert_eq!(found(conn, "8 (916) 123-45-67"), vec![1]);
    assert_eq!(found(conn, "5"), vec![5]);
    conn.batch_execute("INSERT INTO order_search (order_search) VALUES ('integrity-check');")
        .unwrap();
}

#[test]
fn counts_list_every_status() {
    let mut db = Db::new();
    assert_eq!(
        count_by_status(db.conn()).unwrap(),
        OrderStatus::ALL.map(|s| (s, 0)).to_vec()
    );
    for _ in 0..3 {
        db.add("ул. Лесная, д. 5", PHONE, OrderStatus::New);
    }
    db.add("ул. Лесная, д. 5", PHONE, OrderStatus::Refused);
    let counts = count_by_status(db.conn()).unwrap();
    assert_eq!(counts.len(), 7);
    assert_eq!(counts[0], (OrderStatus::New, 3));
    assert_eq!(counts[6], (OrderStatus::Refused, 1));
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 4);
}

// ----- Paging -----

/// Walks a list from the first page to the end with `next`, then back with `prev` until
/// there is nothing newer, calling `between` after each page. Returns the pages in the order
/// they were read, forward and backward.
fn walk(
    db: &mut Db,
    mut load: impl FnMut(&mut SqliteConnection, Option<Cursor>) -> Page<Order>,
    mut between: impl FnMut(&mut Db),
) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let mut forward = Vec::new();
    let mut page = load(db.conn(), None);
    forward.push(ids(&page));
    while let Some(next) = page.next {
        between(db);
        page = load(db.conn(), Some(next));
        forward.push(ids(&page));
    }
    let mut backward = vec![ids(&page)];
    while let Some(prev) = page.prev {
        between(db);
        page = load(db.conn(), Some(prev));
        backward.push(ids(&page));
    }
    (forward, backward)
}

fn assert_no_repeats_no_skips(pages: &[Vec<i64>], expected_desc: &[i64]) {
    let flat: Vec<i64> = pages.iter().flatten().copied().collect();
    assert_eq!(flat, expected_desc, "pages {pages:?}");
}

#[test]
fn status_pages_neither_repeat_nor_skip_while_orders_arrive() {
    let mut db = Db::new();
    let mut new_ids = Vec::new();
    for i in 0..95 {
        let id = db.add(&format!("ул. Лесная, д. {i}"), PHONE, OrderStatus::New);
        new_ids.push(id);
        // Other statuses interleaved: they must not show up in the NEW list.
        db.add("пр. Мира, 1", "+79031112233", OrderStatus::Closed);
    }
    new_ids.reverse();

    let mut added = Vec::new();
    let (forward, backward) = walk(
        &mut db,
        |conn, cursor| list_by_status(conn, OrderStatus::New, cursor, 10).unwrap(),
        |db| added.push(db.add("ул. Новая, 1", PHONE, OrderStatus::New)),
    );
    // Forward: the 95 orders there when the list was opened, ten a page, the last one 5.
    assert_eq!(forward.len(), 10);
    assert!(forward[..9].iter().all(|p| p.len() == 10));
    assert_eq!(forward[9].len(), 5);
    assert_no_repeats_no_skips(&forward, &new_ids);

    // Backward from the last page: the same pages...
    for (i, page) in backward.iter().enumerate().take(10) {
        assert_eq!(page, &forward[9 - i], "page {i} going back");
    }
    // ...then the orders added during the walk (one before each page load), each once.
    let above: Vec<i64> = backward[10..].iter().rev().flatten().copied().collect();
    let mut added_desc = added.clone();
    added_desc.reverse();
    assert_eq!(
        above,
        added_desc,
        "pages above the first {:?}",
        &backward[10..]
    );
    assert!(backward[10..]
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 10));
}

#[test]
fn search_pages_by_phone_and_by_address_neither_repeat_nor_skip() {
    let mut db = Db::new();
    let mut by_phone = Vec::new();
    let mut by_address = Vec::new();
    for i in 0..37 {
        by_phone.push(db.add(&format!("пр. Мира, {i}"), PHONE, OrderStatus::New));
        by_address.push(db.add(
            &format!("ул. Лесная, д. {i}"),
            "+79031112233",
            OrderStatus::ALL[i % 7],
        ));
        db.add("Невский пр. 1", "+79260001122", OrderStatus::New);
    }
    by_phone.reverse();
    by_address.reverse();
    for (input, expected) in [("8 900 123 45 67", &by_phone), ("ЛЕСНАЯ", &by_address)] {
        let query = classify(input).unwrap();
        let (forward, backward) = walk(
            &mut db,
            |conn, cursor| search::search(conn, &query, cursor, 10).unwrap(),
            |_| {},
        );
        assert_eq!(forward.len(), 4, "{input}");
        assert_no_repeats_no_skips(&forward, expected);
        let mut back: Vec<Vec<i64>> = backward;
        back.reverse();
        assert_eq!(back, forward, "{input}: back up the list");
    }
}

#[test]
fn an_exact_page_count_has_no_empty_last_page_and_cursors_beyond_the_ends_are_empty() {
    let mut db = Db::new();
    for _ in 0..20 {
        db.add("ул. Лесная, д. 5", PHONE, OrderStatus::Onsite);
    }
    let first = list_by_status(db.conn(), OrderStatus::Onsite, None, 10).unwrap();
    assert_eq!(first.prev, None);
    let second = list_by_status(db.conn(), OrderStatus::Onsite, first.next, 10).unwrap();
    assert_eq!(second.items.len(), 10);
    assert_eq!(second.next, None, "no link to an empty page");
    assert_eq!(second.prev, Some(Cursor::After(second.items[0].id.0)));
    let beyond = list_by_status(db.conn(), OrderStatus::Onsite, Some(Cursor::Before(1)), 10);
    assert_eq!(
        beyond.unwrap(),
        Page {
            items: vec![],
            next: None,
            prev: None
        }
    );
    let empty = list_by_status(db.conn(), OrderStatus::Dr, None, 10).unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none() && empty.prev.is_none());
    // Page sizes are clamped: 0 means 1.
    let one = list_by_status(db.conn(), OrderStatus::Onsite, None, 0).unwrap();
    assert_eq!(one.items.len(), 1);
}

// ----- Query plans -----

fn assert_uses(plan: &[String], wanted: &str, what: &str) {
    let text = plan.join("\n");
    assert!(text.contains(wanted), "{what}: no {wanted:?} in\n{text}");
    assert!(
        !text.contains("SCAN orders"),
        "{what}: scans orders\n{text}"
    );
    assert!(!text.contains("TEMP B-TREE"), "{what}: sorts\n{text}");
}

#[test]
fn every_page_query_uses_an_index_and_never_scans_or_sorts_orders() {
    let mut db = Db::new();
    // Enough rows that the planner has a reason to prefer indexes even without ANALYZE.
    for i in 0..200 {
        db.add(
            &format!("ул. Лесная, д. {i}"),
            PHONE,
            OrderStatus::ALL[i % 7],
        );
    }
    let cursors = [None, Some(Cursor::Before(100)), Some(Cursor::After(100))];
    for cursor in cursors {
        let plan = search::status_plan(db.conn(), OrderStatus::New, cursor).unwrap();
        assert_uses(&plan, "USING INDEX idx_orders_status_id", "status page");
        let plan = search::plan(db.conn(), &Query::Phone(PHONE.into()), cursor).unwrap();
        assert_uses(&plan, "USING INDEX idx_orders_client_phone", "phone");
        let plan = search::plan(db.conn(), &address("Лесная"), cursor).unwrap();
        assert_uses(&plan, "VIRTUAL TABLE", "address");
        assert_uses(&plan, "SEARCH orders USING INTEGER PRIMARY KEY", "address");
        let plan = search::plan(db.conn(), &Query::OrderId(5), cursor).unwrap();
        assert_uses(
            &plan,
            "SEARCH orders USING INTEGER PRIMARY KEY",
            "order number",
        );
    }
    let plan = search::count_plan(db.conn()).unwrap();
    assert!(plan.join("\n").contains("COVERING INDEX"), "{plan:?}");
}

// ----- Soft-deleted orders -----

/// The admin who deletes (audit rows name a registered user).
const ADMIN: i64 = 1;

impl Db {
    fn delete(&mut self, id: i64) {
        let now = chrono::NaiveDateTime::parse_from_str("2026-12-05 10:00:00", "%Y-%m-%d %H:%M:%S")
            .unwrap();
        self.conn()
            .batch_execute(&format!(
                "INSERT OR IGNORE INTO users (telegram_id, created_at, updated_at) \
                 VALUES ({ADMIN}, '2026-12-05 10:00:00', '2026-12-05 10:00:00')"
            ))
            .unwrap();
        repair_bot::store::orders::soft_delete(
            self.conn(),
            repair_bot::domain::ids::OrderId(id),
            repair_bot::domain::ids::TelegramId(ADMIN),
            now,
            |_, _| Ok(()),
        )
        .expect("delete");
    }
}

#[test]
fn deleted_orders_are_in_no_list_count_or_search_only_in_their_own_list() {
    let mut db = Db::new();
    let orders: Vec<i64> = (0..30)
        .map(|i| {
            let status = if i % 2 == 0 {
                OrderStatus::New
            } else {
                OrderStatus::Closed
            };
            db.add(&format!("ул. Лесная, д. {i}"), PHONE, status)
        })
        .collect();
    let deleted: Vec<i64> = orders.iter().copied().filter(|id| id % 3 == 0).collect();
    for &id in &deleted {
        db.delete(id);
    }
    let live: Vec<i64> = orders
        .iter()
        .rev()
        .copied()
        .filter(|id| id % 3 != 0)
        .collect();
    let of = |status: OrderStatus, ids: &[i64]| -> Vec<i64> {
        ids.iter()
            .copied()
            .filter(|id| (id % 2 == 1) == (status == OrderStatus::New))
            .collect()
    };

    for status in [OrderStatus::New, OrderStatus::Closed] {
        assert_eq!(
            collect_pages(&mut db, |conn, cursor| list_by_status(
                conn, status, cursor, 4
            )),
            of(status, &live),
            "{status}"
        );
    }
    let counts = count_by_status(db.conn()).unwrap();
    let count = |status| counts.iter().find(|(s, _)| *s == status).unwrap().1;
    assert_eq!(
        count(OrderStatus::New) as usize,
        of(OrderStatus::New, &live).len()
    );
    assert_eq!(
        count(OrderStatus::Closed) as usize,
        of(OrderStatus::Closed, &live).len()
    );
    assert_eq!(db.search(PHONE), live);
    assert_eq!(db.search("Лесная"), live);
    assert_eq!(db.search(&deleted[0].to_string()), Vec::<i64>::new());

    let mut newest_first = deleted.clone();
    newest_first.reverse();
    assert_eq!(
        collect_pages(&mut db, |conn, cursor| search::list_deleted(
            conn, cursor, 3
        )),
        newest_first
    );
    assert_eq!(
        search::count_deleted(db.conn()).unwrap(),
        deleted.len() as i64
    );

    // Brought back, it is everywhere again.
    repair_bot::store::orders::undelete(
        db.conn(),
        repair_bot::domain::ids::OrderId(deleted[0]),
        repair_bot::domain::ids::TelegramId(ADMIN),
        chrono::NaiveDateTime::default(),
        |_, _| Ok(()),
    )
    .expect("undelete");
    assert_eq!(db.search(&deleted[0].to_string()), [deleted[0]]);
    assert_eq!(
        search::count_deleted(db.conn()).unwrap(),
        deleted.len() as i64 - 1
    );
}

/// Every page from the newest on, ids in order.
fn collect_pages(
    db: &mut Db,
    mut page: impl FnMut(&mut SqliteConnection, Option<Cursor>) -> QueryResult<Page<Order>>,
) -> Vec<i64> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let current = page(db.conn(), cursor).unwrap();
        all.extend(ids(&current));
        match current.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

#[test]
fn the_deleted_list_and_its_counts_read_only_their_small_index() {
    let mut db = Db::new();
    for i in 0..200 {
        db.add(
            &format!("ул. Лесная, д. {i}"),
            PHONE,
            OrderStatus::ALL[i % 7],
        );
    }
    for id in [3, 50, 120] {
        db.delete(id);
    }
    // Reading the partial index whole is reading the deleted orders only.
    let reads_only_deleted = |plan: &[String], index: &str| {
        let text = plan.join("\n");
        let on_orders: Vec<&String> = plan.iter().filter(|s| s.contains(" orders")).collect();
        assert!(!on_orders.is_empty(), "{text}");
        assert!(
            on_orders
                .iter()
                .all(|step| step.split_whitespace().any(|word| word == index)),
            "{text}"
        );
        assert!(!text.contains("TEMP B-TREE"), "sorts: {text}");
    };
    for cursor in [None, Some(Cursor::Before(100)), Some(Cursor::After(100))] {
        reads_only_deleted(
            &search::deleted_plan(db.conn(), cursor).unwrap(),
            "idx_orders_deleted",
        );
    }
    reads_only_deleted(
        &search::deleted_count_plan(db.conn()).unwrap(),
        "idx_orders_deleted_status",
    );
}

// ----- Due work of the periodic jobs (bot::jobs) -----

mod due_work {
    use super::*;
    use chrono::{NaiveDateTime, TimeDelta};
    use repair_bot::bot::config::ReminderPolicy;
    use repair_bot::store::orders as store;

    const POLICY: ReminderPolicy = ReminderPolicy {
        first: TimeDelta::minutes(15),
        max: 4,
    };

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-12-02 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
    }

    /// An order in `status` since `changed` ago, with `sent` reminders, the last `last` ago.
    fn order(
        db: &mut Db,
        status: OrderStatus,
        changed: TimeDelta,
        sent: i32,
        last: Option<TimeDelta>,
    ) -> i64 {
        let id = db.add("ул. Лесная, д. 1", PHONE, status);
        diesel::update(orders::table.find(id))
            .set((
                orders::status_changed_at.eq(now() - changed),
                orders::reminders_sent.eq(sent),
                orders::last_reminded_at.eq(last.map(|ago| now() - ago)),
            ))
            .execute(db.conn())
            .unwrap();
        id
    }

    #[test]
    fn reminders_are_due_a_doubling_gap_after_the_last_one_and_stop_at_the_maximum() {
        let mut db = Db::new();
        let (min, days) = (TimeDelta::minutes, TimeDelta::days);
        let assigned = OrderStatus::Assigned;
        let due = [
            order(&mut db, assigned, min(15), 0, None),
            order(&mut db, assigned, days(30), 0, None),
            order(&mut db, assigned, days(30), 1, Some(min(15))),
            order(&mut db, assigned, days(30), 2, Some(min(30))),
            order(&mut db, assigned, days(30), 3, Some(min(60))),
        ];
        let _not_yet = [
            order(&mut db, assigned, min(14), 0, None),
            order(&mut db, assigned, days(30), 1, Some(min(14))),
            order(&mut db, assigned, days(30), 2, Some(min(29))),
            order(&mut db, assigned, days(30), 3, Some(min(59))),
        ];
        let _never = [
            order(&mut db, assigned, days(30), 4, Some(days(29))),
            order(&mut db, OrderStatus::Accepted, days(30), 0, None),
            order(&mut db, OrderStatus::New, days(30), 0, None),
        ];
        let mut found: Vec<i64> = store::reminders_due(db.conn(), &POLICY.cutoffs(now()))
            .unwrap()
            .iter()
            .map(|o| o.id.0)
            .collect();
        found.sort();
        assert_eq!(found, due);
    }

    #[test]
    fn due_work_is_found_through_indexes_without_scanning_orders() {
        let mut db = Db::new();
        for i in 0..200 {
            let status = OrderStatus::ALL[i % 7];
            order(&mut db, status, TimeDelta::days(3), (i % 5) as i32, None);
        }
        let plan = store::reminders_due_plan(db.conn(), &POLICY.cutoffs(now())).unwrap();
        assert_uses(
            &plan,
            "USING INDEX idx_orders_reminder_clock (status=? AND reminders_sent=? AND <expr><?)",
            "reminders due",
        );
        for status in [OrderStatus::New, OrderStatus::Assigned] {
            let plan =
                store::sla_breaches_plan(db.conn(), status, now() - TimeDelta::hours(2)).unwrap();
            assert_uses(
                &plan,
                "INDEX idx_orders_status (status=? AND status_changed_at<?)",
                "SLA breaches",
            );
            let text = plan.join("\n");
            assert!(
                !text.contains("SCAN sla_alerts"),
                "reads every alert\n{text}"
            );
        }
    }
}
