//! Report figures over orders created in a period: per master and per status. Money sums are
//! integer kopecks added by SQLite's integer arithmetic (exact).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

/// One master's line (orders assigned to them and created in the period).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MasterLine {
    #[diesel(sql_type = BigInt)]
    pub master_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub first_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_name: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = BigInt)]
    pub closed: i64,
    #[diesel(sql_type = BigInt)]
    pub refused: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    #[diesel(sql_type = BigInt)]
    pub materials: i64,
    #[diesel(sql_type = BigInt)]
    pub master_share: i64,
    #[diesel(sql_type = BigInt)]
    pub company_share: i64,
    #[diesel(sql_type = BigInt)]
    pub reviews: i64,
}

impl MasterLine {
    pub fn name(&self) -> String {
        [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn net(&self) -> i64 {
        self.total - self.materials
    }

    /// Average paid per closed order, in kopecks (integer division).
    pub fn average_check(&self) -> i64 {
        if self.closed == 0 {
            0
        } else {
            self.total / self.closed
        }
    }
}

pub fn per_master(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<MasterLine>> {
    sql_query(
        "SELECT m.id AS master_id, u.first_name, u.last_name, \
                COUNT(*) AS orders, \
                SUM(o.status = 'CLOSED') AS closed, \
                SUM(o.status = 'REFUSED') AS refused, \
                COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.total_kopecks END), 0) AS total, \
                COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.materials_kopecks END), 0) AS materials, \
                COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.master_share_kopecks END), 0) AS master_share, \
                COALESCE(SUM(CASE WHEN o.status = 'CLOSED' THEN o.company_share_kopecks END), 0) AS company_share, \
                SUM(o.status = 'CLOSED' AND o.has_review) AS reviews \
         FROM orders o JOIN masters m ON m.id = o.assigned_master_id \
         LEFT JOIN users u ON u.telegram_id = m.telegram_id \
         WHERE o.created_at >= ? AND o.created_at < ? \
         GROUP BY m.id ORDER BY m.id",
    )
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .load(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct StatusLine {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
}

pub fn per_status(
    conn: &mut SqliteConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<StatusLine>> {
    sql_query(
        "SELECT status, COUNT(*) AS orders FROM orders \
         WHERE created_at >= ? AND created_at < ? GROUP BY status ORDER BY status",
    )
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .load(conn)
}
