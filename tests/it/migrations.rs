//! The migration chain itself (SPEC 1.1, 1.3 steps 4 and 6, 1.5): every down.sql undoes its
//! up.sql on a database holding rows, revert/redo back up first, a failing migration leaves
//! nothing behind, and databases newer than the binary, edited migrations or a held lock are
//! refused without a change.

use std::fs;
use std::path::Path;

use crate::support::*;
use repair_bot::db::backup;
use repair_bot::db::connection::DatabaseLock;
use repair_bot::db::migrations::{self, Catalog, MigrationSource};
use repair_bot::db::operations;
use repair_bot::db::startup;
use repair_bot::db::DbError;

#[test]
fn catalog_lists_exactly_the_migration_folders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut folders: Vec<String> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let catalog = Catalog::embedded();
    assert_eq!(names(&catalog), folders);

    // The embedded text is the text of the folders (the binary ships what is checked in).
    for migration in catalog.all() {
        let dir = root.join(migration.name);
        assert_eq!(
            migration.up_sql,
            fs::read_to_string(dir.join("up.sql")).unwrap(),
            "{}: up.sql",
            migration.name
        );
        assert_eq!(
            migration.down_sql,
            fs::read_to_string(dir.join("down.sql")).unwrap(),
            "{}: down.sql",
            migration.name
        );
    }
    // Versions are unique and strictly increasing.
    let versions: Vec<String> = catalog.all().iter().map(|m| m.version()).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert_eq!(catalog.latest_version().as_deref(), Some(NEWEST_VERSION));
}

fn row_counts(conn: &mut diesel::SqliteConnection) -> Vec<(String, i64)> {
    let tables: Vec<String> = texts(
        conn,
        "SELECT name AS v FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__diesel_schema_migrations' \
         AND name <> 'migration_ledger' ORDER BY name",
    )
    .into_iter()
    .flatten()
    .collect();
    tables
        .into_iter()
        .map(|t| {
            let n = count(conn, &t);
            (t, n)
        })
        .collect()
}

#[test]
fn every_migration_goes_up_down_up_to_the_identical_schema_with_rows() {
    let sandbox = Sandbox::with_fixture("C");
    let catalog = Catalog::embedded();
    let mut prepared = startup::prepare(&sandbox.settings(), &catalog).expect("adopt C");
    let conn = &mut prepared.connection;

    for migration in catalog.all().iter().rev() {
        let before = repair_bot::db::snapshot::read(conn).unwrap();
        let counts_before = row_counts(conn);
        let rows_before = if migration.name == REBUILD {
            Some(full_dump(conn))
        } else {
            None
        };

        migrations::revert_one(conn, migration)
            .unwrap_or_else(|e| panic!("revert {}: {e}", migration.name));
        let reverted = repair_bot::db::snapshot::read(conn).unwrap();
        assert_ne!(
            reverted, before,
            "{}: down.sql changed nothing",
            migration.name
        );
        assert!(
            !applied_versions(conn).contains(&migration.version()),
            "{}: still recorded as applied",
            migration.name
        );

        migrations::run_one(conn, migration)
            .unwrap_or_else(|e| panic!("re-run {}: {e}", migration.name));
        let after = repair_bot::db::snapshot::read(conn).unwrap();
        assert_eq!(
            after,
            before,
            "{}: up, down, up differs: {:#?}",
            migration.name,
            after.differences(&before)
        );
        assert!(applied_versions(conn).contains(&migration.version()));

        // Rows survive wherever down.sql keeps them: everything for the rebuild, every
        // table but the one dropped for the legacy steps that add a table.
        match migration.name {
            REBUILD => {
                assert_eq!(
                    Some(full_dump(conn)),
                    rows_before,
                    "rebuild lost or changed rows"
                );
                assert_eq!(count(conn, "orders"), 8);
                assert_eq!(
                    opt_int(conn, "SELECT total_kopecks AS v FROM orders WHERE id = 6"),
                    Some(350050)
                );
                assert_eq!(
                    opt_int(
                        conn,
                        "SELECT company_share_kopecks AS v FROM orders WHERE id = 6"
                    ),
                    Some(180015)
                );
            }
            STEP1 | LEDGER => {}
            STEP5 => {
                let keep = |c: &Vec<(String, i64)>| -> Vec<(String, i64)> {
                    c.iter()
                        .filter(|(t, _)| t != "order_status_history")
                        .cloned()
                        .collect()
                };
                assert_eq!(keep(&row_counts(conn)), keep(&counts_before), "{STEP5}");
            }
            _ => assert_eq!(row_counts(conn), counts_before, "{}", migration.name),
        }
        if migration.name != STEP1 && migration.name != LEDGER {
            assert!(
                count(conn, "orders") > 0,
                "{}: the test must run on rows",
                migration.name
            );
        }

        // Down to the next one.
        migrations::revert_one(conn, migration)
            .unwrap_or_else(|e| panic!("revert {} again: {e}", migration.name));
        assert_eq!(repair_bot::db::snapshot::read(conn).unwrap(), reverted);
    }
    assert!(repair_bot::db::snapshot::read(conn)
        .unwrap()
        .tables
        .is_empty());
}

#[test]
fn rebuild_round_trip_keeps_legacy_values_of_every_shape() {
    // down.sql of the rebuild brings back the legacy tables exactly as the legacy steps leave
    // them, with the same values (roles as text, kopecks as rubles).
    let catalog = Catalog::embedded();
    let rebuild = catalog.get(REBUILD_VERSION).unwrap();
    for shape in ["A0", "B"] {
        let sandbox = Sandbox::with_fixture(shape);
        let legacy_before = legacy_values(&mut sandbox.conn());
        let mut prepared = startup::prepare(&sandbox.settings(), &catalog).unwrap();
        let conn = &mut prepared.connection;
        for name in AFTER_REBUILD.iter().rev() {
            let newer = catalog.all().iter().find(|m| m.name == *name).unwrap();
            migrations::revert_one(conn, newer).unwrap();
        }
        migrations::revert_one(conn, rebuild).unwrap();
        let legacy_after = legacy_values(conn);
        assert_eq!(legacy_after[..4], legacy_before[..4], "{shape}");
        if shape == "A0" {
            // The history table came with step 5 when A0 was adopted; it is still empty.
            assert_eq!(legacy_after[4], "[]");
        } else {
            assert_eq!(legacy_after, legacy_before, "{shape}");
        }
        assert_eq!(
            texts(
                conn,
                "SELECT role AS v FROM users WHERE telegram_id IN (100000004, 100000005) \
                 ORDER BY telegram_id"
            ),
            vec![
                Some("DISPATCHER,MASTER".to_string()),
                Some("UNKNOWN".to_string())
            ],
            "{shape}"
        );
        if shape == "B" {
            assert_eq!(
                texts(
                    conn,
                    "SELECT printf('%.2f', total_amount) AS v FROM orders WHERE id = 6"
                ),
                vec![Some("3500.50".to_string())]
            );
        }
        let expected = catalog
            .expected_schema(
                catalog
                    .all()
                    .iter()
                    .map(|m| m.version())
                    .filter(|v| v.as_str() < REBUILD_VERSION)
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .unwrap();
        let actual = repair_bot::db::snapshot::read(conn).unwrap();
        assert_eq!(
            actual,
            expected,
            "{shape}: {:#?}",
            actual.differences(&expected)
        );
    }
}

#[test]
fn rebuild_reverts_on_a_database_adopted_with_dangling_references() {
    // Adoption set dangling references aside in adoption_orphans; reverting the rebuild
    // must put them back where they were (down.sql says so) and redoing must adopt again.
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "INSERT INTO orders (id, equipment_type, description, client_name, client_address, \
             client_phone, status, assigned_master_id, dispatcher_id) \
         VALUES (9, 'Телевизоры', 'Мастер удалён', 'Клиент', 'ул. Тестовая 1', '+79000000009', \
             'ASSIGNED', 99, 100000002); \
         INSERT INTO order_status_history (id, order_id, old_status, new_status, changed_by) \
         VALUES (3, 9999, 'NEW', 'ASSIGNED', 100000002);",
    );
    let catalog = Catalog::embedded();
    let rebuild = catalog.get(REBUILD_VERSION).unwrap();
    let mut prepared = startup::prepare(&sandbox.settings(), &catalog).unwrap();
    let conn = &mut prepared.connection;
    let adopted = full_dump(conn);

    migrations::revert_one(conn, rebuild).expect("revert the rebuild of an adopted database");
    assert_eq!(
        opt_int(
            conn,
            "SELECT assigned_master_id AS v FROM orders WHERE id = 9"
        ),
        Some(99)
    );
    assert_eq!(
        opt_int(
            conn,
            "SELECT order_id AS v FROM order_status_history WHERE id = 3"
        ),
        Some(9999)
    );
    migrations::run_one(conn, rebuild).expect("redo the rebuild");
    assert_eq!(full_dump(conn), adopted);
}

#[test]
fn revert_and_redo_back_up_first() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    let catalog = Catalog::embedded();
    let settings = sandbox.settings();
    let rows = full_dump(&mut sandbox.conn());
    let schema = sandbox.snapshot();

    let redo = operations::redo(&settings, &catalog).expect("redo");
    assert!(redo.backup.is_file(), "{}", redo.backup.display());
    assert!(
        redo.backup
            .to_string_lossy()
            .ends_with(&format!("__pre-revert-{NEWEST_VERSION}.db")),
        "{}",
        redo.backup.display()
    );
    assert_eq!(redo.reverted, strings(&[NEWEST]));
    assert_eq!(redo.reapplied, strings(&[NEWEST]));
    assert_eq!(
        backup::verify(&redo.backup)
            .unwrap()
            .schema_version
            .as_deref(),
        Some(NEWEST_VERSION)
    );
    assert_eq!(sandbox.snapshot(), schema);
    assert_eq!(full_dump(&mut sandbox.conn()), rows);

    // Down past the rebuild and the step before it.
    let steps = AFTER_REBUILD.len() + 2;
    let revert = operations::revert(&settings, &catalog, steps).expect("revert");
    let mut expected_reverted: Vec<String> =
        AFTER_REBUILD.iter().rev().map(|s| s.to_string()).collect();
    expected_reverted.extend(strings(&[REBUILD, STEP5]));
    assert_eq!(revert.reverted, expected_reverted);
    assert!(revert.reapplied.is_empty());
    assert!(revert.backup.is_file());
    assert_ne!(revert.backup, redo.backup);
    assert!(revert
        .backup
        .to_string_lossy()
        .ends_with(&format!("__pre-revert-{NEWEST_VERSION}.db")));
    // The backup holds the database as it was before the revert.
    {
        let mut copy = connect(&revert.backup);
        assert_eq!(full_dump(&mut copy), rows);
    }
    let mut conn = sandbox.conn();
    assert!(!table_exists(&mut conn, "order_status_history"));
    assert!(!table_exists(&mut conn, "user_roles"));
    assert_eq!(count(&mut conn, "orders"), 8);
    let status = operations::status(&settings, &catalog, false).unwrap();
    let mut expected_pending = strings(&["20250101000005", REBUILD_VERSION]);
    // Every migration after the rebuild, as versions.
    expected_pending.extend(
        AFTER_REBUILD
            .iter()
            .map(|name| name.split('_').next().unwrap().replace('-', "")),
    );
    assert_eq!(status.comparison.pending, expected_pending);
    assert!(status.schema_differences.is_empty(), "{status:?}");

    // Startup brings it back up.
    drop(conn);
    let report = sandbox.migrate();
    assert_eq!(report.ran, then_after_rebuild(&[STEP5, REBUILD]));
    assert_eq!(sandbox.snapshot(), schema);
}

#[test]
fn revert_is_refused_while_the_database_is_locked() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    let before = sandbox.bytes();
    let _lock = DatabaseLock::acquire(&sandbox.db).unwrap();
    let error = operations::revert(&sandbox.settings(), &Catalog::embedded(), 1).unwrap_err();
    assert!(matches!(error, DbError::Locked { .. }), "{error:?}");
    assert_eq!(sandbox.bytes(), before);
    assert!(
        sandbox.backup_files().len() == 1,
        "only the pre-migrate backup"
    );
}

fn broken_catalog() -> Catalog {
    let mut all = Catalog::embedded().all().to_vec();
    all.push(MigrationSource {
        name: "2099-01-01-000001_broken",
        up_sql: "CREATE TABLE x (id INTEGER); INSERT INTO nope VALUES (1);",
        down_sql: "DROP TABLE x;",
    });
    Catalog::new(all)
}

#[test]
fn failing_migration_leaves_the_database_as_it_was() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    let schema = sandbox.snapshot();
    let rows = full_dump(&mut sandbox.conn());
    let applied = applied_versions(&mut sandbox.conn());

    let error = match startup::prepare(&sandbox.settings(), &broken_catalog()) {
        Ok(_) => panic!("the broken migration must fail"),
        Err(error) => error,
    };
    let DbError::MigrationFailed {
        name,
        detail,
        backup,
    } = &error
    else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!(name, "2099-01-01-000001_broken");
    assert!(detail.contains("nope"), "SQLite's error: {detail}");
    let message = error.to_string();
    assert!(message.contains("2099-01-01-000001_broken"), "{message}");
    // A backup was taken before and the error says where it is.
    let backup = backup.as_ref().expect("the error names the backup");
    assert!(backup.is_file());
    assert!(message.contains(&backup.display().to_string()), "{message}");

    let mut conn = sandbox.conn();
    assert_eq!(sandbox.snapshot(), schema);
    assert!(!table_exists(&mut conn, "x"));
    assert_eq!(full_dump(&mut conn), rows);
    assert_eq!(applied_versions(&mut conn), applied);
    assert_eq!(
        int(
            &mut conn,
            "SELECT COUNT(*) AS v FROM __diesel_schema_migrations WHERE version = '20990101000001'"
        ),
        0
    );
    assert_eq!(
        int(
            &mut conn,
            "SELECT COUNT(*) AS v FROM migration_ledger WHERE version = '20990101000001'"
        ),
        0
    );
    // Foreign keys are back on for the connection that survives a failure, and the database
    // still starts with the shipped catalog.
    drop(conn);
    assert_eq!(sandbox.migrate(), Default::default());
}

#[test]
fn failing_migration_in_a_fresh_database_keeps_the_migrations_before_it() {
    let sandbox = Sandbox::new();
    let error = match startup::prepare(&sandbox.settings(), &broken_catalog()) {
        Ok(_) => panic!("the broken migration must fail"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, DbError::MigrationFailed { name, .. } if name == "2099-01-01-000001_broken"),
        "{error:?}"
    );
    // Each migration is its own transaction: the ones before it stay applied.
    assert_eq!(
        applied_versions(&mut sandbox.conn()),
        Catalog::embedded()
            .all()
            .iter()
            .map(|m| m.version())
            .collect::<Vec<_>>()
    );
    assert_eq!(sandbox.snapshot(), fresh_schema());
}

#[test]
fn startup_is_refused_while_the_lock_is_held() {
    let sandbox = Sandbox::with_fixture("C");
    let before = sandbox.bytes();
    let lock = DatabaseLock::acquire(&sandbox.db).unwrap();
    let error = match startup::prepare(&sandbox.settings(), &Catalog::embedded()) {
        Ok(_) => panic!("startup must not run while the lock is held"),
        Err(error) => error,
    };
    assert!(matches!(error, DbError::Locked { .. }), "{error:?}");
    assert!(error.to_string().contains("in use"), "{error}");
    assert_eq!(sandbox.bytes(), before);
    assert!(sandbox.backup_files().is_empty());

    // A second bot process is refused too.
    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_failure();
    assert!(
        output.stderr.contains("in use") && output.stderr.contains("lock"),
        "{output:#?}"
    );
    assert_eq!(sandbox.bytes(), before);

    // Once released, startup goes through.
    drop(lock);
    let report = sandbox.migrate();
    assert_eq!(report.stamped.len(), 5);
}

#[test]
fn startup_holds_the_lock_while_prepared() {
    let sandbox = Sandbox::new();
    let prepared = startup::prepare(&sandbox.settings(), &Catalog::embedded()).unwrap();
    let error = DatabaseLock::acquire(&sandbox.db).unwrap_err();
    assert!(matches!(error, DbError::Locked { .. }), "{error:?}");
    drop(prepared);
    DatabaseLock::acquire(&sandbox.db).expect("released with the prepared database");
}

#[test]
fn database_newer_than_the_binary_is_refused() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    execute(
        &sandbox.db,
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20990101000001');",
    );
    let backups = sandbox.backup_files();
    let before = sandbox.bytes();

    let error = match startup::prepare(&sandbox.settings(), &Catalog::embedded()) {
        Ok(_) => panic!("a database newer than the binary must be refused"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, DbError::NewerThanBinary { versions, .. }
            if versions == &strings(&["20990101000001"])),
        "{error:?}"
    );
    assert!(error.to_string().contains("20990101000001"));
    assert_eq!(sandbox.bytes(), before);
    assert_eq!(sandbox.backup_files(), backups);

    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_failure();
    assert!(output.stderr.contains("20990101000001"), "{output:#?}");
    assert!(output.stderr.contains("newer"), "{output:#?}");
    assert_eq!(sandbox.bytes(), before);
    assert_eq!(sandbox.backup_files(), backups);

    let output = sandbox.run_cli(&["migrate", "check"]);
    output.assert_failure();
    assert!(output.stdout.contains("20990101000001"), "{output:#?}");

    // revert and redo refuse it too.
    let error = operations::revert(&sandbox.settings(), &Catalog::embedded(), 1).unwrap_err();
    assert!(
        matches!(error, DbError::NewerThanBinary { .. }),
        "{error:?}"
    );
    assert_eq!(sandbox.bytes(), before);
}

#[test]
fn edited_migration_is_refused() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    execute(
        &sandbox.db,
        "UPDATE migration_ledger SET checksum = 'x' WHERE version = '20250101000003';",
    );
    let backups = sandbox.backup_files();
    let before = sandbox.bytes();

    let error = match startup::prepare(&sandbox.settings(), &Catalog::embedded()) {
        Ok(_) => panic!("an edited migration must be refused"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, DbError::EditedMigration { names, .. } if names == &strings(&[STEP3])),
        "{error:?}"
    );
    assert!(error.to_string().contains(STEP3));
    assert_eq!(sandbox.bytes(), before);
    assert_eq!(sandbox.backup_files(), backups);

    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_failure();
    assert!(output.stderr.contains(STEP3), "{output:#?}");
    let output = sandbox.run_cli(&["migrate", "check"]);
    output.assert_failure();
    assert!(output.stdout.contains("EDITED"), "{output:#?}");
    assert_eq!(sandbox.bytes(), before);
}

#[test]
fn migrations_applied_by_diesel_cli_get_their_checksum_recorded() {
    // diesel CLI records only __diesel_schema_migrations: the bot trusts and records them.
    let sandbox = Sandbox::new();
    sandbox.migrate();
    execute(
        &sandbox.db,
        "DELETE FROM migration_ledger WHERE version = '20250101000004';",
    );
    let report = sandbox.migrate();
    assert_eq!(report.recorded, strings(&["20250101000004"]));
    let mut conn = sandbox.conn();
    let step4 = Catalog::embedded()
        .get("20250101000004")
        .unwrap()
        .checksum();
    assert_eq!(
        opt_text(
            &mut conn,
            "SELECT checksum AS v FROM migration_ledger WHERE version = '20250101000004'"
        ),
        Some(step4)
    );
}

#[test]
fn revert_is_refused_on_databases_not_managed_by_migrations() {
    let sandbox = Sandbox::with_fixture("C");
    let before = sandbox.bytes();
    let error = operations::revert(&sandbox.settings(), &Catalog::embedded(), 1).unwrap_err();
    assert!(matches!(error, DbError::Refused { .. }), "{error:?}");
    assert!(error.to_string().contains("migrate run"), "{error}");
    assert_eq!(sandbox.bytes(), before);
    assert!(sandbox.backup_files().is_empty());

    let missing = Sandbox::new();
    let error = operations::redo(&missing.settings(), &Catalog::embedded()).unwrap_err();
    assert!(matches!(error, DbError::Refused { .. }), "{error:?}");
    assert!(!missing.db.exists(), "redo must not create a database");
}

#[test]
fn a_rebuild_that_leaves_a_dangling_reference_is_rolled_back() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.migrate();
    let rows = full_dump(&mut sandbox.conn());
    let mut all = Catalog::embedded().all().to_vec();
    // A table rebuild that forgets to carry masters over: orders now point at nothing.
    all.push(MigrationSource {
        name: "2099-01-01-000002_lossy_rebuild",
        up_sql: "-- repair-bot: table rebuild\n\
                 ALTER TABLE masters RENAME TO old_masters;\n\
                 CREATE TABLE masters AS SELECT * FROM old_masters WHERE 0;\n\
                 DROP TABLE old_masters;",
        down_sql: "SELECT 1;",
    });
    let error = match startup::prepare(&sandbox.settings(), &Catalog::new(all)) {
        Ok(_) => panic!("the foreign key check must refuse the rebuild"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(
        matches!(error, DbError::MigrationFailed { .. }),
        "{error:?}"
    );
    assert!(
        message.contains("2099-01-01-000002_lossy_rebuild"),
        "{message}"
    );
    assert!(message.contains("foreign key check failed"), "{message}");
    let mut conn = sandbox.conn();
    assert_eq!(full_dump(&mut conn), rows, "nothing of the rebuild stays");
    assert!(!table_exists(&mut conn, "old_masters"));
}
