//! Staff tools and administration, end to end through the fake Bot API with the manual
//! clock: `/order N` in a work group, «Клиент ждёт», soft delete and restore, the history of
//! field changes, the journal, the users, the masters for dispatchers, the settings, firing
//! a master, and the per-person rate limit.

use super::*;
use repair_bot::bot::rate_limit::RateLimit;
use repair_bot::bot::texts;

impl World {
    /// `user` writes `text` in `chat` (a group); the bot's first answer there.
    async fn say_in(&self, chat: i64, user: &FakeUser, text: &str) -> SentMessage {
        let before = self.fake.revision();
        self.fake.send_text(user, chat, text);
        self.news(chat, before).await
    }

    /// `user` presses the newest button labelled `label` in `chat`; the bot's answer there.
    async fn press_in(&self, chat: i64, user: &FakeUser, label: &str) -> SentMessage {
        self.settle().await;
        let before = self.fake.revision();
        self.fake.press_button(user, chat, label).unwrap();
        self.news(chat, before).await
    }

    /// Every text the bot has in the chat now, oldest first.
    fn texts_in(&self, chat: i64) -> Vec<String> {
        self.fake
            .messages(chat)
            .into_iter()
            .filter(|m| !m.deleted)
            .map(|m| m.text)
            .collect()
    }

    fn audited(&self, action: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) AS v FROM audit_log WHERE action = '{action}'"
        ))
    }

    /// The ids of the orders on the newest page of a status list, as the dispatcher sees it.
    async fn listed(&self, user: &FakeUser, status: &str) -> Vec<i64> {
        self.press_menu(user, "📋 Заявки").await;
        let statuses = self.fake.last_message(user.id).unwrap();
        let label = statuses
            .buttons()
            .into_iter()
            .find(|b| b.starts_with(status))
            .unwrap_or_else(|| panic!("no {status} in {:?}", statuses.buttons()));
        let page = self.press(user, &label).await;
        search_result_ids(&page)
    }

    /// The dispatcher's search, as the ids of its first page.
    async fn found(&self, text: &str) -> Vec<i64> {
        self.press_menu(&self.dispatcher, "🔎 Поиск").await;
        let page = self.say(&self.dispatcher, text).await;
        search_result_ids(&page)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_in_a_work_group_shows_the_masters_view_to_staff_and_the_master_and_refuses_others() {
    let world = World::start().await;
    world.with_masters().await;
    world.say(&world.stranger, "/start").await;
    world.bind_group(&[MASTER_1, MASTER_2, DISPATCHER, STRANGER]);
    let his = world.create_order().await;
    world.assign(his, "Сергей").await;
    let other = world.create_order().await;
    world.assign(other, "Алексей").await;
    world.delivered().await;

    // The group's master and a dispatcher get the card as the master sees it: no phone
    // before ONSITE, his buttons, no staff buttons.
    for asker in [&world.master1, &world.dispatcher] {
        let card = world.say_in(GROUP, asker, &format!("/order {his}")).await;
        assert!(
            card.text.starts_with(&format!("<b>Заявка №{his}</b>")),
            "{}",
            card.text
        );
        assert!(!card.text.contains(CLIENT_PHONE), "{}", card.text);
        assert!(card.text.contains("будет виден"), "{}", card.text);
        let buttons = card.buttons();
        assert!(buttons.contains(&"✅ Принять".to_string()), "{buttons:?}");
        assert!(
            !buttons.iter().any(|b| b.contains("Изменить")
                || b.contains(texts::BUTTON_CLIENT_WAITING)
                || b.contains(texts::BUTTON_DELETE)),
            "{buttons:?}"
        );
    }

    // Someone in the group without a role, and a master whose group it is not: refused.
    for outsider in [&world.stranger, &world.master2] {
        let refused = world
            .say_in(GROUP, outsider, &format!("/order {his}"))
            .await;
        assert_eq!(refused.text, texts::ORDER_COMMAND_NOT_HERE);
    }
    // Another master's order is not shown here, even to staff.
    let elsewhere = world
        .say_in(GROUP, &world.dispatcher, &format!("/order {other}"))
        .await;
    assert!(
        elsewhere.text.contains("нет среди заявок"),
        "{}",
        elsewhere.text
    );
    let usage = world.say_in(GROUP, &world.master1, "/order").await;
    assert_eq!(usage.text, texts::ORDER_COMMAND_USAGE);
    assert!(
        world
            .texts_in(GROUP)
            .iter()
            .all(|text| !text.contains(CLIENT_PHONE)),
        "no phone in the group before ONSITE"
    );

    // The master acts on the card he asked for; from ONSITE on it shows the phone.
    world.press_in(GROUP, &world.master1, "✅ Принять").await;
    world.press_in(GROUP, &world.master1, "🏠 На месте").await;
    assert_eq!(world.status(his), "ONSITE");
    let card = world
        .say_in(GROUP, &world.master1, &format!("/order №{his}"))
        .await;
    assert!(card.text.contains(CLIENT_PHONE), "{}", card.text);

    // Privately, /order shows each their own view: staff everything, a master only his own.
    let staff_card = world
        .say(&world.dispatcher, &format!("/order {other}"))
        .await;
    assert!(
        staff_card.text.contains(CLIENT_PHONE),
        "{}",
        staff_card.text
    );
    assert!(staff_card.text.contains("История"), "{}", staff_card.text);
    let not_his = world.say(&world.master1, &format!("/order {other}")).await;
    assert_eq!(not_his.text, texts::ORDER_NOT_FOUND);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_waiting_sends_the_phone_to_the_master_before_onsite_and_is_audited() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;

    // A NEW order has nobody to call the client: no button, and a forged press does nothing.
    let card = world.open_card(&world.dispatcher, order).await;
    assert!(
        !card
            .buttons()
            .contains(&texts::BUTTON_CLIENT_WAITING.to_string()),
        "{:?}",
        card.buttons()
    );
    world
        .press_data(
            &world.dispatcher,
            card.message_id,
            &format!("cw:{order}:NEW"),
        )
        .await;
    assert_eq!(world.audited("CLIENT_PHONE_REVEALED"), 0);

    world.assign(order, "Сергей").await;
    world.wait_text(MASTER_1, &format!("№{order}")).await;
    assert!(world
        .texts_in(MASTER_1)
        .iter()
        .all(|text| !text.contains(CLIENT_PHONE)));

    // The master cannot send himself the phone with a forged press.
    let offer = world.fake.last_message(MASTER_1).unwrap();
    let refused = world
        .press_data(
            &world.master1,
            offer.message_id,
            &format!("cw:{order}:ASSIGNED"),
        )
        .await;
    assert!(refused.text.contains("недоступно"), "{}", refused.text);
    assert_eq!(world.audited("CLIENT_PHONE_REVEALED"), 0);

    let card = world.open_card(&world.dispatcher, order).await;
    assert!(
        card.buttons()
            .contains(&texts::BUTTON_CLIENT_WAITING.to_string()),
        "{:?}",
        card.buttons()
    );
    let sent = world
        .press(&world.dispatcher, texts::BUTTON_CLIENT_WAITING)
        .await;
    assert!(
        sent.text.contains("отправлен мастеру Сергей"),
        "{}",
        sent.text
    );
    world.delivered().await;
    let told = world.wait_text(MASTER_1, "Клиент ждёт").await;
    assert!(told.text.contains(CLIENT_PHONE), "{}", told.text);
    assert_eq!(world.status(order), "ASSIGNED", "nothing else changes");

    // Who, when, which order, to which master.
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM audit_log WHERE action = 'CLIENT_PHONE_REVEALED' \
             AND user_id = {DISPATCHER} AND entity_type = 'order' AND entity_id = {order} \
             AND created_at = '2026-11-23 07:00:00'"
        )),
        1
    );
    let details = world
        .text("SELECT details AS v FROM audit_log WHERE action = 'CLIENT_PHONE_REVEALED'")
        .unwrap();
    assert!(details.contains("Сергей"), "{details}");
    let card = world.open_card(&world.dispatcher, order).await;
    assert!(
        card.text
            .contains("📞 телефон клиента отправлен мастеру Сергей (Ольга)"),
        "{}",
        card.text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_order_is_gone_from_lists_search_reports_and_alerts_until_an_admin_restores_it() {
    let world = World::start().await;
    world.with_masters().await;
    world.add_orders(&[
        "ул. Лесная, д. 1".to_string(),
        "ул. Садовая, д. 2".to_string(),
    ]);
    let (kept, doomed) = (1, 2);
    let doomed_phone = "+79001234001";
    assert_eq!(
        world.listed(&world.dispatcher, "🆕 Новая (2)").await,
        [2, 1]
    );

    // The dispatcher has no delete button, and a forged press is refused.
    let card = world.open_card(&world.dispatcher, doomed).await;
    assert!(!card.buttons().contains(&texts::BUTTON_DELETE.to_string()));
    let refused = world
        .press_data(
            &world.dispatcher,
            card.message_id,
            &format!("delok:{doomed}"),
        )
        .await;
    assert!(refused.text.contains("недоступно"), "{}", refused.text);

    // The admin deletes it after confirming; "Назад" first keeps it.
    world.open_card(&world.admin, doomed).await;
    let ask = world.press(&world.admin, texts::BUTTON_DELETE).await;
    assert!(ask.text.contains("Удалить заявку"), "{}", ask.text);
    let back = world.press(&world.admin, texts::BUTTON_BACK).await;
    assert!(back.text.starts_with(&format!("<b>Заявка №{doomed}</b>")));
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM orders WHERE deleted_at IS NOT NULL"),
        0
    );
    world.press(&world.admin, texts::BUTTON_DELETE).await;
    let done = world
        .press(&world.admin, texts::BUTTON_DELETE_CONFIRM)
        .await;
    assert!(done.text.contains("удалена"), "{}", done.text);
    world.settle().await;
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM orders WHERE id = {doomed} \
             AND deleted_at = '2026-11-23 07:00:00' AND deleted_by = {ADMIN}"
        )),
        1
    );
    assert_eq!(world.audited("ORDER_DELETED"), 1);

    // Gone from the lists and their counts, from every kind of search, from reports.
    assert_eq!(
        world.listed(&world.dispatcher, "🆕 Новая (1)").await,
        [kept]
    );
    assert!(world.found(doomed_phone).await.is_empty());
    assert!(world.found("Садовая").await.is_empty());
    assert!(world.found(&doomed.to_string()).await.is_empty());
    assert_eq!(world.found("ул.").await, [kept]);
    let day = |conn: &mut SqliteConnection| {
        let (from, to) = repair_bot::domain::period::utc_range(
            repair_bot::domain::period::Period::Today,
            morning(),
            chrono_tz::Europe::Moscow,
        );
        repair_bot::store::reports::report(conn, from, to).unwrap()
    };
    assert_eq!(day(&mut world.conn()).totals.orders, 1);
    // The dispatcher's old card of it says it is deleted, with nothing to press but back.
    let stale = world
        .press_data(&world.dispatcher, card.message_id, &format!("c:{doomed}"))
        .await;
    assert!(stale.text.contains("Заявка удалена"), "{}", stale.text);
    assert_eq!(stale.buttons(), [texts::BUTTON_BACK]);

    // SLA alerts: only the order that still counts.
    world.clock.advance(TimeDelta::hours(3));
    let report = world.tick().await;
    assert_eq!(
        report.sla_alerted.pairs(),
        [(OrderId(kept), repair_bot::domain::status::OrderStatus::New)]
    );

    // The admin finds it among the deleted and brings it back.
    world.press_menu(&world.admin, "📋 Заявки").await;
    let deleted = world.press(&world.admin, "🗑 Удалённые (1)").await;
    assert_eq!(search_result_ids(&deleted), [doomed]);
    let label = deleted.buttons()[0].clone();
    let card = world.press(&world.admin, &label).await;
    assert!(card.text.contains("Заявка удалена"), "{}", card.text);
    assert!(card.text.contains("Иван"), "who deleted it: {}", card.text);
    let restored = world.press(&world.admin, texts::BUTTON_UNDELETE).await;
    assert!(restored.text.contains("возвращена"), "{}", restored.text);
    world.settle().await;
    assert_eq!(world.audited("ORDER_UNDELETED"), 1);
    assert_eq!(world.scalar("SELECT COUNT(*) AS v FROM orders WHERE deleted_at IS NOT NULL OR deleted_by IS NOT NULL"), 0);
    assert_eq!(
        world.listed(&world.dispatcher, "🆕 Новая (2)").await,
        [doomed, kept]
    );
    assert_eq!(world.found(doomed_phone).await, [doomed]);
    assert_eq!(day(&mut world.conn()).totals.orders, 2);
    let card = world.open_card(&world.dispatcher, doomed).await;
    assert!(
        card.text.contains("🗑 удалена (Иван)")
            && card.text.contains("♻️ возвращена из удалённых (Иван)"),
        "the card's history keeps both: {}",
        card.text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_history_shows_each_field_change_with_its_old_and_new_value() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.clock.advance(TimeDelta::minutes(5));
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "✏️ Изменить").await;
    world.press(&world.dispatcher, "Адрес").await;
    world.say(&world.dispatcher, "ул. Садовая, д. 7").await;
    world.clock.advance(TimeDelta::minutes(5));
    world.assign(order, "Сергей").await;

    let card = world.open_card(&world.admin, order).await;
    let history = card
        .text
        .split("<b>История</b>")
        .nth(1)
        .unwrap()
        .to_string();
    let lines: Vec<&str> = history.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{history}");
    assert!(lines[0].contains("🆕 Новая"), "{history}");
    assert_eq!(
        lines[1],
        "23.11.2026 10:05 ✏️ Адрес: «ул. Лесная, д. 4, кв. 44» → «ул. Садовая, д. 7» (Ольга)"
    );
    assert!(
        lines[2].contains("👤 Назначена") && lines[2].contains("10:10"),
        "{history}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_read_the_journal_in_russian_a_page_at_a_time() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "✏️ Изменить").await;
    world.press(&world.dispatcher, "Примечания").await;
    world.say(&world.dispatcher, "Домофон не работает").await;

    let page = world.press_menu(&world.admin, texts::MENU_JOURNAL).await;
    assert!(
        page.text.starts_with(texts::JOURNAL_HEADER),
        "{}",
        page.text
    );
    let newest = page.text.lines().nth(2).unwrap();
    assert_eq!(
        newest,
        format!("<i>23.11.2026 10:00</i> Ольга: заявка №{order} — изменено поле «Примечания»: «—» → «Домофон не работает»")
    );
    assert!(
        page.text
            .contains(&format!("Ольга: заявка №{order} — создана")),
        "{}",
        page.text
    );
    assert_eq!(page.text.lines().count(), 2 + 10, "ten rows a page");
    assert_eq!(
        page.buttons(),
        [texts::BUTTON_OLDER, texts::BUTTON_REFRESH],
        "more rows are older"
    );

    // Older pages: the masters added, roles given, people registered.
    let mut seen = page.text.clone();
    let mut current = page;
    while current.buttons().contains(&texts::BUTTON_OLDER.to_string()) {
        current = world.press(&world.admin, texts::BUTTON_OLDER).await;
        assert!(current.buttons().contains(&texts::BUTTON_NEWER.to_string()));
        seen.push_str(&current.text);
    }
    for wanted in [
        "Иван: мастер Сергей — добавлен: Холодильники",
        "Иван: пользователь Сергей — выдана роль «мастер»",
        "Ольга: пользователь Ольга — впервые написал боту",
        "система: пользователь Ольга — выдана роль «диспетчер»",
    ] {
        assert!(seen.contains(wanted), "no {wanted:?} in\n{seen}");
    }
    let rows = world.scalar("SELECT COUNT(*) AS v FROM audit_log") as usize;
    let lines = seen.lines().filter(|l| l.starts_with("<i>")).count();
    assert_eq!(lines, rows, "every row once");

    // Not for dispatchers, whatever they press.
    let menu = world.fake.reply_keyboard(DISPATCHER).unwrap().concat();
    assert!(!menu.contains(&texts::MENU_JOURNAL.to_string()), "{menu:?}");
    let last = world.fake.last_message(DISPATCHER).unwrap();
    let refused = world
        .press_data(&world.dispatcher, last.message_id, "j:-")
        .await;
    assert!(refused.text.contains("недоступно"), "{}", refused.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_every_user_with_their_roles_and_the_settings_in_force() {
    let world = World::start().await;
    world.with_masters().await;
    world.say(&world.stranger, "/start").await;
    let users = world.press_menu(&world.admin, texts::MENU_USERS).await;
    let lines: Vec<&str> = users.text.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "• Пётр · <code>3001</code> · без роли",
            "• Алексей · <code>2002</code> · мастер",
            "• Сергей (@master_sergey) · <code>2001</code> · мастер",
            "• Ольга (@disp_olga) · <code>1002</code> · диспетчер",
            "• Иван (@admin_ivan) · <code>1001</code> · администратор",
        ],
        "{}",
        users.text
    );

    let settings = world.press_menu(&world.admin, texts::MENU_SETTINGS).await;
    for wanted in [
        "Europe/Moscow",
        "7 000 ₽",
        "от порога 50%, ниже порога 40%",
        "+10% чистой суммы",
        "первое через 15 мин",
        "новая 2 ч, назначена 4 ч, принята 8 ч, на месте 12 ч",
        "22:00–08:00",
        "Итоги дня: выключено",
        "хранится копий: 5",
        ".env",
    ] {
        assert!(
            settings.text.contains(wanted),
            "no {wanted:?} in {}",
            settings.text
        );
    }
    let refused = world.say(&world.dispatcher, texts::MENU_SETTINGS).await;
    assert_eq!(refused.text, texts::NOT_UNDERSTOOD);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatchers_see_the_masters_read_only() {
    let world = World::start().await;
    world.with_masters().await;
    let menu = world.fake.reply_keyboard(DISPATCHER).unwrap().concat();
    assert!(menu.contains(&"👷 Мастера".to_string()), "{menu:?}");
    assert!(
        !menu.contains(&"➕ Добавить мастера".to_string()),
        "{menu:?}"
    );
    world.press_menu(&world.dispatcher, "👷 Мастера").await;
    world.settle().await;
    let cards: Vec<SentMessage> = world
        .fake
        .messages(DISPATCHER)
        .into_iter()
        .filter(|m| m.text.contains("Специализация"))
        .collect();
    assert_eq!(cards.len(), 2);
    assert!(cards.iter().all(|card| card.buttons().is_empty()));

    let master_id = world.master_id(MASTER_1);
    for forged in [format!("ma:{master_id}:0"), format!("fireok:{master_id}")] {
        let refused = world
            .press_data(&world.dispatcher, cards[0].message_id, &forged)
            .await;
        assert!(refused.text.contains("недоступно"), "{}", refused.text);
    }
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM masters WHERE is_active AND fired_at IS NULL"),
        2
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_a_master_returns_his_open_orders_to_new_and_keeps_his_history() {
    let world = World::start().await;
    world.with_masters().await;
    let closed = world.create_order().await;
    world.assign(closed, "Сергей").await;
    world
        .close_as(&world.master1, closed, "10 000", "2000", "Нет")
        .await;
    let onsite = world.create_order().await;
    world.assign(onsite, "Сергей").await;
    world.wait_text(MASTER_1, &format!("№{onsite}")).await;
    world.press(&world.master1, "✅ Принять").await;
    world.press(&world.master1, "🏠 На месте").await;
    let assigned = world.create_order().await;
    world.assign(assigned, "Сергей").await;
    world.delivered().await;
    assert_eq!(world.status(onsite), "ONSITE");

    // The admin asks to fire him and confirms.
    let master_id = world.master_id(MASTER_1);
    world.press_menu(&world.admin, "👷 Мастера").await;
    world.settle().await;
    let card = world
        .fake
        .messages(ADMIN)
        .into_iter()
        .rfind(|m| m.text.contains("Сергей"))
        .unwrap();
    let ask = world
        .press_data(&world.admin, card.message_id, &format!("fire:{master_id}"))
        .await;
    assert!(
        ask.text.contains("Уволить мастера Сергей") && ask.text.contains("(2)"),
        "{}",
        ask.text
    );
    let fired = world.press(&world.admin, texts::BUTTON_FIRE_CONFIRM).await;
    assert!(
        fired.text.contains(&format!("№{onsite}, №{assigned}")),
        "{}",
        fired.text
    );
    world.delivered().await;

    // His open orders are NEW without a master, each with its history and audit rows.
    for order in [onsite, assigned] {
        assert_eq!(world.status(order), "NEW");
        assert_eq!(
            world.scalar(&format!(
                "SELECT COUNT(*) AS v FROM orders WHERE id = {order} AND assigned_master_id IS NULL"
            )),
            1
        );
        let note = world
            .text(&format!(
                "SELECT notes AS v FROM order_status_history WHERE order_id = {order} \
                 AND new_status = 'NEW' ORDER BY id DESC LIMIT 1"
            ))
            .unwrap();
        assert!(note.contains("Сергей"), "{note}");
    }
    assert_eq!(
        world
            .text(&format!(
                "SELECT old_status AS v FROM order_status_history WHERE order_id = {onsite} ORDER BY id DESC LIMIT 1"
            ))
            .unwrap(),
        "ONSITE"
    );
    assert_eq!(world.audited("MASTER_FIRED"), 1);
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM masters WHERE id = {master_id} AND fired_at IS NOT NULL AND NOT is_active"
        )),
        1
    );
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM user_roles WHERE telegram_id = {MASTER_1} AND role = 'MASTER'"
        )),
        0
    );
    // The closed order keeps its master and money.
    assert_eq!(world.status(closed), "CLOSED");
    assert_eq!(
        world.scalar(&format!(
            "SELECT assigned_master_id AS v FROM orders WHERE id = {closed}"
        )),
        master_id
    );

    // The dispatchers are told which orders need a master again.
    let told = world.wait_text(DISPATCHER, "уволен").await;
    assert!(
        told.text.contains(&format!("№{onsite}, №{assigned}")),
        "{}",
        told.text
    );

    // He can act no more: his old card's buttons change nothing, his menu is gone.
    let query = world
        .fake
        .press_button(&world.master1, MASTER_1, "✅ Принять")
        .unwrap();
    let answer = world.answer_to(&query).await;
    assert_eq!(answer.text.as_deref(), Some(texts::NO_ACCESS));
    assert_eq!(world.status(assigned), "NEW");
    let start = world.say(&world.master1, "/start").await;
    assert!(!start.text.contains("мастер"), "{}", start.text);
    let users = world.press_menu(&world.admin, texts::MENU_USERS).await;
    assert!(
        users
            .text
            .contains("• Сергей (@master_sergey) · <code>2001</code> · уволенный мастер"),
        "{}",
        users.text
    );

    // Nobody can give him an order: only the other master is offered.
    world.open_card(&world.dispatcher, assigned).await;
    world.press(&world.dispatcher, "👤 Назначить мастера").await;
    let offered = world.fake.last_message(DISPATCHER).unwrap().buttons();
    assert!(
        offered.iter().any(|b| b.starts_with("Алексей")),
        "{offered:?}"
    );
    assert!(
        !offered.iter().any(|b| b.starts_with("Сергей")),
        "{offered:?}"
    );

    // Cards, lists and reports still name him, as fired.
    let card = world.open_card(&world.dispatcher, closed).await;
    assert!(
        card.text.contains("Мастер: Сергей (уволен)"),
        "{}",
        card.text
    );
    world.press_menu(&world.admin, "👷 Мастера").await;
    world.settle().await;
    let his = world
        .fake
        .messages(ADMIN)
        .into_iter()
        .rfind(|m| m.text.contains("Сергей") && m.text.contains("Специализация"))
        .unwrap();
    assert!(his.text.contains("Статус: уволен"), "{}", his.text);
    assert!(his.buttons().is_empty(), "{:?}", his.buttons());
    let (from, to) = repair_bot::domain::period::utc_range(
        repair_bot::domain::period::Period::Today,
        morning(),
        chrono_tz::Europe::Moscow,
    );
    let report = repair_bot::store::reports::report(&mut world.conn(), from, to).unwrap();
    let line = report
        .masters
        .iter()
        .find(|line| line.master_id == master_id)
        .unwrap();
    assert_eq!(
        (line.name(), line.figures.closed),
        ("Сергей".to_string(), 1)
    );

    // Firing twice changes nothing.
    let again = world
        .press_data(&world.admin, his.message_id, &format!("fireok:{master_id}"))
        .await;
    assert!(again.text.contains("уже уволен"), "{}", again.text);
    assert_eq!(world.audited("MASTER_FIRED"), 1);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_person_gets_one_wait_and_everyone_else_in_the_batch_is_answered() {
    let world = World::start().await;
    for user in [&world.admin, &world.dispatcher, &world.master1] {
        world.say(user, "/start").await;
    }
    // Stopped, the bot cannot take updates one by one: all of these arrive in one batch.
    let people = [
        world.stranger.clone(),
        world.admin.clone(),
        world.dispatcher.clone(),
        world.master1.clone(),
    ];
    stop_serving(world.serving).await;
    let World {
        fake,
        clock,
        dir,
        settings,
        app,
        ..
    } = world;
    let [flooder, others @ ..] = people;
    for _ in 0..12 {
        fake.send_text(&flooder, STRANGER, "/help");
    }
    for user in &others {
        fake.send_text(user, user.id, "/help");
    }
    let mut config = (*app.config).clone();
    config.rate_limit = Some(RateLimit {
        updates: 5,
        window: chrono::TimeDelta::seconds(10),
    });
    let world = World::launch_configured(fake, clock, dir, settings, config).await;
    world.fake.wait_confirmed(WAIT).await;
    world.settle().await;

    let helps = |chat: i64| {
        world
            .texts_in(chat)
            .iter()
            .filter(|t| t.starts_with("<b>Что умеет бот</b>"))
            .count()
    };
    let waits = |chat: i64| {
        world
            .texts_in(chat)
            .iter()
            .filter(|t| t.as_str() == texts::SLOW_DOWN)
            .count()
    };
    assert_eq!((helps(STRANGER), waits(STRANGER)), (5, 1));
    for user in &others {
        assert_eq!((helps(user.id), waits(user.id)), (1, 0), "user {}", user.id);
    }
    assert_eq!(
        world.fake.pending_updates(),
        0,
        "the dropped ones are acknowledged too"
    );

    // Still too soon: dropped without a second "wait". A token later, answered again.
    world.say(&world.admin, "/help").await;
    world.fake.send_text(&world.stranger, STRANGER, "/help");
    world.settle().await;
    assert_eq!((helps(STRANGER), waits(STRANGER)), (5, 1));
    world.clock.advance(TimeDelta::seconds(2));
    world.say(&world.stranger, "/help").await;
    assert_eq!((helps(STRANGER), waits(STRANGER)), (6, 1));
    world.stop().await;
}
