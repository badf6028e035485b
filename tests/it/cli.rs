//! The operator's command line (SPEC 1.5, part 3 configuration), run as a separate process.

use crate::support::*;
use repair_bot::db::migrations::Catalog;

#[test]
fn every_subcommand_has_help() {
    let sandbox = Sandbox::new();
    let commands: [&[&str]; 12] = [
        &["--help"],
        &["migrate", "--help"],
        &["migrate", "status", "--help"],
        &["migrate", "run", "--help"],
        &["migrate", "revert", "--help"],
        &["migrate", "redo", "--help"],
        &["migrate", "check", "--help"],
        &["backup", "--help"],
        &["backup", "create", "--help"],
        &["backup", "list", "--help"],
        &["backup", "verify", "--help"],
        &["backup", "restore", "--help"],
    ];
    for args in commands {
        let output = sandbox.run_cli(args);
        assert!(output.success, "{args:?}: {output:#?}");
        assert!(output.stdout.contains("Usage"), "{args:?}: {output:#?}");
    }
    assert!(!sandbox.db.exists(), "--help must not create the database");
    let output = sandbox.run_cli(&["migrate", "revert", "--help"]);
    assert!(output.stdout.contains("--steps"), "{output:#?}");
}

#[test]
fn unknown_subcommand_fails() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_cli(&["migrate", "sideways"]);
    output.assert_failure();
    assert!(output.stderr.contains("sideways"), "{output:#?}");
    let output = sandbox.run_cli(&["migrate", "revert", "--steps", "0"]);
    output.assert_failure();
    assert!(!sandbox.db.exists());
}

#[test]
fn status_on_a_fresh_path_shows_everything_pending_and_creates_nothing() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_cli(&["migrate", "status"]);
    output.assert_success();
    let catalog = Catalog::embedded();
    for name in names(&catalog) {
        assert!(
            output.stdout.contains(&format!("[pending] {name}")),
            "{name}: {output:#?}"
        );
    }
    assert!(
        output
            .stdout
            .contains(&format!("pending: {}", catalog.all().len())),
        "{output:#?}"
    );
    assert!(!sandbox.db.exists(), "status must not create the database");
}

#[test]
fn check_fails_before_run_and_passes_after() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_cli(&["migrate", "check"]);
    output.assert_failure();
    assert!(output.stdout.contains("NOT OK"), "{output:#?}");
    assert!(!sandbox.db.exists(), "check must not create the database");

    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_success();
    assert!(sandbox.db.is_file());

    let output = sandbox.run_cli(&["migrate", "check"]);
    output.assert_success();
    assert!(output.stdout.contains("check: ok"), "{output:#?}");
    assert!(output.stdout.contains("schema: as expected"), "{output:#?}");

    let output = sandbox.run_cli(&["migrate", "status"]);
    output.assert_success();
    assert!(output.stdout.contains("pending: 0"), "{output:#?}");
    assert!(
        output.stdout.contains(&format!("] {REBUILD}")) && output.stdout.contains("[applied "),
        "{output:#?}"
    );

    // The second run has nothing to do.
    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_success();
    assert!(output.stdout.contains("up to date"), "{output:#?}");
}

#[test]
fn check_fails_when_the_schema_was_changed_by_hand() {
    let sandbox = Sandbox::new();
    sandbox.run_cli(&["migrate", "run"]).assert_success();
    execute(
        &sandbox.db,
        "CREATE INDEX idx_by_hand ON orders(client_phone);",
    );
    let output = sandbox.run_cli(&["migrate", "check"]);
    output.assert_failure();
    assert!(output.stdout.contains("DIFFERS"), "{output:#?}");
}

#[test]
fn legacy_database_status_is_read_only_then_run_adopts_it() {
    let sandbox = Sandbox::with_fixture("B");
    let before = sandbox.bytes();
    let output = sandbox.run_cli(&["migrate", "status"]);
    output.assert_success();
    assert!(output.stdout.contains("old bot"), "{output:#?}");
    let output = sandbox.run_cli(&["migrate", "check"]);
    output.assert_failure();
    assert_eq!(sandbox.bytes(), before, "status/check must not write");
    assert!(!table_exists(
        &mut sandbox.conn(),
        "__diesel_schema_migrations"
    ));

    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_success();
    let ran = 2 + AFTER_REBUILD.len();
    assert!(
        output.stdout.contains(&format!("stamped 5, ran {ran}")),
        "{output:#?}"
    );
    assert!(output.stdout.contains("pre-migrate"), "{output:#?}");

    let output = sandbox.run_cli(&["migrate", "status"]);
    output.assert_success();
    assert!(
        output.stdout.contains(&format!("] {STEP1}")) && output.stdout.contains("[stamped "),
        "{output:#?}"
    );
    sandbox.run_cli(&["migrate", "check"]).assert_success();
}

#[test]
fn unknown_schema_exits_non_zero_naming_the_problem() {
    let sandbox = Sandbox::new();
    execute(&sandbox.db, "CREATE TABLE foo (id INTEGER);");
    let before = sandbox.bytes();
    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_failure();
    assert!(output.stderr.contains("foo"), "{output:#?}");
    assert_eq!(sandbox.bytes(), before);
    let output = sandbox.run_cli(&["migrate", "status"]);
    output.assert_failure();
    assert!(output.stderr.contains("foo"), "{output:#?}");
}

#[test]
fn backup_create_then_list_shows_one_manual_backup() {
    let sandbox = Sandbox::new();
    // Nothing to back up yet.
    let output = sandbox.run_cli(&["backup", "create"]);
    output.assert_failure();
    assert!(!sandbox.db.exists());

    sandbox.run_cli(&["migrate", "run"]).assert_success();
    let output = sandbox.run_cli(&["backup", "list"]);
    output.assert_success();
    assert!(output.stdout.contains("no backups"), "{output:#?}");

    let output = sandbox.run_cli(&["backup", "create"]);
    output.assert_success();
    let files = sandbox.backup_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        output.stdout.contains(&files[0].display().to_string()),
        "{output:#?}"
    );

    let output = sandbox.run_cli(&["backup", "list"]);
    output.assert_success();
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{output:#?}");
    assert!(lines[0].contains("manual"), "{output:#?}");
    assert!(lines[0].contains(NEWEST_VERSION), "{output:#?}");
    assert!(lines[0].contains("bytes"), "{output:#?}");
}

#[test]
fn revert_and_redo_from_the_command_line() {
    let sandbox = Sandbox::with_fixture("C");
    sandbox.run_cli(&["migrate", "run"]).assert_success();
    let schema = sandbox.snapshot();

    let output = sandbox.run_cli(&["migrate", "redo"]);
    output.assert_success();
    assert!(output.stdout.contains(&format!("reverted {NEWEST}")));
    assert!(output.stdout.contains(&format!("ran {NEWEST}")));
    assert_eq!(sandbox.snapshot(), schema);

    let steps = (AFTER_REBUILD.len() + 2).to_string();
    let output = sandbox.run_cli(&["migrate", "revert", "--steps", &steps]);
    output.assert_success();
    assert!(
        output.stdout.contains(&format!("reverted {STEP5}")),
        "{output:#?}"
    );
    assert!(output.stdout.contains("pre-revert"), "{output:#?}");
    sandbox.run_cli(&["migrate", "check"]).assert_failure();
    assert_eq!(
        sandbox
            .backup_files()
            .iter()
            .filter(|f| f.to_string_lossy().contains("pre-revert"))
            .count(),
        2
    );

    sandbox.run_cli(&["migrate", "run"]).assert_success();
    assert_eq!(sandbox.snapshot(), schema);
    assert_eq!(count(&mut sandbox.conn(), "orders"), 8);
}

#[test]
fn database_path_is_an_alias_of_database_url() {
    let sandbox = Sandbox::new();
    let alias = sandbox.path("data/alias.db");
    let output = sandbox
        .cli(&["migrate", "run"])
        .env_remove("DATABASE_URL")
        .env("DATABASE_PATH", &alias)
        .output()
        .unwrap();
    CliOutput::from(output).assert_success();
    assert!(alias.is_file());
    assert!(!sandbox.db.exists());
    assert!(!sandbox.path("bot_database.db").exists());

    // DATABASE_URL wins when both are set.
    let output = sandbox
        .cli(&["migrate", "status"])
        .env("DATABASE_PATH", &alias)
        .output()
        .unwrap();
    let output = CliOutput::from(output);
    output.assert_success();
    assert!(
        output.stdout.contains(&sandbox.db.display().to_string()),
        "{output:#?}"
    );
}

#[test]
fn default_paths_are_relative_to_the_working_directory() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cli(&["migrate", "run"])
        .env_remove("DATABASE_URL")
        .env_remove("BACKUP_DIR")
        .output()
        .unwrap();
    CliOutput::from(output).assert_success();
    assert!(sandbox.path("bot_database.db").is_file());
    let output = sandbox
        .cli(&["backup", "create"])
        .env_remove("DATABASE_URL")
        .env_remove("BACKUP_DIR")
        .output()
        .unwrap();
    CliOutput::from(output).assert_success();
    assert_eq!(files_in(&sandbox.path("backup")).len(), 1);
}

#[test]
fn invalid_backup_keep_is_refused_naming_the_variable() {
    let sandbox = Sandbox::new();
    for value in ["0", "abc", "-1", "2.5"] {
        let output = sandbox
            .cli(&["migrate", "run"])
            .env("BACKUP_KEEP", value)
            .output()
            .unwrap();
        let output = CliOutput::from(output);
        output.assert_failure();
        assert!(
            output.stderr.contains("BACKUP_KEEP"),
            "{value}: {output:#?}"
        );
        assert!(!sandbox.db.exists(), "{value}: nothing may happen");
    }
    let output = sandbox
        .cli(&["migrate", "run"])
        .env("BACKUP_KEEP", "3")
        .output()
        .unwrap();
    CliOutput::from(output).assert_success();
}

#[test]
fn invalid_database_url_is_refused_naming_the_variable() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .cli(&["migrate", "run"])
        .env("DATABASE_URL", "postgres://localhost/db")
        .output()
        .unwrap();
    let output = CliOutput::from(output);
    output.assert_failure();
    assert!(output.stderr.contains("DATABASE_URL"), "{output:#?}");
}

#[test]
fn the_bot_refuses_to_start_on_invalid_configuration_naming_the_variable() {
    let sandbox = Sandbox::new();
    let output = CliOutput::from(sandbox.cli(&[]).output().unwrap());
    assert!(!output.success);
    assert!(output.stderr.contains("BOT_TOKEN"), "{output:#?}");
    for (variable, value) in [
        ("REMINDER_MAX_COUNT", "many"),
        ("QUIET_HOURS", "22-8"),
        ("TIMEZONE", "Mars/Olympus"),
        ("ADMIN_IDS", "12,abc"),
        ("SHARE_HIGH_PERCENT", "150"),
        ("REVIEW_BONUS_ENABLED", "maybe"),
        ("BACKUP_TIME", "25:00"),
        ("EQUIPMENT_MASTER_PERCENT", "Пылесосы=40"),
        ("EQUIPMENT_MASTER_PERCENT", "Холодильники=140"),
        ("EQUIPMENT_MASTER_PERCENT", "Холодильники 40"),
        ("OUT_OF_CITY_BONUS_PERCENT", "-5"),
        ("ASK_PAYMENT_METHOD", "sometimes"),
    ] {
        let output = CliOutput::from(
            sandbox
                .cli(&[])
                .env("BOT_TOKEN", "123:abc")
                .env(variable, value)
                .output()
                .unwrap(),
        );
        assert!(!output.success, "{variable}={value}");
        assert!(output.stderr.contains(variable), "{variable}: {output:#?}");
    }
    // Nothing was created: configuration is checked before the database is touched.
    assert!(!sandbox.db.exists());
}

#[test]
fn files_of_an_interrupted_backup_are_listed_then_removed_at_the_next_start() {
    let sandbox = Sandbox::with_fixture("C");
    // Killed right after the pre-migrate copy was written, before it was verified and renamed.
    let killed = sandbox
        .cli(&["migrate", "run"])
        .env(repair_bot::db::fault::KILL_AFTER_COMMIT, "1")
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), None, "killed: {killed:?}");
    let partial: Vec<_> = sandbox
        .backup_files()
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".db.partial"))
        .collect();
    assert_eq!(partial.len(), 1, "{:?}", sandbox.backup_files());
    let partial = partial[0].clone();
    // What a copy killed half-way also leaves: SQLite's rollback journal of the copy.
    let journal = std::path::PathBuf::from(format!("{}-journal", partial.display()));
    std::fs::write(&journal, b"half a journal").unwrap();
    // Another database's leftovers in a shared folder are not ours to remove.
    let foreign = sandbox
        .backups
        .join("other_city__20200101T000000.000Z__manual.db.partial");
    std::fs::write(&foreign, b"x").unwrap();

    let listed = sandbox.run_cli(&["backup", "list"]);
    listed.assert_success();
    for file in [&partial, &journal] {
        let line = listed
            .stdout
            .lines()
            .find(|l| l.contains(&file.display().to_string()))
            .unwrap_or_else(|| panic!("{} not listed: {listed:#?}", file.display()));
        assert!(line.contains("INCOMPLETE"), "{line}");
    }
    assert!(!listed.stdout.contains("other_city"), "{listed:#?}");

    let started = sandbox.run_cli(&["migrate", "run"]);
    started.assert_success();
    let removal = started
        .stderr
        .lines()
        .find(|l| l.contains("incomplete backup"))
        .unwrap_or_else(|| panic!("no log line about the removal: {started:#?}"));
    assert!(
        removal.contains(&partial.display().to_string()),
        "{removal}"
    );
    assert!(
        removal.contains(&journal.display().to_string()),
        "{removal}"
    );
    assert!(!partial.exists() && !journal.exists());
    assert!(foreign.exists());

    let listed = sandbox.run_cli(&["backup", "list"]);
    listed.assert_success();
    assert!(!listed.stdout.contains("INCOMPLETE"), "{listed:#?}");
    assert_eq!(
        listed.stdout.lines().count(),
        1,
        "the pre-migrate backup: {listed:#?}"
    );
}

#[test]
fn disk_full_during_the_rebuild_says_so_names_the_backup_and_changes_nothing() {
    let sandbox = Sandbox::with_fixture("C");
    let before = legacy_values(&mut sandbox.conn());
    let output = CliOutput::from(
        sandbox
            .cli(&["migrate", "run"])
            .env(repair_bot::db::fault::DISK_FULL_AT, REBUILD_VERSION)
            .output()
            .unwrap(),
    );
    output.assert_failure();
    let backups = repair_bot::db::backup::list(&sandbox.db, &sandbox.backups).unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let message = output
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {output:#?}"));
    assert!(message.contains("disk is full"), "{message}");
    assert!(message.contains(REBUILD), "names the migration: {message}");
    assert!(
        message.contains(&backups[0].path.display().to_string()),
        "names the backup: {message}"
    );
    assert!(message.contains("unchanged"), "{message}");
    // Unchanged indeed: the old tables with every row, nothing of the rebuild.
    let mut conn = sandbox.conn();
    assert_eq!(legacy_values(&mut conn), before);
    assert!(!table_exists(&mut conn, "user_roles"));
    drop(conn);
    // With space again, the next start finishes the adoption.
    sandbox.run_cli(&["migrate", "run"]).assert_success();
    assert_eq!(sandbox.snapshot(), fresh_schema());
}

/// Runs `command` as a user who cannot write into `folder` (mode 0555): this user when not
/// root; root ignores permission bits, so then the sandbox is handed to `nobody` and the binary
/// runs as `nobody`. Either way the folder really is read-only for the process.
fn run_without_write_permission(
    sandbox: &Sandbox,
    folder: &std::path::Path,
    mut command: std::process::Command,
) -> CliOutput {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        const NOBODY: u32 = 65534;
        for entry in walk(sandbox.dir.path()) {
            std::os::unix::fs::chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        command.uid(NOBODY).gid(NOBODY);
    }
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    let output = CliOutput::from(command.output().unwrap());
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    output
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(walk(&path));
        } else {
            all.push(path);
        }
    }
    all
}

#[test]
fn read_only_database_folder_is_named() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path("data");
    std::fs::create_dir_all(&folder).unwrap();
    let db = folder.join("bot.db");
    // First a new database that cannot be created there, then an old one that cannot be
    // migrated in place.
    for existing in [false, true] {
        if existing {
            load_fixture(&db, "C");
        }
        let before = std::fs::read(&db).ok();
        let mut command = sandbox.cli(&["migrate", "run"]);
        command.env("DATABASE_URL", &db);
        let output = run_without_write_permission(&sandbox, &folder, command);
        output.assert_failure();
        let message = output
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("no error line: {output:#?}"));
        assert!(
            message.contains(&format!("folder {} ", folder.display())),
            "names the folder: {message}"
        );
        assert!(message.contains("not writable"), "{message}");
        assert_eq!(std::fs::read(&db).ok(), before, "nothing was written");
    }
}

#[test]
fn zero_byte_database_is_a_new_database_and_the_log_says_so() {
    let sandbox = Sandbox::new();
    std::fs::File::create(&sandbox.db).unwrap();
    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_success();
    let warning = output
        .stderr
        .lines()
        .find(|l| l.contains("0 bytes"))
        .unwrap_or_else(|| panic!("no log line about the empty file: {output:#?}"));
    assert!(warning.contains("new empty database"), "{warning}");
    assert!(
        warning.contains(&sandbox.db.display().to_string()),
        "{warning}"
    );
    assert_eq!(sandbox.snapshot(), fresh_schema());

    // A database emptied by accident next to its backups: the log names the newest backup.
    let made = sandbox.run_cli(&["backup", "create"]);
    made.assert_success();
    let newest = made.stdout.trim().to_string();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", sandbox.db.display());
        if suffix.is_empty() {
            std::fs::File::create(&file).unwrap();
        } else {
            let _ = std::fs::remove_file(&file);
        }
    }
    let output = sandbox.run_cli(&["migrate", "run"]);
    output.assert_success();
    let warning = output
        .stderr
        .lines()
        .find(|l| l.contains("0 bytes"))
        .unwrap_or_else(|| panic!("no log line about the empty file: {output:#?}"));
    assert!(
        warning.contains(&newest),
        "names the newest backup: {warning}"
    );
    assert!(warning.contains("backup restore"), "{warning}");
}

#[test]
fn database_url_pointing_to_a_folder_is_refused_naming_the_variable() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path("data");
    std::fs::create_dir_all(&folder).unwrap();
    for args in [
        &["migrate", "run"][..],
        &["migrate", "status"],
        &["backup", "create"],
    ] {
        let output = CliOutput::from(
            sandbox
                .cli(args)
                .env("DATABASE_URL", &folder)
                .output()
                .unwrap(),
        );
        output.assert_failure();
        let message = output
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{args:?}: no error line: {output:#?}"));
        assert!(message.contains("DATABASE_URL"), "{args:?}: {message}");
        assert!(message.contains("folder"), "{args:?}: {message}");
        assert!(message.contains(&folder.display().to_string()), "{message}");
    }
    assert_eq!(files_in(&folder), Vec::<std::path::PathBuf>::new());
}

#[test]
fn output_into_a_closed_pipe_is_a_normal_exit() {
    let sandbox = Sandbox::with_fixture("A1");
    sandbox.run_cli(&["migrate", "run"]).assert_success();
    sandbox.run_cli(&["backup", "create"]).assert_success();
    let commands: [&[&str]; 6] = [
        &["migrate", "status"],
        &["migrate", "check"],
        &["migrate", "run"],
        &["backup", "list"],
        &["backup", "create"],
        &["--help"],
    ];
    for args in commands {
        // `repair-bot migrate status | head -1` once head has exited: every write to stdout
        // fails with EPIPE. The reading end is closed before the binary starts, so the very
        // first write fails, every time.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = sandbox
            .cli(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
    // With stderr closed too (`2>&1 | head -1`), a failing command still exits 1, not 101.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = sandbox
        .cli(&["backup", "verify", "no-such-file.db"])
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}

#[test]
fn unparsable_env_line_stops_the_start_naming_the_line() {
    let sandbox = Sandbox::new();
    // The old bot's .env (python-dotenv read this); dotenvy stops at the space, and used to drop
    // every line after it without a word.
    std::fs::write(
        sandbox.path(".env"),
        "# repair bot\nBOT_TOKEN=123:abc\n\nADMIN_IDS=111, 222\nDATABASE_URL=from_dotenv.db\n",
    )
    .unwrap();
    for args in [&["migrate", "run"][..], &["migrate", "status"], &[]] {
        let output = CliOutput::from(
            sandbox
                .cli(args)
                .env_remove("DATABASE_URL")
                .output()
                .unwrap(),
        );
        output.assert_failure();
        let message = output
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("{args:?}: no error line: {output:#?}"));
        assert!(
            message.contains(".env line 4"),
            "{args:?}: names the line: {message}"
        );
        assert!(message.contains("ADMIN_IDS=111, 222"), "{message}");
        assert!(
            message.contains(r#"ADMIN_IDS="111, 222""#),
            "says how to fix it: {message}"
        );
    }
    assert!(!sandbox.path("bot_database.db").exists(), "nothing started");
    assert!(!sandbox.path("from_dotenv.db").exists());

    // --help still works: it reads no configuration.
    sandbox.run_cli(&["--help"]).assert_success();

    // Quoted, the value is read and so is every line after it.
    std::fs::write(
        sandbox.path(".env"),
        "ADMIN_IDS=\"111, 222\"\nDATABASE_URL=from_dotenv.db\n",
    )
    .unwrap();
    let output = CliOutput::from(
        sandbox
            .cli(&["migrate", "run"])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap(),
    );
    output.assert_success();
    assert!(sandbox.path("from_dotenv.db").is_file());

    // A missing .env is fine: everything may come from the environment.
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    sandbox.run_cli(&["migrate", "run"]).assert_success();
}

/// `ADMIN_IDS="111, 222"` from .env, then more lines: both ids become admins and the lines
/// after it are read (here the dispatcher and the fake Telegram's address), through the real
/// bot against the fake Bot API.
#[cfg(feature = "sandbox")]
#[test]
fn admin_ids_with_a_space_in_dotenv_grant_both_ids() {
    use repair_bot::fake_telegram::FakeTelegram;
    use std::time::Duration;
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let fake = FakeTelegram::start().await.unwrap();
        std::fs::write(
            sandbox.path(".env"),
            format!(
                "BOT_TOKEN={}\nADMIN_IDS=\"111, 222\"\nDISPATCHER_IDS=333\n\
                 TELOXIDE_API_URL={}\nQUIET_HOURS=off\nBACKUP_TIME=off\nDAILY_SUMMARY_TIME=off\n",
                fake.token(),
                fake.url()
            ),
        )
        .unwrap();
        let mut bot = sandbox
            .cli(&[])
            .env_remove("ADMIN_IDS")
            .env_remove("DISPATCHER_IDS")
            .env_remove("TELOXIDE_API_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut menus = Vec::new();
        for id in [111_i64, 222, 333] {
            let user = fake.add_user(id, "Тест", None);
            fake.send_text(&user, id, "/start");
            let reply = fake.wait_for(id, |_| true, Duration::from_secs(20)).await;
            assert!(reply.is_ok(), "{id}: no reply to /start");
            menus.push(fake.reply_keyboard(id).unwrap_or_default().concat());
        }
        let _ = bot.kill();
        let _ = bot.wait();
        fake.shutdown().await;
        let add_master = repair_bot::bot::texts::MENU_ADD_MASTER.to_string();
        let new_order = repair_bot::bot::texts::MENU_NEW_ORDER.to_string();
        assert!(
            menus[0].contains(&add_master),
            "111 is an admin: {:?}",
            menus[0]
        );
        assert!(
            menus[1].contains(&add_master),
            "222 is an admin: {:?}",
            menus[1]
        );
        assert!(
            !menus[2].contains(&add_master),
            "333 is not: {:?}",
            menus[2]
        );
        assert!(
            menus[2].contains(&new_order),
            "333 is a dispatcher: {:?}",
            menus[2]
        );
    });
}

#[cfg(feature = "sandbox")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_telegram_rejects_stops_the_bot_with_exit_code_1_naming_bot_token() {
    let sandbox = Sandbox::new();
    let fake = repair_bot::fake_telegram::FakeTelegram::start()
        .await
        .unwrap();
    let mut command = sandbox.cli(&[]);
    command
        .env("BOT_TOKEN", "7000000001:not-the-token-of-this-bot")
        .env("TELOXIDE_API_URL", fake.url().as_str())
        .env("BACKUP_TIME", "off")
        .env("DAILY_SUMMARY_TIME", "off");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("a rejected token must stop the start, not be retried forever")
    .unwrap()
    .unwrap();
    let output = CliOutput::from(output);
    assert_eq!(output.code, Some(1), "{output:#?}");
    assert!(
        output.stderr.contains("BOT_TOKEN") && output.stderr.contains("rejected"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
}

/// A burst of updates, SIGTERM at a given point of it: the bot stops within a bound, exits 0,
/// and every update it confirmed to Telegram was answered (the rest come again next start).
#[cfg(feature = "sandbox")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_a_burst_always_stops_the_bot_in_time_and_loses_no_confirmed_update() {
    use repair_bot::fake_telegram::FakeTelegram;
    use std::time::{Duration, Instant};
    const USERS: i64 = 40;
    const STOP_BOUND: Duration = Duration::from_secs(30);
    for replies_before_term in [1, 10, 25] {
        let sandbox = Sandbox::new();
        let fake = FakeTelegram::start().await.unwrap();
        let users: Vec<_> = (0..USERS)
            .map(|n| fake.add_user(5000 + n, &format!("Гость {n}"), None))
            .collect();
        for user in &users {
            fake.send_text(user, user.id, "/start");
        }
        let replies = |fake: &FakeTelegram| -> usize {
            users.iter().map(|u| fake.messages(u.id).len()).sum()
        };
        let mut command = sandbox.cli(&[]);
        command
            .env("BOT_TOKEN", fake.token())
            .env("TELOXIDE_API_URL", fake.url().as_str())
            .env("BACKUP_TIME", "off")
            .env("DAILY_SUMMARY_TIME", "off")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while replies(&fake) < replies_before_term {
            assert!(Instant::now() < deadline, "the bot never answered");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let term = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let termed = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if termed.elapsed() > STOP_BOUND {
                let _ = child.kill();
                panic!(
                    "SIGTERM after {replies_before_term} replies was ignored for {STOP_BOUND:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(
            status.success(),
            "after {replies_before_term} replies: {status:?}"
        );
        let confirmed = USERS as usize - fake.pending_updates();
        assert!(
            replies(&fake) >= confirmed,
            "after {replies_before_term} replies: {confirmed} updates confirmed, only {} answered",
            replies(&fake)
        );
        fake.shutdown().await;
    }
}
