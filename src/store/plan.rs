//! `EXPLAIN QUERY PLAN` of a Diesel query, binds and all: the stores' `*_plan` functions use it
//! so that tests and benchmarks can prove a query reads through its index.

use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query as SqlQuery, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};
use diesel::sqlite::Sqlite;

/// `EXPLAIN QUERY PLAN` in front of a diesel statement, binds and all.
struct Explain<Q>(Q);

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> SqlQuery for Explain<Q> {
    /// id, parent, notused, detail.
    type SqlType = (Integer, Integer, Integer, Text);
}

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("EXPLAIN QUERY PLAN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> RunQueryDsl<SqliteConnection> for Explain<Q> {}

/// The plan SQLite chose for `query`, one line per step.
pub fn explain<Q: QueryFragment<Sqlite>>(
    conn: &mut SqliteConnection,
    query: Q,
) -> QueryResult<Vec<String>> {
    let rows: Vec<(i32, i32, i32, String)> = Explain(query).load(conn)?;
    Ok(rows.into_iter().map(|(_, _, _, detail)| detail).collect())
}
