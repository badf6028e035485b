//! Who is acting: a user with their roles and their masters row, registered (names refreshed,
//! ADMIN_IDS / DISPATCHER_IDS applied) on every update. Built over `users` and `masters`, so
//! neither of those depends on the other.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditAction, Entity};
use super::masters::{self, Master};
use super::users::{by_telegram_id, grant, revoke, roles_of, User};
use crate::domain::ids::TelegramId;
use crate::domain::status::{Actor, Role};
use crate::schema::users;

/// Who wrote to the bot, as Telegram describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub telegram_id: TelegramId,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// ADMIN_IDS and DISPATCHER_IDS: the environment is authoritative for these two roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvRoles {
    pub admins: BTreeSet<TelegramId>,
    pub dispatchers: BTreeSet<TelegramId>,
}

impl EnvRoles {
    fn wanted(&self, telegram_id: TelegramId, role: Role) -> Option<bool> {
        match role {
            Role::Admin => Some(self.admins.contains(&telegram_id)),
            Role::Dispatcher => Some(self.dispatchers.contains(&telegram_id)),
            Role::Master => None,
        }
    }
}

/// A user with everything routing needs: who they are to the order state machine (`acting`:
/// id, roles, master id) and, for masters, their masters row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub acting: Actor,
    pub master: Option<Master>,
}

impl Member {
    pub fn has(&self, role: Role) -> bool {
        self.acting.roles.contains(&role)
    }

    pub fn is_staff(&self) -> bool {
        self.acting.is_staff()
    }

    /// Registered but given no role yet.
    pub fn has_no_role(&self) -> bool {
        self.acting.roles.is_empty()
    }

    pub fn roles(&self) -> Vec<Role> {
        self.acting.roles.iter().copied().collect()
    }
}

pub fn member(conn: &mut SqliteConnection, telegram_id: TelegramId) -> QueryResult<Option<Member>> {
    let Some(user) = by_telegram_id(conn, telegram_id)? else {
        return Ok(None);
    };
    let roles = roles_of(conn, telegram_id)?;
    let master = masters::by_telegram_id(conn, telegram_id)?;
    let acting = Actor {
        telegram_id,
        roles,
        master_id: master.as_ref().map(|m| m.id),
    };
    Ok(Some(Member {
        user,
        acting,
        master,
    }))
}

/// Registers or refreshes the sender of any update and applies the environment's roles.
/// Reads only when nothing changed (the common case); otherwise one IMMEDIATE transaction.
pub fn register(
    conn: &mut SqliteConnection,
    contact: &Contact,
    env: &EnvRoles,
    now: NaiveDateTime,
) -> QueryResult<Member> {
    if let Some(member) = member(conn, contact.telegram_id)? {
        if same_names(&member.user, contact) && roles_match_env(&member, env) {
            return Ok(member);
        }
    }
    conn.immediate_transaction(|conn| {
        let existing = by_telegram_id(conn, contact.telegram_id)?;
        match &existing {
            None => {
                diesel::insert_into(users::table)
                    .values((
                        users::telegram_id.eq(contact.telegram_id),
                        users::username.eq(&contact.username),
                        users::first_name.eq(&contact.first_name),
                        users::last_name.eq(&contact.last_name),
                        users::created_at.eq(now),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                audit::record(
                    conn,
                    Some(contact.telegram_id),
                    AuditAction::UserRegistered,
                    Entity::User(contact.telegram_id),
                    None,
                    now,
                )?;
            }
            Some(user) if !same_names(user, contact) => {
                diesel::update(users::table.filter(users::telegram_id.eq(contact.telegram_id)))
                    .set((
                        users::username.eq(&contact.username),
                        users::first_name.eq(&contact.first_name),
                        users::last_name.eq(&contact.last_name),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            Some(_) => {}
        }
        let roles = roles_of(conn, contact.telegram_id)?;
        for role in [Role::Admin, Role::Dispatcher] {
            match (env.wanted(contact.telegram_id, role), roles.contains(&role)) {
                (Some(true), false) => grant(conn, None, contact.telegram_id, role, now)?,
                (Some(false), true) => revoke(conn, None, contact.telegram_id, role, now)?,
                _ => {}
            }
        }
        member(conn, contact.telegram_id)?.ok_or(diesel::result::Error::NotFound)
    })
}

fn same_names(user: &User, contact: &Contact) -> bool {
    user.username == contact.username
        && user.first_name == contact.first_name
        && user.last_name == contact.last_name
}

fn roles_match_env(member: &Member, env: &EnvRoles) -> bool {
    [Role::Admin, Role::Dispatcher]
        .into_iter()
        .all(|role| env.wanted(member.user.telegram_id, role) == Some(member.has(role)))
}
