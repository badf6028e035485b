//! Users (everyone who wrote to the bot) and their roles.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditAction, Entity};
use super::masters::{self, Master};
use crate::domain::status::{Actor, Role};
use crate::schema::{user_roles, users};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite))]
pub struct User {
    pub id: i64,
    pub telegram_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    /// A name to show: "First Last", else @username, else the id.
    pub fn display_name(&self) -> String {
        let full = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|part| !part.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !full.is_empty() {
            full
        } else if let Some(username) = &self.username {
            format!("@{username}")
        } else {
            self.telegram_id.to_string()
        }
    }
}

/// Who wrote to the bot, as Telegram describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub telegram_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// ADMIN_IDS and DISPATCHER_IDS: the environment is authoritative for these two roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvRoles {
    pub admins: BTreeSet<i64>,
    pub dispatchers: BTreeSet<i64>,
}

impl EnvRoles {
    fn wanted(&self, telegram_id: i64, role: Role) -> Option<bool> {
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

pub fn by_telegram_id(conn: &mut SqliteConnection, telegram_id: i64) -> QueryResult<Option<User>> {
    users::table
        .filter(users::telegram_id.eq(telegram_id))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn roles_of(conn: &mut SqliteConnection, telegram_id: i64) -> QueryResult<BTreeSet<Role>> {
    let roles: Vec<Role> = user_roles::table
        .filter(user_roles::telegram_id.eq(telegram_id))
        .select(user_roles::role)
        .load(conn)?;
    Ok(roles.into_iter().collect())
}

pub fn member(conn: &mut SqliteConnection, telegram_id: i64) -> QueryResult<Option<Member>> {
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

pub fn grant(
    conn: &mut SqliteConnection,
    by: Option<i64>,
    telegram_id: i64,
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
    by: Option<i64>,
    telegram_id: i64,
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

/// Telegram ids of everyone holding one of `roles`.
pub fn with_roles(conn: &mut SqliteConnection, roles: &[Role]) -> QueryResult<Vec<i64>> {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    user_roles::table
        .filter(user_roles::role.eq_any(names))
        .select(user_roles::telegram_id)
        .distinct()
        .order(user_roles::telegram_id)
        .load(conn)
}
