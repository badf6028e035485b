//! Bot API objects as JSON, in the shapes teloxide-core 0.13 deserializes (checked against its
//! `types/`: e.g. `Me` needs `has_main_web_app`, `ChatFullInfo` needs `accepted_gift_types` and
//! `max_reaction_count`, a message with `date` 0 is read as inaccessible).

use serde_json::{json, Map, Value};

use super::records::{FakeUser, SentMessage};

pub(crate) fn user(user: &FakeUser, is_bot: bool) -> Value {
    let mut value = json!({"id": user.id, "is_bot": is_bot, "first_name": user.first_name});
    if let Some(username) = &user.username {
        value["username"] = json!(username);
    }
    value
}

pub(crate) fn me(bot: &FakeUser) -> Value {
    let mut value = user(bot, true);
    for (key, flag) in [
        ("can_join_groups", true),
        ("can_read_all_group_messages", false),
        ("supports_inline_queries", false),
        ("can_connect_to_business", false),
        ("has_main_web_app", false),
    ] {
        value[key] = json!(flag);
    }
    value
}

pub(crate) fn private_chat(user: &FakeUser) -> Value {
    let mut value = json!({"id": user.id, "type": "private", "first_name": user.first_name});
    if let Some(username) = &user.username {
        value["username"] = json!(username);
    }
    value
}

pub(crate) fn group_chat(id: i64, title: &str) -> Value {
    json!({"id": id, "type": "supergroup", "title": title})
}

/// `getChat` answer: the chat plus the fields `ChatFullInfo` requires.
pub(crate) fn chat_full_info(chat: Value) -> Value {
    let mut value = chat;
    value["accepted_gift_types"] = json!({
        "unlimited_gifts": false,
        "limited_gifts": false,
        "unique_gifts": false,
        "premium_subscription": false
    });
    value["max_reaction_count"] = json!(11);
    value
}

/// `getChatMember` answer; `status` is "administrator", "member" or "left".
pub(crate) fn chat_member(user: Value, status: &str) -> Value {
    let mut value = json!({"status": status, "user": user});
    if status == "administrator" {
        for (key, flag) in [
            ("is_anonymous", false),
            ("can_be_edited", false),
            ("can_manage_chat", true),
            ("can_change_info", false),
            ("can_delete_messages", true),
            ("can_manage_video_chats", false),
            ("can_invite_users", true),
            ("can_restrict_members", false),
            ("can_pin_messages", true),
            ("can_promote_members", false),
        ] {
            value[key] = json!(flag);
        }
    }
    value
}

pub(crate) fn webhook_info(pending: usize) -> Value {
    json!({"url": "", "has_custom_certificate": false, "pending_update_count": pending})
}

/// A message the bot sent, in its current state. Only inline keyboards are echoed back:
/// Telegram never returns reply keyboards, and teloxide's `Message::reply_markup` is inline.
pub(crate) fn bot_message(message: &SentMessage, chat: Value, bot: Value) -> Value {
    let mut value = json!({
        "message_id": message.message_id,
        "date": message.date.timestamp(),
        "chat": chat,
        "from": bot,
    });
    if let Some(edit_date) = message.edit_date {
        value["edit_date"] = json!(edit_date.timestamp());
    }
    match &message.document {
        Some(document) => {
            let mut doc = json!({
                "file_id": document.file_id,
                "file_unique_id": document.file_unique_id,
                "file_size": document.bytes.len(),
            });
            if let Some(name) = &document.file_name {
                doc["file_name"] = json!(name);
            }
            if let Some(mime) = &document.mime_type {
                doc["mime_type"] = json!(mime);
            }
            value["document"] = doc;
            if !message.text.is_empty() {
                value["caption"] = json!(message.text);
            }
        }
        None => value["text"] = json!(message.text),
    }
    if let Some(markup) = message.inline_keyboard() {
        value["reply_markup"] = markup.clone();
    }
    value
}

/// A message from a user; `body` holds the content fields (`text`, `chat_shared`, ...).
pub(crate) fn user_message(
    message_id: i32,
    date: i64,
    chat: Value,
    from: Value,
    body: Map<String, Value>,
) -> Value {
    let mut value = json!({"message_id": message_id, "date": date, "chat": chat, "from": from});
    if let Value::Object(fields) = &mut value {
        fields.extend(body);
    }
    value
}

/// Content fields of a text message; a leading "/command" gets its `bot_command` entity
/// (offsets in UTF-16 code units, as Telegram counts them).
pub(crate) fn text_body(text: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("text".into(), json!(text));
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        let length = command.encode_utf16().count();
        body.insert(
            "entities".into(),
            json!([{"type": "bot_command", "offset": 0, "length": length}]),
        );
    }
    body
}

pub(crate) fn chat_shared_body(
    request_id: i32,
    chat_id: i64,
    title: Option<&str>,
) -> Map<String, Value> {
    let mut shared = json!({"request_id": request_id, "chat_id": chat_id});
    if let Some(title) = title {
        shared["title"] = json!(title);
    }
    let mut body = Map::new();
    body.insert("chat_shared".into(), shared);
    body
}

/// What a callback query carries when the message is gone: `date` 0 marks it inaccessible.
pub(crate) fn inaccessible_message(message_id: i32, chat: Value) -> Value {
    json!({"message_id": message_id, "date": 0, "chat": chat})
}

pub(crate) fn callback_query(
    id: &str,
    from: Value,
    message: Value,
    chat_id: i64,
    data: &str,
) -> Value {
    json!({
        "id": id,
        "from": from,
        "message": message,
        "chat_instance": chat_id.to_string(),
        "data": data,
    })
}

pub(crate) fn ok(result: Value) -> Value {
    json!({"ok": true, "result": result})
}

pub(crate) fn error(code: u16, description: &str, retry_after: Option<u32>) -> Value {
    let mut value = json!({"ok": false, "error_code": code, "description": description});
    if let Some(seconds) = retry_after {
        value["parameters"] = json!({"retry_after": seconds});
    }
    value
}
