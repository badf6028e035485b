//! Helpers shared by the integration tests: a temporary sandbox per test (database file and
//! backup folder), the legacy fixtures, small SQL readers and the CLI runner.
//!
//! Every test module of the crate uses only part of it.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Nullable, Text};
use repair_bot::bot::config::{QuietHours, ReminderPolicy, ReportSchedule, SlaPolicy};
use repair_bot::bot::outbox::SendLimits;
use repair_bot::bot::BotConfig;
use repair_bot::db::backup::BackupPolicy;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::snapshot::{self, SchemaSnapshot};
use repair_bot::db::startup::{self, DatabaseSettings, StartupReport};
use repair_bot::domain::ids::TelegramId;
use repair_bot::domain::money::PayRules;
use repair_bot::store::members::EnvRoles;
use tempfile::TempDir;

/// The old-bot database shapes of `tests/fixtures/legacy/`.
pub const SHAPES: [&str; 6] = ["A0", "A1", "B", "C", "D1", "D2"];

/// Migration names, as the catalog and the startup report spell them.
pub const LEDGER: &str = "00000000000000_migration_ledger";
pub const STEP1: &str = "2025-01-01-000001_initial_schema";
pub const STEP2: &str = "2025-01-01-000002_add_work_chat_id_to_masters";
pub const STEP3: &str = "2025-01-01-000003_add_order_finances";
pub const STEP4: &str = "2025-01-01-000004_add_scheduled_time";
pub const STEP5: &str = "2025-01-01-000005_order_status_history";
pub const REBUILD: &str = "2026-11-23-000001_rebuild_legacy_tables";
pub const REBUILD_VERSION: &str = "20261123000001";
/// Our migrations after the rebuild, oldest first: they run on every database, adopted or new.
/// Add each new migration here.
pub const AFTER_REBUILD: [&str; 9] = [
    "2026-11-24-000001_bot_runtime_state",
    "2026-11-25-000001_order_search",
    "2026-12-02-000001_handled_updates",
    "2026-12-02-000002_search_queries",
    "2026-12-02-000003_reminder_due_index",
    "2026-12-04-000001_outbox",
    "2026-12-04-000002_company_day",
    "2026-12-04-000003_deleted_orders_index",
    "2026-12-07-000001_outbox_documents",
];
/// The newest migration and its version.
pub const NEWEST: &str = AFTER_REBUILD[AFTER_REBUILD.len() - 1];
pub const NEWEST_VERSION: &str = "20261207000001";

/// `names` followed by the migrations after the rebuild.
pub fn then_after_rebuild(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .chain(AFTER_REBUILD.iter())
        .map(|s| s.to_string())
        .collect()
}

/// A freshly migrated database (as the bot's startup makes it) in its own folder, kept open and
/// locked: what the store tests work on.
pub struct MigratedDb {
    _sandbox: Sandbox,
    prepared: repair_bot::db::startup::PreparedDatabase,
}

impl MigratedDb {
    pub fn new() -> MigratedDb {
        let sandbox = Sandbox::new();
        let prepared = repair_bot::db::startup::prepare(&sandbox.settings(), &Catalog::embedded())
            .expect("prepare a new database");
        MigratedDb {
            _sandbox: sandbox,
            prepared,
        }
    }

    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.prepared.connection
    }
}

/// One test's private folder: `bot_database.db` and `backup/` inside a temp dir.
pub struct Sandbox {
    pub dir: TempDir,
    pub db: PathBuf,
    pub backups: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("bot_database.db");
        let backups = dir.path().join("backup");
        Self { dir, db, backups }
    }

    /// A sandbox whose database is built by one of the legacy fixture scripts.
    pub fn with_fixture(shape: &str) -> Self {
        let sandbox = Self::new();
        load_fixture(&sandbox.db, shape);
        sandbox
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn settings(&self) -> DatabaseSettings {
        self.settings_keep(20)
    }

    pub fn settings_keep(&self, keep: usize) -> DatabaseSettings {
        DatabaseSettings {
            path: self.db.clone(),
            backup: BackupPolicy {
                dir: self.backups.clone(),
                keep,
                copy: None,
            },
        }
    }

    /// Runs startup with the embedded catalog and releases the database.
    pub fn migrate(&self) -> StartupReport {
        let prepared = startup::prepare(&self.settings(), &Catalog::embedded())
            .unwrap_or_else(|e| panic!("startup of {} failed: {e}", self.db.display()));
        prepared.report
    }

    pub fn conn(&self) -> SqliteConnection {
        connect(&self.db)
    }

    pub fn snapshot(&self) -> SchemaSnapshot {
        snapshot_of(&self.db)
    }

    pub fn bytes(&self) -> Vec<u8> {
        fs::read(&self.db).expect("read database file")
    }

    /// Every file in the backup folder (none when the folder does not exist), sorted.
    pub fn backup_files(&self) -> Vec<PathBuf> {
        files_in(&self.backups)
    }

    /// The binary with a clean environment pointing at this sandbox, run from inside it so
    /// that no `.env` of the repository is picked up.
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_repair-bot"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.db)
            .env("BACKUP_DIR", &self.backups)
            .env_remove("DATABASE_PATH")
            .env_remove("BACKUP_KEEP")
            .env_remove("BOT_TOKEN")
            .env_remove("TELOXIDE_TOKEN")
            .env("RUST_LOG", "info");
        command
    }

    pub fn run_cli(&self, args: &[&str]) -> CliOutput {
        CliOutput::from(self.cli(args).output().expect("run repair-bot"))
    }
}

/// A finished CLI run with its output as text.
#[derive(Debug)]
pub struct CliOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for CliOutput {
    fn from(output: Output) -> Self {
        Self {
            success: output.status.success(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl CliOutput {
    pub fn assert_success(&self) -> &Self {
        assert!(self.success, "expected success, got {self:#?}");
        self
    }

    pub fn assert_failure(&self) -> &Self {
        assert!(!self.success, "expected a failure, got {self:#?}");
        self
    }
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.expect("dir entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

pub fn fixture_sql(shape: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy")
        .join(format!("{shape}.sql"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Runs SQL on the file as the old bot would have: foreign keys not enforced.
pub fn execute(path: &Path, sql: &str) {
    let mut conn = connect(path);
    conn.batch_execute("PRAGMA foreign_keys = OFF;")
        .expect("foreign keys off");
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("SQL on {} failed: {e}\n{sql}", path.display()));
}

pub fn load_fixture(path: &Path, shape: &str) {
    execute(path, &fixture_sql(shape));
}

pub fn connect(path: &Path) -> SqliteConnection {
    let url = path.to_str().expect("UTF-8 path");
    SqliteConnection::establish(url).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

pub fn snapshot_of(path: &Path) -> SchemaSnapshot {
    snapshot::read(&mut connect(path)).expect("read schema")
}

/// The schema of a database created from scratch by startup (empty file -> prepare).
pub fn fresh_schema() -> SchemaSnapshot {
    let sandbox = Sandbox::new();
    fs::File::create(&sandbox.db).expect("create empty file");
    sandbox.migrate();
    sandbox.snapshot()
}

#[derive(QueryableByName)]
struct IntRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    v: Option<i64>,
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Nullable<Text>)]
    v: Option<String>,
}

/// The single integer `v` of a one-row query (NULL -> None).
pub fn opt_int(conn: &mut SqliteConnection, sql: &str) -> Option<i64> {
    let rows = sql_query(sql)
        .load::<IntRow>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(rows.len(), 1, "{sql} returned {} rows", rows.len());
    rows.into_iter().next().unwrap().v
}

pub fn int(conn: &mut SqliteConnection, sql: &str) -> i64 {
    opt_int(conn, sql).unwrap_or_else(|| panic!("{sql} returned NULL"))
}

/// Every `v` of a query, as text (NULL -> None).
pub fn texts(conn: &mut SqliteConnection, sql: &str) -> Vec<Option<String>> {
    sql_query(sql)
        .load::<TextRow>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.v)
        .collect()
}

pub fn opt_text(conn: &mut SqliteConnection, sql: &str) -> Option<String> {
    let rows = texts(conn, sql);
    assert_eq!(rows.len(), 1, "{sql} returned {} rows", rows.len());
    rows.into_iter().next().unwrap()
}

pub fn count(conn: &mut SqliteConnection, table: &str) -> i64 {
    int(conn, &format!("SELECT COUNT(*) AS v FROM {table}"))
}

pub fn table_exists(conn: &mut SqliteConnection, table: &str) -> bool {
    int(
        conn,
        &format!(
            "SELECT COUNT(*) AS v FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        ),
    ) == 1
}

/// All rows of a table as one JSON array: `fields` is the argument list of `json_object`
/// (`'key', expression, ...`), rows in `order`. Compares row values across schema versions.
pub fn dump(conn: &mut SqliteConnection, table: &str, fields: &str, order: &str) -> String {
    opt_text(
        conn,
        &format!(
            "SELECT json_group_array(json_object({fields})) AS v \
             FROM (SELECT * FROM {table} ORDER BY {order})"
        ),
    )
    .expect("json_group_array is never NULL")
}

/// The values of the legacy tables that survive adoption unchanged, by columns both the old
/// and the new schema have.
pub fn legacy_values(conn: &mut SqliteConnection) -> Vec<String> {
    let mut values = vec![
        dump(
            conn,
            "users",
            "'id', id, 'telegram_id', telegram_id, 'username', username, \
             'first_name', first_name, 'last_name', last_name, 'created_at', created_at",
            "id",
        ),
        dump(
            conn,
            "masters",
            "'id', id, 'telegram_id', telegram_id, 'phone', phone, \
             'specialization', specialization, 'is_active', is_active, \
             'is_approved', is_approved, 'created_at', created_at",
            "id",
        ),
        dump(
            conn,
            "orders",
            "'id', id, 'equipment_type', equipment_type, 'description', description, \
             'client_name', client_name, 'client_address', client_address, \
             'client_phone', client_phone, 'status', status, \
             'assigned_master_id', assigned_master_id, 'dispatcher_id', dispatcher_id, \
             'notes', notes, 'created_at', created_at, 'updated_at', updated_at",
            "id",
        ),
    ];
    let audit_time = if column_exists(conn, "audit_log", "timestamp") {
        "timestamp"
    } else {
        "created_at"
    };
    values.push(dump(
        conn,
        "audit_log",
        &format!(
            "'id', id, 'user_id', user_id, 'action', action, 'details', details, \
             'at', {audit_time}"
        ),
        "id",
    ));
    if table_exists(conn, "order_status_history") {
        values.push(dump(
            conn,
            "order_status_history",
            "'id', id, 'order_id', order_id, 'old_status', old_status, \
             'new_status', new_status, 'changed_by', changed_by, 'changed_at', changed_at, \
             'notes', notes",
            "id",
        ));
    }
    values
}

pub fn column_exists(conn: &mut SqliteConnection, table: &str, column: &str) -> bool {
    int(
        conn,
        &format!("SELECT COUNT(*) AS v FROM pragma_table_info('{table}') WHERE name = '{column}'"),
    ) == 1
}

/// Every row of every application table of the current (rebuilt) schema, as JSON. Excludes
/// only timestamps written at migration time (`adoption_orphans.recorded_at`).
pub fn full_dump(conn: &mut SqliteConnection) -> Vec<String> {
    vec![
        dump(
            conn,
            "users",
            "'id', id, 'telegram_id', telegram_id, 'username', username, \
             'first_name', first_name, 'last_name', last_name, 'created_at', created_at, \
             'updated_at', updated_at",
            "id",
        ),
        dump(
            conn,
            "user_roles",
            "'telegram_id', telegram_id, 'role', role, 'granted_at', granted_at",
            "telegram_id, role",
        ),
        dump(
            conn,
            "masters",
            "'id', id, 'telegram_id', telegram_id, 'phone', phone, \
             'specialization', specialization, 'is_active', is_active, \
             'is_approved', is_approved, 'work_chat_id', work_chat_id, \
             'created_at', created_at, 'updated_at', updated_at",
            "id",
        ),
        dump(
            conn,
            "orders",
            "'id', id, 'equipment_type', equipment_type, 'description', description, \
             'client_name', client_name, 'client_address', client_address, \
             'client_phone', client_phone, 'status', status, \
             'assigned_master_id', assigned_master_id, 'dispatcher_id', dispatcher_id, \
             'notes', notes, 'scheduled_time', scheduled_time, \
             'total_kopecks', total_kopecks, 'materials_kopecks', materials_kopecks, \
             'master_share_kopecks', master_share_kopecks, \
             'company_share_kopecks', company_share_kopecks, 'has_review', has_review, \
             'created_at', created_at, 'updated_at', updated_at",
            "id",
        ),
        dump(
            conn,
            "order_status_history",
            "'id', id, 'order_id', order_id, 'old_status', old_status, \
             'new_status', new_status, 'changed_by', changed_by, 'changed_at', changed_at, \
             'notes', notes",
            "id",
        ),
        dump(
            conn,
            "audit_log",
            "'id', id, 'user_id', user_id, 'action', action, 'entity_type', entity_type, \
             'entity_id', entity_id, 'details', details, 'created_at', created_at",
            "id",
        ),
        dump(
            conn,
            "adoption_orphans",
            "'table_name', table_name, 'row_id', row_id, 'column_name', column_name, \
             'missing_value', missing_value, 'row_data', row_data",
            "id",
        ),
    ]
}

/// `PRAGMA foreign_key_check` as rows (empty when every reference resolves).
pub fn foreign_key_problems(conn: &mut SqliteConnection) -> Vec<Option<String>> {
    texts(
        conn,
        "SELECT \"table\" || ' rowid ' || rowid || ' -> ' || parent AS v \
         FROM pragma_foreign_key_check",
    )
}

/// The versions diesel records as applied.
pub fn applied_versions(conn: &mut SqliteConnection) -> Vec<String> {
    texts(
        conn,
        "SELECT version AS v FROM __diesel_schema_migrations ORDER BY version",
    )
    .into_iter()
    .flatten()
    .collect()
}

pub fn names(catalog: &Catalog) -> Vec<String> {
    catalog.all().iter().map(|m| m.name.to_string()).collect()
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The bot's settings for tests: explicit, whatever the machine's environment says; no
/// daily jobs, quiet hours 22:00-08:00 Moscow, no sending pace (tests of the pace set it).
pub fn bot_config(token: &str, admins: &[i64], dispatchers: &[i64]) -> BotConfig {
    BotConfig {
        token: token.into(),
        api_url: None,
        env_roles: EnvRoles {
            admins: admins.iter().map(|&id| TelegramId(id)).collect(),
            dispatchers: dispatchers.iter().map(|&id| TelegramId(id)).collect(),
        },
        timezone: chrono_tz::Europe::Moscow,
        pay: PayRules::default(),
        notify_staff_on_new_order: true,
        reminders: ReminderPolicy {
            first: TimeDelta::minutes(15),
            max: 3,
        },
        sla: SlaPolicy {
            new: TimeDelta::hours(2),
            assigned: TimeDelta::hours(4),
            accepted: TimeDelta::hours(8),
            onsite: TimeDelta::hours(12),
        },
        quiet_hours: Some(QuietHours {
            start: chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        }),
        backup_at: None,
        summary_at: None,
        reports: ReportSchedule::default(),
        send_limits: SendLimits::unlimited(),
        health: repair_bot::health::Limits::default(),
        metrics_addr: None,
        webhook: None,
        // The manual clock stands still: no bucket would ever refill.
        rate_limit: None,
        visit_reminder: Some(TimeDelta::hours(2)),
        warranty: TimeDelta::days(90),
    }
}

/// `repair-bot sandbox ARGS` run in `dir` (no database setting of this process leaks in);
/// its stdout, once it has exited 0 (else the test fails with both outputs).
pub fn sandbox(dir: &Path, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_repair-bot"))
        .arg("sandbox")
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_PATH")
        .current_dir(dir)
        .output()
        .expect("run repair-bot sandbox");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "a check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
