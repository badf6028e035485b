//! Report figures (SPEC 2.6): per master, per equipment type, per status, one master's own
//! statistics, and the daily summary.
//!
//! Which orders a period holds: every function taking `from, to` (UTC, half-open `[from, to)`,
//! see `domain::period::utc_range`, which turns the company's local days into UTC) counts two
//! things in [`Figures`]:
//! * `orders`: the orders **created** in the range, whatever their status now;
//! * `closed`, `refused`, the money (`total`, `materials`, the shares) and `reviews`: the
//!   orders that **entered** CLOSED or REFUSED in the range and are in that status now, by
//!   `status_changed_at` (CLOSED is final, so for a closed order it is the closing moment;
//!   a refused order counts on the day of its latest refusal). An order made yesterday and
//!   closed today is in today's money, not yesterday's.
//!
//! So a line holds the orders created in the range or finished in it. [`per_status`] counts
//! the orders created in the range by their status now. [`daily_summary`] reports orders
//! created in the range, orders finished in it, and the open orders as they stand now.
//!
//! Orders are attributed to the master assigned to them now (for a closed order: the master
//! who closed it). Money is integer kopecks summed by SQLite's integer arithmetic: exact, and
//! an overflow is an error, never a rounded float.
//!
//! Soft-deleted orders (`deleted_at` set) count nowhere: every query here leaves them out.
//!
//! Indexes: `idx_orders_created_at (created_at)` for the created orders,
//! `idx_orders_status (status, status_changed_at)` for the finished ones; SQLite answers the
//! `OR` of the two with both indexes (see [`plan`]).

use std::iter::Sum;
use std::ops::{Add, Sub};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::domain::ids::MasterId;
use crate::domain::money::{self, Kopecks};
use crate::domain::status::OrderStatus;

/// The aggregate columns of [`Figures`] over rows of `orders o` that are already restricted to
/// one set (the daily summary's finished orders): every row counts in `orders`.
const FIGURES: &str = "COUNT(*) AS orders, \
    COALESCE(SUM(o.status = 'CLOSED'), 0) AS closed, \
    COALESCE(SUM(o.status = 'REFUSED'), 0) AS refused, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.total_kopecks END), 0) AS total, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.materials_kopecks END), 0) AS materials, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.master_share_kopecks END), 0) AS master_share, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.company_share_kopecks END), 0) AS company_share, \
    COALESCE(SUM(o.status = 'CLOSED' AND o.has_review), 0) AS reviews, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.cash_due_kopecks END), 0) AS cash_due";

/// The aggregate columns of [`Figures`] for a period `[?1, ?2)` (see the module doc): orders
/// by creation, the outcome and the money by the moment the order was closed or refused.
/// Used with [`IN_PERIOD`] as the filter.
const PERIOD_FIGURES: &str = "\
    COALESCE(SUM(o.created_at >= ?1 AND o.created_at < ?2), 0) AS orders, \
    COALESCE(SUM(o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2), 0) AS closed, \
    COALESCE(SUM(o.status = 'REFUSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2), 0) AS refused, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 THEN o.total_kopecks END), 0) AS total, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 THEN o.materials_kopecks END), 0) AS materials, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 THEN o.master_share_kopecks END), 0) AS master_share, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 THEN o.company_share_kopecks END), 0) AS company_share, \
    COALESCE(SUM(o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 AND o.has_review), 0) AS reviews, \
    COALESCE(SUM(CASE WHEN o.status = 'CLOSED' AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 THEN o.cash_due_kopecks END), 0) AS cash_due";

/// The orders of a period `[?1, ?2)`: created in it, or closed or refused in it, and not
/// deleted. Each side of the OR has its index, so SQLite reads only these rows.
const IN_PERIOD: &str = "(o.deleted_at IS NULL AND ((o.created_at >= ?1 AND o.created_at < ?2) \
    OR (o.status IN ('CLOSED', 'REFUSED') \
        AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2)))";

/// Counts and money of a set of orders; money in kopecks, of the CLOSED orders only. In a
/// period report: `orders` by creation, the rest by closing (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct Figures {
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = BigInt)]
    pub closed: i64,
    #[diesel(sql_type = BigInt)]
    pub refused: i64,
    /// What clients paid, kopecks.
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub materials: i64,
    #[diesel(sql_type = BigInt)]
    pub master_share: i64,
    #[diesel(sql_type = BigInt)]
    pub company_share: i64,
    /// Closed orders whose client left a review.
    #[diesel(sql_type = BigInt)]
    pub reviews: i64,
    /// What the masters owe the company from the cash they took (negative: the company owes
    /// them), kopecks; orders closed before the bot counted it add nothing.
    #[diesel(sql_type = BigInt)]
    pub cash_due: i64,
}

impl Figures {
    /// Total minus materials, kopecks; equals master share plus company share.
    pub fn net(&self) -> i64 {
        self.total - self.materials
    }

    /// Average paid per closed order, kopecks, rounded half up to the kopeck
    /// ([`money::average`]); 0 when nothing was closed.
    pub fn average_check(&self) -> i64 {
        money::average(Kopecks(self.total), self.closed).get()
    }
}

impl Add for Figures {
    type Output = Figures;
    fn add(self, other: Figures) -> Figures {
        Figures {
            orders: self.orders + other.orders,
            closed: self.closed + other.closed,
            refused: self.refused + other.refused,
            total: self.total + other.total,
            materials: self.materials + other.materials,
            master_share: self.master_share + other.master_share,
            company_share: self.company_share + other.company_share,
            reviews: self.reviews + other.reviews,
            cash_due: self.cash_due + other.cash_due,
        }
    }
}

impl Sub for Figures {
    type Output = Figures;
    fn sub(self, other: Figures) -> Figures {
        Figures {
            orders: self.orders - other.orders,
            closed: self.closed - other.closed,
            refused: self.refused - other.refused,
            total: self.total - other.total,
            materials: self.materials - other.materials,
            master_share: self.master_share - other.master_share,
            company_share: self.company_share - other.company_share,
            reviews: self.reviews - other.reviews,
            cash_due: self.cash_due - other.cash_due,
        }
    }
}

impl Sum for Figures {
    fn sum<I: Iterator<Item = Figures>>(iter: I) -> Figures {
        iter.fold(Figures::default(), Add::add)
    }
}

/// One master's line: the orders of the period (created, closed or refused in it) assigned
/// to them now.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MasterLine {
    /// `masters.id`.
    #[diesel(sql_type = BigInt)]
    pub master_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub first_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_name: Option<String>,
    #[diesel(embed)]
    pub figures: Figures,
}

impl MasterLine {
    /// First and last name as known from `users`; empty when neither is.
    pub fn name(&self) -> String {
        super::users::full_name(self.first_name.as_deref(), self.last_name.as_deref())
    }
}

/// One equipment type's line.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct EquipmentLine {
    #[diesel(sql_type = Text)]
    pub equipment_type: String,
    #[diesel(embed)]
    pub figures: Figures,
}

/// How many orders have a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLine {
    pub status: OrderStatus,
    pub orders: i64,
}

/// Everything a period report shows, read in one transaction so the parts agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Masters with at least one order created, closed or refused in the period, by
    /// `masters.id`.
    pub masters: Vec<MasterLine>,
    /// Equipment types with at least one order created, closed or refused in the period.
    pub equipment: Vec<EquipmentLine>,
    /// The orders created in the period by their status now: all seven statuses in life
    /// order ([`OrderStatus::ALL`]), zeros included.
    pub statuses: Vec<StatusLine>,
    /// The orders of the period in no master's line (no master assigned): `totals` minus
    /// the sum of `masters`, so the master lines plus this always add up to `totals`.
    pub unassigned: Figures,
    /// All orders of the period, with or without a master; the sum of `equipment` too.
    pub totals: Figures,
}

/// Masters with at least one order created, closed or refused in `[from, to)` and assigned to
/// them now, by `masters.id`. Orders without a master (NEW) are in no line; see [`totals`].
pub fn per_master(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<MasterLine>> {
    sql_query(format!(
        "SELECT m.id AS master_id, u.first_name, u.last_name, {PERIOD_FIGURES} \
         FROM orders o JOIN masters m ON m.id = o.assigned_master_id \
         LEFT JOIN users u ON u.telegram_id = m.telegram_id \
         WHERE {IN_PERIOD} \
         GROUP BY m.id ORDER BY m.id"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .load(conn)
}

/// Equipment types with at least one order created, closed or refused in `[from, to)`, by
/// name.
pub fn per_equipment(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<EquipmentLine>> {
    sql_query(format!(
        "SELECT o.equipment_type, {PERIOD_FIGURES} FROM orders o \
         WHERE {IN_PERIOD} \
         GROUP BY o.equipment_type ORDER BY o.equipment_type"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .load(conn)
}

/// Orders created in `[from, to)` by their status now: all seven statuses in life order,
/// zeros included.
pub fn per_status(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<StatusLine>> {
    let counts: Vec<StatusCount> = sql_query(
        "SELECT status, COUNT(*) AS orders FROM orders \
         WHERE created_at >= ? AND created_at < ? AND deleted_at IS NULL GROUP BY status",
    )
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .load(conn)?;
    every_status(counts, OrderStatus::ALL.into_iter())
}

/// All orders of `[from, to)` (created, closed or refused in it), with or without a master.
pub fn totals(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Figures> {
    sql_query(format!(
        "SELECT {PERIOD_FIGURES} FROM orders o WHERE {IN_PERIOD}"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .get_result(conn)
}

/// A master's own statistics: the orders of `[from, to)` (created, closed or refused in it)
/// assigned to master `master_id` (`masters.id`, not the Telegram id) now. All zeros when
/// there are none.
pub fn master_stats(
    conn: &mut SqliteConnection,
    master_id: MasterId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Figures> {
    sql_query(format!(
        "SELECT {PERIOD_FIGURES} FROM orders o \
         WHERE o.assigned_master_id = ?3 AND {IN_PERIOD}"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .bind::<BigInt, _>(master_id)
    .get_result(conn)
}

/// SQLite's `EXPLAIN QUERY PLAN` of the period filter ([`totals`]' statement), one `detail`
/// line per step: tests check it reads the two indexes, not the whole table.
pub fn plan(conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let epoch = NaiveDateTime::default();
    let steps: Vec<Step> = sql_query(format!(
        "EXPLAIN QUERY PLAN SELECT {PERIOD_FIGURES} FROM orders o WHERE {IN_PERIOD}"
    ))
    .bind::<Timestamp, _>(epoch)
    .bind::<Timestamp, _>(epoch)
    .load(conn)?;
    Ok(steps.into_iter().map(|s| s.detail).collect())
}

/// The whole period report, read in one transaction.
pub fn report(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Report> {
    conn.transaction(|conn| {
        let masters = per_master(conn, from, to)?;
        let totals = totals(conn, from, to)?;
        let assigned: Figures = masters.iter().map(|line| line.figures).sum();
        Ok(Report {
            unassigned: totals - assigned,
            equipment: per_equipment(conn, from, to)?,
            statuses: per_status(conn, from, to)?,
            masters,
            totals,
        })
    })
}

/// The daily summary: what came in, what is open, what was finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailySummary {
    /// Orders created in `[from, to)`, whatever their status now.
    pub created: i64,
    /// Open orders now (any creation time), per open status in life order, zeros included.
    pub open_now: Vec<StatusLine>,
    /// Orders that are CLOSED or REFUSED now and entered that status in `[from, to)`:
    /// `orders` = `closed` + `refused`; money and reviews of the closed ones.
    pub finished: Figures,
}

/// New orders created in `[from, to)`, open orders now, and orders closed or refused in
/// `[from, to)` (by `status_changed_at`) with their money; read in one transaction.
pub fn daily_summary(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<DailySummary> {
    conn.transaction(|conn| {
        let created: Count = sql_query(
            "SELECT COUNT(*) AS orders FROM orders \
             WHERE created_at >= ? AND created_at < ? AND deleted_at IS NULL",
        )
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .get_result(conn)?;
        let open: Vec<StatusCount> = sql_query(
            "SELECT status, COUNT(*) AS orders FROM orders \
             WHERE status NOT IN ('CLOSED', 'REFUSED') AND deleted_at IS NULL GROUP BY status",
        )
        .load(conn)?;
        let finished: Figures = sql_query(format!(
            "SELECT {FIGURES} FROM orders o \
             WHERE o.status IN ('CLOSED', 'REFUSED') AND o.deleted_at IS NULL \
               AND o.status_changed_at >= ? AND o.status_changed_at < ?"
        ))
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .get_result(conn)?;
        Ok(DailySummary {
            created: created.orders,
            open_now: every_status(open, open_statuses())?,
            finished,
        })
    })
}

fn open_statuses() -> impl Iterator<Item = OrderStatus> {
    OrderStatus::ALL.into_iter().filter(|s| s.is_open())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    orders: i64,
}

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    orders: i64,
}

/// One line per status of `statuses`, in that order, with the counts found (0 otherwise).
/// A stored status outside the seven (the CHECK constraint forbids it) is an error.
fn every_status(
    counts: Vec<StatusCount>,
    statuses: impl Iterator<Item = OrderStatus>,
) -> QueryResult<Vec<StatusLine>> {
    let mut lines: Vec<StatusLine> = statuses
        .map(|status| StatusLine { status, orders: 0 })
        .collect();
    for count in counts {
        let status: OrderStatus = count
            .status
            .parse()
            .map_err(|e| DieselError::DeserializationError(Box::new(e)))?;
        if let Some(line) = lines.iter_mut().find(|l| l.status == status) {
            line.orders += count.orders;
        }
    }
    Ok(lines)
}

/// One closed order of a period as the report's lines show it; money in kopecks (0 where an
/// order closed before the bot kept that figure).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ClosedLine {
    pub id: i64,
    /// When it was closed (UTC).
    pub closed_at: NaiveDateTime,
    /// `masters.id`; its name is in [`master_names`].
    pub master_id: Option<i64>,
    pub equipment_type: String,
    pub client_address: String,
    pub total: Option<i64>,
    pub materials: Option<i64>,
    pub master_share: Option<i64>,
    pub company_share: Option<i64>,
    pub cash_due: Option<i64>,
    pub prepayment: Option<i64>,
    /// `CASH` or `CASHLESS`; None for orders closed before the bot asked.
    pub payment: Option<String>,
    pub has_review: bool,
    pub out_of_city: bool,
}

/// One open order as the active-orders export shows it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ActiveLine {
    pub id: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    /// `masters.id`; its name is in [`master_names`].
    pub master_id: Option<i64>,
    pub equipment_type: String,
    pub client_name: String,
    pub client_address: String,
    /// The arrival as read from the dispatcher's text (UTC), when it could be read.
    pub visit_at: Option<NaiveDateTime>,
    /// The arrival as typed.
    pub scheduled_time: Option<String>,
    pub expected_ready_on: Option<chrono::NaiveDate>,
}

/// Every master's name by `masters.id` (empty when `users` does not know it): read once for a
/// file instead of joined into each of its lines.
pub fn master_names(
    conn: &mut SqliteConnection,
) -> QueryResult<std::collections::HashMap<i64, String>> {
    Ok(super::masters::all(conn)?
        .into_iter()
        .map(|(master, user)| {
            let name =
                super::users::full_name(user.first_name.as_deref(), user.last_name.as_deref());
            (master.id.0, name)
        })
        .collect())
}

/// Lines read from the database at a time by [`each_closed_line`] and [`each_active_line`].
const PAGE: i64 = 2_000;

/// Calls `line` with each order closed in `[from, to)` (of master `master` only, when given),
/// by closing time then number. Read a page at a time, so that a month of a busy company never
/// sits in memory at once; each page walks `idx_orders_status (status, status_changed_at)`
/// from where the last one stopped.
pub fn each_closed_line<E: From<DieselError>>(
    conn: &mut SqliteConnection,
    range: (NaiveDateTime, NaiveDateTime),
    master: Option<MasterId>,
    mut line: impl FnMut(&ClosedLine) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = None;
    loop {
        let page = closed_lines(conn, range, master, after)?;
        page.iter().try_for_each(&mut line)?;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some((last.closed_at, last.id)),
            _ => return Ok(()),
        }
    }
}

/// Calls `line` with each open order (not deleted), by status in life order, then number; a
/// page at a time on `idx_orders_status_id (status, id)`.
pub fn each_active_line<E: From<DieselError>>(
    conn: &mut SqliteConnection,
    mut line: impl FnMut(&ActiveLine) -> Result<(), E>,
) -> Result<(), E> {
    for status in OrderStatus::ALL.into_iter().filter(|s| s.is_open()) {
        let mut after = i64::MIN;
        loop {
            let page = active_lines(conn, status, after)?;
            page.iter().try_for_each(&mut line)?;
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = last.id,
                _ => break,
            }
        }
    }
    Ok(())
}

/// A page of [`each_closed_line`]: after `after` (the last line of the previous page).
fn closed_lines(
    conn: &mut SqliteConnection,
    (from, to): (NaiveDateTime, NaiveDateTime),
    master: Option<MasterId>,
    after: Option<(NaiveDateTime, i64)>,
) -> QueryResult<Vec<ClosedLine>> {
    use crate::schema::orders::dsl as o;
    let (after_at, after_id) = after.unwrap_or((from, i64::MIN));
    let mut query = o::orders
        .filter(o::status.eq(OrderStatus::Closed.as_str()))
        .filter(o::deleted_at.is_null())
        .filter(o::status_changed_at.ge(from))
        .filter(o::status_changed_at.lt(to))
        .filter(
            o::status_changed_at
                .gt(after_at)
                .or(o::status_changed_at.eq(after_at).and(o::id.gt(after_id))),
        )
        .select((
            o::id,
            o::status_changed_at,
            o::assigned_master_id,
            o::equipment_type,
            o::client_address,
            o::total_kopecks,
            o::materials_kopecks,
            o::master_share_kopecks,
            o::company_share_kopecks,
            o::cash_due_kopecks,
            o::prepayment_kopecks,
            o::payment,
            o::has_review,
            o::out_of_city,
        ))
        .order((o::status_changed_at, o::id))
        .limit(PAGE)
        .into_boxed();
    if let Some(master) = master {
        query = query.filter(o::assigned_master_id.eq(master.0));
    }
    query.load(conn)
}

/// A page of [`each_active_line`]: orders of `status` after order `after`.
fn active_lines(
    conn: &mut SqliteConnection,
    status: OrderStatus,
    after: i64,
) -> QueryResult<Vec<ActiveLine>> {
    use crate::schema::orders::dsl as o;
    o::orders
        .filter(o::status.eq(status.as_str()))
        .filter(o::id.gt(after))
        .filter(o::deleted_at.is_null())
        .select((
            o::id,
            o::status,
            o::created_at,
            o::assigned_master_id,
            o::equipment_type,
            o::client_name,
            o::client_address,
            o::visit_at,
            o::scheduled_time,
            o::expected_ready_on,
        ))
        .order(o::id)
        .limit(PAGE)
        .load(conn)
}

/// Masters with at least one order closed in `[from, to)`, with their figures: who gets a
/// monthly statement. Fired masters are left out (the bot no longer writes to them).
pub fn masters_with_closings(
    conn: &mut SqliteConnection,
    (from, to): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Vec<MasterLine>> {
    sql_query(format!(
        "SELECT m.id AS master_id, u.first_name, u.last_name, {PERIOD_FIGURES} \
         FROM orders o JOIN masters m ON m.id = o.assigned_master_id \
         LEFT JOIN users u ON u.telegram_id = m.telegram_id \
         WHERE o.status = 'CLOSED' AND o.deleted_at IS NULL \
           AND o.status_changed_at >= ?1 AND o.status_changed_at < ?2 AND m.fired_at IS NULL \
         GROUP BY m.id ORDER BY m.id"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .load(conn)
}
