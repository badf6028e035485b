//! `/metrics` and `/healthz` (METRICS_ADDR) beside the running bot: the real bot against the
//! fake Bot API, the server on 127.0.0.1:0, plain HTTP/1.1 requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use repair_bot::bot::{self, metrics, App};
use repair_bot::clock::ManualClock;
use repair_bot::db::pool;
use repair_bot::fake_telegram::FakeTelegram;
use repair_bot::health::Limits;
use teloxide::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: i64 = 1001;
const WAIT: Duration = Duration::from_secs(10);

/// Status code and body of a GET.
async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("the server answers")
        .unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {response}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, body.to_string())
}

/// The value of one sample line (`name` with its labels) in Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn serve(app: App) -> (SocketAddr, tokio::sync::watch::Sender<bool>) {
    let listener = metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(metrics::serve(listener, app, stopped));
    (address, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_handled_updates_and_healthz_follows_the_checks() {
    let sandbox = crate::support::Sandbox::new();
    sandbox.migrate();
    let settings = sandbox.settings();
    let fake = FakeTelegram::start().await.unwrap();
    let mut config = crate::support::bot_config(fake.token(), &[ADMIN], &[]);
    // No backup is taken in this test: its age is not what is looked at first.
    config.health.backup_age = None;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap());
    let app = App::new(
        pool::build(&settings.path).unwrap(),
        config.clone(),
        Arc::new(clock),
        settings,
    );
    let serving = bot::Serving::start(Bot::new(fake.token()).set_api_url(fake.url()), app.clone());
    let (address, stop) = serve(app.clone()).await;

    let (status, before) = get(address, "/metrics").await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        sample(&before, "repair_bot_updates_handled_total"),
        Some(0.0),
        "{before}"
    );

    let admin = fake.add_user(ADMIN, "Иван", None);
    fake.send_text(&admin, ADMIN, "/start");
    assert!(fake.wait_confirmed(WAIT).await, "the update is handled");

    let (status, after) = get(address, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&after, "repair_bot_updates_handled_total"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "repair_bot_handler_errors_total"),
        Some(0.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "repair_bot_outbox_pending"),
        Some(0.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "repair_bot_last_get_updates_age_seconds"),
        Some(0.0),
        "the clock stands still: {after}"
    );
    assert!(sample(&after, "repair_bot_send_retries_total{kind=\"outbox\"}").is_some());
    assert_eq!(
        sample(&after, "repair_bot_health_check{check=\"get_updates\"}"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(sample(&after, "repair_bot_healthy"), Some(1.0), "{after}");
    assert!(after.contains("# TYPE repair_bot_updates_handled_total counter"));

    let (status, healthz) = get(address, "/healthz").await;
    assert_eq!(status, 200, "{healthz}");
    assert!(
        healthz.contains("getUpdates: ok, last successful getUpdates 0 s ago"),
        "{healthz}"
    );
    assert!(healthz.contains("database: ok"), "{healthz}");

    // The same bot held to the default limits, on a database the bot has run for weeks
    // without a backup ever being taken.
    diesel::connection::SimpleConnection::batch_execute(
        &mut sandbox.conn(),
        "UPDATE migration_ledger SET recorded_at = '2026-10-01 00:00:00';",
    )
    .unwrap();
    let mut strict = app.clone();
    let mut strict_config = (*app.config).clone();
    strict_config.health = Limits::default();
    strict.config = Arc::new(strict_config);
    let (strict_address, strict_stop) = serve(strict).await;
    let (status, healthz) = get(strict_address, "/healthz").await;
    assert_eq!(status, 503, "{healthz}");
    assert!(healthz.contains("backup: FAIL, no backup of"), "{healthz}");
    let (_, strict_metrics) = get(strict_address, "/metrics").await;
    assert_eq!(
        sample(&strict_metrics, "repair_bot_health_check{check=\"backup\"}"),
        Some(0.0),
        "{strict_metrics}"
    );
    assert_eq!(sample(&strict_metrics, "repair_bot_healthy"), Some(0.0));
    assert_eq!(
        sample(&strict_metrics, "repair_bot_backup_age_seconds"),
        None
    );

    assert_eq!(get(address, "/other").await.0, 404);

    let _ = stop.send(true);
    let _ = strict_stop.send(true);
    tokio::time::timeout(WAIT, serving.stop())
        .await
        .expect("the bot stops")
        .expect("polling ended cleanly");
}
