//! Each role's journey end to end: the real handler tree and database against the local fake
//! Bot API (`repair_bot::fake_telegram`), with a manual clock so no test sleeps.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use diesel::prelude::*;
use repair_bot::bot::{self, jobs, notify, App, BotConfig};
use repair_bot::clock::{Clock, ManualClock};
use repair_bot::db::backup::BackupPolicy;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::pool;
use repair_bot::db::startup::{self, DatabaseSettings};
use repair_bot::domain::ids::{MasterId, OrderId, TelegramId};
use repair_bot::fake_telegram::{FakeTelegram, FakeUser, SentMessage};
use teloxide::prelude::*;

const ADMIN: i64 = 1001;
const DISPATCHER: i64 = 1002;
const MASTER_1: i64 = 2001;
const MASTER_2: i64 = 2002;
const STRANGER: i64 = 3001;
const GROUP: i64 = -100_777;
const WAIT: Duration = Duration::from_secs(10);
const CLIENT_PHONE: &str = "+79001234567";

struct World {
    fake: FakeTelegram,
    clock: ManualClock,
    dir: tempfile::TempDir,
    settings: DatabaseSettings,
    app: App,
    serving: bot::Serving,
    admin: FakeUser,
    dispatcher: FakeUser,
    master1: FakeUser,
    master2: FakeUser,
    stranger: FakeUser,
}

fn config(token: &str) -> BotConfig {
    crate::support::bot_config(token, &[ADMIN], &[DISPATCHER])
}

/// 10:00 Moscow time on a working day.
fn morning() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap()
}

impl World {
    async fn start() -> World {
        let _ = env_logger::builder().is_test(true).try_init();
        let dir = tempfile::tempdir().unwrap();
        let settings = DatabaseSettings {
            path: dir.path().join("bot.db"),
            backup: BackupPolicy {
                dir: dir.path().join("backup"),
                keep: 5,
                copy: None,
            },
        };
        let fake = FakeTelegram::start().await.unwrap();
        let clock = ManualClock::new(morning());
        Self::launch(fake, clock, dir, settings).await
    }

    async fn launch(
        fake: FakeTelegram,
        clock: ManualClock,
        dir: tempfile::TempDir,
        settings: DatabaseSettings,
    ) -> World {
        let config = config(fake.token());
        Self::launch_configured(fake, clock, dir, settings, config).await
    }

    async fn launch_configured(
        fake: FakeTelegram,
        clock: ManualClock,
        dir: tempfile::TempDir,
        settings: DatabaseSettings,
        config: BotConfig,
    ) -> World {
        drop(startup::prepare(&settings, &Catalog::embedded()).unwrap());
        let pool = pool::build(&settings.path).unwrap();
        let app = App::new(pool, config, Arc::new(clock.clone()), settings.clone());
        let bot = Bot::new(fake.token()).set_api_url(fake.url());
        let serving = bot::Serving::start(bot.clone(), app.clone());
        let admin = fake.add_user(ADMIN, "Иван", Some("admin_ivan"));
        let dispatcher_user = fake.add_user(DISPATCHER, "Ольга", Some("disp_olga"));
        let master1 = fake.add_user(MASTER_1, "Сергей", Some("master_sergey"));
        let master2 = fake.add_user(MASTER_2, "Алексей", None);
        let stranger = fake.add_user(STRANGER, "Пётр", None);
        World {
            fake,
            clock,
            dir,
            settings,
            app,
            serving,
            admin,
            dispatcher: dispatcher_user,
            master1,
            master2,
            stranger,
        }
    }

    /// Stops the dispatcher (as a restart would) and starts a new one on the same database.
    async fn restart(self) -> World {
        self.restart_configured(|_| {}).await
    }

    /// A restart after the operator changed the configuration.
    async fn restart_configured(self, change: impl FnOnce(&mut BotConfig)) -> World {
        stop_serving(self.serving).await;
        let World {
            fake,
            clock,
            dir,
            settings,
            app,
            ..
        } = self;
        let mut config = (*app.config).clone();
        change(&mut config);
        Self::launch_configured(fake, clock, dir, settings, config).await
    }

    /// Kills the bot mid-work (nothing finishes) and starts a new one on the same database.
    async fn crash_and_restart(self) -> World {
        self.serving.abandon();
        let World {
            fake,
            clock,
            dir,
            settings,
            ..
        } = self;
        Self::launch(fake, clock, dir, settings).await
    }

    /// Sends a text and returns the first bot message in that chat that is new after it.
    async fn say(&self, user: &FakeUser, text: &str) -> SentMessage {
        let before = self.fake.revision();
        self.fake.send_text(user, user.id, text);
        self.news(user.id, before).await
    }

    async fn press(&self, user: &FakeUser, label: &str) -> SentMessage {
        self.settle().await;
        let before = self.fake.revision();
        self.fake.press_button(user, user.id, label).unwrap();
        self.news(user.id, before).await
    }

    /// Presses a button carrying `data` on the message, whatever that message shows.
    async fn press_data(&self, user: &FakeUser, message_id: i32, data: &str) -> SentMessage {
        let before = self.fake.revision();
        self.fake.press_callback(user, user.id, message_id, data);
        self.news(user.id, before).await
    }

    async fn press_menu(&self, user: &FakeUser, label: &str) -> SentMessage {
        let before = self.fake.revision();
        self.fake.press_reply_button(user, user.id, label).unwrap();
        self.news(user.id, before).await
    }

    /// The bot's answer in the chat since `before`, once it has handled what it was sent: the
    /// first message it sent, or when it only edited, the last edit (a handler may edit a card
    /// and then ask a question: the question is the answer, whatever the timing).
    async fn news(&self, chat: i64, before: u64) -> SentMessage {
        self.fake.wait_confirmed(WAIT).await;
        let first = self
            .fake
            .wait_for(chat, |m| m.revision > before, WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let changed: Vec<SentMessage> = self
            .fake
            .messages(chat)
            .into_iter()
            .filter(|m| m.revision > before && !m.deleted)
            .collect();
        let sent = changed.iter().find(|m| m.edit_date.is_none());
        sent.or(changed.last()).cloned().unwrap_or(first)
    }

    /// The answer the bot gave to the press with this query id (it must have given one).
    async fn answer_to(&self, query: &str) -> repair_bot::fake_telegram::CallbackAnswer {
        self.settle().await;
        self.fake
            .callback_answers()
            .into_iter()
            .find(|a| a.query_id == query)
            .expect("every press is answered")
    }

    /// Waits until a message containing `needle` is in the chat.
    async fn wait_text(&self, chat: i64, needle: &str) -> SentMessage {
        let needle = needle.to_string();
        self.fake
            .wait_for(chat, move |m| m.text.contains(&needle), WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// One round of the periodic jobs, and what it queued delivered.
    async fn tick(&self) -> jobs::TickReport {
        let report = jobs::tick(&self.app).await.unwrap();
        self.delivered().await;
        report
    }

    /// Waits until the outbox has nothing waiting (everything queued was delivered or failed).
    async fn delivered(&self) {
        let deadline = std::time::Instant::now() + WAIT;
        while self.waiting_in_outbox() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the outbox still holds {} messages",
                self.waiting_in_outbox()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.settle().await;
    }

    fn waiting_in_outbox(&self) -> i64 {
        self.scalar("SELECT COUNT(*) AS v FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
    }

    /// Lets the bot drain its queue before the next step.
    async fn settle(&self) {
        self.fake
            .settle(Duration::from_millis(80), Duration::from_secs(4))
            .await;
    }

    /// A second connection beside the bot's, waiting (as the bot's own do) when the bot is
    /// writing instead of failing with "database is locked".
    fn conn(&self) -> SqliteConnection {
        use diesel::connection::SimpleConnection;
        let mut conn = SqliteConnection::establish(self.settings.path.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
        conn
    }

    fn scalar(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            v: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Row>(&mut self.conn())
            .unwrap()
            .v
    }

    fn text(&self, sql: &str) -> Option<String> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            v: Option<String>,
        }
        diesel::sql_query(sql)
            .get_result::<Row>(&mut self.conn())
            .unwrap()
            .v
    }

    fn status(&self, order_id: i64) -> String {
        self.text(&format!(
            "SELECT status AS v FROM orders WHERE id = {order_id}"
        ))
        .unwrap()
    }

    /// Registers everyone and makes MASTER_1 and MASTER_2 masters through the admin's dialogue.
    async fn with_masters(&self) {
        for user in [&self.admin, &self.dispatcher, &self.master1, &self.master2] {
            self.say(user, "/start").await;
        }
        for (user, phone, spec) in [
            (&self.master1, "8 900 111-22-33", "Холодильники"),
            (&self.master2, "+7 900 444 55 66", "Стиральные машины"),
        ] {
            self.press_menu(&self.admin, "➕ Добавить мастера").await;
            self.say(&self.admin, &user.id.to_string()).await;
            self.say(&self.admin, phone).await;
            let done = self.say(&self.admin, spec).await;
            assert!(done.text.contains("добавлен"), "{}", done.text);
        }
    }

    /// The dispatcher takes an order down through the whole intake dialogue.
    async fn create_order(&self) -> i64 {
        self.press_menu(&self.dispatcher, "📝 Новая заявка").await;
        self.press(&self.dispatcher, "Холодильники").await;
        self.say(&self.dispatcher, "Не морозит морозильная камера")
            .await;
        self.say(&self.dispatcher, "8 (900) 123-45-67").await;
        self.say(&self.dispatcher, "Нина").await;
        self.say(&self.dispatcher, "ул. Лесная, д. 4, кв. 44").await;
        self.press(&self.dispatcher, "Пропустить").await;
        self.press(&self.dispatcher, "Пропустить").await;
        let created = self.press(&self.dispatcher, "✅ Создать заявку").await;
        assert!(created.text.contains("создана"), "{}", created.text);
        self.settle().await;
        self.scalar("SELECT MAX(id) AS v FROM orders")
    }

    /// NEW orders straight in the database, one per address, oldest first (the intake has its
    /// own tests); client n has the phone +79001234nnn.
    fn add_orders(&self, addresses: &[String]) {
        let now = self.app.now();
        let mut conn = self.conn();
        for (n, address) in addresses.iter().enumerate() {
            let order = repair_bot::store::orders::NewOrder {
                equipment_type: "Холодильники".into(),
                description: "Не морозит морозильная камера".into(),
                client_name: format!("Клиент {n}"),
                client_address: address.clone(),
                client_phone: repair_bot::domain::Phone::parse(&format!("+79001234{n:03}"))
                    .unwrap(),
                notes: None,
                scheduled_time: None,
                visit_at: None,
            };
            repair_bot::store::orders::create(
                &mut conn,
                &order,
                TelegramId(DISPATCHER),
                now,
                |_, _| Ok(()),
            )
            .unwrap();
        }
    }

    /// A group "Бригада Сергея" with these members and the bot, bound as MASTER_1's work group.
    fn bind_group(&self, members: &[i64]) {
        let mut members = members.to_vec();
        members.push(self.fake.bot_user().id);
        self.fake.add_group(GROUP, "Бригада Сергея", &members);
        let master_id = self.master_id(MASTER_1);
        let now = self.app.now();
        repair_bot::store::masters::bind_work_chat(
            &mut self.conn(),
            TelegramId(ADMIN),
            MasterId(master_id),
            GROUP,
            now,
        )
        .unwrap();
    }

    fn master_id(&self, telegram_id: i64) -> i64 {
        self.scalar(&format!(
            "SELECT id AS v FROM masters WHERE telegram_id = {telegram_id}"
        ))
    }

    /// The dispatcher assigns the order from its card to the master with that name.
    async fn assign(&self, order_id: i64, master_name: &str) {
        self.open_card(&self.dispatcher, order_id).await;
        self.press(&self.dispatcher, "👤 Назначить мастера").await;
        let label = self.master_button(master_name).await;
        self.press(&self.dispatcher, &label).await;
        self.settle().await;
        assert_eq!(self.status(order_id), "ASSIGNED");
    }

    async fn master_button(&self, name: &str) -> String {
        let found = self
            .fake
            .wait_for(
                DISPATCHER,
                |m| m.buttons().iter().any(|b| b.starts_with(name)),
                WAIT,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        found
            .buttons()
            .into_iter()
            .find(|b| b.starts_with(name))
            .unwrap()
    }

    /// Shows the order's card in the user's chat (a refresh press on a fresh card).
    async fn open_card(&self, user: &FakeUser, order_id: i64) -> SentMessage {
        self.settle().await;
        let before = self.fake.revision();
        let last = self
            .fake
            .last_message(user.id)
            .map(|m| m.message_id)
            .unwrap_or(1);
        self.fake
            .press_callback(user, user.id, last, &format!("c:{order_id}"));
        let title = format!("<b>Заявка №{order_id}</b>");
        let card = self
            .fake
            .wait_for(
                user.id,
                move |m| m.revision > before && m.text.starts_with(&title),
                WAIT,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.settle().await;
        card
    }

    async fn stop(self) {
        stop_serving(self.serving).await;
        if tokio::time::timeout(TEARDOWN, self.fake.shutdown())
            .await
            .is_err()
        {
            eprintln!("the fake Bot API did not stop within {TEARDOWN:?}");
        }
    }
}

const TEARDOWN: Duration = Duration::from_secs(15);

mod staff_tools;

/// Stops polling as Ctrl-C would; bounded, so a teardown problem cannot hang the suite (the
/// real binary's graceful stop is tested in bot_start.rs).
async fn stop_serving(serving: bot::Serving) {
    match tokio::time::timeout(TEARDOWN, serving.stop()).await {
        Ok(result) => result.expect("polling ended with an error"),
        Err(_) => panic!("the bot did not stop within {TEARDOWN:?}"),
    }
}

fn history_rows(world: &World, order_id: i64) -> i64 {
    world.scalar(&format!(
        "SELECT COUNT(*) AS v FROM order_status_history WHERE order_id = {order_id}"
    ))
}

fn audit_rows(world: &World, order_id: i64) -> i64 {
    world.scalar(&format!("SELECT COUNT(*) AS v FROM audit_log WHERE entity_type = 'order' AND entity_id = {order_id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_sees_who_to_contact_and_their_id() {
    let world = World::start().await;
    let answer = world.say(&world.stranger, "/start").await;
    assert!(
        answer.text.contains(&STRANGER.to_string()),
        "{}",
        answer.text
    );
    let answer = world.say(&world.stranger, "что-нибудь").await;
    assert!(
        answer.text.contains(&STRANGER.to_string()),
        "{}",
        answer.text
    );
    // Registered on first contact, with no role.
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM users WHERE telegram_id = {STRANGER}"
        )),
        1
    );
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM user_roles WHERE telegram_id = {STRANGER}"
        )),
        0
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_cannot_tell_which_orders_exist_by_forging_presses() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    let start = world.say(&world.stranger, "/start").await;
    let before = world.fake.revision();
    let mut answers = Vec::new();
    for data in [
        format!("c:{order}"),
        "c:999999".to_string(),
        format!("o:{order}:acc:NEW"),
        "o:999999:acc:NEW".to_string(),
    ] {
        let query = world
            .fake
            .press_callback(&world.stranger, STRANGER, start.message_id, &data);
        answers.push(world.answer_to(&query).await.text);
    }
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "an existing order and a missing one are answered alike: {answers:?}"
    );
    assert!(
        world
            .fake
            .messages(STRANGER)
            .iter()
            .all(|m| m.revision <= before),
        "nothing sent or changed in the stranger's chat"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_added_master_is_told_and_gets_the_masters_menu_at_once() {
    let world = World::start().await;
    world.say(&world.master1, "/start").await;
    let no_access_menu = world.fake.reply_keyboard(MASTER_1);
    world.with_masters().await;
    world.wait_text(MASTER_1, "Вас добавили мастером").await;
    let keyboard = world.fake.reply_keyboard(MASTER_1).unwrap_or_default();
    assert_ne!(Some(keyboard.clone()), no_access_menu);
    assert!(
        keyboard
            .iter()
            .flatten()
            .any(|b| b == repair_bot::bot::texts::MENU_MY_ORDERS),
        "{keyboard:?}"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_adds_masters_and_binds_a_work_group() {
    let world = World::start().await;
    let welcome = world.say(&world.admin, "/start").await;
    assert!(welcome.text.contains("администратор"), "{}", welcome.text);
    let menu = world.fake.reply_keyboard(ADMIN).unwrap().concat();
    assert!(
        menu.contains(&"👷 Мастера".to_string()) && menu.contains(&"📝 Новая заявка".to_string()),
        "{menu:?}"
    );
    assert_eq!(
        world.fake.calls("setMyCommands").len(),
        1,
        "the commands are registered once per start"
    );

    // A user who never wrote to the bot cannot be made a master.
    world.press_menu(&world.admin, "➕ Добавить мастера").await;
    let refused = world.say(&world.admin, &MASTER_1.to_string()).await;
    assert!(refused.text.contains("ещё не писал"), "{}", refused.text);
    world.say(&world.admin, "/cancel").await;

    world.with_masters().await;
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM masters WHERE is_active AND is_approved"),
        2
    );
    assert_eq!(world.scalar(&format!("SELECT COUNT(*) AS v FROM user_roles WHERE telegram_id = {MASTER_1} AND role = 'MASTER'")), 1);
    assert_eq!(
        world
            .text(&format!(
                "SELECT phone AS v FROM masters WHERE telegram_id = {MASTER_1}"
            ))
            .unwrap(),
        "+79001112233"
    );
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM audit_log WHERE action = 'MASTER_ADDED'"),
        2
    );
    let master_menu = world.say(&world.master1, "/start").await;
    assert!(master_menu.text.contains("мастер"), "{}", master_menu.text);
    assert!(world
        .fake
        .reply_keyboard(MASTER_1)
        .unwrap()
        .concat()
        .contains(&"🔧 Мои заявки".to_string()));

    // Bind a group the bot is in; then a failure with a group it is not in.
    world.fake.add_group(
        GROUP,
        "Бригада Сергея",
        &[MASTER_1, world.fake.bot_user().id],
    );
    world.press_menu(&world.admin, "👷 Мастера").await;
    world.settle().await;
    let master_id = world.master_id(MASTER_1);
    let before = world.fake.revision();
    let cards: Vec<SentMessage> = world
        .fake
        .messages(ADMIN)
        .into_iter()
        .filter(|m| m.text.contains("Сергей"))
        .collect();
    let card = cards.last().unwrap();
    world.fake.press_callback(
        &world.admin,
        ADMIN,
        card.message_id,
        &format!("mg:{master_id}"),
    );
    let ask = world.news(ADMIN, before).await;
    assert!(ask.text.contains("рабочую группу"), "{}", ask.text);
    let before = world.fake.revision();
    world.fake.share_chat(&world.admin, master_id as i32, GROUP);
    let bound = world.news(ADMIN, before).await;
    assert!(bound.text.contains("привязана"), "{}", bound.text);
    assert_eq!(
        world.scalar(&format!(
            "SELECT work_chat_id AS v FROM masters WHERE id = {master_id}"
        )),
        GROUP
    );

    let before = world.fake.revision();
    world.fake.press_callback(
        &world.admin,
        ADMIN,
        card.message_id,
        &format!("mg:{master_id}"),
    );
    world.news(ADMIN, before).await;
    let before = world.fake.revision();
    world
        .fake
        .share_chat(&world.admin, master_id as i32, -100_999);
    let failed = world.news(ADMIN, before).await;
    assert!(
        failed.text.contains("Не удалось привязать"),
        "{}",
        failed.text
    );
    assert_eq!(
        world.scalar(&format!(
            "SELECT work_chat_id AS v FROM masters WHERE id = {master_id}"
        )),
        GROUP,
        "unchanged"
    );

    // Deactivate: no longer offered for assignment.
    let before = world.fake.revision();
    world.fake.press_callback(
        &world.admin,
        ADMIN,
        card.message_id,
        &format!("ma:{master_id}:0"),
    );
    world.news(ADMIN, before).await;
    assert_eq!(
        world.scalar(&format!(
            "SELECT is_active AS v FROM masters WHERE id = {master_id}"
        )),
        0
    );
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM audit_log WHERE action = 'MASTER_DEACTIVATED'"),
        1
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_intake_validates_every_step_and_can_cancel() {
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    world.say(&world.admin, "/start").await;

    // Cancel in the middle: nothing is saved.
    world.press_menu(&world.dispatcher, "📝 Новая заявка").await;
    world.press(&world.dispatcher, "Телевизоры").await;
    let cancelled = world.press(&world.dispatcher, "Отмена").await;
    assert!(cancelled.text.contains("отменено"), "{}", cancelled.text);
    assert_eq!(world.scalar("SELECT COUNT(*) AS v FROM orders"), 0);

    world.press_menu(&world.dispatcher, "📝 Новая заявка").await;
    world.press(&world.dispatcher, "Холодильники").await;
    let short = world.say(&world.dispatcher, "Сломан").await;
    assert!(short.text.contains("не меньше 10"), "{}", short.text);
    let long = world.say(&world.dispatcher, &"о".repeat(501)).await;
    assert!(long.text.contains("не больше 500"), "{}", long.text);
    let next = world
        .say(&world.dispatcher, "Не морозит морозильная камера")
        .await;
    assert!(next.text.contains("Шаг 3"), "{}", next.text);
    let bad_phone = world.say(&world.dispatcher, "12345").await;
    assert!(
        bad_phone.text.contains("+7 900 123-45-67"),
        "shows a valid example: {}",
        bad_phone.text
    );
    let name_step = world.say(&world.dispatcher, "8 (900) 123-45-67").await;
    assert!(name_step.text.contains("Шаг 4"), "{}", name_step.text);
    let bad_name = world.say(&world.dispatcher, "12").await;
    assert!(bad_name.text.contains("букву"), "{}", bad_name.text);
    world.say(&world.dispatcher, "Нина <b>Петровна</b>").await;
    world
        .say(&world.dispatcher, "ул. Лесная, д. 4, кв. 44")
        .await;
    world.press(&world.dispatcher, "Пропустить").await;
    let summary = world.say(&world.dispatcher, "завтра после 10:00").await;
    assert!(
        summary.text.contains(CLIENT_PHONE),
        "normalised phone: {}",
        summary.text
    );
    assert!(
        summary.text.contains("Нина &lt;b&gt;Петровна&lt;/b&gt;"),
        "escaped HTML: {}",
        summary.text
    );
    let created = world.press(&world.dispatcher, "✅ Создать заявку").await;
    assert!(created.text.contains("создана"), "{}", created.text);

    assert_eq!(world.scalar("SELECT COUNT(*) AS v FROM orders"), 1);
    assert_eq!(
        world.text("SELECT client_phone AS v FROM orders").unwrap(),
        CLIENT_PHONE
    );
    assert_eq!(world.text("SELECT notes AS v FROM orders"), None);
    assert_eq!(
        world
            .text("SELECT scheduled_time AS v FROM orders")
            .unwrap(),
        "завтра после 10:00"
    );
    assert_eq!(world.text("SELECT status AS v FROM orders").unwrap(), "NEW");
    assert_eq!(history_rows(&world, 1), 1);
    assert_eq!(audit_rows(&world, 1), 1);
    // The admin hears about the new order; the dispatcher who created it does not.
    world.wait_text(ADMIN, "Новая заявка <b>№1</b>").await;
    assert!(!world
        .fake
        .messages(DISPATCHER)
        .iter()
        .any(|m| m.text.contains("🆕 Новая заявка")));
    world.stop().await;
}

/// The routing's fallbacks: what no menu button or dialogue step takes is answered, never
/// dropped, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_no_step_or_button_takes_gets_an_explicit_answer() {
    use repair_bot::bot::texts;
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    let idle = world.say(&world.dispatcher, "привет").await;
    assert_eq!(idle.text, texts::NOT_UNDERSTOOD);
    // A menu button of a role the sender does not have is just text to them.
    let other_role = world.say(&world.dispatcher, texts::MENU_MY_ORDERS).await;
    assert_eq!(other_role.text, texts::NOT_UNDERSTOOD);

    world
        .press_menu(&world.dispatcher, texts::MENU_NEW_ORDER)
        .await;
    world.press(&world.dispatcher, "Холодильники").await;
    world
        .say(&world.dispatcher, "Не морозит морозильная камера")
        .await;
    world.say(&world.dispatcher, "8 (900) 123-45-67").await;
    world.say(&world.dispatcher, "Нина Петровна").await;
    world
        .say(&world.dispatcher, "ул. Лесная, д. 4, кв. 44")
        .await;
    world.press(&world.dispatcher, "Пропустить").await;
    world.press(&world.dispatcher, "Пропустить").await;
    // The summary takes its buttons only.
    let typed = world.say(&world.dispatcher, "да").await;
    assert_eq!(typed.text, texts::USE_BUTTONS);
    let cancelled = world.say(&world.dispatcher, "/cancel").await;
    assert_eq!(cancelled.text, texts::CANCELLED);
    // The summary's button after the dialogue ended.
    let spent = world.press(&world.dispatcher, "✅ Создать заявку").await;
    assert_eq!(spent.text, texts::STEP_OVER);
    assert_eq!(world.scalar("SELECT COUNT(*) AS v FROM orders"), 0);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_started_before_a_restart_continues_after_it() {
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    world.press_menu(&world.dispatcher, "📝 Новая заявка").await;
    world.press(&world.dispatcher, "Холодильники").await;
    world
        .say(&world.dispatcher, "Не морозит морозильная камера")
        .await;

    let world = world.restart().await;
    let next = world.say(&world.dispatcher, "8 (900) 123-45-67").await;
    assert!(
        next.text.contains("Шаг 4"),
        "the dialogue went on at the name step: {}",
        next.text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_dialogue_an_upgrade_cannot_read_starts_afresh_instead_of_locking_the_user_out() {
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    // A state written by a version whose dialogue states were different.
    diesel::sql_query(format!(
        "INSERT OR REPLACE INTO dialogues (chat_id, state, updated_at) \
         VALUES ({DISPATCHER}, '{{\"PhotoStep\":{{\"order_id\":3}}}}', '2026-11-20 10:00:00')"
    ))
    .execute(&mut world.conn())
    .unwrap();

    let menu = world.press_menu(&world.dispatcher, "📝 Новая заявка").await;
    assert!(menu.text.contains("Шаг 1"), "{}", menu.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_chat_keeps_no_dialogue_row() {
    let world = World::start().await;
    let rows = |chat: i64| {
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM dialogues WHERE chat_id = {chat}"
        ))
    };
    world.say(&world.dispatcher, "/start").await;
    world.say(&world.dispatcher, "/start").await;
    assert_eq!(rows(DISPATCHER), 0, "/start leaves an Idle row");
    world.press_menu(&world.dispatcher, "📝 Новая заявка").await;
    assert_eq!(rows(DISPATCHER), 1, "a dialogue in progress is kept");
    world.press(&world.dispatcher, "Отмена").await;
    assert_eq!(rows(DISPATCHER), 0, "a cancelled dialogue leaves no row");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_press_on_create_makes_one_order_and_says_the_button_is_spent() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    // The same «Создать заявку» button pressed again (a double tap).
    let again = world.press(&world.dispatcher, "✅ Создать заявку").await;
    assert!(!again.text.contains("Нечего отменять"), "{}", again.text);
    assert!(again.text.contains("уже не действует"), "{}", again.text);
    world.settle().await;
    assert_eq!(world.scalar("SELECT COUNT(*) AS v FROM orders"), order);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_accepts_goes_on_site_long_repair_and_closes_with_money() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;

    // The master gets the order privately (no group bound), without the client's phone.
    let offer = world.wait_text(MASTER_1, &format!("№{order}")).await;
    assert!(
        offer.buttons().contains(&"✅ Принять".to_string()),
        "{:?}",
        offer.buttons()
    );
    world.press(&world.master1, "✅ Принять").await;
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");
    world.wait_text(DISPATCHER, "принял заявку").await;
    assert!(
        world
            .fake
            .messages(MASTER_1)
            .iter()
            .all(|m| !m.text.contains(CLIENT_PHONE)),
        "no phone before ONSITE"
    );

    let onsite = world.press(&world.master1, "🏠 На месте").await;
    assert!(
        onsite.text.contains(CLIENT_PHONE),
        "phone from ONSITE on: {}",
        onsite.text
    );
    world.wait_text(DISPATCHER, "на месте по заявке").await;
    // A long repair: the parts it waits for, the expected date, a prepayment in cash.
    world.press(&world.master1, "⏳ Длительный ремонт").await;
    world.say(&world.master1, "Ждём компрессор").await;
    let past = world.say(&world.master1, "01.11.2026").await;
    assert!(past.text.contains("Не понял дату"), "{}", past.text);
    world.say(&world.master1, "20.12").await;
    let bad = world.say(&world.master1, "половина").await;
    assert!(bad.text.contains("Не понял сумму"), "{}", bad.text);
    let card = world.say(&world.master1, "1 500").await;
    assert!(
        card.text.contains("Ждём: Ждём компрессор")
            && card.text.contains("Ожидаем закончить: 20.12.2026")
            && card.text.contains("Предоплата: 1 500 ₽"),
        "{}",
        card.text
    );
    assert_eq!(world.status(order), "DR");
    let plan = world.text(&format!(
        "SELECT parts_note || '/' || expected_ready_on || '/' || prepayment_kopecks AS v FROM orders WHERE id = {order}"
    ));
    assert_eq!(plan.unwrap(), "Ждём компрессор/2026-12-20/150000");
    world
        .wait_text(DISPATCHER, "перевёл в длительный ремонт")
        .await;
    world.press(&world.master1, "🏠 Снова на месте").await;
    world.settle().await;
    assert_eq!(world.status(order), "ONSITE");

    let ask = world.press(&world.master1, "💰 Закрыть заявку").await;
    assert!(
        ask.text.contains("Предоплата 1 500 ₽ уже получена"),
        "{}",
        ask.text
    );
    let bad = world.say(&world.master1, "много").await;
    assert!(bad.text.contains("Не понял сумму"), "{}", bad.text);
    world.say(&world.master1, "10 000").await;
    let above = world.say(&world.master1, "12000").await;
    assert!(above.text.contains("больше суммы"), "{}", above.text);
    world.say(&world.master1, "2000 р").await;
    let closed = world.press(&world.master1, "Да").await;
    assert!(
        closed.text.contains("4 800") && closed.text.contains("3 200"),
        "{}",
        closed.text
    );
    // How the percent came about, the prepayment, and the cash he owes the company.
    assert!(
        closed.text.contains("60%: 50% по сумме, +10% за отзыв")
            && closed
                .text
                .contains("Предоплата: 1 500 ₽, при закрытии: 8 500 ₽")
            && closed.text.contains("Мастер сдаёт в кассу: 3 200 ₽"),
        "{}",
        closed.text
    );
    let told = world.wait_text(DISPATCHER, "закрыл заявку").await;
    assert!(
        told.text.contains("4 800") && told.text.contains("3 200"),
        "dispatcher gets the breakdown: {}",
        told.text
    );

    assert_eq!(world.status(order), "CLOSED");
    let money = world.text(&format!(
        "SELECT total_kopecks || '/' || materials_kopecks || '/' || master_share_kopecks || '/' || company_share_kopecks || '/' || has_review || '/' || payment || '/' || cash_due_kopecks AS v FROM orders WHERE id = {order}"
    ));
    assert_eq!(money.unwrap(), "1000000/200000/480000/320000/1/CASH/320000");
    // NEW, ASSIGNED, ACCEPTED, ONSITE, DR, ONSITE, CLOSED: one history and one audit row each.
    assert_eq!(history_rows(&world, order), 7);
    assert_eq!(audit_rows(&world, order), 7);

    // The admin's master card counts it, with the money.
    world.press_menu(&world.admin, "👷 Мастера").await;
    let card = world.wait_text(ADMIN, "Закрыто: 1").await;
    assert!(
        card.text.contains("Сергей") && card.text.contains("мастеру 4 800"),
        "{}",
        card.text
    );
    world.stop().await;
}

impl World {
    /// A world whose configuration the test changes first.
    async fn start_with(change: impl FnOnce(&mut BotConfig)) -> World {
        World::start().await.restart_configured(change).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_rules_out_of_city_senior_floor_and_cashless_show_in_the_breakdown() {
    let world = World::start_with(|config| {
        config.pay.ask_payment = true;
        config.pay.equipment_percent = vec![("Холодильники".into(), 30)];
    })
    .await;
    world.with_masters().await;

    // The admin makes Алексей (the last card of the list) a senior master.
    world.press_menu(&world.admin, "👷 Мастера").await;
    world.wait_text(ADMIN, "Алексей").await;
    world.press(&world.admin, "⭐ Сделать старшим").await;
    world.settle().await;
    let senior = world.fake.last_message(ADMIN).unwrap();
    assert!(senior.text.contains("⭐ Старший мастер"), "{}", senior.text);
    assert!(senior.buttons().contains(&"Снять «старший»".to_string()));

    // The dispatcher marks the order as a job outside the city.
    let order = world.create_order().await;
    world.open_card(&world.dispatcher, order).await;
    let card = world
        .press(&world.dispatcher, "🚗 Отметить: за городом")
        .await;
    assert!(card.text.contains("🚗 За городом"), "{}", card.text);
    assert!(card
        .buttons()
        .contains(&"🏙 Снять отметку «за городом»".to_string()));

    world.assign(order, "Алексей").await;
    world.wait_text(MASTER_2, &format!("№{order}")).await;
    world.press(&world.master2, "✅ Принять").await;
    world.press(&world.master2, "🏠 На месте").await;
    world.press(&world.master2, "💰 Закрыть заявку").await;
    world.say(&world.master2, "10 000").await;
    world.say(&world.master2, "2 000").await;
    let asked = world.press(&world.master2, "Нет").await;
    assert!(asked.text.contains("Как заплатил клиент"), "{}", asked.text);
    let closed = world.press(&world.master2, "💳 Переводом компании").await;
    // Fridges pay 30%, +10% out of the city = 40%, raised to the senior floor of 50%.
    assert!(
        closed.text.contains("Мастеру: 4 000 ₽ (50%: 30% по типу техники, +10% за выезд за город, старший мастер: не меньше 50%)")
            && closed.text.contains("Компании: 4 000 ₽")
            && closed.text.contains("Оплата: переводом компании")
            && closed.text.contains("Компания должна мастеру: 6 000 ₽"),
        "{}",
        closed.text
    );
    let money = world.text(&format!(
        "SELECT master_share_kopecks || '/' || company_share_kopecks || '/' || payment || '/' || cash_due_kopecks || '/' || out_of_city AS v FROM orders WHERE id = {order}"
    ));
    assert_eq!(money.unwrap(), "400000/400000/CASHLESS/-600000/1");
    for action in ["ORDER_OUT_OF_CITY", "MASTER_SENIORITY"] {
        assert_eq!(
            world.scalar(&format!(
                "SELECT COUNT(*) AS v FROM audit_log WHERE action = '{action}' AND user_id = {}",
                if action == "MASTER_SENIORITY" {
                    ADMIN
                } else {
                    DISPATCHER
                }
            )),
            1,
            "{action}"
        );
    }
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_corrects_a_closed_orders_money_and_the_history_keeps_both() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    world
        .close_as(&world.master1, order, "10 000", "2 000", "Нет")
        .await;

    // Dispatchers neither see the button nor can forge it.
    let card = world.open_card(&world.dispatcher, order).await;
    assert!(!card.buttons().contains(&"✏️ Исправить деньги".to_string()));
    let forged = world
        .press_data(&world.dispatcher, card.message_id, &format!("cm:{order}"))
        .await;
    assert!(forged.text.contains("недоступно"), "{}", forged.text);

    world.open_card(&world.admin, order).await;
    let ask = world.press(&world.admin, "✏️ Исправить деньги").await;
    assert!(ask.text.contains(&format!("№{order}")), "{}", ask.text);
    world.say(&world.admin, "12 000").await;
    world.say(&world.admin, "2 000").await;
    let fixed = world.press(&world.admin, "Нет").await;
    assert!(
        fixed.text.contains("исправлены")
            && fixed
                .text
                .contains("Было: сумма 10 000 ₽, материалы 2 000 ₽, мастеру 4 000 ₽")
            && fixed.text.contains("Мастеру: 5 000 ₽"),
        "{}",
        fixed.text
    );
    let money = world.text(&format!(
        "SELECT total_kopecks || '/' || master_share_kopecks || '/' || company_share_kopecks || '/' || cash_due_kopecks || '/' || status AS v FROM orders WHERE id = {order}"
    ));
    assert_eq!(money.unwrap(), "1200000/500000/500000/500000/CLOSED");
    // The master and the dispatcher learn both.
    world.wait_text(MASTER_1, "исправлены").await;
    world.wait_text(DISPATCHER, "исправлены").await;
    // Both splits in the history the card shows, and one audit row.
    let card = world.open_card(&world.admin, order).await;
    assert!(
        card.text.contains("деньги исправлены: было сумма 10 000 ₽")
            && card.text.contains("стало сумма 12 000 ₽"),
        "{}",
        card.text
    );
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM audit_log WHERE action = 'ORDER_MONEY_CORRECTED' AND entity_id = {order} AND user_id = {ADMIN}"
        )),
        1
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_gives_back_an_accepted_order_and_staff_close_one_for_him() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    world.wait_text(MASTER_1, &format!("№{order}")).await;
    world.press(&world.master1, "✅ Принять").await;
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");

    // After accepting he can still give it back, with a reason.
    world.press(&world.master1, "🚫 Отклонить").await;
    world.say(&world.master1, "Заболел").await;
    world.settle().await;
    assert_eq!(world.status(order), "NEW");
    let told = world.wait_text(DISPATCHER, "отклонил заявку").await;
    assert!(told.text.contains("Заболел"), "{}", told.text);

    // The dispatcher does the master's part for him, to the end.
    world.assign(order, "Сергей").await;
    world.open_card(&world.dispatcher, order).await;
    world
        .press(&world.dispatcher, "✅ Принять (за мастера)")
        .await;
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");
    world.open_card(&world.dispatcher, order).await;
    world
        .press(&world.dispatcher, "🏠 На месте (за мастера)")
        .await;
    world.open_card(&world.dispatcher, order).await;
    world
        .press(&world.dispatcher, "💰 Закрыть заявку (за мастера)")
        .await;
    world.say(&world.dispatcher, "5 000").await;
    world.say(&world.dispatcher, "0").await;
    let closed = world.press(&world.dispatcher, "Нет").await;
    assert!(closed.text.contains("Мастеру: 2 000 ₽"), "{}", closed.text);
    assert_eq!(world.status(order), "CLOSED");
    // The master learns what was done in his name; the history names who did it.
    world.wait_text(MASTER_1, "за вас: закрыл заявку").await;
    assert_eq!(
        world.scalar(&format!(
            "SELECT changed_by AS v FROM order_status_history WHERE order_id = {order} AND new_status = 'CLOSED'"
        )),
        DISPATCHER
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_refuse_restore_and_reassign_tell_the_right_people() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    world.wait_text(MASTER_1, &format!("№{order}")).await;

    // Decline asks for a reason and returns the order to NEW.
    world.press(&world.master1, "🚫 Отклонить").await;
    world.say(&world.master1, "Нет запчастей").await;
    world.settle().await;
    assert_eq!(world.status(order), "NEW");
    let told = world.wait_text(DISPATCHER, "отклонил заявку").await;
    assert!(told.text.contains("Нет запчастей"), "{}", told.text);
    assert_eq!(
        world.text(&format!("SELECT notes AS v FROM order_status_history WHERE order_id = {order} ORDER BY id DESC LIMIT 1")).unwrap(),
        "Нет запчастей"
    );

    // Reassign tells both masters.
    world.assign(order, "Сергей").await;
    world.assign_again(order, "Алексей").await;
    world.wait_text(MASTER_1, "снята с вас").await;
    world.wait_text(MASTER_2, &format!("№{order}")).await;
    assert_eq!(
        world.scalar(&format!(
            "SELECT assigned_master_id AS v FROM orders WHERE id = {order}"
        )),
        world.master_id(MASTER_2)
    );

    // Refuse with a reason, then restore.
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "❌ Отказ").await;
    world.say(&world.dispatcher, "Клиент передумал").await;
    world.settle().await;
    assert_eq!(world.status(order), "REFUSED");
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "♻️ Восстановить").await;
    world.settle().await;
    assert_eq!(world.status(order), "NEW");
    // NEW, ASSIGNED, NEW (decline), ASSIGNED, ASSIGNED (reassign), REFUSED, NEW (restore)
    assert_eq!(history_rows(&world, order), 7);
    assert_eq!(audit_rows(&world, order), 7);
    world.stop().await;
}

impl World {
    /// Reassigns from the order's card (the current master is left out of the list).
    async fn assign_again(&self, order_id: i64, master_name: &str) {
        self.open_card(&self.dispatcher, order_id).await;
        self.press(&self.dispatcher, "👤 Назначить мастера").await;
        let label = self.master_button(master_name).await;
        self.press(&self.dispatcher, &label).await;
        self.settle().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_stale_presses_change_nothing() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    let offer = world.wait_text(MASTER_1, &format!("№{order}")).await;
    let history = history_rows(&world, order);

    let press = |user: &FakeUser, data: String| {
        let before = world.fake.revision();
        world
            .fake
            .press_callback(user, user.id, offer.message_id, &data);
        before
    };
    // Another master's order.
    let before = press(&world.master2, format!("o:{order}:acc:ASSIGNED"));
    let answer = world.news(MASTER_2, before).await;
    assert!(answer.text.contains("другому мастеру"), "{}", answer.text);
    // A dispatcher action pressed by a master.
    let before = press(&world.master1, format!("o:{order}:ref:ASSIGNED"));
    let answer = world.news(MASTER_1, before).await;
    assert!(answer.text.contains("недоступно"), "{}", answer.text);
    // An unknown order.
    let before = press(&world.master1, "o:999999:acc:ASSIGNED".into());
    let answer = world.news(MASTER_1, before).await;
    assert!(answer.text.contains("не найдена"), "{}", answer.text);
    // Garbage data is answered too.
    let query =
        world
            .fake
            .press_callback(&world.master1, MASTER_1, offer.message_id, "o:1:DROP TABLE");
    world.answer_to(&query).await;
    assert_eq!(world.status(order), "ASSIGNED");
    assert_eq!(history_rows(&world, order), history);

    // Accept, then the same (now stale) Accept again: "the order has changed" and nothing moves.
    world.press(&world.master1, "✅ Принять").await;
    world.settle().await;
    let history = history_rows(&world, order);
    let before = press(&world.master1, format!("o:{order}:acc:ASSIGNED"));
    let answer = world.news(MASTER_1, before).await;
    assert!(
        answer.text.contains("изменилась") || answer.text.contains(&format!("№{order}")),
        "{}",
        answer.text
    );
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");
    assert_eq!(history_rows(&world, order), history);
    // A card from before the change: the dispatcher's unassign from an ASSIGNED card.
    let before = world.fake.revision();
    world.fake.press_callback(
        &world.dispatcher,
        DISPATCHER,
        1,
        &format!("o:{order}:una:ASSIGNED"),
    );
    world.news(DISPATCHER, before).await;
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_and_sla_alerts_fire_at_the_right_times_once_and_not_at_night() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    let start = world.clock.now();
    let tick = || world.tick();

    world.clock.set(start + TimeDelta::minutes(14));
    assert!(tick().await.reminded.is_empty(), "not before 15 minutes");
    world.clock.set(start + TimeDelta::minutes(15));
    assert_eq!(tick().await.reminded, vec![OrderId(order)]);
    world.clock.set(start + TimeDelta::minutes(20));
    assert!(
        tick().await.reminded.is_empty(),
        "back-off: the next one at 30"
    );
    world.clock.set(start + TimeDelta::minutes(30));
    assert_eq!(tick().await.reminded, vec![OrderId(order)]);
    world.clock.set(start + TimeDelta::minutes(60));
    assert_eq!(tick().await.reminded, vec![OrderId(order)]);
    world.clock.set(start + TimeDelta::minutes(200));
    assert!(tick().await.reminded.is_empty(), "at most three reminders");
    world.wait_text(MASTER_1, "Напоминание").await;

    // SLA: ASSIGNED for more than 4 hours, alerted once.
    world.clock.set(start + TimeDelta::hours(4));
    assert_eq!(
        tick().await.sla_alerted.pairs(),
        vec![(
            OrderId(order),
            repair_bot::domain::status::OrderStatus::Assigned
        )]
    );
    world.clock.set(start + TimeDelta::hours(5));
    assert!(
        tick().await.sla_alerted.is_empty(),
        "once per order and threshold"
    );
    world.wait_text(ADMIN, "дольше 4 ч").await;

    // A NEW order late at night: no alert in quiet hours, the alert comes in the morning.
    let second = world.create_order().await;
    let created = world.clock.now();
    world
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 23, 20, 30, 0).unwrap()); // 23:30 in Moscow
    assert!(created + TimeDelta::hours(2) <= world.clock.now());
    assert!(tick().await.sla_alerted.is_empty(), "quiet hours");
    world
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 24, 5, 0, 0).unwrap()); // 08:00 in Moscow
    assert_eq!(
        tick().await.sla_alerted.pairs(),
        vec![(
            OrderId(second),
            repair_bot::domain::status::OrderStatus::New
        )]
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_telegrams_retry_after() {
    let world = World::start().await;
    world.fake.fail_next(
        "sendMessage",
        1,
        repair_bot::fake_telegram::FakeError::RetryAfter(1),
    );
    let answer = world.say(&world.stranger, "/start").await;
    assert!(
        answer.text.contains(&STRANGER.to_string()),
        "{}",
        answer.text
    );
    let calls = world.fake.calls("sendMessage");
    assert_eq!(
        calls.len(),
        2,
        "one refused with retry_after, one delivered"
    );
    assert!(calls[0].injected.is_some() && calls[1].injected.is_none());
    let waited = calls[1].at - calls[0].at;
    assert!(waited >= TimeDelta::milliseconds(900), "waited {waited}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_backup_runs_once_a_day_at_its_time_and_is_audited() {
    let mut world = World::start().await;
    let mut config = (*world.app.config).clone();
    config.backup_at = Some(chrono::NaiveTime::from_hms_opt(3, 0, 0).unwrap());
    world.app.config = Arc::new(config);
    let tick = |world: &World| {
        let app = world.app.clone();
        async move { jobs::tick(&app).await.unwrap() }
    };
    // 10:00 Moscow: today's 03:00 has passed and nothing ran yet.
    let first = tick(&world)
        .await
        .backup
        .expect("backup due")
        .expect("backup written");
    assert!(first.is_file());
    assert!(
        first.to_string_lossy().contains("scheduled"),
        "{}",
        first.display()
    );
    assert!(repair_bot::db::backup::verify(&first).is_ok());
    assert!(tick(&world).await.backup.is_none(), "once a day");
    world
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 23, 23, 59, 0).unwrap()); // 02:59 next day
    assert!(tick(&world).await.backup.is_none(), "not before 03:00");
    world
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap()); // 03:00
    assert!(tick(&world).await.backup.is_some(), "the next day's backup");
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM audit_log WHERE action = 'BACKUP_CREATED'"),
        2
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_go_to_the_bound_work_group_with_a_mention_and_unassign_tells_the_master() {
    let world = World::start().await;
    world.with_masters().await;
    world.bind_group(&[MASTER_1]);

    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    let offer = world.wait_text(GROUP, &format!("№{order}")).await;
    assert!(offer.text.contains("@master_sergey"), "{}", offer.text);
    assert!(!offer.text.contains(CLIENT_PHONE), "{}", offer.text);
    assert!(
        world
            .fake
            .messages(MASTER_1)
            .iter()
            .all(|m| !m.text.contains(&format!("№{order}"))),
        "not privately"
    );

    // Someone else in the group cannot accept for him; he can.
    world
        .fake
        .press_button(&world.master2, GROUP, "✅ Принять")
        .unwrap();
    world.settle().await;
    assert_eq!(world.status(order), "ASSIGNED");
    world
        .fake
        .press_button(&world.master1, GROUP, "✅ Принять")
        .unwrap();
    world.settle().await;
    assert_eq!(world.status(order), "ACCEPTED");

    // Unassign from the dispatcher's card: back to NEW, the master is told in his group.
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "↩️ Снять мастера").await;
    world.settle().await;
    assert_eq!(world.status(order), "NEW");
    assert_eq!(
        world.text(&format!(
            "SELECT CAST(assigned_master_id AS TEXT) AS v FROM orders WHERE id = {order}"
        )),
        None
    );
    world.wait_text(GROUP, "снята с вас").await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_edits_an_open_order_with_intake_validation_and_an_audit_trail() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "✏️ Изменить").await;
    let ask = world.press(&world.dispatcher, "Телефон").await;
    assert!(
        ask.text.contains(CLIENT_PHONE),
        "shows the current value: {}",
        ask.text
    );
    let wrong = world.say(&world.dispatcher, "555").await;
    assert!(wrong.text.contains("Пример правильного"), "{}", wrong.text);
    let done = world.say(&world.dispatcher, "+7 (916) 000-11-22").await;
    assert!(done.text.contains("изменено"), "{}", done.text);
    assert_eq!(
        world
            .text(&format!(
                "SELECT client_phone AS v FROM orders WHERE id = {order}"
            ))
            .unwrap(),
        "+79160001122"
    );
    let details = world
        .text(&format!("SELECT details AS v FROM audit_log WHERE action = 'ORDER_EDITED' AND entity_id = {order}"))
        .unwrap();
    assert!(
        details.contains(CLIENT_PHONE) && details.contains("+79160001122"),
        "old and new value: {details}"
    );

    // Notes can be cleared with Skip; required fields cannot.
    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "✏️ Изменить").await;
    world.press(&world.dispatcher, "Примечания").await;
    world.say(&world.dispatcher, "Звонить за час").await;
    assert_eq!(
        world
            .text(&format!("SELECT notes AS v FROM orders WHERE id = {order}"))
            .unwrap(),
        "Звонить за час"
    );

    // A master cannot edit, whatever he sends.
    let before = world.fake.revision();
    world
        .fake
        .press_callback(&world.master1, MASTER_1, 1, &format!("ef:{order}:0"));
    let refused = world.news(MASTER_1, before).await;
    assert!(refused.text.contains("недоступно"), "{}", refused.text);
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM audit_log WHERE action = 'ORDER_EDITED'"),
        2
    );
    world.stop().await;
}

impl World {
    /// The master closes an order he was assigned: accept, on site, close with money.
    async fn close_as(
        &self,
        master: &FakeUser,
        order: i64,
        total: &str,
        materials: &str,
        review: &str,
    ) {
        self.wait_text(master.id, &format!("№{order}")).await;
        self.press(master, "✅ Принять").await;
        self.press(master, "🏠 На месте").await;
        self.press(master, "💰 Закрыть заявку").await;
        self.say(master, total).await;
        self.say(master, materials).await;
        self.press(master, review).await;
        self.settle().await;
        assert_eq!(self.status(order), "CLOSED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_as_a_message_and_a_spreadsheet_master_statistics_and_the_daily_summary() {
    use calamine::Reader;
    let mut world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    world
        .close_as(&world.master1, order, "10 000", "2 000", "Да")
        .await;

    world.press_menu(&world.dispatcher, "📊 Отчёты").await;
    let report = world.press(&world.dispatcher, "Сегодня").await;
    assert!(
        report.text.contains("Сергей") && report.text.contains("10 000"),
        "{}",
        report.text
    );
    world.settle().await;
    let file = world
        .fake
        .messages(DISPATCHER)
        .into_iter()
        .find_map(|m| m.document)
        .expect("the report as a file");
    assert!(file
        .file_name
        .as_deref()
        .unwrap_or_default()
        .ends_with(".xlsx"));
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(file.bytes)).unwrap();
    let masters = book.worksheet_range("Мастера").unwrap();
    let sergey = masters
        .rows()
        .find(|row| row[0].to_string().contains("Сергей"))
        .expect("Сергей's row");
    assert!(
        sergey.contains(&calamine::Data::Float(10_000.0)),
        "{sergey:?}"
    );

    // A chosen period, typed.
    world.press_menu(&world.dispatcher, "📊 Отчёты").await;
    world.press(&world.dispatcher, "Другой период…").await;
    let wrong = world.say(&world.dispatcher, "30.11.2026-01.11.2026").await;
    assert!(wrong.text.contains("Не понял период"), "{}", wrong.text);
    let custom = world.say(&world.dispatcher, "01.11.2026-30.11.2026").await;
    assert!(
        custom.text.contains("01.11.2026") && custom.text.contains("10 000"),
        "{}",
        custom.text
    );

    // The master's own statistics; reports are not his.
    world.say(&world.master1, "/start").await;
    let stats = world.press_menu(&world.master1, "📈 Моя статистика").await;
    assert!(
        stats.text.contains("закрыто 1") && stats.text.contains("мастеру 4 800"),
        "{}",
        stats.text
    );
    let before = world.fake.revision();
    world
        .fake
        .press_callback(&world.master1, MASTER_1, 1, "r:0");
    let refused = world.news(MASTER_1, before).await;
    assert!(refused.text.contains("недоступно"), "{}", refused.text);

    // The daily summary at 20:00 local, once.
    let mut config = (*world.app.config).clone();
    config.summary_at = Some(chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap());
    world.app.config = Arc::new(config);
    world
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 23, 16, 59, 0).unwrap());
    assert_eq!(jobs::tick(&world.app).await.unwrap().summary_sent_to, None);
    world
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 23, 17, 0, 0).unwrap());
    assert_eq!(
        jobs::tick(&world.app).await.unwrap().summary_sent_to,
        Some(2)
    );
    assert_eq!(jobs::tick(&world.app).await.unwrap().summary_sent_to, None);
    let summary = world.wait_text(ADMIN, "Итоги дня").await;
    assert!(
        summary.text.contains("Новых заявок: 1") && summary.text.contains("10 000"),
        "{}",
        summary.text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_by_status_page_through_every_order_and_search_finds_by_phone_id_and_address() {
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    // Twelve NEW orders straight in the database (the intake has its own tests).
    let addresses: Vec<String> = (0..12)
        .map(|n| {
            if n == 5 {
                "ул. Лесная, д. 4".into()
            } else {
                format!("пр. Мира, {n}")
            }
        })
        .collect();
    world.add_orders(&addresses);

    let statuses = world.press_menu(&world.dispatcher, "📋 Заявки").await;
    assert!(
        statuses.buttons().iter().any(|b| b.contains("Новая (12)")),
        "{:?}",
        statuses.buttons()
    );
    let first = world
        .press(
            &world.dispatcher,
            &statuses
                .buttons()
                .into_iter()
                .find(|b| b.contains("Новая"))
                .unwrap(),
        )
        .await;
    let mut seen: Vec<String> = first
        .buttons()
        .into_iter()
        .filter(|b| b.starts_with('№'))
        .collect();
    assert_eq!(seen.len(), 10);
    let second = world.press(&world.dispatcher, "Старше ▶️").await;
    seen.extend(second.buttons().into_iter().filter(|b| b.starts_with('№')));
    let ids: Vec<i64> = seen
        .iter()
        .map(|b| b[3..].split(' ').next().unwrap().parse().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(ids, sorted, "newest first, no repeats");
    assert_eq!(ids.len(), 12, "no order skipped");
    let back = world.press(&world.dispatcher, "◀️ Новее").await;
    assert_eq!(
        back.buttons()
            .into_iter()
            .filter(|b| b.starts_with('№'))
            .count(),
        10
    );

    // An entry opens the card.
    let card = world.press(&world.dispatcher, &seen[0]).await;
    assert!(card.text.starts_with("<b>Заявка №"), "{}", card.text);

    // Search: address in another case, a phone in another format, an order number.
    world.press_menu(&world.dispatcher, "🔎 Поиск").await;
    let found = world.say(&world.dispatcher, "ЛЕСНАЯ").await;
    assert!(
        found.buttons().iter().any(|b| b.contains("Лесная")),
        "{:?}",
        found.buttons()
    );
    world.press_menu(&world.dispatcher, "🔎 Поиск").await;
    let found = world.say(&world.dispatcher, "8 (900) 123-40-03").await;
    assert!(
        found.buttons().iter().any(|b| b.contains("Клиент 3")),
        "{:?}",
        found.buttons()
    );
    world.press_menu(&world.dispatcher, "🔎 Поиск").await;
    let found = world.say(&world.dispatcher, "7").await;
    assert!(
        found.buttons().iter().any(|b| b.starts_with("№7 ")),
        "{:?}",
        found.buttons()
    );
    world.press_menu(&world.dispatcher, "🔎 Поиск").await;
    let short = world.say(&world.dispatcher, "ул").await;
    assert!(short.text.contains("хотя бы 3"), "{}", short.text);

    // Not for masters or strangers.
    world.say(&world.stranger, "/start").await;
    let query = world
        .fake
        .press_callback(&world.stranger, STRANGER, 1, "l:NEW:-");
    let refused = world.answer_to(&query).await.text.unwrap_or_default();
    assert!(refused.contains("недоступно"), "{refused}");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_fetched_but_not_handled_before_a_crash_is_handled_after_restart() {
    use repair_bot::fake_telegram::FakeError;
    let world = World::start().await;
    // Telegram is unreachable for sending: the /start handler is still retrying its reply
    // when the process dies.
    world.fake.fail_next("sendMessage", 3, FakeError::Network);
    world.fake.send_text(&world.stranger, STRANGER, "/start");
    let deadline = tokio::time::Instant::now() + WAIT;
    while world.fake.calls("sendMessage").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never tried to answer"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(world.fake.messages(STRANGER).is_empty());
    let world = world.crash_and_restart().await;
    let answer = world.wait_text(STRANGER, &STRANGER.to_string()).await;
    assert!(answer.text.contains("Telegram id"), "{}", answer.text);
    world.settle().await;
    assert_eq!(world.fake.pending_updates(), 0, "acknowledged once handled");
    assert_eq!(
        world.fake.messages(STRANGER).len(),
        1,
        "answered exactly once"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_handled_but_not_acknowledged_before_a_crash_is_not_handled_again() {
    use diesel::connection::SimpleConnection;
    let world = World::start().await;
    // As a process that handled update 1 and died before the next getUpdates acknowledged it
    // leaves the database: Telegram sends update 1 again, the new process must skip it.
    world
        .conn()
        .batch_execute(
            "INSERT INTO handled_updates (update_id, handled_at) VALUES (1, '2026-11-23 07:00:00')",
        )
        .unwrap();
    // The new process starts with that record in place (it reads the records once, at start).
    let world = world.restart().await;
    world.fake.send_text(&world.stranger, STRANGER, "/start");
    world.settle().await;
    assert!(
        world.fake.messages(STRANGER).is_empty(),
        "update 1 handled twice"
    );
    assert_eq!(
        world.fake.pending_updates(),
        0,
        "the skipped update is acknowledged"
    );
    world.say(&world.stranger, "/start").await;
    assert_eq!(world.fake.messages(STRANGER).len(), 1);
    world.settle().await;
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM handled_updates WHERE update_id < 2"),
        0,
        "ids below the acknowledged offset are forgotten"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_in_a_work_group_is_always_drawn_for_the_master_even_when_staff_press() {
    let world = World::start().await;
    world.with_masters().await;
    world.bind_group(&[MASTER_1, DISPATCHER, ADMIN]);
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    world.wait_text(GROUP, &format!("№{order}")).await;

    // Staff refresh the group card: still the master's view, for the whole group to see.
    for staff in [&world.dispatcher, &world.admin] {
        world
            .fake
            .press_button(staff, GROUP, repair_bot::bot::texts::BUTTON_REFRESH)
            .unwrap();
        world.settle().await;
        let card = world
            .fake
            .messages(GROUP)
            .into_iter()
            .rfind(|m| m.text.contains(&format!("№{order}")))
            .unwrap();
        assert!(
            !card.text.contains(CLIENT_PHONE),
            "the client's phone leaked into the group: {}",
            card.text
        );
        let buttons = card.buttons();
        assert!(
            buttons.iter().any(|b| b == "✅ Принять"),
            "the master's buttons stay: {buttons:?}"
        );
        assert!(
            !buttons
                .iter()
                .any(|b| b.contains("Изменить") || b.contains("Снять")),
            "staff buttons in the group: {buttons:?}"
        );
    }
    world.stop().await;
}

/// The newest message in the chat that mentions the order.
fn latest_about(world: &World, chat: i64, order_id: i64) -> SentMessage {
    let needle = format!("№{order_id}");
    world
        .fake
        .messages(chat)
        .into_iter()
        .rfind(|m| !m.deleted && m.text.contains(&needle))
        .unwrap_or_else(|| panic!("nothing about order {order_id} in chat {chat}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_and_close_finished_privately_redraw_the_card_they_started_from() {
    let world = World::start().await;
    world.with_masters().await;
    world.bind_group(&[MASTER_1]);

    // Declined from the group: the reason is asked privately, and the group's card no longer
    // offers the order to him; nor does a card of it turn up in his private chat.
    let declined = world.create_order().await;
    world.assign(declined, "Сергей").await;
    let offer = world.wait_text(GROUP, &format!("№{declined}")).await;
    world
        .fake
        .press_button(&world.master1, GROUP, "🚫 Отклонить")
        .unwrap();
    world.wait_text(MASTER_1, "причину").await;
    world.say(&world.master1, "Нет нужной запчасти").await;
    world.settle().await;
    assert_eq!(world.status(declined), "NEW");
    let card = world
        .fake
        .messages(GROUP)
        .into_iter()
        .find(|m| m.message_id == offer.message_id)
        .unwrap();
    assert!(card.buttons().is_empty(), "{:?}", card.buttons());
    assert!(card.text.contains("больше не за вами"), "{}", card.text);
    let private = latest_about(&world, MASTER_1, declined);
    assert!(private.buttons().is_empty(), "{:?}", private.buttons());
    assert!(
        !private.text.contains("Не морозит"),
        "a card of an order no longer his: {}",
        private.text
    );

    // Closed from the group: the group's card shows the order closed, with no buttons left.
    let closed = world.create_order().await;
    world.assign(closed, "Сергей").await;
    world.wait_text(GROUP, &format!("№{closed}")).await;
    for label in ["✅ Принять", "🏠 На месте", "💰 Закрыть заявку"]
    {
        world
            .fake
            .press_button(&world.master1, GROUP, label)
            .unwrap();
        world.settle().await;
    }
    world.say(&world.master1, "10 000").await;
    world.say(&world.master1, "2000").await;
    world.press(&world.master1, "Да").await;
    world.settle().await;
    assert_eq!(world.status(closed), "CLOSED");
    let card = latest_about(&world, GROUP, closed);
    assert!(
        card.buttons()
            .iter()
            .all(|b| b == repair_bot::bot::texts::BUTTON_REFRESH),
        "stale buttons: {:?}",
        card.buttons()
    );
    assert!(card.text.contains("Закрыт"), "{}", card.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_who_blocked_the_bot_is_told_in_a_pop_up_when_a_group_button_needs_his_chat() {
    let world = World::start().await;
    world.with_masters().await;
    world.bind_group(&[MASTER_1]);
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;
    world.wait_text(GROUP, &format!("№{order}")).await;
    world.fake.set_blocked(MASTER_1, true);

    let query = world
        .fake
        .press_button(&world.master1, GROUP, "🚫 Отклонить")
        .unwrap();
    let answer = world.answer_to(&query).await;
    assert!(answer.show_alert, "{answer:?}");
    assert!(
        answer.text.as_deref().unwrap_or("").contains("/start"),
        "{answer:?}"
    );
    assert_eq!(world.status(order), "ASSIGNED");

    // No dialogue was left waiting: once he starts the bot, his text is not taken for a reason.
    world.fake.set_blocked(MASTER_1, false);
    world.say(&world.master1, "/start").await;
    world.say(&world.master1, "Нет нужной запчасти").await;
    world.settle().await;
    assert_eq!(world.status(order), "ASSIGNED");
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_card_names_his_work_group_by_its_title() {
    let world = World::start().await;
    world.with_masters().await;
    world.bind_group(&[MASTER_1]);
    world
        .fake
        .press_reply_button(&world.admin, ADMIN, repair_bot::bot::texts::MENU_MASTERS)
        .unwrap();
    let card = world.wait_text(ADMIN, "Рабочая группа: «").await;
    assert!(
        card.text.contains("Рабочая группа: «Бригада Сергея»"),
        "{}",
        card.text
    );
    assert!(!card.text.contains(&GROUP.to_string()), "{}", card.text);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correcting_an_assigned_order_tells_its_master_without_revealing_the_phone_early() {
    let world = World::start().await;
    world.with_masters().await;
    let order = world.create_order().await;
    world.assign(order, "Сергей").await;

    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "✏️ Изменить").await;
    world.press(&world.dispatcher, "Адрес").await;
    world
        .say(&world.dispatcher, "ул. Садовая, д. 7, кв. 2")
        .await;
    let told = world.wait_text(MASTER_1, "поле «Адрес»").await;
    assert!(told.text.contains("ул. Садовая, д. 7"), "{}", told.text);
    assert!(
        told.buttons().iter().any(|b| b == "✅ Принять"),
        "his card comes with his buttons: {:?}",
        told.buttons()
    );

    world.open_card(&world.dispatcher, order).await;
    world.press(&world.dispatcher, "✏️ Изменить").await;
    world.press(&world.dispatcher, "Телефон").await;
    world.say(&world.dispatcher, "+7 (916) 000-11-22").await;
    let told = world.wait_text(MASTER_1, "поле «Телефон»").await;
    assert!(
        !told.text.contains("916") && !told.text.contains(CLIENT_PHONE),
        "the phone before he is on site: {}",
        told.text
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_ends_when_its_role_was_taken_away_meanwhile() {
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    world.press_menu(&world.dispatcher, "📝 Новая заявка").await;
    world.press(&world.dispatcher, "Холодильники").await;

    // The operator takes her out of DISPATCHER_IDS and restarts the bot mid-intake.
    let world = world
        .restart_configured(|config| config.env_roles.dispatchers.clear())
        .await;
    let answer = world
        .say(&world.dispatcher, "Не морозит морозильная камера")
        .await;
    assert!(answer.text.contains("недоступно"), "{}", answer.text);
    assert_eq!(
        world.scalar(&format!(
            "SELECT COUNT(*) AS v FROM dialogues WHERE chat_id = {DISPATCHER}"
        )),
        0,
        "the dialogue is over"
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_dialogues_in_flight_through_an_api_outage_all_complete() {
    use repair_bot::fake_telegram::FakeError;
    const PEOPLE: i64 = 30;
    const OUTAGE_REPLIES: usize = 6;
    let ids: Vec<i64> = (0..PEOPLE).map(|n| 6000 + n).collect();
    let world = World::start()
        .await
        .restart_configured(|config| {
            let staff = ids.iter().map(|&id| TelegramId(id));
            config.env_roles.dispatchers.extend(staff)
        })
        .await;
    let people: Vec<FakeUser> = ids
        .iter()
        .map(|id| world.fake.add_user(*id, &format!("Диспетчер {id}"), None))
        .collect();
    for person in &people {
        world.say(person, "/start").await;
        world.press_menu(person, "📝 Новая заявка").await;
    }

    // The API goes down: replies, every callback answer and the next polls fail for a while,
    // with 30 presses already queued. Injected failures go to whichever sends come next, and
    // the first press is often a batch of its own that the next batch waits for, so all six
    // may hit one reply: within its retry budget (about 16 s of back-off).
    world
        .fake
        .fail_next("sendMessage", OUTAGE_REPLIES, FakeError::Network);
    world
        .fake
        .fail_next("answerCallbackQuery", PEOPLE as usize, FakeError::Network);
    world.fake.fail_next("getUpdates", 3, FakeError::Network);
    for person in &people {
        world
            .fake
            .press_button(person, person.id, "Холодильники")
            .unwrap();
    }

    let outage_bound = notify::RETRY_BUDGET + WAIT;
    for person in &people {
        world
            .fake
            .wait_for(person.id, |m| m.text.contains("Шаг 2"), outage_bound)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    world.fake.wait_confirmed(outage_bound).await;
    let waiting = world.scalar(
        "SELECT COUNT(*) AS v FROM dialogues WHERE chat_id >= 6000 AND state LIKE '%Description%'",
    );
    assert_eq!(waiting, PEOPLE, "every dialogue moved on to its next step");
    let failed = world
        .fake
        .calls("sendMessage")
        .iter()
        .filter(|c| c.injected.is_some())
        .count();
    assert_eq!(failed, OUTAGE_REPLIES, "the outage really hit the replies");
    world.stop().await;
}

/// 32 letters and spaces, 62 bytes: with the page cursor it cannot ride in callback data.
const LONG_QUERY: &str = "большая старокаменная набережная";

fn search_result_ids(page: &SentMessage) -> Vec<i64> {
    page.buttons()
        .iter()
        .filter(|b| b.starts_with('№'))
        .map(|b| b[3..].split(' ').next().unwrap().parse().unwrap())
        .collect()
}

fn assert_callbacks_fit(page: &SentMessage) {
    for label in page.buttons() {
        let data = page.callback_data(&label).unwrap_or_default();
        assert!(
            data.len() <= 64,
            "{label}: {data:?} is {} bytes",
            data.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_a_long_cyrillic_search_searches_the_full_text() {
    let world = World::start().await;
    world.say(&world.dispatcher, "/start").await;
    // 14 orders on the embankment, and 6 in a lane whose name shares its first 30 letters: a
    // query cut to fit the button would find those too.
    // The lane's orders are older (ids 1-6), so they would come on the second page.
    let mut addresses: Vec<String> = (1..=6)
        .map(|n| format!("проезд Большая Старокаменная набережной, {n}"))
        .collect();
    addresses.extend((1..=14).map(|n| format!("ул. Большая Старокаменная набережная, д. {n}")));
    world.add_orders(&addresses);

    world.press_menu(&world.dispatcher, "🔎 Поиск").await;
    let first = world.say(&world.dispatcher, LONG_QUERY).await;
    assert!(
        first.text.contains(&format!("Поиск: <b>{LONG_QUERY}</b>")),
        "{}",
        first.text
    );
    assert_callbacks_fit(&first);
    let mut seen = search_result_ids(&first);
    assert_eq!(seen.len(), 10, "{:?}", first.buttons());

    let second = world.press(&world.dispatcher, "Старше ▶️").await;
    assert!(
        second.text.contains(&format!("Поиск: <b>{LONG_QUERY}</b>")),
        "the second page names the full query: {}",
        second.text
    );
    assert_callbacks_fit(&second);
    seen.extend(search_result_ids(&second));
    let expected: Vec<i64> = (7..=20).rev().collect();
    assert_eq!(
        seen, expected,
        "the embankment's orders, newest first, once each"
    );

    let back = world.press(&world.dispatcher, "◀️ Новее").await;
    assert!(back.text.contains(LONG_QUERY), "{}", back.text);
    assert_eq!(
        search_result_ids(&back),
        (11..=20).rev().collect::<Vec<_>>()
    );
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_search_buttons_still_page_and_unknown_ones_say_to_search_again() {
    let world = World::start().await;
    let start = world.say(&world.dispatcher, "/start").await;
    let addresses: Vec<String> = (1..=12).map(|n| format!("ул. Лесная, {n}")).collect();
    world.add_orders(&addresses);

    // A button sent before the search text was kept by the bot: the text rides in the data.
    let page = world
        .press_data(&world.dispatcher, start.message_id, "sp:b3:лесная")
        .await;
    assert!(page.text.contains("Поиск: <b>лесная</b>"), "{}", page.text);
    assert_eq!(search_result_ids(&page), vec![2, 1]);

    // A button naming a search the bot does not know (forged, or long forgotten).
    let page = world
        .press_data(&world.dispatcher, start.message_id, "sq:b3:999999")
        .await;
    assert!(page.text.contains("заново"), "{}", page.text);
    world.stop().await;
}

// ----- Periodic jobs on an adopted database -----

/// Orders an adopted database brings: created straight in the database, then put in `status`
/// (for the master with that Telegram id, if any) the further back from `since` the higher
/// their number, so the newest order has waited longest and "oldest first" is not id order.
fn old_orders(
    world: &World,
    count: usize,
    status: &str,
    master: Option<i64>,
    since: chrono::DateTime<Utc>,
) -> Vec<i64> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    let first = world.scalar("SELECT COALESCE(MAX(id), 0) AS v FROM orders") + 1;
    let addresses: Vec<String> = (0..count).map(|n| format!("ул. Старая, д. {n}")).collect();
    world.add_orders(&addresses);
    let ids: Vec<i64> = (first..first + count as i64).collect();
    let master_id = master.map(|telegram_id| world.master_id(telegram_id));
    let mut conn = world.conn();
    for (n, id) in ids.iter().enumerate() {
        let changed = (since - TimeDelta::minutes(n as i64)).naive_utc();
        diesel::sql_query(
            "UPDATE orders SET status = ?, assigned_master_id = ?, status_changed_at = ? \
             WHERE id = ?",
        )
        .bind::<Text, _>(status)
        .bind::<Nullable<BigInt>, _>(master_id)
        .bind::<Timestamp, _>(changed)
        .bind::<BigInt, _>(*id)
        .execute(&mut conn)
        .unwrap();
    }
    ids
}

fn message_count(world: &World, chat: i64) -> usize {
    world.fake.messages(chat).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_assigned_long_ago_is_reminded_once_then_backs_off_from_that_reminder() {
    let world = World::start().await;
    world.with_masters().await;
    let start = world.clock.now();
    let order = old_orders(
        &world,
        1,
        "ASSIGNED",
        Some(MASTER_1),
        start - TimeDelta::days(30),
    )[0];
    world.settle().await;
    let before = message_count(&world, MASTER_1);
    let reminded_at = |offset: TimeDelta| {
        world.clock.set(start + offset);
        async { world.tick().await.reminded }
    };

    assert_eq!(
        reminded_at(TimeDelta::zero()).await,
        vec![OrderId(order)],
        "due long ago"
    );
    assert!(
        reminded_at(TimeDelta::seconds(30)).await.is_empty(),
        "the next tick: the gap counts from the reminder, not from the assignment"
    );
    assert!(reminded_at(TimeDelta::minutes(14)).await.is_empty());
    assert_eq!(
        reminded_at(TimeDelta::minutes(15)).await,
        vec![OrderId(order)]
    );
    assert!(reminded_at(TimeDelta::seconds(15 * 60 + 30))
        .await
        .is_empty());
    assert!(
        reminded_at(TimeDelta::minutes(44)).await.is_empty(),
        "the second gap is twice the first"
    );
    assert_eq!(
        reminded_at(TimeDelta::minutes(45)).await,
        vec![OrderId(order)]
    );
    assert!(
        reminded_at(TimeDelta::hours(5)).await.is_empty(),
        "at most three reminders"
    );
    let reminders: Vec<SentMessage> = world.fake.messages(MASTER_1)[before..].to_vec();
    assert_eq!(reminders.len(), 3, "{reminders:#?}");
    assert!(reminders.iter().all(|m| m.text.contains("Напоминание")));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_backlog_gives_each_person_one_summary_instead_of_a_message_per_order() {
    let world = World::start().await;
    world.with_masters().await;
    let start = world.clock.now();
    let long_ago = start - TimeDelta::days(10);
    let sergey = old_orders(&world, 10, "ASSIGNED", Some(MASTER_1), long_ago);
    let alexey = old_orders(&world, 3, "ASSIGNED", Some(MASTER_2), long_ago);
    let unassigned = old_orders(&world, 6, "NEW", None, long_ago);
    world.settle().await;
    let before = |chat| message_count(&world, chat);
    let (sergey_had, alexey_had, admin_had) = (before(MASTER_1), before(MASTER_2), before(ADMIN));

    let report = world.tick().await;
    let mut reminded: Vec<i64> = report.reminded.iter().map(|id| id.0).collect();
    reminded.sort();
    assert_eq!(reminded, [sergey.clone(), alexey.clone()].concat());
    assert_eq!(
        report.sla_alerted.len(),
        sergey.len() + alexey.len() + unassigned.len()
    );

    // Ten at once for Сергей: one summary, the longest-waiting orders named first.
    let to_sergey = &world.fake.messages(MASTER_1)[sergey_had..];
    assert_eq!(to_sergey.len(), 1, "{to_sergey:#?}");
    let summary = &to_sergey[0].text;
    assert!(summary.contains("<b>10</b>"), "{summary}");
    assert!(summary.contains("🔧 Мои заявки"), "{summary}");
    let oldest: Vec<String> = sergey
        .iter()
        .rev()
        .take(5)
        .map(|id| format!("№{id}"))
        .collect();
    assert!(summary.contains(&oldest.join(", ")), "{summary}");
    assert!(summary.contains("и ещё 5"), "{summary}");

    // Three are still separate reminders, one per order.
    let to_alexey = &world.fake.messages(MASTER_2)[alexey_had..];
    assert_eq!(to_alexey.len(), 3, "{to_alexey:#?}");
    for (message, id) in to_alexey.iter().zip(alexey.iter().rev()) {
        assert!(message.text.contains("Напоминание"), "{}", message.text);
        assert!(message.text.contains(&format!("№{id}")), "{}", message.text);
    }

    // Nineteen late orders: one message to the admin.
    let to_admin = &world.fake.messages(ADMIN)[admin_had..];
    assert_eq!(to_admin.len(), 1, "{to_admin:#?}");
    assert!(
        to_admin[0].text.contains("<b>19</b>"),
        "{}",
        to_admin[0].text
    );

    // Every order counts as reminded and alerted: the next tick sends nothing.
    world.clock.set(start + TimeDelta::seconds(30));
    let next = world.tick().await;
    assert!(
        next.reminded.is_empty() && next.sla_alerted.is_empty(),
        "{next:?}"
    );
    assert_eq!(before(MASTER_1), sergey_had + 1);
    assert_eq!(before(MASTER_2), alexey_had + 3);
    assert_eq!(before(ADMIN), admin_had + 1);
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM orders WHERE reminders_sent = 1"),
        13
    );
    assert_eq!(world.scalar("SELECT COUNT(*) AS v FROM sla_alerts"), 19);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_holds_what_a_round_owes_in_the_outbox_and_delivers_it_once_telegram_answers() {
    let world = World::start().await;
    world.with_masters().await;
    let long_ago = world.clock.now() - TimeDelta::days(10);
    old_orders(&world, 10, "ASSIGNED", Some(MASTER_1), long_ago);
    old_orders(&world, 2, "ASSIGNED", Some(MASTER_2), long_ago);
    old_orders(&world, 10, "NEW", None, long_ago);
    world.settle().await;
    let (sergey_had, alexey_had) = (
        message_count(&world, MASTER_1),
        message_count(&world, MASTER_2),
    );
    // Telegram unreachable: no send gets through.
    world.fake.fail_next(
        "sendMessage",
        10_000,
        repair_bot::fake_telegram::FakeError::Network,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(jobs::run_periodically(world.app.clone(), stopped));
    let deadline = std::time::Instant::now() + WAIT;
    while world.scalar("SELECT COUNT(*) AS v FROM sla_alerts") == 0 {
        assert!(std::time::Instant::now() < deadline, "the round never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The round does not wait for Telegram: it stops at once.
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the jobs ignored the stop")
        .unwrap();
    let failed_sends = || {
        world
            .fake
            .calls("sendMessage")
            .iter()
            .filter(|call| call.injected.is_some())
            .count()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while failed_sends() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox never tried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Everything counted is owed: Сергей's summary, Алексей's two reminders, one SLA summary
    // to the admin and one of the NEW orders to the dispatcher, all still waiting.
    assert_eq!(
        world.scalar("SELECT COUNT(*) AS v FROM orders WHERE reminders_sent = 1"),
        12
    );
    assert_eq!(world.waiting_in_outbox(), 5);
    assert_eq!(message_count(&world, MASTER_1), sergey_had);

    // Telegram answers again: each owed message arrives once.
    world.fake.clear_failures("sendMessage");
    world.delivered().await;
    assert_eq!(message_count(&world, MASTER_1), sergey_had + 1);
    assert_eq!(message_count(&world, MASTER_2), alexey_had + 2);
    assert!(world
        .fake
        .last_message(ADMIN)
        .is_some_and(|m| m.text.contains("<b>22</b>")));
    assert!(world
        .fake
        .last_message(DISPATCHER)
        .is_some_and(|m| m.text.contains("<b>10</b>")));
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_asked_to_stop_takes_on_nobody_and_leaves_the_work_due() {
    let world = World::start().await;
    world.with_masters().await;
    let long_ago = world.clock.now() - TimeDelta::days(10);
    let assigned = old_orders(&world, 5, "ASSIGNED", Some(MASTER_1), long_ago);
    old_orders(&world, 5, "NEW", None, long_ago);
    world.settle().await;
    let had = message_count(&world, MASTER_1);

    let (_stop, stopping) = tokio::sync::watch::channel(true);
    let report = jobs::tick_until(&world.app, &stopping).await.unwrap();
    assert!(report.stopped, "{report:?}");
    assert!(report.reminded.is_empty() && report.sla_alerted.is_empty());
    assert_eq!(message_count(&world, MASTER_1), had);

    let report = world.tick().await;
    assert!(!report.stopped);
    assert_eq!(report.reminded.len(), assigned.len());
    assert_eq!(report.sla_alerted.len(), 10, "5 NEW and 5 ASSIGNED");
    world.stop().await;
}

/// Visits and known clients, with this module's World.
mod visits;

/// The reports that go out on their own, with this module's World.
mod scheduled_reports;
