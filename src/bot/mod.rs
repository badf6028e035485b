//! The Telegram side: one dptree handler tree ([`schema`]), dialogues stored in the database,
//! cards and notifications, and the periodic jobs (reminders, SLA alerts, daily backup).

//! Features, each with its typed steps and its buttons routed in [`schema`]: `start` (commands,
//! the main menu, Cancel and fallbacks), `intake`, `order_actions`, `closing`, `editing`,
//! `masters`, `lists` (lists and search), `report_screens`, `order_lookup` (/order N, also in
//! work groups, and «Клиент ждёт»), `deletion` (soft delete of orders), `admin_screens` (the
//! journal, the users, the settings), and `jobs` (periodic work); `rate_limit` guards
//! polling.
//! Shared by them: `context` (the one handler context), `cards`, `keyboards`, `texts`,
//! `callbacks`, `state`, `notify`.

pub mod admin_screens;
pub mod buttons;
pub mod callbacks;
pub mod cards;
pub mod closing;
pub mod config;
pub mod context;
pub mod deletion;
pub mod editing;
pub mod intake;
pub mod jobs;
pub mod keyboards;
pub mod lists;
pub mod masters;
pub mod metrics;
pub mod notices;
pub mod notify;
pub mod order_actions;
pub mod order_lookup;
pub mod outbox;
pub mod polling;
pub mod rate_limit;
pub mod report_screens;
pub mod scheduled_reports;
pub mod start;
pub mod state;
pub mod texts;
pub mod visits;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use teloxide::dispatching::dialogue::Dialogue;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ReplyMarkup, User as TgUser};
use teloxide::utils::command::BotCommands;

use crate::clock::SharedClock;
use crate::db::pool::{self, DbPool, PoolError};
use crate::db::startup::DatabaseSettings;
use crate::domain::ids::TelegramId;
use crate::domain::status::Role;
use crate::store::dialogues::DbStorage;
use crate::store::members::{self, Contact, Member};
pub use config::BotConfig;
use context::{Ctx, Typed};
use state::State;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), BoxError>;
pub type Dialog = Dialogue<State, DbStorage<State>>;

/// What every handler may need, injected by type.
#[derive(Clone)]
pub struct App {
    pub pool: DbPool,
    pub config: Arc<BotConfig>,
    pub clock: SharedClock,
    pub database: Arc<DatabaseSettings>,
    /// Wakes the sender of queued messages.
    pub outbox: outbox::Outbox,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

impl App {
    pub fn new(
        pool: DbPool,
        config: BotConfig,
        clock: SharedClock,
        database: DatabaseSettings,
    ) -> App {
        let outbox = outbox::Outbox::new(config.send_limits);
        App {
            pool,
            config: Arc::new(config),
            clock,
            database: Arc::new(database),
            outbox,
            metrics: Arc::default(),
        }
    }

    pub fn now(&self) -> NaiveDateTime {
        self.clock.now_naive()
    }

    /// A quick store call (an update's own rows), on the connection when it is free.
    pub async fn db<T, F>(&self, work: F) -> Result<T, PoolError>
    where
        F: FnOnce(&mut diesel::SqliteConnection) -> diesel::QueryResult<T>,
    {
        pool::run(&self.pool, work).await
    }

    /// A store call that may read whole tables (reports, lists, searches, periodic rounds):
    /// on the blocking pool, so that no async worker waits for it.
    pub async fn db_long<T, F>(&self, work: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut diesel::SqliteConnection) -> diesel::QueryResult<T> + Send + 'static,
    {
        pool::run_long(&self.pool, work).await
    }

    /// A read that takes seconds (a report's workbook): on a read-only connection of its own,
    /// so that the bot's connection stays free for every update meanwhile.
    pub async fn db_read_alone<T, F>(&self, work: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut diesel::SqliteConnection) -> diesel::QueryResult<T> + Send + 'static,
    {
        pool::read_alone(&self.database.path, work).await
    }
}

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase", description = "Команды:")]
pub enum Command {
    #[command(description = "главное меню")]
    Start,
    #[command(description = "справка")]
    Help,
    #[command(description = "отменить текущее действие")]
    Cancel,
    #[command(description = "карточка заявки по номеру: /order 42")]
    Order(String),
}

/// The whole routing. Every private message and every button press first registers the
/// sender and resolves their roles (`Member`), then reads the person's dialogue and builds the
/// handler context ([`context::Ctx`]); then each feature's branch takes what is its own (a
/// dialogue step by `case![State::…]`, a button by `case![Callback::…]`, a menu button by
/// its text). What no feature takes gets an explicit answer.
pub fn schema() -> UpdateHandler<BoxError> {
    let typed = dptree::filter_map(|message: Message| {
        message.text().map(|text| Typed(text.trim().to_owned()))
    })
    .branch(dptree::filter(|typed: Typed| typed.0 == texts::BUTTON_CANCEL).endpoint(start::cancel))
    .branch(dptree::filter(start::dialogue_not_permitted).endpoint(start::role_taken_away))
    .branch(dptree::case![State::Idle].chain(start::menu()))
    .branch(intake::typed())
    .branch(order_actions::typed())
    .branch(order_actions::long_repair_typed())
    .branch(closing::typed())
    .branch(editing::typed())
    .branch(masters::typed())
    .branch(lists::typed())
    .branch(report_screens::typed())
    .branch(visits::typed())
    .branch(dptree::filter(|state: State| state.takes_buttons_only()).endpoint(start::use_buttons))
    .branch(dptree::endpoint(start::not_understood));
    let messages = Update::filter_message()
        .filter(|message: Message| message.chat.is_private())
        .filter_map_async(identify_sender)
        .map(|sender: Sender| sender.member)
        .map(|sender: Sender| sender.state)
        .map(Ctx::for_message)
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(start::command),
        )
        .branch(
            dptree::filter(|message: Message| message.shared_chat().is_some())
                .endpoint(masters::chat_shared),
        )
        .branch(typed)
        .branch(dptree::endpoint(start::not_text));
    // A button may sit in a work group, but the dialogue it starts (a reason, the amounts)
    // continues in the presser's private chat: the dialogue is keyed by the user, not the chat.
    let buttons = Update::filter_callback_query()
        .filter_map_async(identify_sender)
        .map(|sender: Sender| sender.member)
        .map(|sender: Sender| sender.state)
        .map(Ctx::for_press)
        .chain(buttons::routes());
    // In groups the bot answers one command, /order N (a master's work group); everything
    // else there is the people's own talk. The sender is registered only when they ask.
    let in_groups = Update::filter_message()
        .filter(|message: Message| !message.chat.is_private())
        .filter_command::<Command>()
        .filter_map(|command: Command| match command {
            Command::Order(number) => Some(number),
            _ => None,
        })
        .filter_map_async(identify_sender)
        .map(|sender: Sender| sender.member)
        .map(|sender: Sender| sender.state)
        .map(Ctx::for_message)
        .endpoint(order_lookup::in_group);
    dptree::entry()
        .branch(messages)
        .branch(in_groups)
        .branch(buttons)
}

/// The sender of an update with their roles and their dialogue, read in one database trip.
#[derive(Clone)]
struct Sender {
    member: Member,
    state: State,
}

/// Registers the sender (refreshing names, applying ADMIN_IDS / DISPATCHER_IDS) and reads
/// their roles and their dialogue (keyed by the person: a private chat's id is the user's), on
/// one connection. Updates without a sender are not ours to answer.
async fn identify_sender(update: Update, app: App) -> Option<Sender> {
    let from: TgUser = update.from()?.clone();
    let contact = Contact {
        telegram_id: TelegramId(from.id.0 as i64),
        username: from.username.clone(),
        first_name: Some(from.first_name.clone()),
        last_name: from.last_name.clone(),
    };
    let env = app.config.env_roles.clone();
    let now = app.now();
    let person = contact.telegram_id;
    let identified = app
        .db(move |conn| {
            let member = members::register(conn, &contact, &env, now)?;
            let state = crate::store::dialogues::read(conn, person.0)?.unwrap_or_default();
            Ok(Sender { member, state })
        })
        .await;
    match identified {
        Ok(sender) => Some(sender),
        Err(error) => {
            log::error!("cannot register user {}: {error}", from.id.0);
            None
        }
    }
}

pub fn roles(member: &Member) -> Vec<Role> {
    member.roles()
}

/// Sends an HTML reply to a chat (the answer to the user's own action: no quiet hours),
/// retrying as every send does.
pub async fn reply(
    bot: &Bot,
    chat_id: ChatId,
    text: &str,
    markup: Option<ReplyMarkup>,
) -> HandlerResult {
    notify::send(bot, chat_id, text, markup).await?;
    Ok(())
}

/// The bot serving updates in the background (tests start it against a fake Bot API with a
/// manual clock; [`run`] adds the signals and the periodic jobs).
pub struct Serving {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), polling::PollingError>>,
    sender: Delivering,
}

impl Serving {
    /// Polls and delivers the outbox (no periodic jobs: tests run their rounds themselves).
    pub fn start(bot: Bot, app: App) -> Serving {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let sender = Delivering::start(&bot, &app);
        let task = tokio::spawn(serve(bot, app, stopped));
        Serving { stop, task, sender }
    }

    /// Drops everything at once, finishing nothing, as `kill -9` would (crash tests).
    pub fn abandon(self) {
        self.task.abort();
        self.sender.task.abort();
    }

    /// Asks polling to stop and waits for it: in-flight updates finish first, then the
    /// outbox delivers what is due (within its grace).
    pub async fn stop(self) -> Result<(), polling::PollingError> {
        let _ = self.stop.send(true);
        let result = match self.task.await {
            Ok(result) => result,
            Err(error) => {
                log::error!("polling task failed: {error}");
                Ok(())
            }
        };
        self.sender.stop().await;
        result
    }
}

/// The outbox's sender in the background. It stops last, after everything that queues
/// messages has stopped, so that what they queued on the way out is still delivered.
struct Delivering {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Delivering {
    fn start(bot: &Bot, app: &App) -> Delivering {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(outbox::run(bot.clone(), app.clone(), stopped));
        Delivering { stop, task }
    }

    async fn stop(mut self) {
        let _ = self.stop.send(true);
        let bound = outbox::DRAIN_GRACE + Duration::from_secs(1);
        if tokio::time::timeout(bound, &mut self.task).await.is_err() {
            self.task.abort();
            log::warn!(
                "outbox: sender stopped mid-send; what it sent but did not record goes again"
            );
        }
    }
}

/// Identifies the bot (retrying until Telegram answers), then polls until `stop`, or with
/// `WEBHOOK_URL` receives updates by webhook ([`webhook`]).
pub async fn serve(
    bot: Bot,
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), polling::PollingError> {
    let Some(me) = polling::identify(&bot, &mut stop).await? else {
        return Ok(());
    };
    log::info!("connected to Telegram as @{}", me.username());
    if let Err(error) = bot.set_my_commands(Command::bot_commands()).await {
        log::warn!("setMyCommands failed: {error}");
    }
    if let Some(webhook) = app.config.webhook.clone() {
        return webhook::run(bot, app, me, webhook, stop).await;
    }
    // Best effort, like teloxide's own polling: a webhook left by another deployment would
    // make every getUpdates fail.
    if let Err(error) = bot.delete_webhook().await {
        log::warn!("deleteWebhook failed: {error}");
    }
    polling::run(bot, app, me, stop).await
}

/// Runs the bot until Ctrl-C or SIGTERM: in-flight updates finish (within
/// [`polling::GRACE`]), the periodic jobs stop before their next person (within
/// [`jobs::ROUND_GRACE`]), the outbox delivers what is due (within
/// [`outbox::DRAIN_GRACE`]), then return. A token Telegram rejects is an error. With a
/// `metrics` listener (`METRICS_ADDR`), `/healthz` and `/metrics` are served on it meanwhile.
pub async fn run(
    bot: Bot,
    app: App,
    metrics: Option<tokio::net::TcpListener>,
) -> Result<(), polling::PollingError> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let delivering = Delivering::start(&bot, &app);
    let monitoring = metrics
        .map(|listener| tokio::spawn(metrics::serve(listener, app.clone(), stopped.clone())));
    let mut jobs = tokio::spawn(jobs::run_periodically(app.clone(), stopped.clone()));
    let serving = tokio::spawn(serve(bot, app, stopped));
    let signals = tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            wait_for_signal().await;
            log::info!("shutting down: finishing the updates in flight");
            notify::stop_retrying();
            let _ = stop.send(true);
        }
    });
    let result = match serving.await {
        Ok(result) => result,
        Err(error) => {
            log::error!("polling task failed: {error}");
            Ok(())
        }
    };
    signals.abort();
    // Polling may also end on its own (a rejected token): the jobs stop then too. They stop
    // at a point where what was sent is counted; the abort is for a round that never gets
    // there, and the second's margin lets it use its own grace first.
    let _ = stop.send(true);
    if tokio::time::timeout(jobs::ROUND_GRACE + Duration::from_secs(1), &mut jobs)
        .await
        .is_err()
    {
        jobs.abort();
        let _ = jobs.await;
    }
    delivering.stop().await;
    if let Some(monitoring) = monitoring {
        let _ = monitoring.await;
    }
    log::info!("bot stopped");
    result
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
