//! `repair-bot sandbox --load` end to end: the real bot binary as a child process against the
//! fake Bot API, a tiny load of both workloads, the figures printed and the rows checked.

use std::ffi::OsStr;

use crate::support::sandbox;

/// The real binary runs the load (it starts itself as the bot): no environment of this test
/// process is changed, which other tests of the crate read at the same time.
#[test]
fn a_tiny_load_of_both_workloads_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--load",
        "--users",
        "5",
        "--concurrency",
        "2",
        "--orders",
        "1",
    ];
    let stdout = sandbox(dir.path(), &args.map(OsStr::new));
    // Both workloads ran and were measured.
    for workload in ["W1 start", "W2 intake"] {
        assert!(stdout.contains(workload), "{workload} missing:\n{stdout}");
    }
}

/// One command measures the floor (the bare teloxide bot of `sandbox-floor`) and the bot with
/// W1, with an explicit bot executable: both columns, the CPU ratio, context switches per
/// update, and the `figures` lines scripts read.
#[test]
fn the_floor_and_the_bot_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--load",
        "--floor",
        "--workload",
        "start",
        "--users",
        "4",
        "--concurrency",
        "2",
        "--bot-exe",
        env!("CARGO_BIN_EXE_repair-bot"),
    ];
    let stdout = sandbox(dir.path(), &args.map(OsStr::new));
    for wanted in [
        "floor: W1 start",
        "bot / floor (CPU per update)",
        "bot context switches per update",
        "[ok  ] floor: every step got its one reply",
        "[ok  ] the floor exited cleanly on SIGTERM",
        "[ok  ] W1: 4 new rows in users",
    ] {
        assert!(stdout.contains(wanted), "{wanted:?} missing:\n{stdout}");
    }
    let figures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("figures "))
        .collect();
    assert_eq!(figures.len(), 3, "{stdout}");
    assert!(figures[0].starts_with("figures floor-start updates=4 failed=0 "));
    assert!(figures[1].starts_with("figures bot-start updates=4 failed=0 "));
    assert!(figures[2].starts_with("figures bot-process "));
    // Every update costs the bot at least one switch: a wait for the next getUpdates.
    for line in &figures[..2] {
        let per_update: f64 = line
            .split_whitespace()
            .find_map(|field| field.strip_prefix("csw_per_update="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no context switches in {line}"));
        assert!(per_update > 0.0, "{line}");
    }
}

/// A database of an earlier run again (`--database`, a restart): the update ids that run's bot
/// had handled but not acknowledged are not taken for this run's (each fake numbers its
/// updates from 1), so every step is answered; `--wait-idle` reports the peak once idle.
#[test]
fn a_database_of_an_earlier_run_serves_again() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("again.db");
    let args = [
        "--load",
        "--workload",
        "start",
        "--users",
        "2",
        "--concurrency",
        "1",
        "--wait-idle",
        "--database",
    ]
    .map(OsStr::new);
    let args = [&args[..], &[database.as_os_str()]].concat();
    // The second run restarts on the database the first one left.
    for _ in 0..2 {
        let stdout = sandbox(dir.path(), &args);
        assert!(
            stdout.contains("peak RSS (VmHWM) once idle after startup"),
            "{stdout}"
        );
    }
}

#[test]
fn context_switches_are_summed_over_threads_since_a_moment() {
    use repair_bot::sandbox::{SwitchCount, ThreadSwitches};
    let before = ThreadSwitches([(10, (5, 1)), (11, (7, 0)), (12, (3, 3))].into());
    // 10 went on, 11 ended, 13 started, 12 is a new thread under a reused id.
    let after = ThreadSwitches([(10, (9, 2)), (12, (1, 0)), (13, (4, 4))].into());
    assert_eq!(
        after.since(&before),
        SwitchCount {
            voluntary: 4 + 1 + 4,
            involuntary: 1 + 4,
            threads_ended: 1,
        }
    );
    assert_eq!(after.since(&before).total(), 14);
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
