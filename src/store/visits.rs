//! Visits: the arrival an order was given (the words as typed in `scheduled_time`, the moment
//! they were read as in `visit_at`), moving it with a reason, and the reminder before it.
//! Soft-deleted orders take part in none of it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditAction, Entity};
use super::orders::{self, Order};
use crate::domain::history::Details;
use crate::domain::ids::{MasterId, OrderId, TelegramId};
use crate::domain::status::{Actor, OrderStatus};
use crate::domain::visit_time::may_reschedule;
use crate::schema::{audit_log, orders as orders_table};

/// Gives an order its arrival: the words and the moment read from them. A moment different
/// from the one before is a visit not reminded of yet.
pub fn set_visit(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    text: Option<&str>,
    visit_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let target = orders_table::table.find(order_id);
    let before: Option<NaiveDateTime> = target.select(orders_table::visit_at).first(conn)?;
    let written = diesel::update(target)
        .set((
            orders_table::scheduled_time.eq(text),
            orders_table::visit_at.eq(visit_at),
        ))
        .execute(conn)?;
    if before != visit_at {
        diesel::update(target)
            .set(orders_table::visit_reminded_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    }
    Ok(written)
}

/// The order, unless it was deleted.
fn live(conn: &mut SqliteConnection, id: OrderId) -> QueryResult<Option<Order>> {
    orders_table::table
        .find(id)
        .filter(orders_table::deleted_at.is_null())
        .select(Order::as_select())
        .first(conn)
        .optional()
}

/// A request to move a visit, as a handler received it.
#[derive(Debug, Clone)]
pub struct Reschedule {
    pub order_id: OrderId,
    pub actor: Actor,
    /// The new arrival as typed (an instruction is allowed: the visit then has no moment).
    pub arrival: String,
    pub visit_at: Option<NaiveDateTime>,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Rescheduled {
    pub before: Order,
    pub after: Order,
}

#[derive(Debug, thiserror::Error)]
pub enum RescheduleError {
    #[error("order not found")]
    NotFound,
    /// Closed or refused meanwhile, or not this person's to move.
    #[error("this visit cannot be moved by this person now")]
    NotAllowed(Box<Order>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Moves a visit: the new arrival and moment, one more reschedule counted, the reminder due
/// again, and the audit row with both arrivals and the reason, in one IMMEDIATE transaction.
/// `then` runs in the same transaction (the messages it owes are queued there).
pub fn reschedule<F>(
    conn: &mut SqliteConnection,
    request: &Reschedule,
    now: NaiveDateTime,
    then: F,
) -> Result<Rescheduled, RescheduleError>
where
    F: FnOnce(&mut SqliteConnection, &Rescheduled) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let before = live(conn, request.order_id)?.ok_or(RescheduleError::NotFound)?;
        if !may_reschedule(&before.facts(), &request.actor) {
            return Err(RescheduleError::NotAllowed(Box::new(before)));
        }
        set_visit(conn, before.id, Some(&request.arrival), request.visit_at)?;
        diesel::update(orders_table::table.find(before.id))
            .set((
                orders_table::reschedule_count.eq(orders_table::reschedule_count + 1),
                // Moved on purpose: remind again even when the moment is the same.
                orders_table::visit_reminded_at.eq(None::<NaiveDateTime>),
                orders_table::updated_at.eq(now),
            ))
            .execute(conn)?;
        let details = Details::Rescheduled {
            old: before.scheduled_time.clone(),
            new: Some(request.arrival.clone()),
            old_at: before.visit_at,
            new_at: request.visit_at,
            reason: request.reason.clone(),
        };
        audit::record(
            conn,
            Some(request.actor.telegram_id),
            AuditAction::VisitRescheduled,
            Entity::Order(before.id),
            Some(details.to_json()),
            now,
        )?;
        let after = orders::get(conn, before.id)?.ok_or(RescheduleError::NotFound)?;
        let moved = Rescheduled { before, after };
        then(conn, &moved)?;
        Ok(moved)
    })
}

/// One reschedule of an order as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct RescheduleRow {
    pub at: NaiveDateTime,
    pub by: Option<TelegramId>,
    pub details: Option<String>,
}

/// The reschedules of an order, oldest first (through `idx_audit_log_entity`).
pub fn reschedules(
    conn: &mut SqliteConnection,
    order_id: OrderId,
) -> QueryResult<Vec<RescheduleRow>> {
    audit_log::table
        .filter(audit_log::entity_type.eq("order"))
        .filter(audit_log::entity_id.eq(order_id.0))
        .filter(audit_log::action.eq(AuditAction::VisitRescheduled))
        .order(audit_log::id)
        .select((
            audit_log::created_at,
            audit_log::user_id,
            audit_log::details,
        ))
        .load(conn)
}

/// Statuses whose visit is still ahead and someone may be reminded of it: the master's
/// (ASSIGNED, ACCEPTED, DR: the return visit), or the dispatchers' when nobody has it (NEW).
/// ONSITE is left out: he is there.
const VISIT_AHEAD: [OrderStatus; 4] = [
    OrderStatus::New,
    OrderStatus::Assigned,
    OrderStatus::Accepted,
    OrderStatus::Dr,
];

/// A visit due for its reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = orders_table, check_for_backend(diesel::sqlite::Sqlite))]
pub struct DueVisit {
    pub id: OrderId,
    pub status: OrderStatus,
    pub assigned_master_id: Option<MasterId>,
    pub visit_at: Option<NaiveDateTime>,
}

type DueVisitsQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<
        orders_table::table,
        diesel::dsl::AsSelect<DueVisit, diesel::sqlite::Sqlite>,
    >,
    diesel::sqlite::Sqlite,
>;

/// Visits after `now` and at or before `horizon`, not reminded of yet, of orders still
/// waiting for them; read through the partial index `idx_orders_visit_due` (its condition is
/// spelled as the index has it). A visit already past is never reminded of. The status is
/// compared as `status || ''`: without statistics SQLite would rather walk every open order
/// by status (`idx_orders_reminder_clock`) than the few visits of the next hours.
fn due_visits_query(now: NaiveDateTime, horizon: NaiveDateTime) -> DueVisitsQuery {
    let ahead: Vec<&str> = VISIT_AHEAD.iter().map(|s| s.as_str()).collect();
    orders_table::table
        .select(DueVisit::as_select())
        .filter(orders_table::visit_at.is_not_null())
        .filter(orders_table::visit_reminded_at.is_null())
        .filter(orders_table::visit_at.gt(now))
        .filter(orders_table::visit_at.le(horizon))
        .filter(orders_table::deleted_at.is_null())
        .filter(orders_table::status.concat("").eq_any(ahead))
        .into_boxed()
}

/// `EXPLAIN QUERY PLAN` of the query [`take_due_visits`] runs.
pub fn due_visits_plan(
    conn: &mut SqliteConnection,
    now: NaiveDateTime,
    horizon: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    super::plan::explain(conn, due_visits_query(now, horizon))
}

/// Finds the visits due for their reminder, marks them reminded and runs `then` with them
/// (soonest first), all in one IMMEDIATE transaction: a reminder is owed exactly once, and
/// a visit moved meanwhile is found with its new moment or not at all.
pub fn take_due_visits<F, T>(
    conn: &mut SqliteConnection,
    now: NaiveDateTime,
    horizon: NaiveDateTime,
    then: F,
) -> QueryResult<(Vec<DueVisit>, T)>
where
    F: FnOnce(&mut SqliteConnection, &[DueVisit]) -> QueryResult<T>,
{
    conn.immediate_transaction(|conn| {
        let due: Vec<DueVisit> = due_visits_query(now, horizon)
            .order((orders_table::visit_at, orders_table::id))
            .load(conn)?;
        let ids: Vec<OrderId> = due.iter().map(|visit| visit.id).collect();
        for chunk in ids.chunks(500) {
            diesel::update(orders_table::table.filter(orders_table::id.eq_any(chunk)))
                .set(orders_table::visit_reminded_at.eq(now))
                .execute(conn)?;
        }
        let done = then(conn, &due)?;
        Ok((due, done))
    })
}
