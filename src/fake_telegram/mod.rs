//! A local fake of the Telegram Bot API for tests and the offline sandbox.
//!
//! [`FakeTelegram::start`] serves the Bot API over HTTP on 127.0.0.1; point a real bot at it
//! with `Bot::new(fake.token()).set_api_url(fake.url())`. Users and groups are registered
//! with [`FakeTelegram::add_user`] / [`FakeTelegram::add_group`]; they act through
//! [`FakeTelegram::send_text`], [`FakeTelegram::press_button`] and the like, which queue
//! updates for the bot's long polling. Everything the bot does is recorded: the current
//! state of its messages per chat ([`FakeTelegram::messages`]), every API call
//! ([`FakeTelegram::calls`]), callback answers, reply keyboards.
//!
//! Semantics follow Telegram where bots can trip over them: getUpdates confirms by `offset`,
//! an edit that changes nothing fails with "message is not modified", an edit without
//! `reply_markup` drops the inline keyboard, a callback query can be answered once, unknown
//! chats give "chat not found". Methods the fake does not model answer `true`.
//!
//! Layout: `http` (the HTTP side, on hyper), `state` (what is remembered and each method's
//! semantics), `objects` (the Bot API objects it answers with, as teloxide's types),
//! `records` (what tests read back).

mod http;
mod objects;
mod records;
mod state;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use records::{FakeUser, SentDocument, SentMessage};
pub use state::{CallbackAnswer, FakeError, Observed, RecordedCall};

use objects::UserContent;
use state::{keyboard_labels, Shared};

/// The bot the fake serves: its token is `<id>:<secret>`, as from @BotFather.
const BOT_ID: i64 = 7_000_000_001;
const BOT_TOKEN: &str = "7000000001:FAKE-telegram-token";
const BOT_USERNAME: &str = "fake_repair_bot";

/// A running fake Bot API. Cheap to clone; all clones share the server and its state.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    address: SocketAddr,
    url: url::Url,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for FakeTelegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeTelegram")
            .field("url", &self.inner.url.as_str())
            .finish()
    }
}

/// [`FakeTelegram::wait_for`] gave up; shows what the chat held at that moment.
#[derive(Debug, Clone)]
pub struct Timeout {
    pub chat_id: i64,
    pub waited: Duration,
    pub messages: Vec<SentMessage>,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no matching bot message in chat {} after {:?}; the chat has",
            self.chat_id, self.waited
        )?;
        if self.messages.is_empty() {
            return write!(f, " no bot messages");
        }
        for m in &self.messages {
            let deleted = if m.deleted { " (deleted)" } else { "" };
            write!(
                f,
                "\n  #{}{deleted}: {:?} {:?}",
                m.message_id,
                m.text,
                m.buttons()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Timeout {}

/// No button with that label: lists the labels there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchButton {
    pub chat_id: i64,
    pub label: String,
    pub available: Vec<String>,
}

impl fmt::Display for NoSuchButton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no button {:?} in chat {}; there are {:?}",
            self.label, self.chat_id, self.available
        )
    }
}

impl std::error::Error for NoSuchButton {}

impl FakeTelegram {
    /// Binds 127.0.0.1 on a free port and serves until [`FakeTelegram::shutdown`] (or the end
    /// of the Tokio runtime). Must be called inside a Tokio runtime.
    pub async fn start() -> std::io::Result<FakeTelegram> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let url = url::Url::parse(&format!("http://{address}/"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let bot = FakeUser {
            id: BOT_ID,
            first_name: "Repair bot".into(),
            username: Some(BOT_USERNAME.into()),
        };
        let shared = Arc::new(Shared::new(BOT_TOKEN.into(), bot));
        let server = tokio::spawn(http::serve(listener, shared.clone()));
        let inner = Inner {
            shared,
            address,
            url,
            server: Mutex::new(Some(server)),
        };
        Ok(FakeTelegram {
            inner: Arc::new(inner),
        })
    }

    /// The API URL for `Bot::set_api_url`.
    pub fn url(&self) -> url::Url {
        self.inner.url.clone()
    }

    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// The bot token the fake accepts (others get 401 "Unauthorized").
    pub fn token(&self) -> &str {
        &self.inner.shared.token
    }

    /// The bot as a user (what getMe describes and what its messages are `from`).
    pub fn bot_user(&self) -> FakeUser {
        self.inner.shared.lock().bot.clone()
    }

    /// Registers a user; their private chat with the bot has the same id.
    pub fn add_user(&self, id: i64, first_name: &str, username: Option<&str>) -> FakeUser {
        let user = FakeUser {
            id,
            first_name: first_name.into(),
            username: username.map(str::to_owned),
        };
        self.inner
            .shared
            .update(|s| s.users.insert(id, user.clone()));
        user
    }

    /// Registers a supergroup (negative id, e.g. -100…) with these members and the bot as
    /// administrator.
    pub fn add_group(&self, id: i64, title: &str, member_ids: &[i64]) {
        let group = state::Group {
            title: title.into(),
            members: member_ids.to_vec(),
            bot_admin: true,
        };
        self.inner.shared.update(|s| s.groups.insert(id, group));
    }

    /// Makes the bot an administrator or a plain member of a registered group.
    pub fn set_bot_admin(&self, group_id: i64, admin: bool) {
        self.inner.shared.update(|s| {
            if let Some(group) = s.groups.get_mut(&group_id) {
                group.bot_admin = admin;
            }
        });
    }

    /// While blocked, sending to the user fails with 403 "bot was blocked by the user".
    pub fn set_blocked(&self, user_id: i64, blocked: bool) {
        self.inner.shared.update(|s| match blocked {
            true => s.blocked.insert(user_id),
            false => s.blocked.remove(&user_id),
        });
    }

    /// `user` writes `text` in `chat_id` (their own id for the private chat); a leading
    /// "/command" gets its bot_command entity. Returns the message id.
    pub fn send_text(&self, user: &FakeUser, chat_id: i64, text: &str) -> i32 {
        self.inner
            .shared
            .update(|s| s.user_message(user, chat_id, UserContent::Text(text.into())))
    }

    /// `user` picks `shared_chat_id` with the chat-picker button of request `request_id`
    /// (a message with `chat_shared` in their private chat). Returns the message id.
    pub fn share_chat(&self, user: &FakeUser, request_id: i32, shared_chat_id: i64) -> i32 {
        self.inner.shared.update(|s| {
            let content = UserContent::ChatShared {
                request_id,
                chat_id: shared_chat_id,
                title: s.groups.get(&shared_chat_id).map(|g| g.title.clone()),
            };
            s.user_message(user, user.id, content)
        })
    }

    /// `user` presses the inline button labelled exactly `label` on the newest bot message in
    /// the chat that has one. Returns the callback query id.
    pub fn press_button(
        &self,
        user: &FakeUser,
        chat_id: i64,
        label: &str,
    ) -> Result<String, NoSuchButton> {
        self.inner
            .shared
            .update(|s| match s.find_button(chat_id, label) {
                Ok((message_id, data)) => Ok(s.press(user, chat_id, message_id, &data)),
                Err(available) => Err(NoSuchButton {
                    chat_id,
                    label: label.into(),
                    available,
                }),
            })
    }

    /// A callback query with arbitrary data on any message id (stale or forged presses); a
    /// message that is deleted or never existed arrives as inaccessible. Returns the query id.
    pub fn press_callback(
        &self,
        user: &FakeUser,
        chat_id: i64,
        message_id: i32,
        data: &str,
    ) -> String {
        self.inner
            .shared
            .update(|s| s.press(user, chat_id, message_id, data))
    }

    /// `user` taps a plain button of the chat's current reply keyboard (sends its label as
    /// text). Returns the message id.
    pub fn press_reply_button(
        &self,
        user: &FakeUser,
        chat_id: i64,
        label: &str,
    ) -> Result<i32, NoSuchButton> {
        self.inner.shared.update(|s| {
            let labels: Vec<String> = match s.reply_keyboards.get(&chat_id) {
                Some(markup) => keyboard_labels(markup, true).concat(),
                None => Vec::new(),
            };
            if labels.iter().any(|l| l == label) {
                Ok(s.user_message(user, chat_id, UserContent::Text(label.into())))
            } else {
                Err(NoSuchButton {
                    chat_id,
                    label: label.into(),
                    available: labels,
                })
            }
        })
    }

    /// Every message the bot sent in the chat, oldest first, in its current state (deleted
    /// ones flagged).
    pub fn messages(&self, chat_id: i64) -> Vec<SentMessage> {
        self.inner.shared.lock().chat_messages(chat_id)
    }

    /// The bot's newest message in the chat that is not deleted.
    pub fn last_message(&self, chat_id: i64) -> Option<SentMessage> {
        let state = self.inner.shared.lock();
        state
            .messages
            .iter()
            .rev()
            .find(|m| m.chat_id == chat_id && !m.deleted)
            .cloned()
    }

    /// Waits until a live bot message in the chat matches (checking the newest first),
    /// including messages that matched before the call; to wait for news, compare
    /// [`SentMessage::revision`] with [`FakeTelegram::revision`] taken beforehand.
    pub async fn wait_for(
        &self,
        chat_id: i64,
        predicate: impl Fn(&SentMessage) -> bool,
        timeout: Duration,
    ) -> Result<SentMessage, Timeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.inner.shared.subscribe();
        loop {
            // The predicate runs outside the lock: it may call back into the fake.
            let messages = self.messages(chat_id);
            let mut live = messages.iter().rev().filter(|m| !m.deleted);
            if let Some(message) = live.find(|m| predicate(m)) {
                return Ok(message.clone());
            }
            if !matches!(
                tokio::time::timeout_at(deadline, changes.changed()).await,
                Ok(Ok(()))
            ) {
                return Err(Timeout {
                    chat_id,
                    waited: timeout,
                    messages,
                });
            }
        }
    }

    /// The change counter: bumped by every message the bot sends, edits or deletes.
    pub fn revision(&self) -> u64 {
        self.inner.shared.lock().revision
    }

    /// Calls of a method (matched case-insensitively), oldest first.
    pub fn calls(&self, method: &str) -> Vec<RecordedCall> {
        let state = self.inner.shared.lock();
        state
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// Every API call, oldest first.
    pub fn all_calls(&self) -> Vec<RecordedCall> {
        self.inner.shared.lock().calls.clone()
    }

    /// Successful answerCallbackQuery calls, oldest first.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.inner.shared.lock().callback_answers.clone()
    }

    /// Labels, row by row, of the reply keyboard the bot last sent in the chat; `None` if it
    /// sent none or removed it since.
    pub fn reply_keyboard(&self, chat_id: i64) -> Option<Vec<Vec<String>>> {
        let state = self.inner.shared.lock();
        state
            .reply_keyboards
            .get(&chat_id)
            .map(|markup| keyboard_labels(markup, false))
    }

    /// The next `n` calls of `method` (any spelling) fail with `error`; failures queue up.
    pub fn fail_next(&self, method: &str, n: usize, error: FakeError) {
        let mut state = self.inner.shared.lock();
        let queue = state
            .failures
            .entry(method.to_ascii_lowercase())
            .or_default();
        queue.extend(std::iter::repeat_n(error, n));
    }

    /// The next `n` calls of `method` to chat `chat_id` fail with `error`; other chats are
    /// not affected.
    pub fn fail_next_in_chat(&self, method: &str, chat_id: i64, n: usize, error: FakeError) {
        let mut state = self.inner.shared.lock();
        let queue = state
            .chat_failures
            .entry((method.to_ascii_lowercase(), chat_id))
            .or_default();
        queue.extend(std::iter::repeat_n(error, n));
    }

    /// Drops the failures still queued for `method`, in any chat.
    pub fn clear_failures(&self, method: &str) {
        let lower = method.to_ascii_lowercase();
        let mut state = self.inner.shared.lock();
        state.failures.remove(&lower);
        state.chat_failures.retain(|(m, _), _| *m != lower);
    }

    /// From now on, every first hand-out of an update to the bot and every message the bot
    /// sends, edits or deletes, in the fake's order: for measuring without scanning the chats
    /// (the load sandbox). Dropping the receiver unsubscribes.
    pub fn watch(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        self.inner.shared.lock().watchers.push(sender);
        receiver
    }

    /// Hands out every queued update and forgets it, as Telegram does with an update a
    /// webhook answered 200 for: tests of webhook mode POST them to the bot.
    pub fn take_updates(&self) -> Vec<teloxide::types::Update> {
        self.inner.shared.update(|s| s.updates.drain(..).collect())
    }

    /// Updates not yet confirmed by a getUpdates `offset`.
    pub fn pending_updates(&self) -> usize {
        self.inner.shared.lock().updates.len()
    }

    /// Waits until every update queued so far is confirmed by a getUpdates `offset`; gives up
    /// after `limit`. The bot confirms an update only once its handler has finished, so its
    /// replies are all in the chats by then. Returns whether they were all confirmed.
    pub async fn wait_confirmed(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.pending_updates() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Waits until the bot has gone quiet: no update waiting to be confirmed and no message
    /// sent, edited or deleted for `quiet` (handlers still running keep changing the chats);
    /// gives up after `limit`. Returns whether it went quiet.
    pub async fn settle(&self, quiet: Duration, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = self.revision();
        let mut quiet_since = tokio::time::Instant::now();
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let now = self.revision();
            if now != last || self.pending_updates() > 0 {
                last = now;
                quiet_since = tokio::time::Instant::now();
            } else if quiet_since.elapsed() >= quiet {
                return true;
            }
        }
        false
    }

    /// Stops the server and drops its connections (idempotent; clones see it too).
    pub async fn shutdown(&self) {
        let server = self
            .inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }
}
