//! The one sender of everything the bot owes people because of a change: notifications,
//! reminders, alerts, summaries and the staff copies of new orders. They are queued in the
//! `outbox` table in the change's own transaction (`store::outbox`), and delivered from here:
//!
//! - at Telegram's pace ([`pace`]): about one message a second to a chat, 20 a minute to a
//!   group, 30 a second overall; a 429's `retry_after` holds back only the chat it names;
//! - network trouble is retried with back-off for as long as it lasts (the rows are durable);
//! - a chat that refuses for good (the bot blocked, the chat gone, the bot removed from a
//!   group) gets the message's fallback if it has one (a master's private chat behind his work
//!   group), else the row is marked failed with Telegram's reason instead of being retried;
//! - several staff copies of new orders waiting for one chat go as one digest.
//!
//! Each chat's messages go in the order they were queued. A round ([`Sender::round`]) takes
//! its time as an offset from the sender's start, so tests replay the pace without sleeping.
//! Replies to the person who acted are not queued: they are sent in the handler, and an
//! update that was not answered comes again (see `polling`).

pub mod pace;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::TimeDelta;
use teloxide::prelude::*;
use teloxide::types::{InputFile, ParseMode, ReplyMarkup};
use teloxide::{ApiError, RequestError};
use tokio::sync::{watch, Notify};

use super::scheduled_reports::{self, BuiltFile};
use super::texts;
use super::App;
use crate::store::outbox::{self, Queued};
use pace::Pace;
pub use pace::SendLimits;

/// How many chats one round looks at (the oldest waiting first).
const CHATS_PER_ROUND: i64 = 200;
/// How many waiting messages of one chat a digest may take.
const DIGEST_MAX_ROWS: i64 = 50;
/// A digest stays well inside Telegram's 4096 characters; what does not fit goes next.
const DIGEST_MAX_CHARS: usize = 3500;
/// Back-off after failed attempts to one chat: doubles from the first up to the cap.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Telegram answers it does not explain are tried this many times, then given up.
const UNKNOWN_ERROR_ATTEMPTS: i32 = 8;
/// When nothing is due, the sender still looks again this often.
const IDLE_LOOK: Duration = Duration::from_secs(30);
/// Delivered and failed rows are kept this long (for support questions), then forgotten.
const KEEP_DONE: TimeDelta = TimeDelta::days(14);
/// After the stop, how long the sender may go on delivering what is due.
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The handle through which changes wake the sender. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    wake: Notify,
    pace: Mutex<Pace>,
    started: tokio::time::Instant,
}

impl Outbox {
    pub fn new(limits: SendLimits) -> Outbox {
        Outbox {
            shared: Arc::new(Shared {
                wake: Notify::new(),
                pace: Mutex::new(Pace::new(limits)),
                started: tokio::time::Instant::now(),
            }),
        }
    }

    /// Something was queued (its transaction has committed): deliver without waiting.
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    fn elapsed(&self) -> Duration {
        self.shared.started.elapsed()
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.shared
            .pace
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Telegram messages sent (a digest is one).
    pub sent: usize,
    /// When the next waiting message may go (None: nothing waits).
    pub next: Option<Duration>,
}

impl Round {
    /// Something waits until `at`: the next round is due no later than that.
    fn wait_until(&mut self, at: Duration) {
        self.next = Some(self.next.map_or(at, |next| next.min(at)));
    }
}

/// Delivers the outbox until `stop`; then goes on for at most [`DRAIN_GRACE`] with what is due
/// at once, and leaves the rest for the next start.
pub async fn run(bot: Bot, app: App, mut stop: watch::Receiver<bool>) {
    let sender = Sender { bot, app };
    let mut last_cleanup: Option<chrono::NaiveDateTime> = None;
    loop {
        if *stop.borrow() {
            let drain = async {
                loop {
                    match sender.round_now().await {
                        Ok(round) if round.sent > 0 => continue,
                        _ => break,
                    }
                }
            };
            if tokio::time::timeout(DRAIN_GRACE, drain).await.is_err() {
                log::info!(
                    "outbox: stopping with messages still due; they go after the next start"
                );
            }
            return;
        }
        let now = sender.app.now();
        if last_cleanup.is_none_or(|at| now - at > TimeDelta::hours(1)) {
            last_cleanup = Some(now);
            sender.forget_done(now).await;
        }
        let wait = match sender.round_now().await {
            Ok(round) if round.sent > 0 => Duration::ZERO,
            Ok(round) => round
                .next
                .map_or(IDLE_LOOK, |next| {
                    next.saturating_sub(sender.app.outbox.elapsed())
                })
                .min(IDLE_LOOK),
            Err(error) => {
                log::error!("outbox: cannot deliver: {error}");
                BACKOFF_FIRST
            }
        };
        if wait.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = sender.app.outbox.shared.wake.notified() => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
    }
}

/// One batch of waiting rows for one chat: a single message or a digest of several.
struct Delivery {
    ids: Vec<i64>,
    text: String,
    markup: Option<String>,
    /// The file the text is the caption of, built from the row's description; Err: it
    /// cannot be built (the row fails with that reason).
    file: Option<Result<BuiltFile, String>>,
    /// The first row: its chat, fallback and attempts.
    head: Queued,
}

impl Delivery {
    fn chat_id(&self) -> i64 {
        self.head.message.chat_id
    }
}

/// What became of one delivery.
enum Outcome {
    Sent(i32),
    /// Try this chat again no sooner than `wait` from now; an error Telegram did not explain
    /// (`limited`) is given up after [`UNKNOWN_ERROR_ATTEMPTS`].
    Later {
        wait: Duration,
        error: String,
        limited: bool,
    },
    /// The chat refuses for good: the fallback, if any, else failed.
    Refused(String),
    /// Telegram moved the group to a supergroup.
    Moved(ChatId),
}

pub struct Sender {
    pub bot: Bot,
    pub app: App,
}

/// How long one upload of a file may take: teloxide's client gives a whole request 17 s,
/// which a month's workbook (tens of megabytes) does not make on a slow uplink.
const FILE_UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// The same bot with a client whose requests may take [`FILE_UPLOAD_TIMEOUT`], for files.
pub(crate) fn uploading(bot: &Bot) -> Bot {
    match teloxide::net::default_reqwest_settings()
        .timeout(FILE_UPLOAD_TIMEOUT)
        .build()
    {
        Ok(client) => Bot::with_client(bot.token(), client).set_api_url(bot.api_url()),
        Err(error) => {
            log::warn!("outbox: no client for long uploads ({error}); files use the usual one");
            bot.clone()
        }
    }
}

impl Sender {
    async fn round_now(&self) -> Result<Round, super::BoxError> {
        self.round(self.app.outbox.elapsed()).await
    }

    /// Sends every waiting message the pace allows at `at` (an offset from the sender's
    /// start), each chat's oldest first, and records what became of each.
    pub async fn round(&self, at: Duration) -> Result<Round, super::BoxError> {
        let heads = self
            .app
            .db(|conn| outbox::heads(conn, CHATS_PER_ROUND))
            .await?;
        let mut round = Round::default();
        let mut chosen = Vec::new();
        {
            let mut pace = self.app.outbox.pace();
            for head in heads {
                let chat = head.message.chat_id;
                let earliest = pace.earliest(chat, at);
                if earliest > at {
                    round.wait_until(earliest);
                    continue;
                }
                pace.record(chat, at);
                chosen.push(head);
            }
        }
        let mut deliveries = Vec::with_capacity(chosen.len());
        for head in chosen {
            deliveries.push(self.gather(head).await?);
        }
        let mut sending = tokio::task::JoinSet::new();
        for delivery in deliveries {
            let bot = self.bot.clone();
            sending.spawn(async move {
                let outcome = send(&bot, &delivery).await;
                (delivery, outcome)
            });
        }
        while let Some(joined) = sending.join_next().await {
            let (delivery, outcome) = joined?;
            if matches!(outcome, Outcome::Sent(_)) {
                round.sent += 1;
            }
            if let Some(retry_at) = self.record(&delivery, outcome, at).await? {
                round.wait_until(retry_at);
            }
        }
        // Whatever a sent message left waiting in its chat may go at the chat's next turn.
        if round.sent > 0 && round.next.is_none() {
            round.next = Some(at);
        }
        Ok(round)
    }

    /// The head alone, or with the waiting rows of its chat that share its digest key.
    async fn gather(&self, head: Queued) -> Result<Delivery, super::BoxError> {
        let single = |head: Queued| Delivery {
            ids: vec![head.id],
            text: head.message.text.clone(),
            markup: head.message.reply_markup.clone(),
            file: None,
            head,
        };
        if let Some(document) = head.message.document.clone() {
            let limit = self.app.config.send_limits.max_file_bytes;
            return Ok(
                match scheduled_reports::render(&self.app, &document).await? {
                    // Telegram would refuse it: the caption goes alone, saying why.
                    Ok(file) => match file.too_big(&head.message.text, limit) {
                        Some(text) => {
                            log::warn!(
                                "outbox: file of message {} is {} bytes: sent without it",
                                head.id,
                                file.bytes.len()
                            );
                            Delivery {
                                text,
                                ..single(head)
                            }
                        }
                        None => Delivery {
                            file: Some(Ok(file)),
                            ..single(head)
                        },
                    },
                    Err(reason) => Delivery {
                        file: Some(Err(reason)),
                        ..single(head)
                    },
                },
            );
        }
        let Some(key) = head.message.digest_key.clone() else {
            return Ok(single(head));
        };
        let chat = head.message.chat_id;
        let waiting = self
            .app
            .db(move |conn| outbox::pending_in(conn, chat, DIGEST_MAX_ROWS))
            .await?;
        let mut lines = Vec::new();
        let mut ids = Vec::new();
        let mut length = 0;
        for row in waiting
            .iter()
            .take_while(|row| row.message.digest_key.as_deref() == Some(key.as_str()))
        {
            let message = &row.message;
            let line = message
                .digest_line
                .clone()
                .unwrap_or_else(|| message.text.clone());
            length += line.chars().count() + 1;
            if !ids.is_empty() && length > DIGEST_MAX_CHARS {
                break;
            }
            lines.push(line);
            ids.push(row.id);
        }
        if ids.len() < 2 {
            return Ok(single(head));
        }
        Ok(Delivery {
            text: texts::digest(&key, &lines),
            ids,
            markup: None,
            file: None,
            head,
        })
    }

    /// Writes down what became of a delivery; Some(offset) when the chat is to be tried again.
    async fn record(
        &self,
        delivery: &Delivery,
        outcome: Outcome,
        at: Duration,
    ) -> Result<Option<Duration>, super::BoxError> {
        let now = self.app.now();
        let ids = delivery.ids.clone();
        let chat = delivery.chat_id();
        match outcome {
            Outcome::Sent(message_id) => {
                self.app
                    .db(move |conn| outbox::mark_sent(conn, &ids, message_id, now))
                    .await?;
                Ok(None)
            }
            Outcome::Later {
                wait,
                error,
                limited,
            } => {
                log::warn!("outbox: chat {chat}: {error}; trying again in {wait:?}");
                self.app.metrics.outbox_retry();
                let retry_at = at + wait;
                self.app.outbox.pace().block(chat, retry_at);
                let give_up = limited && delivery.head.attempts + 1 >= UNKNOWN_ERROR_ATTEMPTS;
                self.app
                    .db(move |conn| {
                        if give_up {
                            outbox::mark_failed(conn, &ids, &error, now)
                        } else {
                            outbox::note_failure(conn, &ids, &error)
                        }
                    })
                    .await?;
                Ok((!give_up).then_some(retry_at))
            }
            Outcome::Refused(reason) => {
                if delivery.head.message.fallback_chat_id.is_some() {
                    log::warn!(
                        "outbox: chat {chat} refused message {} ({reason}); sending it to its fallback",
                        delivery.head.id
                    );
                    let id = delivery.head.id;
                    self.app
                        .db(move |conn| outbox::reroute_to_fallback(conn, id, &reason))
                        .await?;
                    return Ok(Some(at));
                }
                log::warn!("outbox: chat {chat} refused {ids:?} for good: {reason}");
                self.app
                    .db(move |conn| outbox::mark_failed(conn, &ids, &reason, now))
                    .await?;
                // What the chat has waiting behind it goes at the chat's next turn (a file that
                // cannot be built holds nothing back; a chat that refuses all refuses each once).
                Ok(Some(at))
            }
            Outcome::Moved(to) => {
                log::info!("outbox: group {chat} became supergroup {}", to.0);
                self.app
                    .db(move |conn| outbox::move_chat(conn, chat, to.0))
                    .await?;
                Ok(Some(at))
            }
        }
    }

    async fn forget_done(&self, now: chrono::NaiveDateTime) {
        let cutoff = now - KEEP_DONE;
        if let Err(error) = self
            .app
            .db(move |conn| outbox::forget_done_before(conn, cutoff))
            .await
        {
            log::warn!("outbox: cannot forget old rows: {error}");
        }
    }
}

async fn send(bot: &Bot, delivery: &Delivery) -> Outcome {
    match &delivery.file {
        Some(Ok(file)) => return send_file(bot, delivery, file).await,
        Some(Err(reason)) => return Outcome::Refused(reason.clone()),
        None => {}
    }
    let mut request = bot
        .send_message(ChatId(delivery.chat_id()), &delivery.text)
        .parse_mode(ParseMode::Html);
    if let Some(json) = &delivery.markup {
        match serde_json::from_str::<ReplyMarkup>(json) {
            Ok(markup) => request = request.reply_markup(markup),
            Err(error) => return Outcome::Refused(format!("unreadable buttons: {error}")),
        }
    }
    crate::db::fault::before_send(delivery.chat_id());
    match request.await {
        Ok(message) => Outcome::Sent(message.id.0),
        Err(error) => judge(&error, delivery.head.attempts),
    }
}

/// A file with the row's text as its caption.
async fn send_file(bot: &Bot, delivery: &Delivery, file: &BuiltFile) -> Outcome {
    let document = InputFile::memory(file.bytes.clone()).file_name(file.name.clone());
    // Files are a few a day: a client of their own each time costs nothing that matters.
    let request = uploading(bot)
        .send_document(ChatId(delivery.chat_id()), document)
        .caption(&delivery.text)
        .parse_mode(ParseMode::Html);
    crate::db::fault::before_send(delivery.chat_id());
    match request.await {
        Ok(message) => Outcome::Sent(message.id.0),
        Err(error) => judge(&error, delivery.head.attempts),
    }
}

/// What a failed send means for the message.
fn judge(error: &RequestError, attempts: i32) -> Outcome {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    let backoff = (BACKOFF_FIRST * 2u32.pow(doublings)).min(BACKOFF_MAX);
    let later = |wait, error: String, limited| Outcome::Later {
        wait,
        error,
        limited,
    };
    match error {
        RequestError::RetryAfter(seconds) => later(
            seconds.duration(),
            format!("Telegram asks to wait ({error})"),
            false,
        ),
        RequestError::MigrateToChatId(to) => Outcome::Moved(*to),
        // A revoked token is the operator's to fix; the messages wait for the new one.
        RequestError::Network(_)
        | RequestError::Io(_)
        | RequestError::Api(ApiError::InvalidToken) => later(backoff, error.to_string(), false),
        RequestError::Api(ApiError::Unknown(description)) => {
            later(backoff, description.clone(), true)
        }
        RequestError::Api(api) => Outcome::Refused(api.to_string()),
        RequestError::InvalidJson { .. } => later(backoff, error.to_string(), true),
    }
}

/// The Bot API JSON of buttons, as the outbox keeps them.
pub fn markup_json(markup: impl Into<ReplyMarkup>) -> Option<String> {
    serde_json::to_string(&markup.into()).ok()
}
