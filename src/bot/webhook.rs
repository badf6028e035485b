//! Webhook mode (`WEBHOOK_URL`): Telegram POSTs each update to us instead of our polling.
//!
//! Served with hyper (already in the build for `/metrics`), not teloxide's axum listener: that
//! one answers Telegram before the handler has run, so an update in flight at a crash or a
//! stop would be lost. Here the answer is sent after the update is handled and recorded, as
//! polling acknowledges a batch only once it is handled: until Telegram has its 200 it sends
//! the update again, and an update handled already (its id is recorded) is answered 200 without
//! being handled twice.
//!
//! Telegram is told `max_connections = 1`: it sends one update at a time, in order, so one
//! person's updates never overlap (dialogues), as in polling. Each request must carry
//! `X-Telegram-Bot-Api-Secret-Token` equal to `WEBHOOK_SECRET`, else 401 and nothing is read.
//! A person over the rate limit is asked once to wait; the extra updates are answered 200
//! unhandled. While stopping, new updates get 503 (Telegram sends them again later).
//!
//! `repair-bot health` reads the last time Telegram answered: here a getWebhookInfo every
//! [`WEBHOOK_CHECK_EVERY`], whose `last_error_message` (Telegram could not reach us) is logged.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::NaiveDateTime;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use teloxide::prelude::*;
use teloxide::types::{Me, Update};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::polling::{self, Handling, PollingError};
use super::rate_limit::Limiter;
use super::App;
use crate::store::updates;

/// The header Telegram puts the secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// How often Telegram is asked about the webhook (health, delivery errors).
pub const WEBHOOK_CHECK_EVERY: Duration = Duration::from_secs(60);
/// An update is a few kilobytes; a body past this is not one.
const MAX_BODY: usize = 1 << 20;
/// Handled ids are kept this long: Telegram stops resending an update well before.
const KEEP_HANDLED: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// Where Telegram sends updates, and how it proves it is Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The public HTTPS address given to setWebhook (`WEBHOOK_URL`).
    pub url: url::Url,
    /// Where this process listens (`WEBHOOK_LISTEN`), behind the reverse proxy that
    /// terminates TLS for `url`.
    pub listen: SocketAddr,
    /// `WEBHOOK_SECRET`.
    pub secret: String,
}

/// Listens on `webhook.listen`, registers the webhook and serves until `stop`.
pub async fn run(
    bot: Bot,
    app: App,
    me: Me,
    webhook: Webhook,
    stop: watch::Receiver<bool>,
) -> Result<(), PollingError> {
    let listener =
        TcpListener::bind(webhook.listen)
            .await
            .map_err(|error| PollingError::WebhookListen {
                addr: webhook.listen.to_string(),
                problem: error.to_string(),
            })?;
    serve_on(listener, bot, app, me, webhook, stop).await
}

/// [`run`] on a listener already bound (tests bind port 0).
pub async fn serve_on(
    listener: TcpListener,
    bot: Bot,
    app: App,
    me: Me,
    webhook: Webhook,
    mut stop: watch::Receiver<bool>,
) -> Result<(), PollingError> {
    if !register(&bot, &webhook, &mut stop).await? {
        return Ok(());
    }
    // Without them an update sent again after a crash could be handled twice.
    let Some(handled) = polling::handled_ids(&app, &mut stop).await else {
        return Ok(());
    };
    let now = app.now();
    let receiver = Arc::new(Receiver {
        handling: Handling::new(&bot, &app, me),
        path: webhook.url.path().to_string(),
        secret: webhook.secret.clone(),
        state: Mutex::new(Seen {
            handled: handled.into_iter().map(|id| (id, now)).collect(),
            limiter: app.config.rate_limit.map(Limiter::new),
        }),
        stop: stop.clone(),
    });
    if let Ok(address) = listener.local_addr() {
        log::info!(
            "webhook: Telegram sends updates to {}, served on http://{address}{}",
            webhook.url,
            receiver.path
        );
    }
    let mut connections = tokio::task::JoinSet::new();
    let mut check = tokio::time::interval(WEBHOOK_CHECK_EVERY);
    let mut poll_recorded = None;
    loop {
        let accepted = tokio::select! {
            accepted = super::metrics::accept(&listener, "webhook") => accepted,
            _ = check.tick() => {
                receiver.check(&bot, &mut poll_recorded).await;
                continue;
            }
            _ = polling::stopped(&mut stop) => break,
        };
        let Some(stream) = accepted else {
            continue;
        };
        let receiver = Arc::clone(&receiver);
        let service = service_fn(move |request| {
            let receiver = Arc::clone(&receiver);
            async move { receiver.receive(request).await }
        });
        connections.spawn(super::metrics::serve_connection(stream, service, "webhook"));
        while connections.try_join_next().is_some() {}
    }
    // The update being handled finishes (its answer tells Telegram it is done), within the
    // same grace as polling's batch; past it, Telegram sends it again after the next start.
    let drained = tokio::time::timeout(polling::GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!("webhook: an update still in flight after the grace comes again later");
        connections.abort_all();
    }
    Ok(())
}

/// setWebhook with the secret and one connection at a time, retried through network trouble
/// until it succeeds (true) or a stop is asked for (false).
async fn register(
    bot: &Bot,
    webhook: &Webhook,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, PollingError> {
    let mut backoff = polling::BACKOFF_FIRST;
    loop {
        let request = bot
            .set_webhook(webhook.url.clone())
            .secret_token(webhook.secret.clone())
            .max_connections(1);
        let error = tokio::select! {
            answer = request.into_future() => match answer {
                Ok(_) => return Ok(true),
                Err(error) => error,
            },
            _ = polling::stopped(stop) => return Ok(false),
        };
        if let Some(fatal) = polling::fatal(&error) {
            return Err(fatal);
        }
        if let teloxide::RequestError::Api(api) = &error {
            // Telegram refuses the address itself (not HTTPS, a port it does not allow…).
            return Err(PollingError::WebhookRefused(api.to_string()));
        }
        log::warn!("setWebhook failed ({error}); trying again in {backoff:?}");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = polling::stopped(stop) => return Ok(false),
        }
        backoff = (backoff * 2).min(polling::BACKOFF_MAX);
    }
}

struct Receiver {
    handling: Handling,
    path: String,
    secret: String,
    state: Mutex<Seen>,
    stop: watch::Receiver<bool>,
}

/// What the receiver remembers between updates.
struct Seen {
    /// Updates taken (handled, or being handled), with when: forgotten with the database's
    /// records of them ([`KEEP_HANDLED`]), so that months of traffic do not pile up here.
    handled: BTreeMap<i64, NaiveDateTime>,
    limiter: Option<Limiter>,
}

type Answer = Result<Response<Full<Bytes>>, Infallible>;

fn answer(status: StatusCode, text: &'static str) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}

impl Receiver {
    /// Asks Telegram how delivery goes: a success is what `repair-bot health` reads; an error
    /// Telegram met reaching us is logged. Old handled ids are forgotten meanwhile, here and in
    /// the database.
    async fn check(&self, bot: &Bot, recorded: &mut Option<NaiveDateTime>) {
        let app = &self.handling.app;
        match bot.get_webhook_info().await {
            Ok(info) => {
                polling::note_polled(app, recorded).await;
                if let Some(message) = info.last_error_message {
                    log::warn!(
                        "webhook: Telegram reports it could not deliver: {message} ({} waiting)",
                        info.pending_update_count
                    );
                }
            }
            Err(error) => log::warn!("getWebhookInfo failed: {error}"),
        }
        let before = app.now() - KEEP_HANDLED;
        self.seen().handled.retain(|_, taken| *taken >= before);
        if let Err(error) = app
            .db(move |conn| updates::forget_handled_before(conn, before))
            .await
        {
            log::warn!("cannot prune handled update ids: {error}");
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn receive(&self, request: Request<Incoming>) -> Answer {
        if request.method() != Method::POST || request.uri().path() != self.path {
            return answer(StatusCode::NOT_FOUND, "not here\n");
        }
        let token = request
            .headers()
            .get(SECRET_HEADER)
            .map(|value| value.as_bytes());
        if !token.is_some_and(|token| same_secret(token, self.secret.as_bytes())) {
            log::warn!("webhook: a request without the right secret token was refused");
            return answer(StatusCode::UNAUTHORIZED, "wrong secret token\n");
        }
        if *self.stop.borrow() {
            return answer(StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
        }
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => {
                log::warn!("webhook: unreadable request body: {error}");
                return answer(StatusCode::BAD_REQUEST, "unreadable body\n");
            }
        };
        let update: Update = match serde_json::from_slice(&body) {
            Ok(update) => update,
            Err(error) => {
                log::warn!("webhook: not an update: {error}");
                return answer(StatusCode::BAD_REQUEST, "not an update\n");
            }
        };
        let id = i64::from(update.id.0);
        let app = &self.handling.app;
        let (admitted, asked_to_wait) = {
            let mut seen = self.seen();
            if seen.handled.insert(id, app.now()).is_some() {
                log::info!("update {id} was handled already: skipped");
                return answer(StatusCode::OK, "handled already\n");
            }
            polling::sift(seen.limiter.as_mut(), vec![update], app.now())
        };
        for update in admitted {
            polling::handle_one(&self.handling, update).await;
        }
        for update in asked_to_wait {
            polling::ask_to_wait(&self.handling.bot, &update).await;
        }
        answer(StatusCode::OK, "ok\n")
    }
}

/// Compares the secret without stopping at the first differing byte, so that the time taken
/// tells nothing about how much of a guess was right.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    given.len() == secret.len()
        && given
            .iter()
            .zip(secret)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn the_secret_matches_only_itself() {
        assert!(same_secret(b"abc_DEF-123", b"abc_DEF-123"));
        assert!(!same_secret(b"abc_DEF-124", b"abc_DEF-123"));
        assert!(!same_secret(b"abc_DEF-12", b"abc_DEF-123"));
        assert!(!same_secret(b"", b"abc"));
    }
}
