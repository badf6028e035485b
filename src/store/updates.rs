//! Which fetched Telegram updates are already handled. The bot acknowledges a batch to
//! Telegram (the next getUpdates offset) only after every update in it is handled, so a crash
//! brings the batch again; the ids recorded here are then skipped.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::handled_updates;

/// Every recorded id: the updates handled but maybe not yet acknowledged to Telegram (the
/// records below the acknowledged offset are forgotten, so there are few).
pub fn all_handled(conn: &mut SqliteConnection) -> QueryResult<Vec<i64>> {
    handled_updates::table
        .select(handled_updates::update_id)
        .load(conn)
}

pub fn mark_handled(conn: &mut SqliteConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_or_ignore_into(handled_updates::table)
        .values((
            handled_updates::update_id.eq(id),
            handled_updates::handled_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Forgets updates Telegram will not send again (ids below the acknowledged offset).
pub fn forget_below(conn: &mut SqliteConnection, offset: i64) -> QueryResult<usize> {
    diesel::delete(handled_updates::table.filter(handled_updates::update_id.lt(offset)))
        .execute(conn)
}

/// Forgets the updates handled before `at` (webhook mode, where no offset confirms them).
pub fn forget_handled_before(conn: &mut SqliteConnection, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(handled_updates::table.filter(handled_updates::handled_at.lt(at))).execute(conn)
}
