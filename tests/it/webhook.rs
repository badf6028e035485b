//! Webhook mode (`WEBHOOK_URL`): the real handler tree behind `bot::webhook` on 127.0.0.1:0,
//! the fake Bot API for setWebhook and the replies, updates POSTed as Telegram would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use repair_bot::bot::webhook::{self, Webhook, SECRET_HEADER};
use repair_bot::bot::App;
use repair_bot::clock::ManualClock;
use repair_bot::db::pool;
use repair_bot::fake_telegram::FakeTelegram;
use teloxide::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: i64 = 1001;
const WAIT: Duration = Duration::from_secs(10);
const SECRET: &str = "webhook_Secret-42";
const PATH: &str = "/telegram/hook";

/// POSTs `body` to `path` with the secret header (when given); the status code.
async fn post(address: SocketAddr, path: &str, secret: Option<&str>, body: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let secret = secret.map_or(String::new(), |s| format!("{SECRET_HEADER}: {s}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{secret}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("the webhook answers")
        .unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {response}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_by_webhook_are_checked_for_the_secret_handled_once_and_answered_after() {
    let sandbox = crate::support::Sandbox::new();
    sandbox.migrate();
    let settings = sandbox.settings();
    let fake = FakeTelegram::start().await.unwrap();
    let webhook = Webhook {
        url: format!("https://bot.example.test{PATH}").parse().unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
        secret: SECRET.into(),
    };
    let mut config = crate::support::bot_config(fake.token(), &[ADMIN], &[]);
    config.webhook = Some(webhook.clone());
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap());
    let app = App::new(
        pool::build(&settings.path).unwrap(),
        config,
        Arc::new(clock),
        settings,
    );
    let bot = Bot::new(fake.token()).set_api_url(fake.url());
    let me = bot.get_me().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn(webhook::serve_on(
        listener,
        bot,
        app.clone(),
        me,
        webhook,
        stopped,
    ));

    // Registered with the secret, one connection at a time (in order, as polling).
    let deadline = std::time::Instant::now() + WAIT;
    while fake.calls("setWebhook").is_empty() {
        assert!(std::time::Instant::now() < deadline, "no setWebhook");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let registered = &fake.calls("setWebhook")[0].params;
    assert_eq!(registered["url"], format!("https://bot.example.test{PATH}"));
    assert_eq!(registered["secret_token"], SECRET);
    assert_eq!(
        registered["max_connections"].to_string().trim_matches('"'),
        "1"
    );

    let admin = fake.add_user(ADMIN, "Иван", None);
    fake.send_text(&admin, ADMIN, "/start");
    let updates = fake.take_updates();
    assert_eq!(updates.len(), 1);
    let body = serde_json::to_vec(&updates[0]).unwrap();

    // Without the secret, or with a wrong one: refused, nothing handled.
    assert_eq!(post(address, PATH, None, &body).await, 401);
    assert_eq!(
        post(address, PATH, Some("webhook_Secret-43"), &body).await,
        401
    );
    assert_eq!(post(address, "/elsewhere", Some(SECRET), &body).await, 404);
    assert!(fake.messages(ADMIN).is_empty(), "nothing was handled");
    assert_eq!(post(address, PATH, Some(SECRET), b"{}").await, 400);

    // With it: the 200 comes once the update is handled, so the reply is already there.
    assert_eq!(post(address, PATH, Some(SECRET), &body).await, 200);
    let replies = fake.messages(ADMIN);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].text.contains("Иван"), "{}", replies[0].text);
    // Telegram sends it again (it missed our answer): answered, not handled twice.
    assert_eq!(post(address, PATH, Some(SECRET), &body).await, 200);
    assert_eq!(fake.messages(ADMIN).len(), 1, "handled once");

    // Stopping: the server ends; a late update is not taken.
    stop.send(true).unwrap();
    tokio::time::timeout(WAIT, serving)
        .await
        .expect("the webhook stops")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}
