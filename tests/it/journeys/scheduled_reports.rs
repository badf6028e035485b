//! The reports that go out on their own (`bot::scheduled_reports`), end to end through the
//! fake Bot API with the manual clock: the monthly report to admins with its workbook, the
//! masters' statements, the period counted by closing moment in the company's time zone,
//! once per occurrence, caught up after downtime, and a file that cannot be built failing
//! alone.

use std::io::{Cursor, Read};

use calamine::{Data, Range, Reader, Xlsx};
use chrono::NaiveTime;
use repair_bot::bot::config::ReportSchedule;
use repair_bot::reports::xlsx;

use super::*;

fn nine() -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(9, 0, 0)
}

fn ten() -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(10, 0, 0)
}

/// A UTC moment.
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

impl World {
    /// A CLOSED order of `master` (a Telegram id) closed at `closed_at` (UTC), written straight
    /// into the database with its money (kopecks): total, materials, master, company, cash due.
    fn closed_order(&self, master: i64, closed_at: chrono::DateTime<Utc>, money: [i64; 5]) -> i64 {
        let master_id = self.master_id(master);
        let at = closed_at.naive_utc();
        let [total, materials, master_share, company_share, cash_due] = money;
        diesel::sql_query(
            "INSERT INTO orders (equipment_type, description, client_name, client_address, \
               client_phone, status, assigned_master_id, dispatcher_id, total_kopecks, \
               materials_kopecks, master_share_kopecks, company_share_kopecks, cash_due_kopecks, \
               payment, has_review, created_at, updated_at, status_changed_at) \
             VALUES ('Стиральные машины', 'Течёт', 'Анна', 'ул. Садовая, 7', '+79005550000', \
               'CLOSED', ?, ?, ?, ?, ?, ?, ?, 'CASH', 0, ?, ?, ?)",
        )
        .bind::<diesel::sql_types::BigInt, _>(master_id)
        .bind::<diesel::sql_types::BigInt, _>(DISPATCHER)
        .bind::<diesel::sql_types::BigInt, _>(total)
        .bind::<diesel::sql_types::BigInt, _>(materials)
        .bind::<diesel::sql_types::BigInt, _>(master_share)
        .bind::<diesel::sql_types::BigInt, _>(company_share)
        .bind::<diesel::sql_types::BigInt, _>(cash_due)
        .bind::<diesel::sql_types::Timestamp, _>(at)
        .bind::<diesel::sql_types::Timestamp, _>(at)
        .bind::<diesel::sql_types::Timestamp, _>(at)
        .execute(&mut self.conn())
        .unwrap();
        self.scalar("SELECT MAX(id) AS v FROM orders")
    }

    /// The workbooks the bot sent to `chat`, oldest first, with their captions.
    fn files_in(&self, chat: i64) -> Vec<(String, Vec<u8>, String)> {
        self.fake
            .messages(chat)
            .into_iter()
            .filter_map(|m| {
                let file = m.document?;
                Some((file.file_name.unwrap_or_default(), file.bytes, m.text))
            })
            .collect()
    }
}

fn sheet(bytes: &[u8], name: &str) -> Range<Data> {
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec())).expect("a readable .xlsx");
    book.worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
}

fn sheet_names(bytes: &[u8]) -> Vec<String> {
    Xlsx::new(Cursor::new(bytes.to_vec()))
        .expect("a readable .xlsx")
        .sheet_names()
}

/// The order numbers in column A under the header, up to the "Итого" line.
fn order_numbers(sheet: &Range<Data>) -> Vec<i64> {
    sheet
        .rows()
        .skip(xlsx::HEADER_ROW as usize + 1)
        .take_while(|row| !matches!(row.first(), Some(Data::String(s)) if s == xlsx::TOTAL_LABEL))
        .map(|row| match row.first() {
            Some(Data::Float(n)) => *n as i64,
            other => panic!("not an order number: {other:?}"),
        })
        .collect()
}

/// The "Итого" line of a sheet.
fn total_line(sheet: &Range<Data>) -> Vec<Data> {
    sheet
        .rows()
        .find(|row| matches!(row.first(), Some(Data::String(s)) if s == xlsx::TOTAL_LABEL))
        .expect("a line of totals")
        .to_vec()
}

fn column(header: &[&str], name: &str) -> usize {
    header.iter().position(|h| *h == name).expect("a column")
}

/// One file of the workbook's zip, as text.
fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_report_and_the_masters_statements_go_out_on_the_first_once_with_their_workbooks(
) {
    let world = World::start_with(|config| {
        config.reports = ReportSchedule {
            monthly: nine(),
            statements: ten(),
            ..ReportSchedule::default()
        };
    })
    .await;
    world.with_masters().await;
    // Closed through the bot on 23 November: 10 000 ₽, materials 2 000, a review.
    let by_bot = world.create_order().await;
    world.assign(by_bot, "Сергей").await;
    world
        .close_as(&world.master1, by_bot, "10 000", "2 000", "Да")
        .await;
    let bot_cash_due = world.scalar(&format!(
        "SELECT cash_due_kopecks AS v FROM orders WHERE id = {by_bot}"
    ));
    // Moscow is UTC+3: the first is 1 November 00:30 local, the second 30 November 23:30
    // local; the third is 1 December 00:30 local, December's.
    let first_local_minute = world.closed_order(
        MASTER_1,
        utc(2026, 10, 31, 21, 30),
        [500_000, 0, 250_000, 250_000, 250_000],
    );
    let last_local_minute = world.closed_order(
        MASTER_1,
        utc(2026, 11, 30, 20, 30),
        [300_000, 100_000, 100_000, 100_000, 200_000],
    );
    let december = world.closed_order(
        MASTER_1,
        utc(2026, 11, 30, 21, 30),
        [700_000, 0, 350_000, 350_000, 350_000],
    );
    let october = world.closed_order(
        MASTER_2,
        utc(2026, 10, 31, 20, 30),
        [900_000, 0, 450_000, 450_000, 450_000],
    );
    // Still open: the active export lists it.
    let open = world.create_order().await;
    world.assign(open, "Алексей").await;

    // 08:59 local on the 1st: not yet.
    world.clock.set(utc(2026, 12, 1, 5, 59));
    assert!(world.tick().await.reports_queued.is_empty());
    // 09:00 local: last month's report to the admin, once.
    world.clock.set(utc(2026, 12, 1, 6, 0));
    assert_eq!(
        world.tick().await.reports_queued,
        vec![("report_monthly", 1)]
    );
    assert!(world.tick().await.reports_queued.is_empty(), "once");
    world.clock.set(utc(2026, 12, 1, 6, 40));
    assert!(world.tick().await.reports_queued.is_empty(), "once");

    let text = world.wait_text(ADMIN, "<b>Отчёт за ноябрь 2026</b>").await;
    assert!(
        text.text.contains("закрыто 3") && text.text.contains("сумма 18 000 ₽"),
        "{}",
        text.text
    );
    let files = world.files_in(ADMIN);
    assert_eq!(files.len(), 1, "one workbook");
    let (name, bytes, caption) = &files[0];
    assert!(name.ends_with(".xlsx"), "{name}");
    assert!(caption.contains("Отчёт за ноябрь 2026"), "{caption}");
    assert_eq!(
        sheet_names(bytes),
        [
            "Мастера",
            "Техника",
            "Статусы",
            "Закрытые заявки",
            "Активные заявки"
        ]
    );

    // The closed orders of November by their local closing moment, oldest first.
    let closed = sheet(bytes, xlsx::CLOSED_SHEET);
    assert_eq!(
        closed.get_value((0, 0)),
        Some(&Data::String("Отчёт за ноябрь 2026".into()))
    );
    let subtitle = closed.get_value((1, 0)).unwrap().to_string();
    assert!(
        subtitle.contains("01.11.2026 — 30.11.2026") && subtitle.contains("Europe/Moscow"),
        "{subtitle}"
    );
    assert_eq!(
        order_numbers(&closed),
        [first_local_minute, by_bot, last_local_minute],
        "not {december} (December's) nor {october} (October's)"
    );
    let totals = total_line(&closed);
    let money = |name: &str| match &totals[column(&xlsx::CLOSED_HEADERS, name)] {
        Data::Float(v) => (v * 100.0).round() as i64,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(money("Сумма, ₽"), 1_000_000 + 500_000 + 300_000);
    assert_eq!(money("Материалы, ₽"), 200_000 + 100_000);
    assert_eq!(money("Сдать в кассу, ₽"), bot_cash_due + 250_000 + 200_000);

    // Per master, with what he owes in cash.
    let masters = sheet(bytes, xlsx::MASTERS_SHEET);
    let sergey = masters
        .rows()
        .find(|row| row[0].to_string().starts_with("Сергей"))
        .expect("Сергей's line");
    let cash_column = 1 + column(&xlsx::FIGURE_HEADERS, "Сдать в кассу, ₽");
    assert_eq!(
        sergey[cash_column],
        Data::Float((bot_cash_due + 450_000) as f64 / 100.0)
    );

    // Every open order, whenever it was made.
    let active = sheet(bytes, xlsx::ACTIVE_SHEET);
    assert_eq!(order_numbers(&active), [open]);

    // Printable: A4 landscape, one page wide, the header row on every page.
    let page = part(bytes, "xl/worksheets/sheet4.xml");
    assert!(
        page.contains(r#"paperSize="9""#) && page.contains(r#"orientation="landscape""#),
        "{page}"
    );
    assert!(
        page.contains(r#"fitToWidth="1""#) || page.contains("fitToPage"),
        "{page}"
    );
    let book = part(bytes, "xl/workbook.xml");
    assert!(book.contains("_xlnm.Print_Titles"), "{book}");

    // 10:00 local: each master with closings gets his own statement, privately.
    world.clock.set(utc(2026, 12, 1, 7, 0));
    assert_eq!(
        world.tick().await.reports_queued,
        vec![("master_statements", 1)]
    );
    let statement = world
        .wait_text(MASTER_1, "<b>Ваша выписка за ноябрь 2026</b>")
        .await;
    assert!(
        statement.text.contains("Закрыто заявок: 3"),
        "{}",
        statement.text
    );
    let files = world.files_in(MASTER_1);
    assert_eq!(files.len(), 1);
    let lines = sheet(&files[0].1, xlsx::CLOSED_SHEET);
    assert_eq!(
        order_numbers(&lines),
        [first_local_minute, by_bot, last_local_minute]
    );
    assert!(
        world.files_in(MASTER_2).is_empty(),
        "Алексей closed nothing in November"
    );
    assert!(
        world.files_in(DISPATCHER).is_empty(),
        "reports are the admins'"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_sends_only_what_falls_due_today_and_a_report_missed_while_down_comes_after()
{
    let world = World::start_with(|config| {
        config.reports = ReportSchedule {
            daily: nine(),
            weekly: nine(),
            monthly: nine(),
            ..ReportSchedule::default()
        };
    })
    .await;
    world.with_masters().await;
    // First start on Tuesday 1 December, 12:00 local: today's daily and monthly reports; not
    // the weekly, which fell due yesterday, before this bot ran.
    world.clock.set(utc(2026, 12, 1, 9, 0));
    assert_eq!(
        world.tick().await.reports_queued,
        vec![("report_daily", 1), ("report_monthly", 1)]
    );
    world.wait_text(ADMIN, "Отчёт за день 30.11.2026").await;
    world.wait_text(ADMIN, "<b>Отчёт за ноябрь 2026</b>").await;

    // Monday 7 December, 10:00 local: the day's and the week's.
    world.clock.set(utc(2026, 12, 7, 7, 0));
    assert_eq!(
        world.tick().await.reports_queued,
        vec![("report_daily", 1), ("report_weekly", 1)]
    );
    world
        .wait_text(ADMIN, "Отчёт за неделю 30.11.2026 — 06.12.2026")
        .await;

    // Down from before Monday 28 December until Sunday 3 January, 12:00 local: the missed
    // week (21-27 December) and month (December) come now, with the day before today.
    world.clock.set(utc(2027, 1, 3, 9, 0));
    assert_eq!(
        world.tick().await.reports_queued,
        vec![
            ("report_daily", 1),
            ("report_weekly", 1),
            ("report_monthly", 1)
        ]
    );
    world.wait_text(ADMIN, "Отчёт за день 02.01.2027").await;
    world
        .wait_text(ADMIN, "Отчёт за неделю 21.12.2026 — 27.12.2026")
        .await;
    world.wait_text(ADMIN, "Отчёт за декабрь 2026").await;
    assert!(world.tick().await.reports_queued.is_empty(), "once");
    // (The outbox forgets delivered rows after two weeks: what Telegram got is the record.)
    assert_eq!(world.files_in(ADMIN).len(), 7, "one workbook per report");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_built_fails_with_its_reason_and_holds_nothing_back() {
    let world = World::start().await;
    world.say(&world.admin, "/start").await;
    let now = world.app.now();
    let owed = [
        repair_bot::store::outbox::NewMessage::to(ADMIN, "📎 файл")
            .with_document(r#"{"kind":"spreadsheet_of_the_future"}"#.into()),
        repair_bot::store::outbox::NewMessage::to(ADMIN, "после файла"),
    ];
    repair_bot::store::outbox::enqueue(&mut world.conn(), &owed, now).unwrap();
    world.app.outbox.wake();
    world.wait_text(ADMIN, "после файла").await;
    world.delivered().await;
    let failure = world
        .text("SELECT failure AS v FROM outbox WHERE document IS NOT NULL")
        .unwrap_or_default();
    assert!(failure.contains("unreadable file description"), "{failure}");
    assert!(world.files_in(ADMIN).is_empty());
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_bigger_than_telegram_takes_is_replaced_by_its_caption_and_why() {
    let world = World::start_with(|config| {
        config.reports = ReportSchedule {
            daily: nine(),
            ..ReportSchedule::default()
        };
        // Any real workbook is bigger than this.
        config.send_limits.max_file_bytes = 1_000;
    })
    .await;
    world.with_masters().await;
    world.clock.set(utc(2026, 11, 24, 6, 0));
    assert_eq!(world.tick().await.reports_queued, vec![("report_daily", 1)]);
    let told = world.wait_text(ADMIN, "Таблица получилась").await;
    assert!(
        told.text.contains("Отчёт за день 23.11.2026") && told.text.contains("до 1 МБ"),
        "{}",
        told.text
    );
    assert!(
        world.files_in(ADMIN).is_empty(),
        "no file Telegram would refuse"
    );
    assert_eq!(
        world.scalar(
            "SELECT COUNT(*) AS v FROM outbox WHERE sent_at IS NOT NULL AND document IS NOT NULL"
        ),
        1,
        "the row is done, not retried"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_queued_before_a_kill_is_built_and_sent_once_after_the_restart() {
    let world = World::start_with(|config| {
        config.reports = ReportSchedule {
            monthly: nine(),
            ..ReportSchedule::default()
        };
    })
    .await;
    world.with_masters().await;
    // Telegram unreachable for files: the workbook stays owed when the bot is killed.
    world.fake.fail_next(
        "sendDocument",
        1_000,
        repair_bot::fake_telegram::FakeError::Network,
    );
    world.clock.set(utc(2026, 12, 1, 6, 0));
    assert_eq!(
        jobs::tick(&world.app).await.unwrap().reports_queued,
        vec![("report_monthly", 1)]
    );
    world.wait_text(ADMIN, "<b>Отчёт за ноябрь 2026</b>").await;
    let owed = "SELECT COUNT(*) AS v FROM outbox WHERE document IS NOT NULL AND sent_at IS NULL";
    assert_eq!(world.scalar(owed), 1);
    let world = world.crash_and_restart().await;
    world.fake.clear_failures("sendDocument");
    world.app.outbox.wake();
    world.delivered().await;
    let files = world.files_in(ADMIN);
    assert_eq!(files.len(), 1, "built and sent once after the restart");
    assert_eq!(
        sheet_names(&files[0].1)[..3],
        ["Мастера", "Техника", "Статусы"]
    );
    // The run was recorded with the queueing: a bot with the same schedule does not queue it
    // again (the crash restart above came up with the tests' default settings).
    let world = world
        .restart_configured(|config| config.reports.monthly = nine())
        .await;
    assert!(jobs::tick(&world.app)
        .await
        .unwrap()
        .reports_queued
        .is_empty());
    assert_eq!(world.files_in(ADMIN).len(), 1);
    world.stop().await;
}
