//! `repair-bot sandbox --load` end to end: the real bot binary as a child process against the
//! fake Bot API, a tiny load of both workloads, the figures printed and the rows checked.

use repair_bot::sandbox::load::{self, LoadOptions, Workload};

/// The sandbox starts the bot from REPAIR_BOT_EXE (a test binary is not the bot).
fn point_at_the_bot() {
    std::env::set_var("REPAIR_BOT_EXE", env!("CARGO_BIN_EXE_repair-bot"));
}

#[test]
fn a_tiny_load_of_both_workloads_passes_every_check() {
    point_at_the_bot();
    let options = LoadOptions {
        workloads: vec![Workload::Start, Workload::Intake],
        users: 5,
        concurrency: 2,
        orders_per_user: 1,
        database: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let passed = runtime.block_on(load::run(&options)).unwrap();
    assert!(passed, "a check failed; the report is above");
}

/// The default size (200 users, 50 at a time, 3 orders each); prints the figures:
/// `cargo test --release --test sandbox_load -- --ignored --nocapture`. A REPAIR_BOT_EXE
/// already set is kept (e.g. a wrapper script that runs the bot under a profiler).
#[test]
#[ignore = "a measurement: run it in release mode with --ignored --nocapture"]
fn default_size() {
    if std::env::var_os("REPAIR_BOT_EXE").is_none() {
        point_at_the_bot();
    }
    // LOAD_USERS, LOAD_CONCURRENCY and LOAD_ORDERS change the size for a quick experiment.
    let size = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let defaults = LoadOptions::default();
    let options = LoadOptions {
        users: size("LOAD_USERS", defaults.users),
        concurrency: size("LOAD_CONCURRENCY", defaults.concurrency),
        orders_per_user: size("LOAD_ORDERS", defaults.orders_per_user),
        ..defaults
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let passed = runtime.block_on(load::run(&options)).unwrap();
    assert!(passed, "a check failed; the report is above");
}

/// The feed the load sandbox measures with: the first hand-out of each update (not the
/// repeats of an unconfirmed one) with its chat, and each message the bot sends.
#[tokio::test]
async fn the_fake_reports_hand_outs_and_bot_messages_in_order() {
    use repair_bot::fake_telegram::{FakeTelegram, Observed};
    use teloxide::prelude::*;

    let fake = FakeTelegram::start().await.unwrap();
    let mut feed = fake.watch();
    let user = fake.add_user(42, "Анна", None);
    fake.send_text(&user, user.id, "привет");
    let bot = Bot::new(fake.token()).set_api_url(fake.url());
    let first = bot.get_updates().await.unwrap();
    let again = bot.get_updates().await.unwrap();
    assert_eq!(
        (first.len(), again.len()),
        (1, 1),
        "not confirmed: handed out again"
    );
    bot.send_message(ChatId(user.id), "ответ").await.unwrap();

    let Some(Observed::HandedOut {
        update_id,
        chat_id,
        at: handed_out,
    }) = feed.recv().await
    else {
        panic!("the hand-out comes first");
    };
    assert_eq!((update_id, chat_id), (first[0].id.0, Some(user.id)));
    let Some(Observed::Message { at, message }) = feed.recv().await else {
        panic!("then the bot's message, and no second hand-out");
    };
    assert_eq!((message.chat_id, message.text.as_str()), (user.id, "ответ"));
    assert!(at >= handed_out && at == message.date);
    assert!(feed.try_recv().is_err());
}
