//! What the fake remembers, and the Bot API semantics of each method on it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use teloxide::types::{Chat, Message, Update, UpdateId, UpdateKind};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use super::objects::{self, Membership, UserContent};
use super::records::{FakeUser, SentDocument, SentMessage};

/// One request to the Bot API. `method` is spelled as in the Bot API docs ("sendMessage");
/// `params` is the JSON body, or for multipart requests the text fields (JSON-looking ones
/// parsed, others kept as strings) with each uploaded file as {"attach","file_name","size"}.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    pub at: DateTime<Utc>,
    pub method: String,
    pub params: Value,
    /// The failure [`FakeTelegram::fail_next`](super::FakeTelegram::fail_next) made it return.
    pub injected: Option<FakeError>,
}

/// An `answerCallbackQuery` that answered a live callback query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub query_id: String,
    pub text: Option<String>,
    pub show_alert: bool,
}

/// A failure to inject into the next calls of a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeError {
    /// HTTP 429 with `parameters.retry_after` (teloxide: `RequestError::RetryAfter`).
    RetryAfter(u32),
    /// The connection is closed without an answer (teloxide: `RequestError::Network`).
    Network,
    /// An error answer with this code and description, e.g.
    /// `Status(403, "Forbidden: bot was blocked by the user".into())`. Note that teloxide
    /// sleeps 10 s before reading any 5xx answer.
    Status(u16, String),
}

/// What the bot's side of the fake did, in the fake's order, as a watcher
/// ([`FakeTelegram::watch`](super::FakeTelegram::watch)) sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// getUpdates handed this update to the bot for the first time.
    HandedOut {
        update_id: u32,
        /// The chat of the message or of the pressed button's message.
        chat_id: Option<i64>,
        at: DateTime<Utc>,
    },
    /// The bot sent, edited or deleted a message: its state after the change.
    Message {
        at: DateTime<Utc>,
        message: Box<SentMessage>,
    },
}

/// A parsed request, as the HTTP layer hands it over.
pub(crate) struct ApiRequest {
    pub method: String,
    pub params: Map<String, Value>,
    /// Uploaded files by multipart part name (what "attach://<name>" refers to).
    pub files: HashMap<String, UploadedFile>,
}

pub(crate) struct UploadedFile {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

pub(crate) enum Reply {
    Ok(Value),
    Error {
        code: u16,
        description: String,
        retry_after: Option<u32>,
    },
    /// Drop the connection without answering.
    Close,
}

struct ApiError {
    code: u16,
    description: String,
}

fn bad_request(what: &str) -> ApiError {
    ApiError {
        code: 400,
        description: format!("Bad Request: {what}"),
    }
}

const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply \
    markup are exactly the same as a current content and reply markup of the message";

type ApiResult = Result<Value, ApiError>;

/// An answer's `result`: a teloxide object as the JSON it serializes to.
fn result(object: impl Serialize) -> ApiResult {
    serde_json::to_value(object).map_err(|e| ApiError {
        code: 500,
        description: format!("Internal Server Error: {e}"),
    })
}

/// State shared by the HTTP server and the [`FakeTelegram`](super::FakeTelegram) handles.
pub(crate) struct Shared {
    pub token: String,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Shared {
    pub fn new(token: String, bot: FakeUser) -> Self {
        Self {
            token,
            state: Mutex::new(State::new(bot)),
            changed: watch::Sender::new(0),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `change` on the state, then wakes long polls and waiters.
    pub fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let result = change(&mut self.lock());
        self.changed.send_modify(|version| *version += 1);
        result
    }

    /// A receiver that wakes on every later [`Shared::update`]; subscribe before looking at
    /// the state so that no change is missed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub async fn handle(&self, request: ApiRequest) -> Reply {
        let method = request.method.to_ascii_lowercase();
        if let Some(error) = self.update(|state| state.record(&request)) {
            return match error {
                FakeError::RetryAfter(seconds) => Reply::Error {
                    code: 429,
                    description: format!("Too Many Requests: retry after {seconds}"),
                    retry_after: Some(seconds),
                },
                FakeError::Network => Reply::Close,
                FakeError::Status(code, description) => Reply::Error {
                    code,
                    description,
                    retry_after: None,
                },
            };
        }
        if method == "getupdates" {
            return self.get_updates(Params(&request.params)).await;
        }
        match self.update(|state| state.call(&method, &request)) {
            Ok(result) => Reply::Ok(result),
            Err(error) => Reply::Error {
                code: error.code,
                description: error.description,
                retry_after: None,
            },
        }
    }

    /// Long polling: answers as soon as an update is queued, or with [] after `timeout`.
    async fn get_updates(&self, params: Params<'_>) -> Reply {
        let limit = params.i64("limit").unwrap_or(100).clamp(1, 100) as usize;
        let timeout = params.i64("timeout").unwrap_or(0).clamp(0, 3600) as u64;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        self.lock()
            .confirm_updates(params.i64("offset").unwrap_or(0));
        let mut changes = self.subscribe();
        loop {
            let batch: Vec<Update> = {
                let mut state = self.lock();
                state.note_handed_out(limit);
                state.updates.iter().take(limit).cloned().collect()
            };
            if !batch.is_empty() {
                return match result(batch) {
                    Ok(updates) => Reply::Ok(updates),
                    Err(error) => Reply::Error {
                        code: error.code,
                        description: error.description,
                        retry_after: None,
                    },
                };
            }
            if !matches!(
                tokio::time::timeout_at(deadline, changes.changed()).await,
                Ok(Ok(()))
            ) {
                return Reply::Ok(json!([]));
            }
        }
    }
}

pub(crate) struct Group {
    pub title: String,
    pub members: Vec<i64>,
    pub bot_admin: bool,
}

pub(crate) struct State {
    pub bot: FakeUser,
    pub users: BTreeMap<i64, FakeUser>,
    pub groups: BTreeMap<i64, Group>,
    pub blocked: HashSet<i64>,
    /// Every message the bot sent, in order.
    pub messages: Vec<SentMessage>,
    /// (chat, message) of messages users sent, which the bot may delete.
    user_messages: HashSet<(i64, i32)>,
    /// The reply keyboard last sent per chat (removed by `remove_keyboard`).
    pub reply_keyboards: HashMap<i64, Value>,
    /// Unconfirmed updates, oldest first.
    pub updates: VecDeque<Update>,
    /// Callback query id -> answered.
    callbacks: HashMap<String, bool>,
    pub callback_answers: Vec<CallbackAnswer>,
    pub calls: Vec<RecordedCall>,
    /// Lower-case method -> failures to return on its next calls.
    pub failures: HashMap<String, VecDeque<FakeError>>,
    /// Failures of calls of a method (lowercase) to one chat, before those of the method.
    pub chat_failures: HashMap<(String, i64), VecDeque<FakeError>>,
    /// Commands per (scope, language) as set by setMyCommands.
    commands: HashMap<String, Value>,
    pub revision: u64,
    next_update_id: u32,
    next_message_id: i32,
    next_callback_id: u64,
    next_file_id: u64,
    /// The highest update id getUpdates has handed out.
    handed_out_up_to: u32,
    pub watchers: Vec<UnboundedSender<Observed>>,
}

impl State {
    fn new(bot: FakeUser) -> Self {
        Self {
            bot,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            blocked: HashSet::new(),
            messages: Vec::new(),
            user_messages: HashSet::new(),
            reply_keyboards: HashMap::new(),
            updates: VecDeque::new(),
            callbacks: HashMap::new(),
            callback_answers: Vec::new(),
            calls: Vec::new(),
            failures: HashMap::new(),
            chat_failures: HashMap::new(),
            commands: HashMap::new(),
            revision: 0,
            next_update_id: 1,
            next_message_id: 1,
            next_callback_id: 1,
            next_file_id: 1,
            handed_out_up_to: 0,
            watchers: Vec::new(),
        }
    }

    /// Records the call; returns the failure injected into it, if any.
    fn record(&mut self, request: &ApiRequest) -> Option<FakeError> {
        let lower = request.method.to_ascii_lowercase();
        let chat = request.params.get("chat_id").and_then(|value| {
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        });
        let in_chat = chat.and_then(|chat| {
            self.chat_failures
                .get_mut(&(lower.clone(), chat))
                .and_then(VecDeque::pop_front)
        });
        let injected =
            in_chat.or_else(|| self.failures.get_mut(&lower).and_then(VecDeque::pop_front));
        let mut chars = request.method.chars();
        let method = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::new(),
        };
        self.calls.push(RecordedCall {
            at: Utc::now(),
            method,
            params: Value::Object(request.params.clone()),
            injected: injected.clone(),
        });
        injected
    }

    fn call(&mut self, method: &str, request: &ApiRequest) -> ApiResult {
        let p = Params(&request.params);
        match method {
            "getme" => result(objects::me(&self.bot)),
            "getwebhookinfo" => Ok(objects::webhook_info(self.updates.len())),
            "deletewebhook" => {
                if p.bool("drop_pending_updates") {
                    self.updates.clear();
                }
                Ok(json!(true))
            }
            "setmycommands" => {
                let commands = p.json("commands").unwrap_or_else(|| json!([]));
                self.commands.insert(commands_key(p), commands);
                Ok(json!(true))
            }
            "getmycommands" => Ok(self
                .commands
                .get(&commands_key(p))
                .cloned()
                .unwrap_or_else(|| json!([]))),
            "deletemycommands" => {
                self.commands.remove(&commands_key(p));
                Ok(json!(true))
            }
            "sendmessage" => self.send_message(p),
            "senddocument" => self.send_document(p, &request.files),
            "editmessagetext" => self.edit_text(p, "text"),
            "editmessagecaption" => self.edit_text(p, "caption"),
            "editmessagereplymarkup" => self.edit_reply_markup(p),
            "deletemessage" => self.delete_message(p),
            "answercallbackquery" => self.answer_callback(p),
            "getchat" => self.get_chat(p),
            "getchatmember" => self.get_chat_member(p),
            _ => Ok(json!(true)),
        }
    }

    /// Drops updates as `getUpdates(offset)` confirms them; a negative offset keeps only the
    /// last `-offset` updates.
    fn confirm_updates(&mut self, offset: i64) {
        if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        } else {
            while self
                .updates
                .front()
                .is_some_and(|update| i64::from(update.id.0) < offset)
            {
                self.updates.pop_front();
            }
        }
    }

    /// Tells the watchers (if any) what happened; watchers that went away are dropped.
    fn observe(&mut self, event: impl FnOnce() -> Observed) {
        if self.watchers.is_empty() {
            return;
        }
        let event = event();
        self.watchers.retain(|w| w.send(event.clone()).is_ok());
    }

    /// Notes the first hand-out of the next `limit` queued updates.
    fn note_handed_out(&mut self, limit: usize) {
        let at = Utc::now();
        let fresh: Vec<(u32, Option<i64>)> = self
            .updates
            .iter()
            .take(limit)
            .filter(|update| update.id.0 > self.handed_out_up_to)
            .map(|update| (update.id.0, update.chat().map(|chat| chat.id.0)))
            .collect();
        for (update_id, chat_id) in fresh {
            self.handed_out_up_to = update_id;
            self.observe(|| Observed::HandedOut {
                update_id,
                chat_id,
                at,
            });
        }
    }

    fn bump(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    pub fn chat(&self, chat_id: i64) -> Chat {
        if let Some(user) = self.users.get(&chat_id) {
            objects::private_chat(user)
        } else if let Some(group) = self.groups.get(&chat_id) {
            objects::group_chat(chat_id, &group.title)
        } else if chat_id < 0 {
            objects::group_chat(chat_id, "")
        } else {
            objects::unknown_private_chat(chat_id)
        }
    }

    fn bot_message(&self, message: &SentMessage) -> Message {
        objects::bot_message(
            message,
            self.chat(message.chat_id),
            objects::user(&self.bot, true),
        )
    }

    /// The chat a send method targets, if the bot may write there.
    fn writable_chat(&self, p: Params) -> Result<i64, ApiError> {
        match p.i64("chat_id") {
            Some(id) if self.blocked.contains(&id) => Err(ApiError {
                code: 403,
                description: "Forbidden: bot was blocked by the user".into(),
            }),
            Some(id) if self.users.contains_key(&id) || self.groups.contains_key(&id) => Ok(id),
            _ => Err(bad_request("chat not found")),
        }
    }

    fn push_message(
        &mut self,
        chat_id: i64,
        text: String,
        p: Params,
        document: Option<SentDocument>,
    ) -> ApiResult {
        let reply_markup = p.json("reply_markup");
        if let Some(markup) = &reply_markup {
            if markup.get("keyboard").is_some() {
                self.reply_keyboards.insert(chat_id, markup.clone());
            } else if markup.get("remove_keyboard").is_some() {
                self.reply_keyboards.remove(&chat_id);
            }
        }
        let message = SentMessage {
            chat_id,
            message_id: self.next_message_id(),
            date: Utc::now(),
            edit_date: None,
            text,
            parse_mode: p.str("parse_mode").map(str::to_owned),
            reply_markup,
            document,
            deleted: false,
            revision: self.bump(),
        };
        let sent = result(self.bot_message(&message));
        self.observe(|| Observed::Message {
            at: message.date,
            message: Box::new(message.clone()),
        });
        self.messages.push(message);
        sent
    }

    fn send_message(&mut self, p: Params) -> ApiResult {
        let chat_id = self.writable_chat(p)?;
        let text = p.str("text").unwrap_or_default();
        if text.is_empty() {
            return Err(bad_request("message text is empty"));
        }
        self.push_message(chat_id, text.to_owned(), p, None)
    }

    fn send_document(&mut self, p: Params, files: &HashMap<String, UploadedFile>) -> ApiResult {
        let chat_id = self.writable_chat(p)?;
        let document = match p.0.get("document") {
            Some(Value::Object(upload)) => {
                let part = upload
                    .get("attach")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let file = files
                    .get(part)
                    .ok_or_else(|| bad_request("wrong file identifier/HTTP URL specified"))?;
                let n = self.next_file_id;
                self.next_file_id += 1;
                SentDocument {
                    file_id: format!("FAKE-DOCUMENT-{n}"),
                    file_unique_id: format!("fake-document-{n}"),
                    file_name: file.file_name.clone(),
                    mime_type: file.content_type.clone(),
                    bytes: file.bytes.clone(),
                }
            }
            // A file_id of an earlier upload (or a URL, which the fake does not fetch).
            Some(Value::String(id)) if !id.is_empty() => self
                .messages
                .iter()
                .filter_map(|m| m.document.as_ref())
                .find(|d| &d.file_id == id)
                .cloned()
                .unwrap_or_else(|| SentDocument {
                    file_id: id.clone(),
                    file_unique_id: id.clone(),
                    file_name: None,
                    mime_type: None,
                    bytes: Vec::new(),
                }),
            _ => return Err(bad_request("there is no document in the request")),
        };
        let caption = p.str("caption").unwrap_or_default().to_owned();
        self.push_message(chat_id, caption, p, Some(document))
    }

    fn live_message(&mut self, p: Params, not_found: &str) -> Result<&mut SentMessage, ApiError> {
        let (chat_id, message_id) = (p.i64("chat_id"), p.i64("message_id"));
        self.messages
            .iter_mut()
            .find(|m| {
                !m.deleted
                    && Some(m.chat_id) == chat_id
                    && Some(i64::from(m.message_id)) == message_id
            })
            .ok_or_else(|| bad_request(not_found))
    }

    /// editMessageText (`field` "text") or editMessageCaption ("caption"). As in Telegram, an
    /// edit without `reply_markup` removes the inline keyboard.
    fn edit_text(&mut self, p: Params, field: &str) -> ApiResult {
        let text = p.str(field).unwrap_or_default().to_owned();
        if field == "text" && text.is_empty() {
            return Err(bad_request("message text is empty"));
        }
        let markup = inline_only(p.json("reply_markup"));
        let parse_mode = p.str("parse_mode").map(str::to_owned);
        let revision = self.revision + 1;
        let message = self.live_message(p, "message to edit not found")?;
        if (field == "text") == message.document.is_some() {
            return Err(bad_request(&format!(
                "there is no {field} in the message to edit"
            )));
        }
        if message.text == text
            && message.parse_mode == parse_mode
            && message.inline_keyboard() == markup.as_ref()
        {
            return Err(bad_request(NOT_MODIFIED));
        }
        message.text = text;
        message.parse_mode = parse_mode;
        message.reply_markup = markup;
        message.edit_date = Some(Utc::now());
        message.revision = revision;
        let message = message.clone();
        self.revision = revision;
        self.observe(|| Observed::Message {
            at: message.edit_date.unwrap_or(message.date),
            message: Box::new(message.clone()),
        });
        result(self.bot_message(&message))
    }

    fn edit_reply_markup(&mut self, p: Params) -> ApiResult {
        let markup = inline_only(p.json("reply_markup"));
        let revision = self.revision + 1;
        let message = self.live_message(p, "message to edit not found")?;
        if message.inline_keyboard() == markup.as_ref() {
            return Err(bad_request(NOT_MODIFIED));
        }
        message.reply_markup = markup;
        message.edit_date = Some(Utc::now());
        message.revision = revision;
        let message = message.clone();
        self.revision = revision;
        self.observe(|| Observed::Message {
            at: message.edit_date.unwrap_or(message.date),
            message: Box::new(message.clone()),
        });
        result(self.bot_message(&message))
    }

    fn delete_message(&mut self, p: Params) -> ApiResult {
        let revision = self.revision + 1;
        if let Ok(message) = self.live_message(p, "") {
            message.deleted = true;
            message.revision = revision;
            let message = message.clone();
            self.revision = revision;
            self.observe(|| Observed::Message {
                at: Utc::now(),
                message: Box::new(message),
            });
            return Ok(json!(true));
        }
        let key = (
            p.i64("chat_id").unwrap_or_default(),
            p.i64("message_id").unwrap_or_default(),
        );
        match i32::try_from(key.1) {
            Ok(message_id) if self.user_messages.remove(&(key.0, message_id)) => Ok(json!(true)),
            _ => Err(bad_request("message to delete not found")),
        }
    }

    /// Each callback query may be answered once, as in Telegram.
    fn answer_callback(&mut self, p: Params) -> ApiResult {
        let id = p.str("callback_query_id").unwrap_or_default();
        match self.callbacks.get_mut(id) {
            Some(answered) if !*answered => {
                *answered = true;
                self.callback_answers.push(CallbackAnswer {
                    query_id: id.to_owned(),
                    text: p.str("text").map(str::to_owned),
                    show_alert: p.bool("show_alert"),
                });
                Ok(json!(true))
            }
            _ => Err(bad_request(
                "query is too old and response timeout expired or query id is invalid",
            )),
        }
    }

    fn get_chat(&self, p: Params) -> ApiResult {
        match p.i64("chat_id") {
            Some(id) if self.users.contains_key(&id) || self.groups.contains_key(&id) => {
                result(objects::chat_full_info(&self.chat(id)))
            }
            _ => Err(bad_request("chat not found")),
        }
    }

    /// Groups: the bot is "administrator" (or "member" after `set_bot_admin(.., false)`),
    /// listed members are "member", other known users "left". Private chats: both sides are
    /// "member". Unknown chats: 400 "chat not found".
    fn get_chat_member(&self, p: Params) -> ApiResult {
        let chat_id = p.i64("chat_id").unwrap_or_default();
        let user_id = p.i64("user_id").unwrap_or_default();
        let known = if user_id == self.bot.id {
            Some(objects::user(&self.bot, true))
        } else {
            self.users
                .get(&user_id)
                .map(|user| objects::user(user, false))
        };
        if let Some(group) = self.groups.get(&chat_id) {
            let (membership, user) = if user_id == self.bot.id {
                (
                    if group.bot_admin {
                        Membership::Administrator
                    } else {
                        Membership::Member
                    },
                    known,
                )
            } else if group.members.contains(&user_id) {
                let placeholder = FakeUser {
                    id: user_id,
                    first_name: format!("User {user_id}"),
                    username: None,
                };
                (
                    Membership::Member,
                    known.or_else(|| Some(objects::user(&placeholder, false))),
                )
            } else {
                (Membership::Left, known)
            };
            let user = user.ok_or_else(|| bad_request("user not found"))?;
            return result(objects::chat_member(user, membership));
        }
        match known {
            Some(user)
                if self.users.contains_key(&chat_id)
                    && (user_id == chat_id || user_id == self.bot.id) =>
            {
                result(objects::chat_member(user, Membership::Member))
            }
            _ => Err(bad_request("chat not found")),
        }
    }

    fn next_message_id(&mut self) -> i32 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    fn push_update(&mut self, kind: UpdateKind) -> u32 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        self.updates.push_back(Update {
            id: UpdateId(id),
            kind,
        });
        id
    }

    /// Queues a message update from `user` in `chat_id` with this content.
    pub fn user_message(&mut self, user: &FakeUser, chat_id: i64, content: UserContent) -> i32 {
        let message_id = self.next_message_id();
        let chat = if chat_id == user.id {
            objects::private_chat(user)
        } else {
            self.chat(chat_id)
        };
        let from = objects::user(user, false);
        let message = objects::user_message(message_id, Utc::now(), chat, from, content);
        self.user_messages.insert((chat_id, message_id));
        self.push_update(UpdateKind::Message(message));
        message_id
    }

    /// Queues a callback query from `user` on a bot message; returns the query id.
    pub fn press(&mut self, user: &FakeUser, chat_id: i64, message_id: i32, data: &str) -> String {
        let id = self.next_callback_id.to_string();
        self.next_callback_id += 1;
        let live = self
            .messages
            .iter()
            .find(|m| !m.deleted && m.chat_id == chat_id && m.message_id == message_id);
        let message = match live {
            Some(message) => self.bot_message(message),
            None => objects::inaccessible_message(message_id, self.chat(chat_id)),
        };
        let from = objects::user(user, false);
        let query = objects::callback_query(&id, from, message, chat_id, data);
        self.callbacks.insert(id.clone(), false);
        self.push_update(UpdateKind::CallbackQuery(query));
        id
    }

    /// The newest live message in the chat with a callback button labelled `label`:
    /// (message id, callback data); or all callback button labels in the chat.
    pub fn find_button(&self, chat_id: i64, label: &str) -> Result<(i32, String), Vec<String>> {
        let live = || {
            self.messages
                .iter()
                .rev()
                .filter(|m| !m.deleted && m.chat_id == chat_id)
        };
        for message in live() {
            if let Some(data) = message.callback_data(label) {
                return Ok((message.message_id, data.to_owned()));
            }
        }
        let mut labels: Vec<String> = live().flat_map(|m| m.buttons()).collect();
        labels.dedup();
        Err(labels)
    }

    pub fn chat_messages(&self, chat_id: i64) -> Vec<SentMessage> {
        self.messages
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }
}

/// Labels of a reply keyboard's buttons, by rows; `plain_only` skips buttons that request a
/// chat, contact, location and so on (pressing those sends no text).
pub(crate) fn keyboard_labels(markup: &Value, plain_only: bool) -> Vec<Vec<String>> {
    let rows = markup.get("keyboard").and_then(Value::as_array);
    rows.into_iter()
        .flatten()
        .map(|row| {
            row.as_array()
                .into_iter()
                .flatten()
                .filter_map(|button| match button {
                    Value::String(text) => Some(text.clone()),
                    Value::Object(fields) if !plain_only || fields.len() == 1 => fields
                        .get("text")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn inline_only(markup: Option<Value>) -> Option<Value> {
    markup.filter(|m| m.get("inline_keyboard").is_some())
}

fn commands_key(p: Params) -> String {
    let scope = p
        .json("scope")
        .unwrap_or_else(|| json!({"type": "default"}));
    format!("{scope}|{}", p.str("language_code").unwrap_or_default())
}

/// Typed access to request parameters; multipart requests send scalars as strings.
#[derive(Clone, Copy)]
struct Params<'a>(&'a Map<String, Value>);

impl<'a> Params<'a> {
    fn i64(self, key: &str) -> Option<i64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn str(self, key: &str) -> Option<&'a str> {
        self.0.get(key)?.as_str()
    }

    fn bool(self, key: &str) -> bool {
        match self.0.get(key) {
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// An object or array parameter; JSON sent as a string is parsed.
    fn json(self, key: &str) -> Option<Value> {
        match self.0.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            Value::Null => None,
            value => Some(value.clone()),
        }
    }
}
