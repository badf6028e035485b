//! The floor of `repair-bot sandbox --load --floor`: the least a teloxide bot can do per
//! update, measured by the same harness in the same run as the real bot, so that the bot's
//! CPU per update can be read as a multiple of it.
//!
//! It is a bare teloxide bot: teloxide's own `Dispatcher` with its default long polling, and
//! one handler that answers every private text message with exactly one sendMessage. No
//! database, no dialogue, no registration, no periodic jobs. The token and the API URL come
//! from the environment exactly as for the real bot ([`BotConfig`]), and it runs on the same
//! runtime shape as the real bot (two workers, a small blocking pool) and with the same
//! allocator settings (main's arena limit), so that the difference between the two is the
//! work the bot does per update. Started as the hidden command `repair-bot sandbox-floor`;
//! not for production.

use teloxide::prelude::*;

use crate::bot::BotConfig;

/// The answer to every private text message.
pub const ANSWER: &str = "ok";

/// Runs the floor bot until SIGTERM or Ctrl-C. It stops at once, without waiting for
/// teloxide's long poll to end: the harness stops it only when no update is in flight.
pub fn run(config: &BotConfig) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()?;
    let mut bot = Bot::new(config.token.clone());
    if let Some(url) = config.api_url.clone() {
        bot = bot.set_api_url(url);
    }
    runtime.block_on(async move {
        let handler = Update::filter_message()
            .filter(|message: Message| message.chat.is_private() && message.text().is_some())
            .endpoint(|bot: Bot, message: Message| async move {
                bot.send_message(message.chat.id, ANSWER).await?;
                Ok::<(), teloxide::RequestError>(())
            });
        let mut dispatcher = Dispatcher::builder(bot, handler).build();
        tokio::select! {
            () = dispatcher.dispatch() => {}
            () = stop_signal() => {}
        }
    });
    Ok(())
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
