//! Off-machine copies (`BACKUP_COPY_COMMAND`): run after the daily backup (a periodic round
//! at a manual clock) and after the pre-migrate backup (`migrate run`); the result reaches
//! the audit log, the admins (on failure) and `repair-bot health`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveTime, TimeDelta, TimeZone, Utc};
use repair_bot::bot::{jobs, App};
use repair_bot::clock::ManualClock;
use repair_bot::db::backup;
use repair_bot::db::backup_copy::{CopyCommand, CopyOutcome};
use repair_bot::db::pool;
use repair_bot::domain::ids::TelegramId;
use repair_bot::health::{self, Area, Limits, Verdict};
use repair_bot::store::members::{self, Contact};

use crate::support::{self, int, opt_text, texts, Sandbox};

const ADMIN: i64 = 1001;

/// A migrated database with a registered admin, and a bot whose daily backup is due: 04:00
/// Moscow time, the backup at 03:00.
struct Daily {
    sandbox: Sandbox,
    app: App,
}

impl Daily {
    fn new(copy: Option<CopyCommand>) -> Daily {
        let sandbox = Sandbox::new();
        sandbox.migrate();
        let mut settings = sandbox.settings();
        settings.backup.copy = copy;
        let mut config = support::bot_config("1:test", &[ADMIN], &[]);
        config.backup_at = Some(NaiveTime::from_hms_opt(3, 0, 0).unwrap());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap());
        let app = App::new(
            pool::build(&sandbox.db).unwrap(),
            config.clone(),
            Arc::new(clock),
            settings,
        );
        let admin = Contact {
            telegram_id: TelegramId(ADMIN),
            username: None,
            first_name: Some("Иван".into()),
            last_name: None,
        };
        let mut conn = sandbox.conn();
        members::register(&mut conn, &admin, &config.env_roles, app.now()).unwrap();
        Daily { sandbox, app }
    }

    async fn tick(&self) -> jobs::TickReport {
        jobs::tick(&self.app).await.unwrap()
    }

    /// `repair-bot health`'s backup-copy check a minute after the newest backup.
    fn copy_check(&self) -> health::Check {
        let newest = backup::list(&self.sandbox.db, &self.sandbox.backups).unwrap()[0].clone();
        let report = health::check_file(
            &self.app.database,
            &Limits::default(),
            newest.taken_at + TimeDelta::minutes(1),
        );
        report
            .checks
            .into_iter()
            .find(|c| c.area == Area::BackupCopy)
            .expect("the backup copy is checked")
    }
}

fn copy(command: String, timeout: Duration) -> Option<CopyCommand> {
    Some(CopyCommand { command, timeout })
}

/// A shell word for a path.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

fn only_file(dir: &Path) -> PathBuf {
    let files = support::files_in(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

#[tokio::test]
async fn the_daily_backup_is_copied_byte_for_byte_and_health_knows() {
    let offsite = tempfile::tempdir().unwrap();
    let command = format!(r#"cp "$1" {}/"#, quoted(offsite.path()));
    let daily = Daily::new(copy(command, Duration::from_secs(60)));
    let report = daily.tick().await;
    let file = report.backup.expect("due").expect("written");
    let copied = report.backup_copy.expect("a copy command is configured");
    assert_eq!(copied.outcome, CopyOutcome::Copied);
    assert_eq!(copied.backup, file);
    let there = only_file(offsite.path());
    assert_eq!(there.file_name(), file.file_name());
    assert_eq!(
        std::fs::read(&there).unwrap(),
        std::fs::read(&file).unwrap()
    );

    let mut conn = daily.sandbox.conn();
    assert_eq!(
        opt_text(
            &mut conn,
            "SELECT details AS v FROM audit_log WHERE action = 'BACKUP_COPIED'"
        ),
        Some(file.display().to_string())
    );
    assert_eq!(
        int(&mut conn, "SELECT COUNT(*) AS v FROM outbox"),
        0,
        "nobody is told of a copy that worked"
    );
    let check = daily.copy_check();
    assert_eq!(check.verdict, Verdict::Ok, "{check}");

    // A newer backup that has not left the machine (a manual one taken without the command)
    // is what the check catches.
    let mut plain = daily.app.database.backup.clone();
    plain.copy = None;
    backup::create(&daily.sandbox.db, &plain, &backup::BackupReason::Manual).unwrap();
    let check = daily.copy_check();
    assert_eq!(check.verdict, Verdict::Fail, "{check}");
    assert!(
        check.detail.contains("was not copied off the machine"),
        "{check}"
    );
}

#[tokio::test]
async fn a_failing_copy_is_recorded_told_to_the_admins_and_fails_health() {
    let command = "echo 'rsync: connection refused (111)' >&2; exit 12".to_string();
    let daily = Daily::new(copy(command, Duration::from_secs(60)));
    let report = daily.tick().await;
    assert!(
        report.backup.expect("due").is_ok(),
        "the backup itself is good"
    );
    let copy = report.backup_copy.expect("attempted");
    assert_eq!(
        copy.outcome,
        CopyOutcome::Failed {
            status: "exit code 12".into(),
            output: "rsync: connection refused (111)".into()
        }
    );

    let mut conn = daily.sandbox.conn();
    let audited = opt_text(
        &mut conn,
        "SELECT details AS v FROM audit_log WHERE action = 'BACKUP_COPY_FAILED'",
    )
    .expect("the failure is audited");
    assert!(audited.contains("exit code 12"), "{audited}");
    assert!(audited.contains("connection refused"), "{audited}");
    let told = texts(
        &mut conn,
        &format!("SELECT text AS v FROM outbox WHERE chat_id = {ADMIN} AND sent_at IS NULL"),
    );
    assert_eq!(told.len(), 1, "{told:?}");
    let told = told[0].clone().unwrap();
    assert!(told.contains("не скопирована"), "{told}");
    assert!(told.contains("exit code 12"), "{told}");
    assert!(told.contains("connection refused"), "{told}");

    let check = daily.copy_check();
    assert_eq!(check.verdict, Verdict::Fail, "{check}");
    assert!(
        check.detail.contains("was not copied off the machine"),
        "{check}"
    );
    assert!(check.detail.contains("exit code 12"), "{check}");
}

#[tokio::test]
async fn a_hanging_copy_is_killed_at_its_timeout() {
    let marker = tempfile::tempdir().unwrap();
    // The shell waits for a child: both belong to the group that is killed.
    let command = format!("sleep 30; touch {}/finished", quoted(marker.path()));
    let daily = Daily::new(copy(command, Duration::from_secs(1)));
    let started = Instant::now();
    let report = daily.tick().await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the round waited {:?}",
        started.elapsed()
    );
    let copy = report.backup_copy.expect("attempted");
    let CopyOutcome::Failed { status, .. } = &copy.outcome else {
        panic!("{copy:?}");
    };
    assert_eq!(status, "timed out after 1 s, killed");
    let audited = opt_text(
        &mut daily.sandbox.conn(),
        "SELECT details AS v FROM audit_log WHERE action = 'BACKUP_COPY_FAILED'",
    )
    .expect("audited");
    assert!(audited.contains("timed out"), "{audited}");
    assert_eq!(daily.copy_check().verdict, Verdict::Fail);
    assert!(support::files_in(marker.path()).is_empty());
}

#[test]
fn the_pre_migrate_backup_is_copied_and_recorded() {
    let sandbox = Sandbox::with_fixture("A0");
    let offsite = tempfile::tempdir().unwrap();
    let output = sandbox
        .cli(&["migrate", "run"])
        .env(
            "BACKUP_COPY_COMMAND",
            format!(r#"cp "$REPAIR_BOT_BACKUP" {}/"#, quoted(offsite.path())),
        )
        .output()
        .unwrap();
    let output = support::CliOutput::from(output);
    output.assert_success();
    let backup = only_file(&sandbox.backups);
    assert!(
        backup.to_string_lossy().contains("pre-migrate"),
        "{}",
        backup.display()
    );
    let there = only_file(offsite.path());
    assert_eq!(
        std::fs::read(&there).unwrap(),
        std::fs::read(&backup).unwrap()
    );
    assert!(
        output.stdout.contains("copied off the machine"),
        "{output:#?}"
    );
    let taken_at = backup::taken_at(&backup).unwrap().naive_utc();
    let mut conn = sandbox.conn();
    let recorded = opt_text(
        &mut conn,
        "SELECT CAST(last_run_at AS TEXT) AS v FROM job_runs WHERE job = 'backup_copy'",
    )
    .expect("recorded for health");
    assert_eq!(
        chrono::NaiveDateTime::parse_from_str(&recorded, "%Y-%m-%d %H:%M:%S%.f").unwrap(),
        taken_at
    );
    assert_eq!(
        int(
            &mut conn,
            "SELECT COUNT(*) AS v FROM audit_log WHERE action = 'BACKUP_COPIED'"
        ),
        1
    );
}

#[test]
fn a_manual_backup_whose_copy_fails_exits_non_zero() {
    let sandbox = Sandbox::new();
    sandbox.migrate();
    let output = support::CliOutput::from(
        sandbox
            .cli(&["backup", "create"])
            .env("BACKUP_COPY_COMMAND", "echo 'no route to host' >&2; exit 2")
            .output()
            .unwrap(),
    );
    output.assert_failure();
    let backup = only_file(&sandbox.backups);
    assert!(
        output.stdout.contains(&backup.display().to_string()),
        "{output:#?}"
    );
    assert!(
        output.stderr.contains("exit code 2") && output.stderr.contains("no route to host"),
        "{output:#?}"
    );
    assert_eq!(
        int(
            &mut sandbox.conn(),
            "SELECT COUNT(*) AS v FROM audit_log WHERE action = 'BACKUP_COPY_FAILED'"
        ),
        1
    );
}

#[test]
fn a_backup_of_the_old_bots_database_is_copied_and_nothing_is_written_into_it() {
    let sandbox = Sandbox::with_fixture("B");
    let before = sandbox.bytes();
    let offsite = tempfile::tempdir().unwrap();
    let output = support::CliOutput::from(
        sandbox
            .cli(&["backup", "create"])
            .env(
                "BACKUP_COPY_COMMAND",
                format!(r#"cp "$1" {}/"#, quoted(offsite.path())),
            )
            .output()
            .unwrap(),
    );
    output.assert_success();
    let backup = only_file(&sandbox.backups);
    let there = only_file(offsite.path());
    assert_eq!(
        std::fs::read(&there).unwrap(),
        std::fs::read(&backup).unwrap()
    );
    assert!(
        output.stderr.contains("not recorded"),
        "the log says why: {output:#?}"
    );
    assert_eq!(
        sandbox.bytes(),
        before,
        "the old bot's file is left as it was"
    );
}
