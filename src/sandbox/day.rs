//! A working day played through the fake Bot API by scripted people, as they would press
//! and type: the admin sets up three masters and a work group, two dispatchers take twenty
//! orders (correcting wrong phones and over-long texts), the masters accept, decline, go on
//! site, wait for parts and close with money, a dispatcher finds an order by the client's
//! phone and corrects its address, a refusal is restored, and the day ends with the report,
//! as a message and as the .xlsx file the bot sends. Every step checks the bot's reply and
//! the database.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use diesel::prelude::*;

use super::transcript::{plain, Transcript};
use super::{BotProcess, Program, Staff};
use crate::bot::texts;
use crate::db::connection::open_read_only;
use crate::domain::money::Kopecks;
use crate::fake_telegram::{FakeTelegram, FakeUser, SentDocument, SentMessage};
use crate::reports::xlsx;
use crate::store::orders::EditableField;
use crate::store::reports;

const WAIT: Duration = Duration::from_secs(10);
const GROUP: i64 = -100_500_001;

#[derive(Clone)]
struct Person {
    user: FakeUser,
    label: String,
}

struct Day {
    fake: FakeTelegram,
    log: Transcript,
    database: PathBuf,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Plays the day; Ok(true) when every scripted expectation held.
pub async fn run(database: Option<&Path>) -> Result<bool, BoxError> {
    let (_scratch, database, backups) = super::workspace(database)?;
    let fake = FakeTelegram::start().await?;
    let person = |id: i64, first: &str, username: Option<&str>, role: &str| Person {
        user: fake.add_user(id, first, username),
        label: format!("{first} ({role})"),
    };
    let admin = person(1001, "Иван", Some("admin_ivan"), "админ");
    let olga = person(1002, "Ольга", Some("disp_olga"), "диспетчер");
    let marina = person(1003, "Марина", None, "диспетчер");
    let sergey = person(2001, "Сергей", Some("master_sergey"), "мастер");
    let alexey = person(2002, "Алексей", None, "мастер");
    let dmitry = person(2003, "Дмитрий", Some("dima_fix"), "мастер");
    fake.add_group(
        GROUP,
        "Бригада Сергея",
        &[sergey.user.id, fake.bot_user().id],
    );

    let staff = Staff {
        admins: vec![admin.user.id],
        dispatchers: vec![olga.user.id, marina.user.id],
    };
    let program = Program::bot(None)?;
    let mut bot = BotProcess::spawn(&program, &fake, &database, &backups, &staff, "info")?;
    let mut day = Day {
        fake: fake.clone(),
        log: Transcript::default(),
        database: database.clone(),
    };
    day.log.section("Запуск");
    match bot.ready(&fake, Duration::from_secs(30)).await {
        Ok(startup) => day.log.note(&format!(
            "бот запущен за {} мс, база {}",
            startup.as_millis(),
            database.display()
        )),
        Err(error) => {
            day.log.check(false, &error);
            println!("{}", day.log.verdict());
            return Ok(false);
        }
    }

    let outcome = day
        .play(&admin, &olga, &marina, &sergey, &alexey, &dmitry)
        .await;
    let usage = bot.stop(Duration::from_secs(15));
    day.log
        .check(usage.status_ok, "бот завершился по SIGTERM без ошибок");
    if let Err(error) = outcome {
        day.log.check(false, &format!("сценарий прерван: {error}"));
    }
    println!("\n{}", day.log.verdict());
    fake.shutdown().await;
    Ok(day.log.failures.is_empty())
}

impl Day {
    fn conn(&self) -> Result<SqliteConnection, BoxError> {
        Ok(open_read_only(&self.database)?)
    }

    fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            v: i64,
        }
        self.conn()
            .ok()
            .and_then(|mut conn| diesel::sql_query(sql).get_result::<Row>(&mut conn).ok())
            .map_or(-1, |row| row.v)
    }

    /// The text `v` of a one-row query; "?" when there is none.
    fn text(&self, sql: &str) -> String {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        self.conn()
            .ok()
            .and_then(|mut conn| diesel::sql_query(sql).get_result::<Row>(&mut conn).ok())
            .map_or_else(|| "?".into(), |row| row.v)
    }

    fn status(&self, order: i64) -> String {
        self.text(&format!(
            "SELECT status AS v FROM orders WHERE id = {order}"
        ))
    }

    /// Waits for the bot to go quiet before the next step.
    async fn settle(&self) {
        self.fake.settle(Duration::from_millis(20), WAIT).await;
    }

    /// Everything the bot sent or edited in `chats` after revision `before`, logged.
    async fn answers(&mut self, chats: &[i64], before: u64, to: &str) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.fake.revision() <= before {
            if tokio::time::Instant::now() > deadline {
                self.log.check(false, &format!("бот не ответил ({to})"));
                return Vec::new();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.settle().await;
        let mut unique = chats.to_vec();
        unique.dedup();
        let mut fresh: Vec<SentMessage> = unique
            .iter()
            .flat_map(|chat| self.fake.messages(*chat))
            .filter(|m| m.revision > before && !m.deleted)
            .collect();
        fresh.sort_by_key(|m| m.revision);
        for message in &fresh {
            self.log.bot(to, message);
        }
        fresh
    }

    async fn say(&mut self, who: &Person, text: &str) -> String {
        self.log.typed(&who.label, text);
        let before = self.fake.revision();
        self.fake.send_text(&who.user, who.user.id, text);
        joined(&self.answers(&[who.user.id], before, &who.label).await)
    }

    async fn menu(&mut self, who: &Person, label: &str) -> String {
        self.log.pressed(&who.label, label);
        let before = self.fake.revision();
        if let Err(error) = self.fake.press_reply_button(&who.user, who.user.id, label) {
            self.log.check(false, &error.to_string());
            return String::new();
        }
        joined(&self.answers(&[who.user.id], before, &who.label).await)
    }

    async fn press_in(&mut self, who: &Person, chat: i64, label: &str) -> String {
        self.log.pressed(&who.label, label);
        let before = self.fake.revision();
        if let Err(error) = self.fake.press_button(&who.user, chat, label) {
            self.log.check(false, &error.to_string());
            return String::new();
        }
        joined(&self.answers(&[chat, who.user.id], before, &who.label).await)
    }

    async fn press(&mut self, who: &Person, label: &str) -> String {
        self.press_in(who, who.user.id, label).await
    }

    /// Opens an order's card in the person's chat (as the 🔄 button of an earlier card does).
    async fn card(&mut self, who: &Person, order: i64) -> String {
        self.log
            .note(&format!("{} открывает карточку заявки №{order}", who.label));
        let before = self.fake.revision();
        let last = self
            .fake
            .last_message(who.user.id)
            .map_or(1, |m| m.message_id);
        self.fake
            .press_callback(&who.user, who.user.id, last, &format!("c:{order}"));
        joined(&self.answers(&[who.user.id], before, &who.label).await)
    }

    fn expect(&mut self, ok: bool, what: &str) {
        self.log.check(ok, what);
    }

    async fn play(
        &mut self,
        admin: &Person,
        olga: &Person,
        marina: &Person,
        sergey: &Person,
        alexey: &Person,
        dmitry: &Person,
    ) -> Result<(), BoxError> {
        self.log.section("Утро: все открывают бота");
        for person in [admin, olga, marina, sergey, alexey, dmitry] {
            let answer = self.say(person, "/start").await;
            self.expect(
                answer.contains("Здравствуйте"),
                &format!("{} получил приветствие", person.label),
            );
        }
        self.expect(
            self.count("SELECT COUNT(*) AS v FROM users") == 6,
            "шесть пользователей зарегистрированы",
        );

        self.log
            .section("Админ добавляет мастеров и привязывает рабочую группу");
        for (master, phone, spec) in [
            (
                sergey,
                "8 900 111-22-33",
                "Стиральные и посудомоечные машины",
            ),
            (alexey, "+7 (900) 222-33-44", "Холодильники"),
            (dmitry, "89003334455", "Электрика, водонагреватели"),
        ] {
            self.menu(admin, "➕ Добавить мастера").await;
            self.say(admin, &master.user.id.to_string()).await;
            if master.user.id == alexey.user.id {
                let wrong = self.say(admin, "222-33-44").await;
                self.expect(
                    wrong.contains("Пример правильного"),
                    "неверный телефон мастера отклонён с примером",
                );
            }
            self.say(admin, phone).await;
            let added = self.say(admin, spec).await;
            self.expect(
                added.contains("добавлен"),
                &format!("мастер {} добавлен", master.label),
            );
        }
        self.expect(
            self.count("SELECT COUNT(*) AS v FROM masters WHERE is_active AND is_approved") == 3,
            "в базе три активных мастера",
        );
        self.menu(admin, "👷 Мастера").await;
        let sergey_master = self.count(&format!(
            "SELECT id AS v FROM masters WHERE telegram_id = {}",
            sergey.user.id
        ));
        let card = self
            .fake
            .messages(admin.user.id)
            .into_iter()
            .rev()
            .find(|m| m.text.contains("Сергей"));
        if let Some(card) = card {
            self.log.pressed(&admin.label, "Привязать рабочую группу");
            let before = self.fake.revision();
            self.fake.press_callback(
                &admin.user,
                admin.user.id,
                card.message_id,
                &format!("mg:{sergey_master}"),
            );
            self.answers(&[admin.user.id], before, &admin.label).await;
            self.log.note(&format!(
                "{} выбирает группу «Бригада Сергея» в окне выбора чата",
                admin.label
            ));
            let before = self.fake.revision();
            self.fake
                .share_chat(&admin.user, sergey_master as i32, GROUP);
            let bound = joined(&self.answers(&[admin.user.id], before, &admin.label).await);
            self.expect(bound.contains("привязана"), "рабочая группа привязана");
        } else {
            self.expect(false, "карточка мастера Сергея показана админу");
        }
        self.expect(
            self.count(&format!(
                "SELECT work_chat_id AS v FROM masters WHERE id = {sergey_master}"
            )) == GROUP,
            "в базе у Сергея рабочая группа",
        );

        self.log.section("Диспетчеры принимают двадцать заявок");
        let mut orders = Vec::new();
        for n in 0..20_usize {
            let dispatcher = if n.is_multiple_of(2) { olga } else { marina };
            let id = self.intake(dispatcher, n).await;
            orders.push((id, dispatcher.clone()));
        }
        self.expect(
            self.count("SELECT COUNT(*) AS v FROM orders") == 20,
            "в базе двадцать заявок",
        );
        self.expect(
            self.count("SELECT COUNT(*) AS v FROM orders WHERE client_phone NOT GLOB '+7[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'") == 0,
            "все телефоны нормализованы к +7XXXXXXXXXX",
        );

        self.log.section("Назначение мастеров");
        let masters = [sergey, alexey, dmitry];
        for (i, (order, dispatcher)) in orders.iter().enumerate().take(16) {
            let master = masters[i % 3];
            self.assign(dispatcher, *order, &master.user.first_name)
                .await;
        }

        self.log.section("Мастера работают");
        // Алексей отказывается от первой своей заявки; Ольга передаёт её Дмитрию.
        let (declined, declined_by) = orders[1].clone();
        self.press_card(alexey, alexey.user.id, declined, "🚫 Отклонить")
            .await;
        self.say(alexey, "Нет нужной запчасти, заказ займёт неделю")
            .await;
        self.expect(
            self.status(declined) == "NEW",
            "отклонённая заявка вернулась в NEW",
        );
        self.expect(
            self.fake
                .messages(declined_by.user.id)
                .iter()
                .any(|m| m.text.contains("Нет нужной запчасти")),
            "диспетчер узнал причину отказа мастера",
        );
        self.assign(&declined_by, declined, "Дмитрий").await;

        // Everyone accepts, goes on site and closes what is theirs; a few stay open.
        let closing: [(usize, &str, &str, bool); 10] = [
            (0, "10 000", "2 000", true),
            (2, "5000", "0", false),
            (3, "3 500,50", "500,25", false),
            (4, "12000 р", "1500", true),
            (5, "7000", "0", false),
            (6, "4 200", "700", true),
            (7, "8 800", "800", false),
            (8, "2500", "2500", false),
            (9, "15 000 руб", "3 000", true),
            (10, "6000", "1000", false),
        ];
        let dr_order = orders[3].0;
        for (index, total, materials, review) in closing {
            let order = orders[index].0;
            let master = self.master_of(order, masters)?;
            let in_group = master.user.id == sergey.user.id;
            let chat = if in_group { GROUP } else { master.user.id };
            self.settle().await;
            let offer_button =
                self.fake.messages(chat).iter().any(|m| {
                    is_about(&m.text, order) && m.buttons().iter().any(|b| b == "✅ Принять")
                });
            self.expect(
                offer_button,
                &format!("мастер получил заявку №{order} с кнопкой «Принять»"),
            );
            self.press_card(master, chat, order, "✅ Принять").await;
            self.expect(
                !self
                    .fake
                    .messages(chat)
                    .iter()
                    .any(|m| is_about(&m.text, order) && m.text.contains("+79")),
                &format!("до приезда телефон клиента заявки №{order} мастеру не виден"),
            );
            let onsite = self.press_card(master, chat, order, "🏠 На месте").await;
            self.expect(
                onsite.contains("+79"),
                &format!("на месте мастер видит телефон клиента (№{order})"),
            );
            if order == dr_order {
                self.press_card(master, chat, order, "⏳ Длительный ремонт")
                    .await;
                self.say(master, "Ждём плату управления").await;
                self.press(master, "Пропустить").await;
                self.press(master, "Пропустить").await;
                self.expect(self.status(order) == "DR", "заявка в длительном ремонте");
                self.press_card(master, chat, order, "🏠 Снова на месте")
                    .await;
                self.expect(self.status(order) == "ONSITE", "мастер снова на месте");
            }
            self.press_card(master, chat, order, "💰 Закрыть заявку")
                .await;
            self.say(master, total).await;
            self.say(master, materials).await;
            let breakdown = self.press(master, if review { "Да" } else { "Нет" }).await;
            self.expect(
                breakdown.contains("закрыта"),
                &format!("заявка №{order} закрыта с расчётом"),
            );
            self.expect(
                self.status(order) == "CLOSED",
                &format!("в базе заявка №{order} CLOSED"),
            );
        }
        let first_close = orders[0].0;
        self.expect(
            self.count(&format!(
                "SELECT master_share_kopecks AS v FROM orders WHERE id = {first_close}"
            )) == 480_000
                && self.count(&format!(
                    "SELECT company_share_kopecks AS v FROM orders WHERE id = {first_close}"
                )) == 320_000,
            "10 000 − 2 000 с отзывом: мастеру 4 800, компании 3 200",
        );
        self.expect(self.count("SELECT COUNT(*) AS v FROM orders WHERE status = 'CLOSED' AND master_share_kopecks + company_share_kopecks <> total_kopecks - materials_kopecks") == 0, "у каждой закрытой заявки мастер + компания = чистая сумма");

        self.log.section("Поиск по телефону и правка адреса");
        // Taken by Марина, assigned to Дмитрий, still open: Ольга finds and corrects it.
        let (corrected, _) = orders[11].clone();
        self.search_and_correct(olga, dmitry, corrected, 11).await;

        self.log.section("Отказ клиента и восстановление");
        let (refused, refuser) = orders[17].clone();
        self.card(&refuser, refused).await;
        self.press(&refuser, "❌ Отказ").await;
        self.say(&refuser, "Клиент передумал, починил сам").await;
        self.expect(
            self.status(refused) == "REFUSED",
            "заявка в статусе REFUSED",
        );
        self.card(&refuser, refused).await;
        self.press(&refuser, "♻️ Восстановить").await;
        self.expect(
            self.status(refused) == "NEW",
            "восстановленная заявка снова NEW",
        );

        self.log.section("Конец дня: отчёт");
        self.report()?;
        self.report_file(admin).await;
        self.expect(
            self.count("SELECT COUNT(*) AS v FROM order_status_history")
                == self.count(
                    "SELECT COUNT(*) AS v FROM audit_log \
                     WHERE entity_type = 'order' AND action <> 'ORDER_EDITED'",
                ),
            "каждой смене статуса — одна строка истории и одна строка аудита",
        );
        Ok(())
    }

    /// `dispatcher` finds order `order` (intake number `n`) by its client's phone typed in
    /// another format, opens it from the results, corrects its address, and finds it again by
    /// a piece of the new address in capitals; its master is told.
    async fn search_and_correct(
        &mut self,
        dispatcher: &Person,
        master: &Person,
        order: i64,
        n: usize,
    ) {
        let found = self
            .search(dispatcher, &format!("+7 916 555 {n:02} {:02}", 10 + n))
            .await;
        self.expect(
            found.len() == 1 && found[0].starts_with(&format!("№{order} ")),
            &format!("поиск по телефону в другом формате нашёл одну заявку №{order}"),
        );
        let Some(result) = found.first() else {
            return;
        };
        let card = self.press(dispatcher, result).await;
        self.expect(
            is_about(&card, order),
            &format!("из результата поиска открылась карточка №{order}"),
        );
        let old_address = self.text(&format!(
            "SELECT client_address AS v FROM orders WHERE id = {order}"
        ));
        self.press(dispatcher, texts::BUTTON_EDIT).await;
        let prompt = self
            .press(dispatcher, texts::field_name(EditableField::Address))
            .await;
        self.expect(
            prompt.contains(&old_address),
            "бот показал текущий адрес перед правкой",
        );
        let new_address = "ул. Садовая, д. 3, кв. 7";
        let before = self.fake.revision();
        let changed = self.say(dispatcher, new_address).await;
        self.expect(
            changed.contains(&plain(&texts::field_changed(
                crate::domain::ids::OrderId(order),
                EditableField::Address,
            ))),
            &format!("адрес заявки №{order} изменён"),
        );
        self.expect(
            self.text(&format!(
                "SELECT client_address AS v FROM orders WHERE id = {order}"
            )) == new_address,
            "в базе новый адрес",
        );
        let audited = self.text(&format!(
            "SELECT details AS v FROM audit_log WHERE action = 'ORDER_EDITED' AND entity_id = {order}"
        ));
        self.expect(
            audited.contains(&old_address) && audited.contains(new_address),
            "в журнале аудита правка со старым и новым адресом",
        );
        let told = self
            .fake
            .wait_for(
                master.user.id,
                |m| m.revision > before && is_about(&m.text, order) && m.text.contains("Садовая"),
                WAIT,
            )
            .await;
        match told {
            Ok(message) => {
                self.log.bot(&master.label, &message);
                self.expect(true, "мастер получил карточку с новым адресом");
            }
            Err(timeout) => self.expect(false, &format!("мастер узнал о правке: {timeout}")),
        }
        let again = self.search(dispatcher, "САДОВАЯ").await;
        self.expect(
            again
                .iter()
                .any(|label| label.starts_with(&format!("№{order} "))),
            "поиск по части нового адреса заглавными нашёл заявку",
        );
    }

    /// A search through «🔎 Поиск»: the labels of the found orders' buttons.
    async fn search(&mut self, who: &Person, text: &str) -> Vec<String> {
        self.menu(who, texts::MENU_SEARCH).await;
        self.say(who, text).await;
        let results = self
            .fake
            .last_message(who.user.id)
            .filter(|m| m.text.contains(&texts::search_header(text)));
        let Some(results) = results else {
            self.expect(false, &format!("бот показал результаты поиска «{text}»"));
            return Vec::new();
        };
        results
            .buttons()
            .into_iter()
            .filter(|label| label.starts_with('№'))
            .collect()
    }

    /// `who` asks the bot for a report over every date the day could have written, and gets
    /// the message and the .xlsx file; the file must open and agree with the database.
    async fn report_file(&mut self, who: &Person) {
        self.menu(who, texts::MENU_REPORTS).await;
        self.press(who, texts::BUTTON_CUSTOM_PERIOD).await;
        // A period and not "today": the bot keeps its own clock, and the day may run over
        // midnight in the company's time zone.
        let before = self.fake.revision();
        let answer = self.say(who, "01.01.2000-31.12.2099").await;
        self.expect(answer.contains("Отчёт:"), "бот прислал отчёт сообщением");
        let file = self
            .fake
            .messages(who.user.id)
            .into_iter()
            .filter(|m| m.revision > before && !m.deleted)
            .find_map(|m| m.document);
        let Some(file) = file else {
            self.expect(false, "бот прислал отчёт файлом");
            return;
        };
        self.expect(
            file.file_name
                .as_deref()
                .is_some_and(|n| n.ends_with(".xlsx")),
            "файл отчёта — .xlsx",
        );
        match read_totals(&file) {
            Ok((closed, total)) => {
                let closed_in_db =
                    self.count("SELECT COUNT(*) AS v FROM orders WHERE status = 'CLOSED'");
                let total_in_db = self.count(
                    "SELECT COALESCE(SUM(total_kopecks), 0) AS v FROM orders WHERE status = 'CLOSED'",
                );
                self.log.note(&format!(
                    "в файле на листе «{}»: закрыто {closed}, сумма {}",
                    xlsx::MASTERS_SHEET,
                    Kopecks(total)
                ));
                self.expect(
                    closed == closed_in_db && total == total_in_db,
                    "файл .xlsx открывается, и его итог совпадает с базой",
                );
            }
            Err(error) => self.expect(false, &format!("файл .xlsx читается: {error}")),
        }
    }

    /// The intake dialogue of order `n`, with the mistakes people make on some of them.
    async fn intake(&mut self, dispatcher: &Person, n: usize) -> i64 {
        const EQUIPMENT: [&str; 5] = [
            "Стиральные машины",
            "Холодильники",
            "Электрика",
            "Посудомоечные машины",
            "Водонагреватели",
        ];
        const PROBLEMS: [&str; 5] = [
            "Не сливает воду, гудит при отжиме",
            "Не морозит морозильная камера",
            "Выбивает автомат в ванной",
            "Течёт снизу после запуска",
            "Вода не нагревается выше 30 градусов",
        ];
        const CLIENTS: [&str; 4] = ["Мария Ивановна", "Олег", "ООО «Ромашка»", "Светлана"];
        self.menu(dispatcher, "📝 Новая заявка").await;
        self.press(dispatcher, EQUIPMENT[n % 5]).await;
        if n == 4 {
            let long = "Очень подробное описание. ".repeat(30);
            let refused = self.say(dispatcher, &long).await;
            self.expect(
                refused.contains("не больше 500"),
                "слишком длинное описание отклонено",
            );
        }
        self.say(dispatcher, PROBLEMS[n % 5]).await;
        if n % 7 == 3 {
            let wrong = self.say(dispatcher, "12-34-56").await;
            self.expect(
                wrong.contains("Пример правильного"),
                "неверный телефон клиента отклонён с примером",
            );
        }
        self.say(dispatcher, &format!("8 (916) 555-{:02}-{:02}", n, 10 + n))
            .await;
        self.say(dispatcher, CLIENTS[n % 4]).await;
        self.say(
            dispatcher,
            &format!("ул. Лесная, д. {}, кв. {}", n + 1, 10 + n),
        )
        .await;
        if n.is_multiple_of(3) {
            self.say(dispatcher, "Домофон не работает, звонить заранее")
                .await;
        } else {
            self.press(dispatcher, "Пропустить").await;
        }
        if n.is_multiple_of(4) {
            self.say(dispatcher, "сегодня после 14:00").await;
        } else {
            self.press(dispatcher, "Пропустить").await;
        }
        let created = self.press(dispatcher, "✅ Создать заявку").await;
        self.expect(
            created.contains("создана"),
            &format!("заявка {} создана", n + 1),
        );
        self.count("SELECT MAX(id) AS v FROM orders")
    }

    async fn assign(&mut self, dispatcher: &Person, order: i64, master_name: &str) {
        self.card(dispatcher, order).await;
        self.press(dispatcher, "👤 Назначить мастера").await;
        // The picker is the newest message with the masters' buttons: a staff copy of
        // someone's new order may have arrived after it.
        let label = self
            .fake
            .messages(dispatcher.user.id)
            .iter()
            .rev()
            .find_map(|m| m.buttons().into_iter().find(|b| b.starts_with(master_name)));
        match label {
            Some(label) => {
                self.press(dispatcher, &label).await;
                self.expect(
                    self.status(order) == "ASSIGNED",
                    &format!("заявка №{order} назначена мастеру {master_name}"),
                );
            }
            None => self.expect(false, &format!("мастер {master_name} есть в списке")),
        }
    }

    /// Presses a button on the newest card of this order in the chat.
    async fn press_card(&mut self, who: &Person, chat: i64, order: i64, label: &str) -> String {
        self.settle().await;
        let prefix = format!("o:{order}:");
        let card = self.fake.messages(chat).into_iter().rev().find(|m| {
            m.callback_data(label)
                .is_some_and(|data| data.starts_with(&prefix))
        });
        let Some(card) = card else {
            self.expect(
                false,
                &format!("на карточке №{order} есть кнопка [{label}]"),
            );
            return String::new();
        };
        self.log.pressed(&who.label, label);
        let before = self.fake.revision();
        let data = card.callback_data(label).unwrap_or_default().to_string();
        self.fake
            .press_callback(&who.user, chat, card.message_id, &data);
        joined(&self.answers(&[chat, who.user.id], before, &who.label).await)
    }

    fn master_of<'p>(&self, order: i64, masters: [&'p Person; 3]) -> Result<&'p Person, BoxError> {
        let telegram_id = self.count(&format!(
            "SELECT m.telegram_id AS v FROM orders o JOIN masters m ON m.id = o.assigned_master_id WHERE o.id = {order}"
        ));
        masters
            .into_iter()
            .find(|p| p.user.id == telegram_id)
            .ok_or_else(|| format!("order {order} has no master").into())
    }

    /// The day's report from the database, checked against sums computed independently.
    fn report(&mut self) -> Result<(), BoxError> {
        let mut conn = self.conn()?;
        // The bot process keeps its own clock (it starts with a cleared environment, so a
        // faked clock of ours does not reach it): the report spans every timestamp the bot
        // could have written instead of a window around our own now.
        let at_midnight = |year| {
            chrono::NaiveDate::from_ymd_opt(year, 1, 1)
                .and_then(|day| day.and_hms_opt(0, 0, 0))
                .unwrap_or_default()
        };
        let (from, to) = (at_midnight(2000), at_midnight(9999));
        let lines = reports::per_master(&mut conn, from, to)?;
        let statuses = reports::per_status(&mut conn, from, to)?;
        println!("\nОтчёт за день");
        println!(
            "{:<10} {:>6} {:>7} {:>7} {:>14} {:>12} {:>14} {:>14} {:>14} {:>7}",
            "Мастер",
            "Заявок",
            "Закрыто",
            "Отказов",
            "Сумма",
            "Материалы",
            "Чистыми",
            "Мастеру",
            "Компании",
            "Отзывов"
        );
        for line in &lines {
            let f = &line.figures;
            println!(
                "{:<10} {:>6} {:>7} {:>7} {:>14} {:>12} {:>14} {:>14} {:>14} {:>7}",
                line.name(),
                f.orders,
                f.closed,
                f.refused,
                Kopecks(f.total).to_string(),
                Kopecks(f.materials).to_string(),
                Kopecks(f.net()).to_string(),
                Kopecks(f.master_share).to_string(),
                Kopecks(f.company_share).to_string(),
                f.reviews
            );
        }
        let statuses: Vec<String> = statuses
            .iter()
            .filter(|s| s.orders > 0)
            .map(|s| format!("{} {}", s.status, s.orders))
            .collect();
        println!("По статусам: {}", statuses.join(", "));
        let total: i64 = lines.iter().map(|l| l.figures.total).sum();
        let shares: i64 = lines
            .iter()
            .map(|l| l.figures.master_share + l.figures.company_share)
            .sum();
        let materials: i64 = lines.iter().map(|l| l.figures.materials).sum();
        self.expect(total == self.count("SELECT COALESCE(SUM(total_kopecks), 0) AS v FROM orders WHERE status = 'CLOSED'"), "сумма в отчёте равна сумме закрытых заявок в базе");
        self.expect(
            shares == total - materials,
            "в отчёте доли мастеров и компании складываются в чистую сумму",
        );
        self.expect(
            lines.iter().map(|l| l.figures.closed).sum::<i64>() == 10,
            "в отчёте десять закрытых заявок",
        );
        Ok(())
    }
}

/// The closed orders and their total (kopecks) in the "Итого" line of the report file's
/// masters sheet, read as a spreadsheet program would.
fn read_totals(file: &SentDocument) -> Result<(i64, i64), BoxError> {
    let mut book = Xlsx::new(Cursor::new(file.bytes.clone()))?;
    let sheet = book.worksheet_range(xlsx::MASTERS_SHEET)?;
    let totals = sheet
        .rows()
        .find(|row| matches!(row.first(), Some(Data::String(label)) if label == xlsx::TOTAL_LABEL))
        .ok_or("no line of totals")?;
    let column = |header: &str| {
        let at = xlsx::FIGURE_HEADERS.iter().position(|h| *h == header);
        match at.and_then(|at| totals.get(at + 1)) {
            Some(Data::Float(value)) => Ok(*value),
            Some(Data::Int(value)) => Ok(*value as f64),
            other => Err(format!("{header}: {other:?}")),
        }
    };
    let closed = column("Закрыто")?;
    // Money is in rubles in the file; back to kopecks for the comparison.
    let total = column("Сумма, ₽")? * 100.0;
    Ok((closed.round() as i64, total.round() as i64))
}

fn joined(messages: &[SentMessage]) -> String {
    messages
        .iter()
        .map(|m| plain(&m.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a message is about order `order` ("№12" is not about order 1).
fn is_about(text: &str, order: i64) -> bool {
    let needle = format!("№{order}");
    text.match_indices(&needle)
        .any(|(at, _)| !text[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
}
