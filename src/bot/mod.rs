//! The Telegram side. For now it answers /start from the migrated database; the full bot
//! (roles, orders, the master's flow) builds on this.

use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use crate::config::{self, ConfigError};

#[derive(BotCommands, Clone)]
#[command(rename_rule = "lowercase", description = "Команды:")]
pub enum Command {
    #[command(description = "начать работу")]
    Start,
}

/// What the bot needs besides the database.
#[derive(Debug, Clone)]
pub struct BotSettings {
    pub token: String,
    pub api_url: Option<url::Url>,
}

impl BotSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let token = config::var("BOT_TOKEN")
            .or_else(|| config::var("TELOXIDE_TOKEN"))
            .ok_or(ConfigError {
                variable: "BOT_TOKEN",
                problem: "is not set: put the token from @BotFather into .env (see .env.example)"
                    .into(),
            })?;
        let api_url = match config::var("TELOXIDE_API_URL") {
            None => None,
            Some(raw) => Some(raw.parse().map_err(|e| ConfigError {
                variable: "TELOXIDE_API_URL",
                problem: format!("is not a URL ({e}): {raw:?}"),
            })?),
        };
        Ok(Self { token, api_url })
    }
}

/// Runs the bot until Ctrl-C / SIGTERM.
pub async fn run(settings: BotSettings) {
    let mut bot = Bot::new(settings.token);
    if let Some(url) = settings.api_url {
        bot = bot.set_api_url(url);
    }
    let handler =
        Update::filter_message().branch(dptree::entry().filter_command::<Command>().endpoint(
            |bot: Bot, msg: Message, cmd: Command| async move {
                match cmd {
                    Command::Start => {
                        bot.send_message(msg.chat.id, texts::start(msg.chat.id.0))
                            .await?;
                    }
                }
                respond(())
            },
        ));
    Dispatcher::builder(bot, handler)
        .enable_ctrlc_handler()
        .build()
        .dispatch()
        .await;
}

pub mod texts {
    //! Every user-facing text, in Russian.

    pub fn start(chat_id: i64) -> String {
        format!("Здравствуйте! Бот сервиса ремонта техники работает.\nВаш Telegram id: {chat_id}")
    }
}
