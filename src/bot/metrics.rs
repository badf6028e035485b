//! What the running bot tells a monitor, when `METRICS_ADDR` is set (off by default): `/healthz`
//! (the checks of `repair-bot health`: 200 when they pass, 503 with the failing lines when
//! not) and `/metrics` in Prometheus' text format: counters kept in the process since it
//! started, and the figures of the health checks read at each scrape.
//!
//! Served by hyper's HTTP/1 server (already in the build through the Telegram client).

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::App;
use crate::health::{self, Area, Report, Verdict};

/// Counters of one bot since it started. Cheap to bump: relaxed atomics.
#[derive(Debug, Default)]
pub struct Metrics {
    updates_handled: AtomicU64,
    handler_errors: AtomicU64,
    outbox_retries: AtomicU64,
    /// The last successful getUpdates, seconds since the epoch by the bot's clock (0: none).
    last_poll: AtomicI64,
}

impl Metrics {
    pub fn update_handled(&self, failed: bool) {
        self.updates_handled.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.handler_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn outbox_retry(&self) {
        self.outbox_retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn polled(&self, at: NaiveDateTime) {
        self.last_poll
            .store(at.and_utc().timestamp(), Ordering::Relaxed);
    }

    pub fn updates_handled(&self) -> u64 {
        self.updates_handled.load(Ordering::Relaxed)
    }

    pub fn handler_errors(&self) -> u64 {
        self.handler_errors.load(Ordering::Relaxed)
    }

    fn last_poll_age(&self, now: NaiveDateTime) -> Option<Duration> {
        let at = self.last_poll.load(Ordering::Relaxed);
        (at > 0).then(|| {
            Duration::from_secs(u64::try_from(now.and_utc().timestamp() - at).unwrap_or(0))
        })
    }
}

/// Binds the address first, so that a taken port stops the start with its name.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// Serves `/healthz` and `/metrics` on `listener` until `stop`.
pub async fn serve(listener: TcpListener, app: App, mut stop: watch::Receiver<bool>) {
    if let Ok(address) = listener.local_addr() {
        log::info!("serving /healthz and /metrics on http://{address}");
    }
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, "metrics") => accepted,
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        let Some(stream) = accepted else {
            continue;
        };
        let app = app.clone();
        let service = service_fn(move |request| respond(request, app.clone()));
        connections.spawn(serve_connection(stream, service, "metrics"));
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

/// The next connection (`/metrics`, the webhook); None after an error, once a pause has let
/// its cause (out of file descriptors and the like) pass instead of spinning on it.
pub(super) async fn accept(listener: &TcpListener, what: &str) -> Option<tokio::net::TcpStream> {
    match listener.accept().await {
        Ok((stream, _)) => Some(stream),
        Err(error) => {
            log::warn!("{what}: cannot accept a connection: {error}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            None
        }
    }
}

/// Serves one HTTP/1.1 connection (`/metrics`, the webhook): a request's head must arrive
/// within 10 s, so an idle client cannot hold a connection open.
pub(super) async fn serve_connection<S>(stream: tokio::net::TcpStream, service: S, what: &str)
where
    S: hyper::service::HttpService<Incoming>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        log::debug!("{what}: connection ended: {error}");
    }
}

async fn respond(
    request: Request<Incoming>,
    app: App,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    if request.method() != Method::GET {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into()));
    }
    let response = match path {
        "/healthz" => {
            let report = health_report(&app).await;
            let status = if report.healthy() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            text(status, lines(&report))
        }
        "/metrics" => {
            let report = health_report(&app).await;
            let mut response = text(StatusCode::OK, render(&app, &report));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /healthz or /metrics\n".into(),
        ),
    };
    Ok(response)
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

fn lines(report: &Report) -> String {
    let mut out = String::new();
    for check in &report.checks {
        let _ = writeln!(out, "{check}");
    }
    out
}

/// The health checks on the bot's own connection, off the async workers.
async fn health_report(app: &App) -> Report {
    let settings = app.database.clone();
    let limits = app.config.health;
    let now = app.clock.now();
    let checked = app
        .db_long(move |conn| Ok(health::check(conn, &settings, &limits, now)))
        .await;
    checked.unwrap_or_else(|error| Report::failed(Area::Database, error.to_string()))
}

/// Prometheus' text format, written by hand: a few lines need no crate.
fn render(app: &App, report: &Report) -> String {
    let metrics = &app.metrics;
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, Option<f64>)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            // A figure that could not be measured is left out, not reported as zero.
            if let Some(value) = value {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        }
    };
    let count = |n: u64| Some(n as f64);
    let seconds = |d: Option<Duration>| d.map(|d| d.as_secs() as f64);
    family(
        "repair_bot_updates_handled_total",
        "counter",
        "Telegram updates handled since the bot started.",
        &[("", count(metrics.updates_handled()))],
    );
    family(
        "repair_bot_handler_errors_total",
        "counter",
        "Updates whose handler failed (the person was asked to try again).",
        &[("", count(metrics.handler_errors()))],
    );
    family(
        "repair_bot_send_retries_total",
        "counter",
        "Sends to be tried again: outbox deliveries put off (network, 429, unexplained errors) and replies retried.",
        &[
            (
                "{kind=\"outbox\"}",
                count(metrics.outbox_retries.load(Ordering::Relaxed)),
            ),
            ("{kind=\"reply\"}", count(super::notify::retries())),
        ],
    );
    family(
        "repair_bot_outbox_pending",
        "gauge",
        "Messages waiting in the outbox.",
        &[("", report.figures.outbox_pending.map(|n| n as f64))],
    );
    family(
        "repair_bot_outbox_oldest_pending_age_seconds",
        "gauge",
        "How long the oldest waiting message has been in the outbox (0 when none waits).",
        &[("", seconds(report.figures.outbox_oldest_age))],
    );
    family(
        "repair_bot_backup_age_seconds",
        "gauge",
        "Age of the newest backup of the database.",
        &[("", seconds(report.figures.backup_age))],
    );
    family(
        "repair_bot_last_get_updates_age_seconds",
        "gauge",
        "Time since the last successful getUpdates.",
        &[("", seconds(metrics.last_poll_age(app.now())))],
    );
    let checks: Vec<(String, Option<f64>)> = report
        .checks
        .iter()
        .map(|check| {
            let passed = if check.verdict == Verdict::Fail {
                0.0
            } else {
                1.0
            };
            (
                format!("{{check=\"{}\"}}", check.area.metric_label()),
                Some(passed),
            )
        })
        .collect();
    let checks: Vec<(&str, Option<f64>)> = checks.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    family(
        "repair_bot_health_check",
        "gauge",
        "1 when the check of repair-bot health passes (or is not configured), 0 when it fails.",
        &checks,
    );
    family(
        "repair_bot_healthy",
        "gauge",
        "1 when every health check passes.",
        &[("", Some(if report.healthy() { 1.0 } else { 0.0 }))],
    );
    out
}
