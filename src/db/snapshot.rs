//! A comparable picture of a database schema, read from `sqlite_master` and the schema
//! pragmas: tables, columns (declared type, NOT NULL, default, primary key), indexes, foreign
//! keys and each object's CREATE statement. Object order in the file does not matter.
//! Used to prove that adopted and fresh databases end identical, that every `down.sql`
//! undoes its `up.sql`, and by `migrate status` / `check` to compare against the expected schema.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text};

/// The table diesel keeps its bookkeeping in; not part of the application schema.
pub const DIESEL_MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaSnapshot {
    pub tables: BTreeMap<String, TableSnapshot>,
    /// Views and triggers, by name, with their normalised SQL.
    pub other_objects: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSnapshot {
    pub sql: String,
    pub columns: Vec<ColumnSnapshot>,
    pub indexes: BTreeMap<String, IndexSnapshot>,
    pub foreign_keys: BTreeSet<ForeignKeySnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSnapshot {
    pub name: String,
    pub declared_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    pub primary_key_position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSnapshot {
    pub unique: bool,
    pub columns: Vec<String>,
    pub sql: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKeySnapshot {
    pub from: String,
    pub table: String,
    pub to: Option<String>,
    pub on_update: String,
    pub on_delete: String,
}

#[derive(QueryableByName)]
struct MasterRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared_type: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    is_unique: i64,
}

#[derive(QueryableByName)]
struct IndexColumnRow {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    from_column: String,
    #[diesel(sql_type = Nullable<Text>)]
    to_column: Option<String>,
    #[diesel(sql_type = Text)]
    on_update: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

/// Lists the objects of `sqlite_master` other than SQLite's own; reads nothing else.
/// Fails on a file that is not a SQLite database.
pub fn object_names(conn: &mut SqliteConnection) -> QueryResult<Vec<(String, String)>> {
    Ok(master_rows(conn)?
        .into_iter()
        .map(|row| (row.kind, row.name))
        .collect())
}

fn master_rows(conn: &mut SqliteConnection) -> QueryResult<Vec<MasterRow>> {
    sql_query(
        "SELECT type AS kind, name, sql FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )
    .load(conn)
}

/// Reads the application schema (everything except SQLite's and diesel's own tables).
pub fn read(conn: &mut SqliteConnection) -> QueryResult<SchemaSnapshot> {
    let mut snapshot = SchemaSnapshot::default();
    for row in master_rows(conn)? {
        match row.kind.as_str() {
            "table" if row.name != DIESEL_MIGRATIONS_TABLE => {
                let table = read_table(conn, &row.name, row.sql.as_deref().unwrap_or(""))?;
                snapshot.tables.insert(row.name, table);
            }
            "view" | "trigger" => {
                snapshot.other_objects.insert(
                    format!("{} {}", row.kind, row.name),
                    normalise_sql(row.sql.as_deref().unwrap_or("")),
                );
            }
            _ => {}
        }
    }
    Ok(snapshot)
}

fn read_table(conn: &mut SqliteConnection, table: &str, sql: &str) -> QueryResult<TableSnapshot> {
    let columns = sql_query(
        "SELECT name, type AS declared_type, \"notnull\" AS not_null, dflt_value AS default_value, pk \
         FROM pragma_table_info(?) ORDER BY cid",
    )
    .bind::<Text, _>(table)
    .load::<ColumnRow>(conn)?
    .into_iter()
    .map(|c| ColumnSnapshot {
        name: c.name,
        declared_type: c.declared_type.to_ascii_uppercase(),
        not_null: c.not_null != 0,
        default: c.default_value,
        primary_key_position: c.pk,
    })
    .collect();

    let mut indexes = BTreeMap::new();
    let index_rows = sql_query("SELECT name, \"unique\" AS is_unique FROM pragma_index_list(?)")
        .bind::<Text, _>(table)
        .load::<IndexRow>(conn)?;
    for index in index_rows {
        let columns = sql_query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
            .bind::<Text, _>(&index.name)
            .load::<IndexColumnRow>(conn)?
            .into_iter()
            .map(|c| c.name.unwrap_or_else(|| "<expression>".into()))
            .collect();
        let sql = sql_query(
            "SELECT 'index' AS kind, name, sql FROM sqlite_master WHERE type = 'index' AND name = ?",
        )
        .bind::<Text, _>(&index.name)
        .load::<MasterRow>(conn)?
        .into_iter()
        .next()
        .and_then(|row| row.sql)
        .map(|s| normalise_sql(&s));
        indexes.insert(
            index.name,
            IndexSnapshot {
                unique: index.is_unique != 0,
                columns,
                sql,
            },
        );
    }

    let foreign_keys = sql_query(
        "SELECT \"table\" AS parent, \"from\" AS from_column, \"to\" AS to_column, on_update, on_delete \
         FROM pragma_foreign_key_list(?)",
    )
    .bind::<Text, _>(table)
    .load::<ForeignKeyRow>(conn)?
    .into_iter()
    .map(|fk| ForeignKeySnapshot {
        from: fk.from_column,
        table: fk.parent,
        to: fk.to_column,
        on_update: fk.on_update,
        on_delete: fk.on_delete,
    })
    .collect();

    Ok(TableSnapshot {
        sql: normalise_sql(sql),
        columns,
        indexes,
        foreign_keys,
    })
}

/// Collapses whitespace so that formatting alone never counts as a difference.
fn normalise_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for word in sql.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
}

impl SchemaSnapshot {
    /// Human-readable differences, empty when the two schemas are identical.
    pub fn differences(&self, expected: &SchemaSnapshot) -> Vec<String> {
        let mut out = Vec::new();
        for name in expected
            .tables
            .keys()
            .filter(|n| !self.tables.contains_key(*n))
        {
            out.push(format!("table {name} is missing"));
        }
        for name in self
            .tables
            .keys()
            .filter(|n| !expected.tables.contains_key(*n))
        {
            out.push(format!("table {name} is not expected"));
        }
        for (name, actual) in &self.tables {
            let Some(wanted) = expected.tables.get(name) else {
                continue;
            };
            if actual.columns != wanted.columns {
                out.push(format!(
                    "table {name}: columns differ: found {}, expected {}",
                    describe_columns(&actual.columns),
                    describe_columns(&wanted.columns)
                ));
            }
            if actual.indexes != wanted.indexes {
                out.push(format!(
                    "table {name}: indexes differ: found {:?}, expected {:?}",
                    actual.indexes.keys().collect::<Vec<_>>(),
                    wanted.indexes.keys().collect::<Vec<_>>()
                ));
            }
            if actual.foreign_keys != wanted.foreign_keys {
                out.push(format!("table {name}: foreign keys differ"));
            }
            if actual.sql != wanted.sql && actual.columns == wanted.columns {
                out.push(format!(
                    "table {name}: CREATE statement differs (constraints)"
                ));
            }
        }
        if self.other_objects != expected.other_objects {
            out.push(format!(
                "views/triggers differ: found {:?}, expected {:?}",
                self.other_objects.keys().collect::<Vec<_>>(),
                expected.other_objects.keys().collect::<Vec<_>>()
            ));
        }
        out
    }
}

fn describe_columns(columns: &[ColumnSnapshot]) -> String {
    columns
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ColumnSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.declared_type)?;
        if self.not_null {
            write!(f, " NOT NULL")?;
        }
        if let Some(default) = &self.default {
            write!(f, " DEFAULT {default}")?;
        }
        Ok(())
    }
}
