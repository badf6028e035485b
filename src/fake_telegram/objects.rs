//! The Bot API objects the fake answers with, built as teloxide's own types: what the fake
//! sends is serialized by the code that the bot deserializes it with, and a field teloxide
//! requires cannot be forgotten (it does not compile). Where teloxide's serializer and its
//! deserializer disagree, the fix is here and named (see [`webhook_info`] and
//! [`inaccessible_message`]); the tests below round-trip every object through teloxide.

use chrono::{DateTime, Utc};
use serde_json::Value;
use teloxide::types::{
    AcceptedGiftTypes, Administrator, CallbackQuery, CallbackQueryId, Chat, ChatFullInfo,
    ChatFullInfoKind, ChatFullInfoPrivate, ChatFullInfoPublic, ChatFullInfoPublicKind,
    ChatFullInfoPublicSupergroup, ChatId, ChatKind, ChatMember, ChatMemberKind, ChatPrivate,
    ChatPublic, ChatShared, Document, FileId, FileMeta, FileUniqueId, InlineKeyboardMarkup,
    MaybeInaccessibleMessage, Me, MediaDocument, MediaKind, MediaText, Member, Message,
    MessageChatShared, MessageCommon, MessageEntity, MessageEntityKind, MessageId, MessageKind,
    PublicChatKind, PublicChatSupergroup, RequestId, User, UserId, WebhookInfo,
};

use super::records::{FakeUser, SentMessage};

pub(crate) fn user(user: &FakeUser, is_bot: bool) -> User {
    User {
        id: UserId(user.id as u64),
        is_bot,
        first_name: user.first_name.clone(),
        last_name: None,
        username: user.username.clone(),
        language_code: None,
        is_premium: false,
        added_to_attachment_menu: false,
    }
}

pub(crate) fn me(bot: &FakeUser) -> Me {
    Me {
        user: user(bot, true),
        can_join_groups: true,
        can_read_all_group_messages: false,
        supports_inline_queries: false,
        can_connect_to_business: false,
        has_main_web_app: false,
    }
}

pub(crate) fn private_chat(user: &FakeUser) -> Chat {
    Chat {
        id: ChatId(user.id),
        kind: ChatKind::Private(ChatPrivate {
            username: user.username.clone(),
            first_name: Some(user.first_name.clone()),
            last_name: None,
        }),
    }
}

/// A private chat with someone the fake does not know.
pub(crate) fn unknown_private_chat(id: i64) -> Chat {
    Chat {
        id: ChatId(id),
        kind: ChatKind::Private(ChatPrivate {
            username: None,
            first_name: None,
            last_name: None,
        }),
    }
}

/// Groups are supergroups, as every group a bot is added to today.
pub(crate) fn group_chat(id: i64, title: &str) -> Chat {
    Chat {
        id: ChatId(id),
        kind: ChatKind::Public(ChatPublic {
            title: Some(title.to_owned()),
            kind: PublicChatKind::Supergroup(PublicChatSupergroup {
                username: None,
                is_forum: false,
            }),
        }),
    }
}

/// `getChat` answer: the chat with nothing more set than Telegram always sends.
pub(crate) fn chat_full_info(chat: &Chat) -> ChatFullInfo {
    let kind = match &chat.kind {
        ChatKind::Private(private) => ChatFullInfoKind::Private(Box::new(ChatFullInfoPrivate {
            username: private.username.clone(),
            first_name: private.first_name.clone(),
            last_name: private.last_name.clone(),
            bio: None,
            has_private_forwards: false,
            has_restricted_voice_and_video_messages: false,
            personal_chat: None,
            birthdate: None,
            business_intro: None,
            business_location: None,
            business_opening_hours: None,
        })),
        ChatKind::Public(public) => ChatFullInfoKind::Public(Box::new(ChatFullInfoPublic {
            title: public.title.clone(),
            kind: ChatFullInfoPublicKind::Supergroup(ChatFullInfoPublicSupergroup {
                username: None,
                active_usernames: None,
                is_forum: false,
                sticker_set_name: None,
                can_set_sticker_set: false,
                custom_emoji_sticker_set_name: None,
                permissions: None,
                slow_mode_delay: None,
                unrestrict_boost_count: None,
                linked_chat_id: None,
                location: None,
                join_to_send_messages: false,
                join_by_request: false,
            }),
            description: None,
            invite_link: None,
            has_protected_content: false,
            available_reactions: None,
        })),
    };
    ChatFullInfo {
        id: chat.id,
        kind,
        photo: None,
        pinned_message: None,
        message_auto_delete_time: None,
        has_hidden_members: false,
        has_aggressive_anti_spam_enabled: false,
        accepted_gift_types: AcceptedGiftTypes {
            unlimited_gifts: false,
            limited_gifts: false,
            unique_gifts: false,
            premium_subscription: false,
        },
        accent_color_id: None,
        background_custom_emoji_id: None,
        profile_accent_color_id: None,
        profile_background_custom_emoji_id: None,
        emoji_status_custom_emoji_id: None,
        emoji_status_expiration_date: None,
        has_visible_history: false,
        max_reaction_count: 11,
    }
}

/// What a member of a chat is, as far as the fake models it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Membership {
    /// Deletes and pins messages, invites users (what a work group's bot needs).
    Administrator,
    Member,
    Left,
}

pub(crate) fn chat_member(user: User, membership: Membership) -> ChatMember {
    let kind = match membership {
        Membership::Administrator => ChatMemberKind::Administrator(Administrator {
            custom_title: None,
            is_anonymous: false,
            can_be_edited: false,
            can_manage_chat: true,
            can_change_info: false,
            can_post_messages: false,
            can_edit_messages: false,
            can_delete_messages: true,
            can_post_stories: false,
            can_edit_stories: false,
            can_delete_stories: false,
            can_manage_video_chats: false,
            can_invite_users: true,
            can_restrict_members: false,
            can_pin_messages: true,
            can_manage_topics: false,
            can_promote_members: false,
        }),
        Membership::Member => ChatMemberKind::Member(Member { until_date: None }),
        Membership::Left => ChatMemberKind::Left,
    };
    ChatMember { user, kind }
}

/// `getWebhookInfo` answer: no webhook is ever set. teloxide serializes the unset `url` by
/// leaving the field out, and its deserializer then refuses the object: Telegram sends "",
/// and so does the fake.
pub(crate) fn webhook_info(pending: usize) -> Value {
    let info = WebhookInfo {
        url: None,
        has_custom_certificate: false,
        pending_update_count: u32::try_from(pending).unwrap_or(u32::MAX),
        ip_address: None,
        last_error_date: None,
        last_error_message: None,
        last_synchronization_error_date: None,
        max_connections: None,
        allowed_updates: None,
    };
    let mut value = serde_json::to_value(info).unwrap_or_default();
    value["url"] = Value::String(String::new());
    value
}

fn message(
    id: i32,
    date: DateTime<Utc>,
    chat: Chat,
    from: Option<User>,
    kind: MessageKind,
) -> Message {
    Message {
        id: MessageId(id),
        thread_id: None,
        from,
        sender_chat: None,
        date,
        chat,
        is_topic_message: false,
        via_bot: None,
        sender_business_bot: None,
        kind,
    }
}

fn common(media_kind: MediaKind, edit_date: Option<DateTime<Utc>>) -> MessageCommon {
    MessageCommon {
        author_signature: None,
        paid_star_count: None,
        effect_id: None,
        forward_origin: None,
        reply_to_message: None,
        external_reply: None,
        quote: None,
        reply_to_story: None,
        sender_boost_count: None,
        edit_date,
        media_kind,
        reply_markup: None,
        is_automatic_forward: false,
        has_protected_content: false,
        is_from_offline: false,
        business_connection_id: None,
    }
}

/// A message the bot sent, in its current state. Only inline keyboards are echoed back:
/// Telegram never returns reply keyboards, and teloxide's `Message::reply_markup` is inline.
pub(crate) fn bot_message(sent: &SentMessage, chat: Chat, bot: User) -> Message {
    let media_kind = match &sent.document {
        Some(document) => MediaKind::Document(MediaDocument {
            document: Document {
                file: FileMeta {
                    id: FileId(document.file_id.clone()),
                    unique_id: FileUniqueId(document.file_unique_id.clone()),
                    size: u32::try_from(document.bytes.len()).unwrap_or(u32::MAX),
                },
                thumbnail: None,
                file_name: document.file_name.clone(),
                mime_type: document.mime_type.as_deref().and_then(|m| m.parse().ok()),
            },
            caption: Some(sent.text.clone()).filter(|caption| !caption.is_empty()),
            caption_entities: Vec::new(),
            media_group_id: None,
        }),
        None => MediaKind::Text(MediaText {
            text: sent.text.clone(),
            entities: Vec::new(),
            link_preview_options: None,
        }),
    };
    let mut common = common(media_kind, sent.edit_date);
    // The markup was sent by the bot through teloxide, so teloxide reads it back.
    common.reply_markup = sent
        .inline_keyboard()
        .and_then(|markup| serde_json::from_value::<InlineKeyboardMarkup>(markup.clone()).ok());
    message(
        sent.message_id,
        sent.date,
        chat,
        Some(bot),
        MessageKind::Common(common),
    )
}

/// What a user's message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserContent {
    /// Text; a leading "/command" gets its `bot_command` entity.
    Text(String),
    /// The chat picked with a chat-picker button of request `request_id`.
    ChatShared {
        request_id: i32,
        chat_id: i64,
        title: Option<String>,
    },
}

pub(crate) fn user_message(
    message_id: i32,
    date: DateTime<Utc>,
    chat: Chat,
    from: User,
    content: UserContent,
) -> Message {
    let kind = match content {
        UserContent::Text(text) => {
            let entities = match text.strip_prefix('/') {
                // Offsets and lengths count UTF-16 code units, as Telegram's do.
                Some(_) => {
                    let command = text.split_whitespace().next().unwrap_or(&text);
                    let length = command.encode_utf16().count();
                    vec![MessageEntity::new(MessageEntityKind::BotCommand, 0, length)]
                }
                None => Vec::new(),
            };
            let media = MediaKind::Text(MediaText {
                text,
                entities,
                link_preview_options: None,
            });
            MessageKind::Common(common(media, None))
        }
        UserContent::ChatShared {
            request_id,
            chat_id,
            title,
        } => MessageKind::ChatShared(MessageChatShared {
            chat_shared: ChatShared {
                request_id: RequestId(request_id),
                chat_id: ChatId(chat_id),
                title,
                username: None,
                photo: None,
            },
        }),
    };
    message(message_id, date, chat, Some(from), kind)
}

/// What a callback query carries when its message is gone: the Bot API's
/// InaccessibleMessage is a message whose `date` is 0. (teloxide's own InaccessibleMessage
/// serializes without the `date` its deserializer requires.)
pub(crate) fn inaccessible_message(message_id: i32, chat: Chat) -> Message {
    message(
        message_id,
        DateTime::UNIX_EPOCH,
        chat,
        None,
        MessageKind::Empty {},
    )
}

pub(crate) fn callback_query(
    id: &str,
    from: User,
    message: Message,
    chat_id: i64,
    data: &str,
) -> CallbackQuery {
    CallbackQuery {
        id: CallbackQueryId(id.to_owned()),
        from,
        message: Some(MaybeInaccessibleMessage::Regular(Box::new(message))),
        inline_message_id: None,
        chat_instance: chat_id.to_string(),
        data: Some(data.to_owned()),
        game_short_name: None,
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use teloxide::types::{InlineKeyboardButton, Update, UpdateId, UpdateKind};

    use super::*;
    use crate::fake_telegram::SentDocument;

    /// What the fake sends, read back as teloxide reads it.
    fn round_trip<T: Serialize + DeserializeOwned>(value: &T) -> T {
        let json = serde_json::to_string(value).expect("serializes");
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    fn anna() -> FakeUser {
        FakeUser {
            id: 42,
            first_name: "Анна".into(),
            username: Some("anna".into()),
        }
    }

    fn bot() -> FakeUser {
        FakeUser {
            id: 7,
            first_name: "Bot".into(),
            username: Some("fake_bot".into()),
        }
    }

    fn sent(document: Option<SentDocument>) -> SentMessage {
        let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Да", "y")]]);
        SentMessage {
            chat_id: -100,
            message_id: 5,
            date: DateTime::from_timestamp(1_700_000_000, 0).expect("a date"),
            edit_date: DateTime::from_timestamp(1_700_000_060, 0),
            text: "Отчёт".into(),
            parse_mode: None,
            reply_markup: Some(serde_json::to_value(keyboard).expect("markup")),
            document,
            deleted: false,
            revision: 1,
        }
    }

    #[test]
    fn users_chats_and_members_read_back_unchanged() {
        let me = me(&bot());
        assert_eq!(round_trip(&me), me);
        let chats = [
            private_chat(&anna()),
            unknown_private_chat(43),
            group_chat(-100, "Бригада"),
        ];
        for chat in &chats {
            assert_eq!(&round_trip(chat), chat);
            let full = chat_full_info(chat);
            assert_eq!(round_trip(&full), full);
        }
        for membership in [
            Membership::Administrator,
            Membership::Member,
            Membership::Left,
        ] {
            let member = chat_member(user(&anna(), false), membership);
            assert_eq!(round_trip(&member), member);
        }
    }

    #[test]
    fn bot_messages_read_back_with_keyboard_edit_date_and_document() {
        let text = bot_message(&sent(None), group_chat(-100, "Бригада"), user(&bot(), true));
        assert_eq!(round_trip(&text), text);
        assert_eq!(text.text(), Some("Отчёт"));
        assert_eq!(
            text.reply_markup().map(|m| m.inline_keyboard.len()),
            Some(1)
        );
        assert!(text.edit_date().is_some());

        let file = SentDocument {
            file_id: "F1".into(),
            file_unique_id: "f1".into(),
            file_name: Some("otchet.xlsx".into()),
            mime_type: Some(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
            ),
            bytes: vec![1, 2, 3],
        };
        let document = bot_message(&sent(Some(file)), group_chat(-100, ""), user(&bot(), true));
        assert_eq!(round_trip(&document), document);
        let read = document.document().expect("a document");
        assert_eq!(
            (read.file.size, read.file_name.as_deref()),
            (3, Some("otchet.xlsx"))
        );
        assert!(read.mime_type.is_some());
        assert_eq!(document.caption(), Some("Отчёт"));
    }

    #[test]
    fn updates_of_users_read_back_as_sent() {
        let date = DateTime::from_timestamp(1_700_000_000, 0).expect("a date");
        let chat = private_chat(&anna());
        let from = user(&anna(), false);
        let contents = [
            UserContent::Text("/start@fake_bot привет".into()),
            UserContent::Text("Привет".into()),
            UserContent::ChatShared {
                request_id: 3,
                chat_id: -100,
                title: Some("Бригада".into()),
            },
        ];
        for (n, content) in contents.into_iter().enumerate() {
            let message = user_message(n as i32 + 1, date, chat.clone(), from.clone(), content);
            let update = Update {
                id: UpdateId(n as u32 + 1),
                kind: UpdateKind::Message(message),
            };
            assert_eq!(round_trip(&update), update);
        }
        let command = user_message(
            9,
            date,
            chat.clone(),
            from.clone(),
            UserContent::Text("/start@fake_bot".into()),
        );
        assert_eq!(command.entities().map(|e| e[0].length), Some(15));
    }

    #[test]
    fn callback_queries_read_back_and_a_gone_message_is_inaccessible() {
        let chat = group_chat(-100, "Бригада");
        let live = bot_message(&sent(None), chat.clone(), user(&bot(), true));
        let query = callback_query("1", user(&anna(), false), live, -100, "o:1:a");
        assert_eq!(round_trip(&query), query);

        let gone = inaccessible_message(77, chat);
        let query = callback_query("2", user(&anna(), false), gone, -100, "o:1:a");
        let read = round_trip(&query);
        assert!(read.regular_message().is_none(), "{read:?}");
        assert_eq!(read.message.map(|m| m.id()), Some(MessageId(77)));
    }

    #[test]
    fn webhook_info_reads_back_as_no_webhook() {
        let info: WebhookInfo = serde_json::from_value(webhook_info(3)).expect("readable");
        assert_eq!((info.url, info.pending_update_count), (None, 3));
    }
}
