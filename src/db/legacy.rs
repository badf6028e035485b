//! Classifying a database before anything is written to it, and recognising the databases
//! the old Python bot left behind.
//!
//! The fingerprint of each legacy step is not a hand-kept list: it is derived from the
//! step's own `up.sql`, applied in memory, as the set of tables, columns (name and type
//! affinity) and indexes (table and columns) that the step adds. A database holding every
//! item of a step has that step; holding none, lacks it; holding some, is half-built.

use std::collections::BTreeSet;
use std::fmt;

use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::migrations::{self, Catalog, LEGACY_STEP_VERSIONS};
use super::snapshot::{self, SchemaSnapshot, DIESEL_MIGRATIONS_TABLE};
use super::DbError;
use std::path::Path;

/// What startup found in the file, decided from `sqlite_master` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// No tables: every migration is pending.
    Empty,
    /// Has diesel's migrations table: the normal path.
    Managed,
    /// An old bot's database: which legacy steps it already holds.
    Legacy(LegacyShape),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyShape {
    /// Versions of the legacy steps fully present (to be stamped).
    pub present_steps: Vec<String>,
    /// Versions of the legacy steps absent (to be run).
    pub absent_steps: Vec<String>,
    /// Harmless findings worth a log line (extra indexes, an alembic stamp).
    pub notes: Vec<String>,
}

/// One thing a legacy step adds to a schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Table(String),
    Column {
        table: String,
        column: String,
        affinity: Affinity,
    },
    Index {
        table: String,
        columns: Vec<String>,
    },
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Table(name) => write!(f, "table {name}"),
            Item::Column {
                table,
                column,
                affinity,
            } => {
                write!(f, "column {table}.{column} ({affinity:?} affinity)")
            }
            Item::Index { table, columns } => write!(f, "index on {table}({})", columns.join(", ")),
        }
    }
}

/// SQLite's type affinity of a declared column type (section 3.1 of its datatype docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

pub fn affinity(declared_type: &str) -> Affinity {
    let t = declared_type.to_ascii_uppercase();
    if t.contains("INT") {
        Affinity::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Affinity::Text
    } else if t.contains("BLOB") || t.is_empty() {
        Affinity::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// Tables an old database may carry besides the legacy steps: alembic's stamp (shapes D1/D2).
const TOLERATED_LEGACY_TABLES: [&str; 1] = ["alembic_version"];

fn items_of(schema: &SchemaSnapshot) -> BTreeSet<Item> {
    let mut items = BTreeSet::new();
    for (table, snapshot) in &schema.tables {
        items.insert(Item::Table(table.clone()));
        for column in &snapshot.columns {
            items.insert(Item::Column {
                table: table.clone(),
                column: column.name.clone(),
                affinity: affinity(&column.declared_type),
            });
        }
        for (name, index) in &snapshot.indexes {
            // Indexes SQLite makes for UNIQUE / PRIMARY KEY come with the table itself.
            if !name.starts_with("sqlite_autoindex_") {
                items.insert(Item::Index {
                    table: table.clone(),
                    columns: index.columns.clone(),
                });
            }
        }
    }
    items
}

/// What each legacy step adds, from its up.sql applied in memory after the steps before it.
fn step_fingerprints(catalog: &Catalog) -> Result<Vec<(String, BTreeSet<Item>)>, DbError> {
    let mut fingerprints = Vec::new();
    let mut before = BTreeSet::new();
    let mut applied = Vec::new();
    for version in LEGACY_STEP_VERSIONS {
        applied.push(version.to_string());
        let after = items_of(&catalog.expected_schema(applied.iter())?);
        fingerprints.push((
            version.to_string(),
            after.difference(&before).cloned().collect(),
        ));
        before = after;
    }
    Ok(fingerprints)
}

/// Classifies the database behind `conn` by reading `sqlite_master` and the schema pragmas.
/// Writes nothing. Refuses (with every reason found) a schema that is neither empty, nor
/// managed by our migrations, nor made of whole legacy steps.
pub fn classify(
    conn: &mut SqliteConnection,
    path: &Path,
    catalog: &Catalog,
) -> Result<Classification, DbError> {
    let objects = snapshot::object_names(conn).map_err(|e| DbError::NotADatabase {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    if objects.is_empty() {
        return Ok(Classification::Empty);
    }
    let mut notes = Vec::new();
    let mut schema = snapshot::read(conn).map_err(DbError::sqlite("reading the schema"))?;
    if objects
        .iter()
        .any(|(kind, name)| kind == "table" && name == DIESEL_MIGRATIONS_TABLE)
    {
        if !interrupted_adoption(conn, &schema)? {
            return Ok(Classification::Managed);
        }
        // An older binary committed the ledger migration, then died before stamping the legacy
        // steps: the old tables are classified as if the bookkeeping were not there, and the
        // adoption resumes from the stamps.
        schema.tables.remove(DIESEL_MIGRATIONS_TABLE);
        schema.tables.remove(migrations::LEDGER_TABLE);
        notes.push(
            "an earlier adoption of this database was interrupted after creating the migration \
             ledger, before recording the old bot's steps: resuming it"
                .to_string(),
        );
    }

    let mut problems = Vec::new();
    for name in schema.other_objects.keys() {
        problems.push(format!("{name} is not part of any known schema"));
    }
    let mut items = items_of(&schema);
    for table in TOLERATED_LEGACY_TABLES {
        if schema.tables.contains_key(table) {
            notes.push(format!(
                "found table {table} (the old alembic stamp); it will be dropped"
            ));
            items.retain(|item| !belongs_to(item, table));
        }
    }

    let fingerprints = step_fingerprints(catalog)?;
    let mut present_steps = Vec::new();
    let mut absent_steps = Vec::new();
    for (version, fingerprint) in &fingerprints {
        let name = catalog.get(version).map_or(version.as_str(), |m| m.name);
        let (found, missing): (Vec<&Item>, Vec<&Item>) =
            fingerprint.iter().partition(|item| items.contains(*item));
        if missing.is_empty() {
            present_steps.push(version.clone());
        } else if found.is_empty() {
            absent_steps.push(version.clone());
        } else {
            problems.push(format!(
                "legacy step {name} is only partly present: has {}; lacks {}",
                list(&found),
                list(&missing)
            ));
        }
    }
    if absent_steps.iter().any(|v| v == LEGACY_STEP_VERSIONS[0]) {
        problems.push(
            "the initial tables of the old bot (users, masters, orders, audit_log) are not there"
                .into(),
        );
    }

    let known: BTreeSet<&Item> = fingerprints.iter().flat_map(|(_, f)| f.iter()).collect();
    for item in items.iter().filter(|item| !known.contains(item)) {
        match item {
            Item::Index { .. } => notes.push(format!(
                "extra {item} (not made by the old bot); it goes away when the tables are rebuilt"
            )),
            _ => problems.push(format!("unexpected {item}")),
        }
    }

    if !problems.is_empty() {
        return Err(DbError::UnknownSchema {
            path: path.to_owned(),
            problems,
        });
    }
    Ok(Classification::Legacy(LegacyShape {
        present_steps,
        absent_steps,
        notes,
    }))
}

/// True for a database whose only applied migration is the ledger while it holds tables
/// besides the two bookkeeping ones: what an older binary left when killed between
/// committing the ledger and committing the stamps.
fn interrupted_adoption(
    conn: &mut SqliteConnection,
    schema: &SchemaSnapshot,
) -> Result<bool, DbError> {
    let bookkeeping = [DIESEL_MIGRATIONS_TABLE, migrations::LEDGER_TABLE];
    if !schema.tables.contains_key(migrations::LEDGER_TABLE)
        || schema
            .tables
            .keys()
            .all(|t| bookkeeping.contains(&t.as_str()))
    {
        return Ok(false);
    }
    let applied = sql_query(
        "SELECT CAST(version AS TEXT) AS value, 1 AS count FROM __diesel_schema_migrations",
    )
    .load::<ValueCount>(conn)
    .map_err(DbError::sqlite("reading applied migrations"))?;
    Ok(applied.len() == 1 && applied[0].value.as_deref() == Some(migrations::LEDGER_VERSION))
}

fn belongs_to(item: &Item, table: &str) -> bool {
    match item {
        Item::Table(name) => name == table,
        Item::Column { table: t, .. } | Item::Index { table: t, .. } => t == table,
    }
}

fn list(items: &[&Item]) -> String {
    const SHOWN: usize = 6;
    let mut text: Vec<String> = items.iter().take(SHOWN).map(ToString::to_string).collect();
    if items.len() > SHOWN {
        text.push(format!("and {} more", items.len() - SHOWN));
    }
    text.join(", ")
}

#[derive(QueryableByName)]
struct ValueCount {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Read-only checks of the rows the rebuild migration is about to convert, run before the
/// backup: values it cannot carry over refuse adoption (nothing is changed), values it treats
/// by rule (dangling references, roles outside the vocabulary, sub-kopeck amounts) are returned
/// as notes for the log.
pub fn preflight_rebuild(conn: &mut SqliteConnection, path: &Path) -> Result<Vec<String>, DbError> {
    let objects = snapshot::object_names(conn).map_err(DbError::sqlite("reading sqlite_master"))?;
    let has_column = |conn: &mut SqliteConnection, table: &str, column: &str| -> bool {
        sql_query("SELECT name AS value, 1 AS count FROM pragma_table_info(?) WHERE name = ?")
            .bind::<Text, _>(table)
            .bind::<Text, _>(column)
            .load::<ValueCount>(conn)
            .map(|rows| !rows.is_empty())
            .unwrap_or(false)
    };
    if !objects
        .iter()
        .any(|(kind, name)| kind == "table" && name == "orders")
        || !has_column(conn, "orders", "client_phone")
        || !has_column(conn, "users", "role")
    {
        // Not the legacy tables (already rebuilt, or never created): nothing to convert.
        return Ok(Vec::new());
    }
    let read = |conn: &mut SqliteConnection, sql: &str, what: &str| {
        sql_query(sql)
            .load::<ValueCount>(conn)
            .map_err(DbError::sqlite(what.to_string()))
    };

    let mut problems = Vec::new();
    let bad_status = read(
        conn,
        "SELECT status AS value, COUNT(*) AS count FROM orders \
         WHERE COALESCE(NULLIF(upper(trim(status)), ''), 'NEW') NOT IN \
         ('NEW', 'ASSIGNED', 'ACCEPTED', 'ONSITE', 'DR', 'CLOSED', 'REFUSED') GROUP BY status",
        "checking order statuses",
    )?;
    for row in bad_status {
        problems.push(format!(
            "orders.status {:?} in {} order(s) is not one of NEW, ASSIGNED, ACCEPTED, ONSITE, DR, \
             CLOSED, REFUSED: correct those rows, then start again",
            row.value.unwrap_or_default(),
            row.count
        ));
    }
    if !problems.is_empty() {
        return Err(DbError::UnadoptableData {
            path: path.to_owned(),
            problems,
        });
    }

    let mut notes = Vec::new();
    let violations = migrations::foreign_key_violations(conn)
        .map_err(DbError::sqlite("checking foreign keys"))?;
    for violation in violations {
        notes.push(format!(
            "dangling reference: {violation}; missing users get a placeholder row (id kept), a \
             missing master is unset and a history row of a missing order is moved to \
             adoption_orphans"
        ));
    }
    let roles = read(
        conn,
        "SELECT role AS value, COUNT(*) AS count FROM users GROUP BY role",
        "reading roles",
    )?;
    for row in roles {
        let text = row.value.clone().unwrap_or_default();
        let unknown: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .filter(|t| {
                !["ADMIN", "DISPATCHER", "MASTER", "UNKNOWN"]
                    .contains(&t.to_ascii_uppercase().as_str())
            })
            .collect();
        if !unknown.is_empty() {
            notes.push(format!(
                "users.role {text:?} ({} user(s)): {} grants no role",
                row.count,
                unknown.join(", ")
            ));
        }
    }
    if has_column(conn, "orders", "total_amount") {
        let fractional = read(
            conn,
            "SELECT NULL AS value, COUNT(*) AS count FROM orders WHERE \
             abs(total_amount * 100 - round(total_amount * 100)) > 1e-6 OR \
             abs(materials_cost * 100 - round(materials_cost * 100)) > 1e-6 OR \
             abs(master_profit * 100 - round(master_profit * 100)) > 1e-6 OR \
             abs(company_profit * 100 - round(company_profit * 100)) > 1e-6",
            "checking amounts",
        )?;
        if let Some(row) = fractional.into_iter().find(|r| r.count > 0) {
            notes.push(format!(
                "{} order(s) hold amounts finer than a kopeck; they are rounded to the nearest kopeck",
                row.count
            ));
        }
    }
    Ok(notes)
}
