//! `repair-bot sandbox --load`: measured load on the bot process through the fake Bot API.
//!
//! The production bot runs as its own process ([`BotProcess`]) against the in-process fake;
//! simulated users act in closed loops (each waits for the bot's reply before its next
//! update), `concurrency` of them at a time:
//!
//! - W1 `start`: `users` new users each send /start.
//! - W2 `intake`: `users` dispatchers (DISPATCHER_IDS) each take down `orders_per_user`
//!   orders through the whole intake, 9 updates per order. They send /start first to get
//!   the menu; that warm-up is not counted.
//!
//! With `floor`, W1 is first played against a bare teloxide bot ([`super::floor`]) in a process
//! of its own, with a fake of its own, and the report shows it next to the bot with the ratio
//! of their CPU per update. `bot_exe` runs another build as the bot (an older commit's, for a
//! before/after comparison under this same harness).
//!
//! A reply's latency runs from the moment getUpdates handed the update to the bot to the
//! bot's first message (sent or edited) in that chat, both as the fake saw them
//! ([`FakeTelegram::watch`]). Notifications about other dispatchers' new orders land in the
//! same chats; they are not replies and are skipped. The bot's CPU comes from /proc, this
//! process's (the load generator together with the fake) from getrusage; its context switches
//! from /proc/<pid>/task/*/status, summed over its threads. After the bot has stopped, the
//! database must hold exactly the rows the workloads wrote.

mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;

use super::{BotProcess, Program, Staff, SwitchCount};
use crate::bot::texts;
use crate::db::connection::open_read_only;
use crate::fake_telegram::{FakeTelegram, FakeUser, Observed, SentMessage};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which workload to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// N new users each sending /start (registration + menu).
    Start,
    /// Dispatchers walking the full order intake (about 9 updates per order).
    Intake,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Start => "W1 start",
            Workload::Intake => "W2 intake",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub workloads: Vec<Workload>,
    /// Simulated users (W1: new users; W2: dispatchers).
    pub users: usize,
    /// How many users act at the same time (closed loop: each waits for the bot's reply).
    pub concurrency: usize,
    /// Orders each dispatcher takes down in W2.
    pub orders_per_user: usize,
    /// An existing database to run against (e.g. one with 1,000,000 orders for startup time).
    pub database: Option<PathBuf>,
    /// Also measure the floor (a bare teloxide bot) with W1, before the bot.
    pub floor: bool,
    /// The executable run as the bot; None: this build.
    pub bot_exe: Option<PathBuf>,
    /// Before the workloads, wait until the bot is idle (see [`IDLE`]): the periodic jobs'
    /// first round runs at start, and on a large database it is work (and memory).
    pub wait_idle: bool,
}

impl Default for LoadOptions {
    /// Both workloads, 200 users, 50 at a time, 3 orders each.
    fn default() -> Self {
        LoadOptions {
            workloads: vec![Workload::Start, Workload::Intake],
            users: 200,
            concurrency: 50,
            orders_per_user: 3,
            database: None,
            floor: false,
            bot_exe: None,
            wait_idle: false,
        }
    }
}

/// One step waits at most this long for its reply; longer is a failed step, not a hang.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// After a workload, the bot counts as idle once it has sent nothing for this long.
const QUIET: Duration = Duration::from_millis(200);
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
/// With `wait_idle`: the bot counts as idle after startup once its CPU time has not grown for
/// this long (it grows in clock ticks of 10 ms)...
const IDLE: Duration = Duration::from_secs(1);
/// ...and the wait gives up after this long.
const IDLE_LIMIT: Duration = Duration::from_secs(300);
/// Simulated users get Telegram ids above this and above every id already in the database.
const FIRST_ID: i64 = 9_000_000_000;
/// How many failure descriptions a workload keeps for the report.
const KEEP_FAILURES: usize = 5;
/// Staff copies of new orders: one, or a digest of several that waited for the same chat.
const NOTIFICATION_PREFIXES: [&str; 2] = [texts::NEW_ORDER_HEADING, texts::NEW_ORDERS_HEADING];

/// Plays the workloads and prints the figures and the checks; Ok(true) only if every check
/// held (the performance targets are printed next to the figures but are no checks).
pub async fn run(options: &LoadOptions) -> Result<bool, BoxError> {
    if options.users == 0 || options.concurrency == 0 {
        return Err("--users and --concurrency must be at least 1".into());
    }
    if options.workloads.contains(&Workload::Intake) && options.orders_per_user == 0 {
        return Err("the intake workload needs at least one order per user".into());
    }
    println!("{}", report::header(options));
    let mut checks = Vec::new();
    let mut outcomes = Vec::new();
    if options.floor {
        let (outcome, floor_checks) = measure_floor(options).await?;
        outcomes.extend(outcome);
        checks.extend(floor_checks);
    }
    let (_scratch, database, backups) = super::workspace(options.database.as_deref())?;
    if options.database.is_some() {
        let forgotten = forget_handled_updates(&database)?;
        if forgotten > 0 {
            println!(
                "forgot {forgotten} handled update id(s) an earlier run left in the database: \
                 this fake numbers its updates from 1 again"
            );
        }
    }
    let before = Before::read(&database);
    let plan = Plan {
        users: options.users,
        orders_per_user: options.orders_per_user,
        first_id: FIRST_ID.max(before.max_telegram_id + 1),
    };
    let fake = FakeTelegram::start().await?;
    let routes = Routes::start(&fake);
    let intake = options.workloads.contains(&Workload::Intake);
    let staff = Staff {
        admins: Vec::new(),
        dispatchers: match intake {
            true => (0..plan.users).map(|i| plan.dispatcher_id(i)).collect(),
            false => Vec::new(),
        },
    };
    let program = Program::bot(options.bot_exe.as_deref())?;
    println!(
        "the bot: {} on database {}",
        program.exe.display(),
        database.display()
    );

    let mut bot = BotProcess::spawn(&program, &fake, &database, &backups, &staff, "warn")?;
    let played = play_all(&fake, &routes, &mut bot, options, &plan).await;
    let peak_rss_kb = bot.peak_rss_kb();
    let resident = Resident::read(bot.pid());
    let usage = tokio::task::spawn_blocking(move || bot.stop(STOP_TIMEOUT)).await?;
    routes.stop();
    fake.shutdown().await;

    let (ready, bot_outcomes) = match played {
        Ok((ready, outcomes)) => (Some(ready), outcomes),
        Err(error) => {
            checks.push(Check::new(false, format!("the bot is ready: {error}")));
            (None, Vec::new())
        }
    };
    for outcome in &bot_outcomes {
        checks.push(Check::new(
            outcome.failed_steps == 0,
            format!(
                "{}: every step got its reply within {} s ({} of {} updates failed)",
                outcome.workload.name(),
                STEP_TIMEOUT.as_secs(),
                outcome.failed_steps,
                outcome.updates
            ),
        ));
    }
    checks.push(Check::new(
        usage.status_ok,
        "the bot exited cleanly on SIGTERM".to_string(),
    ));
    if !bot_outcomes.is_empty() {
        match check_database(&database, &plan, &before, &options.workloads) {
            Ok(found) => checks.extend(found),
            Err(error) => checks.push(Check::new(false, format!("reading the database: {error}"))),
        }
    }
    outcomes.extend(bot_outcomes);
    let process = report::Process {
        startup: ready.map(|r| r.startup),
        peak_rss_at_ready_kb: ready.and_then(|r| r.peak_rss_kb),
        idle: ready.and_then(|r| r.idle),
        peak_rss_kb: peak_rss_kb.or(Some(usage.peak_rss_kb)),
        resident,
        bot_cpu_total: usage.user_cpu + usage.system_cpu,
        concurrency: options.concurrency,
    };
    println!("{}", report::table(&outcomes, &process));
    println!("{}", report::figures(&outcomes, &process));
    println!("{}", report::checks(&checks));
    Ok(checks.iter().all(|c| c.ok))
}

/// W1 against the floor ([`super::floor`]): its own scratch folder, fake and process. The
/// floor keeps nothing, so its checks are that every step got its one reply and that it
/// stopped cleanly.
async fn measure_floor(options: &LoadOptions) -> Result<(Option<Outcome>, Vec<Check>), BoxError> {
    let (_scratch, database, backups) = super::workspace(None)?;
    let plan = Plan {
        users: options.users,
        orders_per_user: options.orders_per_user,
        first_id: FIRST_ID,
    };
    let fake = FakeTelegram::start().await?;
    let routes = Routes::start(&fake);
    let program = Program::floor()?;
    println!(
        "the floor: {} {}",
        program.exe.display(),
        super::FLOOR_COMMAND
    );
    let mut floor = BotProcess::spawn(
        &program,
        &fake,
        &database,
        &backups,
        &Staff::default(),
        "warn",
    )?;
    let floor_options = LoadOptions {
        workloads: vec![Workload::Start],
        ..options.clone()
    };
    let played = play_all(&fake, &routes, &mut floor, &floor_options, &plan).await;
    let usage = tokio::task::spawn_blocking(move || floor.stop(STOP_TIMEOUT)).await?;
    routes.stop();
    fake.shutdown().await;
    let mut checks = Vec::new();
    let outcome = match played {
        Ok((_, outcomes)) => outcomes.into_iter().next().map(|mut outcome| {
            outcome.floor = true;
            checks.push(Check::new(
                outcome.failed_steps == 0 && outcome.bot_sent == outcome.updates as u64,
                format!(
                    "floor: every step got its one reply within {} s ({} of {} updates \
                     failed, {} messages sent)",
                    STEP_TIMEOUT.as_secs(),
                    outcome.failed_steps,
                    outcome.updates,
                    outcome.bot_sent
                ),
            ));
            outcome
        }),
        Err(error) => {
            checks.push(Check::new(false, format!("the floor is ready: {error}")));
            None
        }
    };
    checks.push(Check::new(
        usage.status_ok,
        "the floor exited cleanly on SIGTERM".to_string(),
    ));
    Ok((outcome, checks))
}

/// The bot has started polling.
#[derive(Debug, Clone, Copy)]
struct Ready {
    /// Process start -> first getUpdates.
    startup: Duration,
    /// VmHWM then.
    peak_rss_kb: Option<u64>,
    /// With `wait_idle`: how long after that the bot became idle, and its VmHWM then.
    idle: Option<(Duration, Option<u64>)>,
}

/// Startup, then each workload in turn; Err when the bot never became ready.
async fn play_all(
    fake: &FakeTelegram,
    routes: &Routes,
    bot: &mut BotProcess,
    options: &LoadOptions,
    plan: &Plan,
) -> Result<(Ready, Vec<Outcome>), String> {
    let startup = bot.ready(fake, STARTUP_TIMEOUT).await?;
    let mut ready = Ready {
        startup,
        peak_rss_kb: bot.peak_rss_kb(),
        idle: None,
    };
    let rss = |kb: Option<u64>| {
        kb.map(|kb| format!("{:.1} MB", kb as f64 / 1024.0))
            .unwrap_or_else(|| "unknown".into())
    };
    println!(
        "polling after {:.1} ms; peak RSS so far {}",
        startup.as_secs_f64() * 1000.0,
        rss(ready.peak_rss_kb)
    );
    if options.wait_idle {
        let waited = wait_idle(bot).await;
        let peak = bot.peak_rss_kb();
        println!(
            "idle {:.1} s later{}; peak RSS so far {}",
            waited.as_secs_f64(),
            if waited >= IDLE_LIMIT {
                " (gave up waiting)"
            } else {
                ""
            },
            rss(peak)
        );
        ready.idle = Some((waited, peak));
    }
    let context = Context {
        fake: fake.clone(),
        routes: routes.clone(),
        plan: plan.clone(),
    };
    let mut outcomes = Vec::new();
    for &workload in &options.workloads {
        if workload == Workload::Intake {
            // The dispatchers open the bot once to get the menu: not measured.
            let warm_up = play(&context, bot, Script::DispatcherStart, options.concurrency).await;
            if warm_up.failed_steps > 0 {
                let mut outcome = warm_up;
                outcome.workload = Workload::Intake;
                outcome
                    .failures
                    .insert(0, "the dispatchers' /start failed".into());
                outcomes.push(outcome);
                continue;
            }
        }
        let script = match workload {
            Workload::Start => Script::NewUser,
            Workload::Intake => Script::Intake,
        };
        outcomes.push(play(&context, bot, script, options.concurrency).await);
    }
    Ok((ready, outcomes))
}

/// Who the simulated people are and what they type.
#[derive(Debug, Clone)]
struct Plan {
    users: usize,
    orders_per_user: usize,
    first_id: i64,
}

impl Plan {
    fn new_user_id(&self, index: usize) -> i64 {
        self.first_id + index as i64
    }

    fn new_user_ids(&self) -> (i64, i64) {
        (self.new_user_id(0), self.new_user_id(self.users - 1))
    }

    fn dispatcher_id(&self, index: usize) -> i64 {
        self.first_id + (self.users + index) as i64
    }

    /// The order dispatcher `user` takes down as their `order`-th.
    fn order(&self, user: usize, order: usize) -> PlannedOrder {
        let k = user * self.orders_per_user + order;
        let digits = format!("{:07}", k % 10_000_000);
        PlannedOrder {
            dispatcher_id: self.dispatcher_id(user),
            description: format!("Не морозит морозильная камера, заявка {user}-{order}"),
            client_name: format!("Клиент {user}-{order}"),
            address: format!("ул. Лесная, д. {}, кв. {}", user + 1, order + 1),
            phone_typed: format!("8 900 {}-{}-{}", &digits[..3], &digits[3..5], &digits[5..]),
            phone: format!("+7900{digits}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PlannedOrder {
    dispatcher_id: i64,
    description: String,
    client_name: String,
    address: String,
    phone_typed: String,
    /// As the bot must store it.
    phone: String,
}

const EQUIPMENT: &str = "Холодильники";

/// Routes what the fake observes to the simulated user of that chat; counts the bot's messages.
#[derive(Clone)]
struct Routes {
    chats: Arc<Mutex<HashMap<i64, UnboundedSender<Observed>>>>,
    /// Messages the bot sent (not edits), and of those the new-order notifications.
    sent: Arc<AtomicU64>,
    notifications: Arc<AtomicU64>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Routes {
    fn start(fake: &FakeTelegram) -> Routes {
        let mut feed = fake.watch();
        let routes = Routes {
            chats: Arc::default(),
            sent: Arc::default(),
            notifications: Arc::default(),
            task: Arc::default(),
        };
        let router = routes.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = feed.recv().await {
                let chat = match &event {
                    Observed::HandedOut { chat_id, .. } => *chat_id,
                    Observed::Message { message, .. } => {
                        if message.edit_date.is_none() && !message.deleted {
                            router.sent.fetch_add(1, Ordering::Relaxed);
                            if is_notification(message) {
                                router.notifications.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Some(message.chat_id)
                    }
                };
                let Some(chat) = chat else { continue };
                let chats = router.chats.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(sender) = chats.get(&chat) {
                    let _ = sender.send(event);
                }
            }
        });
        *routes.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        routes
    }

    fn subscribe(&self, chat: i64) -> UnboundedReceiver<Observed> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.chats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(chat, sender);
        receiver
    }

    fn unsubscribe(&self, chat: i64) {
        self.chats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&chat);
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn notifications(&self) -> u64 {
        self.notifications.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

fn is_notification(message: &SentMessage) -> bool {
    NOTIFICATION_PREFIXES
        .iter()
        .any(|prefix| message.text.starts_with(prefix))
}

#[derive(Clone)]
struct Context {
    fake: FakeTelegram,
    routes: Routes,
    plan: Plan,
}

/// What one simulated user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// W1: a new user sends /start.
    NewUser,
    /// W2 warm-up: a dispatcher sends /start.
    DispatcherStart,
    /// W2: a dispatcher takes down the planned orders.
    Intake,
}

/// How the user acts.
enum Act<'a> {
    Text(&'a str),
    /// A plain button of the reply keyboard.
    MenuButton(&'a str),
    /// An inline button on the newest message that has it.
    Button(&'a str),
}

/// What the bot's answer to a step must be: the first reply matches the first expectation,
/// and the step is over once all have been seen in order.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Any message.
    Any,
    Text(&'static str),
    /// A message with this text in it.
    Contains(&'static str),
    /// A message with this inline button.
    Button(&'static str),
    /// "Заявка №N создана."
    Created,
    /// The order's card.
    Card,
}

impl Expect {
    fn matches(self, message: &SentMessage) -> bool {
        match self {
            Expect::Any => true,
            Expect::Text(text) => message.text == text,
            Expect::Contains(text) => message.text.contains(text),
            Expect::Button(label) => message.callback_data(label).is_some(),
            Expect::Created => {
                message.text.starts_with("Заявка <b>№") && message.text.ends_with("создана.")
            }
            Expect::Card => message.text.starts_with("<b>Заявка №"),
        }
    }
}

/// One simulated user in their private chat with the bot.
struct Person {
    fake: FakeTelegram,
    user: FakeUser,
    events: UnboundedReceiver<Observed>,
}

impl Person {
    /// Acts and waits for the reply; returns the reply latency.
    async fn step(&mut self, act: Act<'_>, expect: &[Expect]) -> Result<Duration, String> {
        // Whatever came before this step (notifications, mostly) is no reply to it.
        while self.events.try_recv().is_ok() {}
        let chat = self.user.id;
        let acted = match act {
            Act::Text(text) => {
                self.fake.send_text(&self.user, chat, text);
                Ok(())
            }
            Act::MenuButton(label) => self
                .fake
                .press_reply_button(&self.user, chat, label)
                .map(drop),
            Act::Button(label) => self.fake.press_button(&self.user, chat, label).map(drop),
        };
        acted.map_err(|e| e.to_string())?;
        let what = match act {
            Act::Text(text) => format!("{text:?}"),
            Act::MenuButton(label) | Act::Button(label) => format!("[{label}]"),
        };
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        let mut handed_out: Option<DateTime<Utc>> = None;
        let mut first: Option<DateTime<Utc>> = None;
        let mut seen = 0;
        while seen < expect.len() {
            let event = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => event,
                Ok(None) => return Err("the fake's feed ended".into()),
                Err(_) => {
                    let state = match (handed_out, first) {
                        (None, _) => "the bot never fetched the update",
                        (Some(_), None) => "no reply",
                        (Some(_), Some(_)) => "an incomplete reply",
                    };
                    return Err(format!(
                        "user {}: {what}: {state} after {} s",
                        chat,
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            };
            match event {
                Observed::HandedOut { at, .. } => {
                    handed_out.get_or_insert(at);
                }
                Observed::Message { at, message } => {
                    // Before the bot had our update it can only be finishing an earlier one.
                    if handed_out.is_none() || is_notification(&message) || message.deleted {
                        continue;
                    }
                    if first.is_none() {
                        first = Some(at);
                        if !expect[0].matches(&message) {
                            return Err(format!(
                                "user {chat}: {what}: unexpected reply {:?} (wanted {:?})",
                                message.text, expect[0]
                            ));
                        }
                    }
                    if expect[seen].matches(&message) {
                        seen += 1;
                    }
                }
            }
        }
        let (Some(handed_out), Some(first)) = (handed_out, first) else {
            return Err(format!("user {chat}: {what}: no reply"));
        };
        Ok((first - handed_out).to_std().unwrap_or_default())
    }
}

/// What one user's session gave.
#[derive(Default)]
struct Session {
    updates: usize,
    latencies: Vec<Duration>,
    failed: Option<String>,
}

impl Session {
    async fn step(&mut self, person: &mut Person, act: Act<'_>, expect: &[Expect]) -> bool {
        self.updates += 1;
        match person.step(act, expect).await {
            Ok(latency) => {
                self.latencies.push(latency);
                true
            }
            Err(error) => {
                self.failed = Some(error);
                false
            }
        }
    }
}

/// One user's closed loop; a failed step ends it (the dialogue is then in an unknown state).
async fn session(context: Context, script: Script, index: usize) -> Session {
    let plan = &context.plan;
    let id = match script {
        Script::NewUser => plan.new_user_id(index),
        Script::DispatcherStart | Script::Intake => plan.dispatcher_id(index),
    };
    let user = match script {
        Script::NewUser => context.fake.add_user(
            id,
            &format!("Гость {index}"),
            Some(&format!("load_guest_{index}")),
        ),
        Script::DispatcherStart | Script::Intake => FakeUser {
            id,
            first_name: format!("Диспетчер {index}"),
            username: Some(format!("load_dispatcher_{index}")),
        },
    };
    let mut person = Person {
        fake: context.fake.clone(),
        events: context.routes.subscribe(id),
        user,
    };
    let mut session = Session::default();
    match script {
        Script::NewUser | Script::DispatcherStart => {
            session
                .step(&mut person, Act::Text("/start"), &[Expect::Any])
                .await;
        }
        Script::Intake => {
            for order in 0..plan.orders_per_user {
                let planned = plan.order(index, order);
                let steps: [(Act, &[Expect]); 9] = [
                    (
                        Act::MenuButton(texts::MENU_NEW_ORDER),
                        &[Expect::Text(texts::ASK_EQUIPMENT)],
                    ),
                    (
                        Act::Button(EQUIPMENT),
                        &[Expect::Text(texts::ASK_DESCRIPTION)],
                    ),
                    (
                        Act::Text(&planned.description),
                        &[Expect::Text(texts::ASK_PHONE)],
                    ),
                    (
                        // A phone an earlier run (or a large database) knows gets its past
                        // orders above the question.
                        Act::Text(&planned.phone_typed),
                        &[Expect::Contains(texts::ASK_CLIENT_NAME)],
                    ),
                    (
                        Act::Text(&planned.client_name),
                        &[Expect::Text(texts::ASK_ADDRESS)],
                    ),
                    (
                        Act::Text(&planned.address),
                        &[Expect::Text(texts::ASK_NOTES)],
                    ),
                    (
                        Act::Button(texts::BUTTON_SKIP),
                        &[Expect::Text(texts::ASK_ARRIVAL)],
                    ),
                    (
                        Act::Button(texts::BUTTON_SKIP),
                        &[Expect::Button(texts::BUTTON_CONFIRM)],
                    ),
                    (
                        Act::Button(texts::BUTTON_CONFIRM),
                        &[Expect::Created, Expect::Card],
                    ),
                ];
                let mut completed = true;
                for (act, expect) in steps {
                    if !session.step(&mut person, act, expect).await {
                        completed = false;
                        break;
                    }
                }
                if !completed {
                    break;
                }
            }
        }
    }
    context.routes.unsubscribe(id);
    session
}

/// What one workload gave.
struct Outcome {
    workload: Workload,
    users: usize,
    /// Updates sent (steps attempted).
    updates: usize,
    failed_steps: usize,
    failures: Vec<String>,
    latencies: Vec<Duration>,
    wall: Duration,
    bot_cpu: Option<Duration>,
    own_cpu: Duration,
    bot_sent: u64,
    notifications: u64,
    /// The bot's peak RSS (VmHWM) once the workload was over.
    bot_peak_rss_kb: Option<u64>,
    /// The bot's context switches during the workload, until it went quiet.
    context_switches: Option<SwitchCount>,
    /// Played against the floor, not the bot.
    floor: bool,
}

/// Plays `script` for every user, `concurrency` at a time, then waits for the bot to go
/// quiet (so that its CPU includes all the work the updates caused).
async fn play(context: &Context, bot: &BotProcess, script: Script, concurrency: usize) -> Outcome {
    let users = context.plan.users;
    if script == Script::DispatcherStart || script == Script::Intake {
        for index in 0..users {
            context.fake.add_user(
                context.plan.dispatcher_id(index),
                &format!("Диспетчер {index}"),
                Some(&format!("load_dispatcher_{index}")),
            );
        }
    }
    let bot_cpu_before = bot_cpu(bot);
    let switches_before = bot.context_switches();
    let own_cpu_before = own_cpu();
    let sent_before = context.routes.sent();
    let notifications_before = context.routes.notifications();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.min(users) {
        let context = context.clone();
        let next = next.clone();
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= users {
                    return done;
                }
                done.push(session(context.clone(), script, index).await);
            }
        });
    }
    let mut sessions = Vec::new();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(done) => sessions.extend(done),
            Err(error) => sessions.push(Session {
                updates: 0,
                latencies: Vec::new(),
                failed: Some(format!("a load worker failed: {error}")),
            }),
        }
    }
    let wall = started.elapsed();
    settle(context).await;
    let bot_cpu = bot_cpu(bot)
        .zip(bot_cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let context_switches = bot
        .context_switches()
        .zip(switches_before)
        .map(|(after, before)| after.since(&before));
    let failures: Vec<String> = sessions.iter().filter_map(|s| s.failed.clone()).collect();
    Outcome {
        workload: match script {
            Script::NewUser => Workload::Start,
            Script::DispatcherStart | Script::Intake => Workload::Intake,
        },
        users,
        updates: sessions.iter().map(|s| s.updates).sum(),
        failed_steps: failures.len(),
        failures: failures.into_iter().take(KEEP_FAILURES).collect(),
        latencies: sessions.into_iter().flat_map(|s| s.latencies).collect(),
        wall,
        bot_cpu,
        own_cpu: own_cpu().saturating_sub(own_cpu_before),
        bot_sent: context.routes.sent() - sent_before,
        notifications: context.routes.notifications() - notifications_before,
        bot_peak_rss_kb: bot.peak_rss_kb(),
        context_switches,
        floor: false,
    }
}

/// Waits until the bot's CPU time has not grown for [`IDLE`] (at most [`IDLE_LIMIT`]);
/// returns how long that took.
async fn wait_idle(bot: &BotProcess) -> Duration {
    let started = Instant::now();
    let mut last = bot_cpu(bot);
    let mut since = Instant::now();
    while started.elapsed() < IDLE_LIMIT {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = bot_cpu(bot);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= IDLE {
            // The last second was idle: it is not part of the work.
            return since.duration_since(started);
        }
    }
    IDLE_LIMIT
}

/// Waits until no update is pending and the bot has sent nothing for a moment.
async fn settle(context: &Context) {
    context.fake.settle(QUIET, SETTLE_LIMIT).await;
}

fn bot_cpu(bot: &BotProcess) -> Option<Duration> {
    bot.cpu_time().map(|(user, system)| user + system)
}

/// CPU time of this process (the load generator and the fake), user + system.
fn own_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// What the bot had resident at the end, by kind (from /proc/<pid>/status).
#[derive(Debug, Clone, Copy, Default)]
struct Resident {
    anon_kb: u64,
    file_kb: u64,
    threads: u64,
}

impl Resident {
    fn read(pid: u32) -> Option<Resident> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Resident {
            anon_kb: field("RssAnon:")?,
            file_kb: field("RssFile:")?,
            threads: field("Threads:")?,
        })
    }
}

/// A verdict line of the report.
struct Check {
    ok: bool,
    what: String,
}

impl Check {
    fn new(ok: bool, what: String) -> Check {
        Check { ok, what }
    }
}

/// The ids of updates the bot handled but had not yet acknowledged when an earlier run stopped
/// it. Telegram never hands out an id twice, but each fake numbers its updates from 1: left in
/// place, they would make the bot skip this run's first updates as handled before.
fn forget_handled_updates(path: &Path) -> Result<usize, BoxError> {
    if !path.is_file() {
        return Ok(0);
    }
    let mut conn = crate::db::connection::open(path)?;
    let has_table = scalar(
        &mut conn,
        "SELECT COUNT(*) AS v FROM sqlite_master WHERE type = 'table' AND name = 'handled_updates'",
    )? > 0;
    if !has_table {
        return Ok(0);
    }
    Ok(diesel::sql_query("DELETE FROM handled_updates").execute(&mut conn)?)
}

/// What the database held before the run (nothing when it did not exist yet).
#[derive(Debug, Default)]
struct Before {
    max_telegram_id: i64,
    max_order_id: i64,
}

#[derive(QueryableByName)]
struct Scalar {
    #[diesel(sql_type = Nullable<BigInt>)]
    v: Option<i64>,
}

fn scalar(conn: &mut SqliteConnection, sql: &str) -> QueryResult<i64> {
    Ok(diesel::sql_query(sql)
        .get_result::<Scalar>(conn)?
        .v
        .unwrap_or(0))
}

impl Before {
    /// Best effort: a database that cannot be read yet (missing, legacy) counts as empty.
    fn read(path: &Path) -> Before {
        let Ok(mut conn) = open_read_only(path) else {
            return Before::default();
        };
        Before {
            max_telegram_id: scalar(&mut conn, "SELECT MAX(telegram_id) AS v FROM users")
                .unwrap_or(0),
            max_order_id: scalar(&mut conn, "SELECT MAX(id) AS v FROM orders").unwrap_or(0),
        }
    }
}

#[derive(QueryableByName)]
struct OrderRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    dispatcher_id: Option<i64>,
    #[diesel(sql_type = Text)]
    equipment_type: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    client_name: String,
    #[diesel(sql_type = Text)]
    client_address: String,
    #[diesel(sql_type = Text)]
    client_phone: String,
    #[diesel(sql_type = Text)]
    status: String,
}

#[derive(QueryableByName)]
struct HistoryRow {
    #[diesel(sql_type = BigInt)]
    order_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    old_status: Option<String>,
    #[diesel(sql_type = Text)]
    new_status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    changed_by: Option<i64>,
}

#[derive(QueryableByName)]
struct AuditRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    user_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    entity_id: Option<i64>,
}

/// The rows the workloads must have written, read after the bot stopped.
fn check_database(
    path: &Path,
    plan: &Plan,
    before: &Before,
    workloads: &[Workload],
) -> Result<Vec<Check>, BoxError> {
    let mut conn = open_read_only(path)?;
    let mut checks = Vec::new();
    let users = plan.users as i64;
    if workloads.contains(&Workload::Start) {
        let (low, high) = plan.new_user_ids();
        let rows = scalar(
            &mut conn,
            &format!("SELECT COUNT(*) AS v FROM users WHERE telegram_id BETWEEN {low} AND {high}"),
        )?;
        checks.push(Check::new(
            rows == users,
            format!("W1: {rows} new rows in users (want {users})"),
        ));
        let audit = scalar(
            &mut conn,
            &format!(
                "SELECT COUNT(*) AS v FROM audit_log WHERE action = 'USER_REGISTERED' \
                 AND entity_type = 'user' AND entity_id BETWEEN {low} AND {high} \
                 AND user_id = entity_id"
            ),
        )?;
        checks.push(Check::new(
            audit == users,
            format!("W1: {audit} USER_REGISTERED audit rows for them (want {users})"),
        ));
    }
    if workloads.contains(&Workload::Intake) {
        checks.extend(check_orders(&mut conn, plan, before)?);
    }
    Ok(checks)
}

fn check_orders(
    conn: &mut SqliteConnection,
    plan: &Plan,
    before: &Before,
) -> Result<Vec<Check>, BoxError> {
    let mut checks = Vec::new();
    let floor = before.max_order_id;
    let want = plan.users * plan.orders_per_user;
    let orders: Vec<OrderRow> = diesel::sql_query(format!(
        "SELECT id, dispatcher_id, equipment_type, description, client_name, client_address, \
         client_phone, status FROM orders WHERE id > {floor} ORDER BY id"
    ))
    .load(conn)?;
    checks.push(Check::new(
        orders.len() == want,
        format!("W2: {} new orders (want {want})", orders.len()),
    ));

    // Every planned order exactly once, as typed, with its dispatcher and normalised phone.
    let mut planned: HashMap<(i64, String), PlannedOrder> = HashMap::new();
    for user in 0..plan.users {
        for order in 0..plan.orders_per_user {
            let p = plan.order(user, order);
            planned.insert((p.dispatcher_id, p.client_name.clone()), p);
        }
    }
    let mut wrong = Vec::new();
    let mut dispatcher_of = HashMap::new();
    for row in &orders {
        let key = (
            row.dispatcher_id.unwrap_or_default(),
            row.client_name.clone(),
        );
        match planned.remove(&key) {
            Some(p)
                if row.client_phone == p.phone
                    && row.description == p.description
                    && row.client_address == p.address
                    && row.equipment_type == EQUIPMENT
                    && row.status == "NEW" =>
            {
                dispatcher_of.insert(row.id, p.dispatcher_id);
            }
            _ => wrong.push(format!(
                "order {} ({:?}, dispatcher {:?}, phone {})",
                row.id, row.client_name, row.dispatcher_id, row.client_phone
            )),
        }
    }
    checks.push(Check::new(
        wrong.is_empty() && planned.is_empty(),
        format!(
            "W2: each order as typed, with its dispatcher_id and the phone as +7900xxxxxxx \
             ({} unexpected{}, {} missing)",
            wrong.len(),
            wrong
                .first()
                .map(|w| format!(", e.g. {w}"))
                .unwrap_or_default(),
            planned.len()
        ),
    ));

    let history: Vec<HistoryRow> = diesel::sql_query(format!(
        "SELECT order_id, old_status, new_status, changed_by FROM order_status_history \
         WHERE order_id > {floor}"
    ))
    .load(conn)?;
    let mut per_order: HashMap<i64, usize> = HashMap::new();
    let mut bad_history = 0;
    for row in &history {
        *per_order.entry(row.order_id).or_default() += 1;
        let right = row.old_status.is_none()
            && row.new_status == "NEW"
            && row.changed_by.is_some()
            && row.changed_by == dispatcher_of.get(&row.order_id).copied();
        if !right {
            bad_history += 1;
        }
    }
    let one_each = orders
        .iter()
        .filter(|o| per_order.get(&o.id) == Some(&1))
        .count();
    checks.push(Check::new(
        one_each == orders.len() && history.len() == orders.len() && bad_history == 0,
        format!(
            "W2: one order_status_history row (NULL -> NEW by the dispatcher) per order \
             ({} rows, {one_each} orders with exactly one, {bad_history} wrong)",
            history.len()
        ),
    ));

    let audit: Vec<AuditRow> = diesel::sql_query(format!(
        "SELECT user_id, entity_id FROM audit_log WHERE action = 'ORDER_CREATED' \
         AND entity_type = 'order' AND entity_id > {floor}"
    ))
    .load(conn)?;
    let mut per_order: HashMap<i64, usize> = HashMap::new();
    let mut bad_audit = 0;
    for row in &audit {
        let order = row.entity_id.unwrap_or_default();
        *per_order.entry(order).or_default() += 1;
        if row.user_id.is_none() || row.user_id != dispatcher_of.get(&order).copied() {
            bad_audit += 1;
        }
    }
    let one_each = orders
        .iter()
        .filter(|o| per_order.get(&o.id) == Some(&1))
        .count();
    checks.push(Check::new(
        one_each == orders.len() && audit.len() == orders.len() && bad_audit == 0,
        format!(
            "W2: one ORDER_CREATED audit row by the dispatcher per order ({} rows, {one_each} \
             orders with exactly one, {bad_audit} wrong)",
            audit.len()
        ),
    ));
    Ok(checks)
}
