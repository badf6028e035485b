//! The fake Bot API driven by a real `teloxide::Bot`: what teloxide sends must be understood,
//! and what the fake answers must deserialize in teloxide.

use std::time::{Duration, Instant};

use repair_bot::fake_telegram::{FakeError, FakeTelegram, FakeUser};
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton,
    KeyboardButtonRequestChat, KeyboardMarkup, KeyboardRemove, MessageEntityKind, MessageId,
    ParseMode, RequestId, UpdateKind,
};
use teloxide::utils::command::BotCommands;
use teloxide::{ApiError, RequestError};

const WAIT: Duration = Duration::from_secs(10);

async fn setup() -> (FakeTelegram, Bot, FakeUser) {
    let fake = FakeTelegram::start().await.unwrap();
    let bot = Bot::new(fake.token()).set_api_url(fake.url());
    let user = fake.add_user(100000005, "Пётр", Some("petr"));
    (fake, bot, user)
}

fn message(update: &Update) -> &Message {
    match &update.kind {
        UpdateKind::Message(message) => message,
        other => panic!("not a message: {other:?}"),
    }
}

fn callback(update: &Update) -> &CallbackQuery {
    match &update.kind {
        UpdateKind::CallbackQuery(query) => query,
        other => panic!("not a callback query: {other:?}"),
    }
}

fn orders_keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("Принять", "accept:7"),
        InlineKeyboardButton::callback("Отказаться", "refuse:7"),
    ]])
}

#[tokio::test]
async fn get_me_describes_the_bot_and_checks_the_token() {
    let (fake, bot, _) = setup().await;
    let me = bot.get_me().await.unwrap();
    assert!(me.is_bot);
    assert_eq!(me.id.0 as i64, fake.bot_user().id);
    assert_eq!(me.username(), "fake_repair_bot");
    assert_eq!(fake.calls("getMe").len(), 1);
    assert_eq!(fake.calls("getMe")[0].method, "getMe");

    let stranger = Bot::new("1:wrong").set_api_url(fake.url());
    let error = stranger.get_me().await.unwrap_err();
    assert!(
        matches!(error, RequestError::Api(ApiError::InvalidToken)),
        "{error:?}"
    );

    fake.shutdown().await;
    let error = bot.get_me().await.unwrap_err();
    assert!(matches!(error, RequestError::Network(_)), "{error:?}");
}

#[tokio::test]
async fn get_updates_honours_offset_limit_and_long_polling() {
    let (fake, bot, user) = setup().await;
    let start = fake.send_text(&user, user.id, "/start");
    fake.send_text(&user, user.id, "привет");
    assert_eq!(fake.pending_updates(), 2);

    let updates = bot.get_updates().limit(1).await.unwrap();
    assert_eq!(updates.len(), 1);
    let first = message(&updates[0]);
    assert_eq!(first.id.0, start);
    assert_eq!(first.text(), Some("/start"));
    assert!(first.chat.is_private());
    assert_eq!(first.chat.id.0, user.id);
    assert_eq!(first.chat.username(), Some("petr"));
    let from = first.from.as_ref().unwrap();
    assert_eq!(
        (from.id.0 as i64, from.first_name.as_str()),
        (user.id, "Пётр")
    );
    let entity = &first.entities().unwrap()[0];
    assert_eq!(
        (&entity.kind, entity.offset, entity.length),
        (&MessageEntityKind::BotCommand, 0, 6)
    );

    // Unconfirmed updates come again, until an offset confirms them.
    let updates = bot.get_updates().await.unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(message(&updates[1]).text(), Some("привет"));
    let offset = updates[1].id.as_offset();
    assert!(bot
        .get_updates()
        .offset(offset)
        .timeout(0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(fake.pending_updates(), 0);

    // An empty long poll lasts its timeout.
    let started = Instant::now();
    assert!(bot
        .get_updates()
        .offset(offset)
        .timeout(1)
        .await
        .unwrap()
        .is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A long poll returns as soon as an update is queued.
    let polls = fake.calls("getUpdates").len();
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().offset(offset).timeout(30).await }
    });
    while fake.calls("getUpdates").len() == polls {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    fake.send_text(&user, user.id, "ещё");
    let updates = poll.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(updates.len(), 1);
    assert_eq!(message(&updates[0]).text(), Some("ещё"));
    assert_eq!(
        fake.calls("getupdates").last().unwrap().params["timeout"],
        30
    );
}

#[tokio::test]
async fn pressing_an_inline_button_sends_its_callback_data() {
    let (fake, bot, user) = setup().await;
    let chat = ChatId(user.id);
    let sent = bot
        .send_message(chat, "Заказ №7")
        .reply_markup(orders_keyboard())
        .await
        .unwrap();
    assert_eq!(sent.reply_markup(), Some(&orders_keyboard()));
    assert_eq!(sent.from.as_ref().unwrap().id.0 as i64, fake.bot_user().id);
    assert_eq!(sent.text(), Some("Заказ №7"));
    let stored = fake.last_message(user.id).unwrap();
    assert_eq!(stored.buttons(), ["Принять", "Отказаться"]);
    assert_eq!(stored.callback_data("Отказаться"), Some("refuse:7"));

    let query_id = fake.press_button(&user, user.id, "Принять").unwrap();
    let updates = bot.get_updates().await.unwrap();
    let query = callback(&updates[0]);
    assert_eq!(query.id.0, query_id);
    assert_eq!(query.data.as_deref(), Some("accept:7"));
    assert_eq!(query.from.id.0 as i64, user.id);
    assert_eq!(query.regular_message().unwrap().id, sent.id);
    assert_eq!(
        query.regular_message().unwrap().reply_markup(),
        Some(&orders_keyboard())
    );

    bot.answer_callback_query(query.id.clone())
        .text("Принято")
        .await
        .unwrap();
    let answers = fake.callback_answers();
    assert_eq!(
        (answers[0].query_id.as_str(), answers[0].text.as_deref()),
        (query_id.as_str(), Some("Принято"))
    );
    // As in Telegram, a query is answered once.
    let error = bot
        .answer_callback_query(query.id.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(error, RequestError::Api(ApiError::InvalidQueryId)),
        "{error:?}"
    );

    let missing = fake.press_button(&user, user.id, "Готово").unwrap_err();
    assert_eq!(missing.available, ["Принять", "Отказаться"]);

    // A forged press on a message that never existed arrives as an inaccessible message.
    fake.press_callback(&user, user.id, 999, "accept:7");
    let offset = updates[0].id.as_offset();
    let updates = bot.get_updates().offset(offset).await.unwrap();
    let forged = callback(&updates[0]);
    assert_eq!(forged.data.as_deref(), Some("accept:7"));
    assert!(forged.regular_message().is_none());
    assert_eq!(forged.message.as_ref().unwrap().id().0, 999);
}

#[tokio::test]
async fn edits_and_deletions_change_the_stored_message() {
    let (fake, bot, user) = setup().await;
    let chat = ChatId(user.id);
    let sent = bot
        .send_message(chat, "Статус: новый")
        .reply_markup(orders_keyboard())
        .await
        .unwrap();
    let revision = fake.revision();

    let edited = bot
        .edit_message_text(chat, sent.id, "Статус: <b>принят</b>")
        .parse_mode(ParseMode::Html)
        .await
        .unwrap();
    assert!(edited.edit_date().is_some());
    assert_eq!(edited.text(), Some("Статус: <b>принят</b>"));
    // An edit without reply_markup drops the inline keyboard, as in Telegram.
    assert_eq!(edited.reply_markup(), None);
    let stored = fake.messages(user.id);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text, "Статус: <b>принят</b>");
    assert_eq!(stored[0].parse_mode.as_deref(), Some("HTML"));
    assert!(stored[0].edit_date.is_some() && stored[0].revision > revision);
    assert!(stored[0].buttons().is_empty());

    let same = bot
        .edit_message_text(chat, sent.id, "Статус: <b>принят</b>")
        .parse_mode(ParseMode::Html)
        .await;
    assert!(
        matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))),
        "{same:?}"
    );

    let with_keyboard = bot
        .edit_message_reply_markup(chat, sent.id)
        .reply_markup(orders_keyboard())
        .await
        .unwrap();
    assert_eq!(with_keyboard.reply_markup(), Some(&orders_keyboard()));
    assert_eq!(
        fake.last_message(user.id).unwrap().buttons(),
        ["Принять", "Отказаться"]
    );

    let waited = fake
        .wait_for(
            user.id,
            |m| m.text.contains("принят") && !m.buttons().is_empty(),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(waited.message_id, sent.id.0);

    let unknown = bot.edit_message_text(chat, MessageId(4242), "x").await;
    assert!(
        matches!(
            unknown,
            Err(RequestError::Api(ApiError::MessageToEditNotFound))
        ),
        "{unknown:?}"
    );

    bot.delete_message(chat, sent.id).await.unwrap();
    assert!(fake.messages(user.id)[0].deleted);
    assert_eq!(fake.last_message(user.id), None);
    let again = bot.delete_message(chat, sent.id).await;
    assert!(
        matches!(
            again,
            Err(RequestError::Api(ApiError::MessageToDeleteNotFound))
        ),
        "{again:?}"
    );
    // The bot may delete what users wrote, too.
    let written = fake.send_text(&user, user.id, "секрет");
    bot.delete_message(chat, MessageId(written)).await.unwrap();

    let timeout = fake
        .wait_for(user.id, |m| m.text == "никогда", Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(timeout.to_string().contains("(deleted)"), "{timeout}");
}

#[tokio::test]
async fn send_document_records_the_file() {
    let (fake, bot, user) = setup().await;
    let chat = ChatId(user.id);
    let csv = b"id;total\n7;2500\n".to_vec();
    let file = InputFile::memory(csv.clone()).file_name("отчёт \"день\".csv");
    let sent = bot
        .send_document(chat, file)
        .caption("Отчёт за день")
        .await
        .unwrap();
    let document = sent.document().unwrap();
    assert_eq!(document.file_name.as_deref(), Some("отчёт \"день\".csv"));
    assert_eq!(document.file.size as usize, csv.len());
    assert_eq!(sent.caption(), Some("Отчёт за день"));

    let stored = fake.last_message(user.id).unwrap();
    assert_eq!(stored.text, "Отчёт за день");
    let stored_document = stored.document.unwrap();
    assert_eq!(stored_document.bytes, csv);
    assert_eq!(
        stored_document.file_name.as_deref(),
        Some("отчёт \"день\".csv")
    );
    let call = &fake.calls("sendDocument")[0];
    assert_eq!(call.params["chat_id"], user.id.to_string());
    assert_eq!(call.params["caption"], "Отчёт за день");
    assert_eq!(call.params["document"]["size"], csv.len());

    // A file from disk is streamed with chunked transfer encoding.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let keyboard = orders_keyboard();
    let sent = bot
        .send_document(chat, InputFile::file(&path))
        .reply_markup(keyboard.clone())
        .await
        .unwrap();
    assert_eq!(sent.reply_markup(), Some(&keyboard));
    let stored = fake.last_message(user.id).unwrap().document.unwrap();
    assert_eq!(stored.file_name.as_deref(), Some("backup.db"));
    assert!(stored.bytes == bytes, "file bytes differ");

    // Resending by file_id reuses the stored file.
    let file_id = sent.document().unwrap().file.id.clone();
    bot.send_document(chat, InputFile::file_id(file_id))
        .await
        .unwrap();
    assert!(fake.last_message(user.id).unwrap().document.unwrap().bytes == bytes);
}

#[tokio::test]
async fn injected_failures_reach_teloxide_as_its_errors() {
    let (fake, bot, user) = setup().await;
    let chat = ChatId(user.id);

    fake.fail_next("sendMessage", 1, FakeError::RetryAfter(7));
    let error = bot.send_message(chat, "раз").await.unwrap_err();
    assert!(
        matches!(error, RequestError::RetryAfter(seconds) if seconds.seconds() == 7),
        "{error:?}"
    );
    bot.send_message(chat, "раз").await.unwrap();

    fake.fail_next("SendMessage", 1, FakeError::Network);
    let error = bot.send_message(chat, "два").await.unwrap_err();
    assert!(matches!(error, RequestError::Network(_)), "{error:?}");

    let blocked = "Forbidden: bot was blocked by the user";
    fake.fail_next("sendmessage", 2, FakeError::Status(403, blocked.into()));
    for _ in 0..2 {
        let error = bot.send_message(chat, "три").await.unwrap_err();
        assert!(
            matches!(error, RequestError::Api(ApiError::BotBlocked)),
            "{error:?}"
        );
    }
    bot.send_message(chat, "четыре").await.unwrap();

    let injected: Vec<_> = fake
        .calls("sendMessage")
        .into_iter()
        .map(|c| c.injected)
        .collect();
    assert_eq!(
        injected,
        [
            Some(FakeError::RetryAfter(7)),
            None,
            Some(FakeError::Network),
            Some(FakeError::Status(403, blocked.into())),
            Some(FakeError::Status(403, blocked.into())),
            None
        ]
    );
    let texts: Vec<_> = fake.messages(user.id).into_iter().map(|m| m.text).collect();
    assert_eq!(texts, ["раз", "четыре"]);

    fake.set_blocked(user.id, true);
    let error = bot.send_message(chat, "пять").await.unwrap_err();
    assert!(
        matches!(error, RequestError::Api(ApiError::BotBlocked)),
        "{error:?}"
    );
}

#[tokio::test]
async fn chat_members_and_chats_of_registered_groups() {
    let (fake, bot, user) = setup().await;
    let group = ChatId(-1001234567890);
    fake.add_group(group.0, "Мастера", &[user.id]);
    let bot_id = UserId(fake.bot_user().id as u64);

    let member = bot.get_chat_member(group, bot_id).await.unwrap();
    assert!(member.kind.is_administrator(), "{member:?}");
    let member = bot
        .get_chat_member(group, UserId(user.id as u64))
        .await
        .unwrap();
    assert!(member.kind.is_member());
    assert_eq!(member.user.username.as_deref(), Some("petr"));
    fake.set_bot_admin(group.0, false);
    assert!(bot
        .get_chat_member(group, bot_id)
        .await
        .unwrap()
        .kind
        .is_member());

    let unknown = bot.get_chat_member(ChatId(-1009999), bot_id).await;
    assert!(
        matches!(unknown, Err(RequestError::Api(ApiError::ChatNotFound))),
        "{unknown:?}"
    );

    let chat = bot.get_chat(group).await.unwrap();
    assert!(chat.is_supergroup());
    assert_eq!(chat.title(), Some("Мастера"));
    let private = bot.get_chat(ChatId(user.id)).await.unwrap();
    assert_eq!(
        (private.first_name(), private.username()),
        (Some("Пётр"), Some("petr"))
    );

    let sent = bot.send_message(group, "Новый заказ").await.unwrap();
    assert_eq!(sent.chat.title(), Some("Мастера"));
    let nowhere = bot.send_message(ChatId(-1009999), "x").await;
    assert!(
        matches!(nowhere, Err(RequestError::Api(ApiError::ChatNotFound))),
        "{nowhere:?}"
    );

    fake.send_text(&user, group.0, "/start@fake_repair_bot");
    let updates = bot.get_updates().await.unwrap();
    let message = message(&updates[0]);
    assert!(message.chat.is_supergroup());
    assert_eq!(
        message.entities().unwrap()[0].length,
        "/start@fake_repair_bot".len()
    );
}

#[tokio::test]
async fn reply_keyboards_and_the_chat_picker() {
    let (fake, bot, user) = setup().await;
    let chat = ChatId(user.id);
    let picker = KeyboardButtonRequestChat::new(RequestId(1), false);
    let choose_group =
        KeyboardButton::new("Выбрать группу").request(ButtonRequest::RequestChat(picker));
    let keyboard =
        KeyboardMarkup::new([vec![KeyboardButton::new("Мои заказы")], vec![choose_group]])
            .resize_keyboard();
    let sent = bot
        .send_message(chat, "Меню")
        .reply_markup(keyboard)
        .await
        .unwrap();
    // Reply keyboards are not echoed in the message (teloxide's reply_markup is inline only).
    assert_eq!(sent.reply_markup(), None);
    let labels = fake.reply_keyboard(user.id).unwrap();
    assert_eq!(
        labels,
        [
            vec!["Мои заказы".to_string()],
            vec!["Выбрать группу".to_string()]
        ]
    );

    fake.press_reply_button(&user, user.id, "Мои заказы")
        .unwrap();
    let picker_press = fake
        .press_reply_button(&user, user.id, "Выбрать группу")
        .unwrap_err();
    assert_eq!(picker_press.available, ["Мои заказы"]);
    fake.add_group(-100555, "Мастера", &[user.id]);
    fake.share_chat(&user, 1, -100555);

    let updates = bot.get_updates().await.unwrap();
    assert_eq!(message(&updates[0]).text(), Some("Мои заказы"));
    let shared = message(&updates[1]).shared_chat().unwrap();
    assert_eq!(
        (shared.request_id, shared.chat_id),
        (RequestId(1), ChatId(-100555))
    );
    assert_eq!(shared.title.as_deref(), Some("Мастера"));

    bot.send_message(chat, "Готово")
        .reply_markup(KeyboardRemove::new())
        .await
        .unwrap();
    assert_eq!(fake.reply_keyboard(user.id), None);
}

#[derive(BotCommands, Clone)]
#[command(rename_rule = "lowercase")]
enum Command {
    Start,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_answers_start_over_long_polling_and_confirms_it() {
    let (fake, bot, user) = setup().await;
    let handler =
        Update::filter_message().branch(dptree::entry().filter_command::<Command>().endpoint(
            |bot: Bot, msg: Message, cmd: Command| async move {
                match cmd {
                    Command::Start => {
                        let name = msg.from.map(|u| u.first_name).unwrap_or_default();
                        bot.send_message(msg.chat.id, format!("Здравствуйте, {name}!"))
                            .await?;
                    }
                }
                respond(())
            },
        ));
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let shutdown = dispatcher.shutdown_token();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });

    fake.send_text(&user, user.id, "/start");
    let reply = fake
        .wait_for(user.id, |m| m.text.starts_with("Здравствуйте"), WAIT)
        .await
        .unwrap();
    assert_eq!(reply.text, "Здравствуйте, Пётр!");

    // The dispatcher's next getUpdates confirms /start.
    assert!(
        fake.wait_confirmed(WAIT).await,
        "/start was never confirmed"
    );
    // teloxide's own Dispatcher stops only after the long poll in flight returns (10 s, longer
    // on a loaded machine): not a bound of ours (the bot polls with its own loop, bot::polling,
    // whose shutdown is tested there), so the task is dropped.
    let _ = shutdown.shutdown();
    running.abort();
    assert_eq!(fake.calls("getMe").len(), 1);
}

/// A long poll whose client hung up (the bot stopped, or gave up on it) is dropped with its
/// connection: it does not hand the next update to nobody. (Only the load sandbox can tell,
/// by the hand-out it measures latency from.)
#[tokio::test]
async fn a_long_poll_the_client_dropped_hands_nothing_out() {
    use repair_bot::fake_telegram::Observed;
    let (fake, bot, user) = setup().await;
    let mut feed = fake.watch();
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(30).await }
    });
    while fake.calls("getUpdates").is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    poll.abort();
    let _ = poll.await;
    // The server sees the connection close within milliseconds; the margins are generous.
    tokio::time::sleep(Duration::from_millis(500)).await;
    fake.send_text(&user, user.id, "после");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(feed.try_recv().is_err(), "the dropped poll handed it out");

    let updates = bot.get_updates().await.unwrap();
    assert_eq!(updates.len(), 1);
    let Some(Observed::HandedOut { update_id, .. }) = feed.recv().await else {
        panic!("the next poll hands it out");
    };
    assert_eq!(update_id, updates[0].id.0);
}
