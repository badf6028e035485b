//! Orders: intake, and every status change through the one state machine
//! (`domain::status::decide`), written together with its status-history and audit rows.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel::sqlite::Sqlite;

use super::audit::{self, AuditAction, Entity};
use super::masters;
use crate::domain::history::{ClosedMoney, Details, MasterRef};
use crate::domain::ids::{MasterId, OrderId, TelegramId};
use crate::domain::money::{Amounts, Breakdown, Job, Kopecks, MoneyError, PayRules, Payment};
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
    pub out_of_city: bool,
    pub payment: Option<Payment>,
    pub cash_due_kopecks: Option<Kopecks>,
    pub prepayment_kopecks: Option<Kopecks>,
    pub expected_ready_on: Option<NaiveDate>,
    pub parts_note: Option<String>,
    pub visit_at: Option<NaiveDateTime>,
    pub visit_reminded_at: Option<NaiveDateTime>,
    pub reschedule_count: i32,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<TelegramId>,
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

/// Money of a closed order, in kopecks (split by `domain::money::PayRules`): the columns a
/// closing or a correction sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = orders, check_for_backend(diesel::sqlite::Sqlite))]
struct ClosingMoney {
    #[diesel(column_name = total_kopecks)]
    total: Kopecks,
    #[diesel(column_name = materials_kopecks)]
    materials: Kopecks,
    #[diesel(column_name = master_share_kopecks)]
    master_share: Kopecks,
    #[diesel(column_name = company_share_kopecks)]
    company_share: Kopecks,
    has_review: bool,
    payment: Payment,
    #[diesel(column_name = cash_due_kopecks)]
    cash_due: Kopecks,
}

impl From<&Breakdown> for ClosingMoney {
    fn from(b: &Breakdown) -> Self {
        ClosingMoney {
            total: b.total,
            materials: b.materials,
            master_share: b.master,
            company_share: b.company,
            has_review: b.has_review,
            payment: b.payment,
            cash_due: b.cash_due,
        }
    }
}

/// What closing an order needs: the amounts as reported and the rules that split them. The
/// split itself happens inside the move's transaction, from the order and master as they are.
#[derive(Debug, Clone)]
pub struct Closing {
    pub amounts: Amounts,
    pub rules: PayRules,
}

/// What a long repair records besides the parts it waits for (the move's reason).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LongRepairPlan {
    pub ready_on: Option<NaiveDate>,
    pub prepayment: Option<Kopecks>,
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

/// The order, unless it is soft-deleted: a deleted order counts nowhere, so whatever reads
/// an order by its number (cards, buttons, moves, edits, alerts) finds nothing. Admins see a
/// deleted one through [`get_deleted`].
pub fn get(conn: &mut SqliteConnection, id: OrderId) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .filter(orders::deleted_at.is_null())
        .select(Order::as_select())
        .first(conn)
        .optional()
}

/// A soft-deleted order (its `deleted_at` and `deleted_by` say when and by whom); None when
/// it is not deleted (or not there).
pub fn get_deleted(conn: &mut SqliteConnection, id: OrderId) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .filter(orders::deleted_at.is_not_null())
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
    pub closing: Option<Closing>,
    /// The date and prepayment of a long repair.
    pub long_repair: Option<LongRepairPlan>,
}

impl Move {
    /// A move with nothing but its action (no reason, money or plan).
    pub fn new(order_id: OrderId, actor: Actor, action: Action) -> Move {
        Move {
            order_id,
            actor,
            action,
            seen_status: None,
            reason: None,
            closing: None,
            long_repair: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Moved {
    pub before: Order,
    pub after: Order,
    /// The split, when the move closed the order.
    pub breakdown: Option<Breakdown>,
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
    Money(#[from] MoneyError),
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
        let breakdown = match request.action {
            Action::Close => {
                let closing = request.closing.as_ref().ok_or(MoveError::MoneyMissing)?;
                Some(split(conn, &before, closing)?)
            }
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
        if let Some(breakdown) = &breakdown {
            diesel::update(target)
                .set(ClosingMoney::from(breakdown))
                .execute(conn)?;
        }
        if let (Action::LongRepair, Some(plan)) = (request.action, request.long_repair) {
            diesel::update(target)
                .set((
                    orders::parts_note.eq(request.reason.as_deref()),
                    orders::expected_ready_on.eq(plan.ready_on),
                    orders::prepayment_kopecks.eq(plan.prepayment),
                ))
                .execute(conn)?;
        }

        let (audit_action, details) = describe(conn, &before, request, breakdown.as_ref())?;
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
        let moved = Moved {
            before,
            after,
            breakdown,
        };
        then(conn, &moved)?;
        Ok(moved)
    })
}

/// An admin corrects a closed order's money: split again by today's rules with the order's
/// facts and master as they are now; the closing date stays (reports count the order where it
/// was closed). Both splits go to the history and the audit log; `then` runs in the same
/// transaction (the master and the dispatcher are told). Only a CLOSED order has money to
/// correct: any other is returned as [`MoveError::Stale`].
pub fn correct_money<F>(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    by: TelegramId,
    closing: &Closing,
    now: NaiveDateTime,
    then: F,
) -> Result<Moved, MoveError>
where
    F: FnOnce(&mut SqliteConnection, &Moved) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let before = get(conn, order_id)?.ok_or(MoveError::NotFound)?;
        if before.status() != OrderStatus::Closed {
            return Err(MoveError::Stale(Box::new(before)));
        }
        let breakdown = split(conn, &before, closing)?;
        diesel::update(orders::table.find(order_id))
            .set((ClosingMoney::from(&breakdown), orders::updated_at.eq(now)))
            .execute(conn)?;
        let details = Details::MoneyCorrected {
            old: closed_money(&before),
            new: ClosedMoney {
                total: breakdown.total.get(),
                materials: breakdown.materials.get(),
                master_share: breakdown.master.get(),
                company_share: breakdown.company.get(),
                review: breakdown.has_review,
            },
        }
        .to_json();
        let closed = Some(OrderStatus::Closed);
        write_history(
            conn,
            order_id,
            closed,
            OrderStatus::Closed,
            by,
            Some(details.clone()),
            now,
        )?;
        audit::record(
            conn,
            Some(by),
            AuditAction::OrderMoneyCorrected,
            Entity::Order(order_id),
            Some(details),
            now,
        )?;
        let after = get(conn, order_id)?.ok_or(MoveError::NotFound)?;
        let moved = Moved {
            before,
            after,
            breakdown: Some(breakdown),
        };
        then(conn, &moved)?;
        Ok(moved)
    })
}

fn closed_money(order: &Order) -> ClosedMoney {
    let kopecks = |k: Option<Kopecks>| k.unwrap_or_default().get();
    ClosedMoney {
        total: kopecks(order.total_kopecks),
        materials: kopecks(order.materials_kopecks),
        master_share: kopecks(order.master_share_kopecks),
        company_share: kopecks(order.company_share_kopecks),
        review: order.has_review,
    }
}

/// Marks an open order as a job outside the city (or not), audited with both values.
pub fn set_out_of_city(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    by: TelegramId,
    out_of_city: bool,
    now: NaiveDateTime,
) -> QueryResult<Option<Order>> {
    conn.immediate_transaction(|conn| {
        let Some(before) = get(conn, order_id)? else {
            return Ok(None);
        };
        if !before.status().is_open() || before.out_of_city == out_of_city {
            return Ok(Some(before));
        }
        diesel::update(orders::table.find(order_id))
            .set((
                orders::out_of_city.eq(out_of_city),
                orders::updated_at.eq(now),
            ))
            .execute(conn)?;
        let details = Details::Edited {
            field: "out_of_city".into(),
            old: Some(before.out_of_city.to_string()),
            new: Some(out_of_city.to_string()),
        };
        audit::record(
            conn,
            Some(by),
            AuditAction::OrderOutOfCity,
            Entity::Order(order_id),
            Some(details.to_json()),
            now,
        )?;
        get(conn, order_id)
    })
}

/// Splits the money of `order` by the rules, with its master's seniority as it is now.
fn split(
    conn: &mut SqliteConnection,
    order: &Order,
    closing: &Closing,
) -> Result<Breakdown, MoveError> {
    let senior_master = match order.assigned_master_id {
        Some(id) => masters::by_id(conn, id)?.is_some_and(|m| m.is_senior),
        None => false,
    };
    let job = Job {
        equipment_type: &order.equipment_type,
        out_of_city: order.out_of_city,
        senior_master,
        prepayment: order.prepayment_kopecks.unwrap_or_default(),
    };
    Ok(closing.rules.split(closing.amounts, &job)?)
}

/// The audit action and the note kept with the history row and the audit row: the JSON of
/// [`Details`] (masters with their names as of now, money in kopecks), or the reason as typed.
fn describe(
    conn: &mut SqliteConnection,
    before: &Order,
    request: &Move,
    money: Option<&Breakdown>,
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
                    master_share: m.master.get(),
                    company_share: m.company.get(),
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
        .filter(orders::deleted_at.is_null())
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
            .filter(orders::deleted_at.is_null())
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
        .filter(orders::deleted_at.is_null())
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

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// No such order, or (deleting) it is deleted already, or (restoring) it is not deleted.
    #[error("order not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Soft-deletes an order in any status: it keeps its row, history and money, and from now on
/// is in no list, search, report or periodic job ([`get`] no longer finds it). Audited;
/// `then` runs in the same transaction with the order as it was.
pub fn soft_delete<F>(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    by: TelegramId,
    now: NaiveDateTime,
    then: F,
) -> Result<Order, DeleteError>
where
    F: FnOnce(&mut SqliteConnection, &Order) -> QueryResult<()>,
{
    set_deleted(conn, order_id, by, true, now, then)
}

/// Brings a soft-deleted order back as it was (status, master, money). Audited; `then` runs
/// in the same transaction with the order restored.
pub fn undelete<F>(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    by: TelegramId,
    now: NaiveDateTime,
    then: F,
) -> Result<Order, DeleteError>
where
    F: FnOnce(&mut SqliteConnection, &Order) -> QueryResult<()>,
{
    set_deleted(conn, order_id, by, false, now, then)
}

/// Deletes (`deleted`) an order that is not deleted, or restores one that is; `then` gets the
/// order as staff last saw it in the lists: before a deletion, after a restore.
fn set_deleted<F>(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    by: TelegramId,
    deleted: bool,
    now: NaiveDateTime,
    then: F,
) -> Result<Order, DeleteError>
where
    F: FnOnce(&mut SqliteConnection, &Order) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let found = if deleted {
            get(conn, order_id)?
        } else {
            get_deleted(conn, order_id)?
        };
        let before = found.ok_or(DeleteError::NotFound)?;
        diesel::update(orders::table.find(order_id))
            .set((
                orders::deleted_at.eq(deleted.then_some(now)),
                orders::deleted_by.eq(deleted.then_some(by)),
                orders::updated_at.eq(now),
            ))
            .execute(conn)?;
        let action = if deleted {
            AuditAction::OrderDeleted
        } else {
            AuditAction::OrderUndeleted
        };
        audit::record(conn, Some(by), action, Entity::Order(order_id), None, now)?;
        let order = if deleted {
            before
        } else {
            get(conn, order_id)?.ok_or(DeleteError::NotFound)?
        };
        then(conn, &order)?;
        Ok(order)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    #[error("order not found")]
    NotFound,
    /// The order is no longer the one on the card: another status, or no master.
    #[error("the order has changed")]
    Stale(Box<Order>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// The statuses in which staff may send the client's phone to the master ahead of time: he
/// has the order but is not on site yet (from ONSITE on his card shows it anyway).
pub const PHONE_REVEALABLE: [OrderStatus; 2] = [OrderStatus::Assigned, OrderStatus::Accepted];

/// Staff send the client's phone to the order's master before he is on site ("the client is
/// waiting for your call"): allowed while the order is still in `seen`, one of
/// [`PHONE_REVEALABLE`], with a master. Audited (who, when, which order, to which master);
/// `then` queues the master's message in the same transaction.
pub fn reveal_phone<F>(
    conn: &mut SqliteConnection,
    order_id: OrderId,
    seen: OrderStatus,
    by: TelegramId,
    now: NaiveDateTime,
    then: F,
) -> Result<(Order, masters::Master, super::users::User), RevealError>
where
    F: FnOnce(
        &mut SqliteConnection,
        &Order,
        &masters::Master,
        &super::users::User,
    ) -> QueryResult<()>,
{
    conn.immediate_transaction(|conn| {
        let order = get(conn, order_id)?.ok_or(RevealError::NotFound)?;
        let status = order.status();
        if status != seen || !PHONE_REVEALABLE.contains(&status) {
            return Err(RevealError::Stale(Box::new(order)));
        }
        let master = match order.assigned_master_id {
            Some(master_id) => masters::with_user(conn, master_id)?,
            None => None,
        };
        let Some((master, user)) = master else {
            return Err(RevealError::Stale(Box::new(order)));
        };
        let to = MasterRef::new(master.id, Some(user.display_name()));
        audit::record(
            conn,
            Some(by),
            AuditAction::ClientPhoneRevealed,
            Entity::Order(order_id),
            serde_json::to_string(&to).ok(),
            now,
        )?;
        then(conn, &order, &master, &user)?;
        Ok((order, master, user))
    })
}

/// Takes every open order off `master` back to NEW, without a master: what firing him does
/// (see `masters::fire`). This is an administrative act outside the state machine's table
/// (an order on site goes back too, which no button does), written as an unassign is: the
/// order row, a history row and an audit row each. Deleted orders go back too, so that a
/// restore never brings one assigned to him; the orders returned (by id) are those not
/// deleted. Call inside the firing transaction.
pub(crate) fn return_to_new(
    conn: &mut SqliteConnection,
    master: &MasterRef,
    by: TelegramId,
    now: NaiveDateTime,
) -> QueryResult<Vec<Order>> {
    let open: Vec<&str> = OrderStatus::ALL
        .iter()
        .filter(|s| s.is_open() && **s != OrderStatus::New)
        .map(|s| s.as_str())
        .collect();
    let taken: Vec<(OrderId, OrderStatus)> = orders::table
        .filter(orders::assigned_master_id.eq(master.id))
        .filter(orders::status.eq_any(open))
        .select((orders::id, orders::status))
        .order(orders::id)
        .load(conn)?;
    let details = Details::Unassigned {
        master: master.clone(),
    }
    .to_json();
    let mut returned = Vec::new();
    for (order_id, from) in taken {
        diesel::update(orders::table.find(order_id))
            .set((
                orders::status.eq(OrderStatus::New),
                orders::assigned_master_id.eq(None::<MasterId>),
                orders::status_changed_at.eq(now),
                orders::updated_at.eq(now),
                orders::reminders_sent.eq(0),
                orders::last_reminded_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        write_history(
            conn,
            order_id,
            Some(from),
            OrderStatus::New,
            by,
            Some(details.clone()),
            now,
        )?;
        audit::record(
            conn,
            Some(by),
            AuditAction::OrderUnassigned,
            Entity::Order(order_id),
            Some(details.clone()),
            now,
        )?;
        returned.extend(get(conn, order_id)?);
    }
    Ok(returned)
}
