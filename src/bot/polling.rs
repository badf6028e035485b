//! Long polling that loses no update and always stops.
//!
//! teloxide's own `Dispatcher` acknowledges a batch (advances the getUpdates offset) as soon
//! as it has fetched the next one, whatever became of the updates in it, so a crash or an API
//! outage loses updates already fetched. Here a batch is acknowledged only after every update
//! in it is handled: each handled id is recorded in the database, a batch that comes again
//! after a crash skips those ids, and the next getUpdates carries the offset. Updates of one
//! sender are handled in order, different senders at the same time. The handler tree is the
//! same dptree [`super::schema`]; only the loop around it is ours.
//!
//! A person over the rate limit ([`super::rate_limit`]) has their extra updates acknowledged
//! with the batch but not handled, and is asked once to wait; the check is in memory, before
//! the batch is handed out, so a flood slows nobody else.
//!
//! Stopping: the stop signal interrupts the long poll at once; a batch in progress finishes
//! (replies stop retrying, see [`super::notify`]) within [`GRACE`], else it is abandoned
//! unacknowledged and comes again at the next start.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{Me, Update};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;

use super::rate_limit::{Limiter, Verdict};
use super::{texts, App, BoxError};
use crate::store::dialogues::DbStorage;
use crate::store::{jobs, updates};

/// The long-poll timeout Telegram holds a getUpdates open (below teloxide's HTTP timeout).
const POLL_TIMEOUT_SECS: u32 = 10;
/// How long a batch in progress may take to finish once a stop is asked for.
pub const GRACE: Duration = Duration::from_secs(15);
/// How often a successful getUpdates is written down for `repair-bot health`: one small write
/// a half minute whatever the traffic, instead of one per poll.
pub const RECORD_POLL_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// Back-off between failed getUpdates calls: doubles up to the cap.
pub(super) const BACKOFF_FIRST: Duration = Duration::from_millis(500);
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Why polling ended with an error the operator must fix.
#[derive(Debug, thiserror::Error)]
pub enum PollingError {
    #[error("BOT_TOKEN is rejected by Telegram ({0}): check the token from @BotFather")]
    InvalidToken(String),
    #[error("WEBHOOK_LISTEN={addr}: cannot listen there: {problem}")]
    WebhookListen { addr: String, problem: String },
    #[error("WEBHOOK_URL is refused by Telegram's setWebhook: {0}")]
    WebhookRefused(String),
}

/// Everything one handled update needs: the handler tree and its dependencies. Shared by
/// polling and the webhook ([`super::webhook`]).
#[derive(Clone)]
pub(super) struct Handling {
    handler: Arc<UpdateHandler<BoxError>>,
    deps: DependencyMap,
    pub(super) bot: Bot,
    pub(super) app: App,
    storage: Arc<DbStorage<super::state::State>>,
}

impl Handling {
    pub(super) fn new(bot: &Bot, app: &App, me: Me) -> Handling {
        let storage = DbStorage::<super::state::State>::new(app.pool.clone(), app.clock.clone());
        let handler = Arc::new(super::schema());
        let deps = dptree::deps![bot.clone(), app.clone(), storage.clone(), me];
        dptree::type_check(
            handler.sig(),
            &deps,
            &[dptree::Type::of::<Update>(), dptree::Type::of::<Me>()],
        );
        Handling {
            handler,
            deps,
            bot: bot.clone(),
            app: app.clone(),
            storage,
        }
    }
}

/// Asks Telegram who the bot is, retrying network trouble with back-off until it answers or a
/// stop is asked for; a rejected token is an error at once.
pub async fn identify(
    bot: &Bot,
    stop: &mut watch::Receiver<bool>,
) -> Result<Option<Me>, PollingError> {
    let mut backoff = BACKOFF_FIRST;
    loop {
        let error = tokio::select! {
            answer = bot.get_me() => match answer {
                Ok(me) => return Ok(Some(me)),
                Err(error) => error,
            },
            _ = stopped(stop) => return Ok(None),
        };
        if let Some(fatal) = fatal(&error) {
            return Err(fatal);
        }
        log::warn!("Telegram is not reachable ({error}); trying again in {backoff:?}");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopped(stop) => return Ok(None),
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

pub(super) fn fatal(error: &RequestError) -> Option<PollingError> {
    match error {
        RequestError::Api(ApiError::InvalidToken) => {
            Some(PollingError::InvalidToken(error.to_string()))
        }
        _ => None,
    }
}

/// Resolves once a stop is asked for (or the sender is gone).
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Polls and handles updates until `stop` turns true.
pub async fn run(
    bot: Bot,
    app: App,
    me: Me,
    mut stop: watch::Receiver<bool>,
) -> Result<(), PollingError> {
    let handling = Handling::new(&bot, &app, me);
    // Updates handled but maybe not acknowledged: those a previous run recorded (read once)
    // and those handled since; forgotten once Telegram has confirmed them.
    let Some(mut handled) = handled_ids(&app, &mut stop).await else {
        return Ok(());
    };
    // Telegram keeps unacknowledged updates: starting from 0 asks for all of them.
    let mut offset: i32 = 0;
    let mut pruned_below: i32 = 0;
    let mut poll_recorded: Option<chrono::NaiveDateTime> = None;
    let mut backoff = BACKOFF_FIRST;
    let mut limiter = app.config.rate_limit.map(Limiter::new);
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(POLL_TIMEOUT_SECS)
            .limit(100);
        let fetched = tokio::select! {
            fetched = request.send() => fetched,
            _ = stopped(&mut stop) => return Ok(()),
        };
        let batch = match fetched {
            Ok(batch) => {
                backoff = BACKOFF_FIRST;
                note_polled(&app, &mut poll_recorded).await;
                forget_acknowledged(&app, offset, &mut pruned_below).await;
                handled.retain(|&id| id >= i64::from(offset));
                batch
            }
            Err(error) => {
                if let Some(fatal) = fatal(&error) {
                    return Err(fatal);
                }
                let delay = match &error {
                    RequestError::RetryAfter(seconds) => seconds.duration(),
                    _ => backoff,
                };
                log::warn!("getUpdates failed ({error}); trying again in {delay:?}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopped(&mut stop) => return Ok(()),
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let Some(last) = batch.iter().map(|u| u.id.0).max() else {
            continue;
        };
        let fresh: Vec<Update> = batch
            .into_iter()
            .filter(|update| {
                let again = handled.contains(&i64::from(update.id.0));
                if again {
                    log::info!("update {} was handled already: skipped", update.id.0);
                }
                !again
            })
            .collect();
        handled.extend(fresh.iter().map(|update| i64::from(update.id.0)));
        let (admitted, asked_to_wait) = sift(limiter.as_mut(), fresh, app.now());
        let work = handle_batch(handling.clone(), admitted, asked_to_wait);
        tokio::pin!(work);
        let finished = tokio::select! {
            () = &mut work => true,
            _ = stopped(&mut stop) => {
                log::info!("stopping: finishing the updates in flight");
                tokio::time::timeout(GRACE, &mut work).await.is_ok()
            }
        };
        if !finished {
            log::warn!(
                "updates still in flight after {GRACE:?}: they come again at the next start"
            );
            return Ok(());
        }
        offset = last as i32 + 1;
    }
}

/// The ids of the updates a previous run handled and Telegram may send again, read once at
/// start (retried until the database answers); None: a stop was asked for meanwhile.
pub(super) async fn handled_ids(
    app: &App,
    stop: &mut watch::Receiver<bool>,
) -> Option<BTreeSet<i64>> {
    loop {
        match app.db(updates::all_handled).await {
            Ok(ids) => return Some(ids.into_iter().collect()),
            Err(error) => {
                log::error!("cannot read handled update ids: {error}");
                tokio::select! {
                    _ = tokio::time::sleep(BACKOFF_FIRST) => {}
                    _ = stopped(stop) => return None,
                }
            }
        }
    }
}

/// Telegram answered a getUpdates: the metrics learn it each time, the database at most every
/// [`RECORD_POLL_EVERY`].
pub(super) async fn note_polled(app: &App, recorded: &mut Option<chrono::NaiveDateTime>) {
    let now = app.now();
    app.metrics.polled(now);
    if recorded.is_some_and(|at| now - at < RECORD_POLL_EVERY && now >= at) {
        return;
    }
    match app
        .db(move |conn| jobs::record_run(conn, jobs::GET_UPDATES, now))
        .await
    {
        Ok(()) => *recorded = Some(now),
        Err(error) => log::warn!("cannot record the successful getUpdates: {error}"),
    }
}

/// Telegram has confirmed every update below `offset` (a getUpdates with it succeeded): their
/// records are no longer needed. Pruned only then, so a crash before that call still finds
/// the records of the batch it will be sent again.
async fn forget_acknowledged(app: &App, offset: i32, pruned_below: &mut i32) {
    if offset <= *pruned_below {
        return;
    }
    let acknowledged = i64::from(offset);
    match app
        .db(move |conn| updates::forget_below(conn, acknowledged))
        .await
    {
        Ok(_) => *pruned_below = offset,
        Err(error) => log::warn!("cannot prune handled update ids: {error}"),
    }
}

/// Splits a batch by the rate limit: the updates to handle, and for each person who went
/// over it just now, the update to answer with "please wait". The rest is dropped.
pub(super) fn sift(
    limiter: Option<&mut Limiter>,
    batch: Vec<Update>,
    now: chrono::NaiveDateTime,
) -> (Vec<Update>, Vec<Update>) {
    let Some(limiter) = limiter else {
        return (batch, Vec::new());
    };
    let mut admitted = Vec::with_capacity(batch.len());
    let mut asked = Vec::new();
    for update in batch {
        let Some(person) = update.from().map(|user| user.id.0 as i64) else {
            admitted.push(update);
            continue;
        };
        match limiter.check(person, now) {
            Verdict::Handle => admitted.push(update),
            Verdict::DropAndAskToWait => {
                log::info!("user {person} sends too fast: their updates are dropped for a while");
                asked.push(update);
            }
            Verdict::Drop => log::debug!("update {} of user {person} dropped", update.id.0),
        }
    }
    (admitted, asked)
}

/// Handles one batch: each sender's updates in order, senders concurrently; a sender asked
/// to wait hears it after their updates that were handled.
async fn handle_batch(handling: Handling, batch: Vec<Update>, asked_to_wait: Vec<Update>) {
    let mut by_sender: BTreeMap<i64, (Vec<Update>, Option<Update>)> = BTreeMap::new();
    for update in batch {
        by_sender
            .entry(sender_key(&update))
            .or_default()
            .0
            .push(update);
    }
    for update in asked_to_wait {
        let key = sender_key(&update);
        by_sender.entry(key).or_default().1 = Some(update);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, (updates, ask)) in by_sender {
        let handling = handling.clone();
        tasks.spawn(async move {
            for update in updates {
                handle_one(&handling, update).await;
            }
            if let Some(update) = ask {
                ask_to_wait(&handling.bot, &update).await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            log::error!("an update handler panicked: {error}");
        }
    }
}

/// "Please wait", where the dropped update came from: a press's pop-up, else the chat.
pub(super) async fn ask_to_wait(bot: &Bot, update: &Update) {
    match &update.kind {
        teloxide::types::UpdateKind::CallbackQuery(query) => {
            let answered = bot
                .answer_callback_query(query.id.clone())
                .text(texts::SLOW_DOWN)
                .await;
            if let Err(error) = answered {
                log::warn!("answerCallbackQuery failed: {error}");
            }
        }
        _ => {
            if let Some(chat) = update.chat() {
                super::notify::send_logged(bot, chat.id, texts::SLOW_DOWN, None).await;
            }
        }
    }
}

/// Dialogues are keyed by the person, so one person's updates must not overlap.
fn sender_key(update: &Update) -> i64 {
    update
        .from()
        .map(|user| user.id.0 as i64)
        .or_else(|| update.chat().map(|chat| chat.id.0))
        .unwrap_or(0)
}

pub(super) async fn handle_one(handling: &Handling, update: Update) {
    let id = update.id.0;
    let user = update.from().map(|u| ChatId(u.id.0 as i64));
    let press = match &update.kind {
        teloxide::types::UpdateKind::CallbackQuery(query) => Some(query.clone()),
        _ => None,
    };
    let mut deps = handling.deps.clone();
    deps.insert(update);
    let mut outcome = handling.handler.dispatch(deps).await;
    if let Some(query) = press {
        outcome = super::buttons::answer(&handling.bot, &handling.storage, &query, outcome).await;
    }
    let failed = matches!(outcome, ControlFlow::Break(Err(_)));
    handling.app.metrics.update_handled(failed);
    match outcome {
        ControlFlow::Break(Ok(())) => {}
        ControlFlow::Break(Err(error)) => {
            log::error!("handler failed on update {id}: {error}");
            // The person gets an answer even when the handler could not give one.
            if let Some(chat) = user {
                super::notify::send_logged(&handling.bot, chat, texts::TRY_AGAIN_LATER, None).await;
            }
        }
        ControlFlow::Continue(_) => log::debug!("update {id} not handled (not ours to answer)"),
    }
    let now = handling.app.now();
    if let Err(error) = handling
        .app
        .db(move |conn| updates::mark_handled(conn, i64::from(id), now))
        .await
    {
        log::error!("cannot record update {id} as handled: {error}");
    }
}
