//! `repair-bot sandbox --load` end to end: the real bot binary as a child process against the
//! fake Bot API, a tiny load of both workloads, the figures printed and the rows checked.

use std::process::Command;

/// The real binary runs the load (it starts itself as the bot): no environment of this test
/// process is changed, which other tests of the crate read at the same time.
#[test]
fn a_tiny_load_of_both_workloads_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_repair-bot"))
        .args([
            "sandbox",
            "--load",
            "--users",
            "5",
            "--concurrency",
            "2",
            "--orders",
            "1",
        ])
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_PATH")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "a check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Both workloads ran and were measured.
    for workload in ["W1 start", "W2 intake"] {
        assert!(stdout.contains(workload), "{workload} missing:\n{stdout}");
    }
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
