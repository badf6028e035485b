//! The outbox: messages owed to people because of a change, written in the change's own
//! transaction (so a crash can lose neither the change's message nor send one for a change
//! that was rolled back) and delivered afterwards by the bot's sender (`bot::outbox`).
//!
//! A row is pending until it is marked sent or failed. Delivery is at least once by
//! construction (a crash between Telegram's answer and [`mark_sent`] sends the row again) and
//! exactly once otherwise; the sender keeps that window to one statement.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::outbox;

/// A message as a change leaves it. The bot layer fills `reply_markup` with the Bot API's
/// JSON; the store does not look inside.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::sqlite::Sqlite))]
pub struct NewMessage {
    pub chat_id: i64,
    pub text: String,
    pub reply_markup: Option<String>,
    pub fallback_chat_id: Option<i64>,
    pub fallback_text: Option<String>,
    pub digest_key: Option<String>,
    pub digest_line: Option<String>,
    /// A file that goes with the message (the text is its caption), as JSON naming what to
    /// build; the bot layer reads it, the store does not look inside.
    pub document: Option<String>,
}

impl NewMessage {
    pub fn to(chat_id: i64, text: impl Into<String>) -> NewMessage {
        NewMessage {
            chat_id,
            text: text.into(),
            reply_markup: None,
            fallback_chat_id: None,
            fallback_text: None,
            digest_key: None,
            digest_line: None,
            document: None,
        }
    }

    /// The message goes as the caption of the file `document` names.
    pub fn with_document(mut self, document: String) -> NewMessage {
        self.document = Some(document);
        self
    }

    /// Where it goes instead (with that text) when `chat_id` refuses it for good.
    pub fn or_else_to(mut self, chat_id: i64, text: impl Into<String>) -> NewMessage {
        self.fallback_chat_id = Some(chat_id);
        self.fallback_text = Some(text.into());
        self
    }

    /// Several of these pending at once for one chat go as one digest, each as `line`.
    pub fn in_digest(mut self, key: &str, line: impl Into<String>) -> NewMessage {
        self.digest_key = Some(key.to_string());
        self.digest_line = Some(line.into());
        self
    }
}

/// A pending message, as the sender reads it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Queued {
    pub id: i64,
    #[diesel(embed)]
    pub message: NewMessage,
    pub attempts: i32,
}

type Pending =
    diesel::dsl::And<diesel::dsl::IsNull<outbox::sent_at>, diesel::dsl::IsNull<outbox::failed_at>>;

/// Neither delivered nor given up.
fn pending() -> Pending {
    outbox::sent_at.is_null().and(outbox::failed_at.is_null())
}

/// Queues messages; call inside the transaction of the change that owes them.
pub fn enqueue(
    conn: &mut SqliteConnection,
    messages: &[NewMessage],
    now: NaiveDateTime,
) -> QueryResult<()> {
    for message in messages {
        diesel::insert_into(outbox::table)
            .values((message, outbox::created_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// The oldest pending message of each chat that has any, oldest first, at most `chats`.
pub fn heads(conn: &mut SqliteConnection, chats: i64) -> QueryResult<Vec<Queued>> {
    let first_per_chat: Vec<Option<i64>> = outbox::table
        .filter(pending())
        .group_by(outbox::chat_id)
        .select(diesel::dsl::min(outbox::id))
        .load(conn)?;
    let mut ids: Vec<i64> = first_per_chat.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.truncate(usize::try_from(chats).unwrap_or(0));
    outbox::table
        .filter(outbox::id.eq_any(ids))
        .order(outbox::id)
        .select(Queued::as_select())
        .load(conn)
}

/// How many messages are pending, and when the oldest of them was queued.
pub fn backlog(conn: &mut SqliteConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    outbox::table
        .filter(pending())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .first(conn)
}

/// The pending messages of one chat, oldest first, at most `limit`.
pub fn pending_in(
    conn: &mut SqliteConnection,
    chat_id: i64,
    limit: i64,
) -> QueryResult<Vec<Queued>> {
    outbox::table
        .filter(outbox::chat_id.eq(chat_id))
        .filter(pending())
        .order(outbox::id)
        .limit(limit)
        .select(Queued::as_select())
        .load(conn)
}

/// Telegram took these (one message, or one digest of several).
pub fn mark_sent(
    conn: &mut SqliteConnection,
    ids: &[i64],
    telegram_message_id: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::sent_at.eq(now),
            outbox::telegram_message_id.eq(telegram_message_id),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .execute(conn)
        .map(drop)
}

/// These can never be delivered; `reason` says why.
pub fn mark_failed(
    conn: &mut SqliteConnection,
    ids: &[i64],
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::failed_at.eq(now),
            outbox::failure.eq(reason),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(reason),
        ))
        .execute(conn)
        .map(drop)
}

/// An attempt failed in a way worth trying again.
pub fn note_failure(conn: &mut SqliteConnection, ids: &[i64], error: &str) -> QueryResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(drop)
}

/// The chat refused the message for good: from now on it goes to its fallback.
pub fn reroute_to_fallback(conn: &mut SqliteConnection, id: i64, error: &str) -> QueryResult<()> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::fallback_chat_id.is_not_null()),
    )
    .set((
        outbox::chat_id.eq(outbox::fallback_chat_id.assume_not_null()),
        outbox::text.eq(outbox::fallback_text.assume_not_null()),
        outbox::fallback_chat_id.eq(None::<i64>),
        outbox::fallback_text.eq(None::<String>),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_error.eq(error),
    ))
    .execute(conn)
    .map(drop)
}

/// A group became a supergroup with a new id: its pending messages follow it.
pub fn move_chat(conn: &mut SqliteConnection, from: i64, to: i64) -> QueryResult<()> {
    diesel::update(
        outbox::table
            .filter(outbox::chat_id.eq(from))
            .filter(pending()),
    )
    .set(outbox::chat_id.eq(to))
    .execute(conn)
    .map(drop)
}

/// Forgets delivered and failed messages created before `cutoff`; pending ones stay.
pub fn forget_done_before(
    conn: &mut SqliteConnection,
    cutoff: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::created_at.lt(cutoff))
            .filter(diesel::dsl::not(pending())),
    )
    .execute(conn)
}
