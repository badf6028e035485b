//! The migration catalog (the SQL of `migrations/`, embedded at build time), what a database
//! has applied, and running / stamping / reverting single migrations.
//!
//! Diesel's `__diesel_schema_migrations` stays the record of what is applied, so diesel CLI
//! and the bot agree. Our `migration_ledger` table (created by the first migration) adds the
//! checksum of each applied `up.sql` and whether it was stamped rather than run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use diesel::connection::{BoxableConnection, SimpleConnection};
use diesel::migration::{
    Migration, MigrationConnection, MigrationMetadata, MigrationName, MigrationVersion,
};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{Bool, Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel_migrations::MigrationHarness;
use sha2::{Digest, Sha256};

use super::connection::set_foreign_keys;
use super::snapshot::{self, DIESEL_MIGRATIONS_TABLE};
use super::DbError;

/// One migration folder: `<version>_<name>/up.sql` and `down.sql`.
#[derive(Debug, Clone)]
pub struct MigrationSource {
    pub name: &'static str,
    pub up_sql: &'static str,
    pub down_sql: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/migration_sources.rs"));

/// The first migration: creates `migration_ledger`.
pub const LEDGER_VERSION: &str = "00000000000000";
pub const LEDGER_TABLE: &str = "migration_ledger";

/// The steps of the old Python bot's schema, in order. Old databases are stamped against these.
pub const LEGACY_STEP_VERSIONS: [&str; 5] = [
    "20250101000001",
    "20250101000002",
    "20250101000003",
    "20250101000004",
    "20250101000005",
];

/// Our migration that rebuilds the legacy tables into the schema the bot uses.
pub const REBUILD_VERSION: &str = "20261123000001";

impl MigrationSource {
    /// Diesel's version: the folder name up to the first `_`, without dashes.
    pub fn version(&self) -> String {
        self.name
            .split('_')
            .next()
            .unwrap_or(self.name)
            .replace('-', "")
    }

    /// Hex SHA-256 of `up.sql`: what ran is what we ship.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.up_sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// An ordered set of migrations: the embedded one in production, another in tests.
#[derive(Debug, Clone)]
pub struct Catalog {
    migrations: Vec<MigrationSource>,
}

impl Catalog {
    pub fn embedded() -> Self {
        Self::new(MIGRATION_SOURCES.to_vec())
    }

    pub fn new(mut migrations: Vec<MigrationSource>) -> Self {
        migrations.sort_by_key(MigrationSource::version);
        Self { migrations }
    }

    /// Reads a migrations folder at run time (test sets; the binary uses [`Catalog::embedded`]).
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut migrations = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if !path.join("up.sql").is_file() {
                continue;
            }
            let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
            migrations.push(MigrationSource {
                name: leak(
                    path.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                ),
                up_sql: leak(std::fs::read_to_string(path.join("up.sql"))?),
                down_sql: leak(std::fs::read_to_string(path.join("down.sql")).unwrap_or_default()),
            });
        }
        Ok(Self::new(migrations))
    }

    pub fn all(&self) -> &[MigrationSource] {
        &self.migrations
    }

    pub fn get(&self, version: &str) -> Option<&MigrationSource> {
        self.migrations.iter().find(|m| m.version() == version)
    }

    pub fn latest_version(&self) -> Option<String> {
        self.migrations.last().map(MigrationSource::version)
    }

    /// The schema a database has after applying `versions` of this catalog in order, built in
    /// memory (a few milliseconds; never touches the file being inspected).
    pub fn expected_schema<'a>(
        &self,
        versions: impl IntoIterator<Item = &'a String>,
    ) -> Result<snapshot::SchemaSnapshot, DbError> {
        let mut conn = SqliteConnection::establish(":memory:").map_err(|e| DbError::Open {
            path: ":memory:".into(),
            detail: e.to_string(),
        })?;
        for version in versions {
            if let Some(migration) = self.get(version) {
                conn.batch_execute(migration.up_sql)
                    .map_err(|e| DbError::MigrationFailed {
                        name: migration.name.to_string(),
                        detail: e.to_string(),
                        backup: None,
                    })?;
            }
        }
        snapshot::read(&mut conn).map_err(DbError::sqlite("reading the expected schema"))
    }
}

/// What the database records about one applied migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub run_on: String,
    /// None when the migration was applied by diesel CLI and the bot has not seen it yet.
    pub checksum: Option<String>,
    pub stamped: bool,
}

/// Applied migrations by version, read without creating anything.
#[derive(Debug, Clone, Default)]
pub struct MigrationState {
    pub applied: BTreeMap<String, AppliedMigration>,
    pub ledger_exists: bool,
}

#[derive(QueryableByName)]
struct AppliedRow {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    run_on: String,
    #[diesel(sql_type = Nullable<Text>)]
    checksum: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    stamped: Option<bool>,
}

/// Reads the applied migrations. Reads only the two bookkeeping tables, and only if they exist:
/// diesel's own helpers would create `__diesel_schema_migrations` as a side effect.
pub fn read_state(conn: &mut SqliteConnection) -> Result<MigrationState, DbError> {
    let objects = snapshot::object_names(conn).map_err(DbError::sqlite("reading sqlite_master"))?;
    let has = |name: &str| objects.iter().any(|(kind, n)| kind == "table" && n == name);
    let ledger_exists = has(LEDGER_TABLE);
    if !has(DIESEL_MIGRATIONS_TABLE) {
        return Ok(MigrationState {
            applied: BTreeMap::new(),
            ledger_exists,
        });
    }
    let query = if ledger_exists {
        "SELECT d.version, CAST(d.run_on AS TEXT) AS run_on, l.checksum, l.stamped \
         FROM __diesel_schema_migrations d LEFT JOIN migration_ledger l ON l.version = d.version"
    } else {
        "SELECT version, CAST(run_on AS TEXT) AS run_on, NULL AS checksum, NULL AS stamped \
         FROM __diesel_schema_migrations"
    };
    let rows = sql_query(query)
        .load::<AppliedRow>(conn)
        .map_err(DbError::sqlite("reading applied migrations"))?;
    let applied = rows
        .into_iter()
        .map(|row| {
            let record = AppliedMigration {
                run_on: row.run_on,
                checksum: row.checksum,
                stamped: row.stamped.unwrap_or(false),
            };
            (row.version, record)
        })
        .collect();
    Ok(MigrationState {
        applied,
        ledger_exists,
    })
}

/// How the applied migrations of a database compare with a catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub pending: Vec<String>,
    /// Applied versions this catalog does not contain (the database is newer).
    pub unknown: Vec<String>,
    /// Applied migrations whose recorded checksum differs from the shipped up.sql.
    pub edited: Vec<String>,
    /// Applied migrations with no recorded checksum yet (applied by diesel CLI).
    pub unrecorded: Vec<String>,
}

impl MigrationState {
    pub fn compare(&self, catalog: &Catalog) -> Comparison {
        let mut comparison = Comparison::default();
        for migration in catalog.all() {
            let version = migration.version();
            match self.applied.get(&version) {
                None => comparison.pending.push(version),
                Some(applied) => match &applied.checksum {
                    Some(sum) if *sum != migration.checksum() => {
                        comparison.edited.push(migration.name.to_string())
                    }
                    Some(_) => {}
                    None if self.ledger_exists => comparison.unrecorded.push(version),
                    None => {}
                },
            }
        }
        comparison.unknown = self
            .applied
            .keys()
            .filter(|v| catalog.get(v).is_none())
            .cloned()
            .collect();
        comparison
    }
}

/// Diesel's view of one of our migrations, so that its harness keeps
/// `__diesel_schema_migrations` exactly as diesel CLI would.
struct HarnessMigration<'a> {
    source: &'a MigrationSource,
    name: SourceName,
}

struct SourceName {
    display: String,
    version: String,
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl MigrationName for SourceName {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.version.as_str())
    }
}

struct InTransaction;

impl MigrationMetadata for InTransaction {}

impl<'a> HarnessMigration<'a> {
    fn new(source: &'a MigrationSource) -> Self {
        let name = SourceName {
            display: source.name.to_string(),
            version: source.version(),
        };
        Self { source, name }
    }
}

impl Migration<Sqlite> for HarnessMigration<'_> {
    fn run(&self, conn: &mut dyn BoxableConnection<Sqlite>) -> diesel::migration::Result<()> {
        Ok(conn.batch_execute(self.source.up_sql)?)
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<Sqlite>) -> diesel::migration::Result<()> {
        Ok(conn.batch_execute(self.source.down_sql)?)
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        &InTransaction
    }

    fn name(&self) -> &dyn MigrationName {
        &self.name
    }
}

/// Why one migration step did not commit.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("{0}")]
    Sqlite(#[from] diesel::result::Error),
    #[error("{0}")]
    Migration(String),
    #[error("foreign key check failed after the migration: {0}")]
    ForeignKeys(String),
}

#[derive(QueryableByName)]
struct ForeignKeyViolation {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
    rowid: Option<i64>,
    #[diesel(sql_type = Text)]
    parent: String,
}

/// `PRAGMA foreign_key_check` as readable lines, grouped per child/parent table.
pub fn foreign_key_violations(conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    let rows = sql_query("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
        .load::<ForeignKeyViolation>(conn)?;
    let mut grouped: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for row in rows {
        grouped
            .entry((row.table, row.parent))
            .or_default()
            .push(row.rowid.unwrap_or(-1));
    }
    Ok(grouped
        .into_iter()
        .map(|((table, parent), rows)| {
            let shown: Vec<String> = rows.iter().take(5).map(i64::to_string).collect();
            format!(
                "{} row(s) of {table} reference missing {parent} rows (rowids {}{})",
                rows.len(),
                shown.join(", "),
                if rows.len() > 5 { ", ..." } else { "" }
            )
        })
        .collect())
}

/// The line a migration's SQL carries when it rebuilds tables: the runner then switches
/// foreign keys off around it (a rebuild drops and recreates referenced tables, which SQLite
/// only allows with enforcement off; the pragma is ignored inside a transaction, so it is set
/// outside) and runs `PRAGMA foreign_key_check` before committing. Every other migration runs
/// with foreign keys on, so SQLite checks each row it writes and no full scan is needed.
pub const REBUILD_MARKER: &str = "-- repair-bot: table rebuild";

/// Runs one migration: up.sql + diesel's bookkeeping + our ledger row in one IMMEDIATE
/// transaction. A rebuild (see [`REBUILD_MARKER`]) must leave no dangling reference at all.
/// On error nothing of the migration stays.
pub fn run_one(conn: &mut SqliteConnection, source: &MigrationSource) -> Result<(), DbError> {
    let rebuild = source
        .up_sql
        .contains(REBUILD_MARKER)
        .then_some(ForeignKeyRule::Enforce);
    in_step(conn, source, rebuild, |conn| {
        conn.setup()?;
        conn.run_migration(&HarnessMigration::new(source))
            .map_err(|e| StepError::Migration(e.to_string()))?;
        record_in_ledger(conn, source, false)?;
        Ok(())
    })
}

/// Reverts one migration the same way, removing its ledger row. Reverting a rebuild may hand
/// back the dangling references of an old database that adoption had set aside (the legacy
/// schema never enforced them): those are logged, not refused.
pub fn revert_one(conn: &mut SqliteConnection, source: &MigrationSource) -> Result<(), DbError> {
    let rebuild = source
        .down_sql
        .contains(REBUILD_MARKER)
        .then_some(ForeignKeyRule::Report);
    in_step(conn, source, rebuild, |conn| {
        conn.revert_migration(&HarnessMigration::new(source))
            .map_err(|e| StepError::Migration(e.to_string()))?;
        if source.version() != LEDGER_VERSION {
            sql_query("DELETE FROM migration_ledger WHERE version = ?")
                .bind::<Text, _>(source.version())
                .execute(conn)?;
        }
        Ok(())
    })
}

/// What a table rebuild does with `PRAGMA foreign_key_check` findings.
#[derive(Clone, Copy)]
enum ForeignKeyRule {
    Enforce,
    Report,
}

fn in_step(
    conn: &mut SqliteConnection,
    source: &MigrationSource,
    rebuild: Option<ForeignKeyRule>,
    body: impl FnOnce(&mut SqliteConnection) -> Result<(), StepError>,
) -> Result<(), DbError> {
    let failed = |detail: String| DbError::MigrationFailed {
        name: source.name.to_string(),
        detail,
        backup: None,
    };
    if rebuild.is_some() {
        set_foreign_keys(conn, false).map_err(|e| failed(e.to_string()))?;
    }
    let outcome = conn.immediate_transaction(|conn| {
        body(conn)?;
        let Some(rule) = rebuild else { return Ok(()) };
        let violations = foreign_key_violations(conn)?;
        match rule {
            _ if violations.is_empty() => Ok(()),
            ForeignKeyRule::Enforce => Err(StepError::ForeignKeys(violations.join("; "))),
            ForeignKeyRule::Report => {
                for violation in violations {
                    log::warn!(
                        "{}: restored legacy dangling reference: {violation}",
                        source.name
                    );
                }
                Ok(())
            }
        }
    });
    let restored = if rebuild.is_some() {
        set_foreign_keys(conn, true)
    } else {
        Ok(())
    };
    outcome.map_err(|e| failed(e.to_string()))?;
    restored.map_err(|e| failed(e.to_string()))
}

/// Records already-present migrations as applied without running them ("stamp"), in one
/// transaction. The ledger must exist (see [`run_ledger_and_stamp`] when it does not).
pub fn stamp(conn: &mut SqliteConnection, sources: &[&MigrationSource]) -> Result<(), DbError> {
    conn.immediate_transaction(|conn| {
        conn.setup()?;
        stamp_in(conn, sources)
    })
    .map_err(DbError::sqlite("stamping legacy steps"))
}

/// The start of an adoption in ONE immediate transaction: the ledger migration runs and the
/// legacy steps found present are stamped. Committed apart, a crash between the two would
/// leave a database whose migration tables say "nothing of the old schema is here" while
/// its tables are: every later start would try to create them again.
pub fn run_ledger_and_stamp(
    conn: &mut SqliteConnection,
    ledger: &MigrationSource,
    sources: &[&MigrationSource],
) -> Result<(), DbError> {
    in_step(conn, ledger, None, |conn| {
        conn.setup()?;
        conn.run_migration(&HarnessMigration::new(ledger))
            .map_err(|e| StepError::Migration(e.to_string()))?;
        record_in_ledger(conn, ledger, false)?;
        stamp_in(conn, sources)?;
        Ok(())
    })
}

fn stamp_in(conn: &mut SqliteConnection, sources: &[&MigrationSource]) -> QueryResult<()> {
    for source in sources {
        sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES (?)")
            .bind::<Text, _>(source.version())
            .execute(conn)?;
        record_in_ledger(conn, source, true)?;
    }
    Ok(())
}

/// Records checksums of migrations applied by diesel CLI (trust on first sight).
pub fn record_unrecorded(
    conn: &mut SqliteConnection,
    catalog: &Catalog,
    versions: &[String],
) -> Result<(), DbError> {
    conn.immediate_transaction(|conn| {
        for source in versions.iter().filter_map(|v| catalog.get(v)) {
            record_in_ledger(conn, source, false)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(DbError::sqlite("recording migration checksums"))
}

fn record_in_ledger(
    conn: &mut SqliteConnection,
    source: &MigrationSource,
    stamped: bool,
) -> QueryResult<()> {
    sql_query(
        "INSERT OR REPLACE INTO migration_ledger (version, checksum, stamped) VALUES (?, ?, ?)",
    )
    .bind::<Text, _>(source.version())
    .bind::<Text, _>(source.checksum())
    .bind::<Bool, _>(stamped)
    .execute(conn)
    .map(drop)
}
