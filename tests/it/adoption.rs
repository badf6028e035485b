//! Adopting databases of the old bot (SPEC 1.2, 1.3): every known shape ends with exactly the
//! schema of a fresh database and keeps every row; dangling references are carried over by
//! rule; anything unknown is refused without touching the file.

use std::fs;

use crate::support::*;
use repair_bot::db::backup;
use repair_bot::db::fault;
use repair_bot::db::migrations::Catalog;
use repair_bot::db::snapshot;
use repair_bot::db::startup;
use repair_bot::db::DbError;

/// Row counts of the fixtures: users, masters, orders, audit_log, order_status_history.
const FIXTURE_COUNTS: [(&str, i64); 4] = [
    ("users", 6),
    ("masters", 3),
    ("orders", 8),
    ("audit_log", 4),
];

fn history_rows(shape: &str) -> i64 {
    if shape.starts_with('A') {
        0
    } else {
        2
    }
}

fn expected_stamped(shape: &str) -> Vec<String> {
    match shape {
        "A0" => strings(&[STEP1]),
        "A1" => strings(&[STEP1, STEP2]),
        _ => strings(&[STEP1, STEP2, STEP3, STEP4, STEP5]),
    }
}

fn expected_ran(shape: &str) -> Vec<String> {
    match shape {
        "A0" => then_after_rebuild(&[LEDGER, STEP2, STEP3, STEP4, STEP5, REBUILD]),
        "A1" => then_after_rebuild(&[LEDGER, STEP3, STEP4, STEP5, REBUILD]),
        _ => then_after_rebuild(&[LEDGER, REBUILD]),
    }
}

#[test]
fn fresh_database_runs_every_migration_without_backup() {
    let sandbox = Sandbox::new();
    fs::File::create(&sandbox.db).unwrap();
    let report = sandbox.migrate();
    assert_eq!(report.ran, names(&Catalog::embedded()));
    assert!(report.stamped.is_empty(), "{report:?}");
    assert_eq!(report.backup, None, "an empty database needs no backup");
    assert!(sandbox.backup_files().is_empty());

    // A missing file (and folder) is created too, with the same schema.
    let other = Sandbox::new();
    let nested = other.path("data/nested/bot.db");
    let prepared = startup::prepare(
        &startup::DatabaseSettings {
            path: nested.clone(),
            ..other.settings()
        },
        &Catalog::embedded(),
    )
    .expect("startup on a missing file");
    drop(prepared);
    assert_eq!(snapshot_of(&nested), sandbox.snapshot());
}

#[test]
fn every_legacy_shape_is_adopted_into_the_fresh_schema_with_every_row() {
    let fresh = fresh_schema();
    for shape in SHAPES {
        let sandbox = Sandbox::with_fixture(shape);
        let before = legacy_values(&mut sandbox.conn());
        {
            let mut conn = sandbox.conn();
            for (table, rows) in FIXTURE_COUNTS {
                assert_eq!(count(&mut conn, table), rows, "{shape}: fixture {table}");
            }
        }

        let report = sandbox.migrate();

        // The same schema as a database created from scratch.
        let adopted = sandbox.snapshot();
        assert_eq!(
            adopted,
            fresh,
            "{shape}: adopted schema differs from the fresh one: {:#?}",
            adopted.differences(&fresh)
        );

        // What was stamped and what ran.
        assert_eq!(report.stamped, expected_stamped(shape), "{shape}: stamped");
        assert_eq!(report.ran, expected_ran(shape), "{shape}: ran");

        // The pre-migrate backup holds the old, unversioned database.
        let backup_file = report
            .backup
            .clone()
            .unwrap_or_else(|| panic!("{shape}: no pre-migrate backup"));
        assert!(backup_file.is_file(), "{shape}: {}", backup_file.display());
        let name = backup_file.file_name().unwrap().to_string_lossy();
        assert!(
            name.ends_with(&format!("__pre-migrate-{NEWEST_VERSION}.db")),
            "{shape}: backup name {name}"
        );
        let verified = backup::verify(&backup_file).expect("backup verifies");
        assert_eq!(verified.schema_version, None, "{shape}: backup version");
        {
            let mut old = connect(&backup_file);
            assert!(!table_exists(&mut old, "__diesel_schema_migrations"));
            assert_eq!(legacy_values(&mut old), before, "{shape}: backup rows");
        }

        let mut conn = sandbox.conn();
        // Every old row, with its values.
        for (table, rows) in FIXTURE_COUNTS {
            assert_eq!(count(&mut conn, table), rows, "{shape}: {table} rows");
        }
        assert_eq!(
            count(&mut conn, "order_status_history"),
            history_rows(shape),
            "{shape}: history rows"
        );
        let after = legacy_values(&mut conn);
        assert_eq!(after[..4], before[..4], "{shape}: row values");
        if history_rows(shape) > 0 {
            assert_eq!(after[4], before[4], "{shape}: history values");
        }
        assert_eq!(count(&mut conn, "adoption_orphans"), 0, "{shape}: orphans");

        // Money as exact kopecks.
        let money = |conn: &mut _, id: i64, column: &str| {
            opt_int(
                conn,
                &format!("SELECT {column} AS v FROM orders WHERE id = {id}"),
            )
        };
        if shape.starts_with('A') {
            for column in [
                "total_kopecks",
                "materials_kopecks",
                "master_share_kopecks",
                "company_share_kopecks",
            ] {
                assert_eq!(money(&mut conn, 6, column), None, "{shape}: {column}");
            }
            assert_eq!(money(&mut conn, 5, "has_review"), Some(0), "{shape}");
        } else {
            assert_eq!(
                money(&mut conn, 6, "total_kopecks"),
                Some(350050),
                "{shape}"
            );
            assert_eq!(money(&mut conn, 6, "materials_kopecks"), Some(50025));
            assert_eq!(money(&mut conn, 6, "master_share_kopecks"), Some(120010));
            assert_eq!(money(&mut conn, 6, "company_share_kopecks"), Some(180015));
            assert_eq!(money(&mut conn, 5, "total_kopecks"), Some(1_000_000));
            assert_eq!(money(&mut conn, 5, "has_review"), Some(1), "{shape}");
            assert_eq!(money(&mut conn, 6, "has_review"), Some(0), "{shape}");
        }

        // Roles as a relation.
        let roles = |conn: &mut _, telegram_id: i64| -> Vec<Option<String>> {
            texts(
                conn,
                &format!(
                    "SELECT role AS v FROM user_roles WHERE telegram_id = {telegram_id} \
                     ORDER BY role"
                ),
            )
        };
        assert_eq!(
            roles(&mut conn, 100000004),
            vec![Some("DISPATCHER".to_string()), Some("MASTER".to_string())],
            "{shape}: dual role"
        );
        assert!(roles(&mut conn, 100000005).is_empty(), "{shape}: UNKNOWN");
        assert_eq!(
            roles(&mut conn, 100000001),
            vec![Some("ADMIN".to_string())],
            "{shape}"
        );
        assert_eq!(count(&mut conn, "user_roles"), 6, "{shape}: roles");

        // The master's work group.
        let work_chat = opt_int(
            &mut conn,
            "SELECT work_chat_id AS v FROM masters WHERE id = 1",
        );
        if shape == "A0" {
            assert_eq!(work_chat, None, "{shape}");
        } else {
            assert_eq!(work_chat, Some(-1001234567890), "{shape}");
        }

        // Text and 64-bit ids intact.
        assert_eq!(
            opt_text(
                &mut conn,
                "SELECT last_name AS v FROM users WHERE telegram_id = 100000004"
            ),
            Some("О'Коннор".to_string()),
            "{shape}"
        );
        assert_eq!(
            opt_text(
                &mut conn,
                "SELECT description AS v FROM orders WHERE id = 4"
            ),
            Some("Течёт снизу 💧".to_string()),
            "{shape}"
        );
        for telegram_id in [5000000003_i64, 7000000006] {
            assert_eq!(
                int(
                    &mut conn,
                    &format!(
                        "SELECT COUNT(*) AS v FROM masters m JOIN users u \
                         ON u.telegram_id = m.telegram_id WHERE m.telegram_id = {telegram_id}"
                    )
                ),
                1,
                "{shape}: telegram id {telegram_id}"
            );
        }
        assert!(!table_exists(&mut conn, "alembic_version"), "{shape}");
        assert!(foreign_key_problems(&mut conn).is_empty(), "{shape}");

        // Nothing stays pending: a second start does nothing and takes no backup.
        let backups = sandbox.backup_files();
        let again = sandbox.migrate();
        assert_eq!(again, Default::default(), "{shape}: second start");
        assert_eq!(sandbox.backup_files(), backups, "{shape}: no new backup");
    }
}

#[test]
fn stamped_steps_are_recorded_as_stamped_in_the_ledger() {
    let sandbox = Sandbox::with_fixture("A1");
    sandbox.migrate();
    let mut conn = sandbox.conn();
    let stamped = texts(
        &mut conn,
        "SELECT version AS v FROM migration_ledger WHERE stamped ORDER BY version",
    );
    assert_eq!(
        stamped,
        vec![
            Some("20250101000001".to_string()),
            Some("20250101000002".to_string())
        ]
    );
    assert_eq!(
        applied_versions(&mut conn),
        Catalog::embedded()
            .all()
            .iter()
            .map(|m| m.version())
            .collect::<Vec<_>>()
    );
}

#[test]
fn dangling_references_are_carried_over_by_rule() {
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "INSERT INTO orders (id, equipment_type, description, client_name, client_address, \
             client_phone, status, assigned_master_id, dispatcher_id) \
         VALUES (9, 'Телевизоры', 'Мастер удалён', 'Клиент', 'ул. Тестовая 1', '+79000000009', \
             'ASSIGNED', 99, 100000002); \
         INSERT INTO orders (id, equipment_type, description, client_name, client_address, \
             client_phone, status, assigned_master_id, dispatcher_id) \
         VALUES (10, 'Телевизоры', 'Диспетчер удалён', 'Клиент', 'ул. Тестовая 2', \
             '+79000000010', 'NEW', NULL, 424242); \
         INSERT INTO orders (id, equipment_type, description, client_name, client_address, \
             client_phone, status, assigned_master_id, dispatcher_id) \
         VALUES (11, 'Телевизоры', 'Статус не задан', 'Клиент', 'ул. Тестовая 3', \
             '+79000000011', NULL, NULL, 100000002); \
         INSERT INTO orders (id, equipment_type, description, client_name, client_address, \
             client_phone, status, assigned_master_id, dispatcher_id) \
         VALUES (12, 'Телевизоры', 'Статус строчными', 'Клиент', 'ул. Тестовая 4', \
             '+79000000012', 'closed', 1, 100000002); \
         INSERT INTO audit_log (id, user_id, action, details) VALUES (5, 777, 'LOGIN', 'gone'); \
         INSERT INTO order_status_history (id, order_id, old_status, new_status, changed_by, \
             changed_at, notes) \
         VALUES (3, 9999, 'NEW', 'ASSIGNED', 100000002, '2025-10-09 10:00:00', 'lost order');",
    );
    {
        let mut conn = sandbox.conn();
        assert!(
            !foreign_key_problems(&mut conn).is_empty(),
            "the fixture must hold dangling references"
        );
    }

    sandbox.migrate();
    let mut conn = sandbox.conn();

    // No row lost.
    assert_eq!(count(&mut conn, "orders"), 12);
    assert_eq!(count(&mut conn, "audit_log"), 5);
    assert_eq!(count(&mut conn, "masters"), 3);
    assert_eq!(count(&mut conn, "order_status_history"), 2);

    // Missing users become placeholder rows with the same telegram id and no role.
    for telegram_id in [424242, 777] {
        assert_eq!(
            texts(
                &mut conn,
                &format!(
                    "SELECT COALESCE(first_name, '') || '|' || COALESCE(username, '') AS v \
                     FROM users WHERE telegram_id = {telegram_id}"
                )
            ),
            vec![Some("|".to_string())],
            "placeholder for {telegram_id}"
        );
        assert_eq!(
            int(
                &mut conn,
                &format!("SELECT COUNT(*) AS v FROM user_roles WHERE telegram_id = {telegram_id}")
            ),
            0
        );
    }
    assert_eq!(count(&mut conn, "users"), 8);
    assert_eq!(
        opt_int(
            &mut conn,
            "SELECT dispatcher_id AS v FROM orders WHERE id = 10"
        ),
        Some(424242)
    );
    assert_eq!(
        opt_int(&mut conn, "SELECT user_id AS v FROM audit_log WHERE id = 5"),
        Some(777)
    );

    // The missing master is unset, the old value kept.
    assert_eq!(
        opt_int(
            &mut conn,
            "SELECT assigned_master_id AS v FROM orders WHERE id = 9"
        ),
        None
    );
    assert_eq!(
        texts(
            &mut conn,
            "SELECT table_name || '|' || row_id || '|' || column_name || '|' || missing_value \
             AS v FROM adoption_orphans WHERE table_name = 'orders'"
        ),
        vec![Some("orders|9|assigned_master_id|99".to_string())]
    );

    // The history row of the missing order is kept whole in adoption_orphans.
    assert_eq!(
        texts(
            &mut conn,
            "SELECT row_id || '|' || column_name || '|' || missing_value || '|' || \
                json_extract(row_data, '$.order_id') || '|' || \
                json_extract(row_data, '$.new_status') || '|' || \
                json_extract(row_data, '$.changed_by') || '|' || \
                json_extract(row_data, '$.changed_at') || '|' || \
                json_extract(row_data, '$.notes') AS v \
             FROM adoption_orphans WHERE table_name = 'order_status_history'"
        ),
        vec![Some(
            "3|order_id|9999|9999|ASSIGNED|100000002|2025-10-09 10:00:00|lost order".to_string()
        )]
    );
    assert_eq!(count(&mut conn, "adoption_orphans"), 2);

    // Statuses normalised.
    assert_eq!(
        opt_text(&mut conn, "SELECT status AS v FROM orders WHERE id = 11"),
        Some("NEW".to_string())
    );
    assert_eq!(
        opt_text(&mut conn, "SELECT status AS v FROM orders WHERE id = 12"),
        Some("CLOSED".to_string())
    );

    assert!(foreign_key_problems(&mut conn).is_empty());
    assert_eq!(sandbox.snapshot(), fresh_schema());
}

/// Runs startup on a database that must be refused, and checks that nothing was written.
fn assert_refused(sandbox: &Sandbox) -> DbError {
    let before = sandbox.bytes();
    let error = match startup::prepare(&sandbox.settings(), &Catalog::embedded()) {
        Ok(prepared) => panic!(
            "startup accepted {}: {:?}",
            sandbox.db.display(),
            prepared.report
        ),
        Err(error) => error,
    };
    assert!(
        sandbox.bytes() == before,
        "the refused database file changed ({error})"
    );
    assert!(
        sandbox.backup_files().is_empty(),
        "a refused database must not be backed up: {:?}",
        sandbox.backup_files()
    );
    assert!(
        !sandbox.path("bot_database.db-wal").exists(),
        "a refused database must not be switched to WAL"
    );
    error
}

#[test]
fn unknown_table_is_refused() {
    // Alone ...
    let sandbox = Sandbox::new();
    execute(
        &sandbox.db,
        "CREATE TABLE foo (id INTEGER PRIMARY KEY, bar TEXT);",
    );
    let error = assert_refused(&sandbox);
    assert!(matches!(error, DbError::UnknownSchema { .. }), "{error:?}");
    assert!(error.to_string().contains("foo"), "{error}");

    // ... and beside a database of the old bot.
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "CREATE TABLE foo (id INTEGER PRIMARY KEY); INSERT INTO foo VALUES (1);",
    );
    let error = assert_refused(&sandbox);
    assert!(matches!(error, DbError::UnknownSchema { .. }), "{error:?}");
    assert!(error.to_string().contains("foo"), "{error}");
}

#[test]
fn half_built_legacy_step_is_refused() {
    let sandbox = Sandbox::with_fixture("C");
    execute(&sandbox.db, "ALTER TABLE orders DROP COLUMN has_review;");
    let error = assert_refused(&sandbox);
    assert!(matches!(error, DbError::UnknownSchema { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("has_review"), "{message}");
    assert!(message.contains(STEP3), "names the step: {message}");
}

#[test]
fn extra_column_is_refused() {
    let sandbox = Sandbox::with_fixture("C");
    execute(&sandbox.db, "ALTER TABLE users ADD COLUMN nickname TEXT;");
    let error = assert_refused(&sandbox);
    assert!(matches!(error, DbError::UnknownSchema { .. }), "{error:?}");
    assert!(error.to_string().contains("users.nickname"), "{error}");
}

#[test]
fn column_of_another_type_is_refused() {
    // masters.work_chat_id holding text is not the old bot's column.
    let sandbox = Sandbox::with_fixture("A0");
    execute(
        &sandbox.db,
        "ALTER TABLE masters ADD COLUMN work_chat_id TEXT;",
    );
    let error = assert_refused(&sandbox);
    assert!(matches!(error, DbError::UnknownSchema { .. }), "{error:?}");
    assert!(error.to_string().contains("work_chat_id"), "{error}");
}

#[test]
fn unknown_order_status_is_refused_as_unadoptable_data() {
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "UPDATE orders SET status = 'IN_PROGRESS' WHERE id IN (1, 2);",
    );
    let error = assert_refused(&sandbox);
    assert!(
        matches!(error, DbError::UnadoptableData { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("IN_PROGRESS"), "{message}");
    assert!(message.contains("2 order(s)"), "{message}");
}

#[test]
fn file_that_is_not_a_database_is_refused() {
    let sandbox = Sandbox::new();
    // Deterministic noise, more than one page, not starting with the SQLite header.
    let mut state: u32 = 0x1234_5678;
    let noise: Vec<u8> = (0..8192)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    fs::write(&sandbox.db, &noise).unwrap();
    let error = assert_refused(&sandbox);
    // Refused when the file is opened (Open) or classified (NotADatabase): either way the
    // message names the file and says what is wrong with it.
    assert!(
        matches!(error, DbError::NotADatabase { .. } | DbError::Open { .. }),
        "expected NotADatabase or Open, got {error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("bot_database.db"),
        "names the file: {message}"
    );
    assert!(message.contains("not a database"), "{message}");
    assert_eq!(fs::read(&sandbox.db).unwrap(), noise);

    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_failure();
    assert!(output.stderr.contains("not a database"), "{output:#?}");
    assert_eq!(fs::read(&sandbox.db).unwrap(), noise);
    assert!(sandbox.backup_files().is_empty());
}

#[test]
fn shape_b_without_history_runs_the_history_step() {
    let sandbox = Sandbox::with_fixture("B");
    execute(&sandbox.db, "DROP TABLE order_status_history;");
    let report = sandbox.migrate();
    assert_eq!(report.stamped, strings(&[STEP1, STEP2, STEP3, STEP4]));
    assert_eq!(report.ran, then_after_rebuild(&[LEDGER, STEP5, REBUILD]));
    assert_eq!(sandbox.snapshot(), fresh_schema());
    let mut conn = sandbox.conn();
    assert_eq!(count(&mut conn, "orders"), 8);
    assert_eq!(count(&mut conn, "order_status_history"), 0);
}

#[test]
fn extra_index_of_an_old_database_is_tolerated_and_goes_away() {
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "CREATE INDEX idx_by_hand ON orders(client_phone);",
    );
    sandbox.migrate();
    assert_eq!(sandbox.snapshot(), fresh_schema());
}

#[test]
fn trigger_in_an_old_database_is_refused() {
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "CREATE TRIGGER touch_order AFTER UPDATE ON orders BEGIN \
             UPDATE orders SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id; END;",
    );
    let error = assert_refused(&sandbox);
    assert!(matches!(error, DbError::UnknownSchema { .. }), "{error:?}");
    assert!(error.to_string().contains("touch_order"), "{error}");
}

#[test]
fn loose_values_of_the_old_bot_are_normalised() {
    let sandbox = Sandbox::with_fixture("C");
    execute(
        &sandbox.db,
        "UPDATE users SET role = ' admin , master' WHERE telegram_id = 100000005; \
         UPDATE users SET role = 'SUPERUSER' WHERE telegram_id = 100000001; \
         UPDATE users SET role = NULL WHERE telegram_id = 100000002; \
         UPDATE masters SET is_active = NULL, is_approved = NULL WHERE id = 2; \
         UPDATE orders SET has_review = NULL, created_at = NULL WHERE id = 1; \
         UPDATE orders SET status = ' onsite ' WHERE id = 3; \
         UPDATE orders SET status = '' WHERE id = 7; \
         UPDATE orders SET total_amount = 100.004 WHERE id = 6;",
    );
    sandbox.migrate();
    let mut conn = sandbox.conn();
    let roles = |conn: &mut _, telegram_id: i64| {
        texts(
            conn,
            &format!(
                "SELECT role AS v FROM user_roles WHERE telegram_id = {telegram_id} ORDER BY role"
            ),
        )
    };
    assert_eq!(
        roles(&mut conn, 100000005),
        vec![Some("ADMIN".to_string()), Some("MASTER".to_string())]
    );
    assert!(roles(&mut conn, 100000001).is_empty());
    assert!(roles(&mut conn, 100000002).is_empty());
    assert_eq!(
        opt_text(
            &mut conn,
            "SELECT is_active || ',' || is_approved AS v FROM masters WHERE id = 2"
        ),
        Some("1,0".to_string())
    );
    assert_eq!(
        opt_text(
            &mut conn,
            "SELECT has_review || ',' || created_at AS v FROM orders WHERE id = 1"
        ),
        Some("0,2025-10-05 06:00:00".to_string()),
        "a missing created_at falls back to updated_at"
    );
    assert_eq!(
        texts(
            &mut conn,
            "SELECT status AS v FROM orders WHERE id IN (3, 7) ORDER BY id"
        ),
        vec![Some("ONSITE".to_string()), Some("NEW".to_string())]
    );
    assert_eq!(
        opt_int(
            &mut conn,
            "SELECT total_kopecks AS v FROM orders WHERE id = 6"
        ),
        Some(10000)
    );
    assert_eq!(count(&mut conn, "users"), 6);
    assert!(foreign_key_problems(&mut conn).is_empty());
}

/// What an adoption leaves, without anything written at migration time: the schema, every
/// row, the ledger (version, checksum, stamped) and diesel's applied versions.
fn adopted_state(
    db: &std::path::Path,
) -> (snapshot::SchemaSnapshot, Vec<String>, Vec<Option<String>>) {
    let mut conn = connect(db);
    let mut rows = full_dump(&mut conn);
    rows.extend(applied_versions(&mut conn));
    let ledger = texts(
        &mut conn,
        "SELECT version || ' ' || checksum || ' stamped=' || stamped AS v \
         FROM migration_ledger ORDER BY version",
    );
    (snapshot_of(db), rows, ledger)
}

/// The oldest complete backup of the sandbox's database: it must hold the old bot's rows.
fn assert_original_backup_kept(sandbox: &Sandbox, before: &[String], context: &str) {
    let backups = backup::list(&sandbox.db, &sandbox.backups).unwrap();
    let oldest = backups
        .last()
        .unwrap_or_else(|| panic!("{context}: no backup left"));
    let verified = backup::verify(&oldest.path).unwrap();
    assert_eq!(
        verified.schema_version, None,
        "{context}: oldest backup is the old database"
    );
    assert_eq!(
        legacy_values(&mut connect(&oldest.path)),
        before,
        "{context}: oldest backup rows"
    );
}

#[test]
fn adoption_killed_after_any_write_resumes_to_the_same_database() {
    std::thread::scope(|scope| {
        for shape in SHAPES {
            scope.spawn(move || {
                let reference = Sandbox::with_fixture(shape);
                let before = legacy_values(&mut reference.conn());
                reference.run_cli(&["migrate", "run"]).assert_success();
                let expected = adopted_state(&reference.db);

                let mut writes = 0;
                for n in 1.. {
                    let context = format!("{shape}, killed after write {n}");
                    let sandbox = Sandbox::with_fixture(shape);
                    let killed = CliOutput::from(
                        sandbox
                            .cli(&["migrate", "run"])
                            .env(fault::KILL_AFTER_COMMIT, n.to_string())
                            .output()
                            .unwrap(),
                    );
                    if killed.success {
                        // Fewer than n writes: every boundary has been tried.
                        break;
                    }
                    assert_eq!(
                        killed.code, None,
                        "{context}: killed by a signal: {killed:#?}"
                    );
                    assert!(
                        killed.stderr.contains(&format!("killed after write {n}:")),
                        "{context}: {killed:#?}"
                    );
                    writes = n;

                    let resumed = sandbox.run_cli(&["migrate", "run"]);
                    assert!(
                        resumed.success,
                        "{context}: the next start failed: {resumed:#?}"
                    );
                    assert!(
                        adopted_state(&sandbox.db) == expected,
                        "{context}: resumed adoption differs from an uninterrupted one"
                    );
                    assert_original_backup_kept(&sandbox, &before, &context);
                    let again = sandbox.run_cli(&["migrate", "run"]);
                    again.assert_success();
                    assert!(again.stdout.contains("up to date"), "{context}: {again:#?}");
                }
                // The backup copied and in place, WAL on, the ledger with the stamps in one
                // commit, then one commit per migration that runs.
                assert_eq!(
                    writes,
                    3 + expected_ran(shape).len(),
                    "{shape}: write boundaries tried"
                );
            });
        }
    });
}

/// A database left by an older binary killed between the ledger and the stamps: the ledger
/// migration is recorded, the legacy steps are not. It is recognised and adopted.
#[test]
fn adoption_interrupted_by_an_older_binary_is_resumed() {
    for shape in SHAPES {
        let reference = Sandbox::with_fixture(shape);
        reference.migrate();
        let expected = adopted_state(&reference.db);

        let sandbox = Sandbox::with_fixture(shape);
        let catalog = Catalog::embedded();
        let ledger = catalog.all().iter().find(|m| m.name == LEDGER).unwrap();
        repair_bot::db::migrations::run_one(&mut sandbox.conn(), ledger).unwrap();

        let prepared = startup::prepare(&sandbox.settings(), &catalog)
            .unwrap_or_else(|e| panic!("{shape}: interrupted adoption not resumed: {e}"));
        assert_eq!(prepared.report.stamped, expected_stamped(shape), "{shape}");
        assert!(prepared.report.backup.is_some(), "{shape}: backed up first");
        drop(prepared);
        assert!(adopted_state(&sandbox.db) == expected, "{shape}: differs");
    }
}
