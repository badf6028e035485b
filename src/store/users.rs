//! Users (everyone who wrote to the bot) and their roles.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditAction, Entity};
use crate::domain::ids::TelegramId;
use crate::domain::status::Role;
use crate::schema::{user_roles, users};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite))]
pub struct User {
    pub id: i64,
    pub telegram_id: TelegramId,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    /// A name to show: "First Last", else @username, else the id.
    pub fn display_name(&self) -> String {
        let full = full_name(self.first_name.as_deref(), self.last_name.as_deref());
        if !full.is_empty() {
            full
        } else if let Some(username) = &self.username {
            format!("@{username}")
        } else {
            self.telegram_id.to_string()
        }
    }
}

/// "First Last" from the parts Telegram gave; empty when it gave none.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> String {
    [first, last]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn by_telegram_id(
    conn: &mut SqliteConnection,
    telegram_id: TelegramId,
) -> QueryResult<Option<User>> {
    users::table
        .filter(users::telegram_id.eq(telegram_id))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn roles_of(
    conn: &mut SqliteConnection,
    telegram_id: TelegramId,
) -> QueryResult<BTreeSet<Role>> {
    let roles: Vec<Role> = user_roles::table
        .filter(user_roles::telegram_id.eq(telegram_id))
        .select(user_roles::role)
        .load(conn)?;
    Ok(roles.into_iter().collect())
}

pub fn grant(
    conn: &mut SqliteConnection,
    by: Option<TelegramId>,
    telegram_id: TelegramId,
    role: Role,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let inserted = diesel::insert_or_ignore_into(user_roles::table)
        .values((
            user_roles::telegram_id.eq(telegram_id),
            user_roles::role.eq(role),
            user_roles::granted_at.eq(now),
        ))
        .execute(conn)?;
    if inserted > 0 {
        audit::record(
            conn,
            by,
            AuditAction::RoleGranted,
            Entity::User(telegram_id),
            Some(role.as_str().into()),
            now,
        )?;
    }
    Ok(())
}

pub fn revoke(
    conn: &mut SqliteConnection,
    by: Option<TelegramId>,
    telegram_id: TelegramId,
    role: Role,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let deleted = diesel::delete(
        user_roles::table
            .filter(user_roles::telegram_id.eq(telegram_id))
            .filter(user_roles::role.eq(role)),
    )
    .execute(conn)?;
    if deleted > 0 {
        audit::record(
            conn,
            by,
            AuditAction::RoleRevoked,
            Entity::User(telegram_id),
            Some(role.as_str().into()),
            now,
        )?;
    }
    Ok(())
}

/// Everyone who wrote to the bot with their roles, newest first, `page_size` at a time from
/// `cursor` (keyset on `users.id`).
pub fn page_with_roles(
    conn: &mut SqliteConnection,
    cursor: Option<super::search::Cursor>,
    page_size: usize,
) -> QueryResult<super::search::Page<(User, BTreeSet<Role>)>> {
    use super::search::{keyset_page, Bound};
    let page = keyset_page(
        cursor,
        page_size,
        |user: &User| user.id,
        |bound, limit| {
            let query = users::table
                .select(User::as_select())
                .limit(limit as i64)
                .into_boxed();
            match bound {
                Bound::Newest => query.order(users::id.desc()),
                Bound::Below(id) => query.filter(users::id.lt(id)).order(users::id.desc()),
                Bound::Above(id) => query.filter(users::id.gt(id)).order(users::id.asc()),
            }
            .load(conn)
        },
    )?;
    let ids: Vec<TelegramId> = page.items.iter().map(|u| u.telegram_id).collect();
    let granted: Vec<(TelegramId, Role)> = user_roles::table
        .filter(user_roles::telegram_id.eq_any(&ids))
        .select((user_roles::telegram_id, user_roles::role))
        .load(conn)?;
    let items = page
        .items
        .into_iter()
        .map(|user| {
            let roles = granted
                .iter()
                .filter(|(id, _)| *id == user.telegram_id)
                .map(|(_, role)| *role)
                .collect();
            (user, roles)
        })
        .collect();
    Ok(super::search::Page {
        items,
        next: page.next,
        prev: page.prev,
    })
}

/// Telegram ids of everyone holding one of `roles`.
pub fn with_roles(conn: &mut SqliteConnection, roles: &[Role]) -> QueryResult<Vec<TelegramId>> {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    user_roles::table
        .filter(user_roles::role.eq_any(names))
        .select(user_roles::telegram_id)
        .distinct()
        .order(user_roles::telegram_id)
        .load(conn)
}
