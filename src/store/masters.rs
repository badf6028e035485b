//! Masters: field technicians, added by admins, assignable while active and approved.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditAction, Entity};
use super::users::{self, User};
use crate::domain::history::Details;
use crate::domain::ids::{MasterId, TelegramId};
use crate::domain::status::{OrderStatus, Role};
use crate::domain::validation::Phone;
use crate::schema::{masters, orders, user_roles, users as users_table};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = masters, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Master {
    pub id: MasterId,
    pub telegram_id: TelegramId,
    pub phone: String,
    pub specialization: String,
    pub is_active: bool,
    pub is_approved: bool,
    pub work_chat_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// A senior master's share never falls below the configured floor.
    pub is_senior: bool,
    /// When an admin fired him; a fired master keeps his row, orders and history.
    pub fired_at: Option<NaiveDateTime>,
}

impl Master {
    pub fn is_assignable(&self) -> bool {
        self.is_active && self.is_approved && !self.is_fired()
    }

    pub fn is_fired(&self) -> bool {
        self.fired_at.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddMasterError {
    #[error("user {0} has never written to the bot")]
    UnknownUser(TelegramId),
    #[error("user {0} is already a master")]
    AlreadyMaster(TelegramId),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

pub fn by_id(conn: &mut SqliteConnection, id: MasterId) -> QueryResult<Option<Master>> {
    masters::table
        .find(id)
        .select(Master::as_select())
        .first(conn)
        .optional()
}

pub fn by_telegram_id(
    conn: &mut SqliteConnection,
    telegram_id: TelegramId,
) -> QueryResult<Option<Master>> {
    masters::table
        .filter(masters::telegram_id.eq(telegram_id))
        .select(Master::as_select())
        .first(conn)
        .optional()
}

/// A master with his user row (None when either is missing).
pub fn with_user(conn: &mut SqliteConnection, id: MasterId) -> QueryResult<Option<(Master, User)>> {
    masters::table
        .inner_join(users_table::table.on(users_table::telegram_id.eq(masters::telegram_id)))
        .filter(masters::id.eq(id))
        .select((Master::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// Every master with their user, by name.
pub fn all(conn: &mut SqliteConnection) -> QueryResult<Vec<(Master, User)>> {
    masters::table
        .inner_join(users_table::table.on(users_table::telegram_id.eq(masters::telegram_id)))
        .select((Master::as_select(), User::as_select()))
        .order(masters::id)
        .load(conn)
}

/// Masters an order can be given to: active, approved, not fired and still holding the
/// MASTER role.
pub fn assignable(conn: &mut SqliteConnection) -> QueryResult<Vec<(Master, User)>> {
    let with_role = user_roles::table
        .filter(user_roles::role.eq(Role::Master))
        .select(user_roles::telegram_id);
    masters::table
        .inner_join(users_table::table.on(users_table::telegram_id.eq(masters::telegram_id)))
        .filter(masters::is_active.eq(true))
        .filter(masters::is_approved.eq(true))
        .filter(masters::fired_at.is_null())
        .filter(masters::telegram_id.eq_any(with_role))
        .select((Master::as_select(), User::as_select()))
        .order(masters::id)
        .load(conn)
}

/// Makes a registered user a master (approved and active) and grants the MASTER role; `then`
/// runs in the same transaction (the new master's message is queued there).
pub fn add<F>(
    conn: &mut SqliteConnection,
    by: TelegramId,
    telegram_id: TelegramId,
    (phone, specialization): (&Phone, &str),
    now: NaiveDateTime,
    then: F,
) -> Result<Master, AddMasterError>
where
    F: FnOnce(&mut SqliteConnection, &Master) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        if users::by_telegram_id(conn, telegram_id)?.is_none() {
            return Err(AddMasterError::UnknownUser(telegram_id));
        }
        if by_telegram_id(conn, telegram_id)?.is_some() {
            return Err(AddMasterError::AlreadyMaster(telegram_id));
        }
        let master = diesel::insert_into(masters::table)
            .values((
                masters::telegram_id.eq(telegram_id),
                masters::phone.eq(phone),
                masters::specialization.eq(specialization),
                masters::is_active.eq(true),
                masters::is_approved.eq(true),
                masters::created_at.eq(now),
                masters::updated_at.eq(now),
            ))
            .returning(Master::as_returning())
            .get_result(conn)?;
        users::grant(conn, Some(by), telegram_id, Role::Master, now)?;
        audit::record(
            conn,
            Some(by),
            AuditAction::MasterAdded,
            Entity::Master(master.id),
            Some(specialization.to_string()),
            now,
        )?;
        then(conn, &master)?;
        Ok(master)
    })
}

pub fn set_active(
    conn: &mut SqliteConnection,
    by: TelegramId,
    master_id: MasterId,
    active: bool,
    now: NaiveDateTime,
) -> QueryResult<Master> {
    conn.immediate_transaction(|conn| {
        let master = diesel::update(masters::table.find(master_id))
            .set((masters::is_active.eq(active), masters::updated_at.eq(now)))
            .returning(Master::as_returning())
            .get_result(conn)?;
        let action = if active {
            AuditAction::MasterActivated
        } else {
            AuditAction::MasterDeactivated
        };
        audit::record(conn, Some(by), action, Entity::Master(master_id), None, now)?;
        Ok(master)
    })
}

/// Makes a master senior (his share never falls below the configured floor) or not, audited
/// with both values.
pub fn set_senior(
    conn: &mut SqliteConnection,
    by: TelegramId,
    master_id: MasterId,
    senior: bool,
    now: NaiveDateTime,
) -> QueryResult<Master> {
    conn.immediate_transaction(|conn| {
        let master = diesel::update(masters::table.find(master_id))
            .set((masters::is_senior.eq(senior), masters::updated_at.eq(now)))
            .returning(Master::as_returning())
            .get_result(conn)?;
        let details = Details::Edited {
            field: "is_senior".into(),
            old: Some((!senior).to_string()),
            new: Some(senior.to_string()),
        };
        audit::record(
            conn,
            Some(by),
            AuditAction::MasterSeniority,
            Entity::Master(master_id),
            Some(details.to_json()),
            now,
        )?;
        Ok(master)
    })
}

pub fn bind_work_chat(
    conn: &mut SqliteConnection,
    by: TelegramId,
    master_id: MasterId,
    chat_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Master> {
    conn.immediate_transaction(|conn| {
        let master = diesel::update(masters::table.find(master_id))
            .set((
                masters::work_chat_id.eq(Some(chat_id)),
                masters::updated_at.eq(now),
            ))
            .returning(Master::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            Some(by),
            AuditAction::MasterWorkChatBound,
            Entity::Master(master_id),
            Some(chat_id.to_string()),
            now,
        )?;
        Ok(master)
    })
}

/// Which of these people are fired masters.
pub fn fired_among(
    conn: &mut SqliteConnection,
    people: &[TelegramId],
) -> QueryResult<std::collections::BTreeSet<TelegramId>> {
    let fired: Vec<TelegramId> = masters::table
        .filter(masters::telegram_id.eq_any(people))
        .filter(masters::fired_at.is_not_null())
        .select(masters::telegram_id)
        .load(conn)?;
    Ok(fired.into_iter().collect())
}

/// The masters whose work group is `chat` (usually one).
pub fn by_work_chat(conn: &mut SqliteConnection, chat: i64) -> QueryResult<Vec<Master>> {
    masters::table
        .filter(masters::work_chat_id.eq(chat))
        .select(Master::as_select())
        .order(masters::id)
        .load(conn)
}

#[derive(Debug, thiserror::Error)]
pub enum FireError {
    #[error("no such master")]
    NotFound,
    /// Fired already: his user, to name him.
    #[error("the master is fired already")]
    AlreadyFired(Box<User>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A master and what firing him did.
#[derive(Debug, Clone)]
pub struct Fired {
    pub master: Master,
    pub user: User,
    /// His open orders, back in NEW without a master (deleted ones left out), by id.
    pub returned: Vec<super::orders::Order>,
}

/// Fires a master, in one IMMEDIATE transaction: he is marked fired and switched off, loses
/// the MASTER role (so he can no longer act on any order, and is offered for none), and his
/// open orders go back to NEW without a master, each with its history and audit rows. His
/// row, his closed orders and his history stay: reports and cards still name him. Audited;
/// `then` runs in the same transaction (the staff are told there).
pub fn fire<F>(
    conn: &mut SqliteConnection,
    by: TelegramId,
    master_id: MasterId,
    now: NaiveDateTime,
    then: F,
) -> Result<Fired, FireError>
where
    F: FnOnce(&mut SqliteConnection, &Fired) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let (master, user) = with_user(conn, master_id)?.ok_or(FireError::NotFound)?;
        if master.is_fired() {
            return Err(FireError::AlreadyFired(Box::new(user)));
        }
        let master = diesel::update(masters::table.find(master_id))
            .set((
                masters::fired_at.eq(now),
                masters::is_active.eq(false),
                masters::updated_at.eq(now),
            ))
            .returning(Master::as_returning())
            .get_result(conn)?;
        users::revoke(conn, Some(by), master.telegram_id, Role::Master, now)?;
        let named = crate::domain::history::MasterRef::new(master_id, Some(user.display_name()));
        let returned = super::orders::return_to_new(conn, &named, by, now)?;
        let ids: Vec<String> = returned.iter().map(|o| o.id.to_string()).collect();
        audit::record(
            conn,
            Some(by),
            AuditAction::MasterFired,
            Entity::Master(master_id),
            Some(ids.join(",")),
            now,
        )?;
        let fired = Fired {
            master,
            user,
            returned,
        };
        then(conn, &fired)?;
        Ok(fired)
    })
}

/// How many of the master's orders are in each status (deleted ones left out).
pub fn order_counts(
    conn: &mut SqliteConnection,
    master_id: MasterId,
) -> QueryResult<BTreeMap<OrderStatus, i64>> {
    let rows: Vec<(String, i64)> = orders::table
        .filter(orders::assigned_master_id.eq(master_id))
        .filter(orders::deleted_at.is_null())
        .group_by(orders::status)
        .select((orders::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(status, n)| Some((status.parse().ok()?, n)))
        .collect())
}

/// Money of a master's closed orders (deleted ones left out), all time, in kopecks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoneyTotals {
    pub closed: i64,
    pub total: i64,
    pub master_share: i64,
    pub company_share: i64,
}

pub fn money_totals(conn: &mut SqliteConnection, master_id: MasterId) -> QueryResult<MoneyTotals> {
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        closed: i64,
        #[diesel(sql_type = BigInt)]
        total: i64,
        #[diesel(sql_type = BigInt)]
        master_share: i64,
        #[diesel(sql_type = BigInt)]
        company_share: i64,
    }
    // SQLite sums integers exactly (it would raise an error on overflow, never round).
    let row: Row = diesel::sql_query(
        "SELECT COUNT(*) AS closed, COALESCE(SUM(total_kopecks), 0) AS total, \
         COALESCE(SUM(master_share_kopecks), 0) AS master_share, \
         COALESCE(SUM(company_share_kopecks), 0) AS company_share \
         FROM orders WHERE assigned_master_id = ? AND status = 'CLOSED' \
         AND deleted_at IS NULL",
    )
    .bind::<BigInt, _>(master_id)
    .get_result(conn)?;
    Ok(MoneyTotals {
        closed: row.closed,
        total: row.total,
        master_share: row.master_share,
        company_share: row.company_share,
    })
}
