//! Backups (SPEC 1.4): verified online copies, retention, restore, and what happens when the
//! backup folder cannot be written (no backup, no migration).

use std::fs;
use std::thread::sleep;
use std::time::Duration;

use crate::support::*;
use repair_bot::db::backup::{self, BackupPolicy, BackupReason};
use repair_bot::db::connection::DatabaseLock;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::operations;
use repair_bot::db::startup;
use repair_bot::db::DbError;

/// A migrated database adopted from fixture C.
fn migrated() -> Sandbox {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    sandbox
}

fn policy(dir: std::path::PathBuf, keep: usize) -> BackupPolicy {
    BackupPolicy {
        dir,
        keep,
        copy: None,
    }
}

#[test]
fn create_verify_restore_brings_rows_back() {
    let sandbox = migrated();
    let settings = sandbox.settings();
    let rows = full_dump(&mut sandbox.conn());

    let file = backup::create(&sandbox.db, &settings.backup, &BackupReason::Manual).unwrap();
    assert!(file.starts_with(&sandbox.backups), "{}", file.display());
    assert!(file.to_string_lossy().ends_with("__manual.db"));
    assert!(file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("bot_database__"));
    assert_eq!(
        backup::verify(&file).unwrap().schema_version.as_deref(),
        Some(NEWEST_VERSION)
    );
    // A consistent copy: the same rows and schema, one self-contained file.
    assert_eq!(full_dump(&mut connect(&file)), rows);
    assert_eq!(snapshot_of(&file), sandbox.snapshot());

    execute(
        &sandbox.db,
        "DELETE FROM order_status_history; DELETE FROM orders;",
    );
    assert_eq!(count(&mut sandbox.conn(), "orders"), 0);

    let restored = operations::restore(&settings, &file).expect("restore");
    assert_eq!(restored.schema_version.as_deref(), Some(NEWEST_VERSION));
    let pre = restored
        .pre_restore_backup
        .expect("the current database is backed up first");
    assert!(pre.is_file());
    assert!(pre.to_string_lossy().ends_with("__pre-restore.db"));
    // The pre-restore backup holds the database as it was (orders deleted).
    assert_eq!(count(&mut connect(&pre), "orders"), 0);

    let mut conn = sandbox.conn();
    assert_eq!(full_dump(&mut conn), rows);
    assert_eq!(count(&mut conn, "orders"), 8);
    assert_eq!(count(&mut conn, "order_status_history"), 2);
    drop(conn);
    // The restored database starts without migrating.
    assert_eq!(sandbox.migrate(), Default::default());
}

#[test]
fn restore_is_refused_while_the_database_is_locked() {
    let sandbox = migrated();
    let settings = sandbox.settings();
    let file = backup::create(&sandbox.db, &settings.backup, &BackupReason::Manual).unwrap();
    execute(&sandbox.db, "DELETE FROM audit_log;");
    let before = sandbox.bytes();
    let backups = sandbox.backup_files();

    let lock = DatabaseLock::acquire(&sandbox.db).unwrap();
    let error = operations::restore(&settings, &file).unwrap_err();
    assert!(matches!(error, DbError::Locked { .. }), "{error:?}");
    assert_eq!(sandbox.bytes(), before);
    assert_eq!(sandbox.backup_files(), backups, "no pre-restore backup");

    let output = sandbox.run_cli(&["backup", "restore", file.to_str().unwrap()]);
    output.assert_failure();
    assert!(output.stderr.contains("in use"), "{output:#?}");
    assert_eq!(sandbox.bytes(), before);

    drop(lock);
    let output = sandbox.run_cli(&["backup", "restore", file.to_str().unwrap()]);
    output.assert_success();
    assert_eq!(count(&mut sandbox.conn(), "audit_log"), 4);
}

#[test]
fn restore_refuses_a_corrupt_backup_and_keeps_the_database() {
    let sandbox = migrated();
    let settings = sandbox.settings();
    let file = backup::create(&sandbox.db, &settings.backup, &BackupReason::Manual).unwrap();
    let corrupt = sandbox.path("corrupt.db");
    let bytes = fs::read(&file).unwrap();
    fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    let before = sandbox.bytes();
    let backups = sandbox.backup_files();

    assert!(operations::restore(&settings, &corrupt).is_err());
    assert_eq!(sandbox.bytes(), before);
    assert_eq!(sandbox.backup_files(), backups);
}

#[test]
fn verify_fails_on_a_truncated_backup() {
    let sandbox = migrated();
    let file = backup::create(
        &sandbox.db,
        &sandbox.settings().backup,
        &BackupReason::Manual,
    )
    .unwrap();
    backup::verify(&file).expect("the intact backup verifies");
    let corrupt = sandbox.path("half.db");
    let bytes = fs::read(&file).unwrap();
    assert!(bytes.len() >= 4 * 4096, "the backup spans several pages");
    fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    let error = backup::verify(&corrupt).unwrap_err();
    assert!(
        error.to_string().contains("half.db"),
        "names the file: {error}"
    );

    // A file that does not exist, and one that is not a database.
    assert!(backup::verify(&sandbox.path("missing.db")).is_err());
    let text = sandbox.path("notes.db");
    fs::write(
        &text,
        "not a database at all, just some text that is long enough",
    )
    .unwrap();
    assert!(backup::verify(&text).is_err());

    let output = sandbox.run_cli(&["backup", "verify", corrupt.to_str().unwrap()]);
    output.assert_failure();
    let output = sandbox.run_cli(&["backup", "verify", file.to_str().unwrap()]);
    output.assert_success();
    assert!(output.stdout.contains(NEWEST_VERSION), "{output:#?}");
}

#[test]
fn backup_into_a_missing_folder_creates_it() {
    let sandbox = migrated();
    let dir = sandbox.path("deep/er/backups");
    assert!(!dir.exists());
    let file = backup::create(&sandbox.db, &policy(dir.clone(), 5), &BackupReason::Manual).unwrap();
    assert!(dir.is_dir());
    assert_eq!(file.parent(), Some(dir.as_path()));
    backup::verify(&file).unwrap();
}

#[test]
fn backup_into_an_unwritable_folder_fails_clearly() {
    let sandbox = migrated();
    // A folder below a regular file cannot be created, not even by root.
    fs::write(sandbox.path("afile"), b"x").unwrap();
    let dir = sandbox.path("afile/backups");
    let error = backup::create(&sandbox.db, &policy(dir, 5), &BackupReason::Manual).unwrap_err();
    assert!(matches!(error, DbError::Backup { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("afile/backups"), "{message}");
    assert!(message.contains("backup folder"), "{message}");
}

#[test]
fn no_backup_no_migration() {
    let sandbox = Sandbox::with_fixture("C");
    fs::write(sandbox.path("afile"), b"x").unwrap();
    let before = sandbox.bytes();
    let mut settings = sandbox.settings();
    settings.backup.dir = sandbox.path("afile/backups");

    let error = match startup::prepare(&settings, &Catalog::embedded()) {
        Ok(prepared) => panic!("migrated without a backup: {:?}", prepared.report),
        Err(error) => error,
    };
    assert!(matches!(error, DbError::Backup { .. }), "{error:?}");
    assert_eq!(
        sandbox.bytes(),
        before,
        "no migration may run without a backup"
    );
    assert!(!table_exists(
        &mut sandbox.conn(),
        "__diesel_schema_migrations"
    ));

    // The same through the CLI.
    let output = sandbox
        .cli(&["migrate", "run"])
        .env("BACKUP_DIR", sandbox.path("afile/backups"))
        .output()
        .unwrap();
    let output = CliOutput::from(output);
    output.assert_failure();
    assert!(output.stderr.contains("afile/backups"), "{output:#?}");
    assert_eq!(sandbox.bytes(), before);
}

#[test]
fn retention_keeps_the_newest_and_the_newest_pre_migrate() {
    let sandbox = migrated();
    // The adoption took one pre-migrate backup; start from a clean folder.
    for file in sandbox.backup_files() {
        fs::remove_file(file).unwrap();
    }
    let keep3 = policy(sandbox.backups.clone(), 3);
    let take = |reason: BackupReason| {
        // Names carry milliseconds: keep the order of creation unambiguous.
        sleep(Duration::from_millis(3));
        backup::create(&sandbox.db, &keep3, &reason).unwrap()
    };

    let old_pre_migrate = take(BackupReason::PreMigrate("20250101000005".into()));
    let newest_pre_migrate = take(BackupReason::PreMigrate(REBUILD_VERSION.into()));
    let manual: Vec<_> = (0..5).map(|_| take(BackupReason::Manual)).collect();

    let listed = backup::list(&sandbox.db, &sandbox.backups).unwrap();
    let listed_paths: Vec<_> = listed.iter().map(|b| b.path.clone()).collect();
    assert_eq!(
        listed_paths,
        vec![
            manual[4].clone(),
            manual[3].clone(),
            manual[2].clone(),
            newest_pre_migrate.clone()
        ],
        "newest first: the three newest plus the newest pre-migrate"
    );
    assert!(!old_pre_migrate.exists());
    assert!(!manual[0].exists() && !manual[1].exists());
    assert!(listed.windows(2).all(|w| w[0].taken_at >= w[1].taken_at));
    assert_eq!(listed[0].reason, "manual");
    assert_eq!(listed[3].reason, format!("pre-migrate-{REBUILD_VERSION}"));
    assert!(listed.iter().all(|b| b.size > 0));

    // Without pre-migrate backups in the folder, exactly `keep` remain.
    let other = policy(sandbox.path("other"), 3);
    for _ in 0..5 {
        sleep(Duration::from_millis(3));
        backup::create(&sandbox.db, &other, &BackupReason::Manual).unwrap();
    }
    assert_eq!(backup::list(&sandbox.db, &other.dir).unwrap().len(), 3);
    assert_eq!(files_in(&other.dir).len(), 3, "no partial or stray files");
}

#[test]
fn retention_ignores_files_of_other_databases() {
    let sandbox = migrated();
    let dir = sandbox.path("shared");
    fs::create_dir_all(&dir).unwrap();
    let foreign = dir.join("other_city__20200101T000000.000Z__manual.db");
    let notes = dir.join("README.txt");
    fs::write(&foreign, b"another database's backup").unwrap();
    fs::write(&notes, b"keep me").unwrap();
    for _ in 0..3 {
        sleep(Duration::from_millis(3));
        backup::create(&sandbox.db, &policy(dir.clone(), 1), &BackupReason::Manual).unwrap();
    }
    assert!(foreign.exists() && notes.exists());
    assert_eq!(backup::list(&sandbox.db, &dir).unwrap().len(), 1);
}

#[test]
fn restore_onto_a_missing_database_creates_it() {
    let sandbox = migrated();
    let rows = full_dump(&mut sandbox.conn());
    let file = backup::create(
        &sandbox.db,
        &sandbox.settings().backup,
        &BackupReason::Manual,
    )
    .unwrap();
    fs::remove_file(&sandbox.db).unwrap();
    let _ = fs::remove_file(sandbox.path("bot_database.db-wal"));
    let _ = fs::remove_file(sandbox.path("bot_database.db-shm"));

    let restored = operations::restore(&sandbox.settings(), &file).unwrap();
    assert_eq!(restored.pre_restore_backup, None, "nothing to save first");
    assert_eq!(full_dump(&mut sandbox.conn()), rows);
}

#[test]
fn restore_of_an_old_bot_backup_is_adopted_again_at_the_next_start() {
    let sandbox = Sandbox::with_fixture("A1");
    let report = sandbox.migrate();
    let old = report.backup.expect("pre-migrate backup");
    let restored = operations::restore(&sandbox.settings(), &old).unwrap();
    assert_eq!(restored.schema_version, None);
    assert!(!table_exists(&mut sandbox.conn(), "user_roles"));
    let again = sandbox.migrate();
    assert_eq!(again.stamped, strings(&[STEP1, STEP2]));
    assert_eq!(sandbox.snapshot(), fresh_schema());
}

/// The embedded migrations plus one newer migration that always fails: every start with this
/// catalog backs up, migrates what it can and exits with an error.
fn failing_catalog() -> Catalog {
    let mut migrations = Catalog::embedded().all().to_vec();
    migrations.push(repair_bot::db::migrations::MigrationSource {
        name: "2999-01-01-000001_always_fails",
        up_sql: "INSERT INTO no_such_table VALUES (1);",
        down_sql: "",
    });
    Catalog::new(migrations)
}

fn failing_start(settings: &startup::DatabaseSettings) -> std::path::PathBuf {
    match startup::prepare(settings, &failing_catalog()) {
        Ok(_) => panic!("the failing migration succeeded"),
        Err(DbError::MigrationFailed {
            backup: Some(file), ..
        }) => file,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn retention_keeps_the_backup_from_before_a_series_of_failed_starts() {
    let sandbox = Sandbox::with_fixture("C");
    let before = legacy_values(&mut sandbox.conn());
    let settings = sandbox.settings_keep(2);

    // The first failing start adopts the old database (those commits stay) and fails on the
    // newest migration; every next one backs up the half-migrated database and fails again.
    let original = failing_start(&settings);
    let retries: Vec<_> = (0..4).map(|_| failing_start(&settings)).collect();

    let kept: Vec<_> = backup::list(&sandbox.db, &sandbox.backups)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(
        kept,
        vec![retries[3].clone(), retries[2].clone(), original.clone()],
        "the two newest and the one from before the failures"
    );
    assert_eq!(backup::verify(&original).unwrap().schema_version, None);
    assert_eq!(legacy_values(&mut connect(&original)), before);

    // Once a migration succeeds, the backup taken before it is an ordinary old backup, and a
    // series of failures after it keeps its own first backup.
    let sandbox2 = Sandbox::new();
    let settings2 = sandbox2.settings_keep(2);
    let older: Vec<String> = Catalog::embedded()
        .all()
        .iter()
        .map(|m| m.version())
        .filter(|v| v.as_str() != NEWEST_VERSION)
        .collect();
    let without_newest = Catalog::new(
        Catalog::embedded()
            .all()
            .iter()
            .filter(|m| older.contains(&m.version()))
            .cloned()
            .collect(),
    );
    drop(startup::prepare(&settings2, &without_newest).unwrap());
    let upgrade = startup::prepare(&settings2, &Catalog::embedded()).unwrap();
    let upgraded_from = upgrade.report.backup.clone().expect("pre-migrate backup");
    drop(upgrade);
    let first_failure = failing_start(&settings2);
    for _ in 0..3 {
        failing_start(&settings2);
    }
    let kept: Vec<_> = backup::list(&sandbox2.db, &sandbox2.backups)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(kept.len(), 3, "{kept:#?}");
    assert_eq!(
        kept[2], first_failure,
        "the first backup after the last success"
    );
    assert!(
        !upgraded_from.exists(),
        "the backup before the last successful migration is an ordinary old backup"
    );
}

#[test]
fn a_backup_being_written_is_not_taken_for_a_leftover() {
    let sandbox = migrated();
    fs::create_dir_all(&sandbox.backups).unwrap();
    let partial = sandbox
        .backups
        .join("bot_database__20261123T101500.123Z__manual.db.partial");
    let journal = sandbox
        .backups
        .join("bot_database__20261123T101500.123Z__manual.db.partial-journal");
    fs::write(&journal, b"journal").unwrap();
    // What `backup create` holds while it writes the copy.
    let writer = fs::File::create(&partial).unwrap();
    writer.lock().unwrap();
    let cleanup = backup::remove_incomplete(&sandbox.db, &sandbox.backups).unwrap();
    assert!(cleanup.removed.is_empty(), "{cleanup:?}");
    assert!(partial.exists() && journal.exists());
    assert_eq!(
        backup::list_incomplete(&sandbox.db, &sandbox.backups)
            .unwrap()
            .len(),
        2
    );

    drop(writer);
    let cleanup = backup::remove_incomplete(&sandbox.db, &sandbox.backups).unwrap();
    assert_eq!(cleanup.removed.len(), 2, "{cleanup:?}");
    assert!(!partial.exists() && !journal.exists());
}
