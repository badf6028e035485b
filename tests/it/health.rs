//! `repair-bot health`: read-only checks with one line each and an exit code per failing
//! check. Every run names its moment with the hidden `--at`, so that the figures (ages of the
//! last getUpdates, the outbox, the backup) are the test's own, whatever the wall clock.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::connection::SimpleConnection;
use repair_bot::db::backup::{self, BackupReason};

use crate::support::{table_exists, CliOutput, Sandbox};

/// A migrated database with one manual backup; the checks run an hour after that backup.
struct Healthy {
    sandbox: Sandbox,
    now: DateTime<Utc>,
}

impl Healthy {
    fn new() -> Healthy {
        let sandbox = Sandbox::new();
        sandbox.migrate();
        let file = backup::create(
            &sandbox.db,
            &sandbox.settings().backup,
            &BackupReason::Manual,
        )
        .expect("backup");
        let taken_at = backup::taken_at(&file).expect("a backup's name holds its time");
        let now = taken_at + TimeDelta::hours(1);
        let healthy = Healthy { sandbox, now };
        healthy.polled(TimeDelta::seconds(20));
        healthy
    }

    fn at(&self, ago: TimeDelta) -> String {
        sql_time((self.now - ago).naive_utc())
    }

    /// The bot's last successful getUpdates was `ago` before the check.
    fn polled(&self, ago: TimeDelta) {
        self.polled_at(self.now - ago);
    }

    fn polled_at(&self, at: DateTime<Utc>) {
        let sql = format!(
            "INSERT OR REPLACE INTO job_runs (job, last_run_at) VALUES ('get_updates', '{}');",
            sql_time(at.naive_utc())
        );
        self.sandbox.conn().batch_execute(&sql).unwrap();
    }

    /// A message queued `ago` before the check, still waiting.
    fn queued(&self, ago: TimeDelta) {
        let sql = format!(
            "INSERT INTO outbox (chat_id, text, created_at) VALUES (1, 'x', '{}');",
            self.at(ago)
        );
        self.sandbox.conn().batch_execute(&sql).unwrap();
    }

    fn health(&self, env: &[(&str, &str)]) -> CliOutput {
        health_at(&self.sandbox, self.now, env)
    }
}

fn sql_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.f").to_string()
}

fn health_at(sandbox: &Sandbox, now: DateTime<Utc>, env: &[(&str, &str)]) -> CliOutput {
    let at = now.to_rfc3339();
    let mut command = sandbox.cli(&["health", "--at", &at]);
    for variable in [
        "BACKUP_TIME",
        "BACKUP_COPY_COMMAND",
        "HEALTH_MAX_POLL_AGE_SECONDS",
        "HEALTH_MAX_OUTBOX_PENDING",
        "HEALTH_MAX_OUTBOX_AGE_SECONDS",
        "HEALTH_MAX_BACKUP_AGE_HOURS",
    ] {
        command.env_remove(variable);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    CliOutput::from(command.output().expect("run repair-bot health"))
}

/// The line of one check.
fn line<'a>(output: &'a CliOutput, check: &str) -> &'a str {
    let prefix = format!("{check}: ");
    output
        .stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {check} line in {output:#?}"))
}

#[test]
fn a_migrated_database_polled_recently_with_a_fresh_backup_is_healthy() {
    let world = Healthy::new();
    world.queued(TimeDelta::seconds(5));
    let before = world.sandbox.bytes();
    let output = world.health(&[]);
    assert_eq!(output.code, Some(0), "{output:#?}");
    assert!(line(&output, "database").starts_with("database: ok, at the newest migration"));
    assert_eq!(
        line(&output, "getUpdates"),
        "getUpdates: ok, last successful getUpdates 20 s ago (limit 5 min)"
    );
    assert_eq!(
        line(&output, "outbox"),
        "outbox: ok, 1 pending, the oldest queued 5 s ago (limits 500 messages, 15 min)"
    );
    assert!(
        line(&output, "backup").starts_with("backup: ok, newest taken 60 min ago (limit 26 h)"),
        "{output:#?}"
    );
    assert_eq!(
        line(&output, "backup copy"),
        "backup copy: skipped, BACKUP_COPY_COMMAND is not set"
    );
    assert_eq!(output.stdout.lines().last(), Some("healthy"));
    assert_eq!(world.sandbox.bytes(), before, "health only reads");
}

#[test]
fn a_stale_get_updates_fails_with_its_own_exit_code() {
    let world = Healthy::new();
    world.polled(TimeDelta::minutes(10));
    let output = world.health(&[]);
    assert_eq!(output.code, Some(3), "{output:#?}");
    assert_eq!(
        line(&output, "getUpdates"),
        "getUpdates: FAIL, last successful getUpdates 10 min ago (limit 5 min)"
    );
    assert!(line(&output, "outbox").starts_with("outbox: ok"));
    assert_eq!(
        output.stdout.lines().last(),
        Some("NOT healthy (exit code 3: getUpdates)")
    );
    // The limit is the operator's.
    let relaxed = world.health(&[("HEALTH_MAX_POLL_AGE_SECONDS", "900")]);
    assert_eq!(relaxed.code, Some(0), "{relaxed:#?}");
}

#[test]
fn a_bot_that_never_polled_fails() {
    let world = Healthy::new();
    world
        .sandbox
        .conn()
        .batch_execute("DELETE FROM job_runs WHERE job = 'get_updates';")
        .unwrap();
    let output = world.health(&[]);
    assert_eq!(output.code, Some(3), "{output:#?}");
    assert!(line(&output, "getUpdates").contains("no successful getUpdates recorded yet"));
}

#[test]
fn a_big_outbox_backlog_fails() {
    let world = Healthy::new();
    for _ in 0..3 {
        world.queued(TimeDelta::seconds(30));
    }
    // Delivered and failed messages are not a backlog.
    world
        .sandbox
        .conn()
        .batch_execute(&format!(
            "INSERT INTO outbox (chat_id, text, created_at, sent_at) VALUES (2, 'sent', '{0}', '{0}');
             INSERT INTO outbox (chat_id, text, created_at, failed_at) VALUES (3, 'gone', '{0}', '{0}');",
            world.at(TimeDelta::hours(2))
        ))
        .unwrap();
    assert_eq!(world.health(&[]).code, Some(0));
    let output = world.health(&[("HEALTH_MAX_OUTBOX_PENDING", "2")]);
    assert_eq!(output.code, Some(4), "{output:#?}");
    assert_eq!(
        line(&output, "outbox"),
        "outbox: FAIL, 3 pending, the oldest queued 30 s ago (limits 2 messages, 15 min)"
    );
}

#[test]
fn an_old_outbox_backlog_fails() {
    let world = Healthy::new();
    world.queued(TimeDelta::minutes(20));
    let output = world.health(&[]);
    assert_eq!(output.code, Some(4), "{output:#?}");
    assert_eq!(
        line(&output, "outbox"),
        "outbox: FAIL, 1 pending, the oldest queued 20 min ago (limits 500 messages, 15 min)"
    );
    let relaxed = world.health(&[("HEALTH_MAX_OUTBOX_AGE_SECONDS", "1800")]);
    assert_eq!(relaxed.code, Some(0), "{relaxed:#?}");
}

#[test]
fn an_old_or_missing_backup_fails_unless_backups_are_off() {
    let world = Healthy::new();
    let later = world.now + TimeDelta::hours(30);
    world.polled_at(later - TimeDelta::seconds(20));
    let output = health_at(&world.sandbox, later, &[]);
    assert_eq!(output.code, Some(5), "{output:#?}");
    assert!(
        line(&output, "backup").starts_with("backup: FAIL, newest taken 31 h ago (limit 26 h)"),
        "{output:#?}"
    );
    let daily_off = health_at(&world.sandbox, later, &[("BACKUP_TIME", "off")]);
    assert_eq!(daily_off.code, Some(0), "{daily_off:#?}");
    assert!(line(&daily_off, "backup").starts_with("backup: skipped"));
    let longer = health_at(
        &world.sandbox,
        later,
        &[("HEALTH_MAX_BACKUP_AGE_HOURS", "48")],
    );
    assert_eq!(longer.code, Some(0), "{longer:#?}");

    for file in world.sandbox.backup_files() {
        std::fs::remove_file(file).unwrap();
    }
    // A fresh install is not late before its first daily backup is due...
    let fresh = world.health(&[]);
    assert_eq!(fresh.code, Some(0), "{fresh:#?}");
    assert!(
        line(&fresh, "backup").starts_with("backup: ok, no backup yet; the database was created"),
        "{fresh:#?}"
    );
    // ...but a database older than the limit without any backup is.
    let none = health_at(&world.sandbox, later, &[]);
    assert_eq!(none.code, Some(5), "{none:#?}");
    assert!(line(&none, "backup").starts_with("backup: FAIL, no backup of"));
}

#[test]
fn a_missing_database_fails_and_is_not_created() {
    let sandbox = Sandbox::new();
    let output = health_at(&sandbox, Utc::now(), &[]);
    assert_eq!(output.code, Some(2), "{output:#?}");
    assert!(
        line(&output, "database").contains("does not exist"),
        "{output:#?}"
    );
    assert_eq!(
        output.stdout.lines().count(),
        2,
        "only the database line and the verdict"
    );
    assert!(!sandbox.db.exists(), "nothing is created");
    assert!(sandbox.backup_files().is_empty());
}

#[test]
fn an_unmigrated_database_fails_naming_the_problem_and_stays_as_it_was() {
    let old = Sandbox::with_fixture("A0");
    let before = old.bytes();
    let output = health_at(&old, Utc::now(), &[]);
    assert_eq!(output.code, Some(2), "{output:#?}");
    assert!(
        line(&output, "database").contains("a database of the old bot, not adopted yet"),
        "{output:#?}"
    );
    assert_eq!(old.bytes(), before);
    assert!(
        !table_exists(&mut old.conn(), "__diesel_schema_migrations"),
        "diesel's table is not created"
    );

    let empty = Sandbox::new();
    std::fs::write(&empty.db, b"").unwrap();
    let output = health_at(&empty, Utc::now(), &[]);
    assert_eq!(output.code, Some(2), "{output:#?}");
    assert!(line(&output, "database").contains("an empty database"));
    assert_eq!(std::fs::metadata(&empty.db).unwrap().len(), 0);
}

#[test]
fn a_database_behind_the_binary_fails_naming_the_pending_migration() {
    let world = Healthy::new();
    world
        .sandbox
        .run_cli(&["migrate", "revert"])
        .assert_success();
    let output = world.health(&[]);
    assert_eq!(output.code, Some(2), "{output:#?}");
    let database = line(&output, "database");
    assert!(
        database.contains(&format!(
            "not migrated: 1 migration(s) pending, the newest {}",
            crate::support::NEWEST_VERSION
        )),
        "{database}"
    );
}

#[test]
fn a_bad_limit_is_an_error_naming_the_variable() {
    let world = Healthy::new();
    let output = world.health(&[("HEALTH_MAX_OUTBOX_PENDING", "many")]);
    assert_eq!(output.code, Some(1), "{output:#?}");
    assert!(
        output.stderr.contains("HEALTH_MAX_OUTBOX_PENDING"),
        "{output:#?}"
    );
}
