//! Visits and known clients, end to end: the arrival read as a moment at intake and when
//! corrected, moving a visit with a reason, the reminder before it (once, after quiet hours),
//! reminders with the offer's buttons, the dispatchers' alert of a NEW order nobody
//! assigned, and a known phone at intake. The world starts on Monday 23.11.2026, 10:00 in
//! Moscow (07:00 UTC).

use super::*;
use repair_bot::bot::texts;
use repair_bot::domain::status::OrderStatus;

const OTHER_PHONE: &str = "8 900 765-43-21";

/// A moment in UTC.
fn utc(day: u32, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

impl World {
    /// The dispatcher takes an order down with this phone and arrival typed (notes skipped):
    /// the summary shown before the confirmation, and the order.
    async fn create_order_arriving(&self, phone: &str, arrival: &str) -> (SentMessage, i64) {
        self.press_menu(&self.dispatcher, texts::MENU_NEW_ORDER)
            .await;
        self.press(&self.dispatcher, "Холодильники").await;
        self.say(&self.dispatcher, "Не морозит морозильная камера")
            .await;
        self.say(&self.dispatcher, phone).await;
        self.say(&self.dispatcher, "Нина").await;
        self.say(&self.dispatcher, "ул. Лесная, д. 4, кв. 44").await;
        self.press(&self.dispatcher, texts::BUTTON_SKIP).await;
        let summary = self.say(&self.dispatcher, arrival).await;
        let created = self.press(&self.dispatcher, texts::BUTTON_CONFIRM).await;
        assert!(created.text.contains("создана"), "{}", created.text);
        self.settle().await;
        (summary, self.scalar("SELECT MAX(id) AS v FROM orders"))
    }

    fn column(&self, order: i64, column: &str) -> Option<String> {
        self.text(&format!(
            "SELECT {column} AS v FROM orders WHERE id = {order}"
        ))
    }

    fn reschedules(&self, order: i64) -> i64 {
        self.scalar(&format!(
            "SELECT reschedule_count AS v FROM orders WHERE id = {order}"
        ))
    }

    /// `who` moves the visit of `order` from its card: the echo of the new time, and the
    /// answer to the reason.
    async fn reschedule(
        &self,
        who: &FakeUser,
        order: i64,
        arrival: &str,
        reason: &str,
    ) -> (SentMessage, SentMessage) {
        self.open_card(who, order).await;
        self.press(who, texts::BUTTON_RESCHEDULE).await;
        let echo = self.say(who, arrival).await;
        let done = self.say(who, reason).await;
        self.settle().await;
        (echo, done)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_reads_the_arrival_as_a_moment_echoes_the_date_and_stores_both() {
    let world = World::start().await;
    world.with_masters().await;
    let (summary, order) = world
        .create_order_arriving("8 (900) 123-45-67", "завтра в 15:00")
        .await;
    assert!(
        summary.text.contains("Время прибытия: завтра в 15:00")
            && summary.text.contains("Визит: вт 24.11 в 15:00"),
        "{}",
        summary.text
    );
    assert_eq!(
        world.column(order, "scheduled_time").as_deref(),
        Some("завтра в 15:00"),
        "the words as typed"
    );
    assert_eq!(
        world.column(order, "visit_at").as_deref(),
        Some("2026-11-24 12:00:00"),
        "the moment, in UTC"
    );
    let card = world.open_card(&world.dispatcher, order).await;
    assert!(
        card.text.contains("Визит: вт 24.11 в 15:00"),
        "{}",
        card.text
    );

    // A range keeps its end in the echo; the visit starts at its beginning.
    let (summary, order) = world
        .create_order_arriving(OTHER_PHONE, "в пятницу с 14 до 16")
        .await;
    assert!(
        summary.text.contains("Визит: пт 27.11 с 14:00 до 16:00"),
        "{}",
        summary.text
    );
    assert_eq!(
        world.column(order, "visit_at").as_deref(),
        Some("2026-11-27 11:00:00")
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instruction_stays_text_and_a_corrected_arrival_is_read_again() {
    let world = World::start().await;
    world.with_masters().await;
    let (summary, order) = world
        .create_order_arriving("8 (900) 123-45-67", "позвонить за час")
        .await;
    assert!(
        summary.text.contains("Время прибытия: позвонить за час")
            && summary.text.contains("время не распознано"),
        "{}",
        summary.text
    );
    assert_eq!(
        world.column(order, "scheduled_time").as_deref(),
        Some("позвонить за час")
    );
    assert_eq!(world.column(order, "visit_at"), None, "no moment");

    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, texts::BUTTON_EDIT).await;
    world.press(&world.dispatcher, "Время прибытия").await;
    let done = world.say(&world.dispatcher, "в пятницу 10:00").await;
    assert!(
        done.text.contains("изменено") && done.text.contains("Визит: пт 27.11 в 10:00"),
        "{}",
        done.text
    );
    assert_eq!(
        world.column(order, "visit_at").as_deref(),
        Some("2026-11-27 07:00:00")
    );
    assert_eq!(
        world.reschedules(order),
        0,
        "a correction is not a reschedule"
    );
    let details = world
        .text(&format!(
            "SELECT details AS v FROM audit_log WHERE action = 'ORDER_EDITED' AND entity_id = {order}"
        ))
        .unwrap();
    assert!(
        details.contains("позвонить за час") && details.contains("в пятницу 10:00"),
        "{details}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_with_a_reason_tells_the_other_side_counts_and_shows_in_the_history() {
    let world = World::start().await;
    world.with_masters().await;
    let (_, order) = world
        .create_order_arriving("8 (900) 123-45-67", "завтра в 15:00")
        .await;
    world.assign(order, "Сергей").await;

    // Before accepting, the master may not move the visit: no button, and a forged press
    // is refused.
    let offer = world.wait_text(MASTER_1, "назначена заявка").await;
    assert!(
        !offer
            .buttons()
            .iter()
            .any(|b| b == texts::BUTTON_RESCHEDULE),
        "{:?}",
        offer.buttons()
    );
    let before = world.fake.revision();
    world.fake.press_callback(
        &world.master1,
        MASTER_1,
        offer.message_id,
        &format!("rs:{order}"),
    );
    let refused = world.news(MASTER_1, before).await;
    assert_eq!(refused.text, texts::RESCHEDULE_NOT_ALLOWED);
    world.press(&world.master1, "✅ Принять").await;
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");

    // The dispatcher moves it: the new time is echoed before the reason is asked.
    world.open_card(&world.dispatcher, order).await;
    let ask = world
        .press(&world.dispatcher, texts::BUTTON_RESCHEDULE)
        .await;
    assert!(ask.text.contains("«завтра в 15:00»"), "{}", ask.text);
    let echo = world.say(&world.dispatcher, "завтра с 17 до 19").await;
    assert!(
        echo.text.contains("Визит: вт 24.11 с 17:00 до 19:00") && echo.text.contains("причину"),
        "{}",
        echo.text
    );
    let done = world
        .say(&world.dispatcher, "Клиент задерживается на работе")
        .await;
    assert!(done.text.contains("перенесён"), "{}", done.text);
    world.settle().await;
    assert_eq!(world.reschedules(order), 1);
    assert_eq!(
        world.column(order, "visit_at").as_deref(),
        Some("2026-11-24 14:00:00")
    );
    assert_eq!(
        world.column(order, "scheduled_time").as_deref(),
        Some("завтра с 17 до 19")
    );
    let audited = world
        .text(&format!(
            "SELECT details AS v FROM audit_log WHERE action = 'VISIT_RESCHEDULED' AND entity_id = {order}"
        ))
        .unwrap();
    assert!(
        audited.contains("Клиент задерживается на работе")
            && audited.contains("завтра в 15:00")
            && audited.contains("завтра с 17 до 19"),
        "{audited}"
    );
    let told = world
        .wait_text(MASTER_1, "Клиент задерживается на работе")
        .await;
    assert!(
        told.text.contains("перенесён")
            && told.text.contains("«завтра в 15:00» → «завтра с 17 до 19»")
            && told.text.contains("Ольга"),
        "{}",
        told.text
    );
    let card = world.open_card(&world.dispatcher, order).await;
    assert!(
        card.text.contains("Переносов визита: 1")
            && card.text.contains("Переносы визита")
            && card
                .text
                .contains("причина: Клиент задерживается на работе"),
        "{}",
        card.text
    );

    // The master moves his accepted visit; the dispatcher hears of it.
    let (echo, _) = world
        .reschedule(
            &world.master1,
            order,
            "послезавтра в 10:00",
            "Жду запчасть до среды",
        )
        .await;
    assert!(
        echo.text.contains("Визит: ср 25.11 в 10:00"),
        "{}",
        echo.text
    );
    assert_eq!(world.reschedules(order), 2);
    assert_eq!(
        world.column(order, "visit_at").as_deref(),
        Some("2026-11-25 07:00:00")
    );
    let told = world.wait_text(DISPATCHER, "Жду запчасть до среды").await;
    assert!(
        told.text.contains("перенесён") && told.text.contains("Сергей"),
        "{}",
        told.text
    );

    // Another master may not, whatever he sends.
    let before = world.fake.revision();
    world
        .fake
        .press_callback(&world.master2, MASTER_2, 1, &format!("rs:{order}"));
    let refused = world.news(MASTER_2, before).await;
    assert_eq!(refused.text, texts::NO_ACCESS);
    assert_eq!(world.reschedules(order), 2);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visit_reminder_comes_once_two_hours_before_again_after_a_reschedule_and_waits_out_quiet_hours(
) {
    let world = World::start().await;
    world.with_masters().await;
    // Tuesday 15:00 and Wednesday 09:00 in Moscow.
    let (_, soon) = world
        .create_order_arriving("8 (900) 123-45-67", "завтра в 15:00")
        .await;
    let (_, early) = world
        .create_order_arriving(OTHER_PHONE, "послезавтра в 9:00")
        .await;
    // Tonight at 23:00: due from 21:00, but no round runs before it has passed (the bot was
    // down): a visit already past is never reminded of.
    let (_, missed) = world
        .create_order_arriving("8 900 111-00-00", "сегодня в 23:00")
        .await;
    assert_eq!(
        world.column(missed, "visit_at").as_deref(),
        Some("2026-11-23 20:00:00")
    );
    world.assign(soon, "Сергей").await;
    world.press(&world.master1, "✅ Принять").await;
    world.assign(early, "Сергей").await;
    world.settle().await;
    let visit_reminded = |at: chrono::DateTime<Utc>| {
        world.clock.set(at);
        async { world.tick().await.visit_reminded }
    };

    assert!(
        visit_reminded(utc(24, 9, 59)).await.is_empty(),
        "12:59 in Moscow: not yet"
    );
    assert_eq!(visit_reminded(utc(24, 10, 0)).await, vec![OrderId(soon)]);
    let reminder = world.wait_text(MASTER_1, "Визит через 2 ч").await;
    assert!(
        reminder.text.contains(&format!("№{soon}")) && reminder.text.contains("вт 24.11 в 15:00"),
        "{}",
        reminder.text
    );
    assert!(
        reminder.buttons().iter().any(|b| b == "🏠 На месте"),
        "the card's buttons: {:?}",
        reminder.buttons()
    );
    assert!(
        visit_reminded(utc(24, 10, 30)).await.is_empty(),
        "once per visit"
    );

    // Moved to 18:00: reminded again, two hours before the new time.
    world
        .reschedule(
            &world.dispatcher,
            soon,
            "сегодня в 18:00",
            "Клиент задерживается",
        )
        .await;
    assert!(visit_reminded(utc(24, 12, 59)).await.is_empty());
    assert_eq!(visit_reminded(utc(24, 13, 0)).await, vec![OrderId(soon)]);
    assert!(visit_reminded(utc(24, 14, 0)).await.is_empty());

    // Wednesday 09:00 is due at 07:00, in quiet hours until 08:00: it waits for them.
    assert!(
        visit_reminded(utc(25, 4, 0)).await.is_empty(),
        "07:00 in Moscow is quiet"
    );
    assert_eq!(visit_reminded(utc(25, 5, 0)).await, vec![OrderId(early)]);
    let reminder = world.wait_text(MASTER_1, "Визит через 1 ч").await;
    assert!(
        reminder.text.contains(&format!("№{early}")),
        "{}",
        reminder.text
    );
    assert!(
        reminder.buttons().iter().any(|b| b == "✅ Принять"),
        "not accepted yet: {:?}",
        reminder.buttons()
    );
    assert!(visit_reminded(utc(25, 5, 30)).await.is_empty());
    assert!(visit_reminded(utc(26, 6, 0)).await.is_empty());
    let reminders = world
        .fake
        .messages(MASTER_1)
        .iter()
        .filter(|m| m.text.contains("Визит через"))
        .count();
    assert_eq!(reminders, 3);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_to_accept_carries_the_offers_buttons_and_they_work() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    let start = world.clock.now();
    world.clock.set(start + TimeDelta::minutes(15));
    assert_eq!(world.tick().await.reminded, vec![OrderId(order)]);
    let reminder = world.wait_text(MASTER_1, "Напоминание").await;
    let buttons = reminder.buttons();
    assert!(
        buttons.iter().any(|b| b == "✅ Принять") && buttons.iter().any(|b| b == "🚫 Отклонить"),
        "{buttons:?}"
    );
    let accept = reminder.callback_data("✅ Принять").unwrap().to_string();
    world
        .press_data(&world.master1, reminder.message_id, &accept)
        .await;
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");
    world.wait_text(DISPATCHER, "принял заявку").await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatchers_get_the_alert_of_a_new_order_nobody_assigned_and_of_its_visit() {
    let world = World::start().await;
    world.with_masters().await;
    let start = world.clock.now();
    let plain = world.create_order().await;
    let (_, visiting) = world
        .create_order_arriving(OTHER_PHONE, "сегодня в 15:00")
        .await;

    // 12:00: both NEW for two hours; the dispatcher gets the alerts, as the admin does.
    world.clock.set(start + TimeDelta::hours(2));
    let report = world.tick().await;
    assert_eq!(report.sla_alerted.len(), 2, "{:?}", report.sla_alerted);
    for chat in [DISPATCHER, ADMIN] {
        for order in [plain, visiting] {
            let alert = world
                .wait_text(chat, &format!("№{order}</b> дольше 2 ч"))
                .await;
            assert!(alert.text.contains("Новая"), "{}", alert.text);
        }
    }
    // 13:00: the visit at 15:00 has nobody to go: the staff are told.
    world.clock.set(start + TimeDelta::hours(3));
    assert_eq!(world.tick().await.visit_reminded, vec![OrderId(visiting)]);
    let told = world.wait_text(DISPATCHER, "мастер не назначен").await;
    assert!(told.text.contains(&format!("№{visiting}")), "{}", told.text);

    // The alerts of the other statuses stay the admins'.
    world.assign(plain, "Сергей").await;
    world.clock.set(start + TimeDelta::hours(8));
    let report = world.tick().await;
    assert!(
        report
            .sla_alerted
            .pairs()
            .contains(&(OrderId(plain), OrderStatus::Assigned)),
        "{:?}",
        report.sla_alerted
    );
    world.wait_text(ADMIN, "дольше 4 ч").await;
    assert!(
        !world
            .fake
            .messages(DISPATCHER)
            .iter()
            .any(|m| m.text.contains("дольше 4 ч")),
        "the ASSIGNED alert is not the dispatcher's"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_phone_offers_the_last_name_and_address_and_lists_past_orders() {
    let world = World::start().await;
    world.with_masters().await;
    let warranty = world.create_order().await;
    let older = world.create_order().await;
    let latest = world.create_order().await;
    let deleted = world.create_order().await;
    world.add_orders(&["ул. Другая, д. 1".to_string()]);
    let stranger = world.scalar("SELECT MAX(id) AS v FROM orders");
    {
        let mut conn = world.conn();
        for sql in [
            // Closed 10 days ago: within the 90 days of warranty.
            format!("UPDATE orders SET status = 'CLOSED', status_changed_at = '2026-11-13 07:00:00' WHERE id = {warranty}"),
            // Closed 200 days ago: long out of it.
            format!("UPDATE orders SET status = 'CLOSED', status_changed_at = '2026-05-07 07:00:00' WHERE id = {older}"),
            format!("UPDATE orders SET client_name = 'Нина Петровна', client_address = 'ул. Садовая, д. 1' WHERE id = {latest}"),
            format!("UPDATE orders SET client_name = 'Удалённая', deleted_at = '2026-11-23 07:00:00' WHERE id = {deleted}"),
        ] {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
    }

    world
        .press_menu(&world.dispatcher, texts::MENU_NEW_ORDER)
        .await;
    world.press(&world.dispatcher, "Холодильники").await;
    world
        .say(&world.dispatcher, "Снова не морозит морозильная камера")
        .await;
    let offer = world.say(&world.dispatcher, "+7 900 123 45 67").await;
    let text = &offer.text;
    assert!(
        text.contains("уже обращался") && text.contains("заявок — <b>3</b>"),
        "the deleted order counts nowhere: {text}"
    );
    for order in [warranty, older, latest] {
        assert!(text.contains(&format!("№{order} от 23.11.2026")), "{text}");
    }
    assert!(!text.contains(&format!("№{deleted} ")), "{text}");
    assert!(!text.contains(&format!("№{stranger} ")), "{text}");
    assert_eq!(text.matches("гарантия до").count(), 1, "{text}");
    assert!(
        text.contains("гарантия до 11.02.2027")
            && text.contains(&format!("Возможен гарантийный случай: заявка №{warranty}")),
        "{text}"
    );
    assert!(text.contains(texts::ASK_CLIENT_NAME), "{text}");
    let label = "✅ Нина Петровна, ул. Садовая, д. 1";
    assert!(
        offer.buttons().iter().any(|b| b == label),
        "{:?}",
        offer.buttons()
    );

    // A forged offer of another client's order takes nothing.
    let before = world.fake.revision();
    world.fake.press_callback(
        &world.dispatcher,
        DISPATCHER,
        offer.message_id,
        &format!("kc:{stranger}"),
    );
    let spent = world.news(DISPATCHER, before).await;
    assert_eq!(spent.text, texts::STEP_OVER);

    let notes = world.press(&world.dispatcher, label).await;
    assert!(
        notes.text.contains("Клиент: Нина Петровна") && notes.text.contains("Шаг 6"),
        "name and address skipped: {}",
        notes.text
    );
    world.press(&world.dispatcher, texts::BUTTON_SKIP).await;
    world.press(&world.dispatcher, texts::BUTTON_SKIP).await;
    world.press(&world.dispatcher, texts::BUTTON_CONFIRM).await;
    world.settle().await;
    let created = world.scalar("SELECT MAX(id) AS v FROM orders");
    assert_eq!(
        world.column(created, "client_name").as_deref(),
        Some("Нина Петровна")
    );
    assert_eq!(
        world.column(created, "client_address").as_deref(),
        Some("ул. Садовая, д. 1")
    );
    assert_eq!(
        world.column(created, "client_phone").as_deref(),
        Some(CLIENT_PHONE)
    );

    // A phone never seen gets the plain question.
    world
        .press_menu(&world.dispatcher, texts::MENU_NEW_ORDER)
        .await;
    world.press(&world.dispatcher, "Холодильники").await;
    world
        .say(&world.dispatcher, "Не морозит морозильная камера")
        .await;
    let fresh = world.say(&world.dispatcher, "8 900 555-00-11").await;
    assert_eq!(fresh.text, texts::ASK_CLIENT_NAME);
    world.stop().await;
}
