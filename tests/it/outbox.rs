//! The outbox: messages owed because of a change survive a crash between the commit and the
//! send and are delivered exactly once after the restart; the sender keeps Telegram's pace
//! (a group never gets more than 20 in a minute, a 429 holds back only its chat), retries
//! network errors with back-off, gives up on chats that refuse for good with the reason,
//! falls back from a refusing work group to the master, and merges waiting staff copies.
//!
//! The pace is replayed: [`Sender::round`] takes its moment as an offset, so a simulated minute
//! of sending takes milliseconds and nothing depends on the wall clock.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use repair_bot::bot::outbox::{SendLimits, Sender};
use repair_bot::bot::{texts, App};
use repair_bot::clock::ManualClock;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::{pool, startup};
use repair_bot::fake_telegram::{FakeError, FakeTelegram, FakeUser};
use repair_bot::store::outbox::{self, NewMessage};
use teloxide::prelude::*;

use crate::support::{bot_config, int, Sandbox};

const WAIT: Duration = Duration::from_secs(20);

/// The sender over a migrated database, against the fake, with no loop of its own running:
/// the test plays its rounds.
struct Bench {
    fake: FakeTelegram,
    sandbox: Sandbox,
    sender: Sender,
}

impl Bench {
    async fn start(limits: SendLimits) -> Bench {
        let sandbox = Sandbox::new();
        drop(startup::prepare(&sandbox.settings(), &Catalog::embedded()).unwrap());
        let fake = FakeTelegram::start().await.unwrap();
        let mut config = bot_config(fake.token(), &[], &[]);
        config.send_limits = limits;
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap());
        let pool = pool::build(&sandbox.db).unwrap();
        let app = App::new(pool, config, Arc::new(clock), sandbox.settings());
        let bot = Bot::new(fake.token()).set_api_url(fake.url());
        Bench {
            fake,
            sandbox,
            sender: Sender { bot, app },
        }
    }

    fn queue(&self, messages: &[NewMessage]) {
        let now = Utc::now().naive_utc();
        outbox::enqueue(&mut self.sandbox.conn(), messages, now).unwrap();
    }

    async fn round_at(&self, seconds: f64) -> repair_bot::bot::outbox::Round {
        self.sender
            .round(Duration::from_secs_f64(seconds))
            .await
            .unwrap()
    }

    fn user(&self, id: i64) -> FakeUser {
        self.fake.add_user(id, "Тест", None)
    }

    fn calls_to(&self, chat: i64) -> usize {
        self.fake
            .calls("sendMessage")
            .iter()
            .filter(|call| call.params["chat_id"].as_i64() == Some(chat))
            .count()
    }

    fn waiting(&self) -> i64 {
        int(
            &mut self.sandbox.conn(),
            "SELECT COUNT(*) AS v FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_never_receives_more_than_twenty_messages_in_a_minute() {
    let bench = Bench::start(SendLimits::default()).await;
    const GROUP: i64 = -100_200_300;
    bench
        .fake
        .add_group(GROUP, "Бригада", &[bench.fake.bot_user().id]);
    let owed: Vec<NewMessage> = (1..=45)
        .map(|n| NewMessage::to(GROUP, format!("сообщение {n}")))
        .collect();
    bench.queue(&owed);

    // A round every quarter of a simulated second for three minutes and a half.
    let mut arrivals: Vec<f64> = Vec::new();
    for step in 0..=840 {
        let at = f64::from(step) * 0.25;
        bench.round_at(at).await;
        let delivered = bench.fake.messages(GROUP).len();
        arrivals.resize(delivered, at);
    }
    assert_eq!(arrivals.len(), 45, "every message is delivered");
    for (i, at) in arrivals.iter().enumerate().skip(20) {
        assert!(
            at - arrivals[i - 20] >= 60.0,
            "21 messages within a minute: {arrivals:?}"
        );
    }
    for pair in arrivals.windows(2) {
        assert!(pair[1] - pair[0] >= 1.0, "one a second: {arrivals:?}");
    }
    assert!(
        arrivals[19] < 20.0,
        "no slower than the limits: {arrivals:?}"
    );
    let texts: Vec<String> = bench
        .fake
        .messages(GROUP)
        .into_iter()
        .map(|m| m.text)
        .collect();
    let expected: Vec<String> = (1..=45).map(|n| format!("сообщение {n}")).collect();
    assert_eq!(texts, expected, "in the order they were queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_delays_only_the_chat_it_names() {
    let bench = Bench::start(SendLimits::default()).await;
    let (slow, other) = (bench.user(501), bench.user(502));
    bench.queue(&[
        NewMessage::to(slow.id, "медленному"),
        NewMessage::to(other.id, "первое"),
        NewMessage::to(other.id, "второе"),
        NewMessage::to(other.id, "третье"),
    ]);
    bench
        .fake
        .fail_next_in_chat("sendMessage", slow.id, 1, FakeError::RetryAfter(30));

    let first = bench.round_at(0.0).await;
    assert_eq!(first.sent, 1, "the other chat got its first");
    for at in [1.0, 2.0, 10.0, 29.5] {
        bench.round_at(at).await;
    }
    assert_eq!(bench.fake.messages(other.id).len(), 3, "not held back");
    assert_eq!(
        bench.calls_to(slow.id),
        1,
        "nothing to it before retry_after"
    );
    assert!(bench.fake.messages(slow.id).is_empty());

    bench.round_at(30.0).await;
    let delivered = bench.fake.messages(slow.id);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].text, "медленному");
    assert_eq!(bench.waiting(), 0);
    let error = crate::support::opt_text(
        &mut bench.sandbox.conn(),
        &format!(
            "SELECT last_error AS v FROM outbox WHERE chat_id = {}",
            slow.id
        ),
    )
    .unwrap_or_default();
    assert!(error.contains("wait"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_errors_are_retried_with_growing_pauses_and_delivered_once() {
    let bench = Bench::start(SendLimits::default()).await;
    let user = bench.user(601);
    bench.queue(&[NewMessage::to(user.id, "после сбоя")]);
    bench
        .fake
        .fail_next_in_chat("sendMessage", user.id, 3, FakeError::Network);
    let mut attempts_at = Vec::new();
    for step in 0..=100 {
        let at = f64::from(step) * 0.1;
        let before = bench.calls_to(user.id);
        bench.round_at(at).await;
        if bench.calls_to(user.id) > before {
            attempts_at.push(at);
        }
    }
    assert_eq!(
        attempts_at.len(),
        4,
        "three failures, then success: {attempts_at:?}"
    );
    let pauses: Vec<f64> = attempts_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        pauses.windows(2).all(|w| w[1] > w[0]),
        "back-off grows: {pauses:?}"
    );
    assert_eq!(bench.fake.messages(user.id).len(), 1);
    assert_eq!(bench.waiting(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_refuses_for_good_is_marked_with_the_reason_and_not_retried() {
    let bench = Bench::start(SendLimits::default()).await;
    let blocked = bench.user(701);
    bench.fake.set_blocked(blocked.id, true);
    bench.queue(&[NewMessage::to(blocked.id, "не дойдёт")]);
    for at in 0..120 {
        bench.round_at(f64::from(at)).await;
    }
    assert_eq!(bench.calls_to(blocked.id), 1, "tried once, not forever");
    assert_eq!(bench.waiting(), 0);
    let failure = crate::support::opt_text(
        &mut bench.sandbox.conn(),
        "SELECT failure AS v FROM outbox WHERE failed_at IS NOT NULL",
    )
    .unwrap_or_default();
    assert!(failure.contains("blocked"), "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_group_that_refuses_hands_the_message_to_the_master_privately() {
    let bench = Bench::start(SendLimits::default()).await;
    let master = bench.user(801);
    const GONE_GROUP: i64 = -100_999; // the bot was removed: Telegram does not know it for us
    bench.queue(&[NewMessage::to(GONE_GROUP, "@master\nзаявка №5 ваша")
        .or_else_to(master.id, "заявка №5 ваша")]);
    bench.round_at(0.0).await;
    bench.round_at(1.0).await;
    let private = bench.fake.messages(master.id);
    assert_eq!(private.len(), 1, "{private:?}");
    assert_eq!(
        private[0].text, "заявка №5 ваша",
        "without the group's mention"
    );
    assert_eq!(bench.waiting(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_copies_of_orders_arriving_together_become_one_digest() {
    let bench = Bench::start(SendLimits::default()).await;
    let admin = bench.user(901);
    let copies: Vec<NewMessage> = (11..=15)
        .map(|id| {
            NewMessage::to(admin.id, format!("🆕 Новая заявка №{id}"))
                .in_digest(texts::DIGEST_NEW_ORDERS, format!("№{id} адрес {id}"))
        })
        .collect();
    bench.queue(&copies[..1]);
    bench.round_at(0.0).await;
    // Four more while the first is still fresh: they wait for the chat's next second and go
    // together.
    bench.queue(&copies[1..]);
    bench.round_at(0.5).await;
    bench.round_at(1.0).await;
    let got = bench.fake.messages(admin.id);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].text, "🆕 Новая заявка №11");
    assert!(got[1].text.contains("Новые заявки (4)"), "{}", got[1].text);
    for id in 12..=15 {
        assert!(
            got[1].text.contains(&format!("№{id} адрес {id}")),
            "{}",
            got[1].text
        );
    }
    assert_eq!(bench.waiting(), 0);
}

/// The real bot process: an order is taken down, its staff copy committed with it, and the
/// process is killed (SIGKILL) right before that copy is sent. After the restart the admin
/// gets it exactly once; a further restart sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_between_commit_and_send_delivers_after_the_restart_exactly_once() {
    const ADMIN: i64 = 1001;
    const DISPATCHER: i64 = 1002;
    let sandbox = Sandbox::new();
    let fake = FakeTelegram::start().await.unwrap();
    let admin = fake.add_user(ADMIN, "Иван", None);
    let dispatcher = fake.add_user(DISPATCHER, "Ольга", None);
    let start_bot = |kill_before_send: Option<u32>| {
        let mut command = sandbox.cli(&[]);
        command
            .env("BOT_TOKEN", fake.token())
            .env("TELOXIDE_API_URL", fake.url().as_str())
            .env("ADMIN_IDS", ADMIN.to_string())
            .env("DISPATCHER_IDS", DISPATCHER.to_string())
            .env("QUIET_HOURS", "off")
            .env("BACKUP_TIME", "off")
            .env("DAILY_SUMMARY_TIME", "off")
            .env("TIMEZONE", "Europe/Moscow")
            .env_remove(repair_bot::db::fault::KILL_BEFORE_SEND)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(n) = kill_before_send {
            command.env(repair_bot::db::fault::KILL_BEFORE_SEND, n.to_string());
        }
        command.spawn().unwrap()
    };
    let copies_to_admin = |fake: &FakeTelegram| {
        fake.messages(ADMIN)
            .iter()
            .filter(|m| m.text.contains("Новая заявка"))
            .count()
    };

    let mut bot = start_bot(Some(1));
    step(&fake, DISPATCHER, || {
        fake.send_text(&dispatcher, DISPATCHER, "/start")
    })
    .await;
    step(&fake, ADMIN, || fake.send_text(&admin, ADMIN, "/start")).await;
    step(&fake, DISPATCHER, || {
        fake.press_reply_button(&dispatcher, DISPATCHER, texts::MENU_NEW_ORDER)
            .unwrap()
    })
    .await;
    step(&fake, DISPATCHER, || {
        fake.press_button(&dispatcher, DISPATCHER, "Холодильники")
            .unwrap()
    })
    .await;
    for typed in ["Не морозит", "8 900 123-45-67", "Нина", "ул. Лесная, д. 4"]
    {
        step(&fake, DISPATCHER, || {
            fake.send_text(&dispatcher, DISPATCHER, typed)
        })
        .await;
    }
    for label in ["Пропустить", "Пропустить"] {
        step(&fake, DISPATCHER, || {
            fake.press_button(&dispatcher, DISPATCHER, label).unwrap()
        })
        .await;
    }
    fake.press_button(&dispatcher, DISPATCHER, "✅ Создать заявку")
        .unwrap();
    let killed = wait_exit(&mut bot).await;
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed),
        Some(libc::SIGKILL),
        "the fault killed the bot: {killed:?}"
    );
    assert_eq!(copies_to_admin(&fake), 0, "killed before the send");
    let pending = |sandbox: &Sandbox| {
        int(
            &mut sandbox.conn(),
            &format!(
                "SELECT COUNT(*) AS v FROM outbox WHERE chat_id = {ADMIN} AND sent_at IS NULL"
            ),
        )
    };
    assert_eq!(pending(&sandbox), 1, "the copy committed with the order");
    assert_eq!(
        int(&mut sandbox.conn(), "SELECT COUNT(*) AS v FROM orders"),
        1
    );

    let mut bot = start_bot(None);
    let copy = fake
        .wait_for(ADMIN, |m| m.text.contains("Новая заявка"), WAIT)
        .await;
    assert!(copy.is_ok(), "the copy arrives after the restart");
    stop(&mut bot).await;
    let mut bot = start_bot(None);
    fake.wait_confirmed(WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop(&mut bot).await;
    assert_eq!(
        copies_to_admin(&fake),
        1,
        "exactly once across two restarts"
    );
    assert_eq!(pending(&sandbox), 0);
    assert_eq!(
        int(&mut sandbox.conn(), "SELECT COUNT(*) AS v FROM orders"),
        1,
        "the confirm press that came again did not make a second order"
    );
    fake.shutdown().await;
}

/// Does `act` and waits until the bot has written something new in `chat`.
async fn step<T>(fake: &FakeTelegram, chat: i64, act: impl FnOnce() -> T) {
    let before = fake.revision();
    act();
    fake.wait_for(chat, |m| m.revision > before, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn wait_exit(bot: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = bot.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the bot did not exit");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn stop(bot: &mut std::process::Child) {
    // SAFETY: kill only sends a signal to our own child process.
    unsafe { libc::kill(bot.id() as libc::pid_t, libc::SIGTERM) };
    let status = wait_exit(bot).await;
    assert!(status.success(), "{status:?}");
}
