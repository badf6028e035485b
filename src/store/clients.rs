//! Clients as their orders know them: a phone that called before, with the name and address
//! given last time and the orders it had. Clients have no table of their own; every lookup
//! goes through `idx_orders_client_phone`. Soft-deleted orders count nowhere.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::ids::OrderId;
use crate::domain::status::OrderStatus;
use crate::schema::orders;

/// An earlier order of a client, as the intake lists it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = orders, check_for_backend(diesel::sqlite::Sqlite))]
pub struct PastOrder {
    pub id: OrderId,
    pub created_at: NaiveDateTime,
    pub equipment_type: String,
    pub status: OrderStatus,
    /// For a CLOSED order, when it was closed (CLOSED is final).
    pub status_changed_at: NaiveDateTime,
    pub client_name: String,
    pub client_address: String,
}

/// A phone seen before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownClient {
    /// The newest orders, newest first (the first gives the name and address to offer).
    pub recent: Vec<PastOrder>,
    /// Orders closed at or after the warranty cutoff, newest closing first: a call about
    /// them may be a warranty case.
    pub under_warranty: Vec<PastOrder>,
    /// Every order of the phone.
    pub total: i64,
}

impl KnownClient {
    /// The orders to list, newest first: the recent ones and any under warranty beyond them.
    pub fn listed(&self) -> Vec<&PastOrder> {
        let mut listed: Vec<&PastOrder> = self.recent.iter().collect();
        for order in &self.under_warranty {
            if !listed.iter().any(|o| o.id == order.id) {
                listed.push(order);
            }
        }
        listed.sort_by_key(|order| std::cmp::Reverse(order.id));
        listed
    }

    pub fn is_under_warranty(&self, id: OrderId) -> bool {
        self.under_warranty.iter().any(|order| order.id == id)
    }
}

type ByPhone<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<orders::table, diesel::dsl::Eq<orders::client_phone, &'a str>>,
    diesel::dsl::IsNull<orders::deleted_at>,
>;

fn by_phone(phone: &str) -> ByPhone<'_> {
    orders::table
        .filter(orders::client_phone.eq(phone))
        .filter(orders::deleted_at.is_null())
}

/// What is known of `phone` (normalised, `+7XXXXXXXXXX`): None for a new client. At most
/// `limit` recent orders and `limit` under warranty (closed at or after `warranty_since`).
/// Three index reads; a phone with thousands of orders is counted, not loaded.
pub fn known_client(
    conn: &mut SqliteConnection,
    phone: &str,
    limit: i64,
    warranty_since: NaiveDateTime,
) -> QueryResult<Option<KnownClient>> {
    let recent: Vec<PastOrder> = by_phone(phone)
        .order(orders::id.desc())
        .limit(limit)
        .select(PastOrder::as_select())
        .load(conn)?;
    if recent.is_empty() {
        return Ok(None);
    }
    let total = if (recent.len() as i64) < limit {
        recent.len() as i64
    } else {
        by_phone(phone).count().get_result(conn)?
    };
    let under_warranty = warranty_query(phone, limit, warranty_since).load(conn)?;
    Ok(Some(KnownClient {
        recent,
        under_warranty,
        total,
    }))
}

/// `EXPLAIN QUERY PLAN` of the queries of [`known_client`]: recent, count, warranty.
pub fn known_client_plan(
    conn: &mut SqliteConnection,
    phone: &str,
    limit: i64,
    warranty_since: NaiveDateTime,
) -> QueryResult<Vec<Vec<String>>> {
    use super::plan::explain;
    Ok(vec![
        explain(
            conn,
            by_phone(phone)
                .order(orders::id.desc())
                .limit(limit)
                .select(PastOrder::as_select()),
        )?,
        explain(conn, by_phone(phone).count())?,
        explain(conn, warranty_query(phone, limit, warranty_since))?,
    ])
}

/// The phone's orders closed at or after `since`, newest closing first. The status is
/// compared as `status || ''` so that SQLite walks the phone's few orders through
/// `idx_orders_client_phone`: without statistics (no ANALYZE) it would rather range over
/// `idx_orders_status` (status, status_changed_at), every order the company closed lately.
fn warranty_query(phone: &str, limit: i64, since: NaiveDateTime) -> WarrantyQuery<'_> {
    orders::table
        .select(PastOrder::as_select())
        .filter(orders::client_phone.eq(phone))
        .filter(orders::deleted_at.is_null())
        .filter(orders::status.concat("").eq(OrderStatus::Closed.as_str()))
        .filter(orders::status_changed_at.ge(since))
        .order(orders::status_changed_at.desc())
        .limit(limit)
        .into_boxed()
}

type WarrantyQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<orders::table, diesel::dsl::AsSelect<PastOrder, diesel::sqlite::Sqlite>>,
    diesel::sqlite::Sqlite,
>;

/// The client's name and address as order `id` has them, if that order is `phone`'s and not
/// deleted (a press on an offer re-reads them: nothing in callback data is trusted).
pub fn name_and_address(
    conn: &mut SqliteConnection,
    id: OrderId,
    phone: &str,
) -> QueryResult<Option<(String, String)>> {
    by_phone(phone)
        .filter(orders::id.eq(id))
        .select((orders::client_name, orders::client_address))
        .first(conn)
        .optional()
}
