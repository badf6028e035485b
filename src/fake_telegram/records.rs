//! What the fake records of people and of the bot's messages: plain data, shared by the
//! fake's state and the JSON it answers with (neither depends on the other for them).

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A Telegram user known to the fake; their private chat has the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
}

/// A message the bot sent, in its current state (after edits and deletion).
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i32,
    pub date: DateTime<Utc>,
    pub edit_date: Option<DateTime<Utc>>,
    /// The text, or a document's caption ("" when it has none).
    pub text: String,
    pub parse_mode: Option<String>,
    /// The markup as the bot sent it: an inline keyboard, or a reply keyboard / removal.
    pub reply_markup: Option<Value>,
    pub document: Option<SentDocument>,
    pub deleted: bool,
    /// The fake's change counter when this message was last sent, edited or deleted; compare
    /// with [`FakeTelegram::revision`](super::FakeTelegram::revision) to wait for news.
    pub revision: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentDocument {
    pub file_id: String,
    pub file_unique_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl SentMessage {
    /// The inline keyboard, if the message has one.
    pub fn inline_keyboard(&self) -> Option<&Value> {
        self.reply_markup
            .as_ref()
            .filter(|m| m.get("inline_keyboard").is_some())
    }

    fn inline_buttons(&self) -> impl Iterator<Item = &Value> {
        let rows = self
            .inline_keyboard()
            .and_then(|m| m["inline_keyboard"].as_array());
        rows.into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
    }

    /// Labels of the inline keyboard's buttons, row by row.
    pub fn buttons(&self) -> Vec<String> {
        self.inline_buttons()
            .filter_map(|b| b["text"].as_str())
            .map(str::to_owned)
            .collect()
    }

    /// The callback data of the inline button labelled exactly `label`.
    pub fn callback_data(&self, label: &str) -> Option<&str> {
        self.inline_buttons()
            .find(|b| b["text"].as_str() == Some(label) && b["callback_data"].is_string())
            .and_then(|b| b["callback_data"].as_str())
    }
}
