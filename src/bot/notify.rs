//! Sending with retries: Telegram's `retry_after` on 429 is honoured, network errors are
//! retried with back-off for up to [`RETRY_BUDGET`] (an API outage of a minute loses no reply);
//! other errors are returned (and logged by the caller). Once the bot is stopping, a failed
//! send is not retried, so that shutdown stays bounded.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use teloxide::prelude::*;
use teloxide::types::{ChatId, ParseMode, ReplyMarkup};
use teloxide::RequestError;

/// How long one message keeps being retried through network errors.
pub const RETRY_BUDGET: Duration = Duration::from_secs(60);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

static STOPPING: AtomicBool = AtomicBool::new(false);
/// Replies retried, for `/metrics`. Process-wide like [`STOPPING`]: one bot per process.
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// How many sends were retried since the process started.
pub fn retries() -> u64 {
    RETRIES.load(Ordering::Relaxed)
}

/// From now on failed sends are not retried (the process is shutting down).
pub fn stop_retrying() {
    STOPPING.store(true, Ordering::Relaxed);
}

fn stopping() -> bool {
    STOPPING.load(Ordering::Relaxed)
}

/// Sends an HTML message, retrying what is worth retrying.
pub async fn send(
    bot: &Bot,
    chat_id: ChatId,
    text: &str,
    markup: Option<ReplyMarkup>,
) -> Result<Message, RequestError> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut request = bot.send_message(chat_id, text).parse_mode(ParseMode::Html);
        if let Some(markup) = markup.clone() {
            request = request.reply_markup(markup);
        }
        match request.await {
            Ok(message) => return Ok(message),
            Err(error) if !stopping() => match retry_delay(&error, attempt) {
                Some(delay) if started.elapsed() + delay <= RETRY_BUDGET => {
                    RETRIES.fetch_add(1, Ordering::Relaxed);
                    log::warn!(
                        "sending to chat {} failed ({error}); retrying in {delay:?}",
                        chat_id.0
                    );
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(error),
            },
            Err(error) => return Err(error),
        }
    }
}

/// How long to wait before trying again, or None when retrying cannot help.
pub fn retry_delay(error: &RequestError, attempt: u32) -> Option<Duration> {
    match error {
        RequestError::RetryAfter(seconds) => Some(seconds.duration()),
        RequestError::Network(_) | RequestError::Io(_) => {
            Some(Duration::from_millis(200 * 2u64.pow(attempt.min(10))).min(BACKOFF_MAX))
        }
        _ => None,
    }
}

/// Whether the error says the bot may not write to this person at all (they blocked it,
/// never started it, or deleted their account): retrying cannot help, telling them elsewhere can.
pub fn cannot_write(error: &RequestError) -> bool {
    use teloxide::ApiError;
    matches!(
        error,
        RequestError::Api(
            ApiError::BotBlocked | ApiError::CantInitiateConversation | ApiError::UserDeactivated
        )
    )
}

/// Sends and logs a failure instead of returning it: for notifications to third parties,
/// whose failure must not undo or block the action that caused them.
pub async fn send_logged(
    bot: &Bot,
    chat_id: ChatId,
    text: &str,
    markup: Option<ReplyMarkup>,
) -> Option<Message> {
    match send(bot, chat_id, text, markup).await {
        Ok(message) => Some(message),
        Err(error) => {
            log::error!("could not notify chat {}: {error}", chat_id.0);
            None
        }
    }
}
