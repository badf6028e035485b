//! Orders: intake, and every status change through the one state machine
//! (`domain::status::decide`), written together with its status-history and audit rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel::sqlite::Sqlite;

use super::audit::{self, AuditAction, Entity};
use super::masters;
use crate::domain::history::{Details, MasterRef};
use crate::domain::ids::{MasterId, OrderId, TelegramId};
use crate::domain::money::Kopecks;
use crate::domain::status::{decide, Action, Actor, Denied, OrderFacts, OrderStatus};
use crate::domain::validation::Phone;
use crate::schema::{order_status_history, orders};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = orders, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Order {
    pub id: OrderId,
    pub equipment_type: String,
    pub description: String,
    pub client_name: String,
    pub client_address: String,
    pub client_phone: String,
    pub status: OrderStatus,
    pub assigned_master_id: Option<MasterId>,
    pub dispatcher_id: Option<TelegramId>,
    pub notes: Option<String>,
    pub scheduled_time: Option<String>,
    pub total_kopecks: Option<Kopecks>,
    pub materials_kopecks: Option<Kopecks>,
    pub master_share_kopecks: Option<Kopecks>,
    pub company_share_kopecks: Option<Kopecks>,
    pub has_review: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub status_changed_at: NaiveDateTime,
    pub reminders_sent: i32,
    pub last_reminded_at: Option<NaiveDateTime>,
    /// The arrival as a moment (UTC), when `scheduled_time` reads as one.
    pub visit_at: Option<NaiveDateTime>,
    pub visit_reminded_at: Option<NaiveDateTime>,
    pub reschedule_count: i32,
}

impl Order {
    pub fn status(&self) -> OrderStatus {
        self.status
    }

    pub fn facts(&self) -> OrderFacts {
        OrderFacts {
            status: self.status(),
            assigned_master_id: self.assigned_master_id,
        }
    }
}

/// A confirmed intake dialogue: the columns it fills.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = orders, check_for_backend(diesel::sqlite::Sqlite))]
pub struct NewOrder {
    pub equipment_type: String,
    pub description: String,
    pub client_name: String,
    pub client_address: String,
    pub client_phone: Phone,
    pub notes: Option<String>,
    pub scheduled_time: Option<String>,
    /// `scheduled_time` read as a moment (UTC); None for an instruction or no time.
    pub visit_at: Option<NaiveDateTime>,
}

/// Money of a closed order, in kopecks (already split by `domain::money`): the columns a
/// closing sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = orders, check_for_backend(diesel::sqlite::Sqlite))]
pub struct ClosingMoney {
    #[diesel(column_name = total_kopecks)]
    pub total: Kopecks,
    #[diesel(column_name = materials_kopecks)]
    pub materials: Kopecks,
    #[diesel(column_name = master_share_kopecks)]
    pub master_share: Kopecks,
    #[diesel(column_name = company_share_kopecks)]
    pub company_share: Kopecks,
    pub has_review: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_status_history, check_for_backend(diesel::sqlite::Sqlite))]
pub struct HistoryRow {
    pub id: i64,
    pub order_id: OrderId,
    pub old_status: Option<String>,
    pub new_status: String,
    pub changed_by: Option<TelegramId>,
    pub changed_at: NaiveDateTime,
    pub notes: Option<String>,
}

pub fn get(conn: &mut SqliteConnection, id: OrderId) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .select(Order::as_select())
        .first(conn)
        .optional()
}

pub fn history(conn: &mut SqliteConnection, order_id: OrderId) -> QueryResult<Vec<HistoryRow>> {
    order_status_history::table
        .filter(order_status_history::order_id.eq(order_id))
        .order(order_status_history::id)
        .select(HistoryRow::as_select())
        .load(conn)
}

/// Saves a new order (NEW), its first history row and the audit row, then runs `then` in the
/// same transaction (the staff copies are queued there).
pub fn create<F>(
    conn: &mut SqliteConnection,
    order: &NewOrder,
    dispatcher_id: TelegramId,
    now: NaiveDateTime,
    then: F,
) -> QueryResult<Order>
where
    F: FnOnce(&mut SqliteConnection, &Order) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let saved = diesel::insert_into(orders::table)
            .values((
                order,
                orders::status.eq(OrderStatus::New),
                orders::dispatcher_id.eq(dispatcher_id),
                orders::created_at.eq(now),
                orders::updated_at.eq(now),
                orders::status_changed_at.eq(now),
            ))
            .returning(Order::as_returning())
            .get_result(conn)?;
        write_history(
            conn,
            saved.id,
            None,
            OrderStatus::New,
            dispatcher_id,
            None,
            now,
        )?;
        audit::record(
            conn,
            Some(dispatcher_id),
            AuditAction::OrderCreated,
            Entity::Order(saved.id),
            None,
            now,
        )?;
        then(conn, &saved)?;
        Ok(saved)
    })
}

/// A request to move an order, as a handler received it.
#[derive(Debug, Clone)]
pub struct Move {
    pub order_id: OrderId,
    pub actor: Actor,
    pub action: Action,
    /// The status shown on the card the button belongs to; a different current status means
    /// the card is stale and nothing is done.
    pub seen_status: Option<OrderStatus>,
    /// Reason of a decline or a refusal.
    pub reason: Option<String>,
    /// Required to close.
    pub money: Option<ClosingMoney>,
}

#[derive(Debug, Clone)]
pub struct Moved {
    pub before: Order,
    pub after: Order,
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("order not found")]
    NotFound,
    #[error("the order has changed")]
    Stale(Box<Order>),
    #[error("{0}")]
    Denied(Denied, Box<Order>),
    #[error("this master cannot take orders now")]
    MasterUnavailable,
    #[error("closing needs the amounts")]
    MoneyMissing,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Applies one transition: state machine, order row, history row and audit row in one
/// IMMEDIATE transaction, so a double press or two people at once can never both win.
/// `then` runs in the same transaction once the move is written (the messages it owes are
/// queued there): if `then` fails, the move is rolled back too.
pub fn apply<F>(
    conn: &mut SqliteConnection,
    request: &Move,
    now: NaiveDateTime,
    then: F,
) -> Result<Moved, MoveError>
where
    F: FnOnce(&mut SqliteConnection, &Moved) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let before = get(conn, request.order_id)?.ok_or(MoveError::NotFound)?;
        if request
            .seen_status
            .is_some_and(|seen| seen != before.status())
        {
            return Err(MoveError::Stale(Box::new(before)));
        }
        let transition = decide(&before.facts(), &request.actor, &request.action)
            .map_err(|denied| MoveError::Denied(denied, Box::new(before.clone())))?;
        if let Action::Assign { master_id } = request.action {
            let master = masters::by_id(conn, master_id)?;
            if !master.is_some_and(|m| m.is_assignable()) {
                return Err(MoveError::MasterUnavailable);
            }
        }
        let money = match request.action {
            Action::Close => Some(request.money.ok_or(MoveError::MoneyMissing)?),
            _ => None,
        };

        let target = orders::table.find(before.id);
        diesel::update(target)
            .set((
                orders::status.eq(transition.to),
                orders::assigned_master_id.eq(transition.assigned_master_id),
                orders::status_changed_at.eq(now),
                orders::updated_at.eq(now),
            ))
            .execute(conn)?;
        if transition.to == OrderStatus::Assigned {
            // A new assignment starts the reminder clock afresh.
            diesel::update(target)
                .set((
                    orders::reminders_sent.eq(0),
                    orders::last_reminded_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        if let Some(money) = money {
            diesel::update(target).set(money).execute(conn)?;
        }

        let (audit_action, details) = describe(conn, &before, request, money.as_ref())?;
        write_history(
            conn,
            before.id,
            Some(transition.from),
            transition.to,
            request.actor.telegram_id,
            details.clone(),
            now,
        )?;
        audit::record(
            conn,
            Some(request.actor.telegram_id),
            audit_action,
            Entity::Order(before.id),
            details,
            now,
        )?;
        let after = get(conn, before.id)?.ok_or(MoveError::NotFound)?;
        let moved = Moved { before, after };
        then(conn, &moved)?;
        Ok(moved)
    })
}

/// The audit action and the note kept with the history row and the audit row: the JSON of
/// [`Details`] (masters with their names as of now, money in kopecks), or the reason as typed.
fn describe(
    conn: &mut SqliteConnection,
    before: &Order,
    request: &Move,
    money: Option<&ClosingMoney>,
) -> QueryResult<(AuditAction, Option<String>)> {
    let reason = request.reason.clone();
    let json = |details: Details| Some(details.to_json());
    Ok(match request.action {
        Action::Assign { master_id } => match before.assigned_master_id {
            Some(old) if before.status() != OrderStatus::New => (
                AuditAction::OrderReassigned,
                json(Details::Reassigned {
                    from: master_ref(conn, old)?,
                    to: master_ref(conn, master_id)?,
                }),
            ),
            _ => (
                AuditAction::OrderAssigned,
                json(Details::Assigned {
                    master: master_ref(conn, master_id)?,
                }),
            ),
        },
        Action::Unassign => (
            AuditAction::OrderUnassigned,
            match before.assigned_master_id {
                Some(old) => json(Details::Unassigned {
                    master: master_ref(conn, old)?,
                }),
                None => None,
            },
        ),
        Action::Accept => (AuditAction::OrderAccepted, None),
        Action::Decline => (AuditAction::OrderDeclined, reason),
        Action::GoOnsite => (AuditAction::OrderOnsite, None),
        Action::LongRepair => (AuditAction::OrderLongRepair, reason),
        Action::ResumeOnsite => (AuditAction::OrderResumed, None),
        Action::Close => (
            AuditAction::OrderClosed,
            money.and_then(|m| {
                json(Details::Closed {
                    total: m.total.get(),
                    materials: m.materials.get(),
                    master_share: m.master_share.get(),
                    company_share: m.company_share.get(),
                    review: m.has_review,
                })
            }),
        ),
        Action::Refuse => (AuditAction::OrderRefused, reason),
        Action::Restore => (AuditAction::OrderRestored, None),
    })
}

/// A master as history rows name them: `masters.id` and the user's display name now.
fn master_ref(conn: &mut SqliteConnection, master_id: MasterId) -> QueryResult<MasterRef> {
    let name = masters::with_user(conn, master_id)?.map(|(_, user)| user.display_name());
    Ok(MasterRef::new(master_id, name))
}

fn write_history(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    from: Option<OrderStatus>,
    to: OrderStatus,
    by: TelegramId,
    notes: Option<String>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(order_status_history::table)
        .values((
            order_status_history::order_id.eq(order_id),
            order_status_history::old_status.eq(from.map(OrderStatus::as_str)),
            order_status_history::new_status.eq(to),
            order_status_history::changed_by.eq(by),
            order_status_history::changed_at.eq(now),
            order_status_history::notes.eq(notes),
        ))
        .execute(conn)
        .map(drop)
}

/// Open orders of a master, newest first (the master's "my orders").
pub fn open_for_master(
    conn: &mut SqliteConnection,
    master_id: MasterId,
) -> QueryResult<Vec<Order>> {
    let open: Vec<&str> = OrderStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect();
    orders::table
        .filter(orders::assigned_master_id.eq(master_id))
        .filter(orders::status.eq_any(open))
        .order(orders::id.desc())
        .select(Order::as_select())
        .load(conn)
}

diesel::define_sql_function! {
    /// SQL's COALESCE, for the reminder clock.
    fn coalesce(
        x: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
        y: diesel::sql_types::Timestamp,
    ) -> diesel::sql_types::Timestamp;
}

type Condition = Box<dyn BoxableExpression<orders::table, Sqlite, SqlType = Bool>>;

/// An order due for a reminder or an SLA alert: what a round needs to count it, group it and
/// name it. A round after downtime (or on an adopted database) may find hundreds of thousands;
/// whole orders would cost hundreds of bytes each, these a few dozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = orders, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Due {
    pub id: OrderId,
    pub assigned_master_id: Option<MasterId>,
    pub status_changed_at: NaiveDateTime,
}

/// ASSIGNED orders whose next reminder is due: with `k` reminders sent, those whose reminder
/// clock (the last reminder, or the assignment before the first) is at or before
/// `cutoffs[k]`; orders with `cutoffs.len()` or more reminders are never due. The policy (how
/// many, how far apart) is the caller's. In no particular order.
pub fn reminders_due(
    conn: &mut SqliteConnection,
    cutoffs: &[NaiveDateTime],
) -> QueryResult<Vec<Due>> {
    match reminders_due_query(cutoffs) {
        Some(query) => query.load(conn),
        None => Ok(Vec::new()),
    }
}

/// `EXPLAIN QUERY PLAN` of [`reminders_due`].
pub fn reminders_due_plan(
    conn: &mut SqliteConnection,
    cutoffs: &[NaiveDateTime],
) -> QueryResult<Vec<String>> {
    match reminders_due_query(cutoffs) {
        Some(query) => super::plan::explain(conn, query),
        None => Ok(Vec::new()),
    }
}

type DueQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<orders::table, diesel::dsl::AsSelect<Due, Sqlite>>,
    Sqlite,
>;

/// One term per count sent, each a range of `idx_orders_reminder_clock` (SQLite reads them
/// as a MULTI-INDEX OR): the expression is spelled exactly as the index has it.
fn reminders_due_query(cutoffs: &[NaiveDateTime]) -> Option<DueQuery> {
    let due = cutoffs
        .iter()
        .enumerate()
        .map(|(sent, cutoff)| -> Condition {
            Box::new(
                orders::status
                    .eq(OrderStatus::Assigned)
                    .and(orders::reminders_sent.eq(sent as i32))
                    .and(coalesce(orders::last_reminded_at, orders::status_changed_at).le(*cutoff)),
            )
        })
        .reduce(|any, term| Box::new(any.or(term)))?;
    Some(
        orders::table
            .select(Due::as_select())
            .filter(due)
            .into_boxed(),
    )
}

/// Counts one more reminder for each of the orders still ASSIGNED (one accepted meanwhile
/// keeps its count: a new assignment resets it anyway). `then` runs in the same
/// transaction (the reminders are queued there).
pub fn mark_reminded<F>(
    conn: &mut SqliteConnection,
    order_ids: &[OrderId],
    now: NaiveDateTime,
    then: F,
) -> QueryResult<()>
where
    F: FnOnce(&mut SqliteConnection) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        for chunk in order_ids.chunks(MAX_IDS_PER_STATEMENT) {
            diesel::update(
                orders::table
                    .filter(orders::id.eq_any(chunk))
                    .filter(orders::status.eq(OrderStatus::Assigned)),
            )
            .set((
                orders::reminders_sent.eq(orders::reminders_sent + 1),
                orders::last_reminded_at.eq(now),
            ))
            .execute(conn)?;
        }
        then(conn)
    })
}

/// Well under SQLite's limit of bound parameters per statement.
const MAX_IDS_PER_STATEMENT: usize = 500;

/// Open orders that entered `status` at or before `since` and were not alerted for it yet.
/// Each candidate is checked against `sla_alerts` by its key, so the alerts of years are not
/// read every round. `EXPLAIN QUERY PLAN` of the query [`record_sla_breaches`] runs.
pub fn sla_breaches_plan(
    conn: &mut SqliteConnection,
    status: OrderStatus,
    since: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    super::plan::explain(conn, sla_breaches_query(status, since))
}

fn sla_breaches_query(status: OrderStatus, since: NaiveDateTime) -> DueQuery {
    use crate::schema::sla_alerts;
    let alerted = sla_alerts::table
        .filter(sla_alerts::order_id.eq(orders::id))
        .filter(sla_alerts::status.eq(status));
    orders::table
        .select(Due::as_select())
        .filter(orders::status.eq(status))
        .filter(orders::status_changed_at.le(since))
        .filter(diesel::dsl::not(diesel::dsl::exists(alerted)))
        .into_boxed()
}

/// Records an SLA alert for every order that entered `status` at or before `since` and is
/// still in it, not alerted for it yet; returns those orders, longest in the status first.
/// Call inside the transaction that queues the alerts. Nothing but their ids passes through memory, so an adopted database with
/// a hundred thousand overdue orders costs a few megabytes, not whole orders.
pub fn record_sla_breaches(
    conn: &mut SqliteConnection,
    status: OrderStatus,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<OrderId>> {
    use crate::schema::sla_alerts;
    // The same query twice in one transaction: what it finds is exactly what it records.
    let late: Vec<OrderId> = sla_breaches_query(status, since)
        .select(orders::id)
        .order((orders::status_changed_at, orders::id))
        .load(conn)?;
    if late.is_empty() {
        return Ok(late);
    }
    diesel::insert_or_ignore_into(sla_alerts::table)
        .values(sla_breaches_query(status, since).select((
            orders::id,
            orders::status,
            now.into_sql::<diesel::sql_types::Timestamp>(),
        )))
        .into_columns((
            sla_alerts::order_id,
            sla_alerts::status,
            sla_alerts::alerted_at,
        ))
        .execute(conn)?;
    Ok(late)
}

/// A field of an order a dispatcher may correct after intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EditableField {
    Description,
    ClientName,
    Address,
    Phone,
    Notes,
    Arrival,
}

impl EditableField {
    pub const ALL: [EditableField; 6] = [
        EditableField::Description,
        EditableField::ClientName,
        EditableField::Address,
        EditableField::Phone,
        EditableField::Notes,
        EditableField::Arrival,
    ];

    /// Notes and arrival time may be cleared; the rest are required.
    pub fn is_optional(self) -> bool {
        matches!(self, EditableField::Notes | EditableField::Arrival)
    }

    pub fn column(self) -> &'static str {
        match self {
            EditableField::Description => "description",
            EditableField::ClientName => "client_name",
            EditableField::Address => "client_address",
            EditableField::Phone => "client_phone",
            EditableField::Notes => "notes",
            EditableField::Arrival => "scheduled_time",
        }
    }

    pub fn current(self, order: &Order) -> Option<String> {
        match self {
            EditableField::Description => Some(order.description.clone()),
            EditableField::ClientName => Some(order.client_name.clone()),
            EditableField::Address => Some(order.client_address.clone()),
            EditableField::Phone => Some(order.client_phone.clone()),
            EditableField::Notes => order.notes.clone(),
            EditableField::Arrival => order.scheduled_time.clone(),
        }
    }
}

/// A corrected field and its new value (None: cleared, for the optional ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEdit {
    pub field: EditableField,
    pub value: Option<String>,
    /// For the arrival time: the moment (UTC) the new value reads as.
    pub visit_at: Option<NaiveDateTime>,
}

impl FieldEdit {
    pub fn new(field: EditableField, value: Option<String>) -> FieldEdit {
        FieldEdit {
            field,
            value,
            visit_at: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("order not found")]
    NotFound,
    #[error("the order is closed or refused")]
    NotOpen(Box<Order>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Changes one field of an open order (the value already validated as at intake) and writes
/// the audit row with the old and the new value, in one IMMEDIATE transaction. `then` runs in
/// the same transaction with the order as edited.
pub fn edit<F>(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    by: TelegramId,
    change: &FieldEdit,
    now: NaiveDateTime,
    then: F,
) -> Result<Order, EditError>
where
    F: FnOnce(&mut SqliteConnection, &Order) -> QueryResult<()>,
{
    let (field, value) = (change.field, &change.value);
    conn.immediate_transaction(|conn| {
        let before = get(conn, order_id)?.ok_or(EditError::NotFound)?;
        if !before.status().is_open() {
            return Err(EditError::NotOpen(Box::new(before)));
        }
        let target = orders::table.find(order_id);
        let required = || value.clone().unwrap_or_default();
        match field {
            EditableField::Description => diesel::update(target)
                .set(orders::description.eq(required()))
                .execute(conn)?,
            EditableField::ClientName => diesel::update(target)
                .set(orders::client_name.eq(required()))
                .execute(conn)?,
            EditableField::Address => diesel::update(target)
                .set(orders::client_address.eq(required()))
                .execute(conn)?,
            EditableField::Phone => diesel::update(target)
                .set(orders::client_phone.eq(required()))
                .execute(conn)?,
            EditableField::Notes => diesel::update(target)
                .set(orders::notes.eq(value.clone()))
                .execute(conn)?,
            EditableField::Arrival => {
                super::visits::set_visit(conn, order_id, value.as_deref(), change.visit_at)?
            }
        };
        diesel::update(target)
            .set(orders::updated_at.eq(now))
            .execute(conn)?;
        let details = Details::Edited {
            field: field.column().to_string(),
            old: field.current(&before),
            new: value.clone(),
        }
        .to_json();
        audit::record(
            conn,
            Some(by),
            AuditAction::OrderEdited,
            Entity::Order(order_id),
            Some(details),
            now,
        )?;
        let edited = get(conn, order_id)?.ok_or(EditError::NotFound)?;
        then(conn, &edited)?;
        Ok(edited)
    })
}
