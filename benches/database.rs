//! `cargo bench --bench database`: the database work an operator waits for, on a generated
//! database of 1,000,000 orders and 10,000 users (BENCH_ORDERS / BENCH_USERS override the
//! sizes, e.g. `BENCH_ORDERS=20000 BENCH_USERS=1000` for a quick run):
//!
//! 1. `repair-bot migrate run` with nothing pending: the release binary as a subprocess
//!    (20 runs) and `startup::prepare` in process (20 runs). Target: under 100 ms.
//! 2. `backup create` (online copy + integrity check of the copy) against the sqlite3 CLI
//!    doing the same (`.backup`, then `PRAGMA integrity_check`). Target: within 1.5x.
//! 3. Adopting an old bot's database of shape B (tests/fixtures/legacy/B.sql) of that size:
//!    `repair-bot migrate run` (classify, back up, stamp, ledger, rebuild, verify) against the
//!    sqlite3 CLI doing the backup, its check, the two migrations' SQL and a final integrity
//!    check, alternating, each on a fresh copy (median of BENCH_ADOPT_RUNS runs). Target:
//!    within 1.5x; the bot's peak RSS is reported. Both results must equal the database of
//!    section 1 (row counts, statuses, roles, kopeck sums).
//!
//! Other knobs: BENCH_AUDIT / BENCH_HISTORY (audit_log / order_status_history rows; default
//! orders / 10 and orders / 4), BENCH_ADOPT_RUNS (default 3), BENCH_SQLITE3 (the CLI, default
//! `sqlite3`), BENCH_KEEP (set: keep the scratch folder), BENCH_DATABASE_ONLY=FILE (only build
//! the database of section 1 at FILE and stop, see [`database_only`]). The binary measured is
//! the one cargo builds for this bench (`CARGO_BIN_EXE_repair-bot`, i.e.
//! target/release/repair-bot).
//! Everything generated lives in one temporary folder, removed at the end. Wall clock via
//! `Instant`; the peak RSS of a child via `wait4` (see [`run_measured`]).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Text};
use repair_bot::db::backup::{self, BackupPolicy, BackupReason};
use repair_bot::db::migrations::Catalog;
use repair_bot::db::sqlite_copy;
use repair_bot::db::startup::{self, DatabaseSettings};

/// The release binary cargo built for this bench.
const BOT: &str = env!("CARGO_BIN_EXE_repair-bot");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

const STARTUP_RUNS: usize = 20;
const BACKUP_RUNS: usize = 3;
const STARTUP_TARGET_MS: f64 = 100.0;
const RATIO_TARGET: f64 = 1.5;

fn main() -> std::process::ExitCode {
    if let Some(report) = std::env::var_os(LAUNCHER_ENV) {
        return launcher(Path::new(&report));
    }
    if let Some(db) = std::env::var_os("BENCH_DATABASE_ONLY") {
        return database_only(Path::new(&db));
    }
    let sizes = Sizes::from_env();
    let sqlite3 = Sqlite3::find();
    let dir = tempfile::Builder::new()
        .prefix("repair-bot-bench-")
        .tempdir()
        .expect("create a temporary folder");
    let ctx = Ctx {
        dir: dir.path().to_path_buf(),
        logs: dir.path().join("logs"),
        sizes,
        sqlite3,
    };
    fs::create_dir_all(&ctx.logs).expect("create the log folder");

    println!("repair-bot database benchmark");
    println!("  binary:  {BOT}");
    println!("  scratch: {}", ctx.dir.display());
    println!("  sizes:   {}", ctx.sizes);
    println!("  SQLite:  {} in the bot", bundled_sqlite_version());
    match &ctx.sqlite3 {
        Some(cli) => println!("  CLI:     {} ({})", cli.program, cli.version),
        None => println!(
            "  CLI:     sqlite3 not found (set BENCH_SQLITE3): the CLI comparisons are skipped"
        ),
    }

    let floor = run_measured(Command::new("true"), &ctx.logs, "rss-floor", None);
    floor.expect_success("true");
    println!(
        "  RSS floor: `true` started the same way peaks at {:.1} MB",
        mib(floor.max_rss_kib)
    );

    let mut report = Report::default();
    let managed = bench_up_to_date(&ctx, &mut report);
    bench_backup(&ctx, &managed, &mut report);
    bench_adoption(&ctx, &managed, &mut report);

    report.print(&ctx.sizes);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("BENCH_KEEP: kept {}", dir.keep().display());
    } else {
        drop(dir);
    }
    std::process::ExitCode::SUCCESS
}

// ----------------------------------------------------------------------------------------
// Settings

struct Sizes {
    orders: u64,
    users: u64,
    masters: u64,
    audit: u64,
    history: u64,
    adopt_runs: usize,
}

impl Sizes {
    fn from_env() -> Self {
        let orders = env_number("BENCH_ORDERS", 1_000_000);
        let users = env_number("BENCH_USERS", 10_000);
        assert!(orders >= 1, "BENCH_ORDERS must be at least 1");
        assert!(users >= 100, "BENCH_USERS must be at least 100");
        Self {
            orders,
            users,
            masters: users / 50,
            audit: env_number("BENCH_AUDIT", orders / 10),
            history: env_number("BENCH_HISTORY", orders / 4),
            adopt_runs: env_number("BENCH_ADOPT_RUNS", 3).max(1) as usize,
        }
    }

    /// Users 2, 22, 42, ... are dispatchers.
    fn dispatchers(&self) -> u64 {
        self.users / 20
    }

    /// Master k (1-based) is user 3 + (k - 1) * step.
    fn master_step(&self) -> u64 {
        self.users / self.masters
    }
}

impl std::fmt::Display for Sizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} orders, {} users, {} masters, {} audit_log, {} order_status_history rows",
            self.orders, self.users, self.masters, self.audit, self.history
        )
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => raw
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {raw:?}")),
        _ => default,
    }
}

struct Ctx {
    dir: PathBuf,
    logs: PathBuf,
    sizes: Sizes,
    sqlite3: Option<Sqlite3>,
}

struct Sqlite3 {
    program: String,
    version: String,
}

impl Sqlite3 {
    fn find() -> Option<Self> {
        let program = std::env::var("BENCH_SQLITE3").unwrap_or_else(|_| "sqlite3".into());
        let output = Command::new(&program).arg("-version").output().ok()?;
        if !output.status.success() {
            return None;
        }
        let version = String::from_utf8_lossy(&output.stdout);
        let version = version.split_whitespace().next().unwrap_or("?").to_string();
        Some(Self { program, version })
    }

    fn command(&self, db: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command.arg("-bail").arg(db);
        command
    }
}

fn bundled_sqlite_version() -> String {
    let mut conn = SqliteConnection::establish(":memory:").expect("open an in-memory database");
    sql_query("SELECT sqlite_version() AS v")
        .get_result::<TextValue>(&mut conn)
        .map(|row| row.v)
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

// ----------------------------------------------------------------------------------------
// 1. migrate run with nothing pending

fn bench_up_to_date(ctx: &Ctx, report: &mut Report) -> PathBuf {
    section("1. migrate run with nothing pending");
    let folder = ctx.dir.join("managed");
    fs::create_dir_all(&folder).expect("create the managed folder");
    let db = folder.join("bot_database.db");
    let backups = folder.join("backup");
    File::create(&db).expect("create an empty database file");
    let settings = DatabaseSettings {
        path: db.clone(),
        backup: BackupPolicy {
            dir: backups.clone(),
            keep: 20,
            copy: None,
        },
    };
    let catalog = Catalog::embedded();
    build_managed(&settings, &ctx.sizes);

    let run = || {
        let mut command = bot_command(ctx, &db, &backups, "warn");
        command.args(["migrate", "run"]);
        let done = run_measured(command, &ctx.logs, "migrate-run-managed", None);
        done.expect_success("repair-bot migrate run (nothing pending)");
        assert!(
            done.stdout.contains("up to date"),
            "migrate run did not report an up-to-date database: {}",
            done.stdout
        );
        done
    };
    let warm_up = run();
    let times: Vec<Duration> = (0..STARTUP_RUNS).map(|_| run().elapsed).collect();
    let wall = Stats::of(&times);
    println!(
        "repair-bot migrate run: warm-up {:.1} ms, then {STARTUP_RUNS} runs {wall}",
        ms(warm_up.elapsed)
    );

    let in_process: Vec<Duration> = (0..STARTUP_RUNS)
        .map(|_| {
            let started = Instant::now();
            let prepared =
                startup::prepare(&settings, &catalog).expect("prepare (nothing pending)");
            let elapsed = started.elapsed();
            assert!(prepared.report.ran.is_empty() && prepared.report.stamped.is_empty());
            drop(prepared);
            elapsed
        })
        .collect();
    let in_process = Stats::of(&in_process);
    println!("startup::prepare in process: {STARTUP_RUNS} runs {in_process}");
    assert!(
        !backups.exists() || fs::read_dir(&backups).map_or(0, Iterator::count) == 0,
        "nothing pending must not take a backup"
    );

    report.row(
        "1 up to date",
        &format!("repair-bot migrate run, wall, {STARTUP_RUNS} runs (subprocess)"),
        wall.to_string(),
        verdict_below(wall.median, STARTUP_TARGET_MS),
    );
    report.row(
        "1 up to date",
        &format!("startup::prepare in process, {STARTUP_RUNS} runs"),
        in_process.to_string(),
        verdict_below(in_process.median, STARTUP_TARGET_MS),
    );
    report.row(
        "1 up to date",
        "managed database file",
        file_size(&db),
        String::new(),
    );
    db
}

// ----------------------------------------------------------------------------------------
// 2. backup create against the sqlite3 CLI

fn bench_backup(ctx: &Ctx, db: &Path, report: &mut Report) {
    section("2. backup create against sqlite3 .backup + integrity_check");
    let backups = ctx.dir.join("managed/backup");
    let policy = BackupPolicy {
        dir: backups.clone(),
        keep: 20,
        copy: None,
    };
    let cli_copy = ctx.dir.join("managed/cli_backup.db");
    let mut ours = Vec::new();
    let mut ours_subprocess = Vec::new();
    let mut cli = Vec::new();
    // Interleaved, so that neither side always runs on a colder cache.
    for round in 1..=BACKUP_RUNS {
        let started = Instant::now();
        let file = backup::create(db, &policy, &BackupReason::Manual).expect("backup::create");
        let elapsed = started.elapsed();
        ours.push(elapsed);
        fs::remove_file(&file).expect("remove the backup");

        let mut command = bot_command(ctx, db, &backups, "warn");
        command.args(["backup", "create"]);
        let done = run_measured(command, &ctx.logs, "backup-create", None);
        done.expect_success("repair-bot backup create");
        let file = PathBuf::from(done.stdout.trim());
        assert!(file.is_file(), "backup create printed {:?}", done.stdout);
        fs::remove_file(&file).expect("remove the backup");
        ours_subprocess.push(done.elapsed);

        let mut line = format!(
            "round {round}: backup::create {:.0} ms, repair-bot backup create {:.0} ms",
            ms(elapsed),
            ms(done.elapsed)
        );
        if let Some(sqlite3) = &ctx.sqlite3 {
            let _ = fs::remove_file(&cli_copy);
            let mut copy = sqlite3.command(db);
            copy.arg(format!(".backup '{}'", cli_copy.display()));
            let copied = run_measured(copy, &ctx.logs, "cli-backup", None);
            copied.expect_success("sqlite3 .backup");
            let mut check = sqlite3.command(&cli_copy);
            check.arg("PRAGMA integrity_check;");
            let checked = run_measured(check, &ctx.logs, "cli-check", None);
            checked.expect_success("sqlite3 PRAGMA integrity_check");
            assert_eq!(
                checked.stdout.trim(),
                "ok",
                "integrity_check of the CLI copy"
            );
            fs::remove_file(&cli_copy).expect("remove the CLI copy");
            cli.push(copied.elapsed + checked.elapsed);
            let _ = write!(
                line,
                ", sqlite3 {:.0} ms (.backup {:.0} + integrity_check {:.0})",
                ms(copied.elapsed + checked.elapsed),
                ms(copied.elapsed),
                ms(checked.elapsed)
            );
        }
        println!("{line}");
    }
    let ours = Stats::of(&ours);
    let ours_subprocess = Stats::of(&ours_subprocess);
    let what = format!("median of {BACKUP_RUNS}");
    report.row(
        "2 backup",
        "backup::create in process (copy + fsync + integrity_check)",
        format!("{:.0} ms ({what})", ours.median),
        String::new(),
    );

    // Where backup::create spends it: the same two calls it makes, timed apart (one run).
    let partial = ctx.dir.join("managed/breakdown.db");
    let started = Instant::now();
    sqlite_copy::copy(db, &partial).expect("sqlite_copy::copy");
    let copied = started.elapsed();
    let started = Instant::now();
    sync_file(&partial);
    let synced = started.elapsed();
    let started = Instant::now();
    backup::integrity_check(&partial).expect("integrity_check of the copy");
    let checked = started.elapsed();
    fs::remove_file(&partial).expect("remove the breakdown copy");
    println!(
        "backup::create broken down (one run): copy {:.0} ms, fsync {:.0} ms, integrity_check {:.0} ms",
        ms(copied),
        ms(synced),
        ms(checked)
    );
    for (what, took) in [
        ("  of which sqlite_copy::copy (one run)", copied),
        ("  of which integrity_check of the copy (one run)", checked),
    ] {
        report.row(
            "2 backup",
            what,
            format!("{:.0} ms", ms(took)),
            String::new(),
        );
    }
    report.row(
        "2 backup",
        "repair-bot backup create (subprocess)",
        format!("{:.0} ms ({what})", ours_subprocess.median),
        String::new(),
    );
    if ctx.sqlite3.is_some() {
        let cli = Stats::of(&cli);
        report.row(
            "2 backup",
            "sqlite3 .backup + sqlite3 PRAGMA integrity_check",
            format!("{:.0} ms ({what})", cli.median),
            String::new(),
        );
        report.ratio(
            "2 backup",
            "ratio backup::create / sqlite3",
            ours.median,
            cli.median,
        );
        report.ratio(
            "2 backup",
            "ratio repair-bot backup create / sqlite3",
            ours_subprocess.median,
            cli.median,
        );
    } else {
        report.row(
            "2 backup",
            "sqlite3 comparison",
            "skipped: sqlite3 CLI not found".into(),
            String::new(),
        );
    }
}

// ----------------------------------------------------------------------------------------
// 3. adopting shape B

fn bench_adoption(ctx: &Ctx, managed: &Path, report: &mut Report) {
    section("3. adopting a legacy database of shape B");
    let folder = ctx.dir.join("legacy");
    fs::create_dir_all(&folder).expect("create the legacy folder");
    let template = folder.join("B.db");
    let started = Instant::now();
    build_legacy_b(&template, &ctx.sizes);
    sync_file(&template);
    println!(
        "built the shape-B database: {:.1} s, {}",
        started.elapsed().as_secs_f64(),
        file_size(&template)
    );
    let expected = fingerprint(managed);
    println!("expected after adoption (= the managed database): {expected}");
    let script = folder.join("adopt.sql");
    fs::write(&script, cli_adoption_script()).expect("write the CLI script");

    // Bot and CLI alternate, each on a fresh copy of the same file.
    let mut bot_runs = Vec::new();
    let mut cli_runs = Vec::new();
    for run in 1..=ctx.sizes.adopt_runs {
        let bot = adopt_with_bot(ctx, &template, &expected);
        println!(
            "run {run}: repair-bot migrate run {:.2} s, peak RSS {:.1} MB",
            bot.elapsed.as_secs_f64(),
            mib(bot.max_rss_kib)
        );
        bot_runs.push(bot);
        if let Some(sqlite3) = &ctx.sqlite3 {
            let cli = adopt_with_cli(ctx, sqlite3, &template, &script, &expected);
            let [backed_up, checked, migrated, verified] = cli.parts;
            println!(
                "run {run}: sqlite3 {:.2} s (.backup {:.2} + check {:.2} + ledger/rebuild {:.2} \
                 + check {:.2}), peak RSS {:.1} MB",
                cli.elapsed.as_secs_f64(),
                backed_up.as_secs_f64(),
                checked.as_secs_f64(),
                migrated.as_secs_f64(),
                verified.as_secs_f64(),
                mib(cli.max_rss_kib)
            );
            cli_runs.push(cli);
        }
    }

    let runs = if ctx.sizes.adopt_runs > 1 {
        format!(" (median of {})", ctx.sizes.adopt_runs)
    } else {
        String::new()
    };
    let bot_times: Vec<Duration> = bot_runs.iter().map(|r| r.elapsed).collect();
    let bot = Stats::of(&bot_times);
    // The breakdown shown is that of the median run.
    let median_run = &bot_runs[median_index(&bot_times)];
    println!("bot steps (median run, from its log):");
    let mut accounted = 0.0;
    for step in &median_run.steps {
        println!("  {}", step.line);
        if step.top_level {
            accounted += step.ms;
        }
    }
    let outside = ms(median_run.elapsed) - accounted;
    println!(
        "  outside the steps (process start, closing the database = WAL checkpoint, exit): \
         {outside:.0} ms"
    );
    report.row(
        "3 adopt B",
        "repair-bot migrate run (classify, backup, stamp, ledger, rebuild, check)",
        format!("{:.2} s{runs}", bot.median / 1000.0),
        String::new(),
    );
    for step in median_run
        .steps
        .iter()
        .filter(|s| s.ms >= 0.01 * ms(median_run.elapsed))
    {
        report.row(
            "3 adopt B",
            &step.label,
            format!("{:.2} s", step.ms / 1000.0),
            String::new(),
        );
    }
    report.row(
        "3 adopt B",
        "  outside the steps: start, close (WAL checkpoint), exit",
        format!("{:.2} s", outside / 1000.0),
        String::new(),
    );
    let rss = bot_runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
    report.row(
        "3 adopt B",
        "peak RSS of repair-bot",
        format!("{:.1} MB", mib(rss)),
        String::new(),
    );

    if cli_runs.is_empty() {
        report.row(
            "3 adopt B",
            "sqlite3 comparison",
            "skipped: sqlite3 CLI not found".into(),
            String::new(),
        );
        return;
    }
    let cli_times: Vec<Duration> = cli_runs.iter().map(|r| r.elapsed).collect();
    let cli = Stats::of(&cli_times);
    let median_cli = &cli_runs[median_index(&cli_times)];
    report.row(
        "3 adopt B",
        "sqlite3: .backup + check + ledger/rebuild SQL + check",
        format!("{:.2} s{runs}", cli.median / 1000.0),
        String::new(),
    );
    for (name, part) in [
        "  .backup",
        "  integrity_check of the backup",
        "  ledger + rebuild SQL",
        "  final integrity_check",
    ]
    .iter()
    .zip(median_cli.parts)
    {
        report.row(
            "3 adopt B",
            name,
            format!("{:.2} s", part.as_secs_f64()),
            String::new(),
        );
    }
    let cli_rss = cli_runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
    report.row(
        "3 adopt B",
        "peak RSS of sqlite3 (largest of its four runs)",
        format!("{:.1} MB", mib(cli_rss)),
        String::new(),
    );
    report.ratio(
        "3 adopt B",
        "ratio repair-bot / sqlite3",
        bot.median,
        cli.median,
    );
    report.note(format!("3 adopt B: both results hold {expected}"));
}

struct BotAdoption {
    elapsed: Duration,
    max_rss_kib: i64,
    steps: Vec<StepTime>,
}

/// (a) `repair-bot migrate run` on a fresh copy of the shape-B file; checks the result.
fn adopt_with_bot(ctx: &Ctx, template: &Path, expected: &str) -> BotAdoption {
    let folder = ctx.dir.join("adopt-bot");
    let _ = fs::remove_dir_all(&folder);
    fs::create_dir_all(&folder).expect("create the bot folder");
    let db = folder.join("bot_database.db");
    let backups = folder.join("backup");
    copy_synced(template, &db);
    let mut command = bot_command(ctx, &db, &backups, "info");
    command.args(["migrate", "run"]);
    let done = run_measured(command, &ctx.logs, "adopt-bot", None);
    done.expect_success("repair-bot migrate run (adoption of shape B)");
    assert!(
        done.stdout.contains("stamped 5, ran 2"),
        "unexpected adoption report: {}",
        done.stdout
    );
    let backup_count = fs::read_dir(&backups).map_or(0, Iterator::count);
    assert_eq!(backup_count, 1, "adoption leaves exactly one backup");
    assert_eq!(fingerprint(&db), expected, "the bot's adoption result");
    assert_eq!(count(&db, "orders"), ctx.sizes.orders as i64);
    fs::remove_dir_all(&folder).expect("remove the bot folder");
    BotAdoption {
        elapsed: done.elapsed,
        max_rss_kib: done.max_rss_kib,
        steps: step_lines(&done.stderr),
    }
}

struct CliAdoption {
    elapsed: Duration,
    max_rss_kib: i64,
    /// .backup, integrity_check of the backup, ledger + rebuild SQL, final integrity_check.
    parts: [Duration; 4],
}

/// (b) The same work through the sqlite3 CLI on a fresh copy; checks the result.
fn adopt_with_cli(
    ctx: &Ctx,
    sqlite3: &Sqlite3,
    template: &Path,
    script: &Path,
    expected: &str,
) -> CliAdoption {
    let folder = ctx.dir.join("adopt-cli");
    let _ = fs::remove_dir_all(&folder);
    fs::create_dir_all(&folder).expect("create the CLI folder");
    let db = folder.join("bot_database.db");
    let copy = folder.join("backup.db");
    copy_synced(template, &db);

    let mut command = sqlite3.command(&db);
    command.arg(format!(".backup '{}'", copy.display()));
    let backed_up = run_measured(command, &ctx.logs, "adopt-cli-backup", None);
    backed_up.expect_success("sqlite3 .backup");
    let mut command = sqlite3.command(&copy);
    command.arg("PRAGMA integrity_check;");
    let checked = run_measured(command, &ctx.logs, "adopt-cli-check-backup", None);
    checked.expect_success("sqlite3 integrity_check of the backup");
    assert_eq!(checked.stdout.trim(), "ok");
    let migrated = run_measured(
        sqlite3.command(&db),
        &ctx.logs,
        "adopt-cli-migrate",
        Some(script),
    );
    migrated.expect_success("sqlite3 ledger + rebuild SQL");
    let mut command = sqlite3.command(&db);
    command.arg("PRAGMA integrity_check;");
    let verified = run_measured(command, &ctx.logs, "adopt-cli-check", None);
    verified.expect_success("sqlite3 integrity_check after the rebuild");
    assert_eq!(verified.stdout.trim(), "ok");

    assert_eq!(fingerprint(&db), expected, "the CLI's adoption result");
    assert_eq!(count(&db, "orders"), ctx.sizes.orders as i64);
    fs::remove_dir_all(&folder).expect("remove the CLI folder");
    let parts = [
        backed_up.elapsed,
        checked.elapsed,
        migrated.elapsed,
        verified.elapsed,
    ];
    CliAdoption {
        elapsed: parts.iter().sum(),
        max_rss_kib: [&backed_up, &checked, &migrated, &verified]
            .iter()
            .map(|f| f.max_rss_kib)
            .max()
            .unwrap_or(0),
        parts,
    }
}

/// Index of the run whose time is the (lower) median.
fn median_index(times: &[Duration]) -> usize {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| times[i]);
    order[(times.len() - 1) / 2]
}

/// The SQL the CLI runs for adoption: the two migrations the bot runs, each in a transaction.
fn cli_adoption_script() -> String {
    let migrations = Path::new(MANIFEST_DIR).join("migrations");
    let read = |name: &str| {
        fs::read_to_string(migrations.join(name).join("up.sql"))
            .unwrap_or_else(|e| panic!("read migrations/{name}/up.sql: {e}"))
    };
    format!(
        "BEGIN;\n{}\nCOMMIT;\nBEGIN;\n{}\nCOMMIT;\n",
        read("00000000000000_migration_ledger"),
        read("2026-11-23-000001_rebuild_legacy_tables")
    )
}

/// One timed line of the bot's startup log.
struct StepTime {
    line: String,
    label: String,
    ms: f64,
    /// A `startup N/7` step (the `migrated` lines are parts of step 6).
    top_level: bool,
}

/// The `startup N/7 ... (x ms)` and `migrated ... (x ms)` lines of the bot's log.
fn step_lines(log: &str) -> Vec<StepTime> {
    log.lines()
        .filter_map(|line| {
            let text = line.split_once("] ").map_or(line, |(_, rest)| rest);
            let open = text.rfind(" (")?;
            let ms = text[open + 2..].strip_suffix(" ms)")?.parse::<f64>().ok()?;
            let (label, top_level) = if let Some(rest) = text.strip_prefix("startup ") {
                let label = match rest.split('/').next()? {
                    "1" => "open",
                    "2" => "lock",
                    "3" => "classify",
                    "4" => "plan + rebuild preflight (status scan, foreign_key_check)",
                    "5" => "backup (copy + fsync + integrity_check)",
                    "6" => "migrations (ledger, stamp, rebuild)",
                    "7" => "verify (integrity_check)",
                    _ => "?",
                };
                (format!("  step {}: {label}", &rest[..1]), true)
            } else if let Some(name) = text.strip_prefix("migrated ") {
                let name = &name[..open - "migrated ".len()];
                (format!("    in step 6: {name} + foreign_key_check"), false)
            } else {
                return None;
            };
            Some(StepTime {
                line: text.to_string(),
                label,
                ms,
                top_level,
            })
        })
        .collect()
}

// ----------------------------------------------------------------------------------------
// Data generation: one recursive CTE per table, all in one transaction. Values are
// deterministic, so the managed database and the adopted shape-B database must end equal.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The final schema (money in kopecks, roles in user_roles).
    Managed,
    /// Shape B of the old bot (money in REAL rubles, roles as comma-separated text).
    LegacyB,
}

const EQUIPMENT: &[&str] = &[
    "Стиральные машины",
    "Холодильники",
    "Посудомоечная машина",
    "Духовой шкаф",
    "Электрика",
    "Кофе машина",
    "Телевизоры",
    "Варочная панель",
    "Микроволновая печь",
    "Кондиционеры",
];
const PROBLEMS: &[&str] = &[
    "Не сливает воду, гудит при отжиме",
    "Не морозит морозильная камера",
    "Течёт снизу",
    "Не греет, ошибка E3",
    "Выбивает автомат в ванной",
    "Не включается",
    "Нет изображения, звук есть",
    "Сильно шумит при работе",
    "Не набирает воду",
    "Искрит розетка на кухне",
    "Не крутится барабан",
    "Дверца не закрывается",
];
const PROBLEM_DETAILS: &[&str] = &[
    "",
    " после скачка напряжения",
    "; \"срочно\"",
    ", клиент просит перезвонить заранее",
    " — гарантийный случай",
    ", повторный вызов",
    "",
];
const FIRST_NAMES: &[&str] = &[
    "Мария",
    "Иван",
    "Ольга",
    "Сергей",
    "Анна",
    "Пётр",
    "Алексей",
    "Наталья",
    "Дмитрий",
    "Елена",
    "Николай",
    "Татьяна",
    "Игорь",
    "Светлана",
];
const LAST_NAMES: &[&str] = &[
    "Иванова",
    "Петров",
    "Кузнецов",
    "Смирнова",
    "Попов",
    "Васильева",
    "Соколов",
    "Михайлова",
    "Новиков",
    "Фёдорова",
    "Морозов",
    "О'Коннор",
    "Волкова",
];
const CLIENT_NAMES: &[&str] = &[
    "Мария Ивановна",
    "Олег",
    "ООО «Ромашка»",
    "Светлана",
    "Игорь Петрович",
    "Кафе «Утро»",
    "Виктор",
    "Нина",
    "Андрей Сергеевич",
    "ИП Смирнов",
    "Галина Фёдоровна",
];
const STREETS: &[&str] = &[
    "ул. Ленина",
    "пр. Мира",
    "Садовая",
    "ул. Гагарина",
    "Невский пр.",
    "ул. Пушкина",
    "ул. Лесная",
    "ул. Чехова",
    "ул. Советская",
    "ул. Молодёжная",
    "ш. Энтузиастов",
];
const ORDER_NOTES: &[&str] = &[
    "Домофон не работает, звонить",
    "Оплата картой",
    "Клиент передумал",
    "Код подъезда 1234К",
    "Во дворе собака, позвонить заранее",
    "Нужен чек для юрлица",
];
const SCHEDULED: &[&str] = &[
    "завтра 10:00",
    "После 14:00",
    "сегодня до 18:00",
    "в выходные",
    "утром, до 12",
];
const SPECIALIZATIONS: &[&str] = &[
    "Стиральные машины, посудомойки",
    "Электрика",
    "Холодильники",
    "Кофемашины",
    "Телевизоры и электроника",
    "Кондиционеры",
    "Плиты и духовые шкафы",
];
const ACTIONS: &[&str] = &[
    "CREATE_ORDER",
    "ASSIGN_MASTER",
    "CHANGE_STATUS",
    "COMPLETE_ORDER",
    "ADD_NOTE",
];
const AUDIT_DETAILS: &[&str] = &[
    "создан заказ",
    "назначен мастер",
    "статус изменён",
    "заказ закрыт, деньги внесены",
    "добавлена заметка",
];
const OLD_STATUS: &[&str] = &[
    "", "NEW", "ASSIGNED", "ACCEPTED", "ONSITE", "ONSITE", "DR", "NEW",
];
const NEW_STATUS: &[&str] = &[
    "NEW", "ASSIGNED", "ACCEPTED", "ONSITE", "CLOSED", "DR", "CLOSED", "REFUSED",
];

/// 2023-01-01 00:00:00 UTC: orders spread over the three years after it.
const ORDERS_FROM: u64 = 1_672_531_200;
/// 2022-01-01 00:00:00 UTC: users registered from then on.
const USERS_FROM: u64 = 1_640_995_200;
const THREE_YEARS: u64 = 94_608_000;

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One of `values`, chosen by a non-negative integer expression.
fn pick(index: &str, values: &[&str]) -> String {
    let mut sql = format!("(CASE ({index}) % {}", values.len());
    for (k, value) in values.iter().enumerate() {
        let _ = write!(sql, " WHEN {k} THEN {}", literal(value));
    }
    sql.push_str(" END)");
    sql
}

/// A deterministic scramble of a row number, in 0..2^31-1.
fn mix(column: &str, salt: u64) -> String {
    format!("(({column} * {salt} + {}) % 2147483647)", salt % 1009)
}

/// Telegram id of user number `user`; every seventh is above 2^32, as new accounts are.
fn telegram_id(user: &str) -> String {
    format!("((CASE WHEN ({user}) % 7 = 0 THEN 5000000000 ELSE 100000000 END) + ({user}))")
}

/// User number of one of the dispatchers (users 2, 22, 42, ...).
fn dispatcher(sizes: &Sizes, column: &str, salt: u64) -> String {
    format!(
        "(2 + 20 * ({} % {}))",
        mix(column, salt),
        sizes.dispatchers()
    )
}

/// The old bot's `users.role` text of user number `i`.
fn role_text(sizes: &Sizes) -> String {
    let step = sizes.master_step();
    let last_master = 3 + (sizes.masters - 1) * step;
    format!(
        "(CASE WHEN i % 1000 = 1 THEN 'ADMIN' \
         WHEN i % {step} = 3 AND i <= {last_master} THEN \
           (CASE WHEN ((i - 3) / {step} + 1) % 10 = 0 THEN 'DISPATCHER,MASTER' ELSE 'MASTER' END) \
         WHEN i % 20 = 2 THEN 'DISPATCHER' \
         WHEN i % 13 = 0 THEN NULL \
         ELSE 'UNKNOWN' END)"
    )
}

fn numbers(name: &str, count: u64) -> String {
    format!("{name}(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM {name} WHERE i < {count})")
}

fn users_sql(sizes: &Sizes, shape: Shape) -> String {
    let created = format!("datetime({USERS_FROM} + i * 3000, 'unixepoch')");
    let common = format!(
        "i, {tg}, CASE WHEN i % 4 = 0 THEN NULL ELSE 'user_' || i END, {first}, \
         CASE WHEN i % 3 = 0 THEN NULL ELSE {last} END",
        tg = telegram_id("i"),
        first = pick(&mix("i", 17), FIRST_NAMES),
        last = pick(&mix("i", 19), LAST_NAMES),
    );
    let numbers = numbers("n", sizes.users);
    match shape {
        Shape::Managed => format!(
            "WITH RECURSIVE {numbers} \
             INSERT INTO users (id, telegram_id, username, first_name, last_name, created_at, updated_at) \
             SELECT {common}, {created}, {created} FROM n;\n\
             WITH RECURSIVE {numbers}, r(role) AS (VALUES ('ADMIN'), ('DISPATCHER'), ('MASTER')) \
             INSERT INTO user_roles (telegram_id, role, granted_at) \
             SELECT {tg}, r.role, {created} FROM n JOIN r \
             ON instr(',' || COALESCE({roles}, '') || ',', ',' || r.role || ',') > 0 \
             ORDER BY n.i, r.role;\n",
            tg = telegram_id("i"),
            roles = role_text(sizes),
        ),
        Shape::LegacyB => format!(
            "WITH RECURSIVE {numbers} \
             INSERT INTO users (id, telegram_id, username, first_name, last_name, role, created_at) \
             SELECT {common}, {roles}, {created} FROM n;\n",
            roles = role_text(sizes),
        ),
    }
}

fn masters_sql(sizes: &Sizes, shape: Shape) -> String {
    let step = sizes.master_step();
    let user = format!("(3 + (i - 1) * {step})");
    let created = format!("datetime({USERS_FROM} + {user} * 3000 + 300, 'unixepoch')");
    let (extra_column, extra_value) = match shape {
        Shape::Managed => (", updated_at", format!(", {created}")),
        Shape::LegacyB => ("", String::new()),
    };
    format!(
        "WITH RECURSIVE {numbers} \
         INSERT INTO masters (id, telegram_id, phone, specialization, is_active, is_approved, \
                              work_chat_id, created_at{extra_column}) \
         SELECT i, {tg}, \
                CASE WHEN i % 5 = 0 THEN '8900' ELSE '+7900' END || printf('%07d', {phone} % 10000000), \
                {specialization}, i % 15 <> 0, i % 25 <> 0, \
                CASE WHEN i % 3 = 0 THEN NULL ELSE -1001000000000 - i END, {created}{extra_value} \
         FROM n;\n",
        numbers = numbers("n", sizes.masters),
        tg = telegram_id(&user),
        phone = mix("i", 7877),
        specialization = pick(&mix("i", 23), SPECIALIZATIONS),
    )
}

fn orders_sql(sizes: &Sizes, shape: Shape) -> String {
    let seconds_per_order = (THREE_YEARS / sizes.orders).max(1);
    let status =
        "CASE WHEN s < 4 THEN 'NEW' WHEN s < 8 THEN 'ASSIGNED' WHEN s < 12 THEN 'ACCEPTED' \
                  WHEN s < 16 THEN 'ONSITE' WHEN s < 20 THEN 'DR' WHEN s < 88 THEN 'CLOSED' \
                  ELSE 'REFUSED' END";
    // Kopecks: totals 1,500.00 .. 29,999.50 rubles in steps of 50 kopecks; materials a share
    // of them; the rest split 60/40 between master and company.
    let materials = "(total * pct / 100)";
    let master = format!("((total - {materials}) * 60 / 100)");
    let company = format!("(total - {materials} - {master})");
    let money = |kopecks: &str| match shape {
        Shape::Managed => format!("CASE WHEN st = 'CLOSED' THEN {kopecks} END"),
        Shape::LegacyB => format!("CASE WHEN st = 'CLOSED' THEN ({kopecks}) / 100.0 END"),
    };
    let (money_columns, status_value) = match shape {
        Shape::Managed => (
            "total_kopecks, materials_kopecks, master_share_kopecks, company_share_kopecks",
            "st".to_string(),
        ),
        // The old bot was not strict: a few statuses in lower case or with blanks.
        Shape::LegacyB => (
            "total_amount, materials_cost, master_profit, company_profit",
            "CASE WHEN i % 997 = 0 THEN lower(st) WHEN i % 991 = 0 THEN ' ' || st || ' ' ELSE st END"
                .to_string(),
        ),
    };
    format!(
        "WITH RECURSIVE {numbers}, \
         o AS (SELECT i, {status} AS st, 150000 + ({total_mix} % 57000) * 50 AS total, \
                      {pct_mix} % 40 AS pct, {ORDERS_FROM} + i * {seconds_per_order} AS t \
               FROM (SELECT i, {status_mix} % 100 AS s FROM n)) \
         INSERT INTO orders (id, equipment_type, description, client_name, client_address, \
                             client_phone, status, assigned_master_id, dispatcher_id, notes, \
                             scheduled_time, {money_columns}, has_review, created_at, updated_at) \
         SELECT i, {equipment}, {problem} || {detail}, \
                CASE WHEN i % 4 = 0 THEN {first} || ' ' || {last} ELSE {client} END, \
                {street} || ', д. ' || (1 + {house} % 150) || \
                  CASE WHEN i % 6 = 0 THEN '' ELSE ', кв. ' || (1 + {flat} % 300) END, \
                '+79' || printf('%09d', {phone} % 1000000000), \
                {status_value}, \
                CASE WHEN st = 'NEW' OR (st = 'REFUSED' AND i % 2 = 0) THEN NULL \
                     ELSE 1 + {master_mix} % {masters} END, \
                {dispatcher_tg}, \
                CASE WHEN i % 5 = 0 THEN {note} END, \
                CASE WHEN st IN ('ASSIGNED', 'ACCEPTED') OR i % 9 = 0 THEN {scheduled} END, \
                {total}, {materials_money}, {master_money}, {company_money}, \
                st = 'CLOSED' AND i % 3 = 0, \
                datetime(t, 'unixepoch'), datetime(t + 600 + {update_mix} % 259200, 'unixepoch') \
         FROM o;\n",
        numbers = numbers("n", sizes.orders),
        total_mix = mix("i", 104_729),
        pct_mix = mix("i", 1_299_709),
        status_mix = mix("i", 7919),
        equipment = pick(&mix("i", 31), EQUIPMENT),
        problem = pick(&mix("i", 37), PROBLEMS),
        detail = pick(&mix("i", 41), PROBLEM_DETAILS),
        first = pick(&mix("i", 43), FIRST_NAMES),
        last = pick(&mix("i", 47), LAST_NAMES),
        client = pick(&mix("i", 53), CLIENT_NAMES),
        street = pick(&mix("i", 59), STREETS),
        house = mix("i", 61),
        flat = mix("i", 67),
        phone = mix("i", 7_368_787),
        master_mix = mix("i", 71),
        masters = sizes.masters,
        dispatcher_tg = telegram_id(&dispatcher(sizes, "i", 73)),
        note = pick(&mix("i", 79), ORDER_NOTES),
        scheduled = pick(&mix("i", 83), SCHEDULED),
        total = money("total"),
        materials_money = money(materials),
        master_money = money(&master),
        company_money = money(&company),
        update_mix = mix("i", 89),
    )
}

fn audit_sql(sizes: &Sizes, shape: Shape) -> String {
    if sizes.audit == 0 {
        return String::new();
    }
    let seconds_per_row = (THREE_YEARS / sizes.audit).max(1);
    let order = format!("(1 + {} % {})", mix("i", 97), sizes.orders);
    let user = format!(
        "CASE WHEN i % 50 = 0 THEN NULL ELSE {} END",
        telegram_id(&dispatcher(sizes, "i", 101))
    );
    let action_index = mix("i", 103);
    let action = pick(&action_index, ACTIONS);
    let details = format!(
        "'Заказ #' || {order} || ': ' || {}",
        pick(&action_index, AUDIT_DETAILS)
    );
    let at = format!("datetime({ORDERS_FROM} + i * {seconds_per_row}, 'unixepoch')");
    let numbers = numbers("n", sizes.audit);
    match shape {
        Shape::Managed => format!(
            "WITH RECURSIVE {numbers} \
             INSERT INTO audit_log (id, user_id, action, entity_type, entity_id, details, created_at) \
             SELECT i, {user}, {action}, 'order', {order}, {details}, {at} FROM n;\n"
        ),
        Shape::LegacyB => format!(
            "WITH RECURSIVE {numbers} \
             INSERT INTO audit_log (id, user_id, action, details, timestamp) \
             SELECT i, {user}, {action}, {details}, {at} FROM n;\n"
        ),
    }
}

fn history_sql(sizes: &Sizes) -> String {
    if sizes.history == 0 {
        return String::new();
    }
    let seconds_per_row = (THREE_YEARS / sizes.history).max(1);
    let master_user = format!(
        "(3 + ({} % {}) * {})",
        mix("i", 107),
        sizes.masters,
        sizes.master_step()
    );
    format!(
        "WITH RECURSIVE {numbers} \
         INSERT INTO order_status_history (id, order_id, old_status, new_status, changed_by, \
                                           changed_at, notes) \
         SELECT i, 1 + {order_mix} % {orders}, NULLIF({old}, ''), {new}, \
                CASE WHEN i % 8 < 2 THEN {dispatcher_tg} ELSE {master_tg} END, \
                datetime({ORDERS_FROM} + i * {seconds_per_row}, 'unixepoch'), \
                CASE WHEN i % 10 = 0 THEN 'Комментарий: клиент не открыл дверь' END \
         FROM n;\n",
        numbers = numbers("n", sizes.history),
        order_mix = mix("i", 109),
        orders = sizes.orders,
        old = pick("i", OLD_STATUS),
        new = pick("i", NEW_STATUS),
        dispatcher_tg = telegram_id(&dispatcher(sizes, "i", 113)),
        master_tg = telegram_id(&master_user),
    )
}

fn fill_sql(sizes: &Sizes, shape: Shape) -> String {
    [
        users_sql(sizes, shape),
        masters_sql(sizes, shape),
        orders_sql(sizes, shape),
        audit_sql(sizes, shape),
        history_sql(sizes),
    ]
    .concat()
}

/// Migrates the empty file `settings.path` and fills it with the generated rows.
fn build_managed(settings: &DatabaseSettings, sizes: &Sizes) {
    let catalog = Catalog::embedded();
    let started = Instant::now();
    let mut prepared = startup::prepare(settings, &catalog).expect("prepare an empty database");
    assert_eq!(
        prepared.report.ran.len(),
        catalog.all().len(),
        "every migration runs on an empty file"
    );
    let migrated = started.elapsed();
    let started = Instant::now();
    fill_managed(&mut prepared.connection, sizes);
    drop(prepared);
    sync_file(&settings.path);
    println!(
        "built the managed database: migrations {:.0} ms, rows {:.1} s, {}",
        ms(migrated),
        started.elapsed().as_secs_f64(),
        file_size(&settings.path)
    );
}

/// `BENCH_DATABASE_ONLY=FILE`: only builds the managed database of section 1 (the sizes of
/// BENCH_ORDERS / BENCH_USERS / ...) at FILE, which must not exist yet, and stops. For
/// benches/bot-figures.sh, which starts the bot on it.
///
/// The generator leaves `status_changed_at` at its default, the time of the build, so what
/// the bot's periodic jobs find due at its start would depend on how long ago the file was
/// built. Here the open orders' status changed a day before the build instead: at the bot's
/// start every open order is past its SLA and every ASSIGNED one due a reminder, as on a
/// database whose bot was down for a day.
fn database_only(db: &Path) -> std::process::ExitCode {
    if db.exists() {
        eprintln!("BENCH_DATABASE_ONLY: {} exists already", db.display());
        return std::process::ExitCode::FAILURE;
    }
    if let Some(folder) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(folder).expect("create the database's folder");
    }
    File::create(db).expect("create an empty database file");
    let backups = tempfile::tempdir().expect("a temporary backup folder");
    let sizes = Sizes::from_env();
    println!("building {} with {sizes}", db.display());
    let settings = DatabaseSettings {
        path: db.to_path_buf(),
        backup: BackupPolicy {
            dir: backups.path().to_path_buf(),
            keep: 1,
            copy: None,
        },
    };
    build_managed(&settings, &sizes);
    let mut conn = SqliteConnection::establish(db.to_str().expect("a UTF-8 path"))
        .expect("open the built database");
    conn.batch_execute(
        "UPDATE orders SET status_changed_at = datetime(status_changed_at, '-1 day') \
         WHERE status IN ('NEW', 'ASSIGNED', 'ACCEPTED', 'ONSITE'); \
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .expect("move the open orders' status changes a day back");
    drop(conn);
    sync_file(db);
    println!("open orders: status changed a day before the build");
    std::process::ExitCode::SUCCESS
}

/// Bulk rows into the final schema, through the connection `prepare` returned (WAL).
fn fill_managed(conn: &mut SqliteConnection, sizes: &Sizes) {
    conn.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")
        .expect("bulk-load pragmas");
    conn.batch_execute(&format!(
        "BEGIN IMMEDIATE;\n{}COMMIT;",
        fill_sql(sizes, Shape::Managed)
    ))
    .expect("fill the managed database");
    let violations = sql_query("SELECT COUNT(*) AS v FROM pragma_foreign_key_check")
        .get_result::<BigValue>(conn)
        .expect("foreign_key_check");
    assert_eq!(violations.v, 0, "generated rows break foreign keys");
    conn.batch_execute(
        "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000;",
    )
    .expect("checkpoint");
}

/// The schema part of tests/fixtures/legacy/B.sql (up to its first INSERT), without its
/// BEGIN/COMMIT: the caller wraps schema and rows in one transaction.
fn legacy_b_schema() -> String {
    let path = Path::new(MANIFEST_DIR).join("tests/fixtures/legacy/B.sql");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut schema = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.to_ascii_uppercase().starts_with("INSERT") {
            break;
        }
        if trimmed.eq_ignore_ascii_case("BEGIN;")
            || trimmed.eq_ignore_ascii_case("BEGIN TRANSACTION;")
            || trimmed.eq_ignore_ascii_case("COMMIT;")
        {
            continue;
        }
        schema.push_str(line);
        schema.push('\n');
    }
    assert!(
        schema.contains("CREATE TABLE orders") && schema.contains("order_status_history"),
        "{} no longer starts with the shape-B schema",
        path.display()
    );
    schema
}

fn build_legacy_b(path: &Path, sizes: &Sizes) {
    let _ = fs::remove_file(path);
    let url = path.to_str().expect("UTF-8 temporary path");
    let mut conn = SqliteConnection::establish(url).expect("create the shape-B database");
    conn.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")
        .expect("bulk-load pragmas");
    conn.batch_execute(&format!(
        "BEGIN;\n{}\n{}COMMIT;",
        legacy_b_schema(),
        fill_sql(sizes, Shape::LegacyB)
    ))
    .expect("fill the shape-B database");
}

// ----------------------------------------------------------------------------------------
// Checks

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(QueryableByName)]
struct BigValue {
    #[diesel(sql_type = BigInt)]
    v: i64,
}

fn read_only(path: &Path) -> SqliteConnection {
    repair_bot::db::connection::open_read_only(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// What adoption must preserve, as one line: row counts, statuses, roles and money.
fn fingerprint(path: &Path) -> String {
    let mut conn = read_only(path);
    sql_query(
        "SELECT (SELECT count(*) FROM orders) || ' orders (' \
              || (SELECT count(*) FROM orders WHERE status = 'CLOSED') || ' closed, ' \
              || (SELECT count(*) FROM orders WHERE assigned_master_id IS NOT NULL) || ' assigned, ' \
              || (SELECT count(*) FROM orders WHERE has_review) || ' reviewed), ' \
              || (SELECT count(*) FROM users) || ' users, ' \
              || (SELECT count(*) FROM user_roles) || ' roles (' \
              || (SELECT count(*) FROM user_roles WHERE role = 'MASTER') || ' master), ' \
              || (SELECT count(*) FROM masters) || ' masters, ' \
              || (SELECT count(*) FROM audit_log) || ' audit, ' \
              || (SELECT count(*) FROM order_status_history) || ' history; kopecks total ' \
              || (SELECT sum(total_kopecks) FROM orders) || ', materials ' \
              || (SELECT sum(materials_kopecks) FROM orders) || ', master ' \
              || (SELECT sum(master_share_kopecks) FROM orders) || ', company ' \
              || (SELECT sum(company_share_kopecks) FROM orders) AS v",
    )
    .get_result::<TextValue>(&mut conn)
    .unwrap_or_else(|e| panic!("fingerprint of {}: {e}", path.display()))
    .v
}

fn count(path: &Path, table: &str) -> i64 {
    let mut conn = read_only(path);
    sql_query(format!("SELECT count(*) AS v FROM {table}"))
        .get_result::<BigValue>(&mut conn)
        .unwrap_or_else(|e| panic!("count {table} in {}: {e}", path.display()))
        .v
}

// ----------------------------------------------------------------------------------------
// Subprocesses

fn bot_command(ctx: &Ctx, db: &Path, backups: &Path, log: &str) -> Command {
    let mut command = Command::new(BOT);
    command
        .current_dir(&ctx.dir)
        .env("DATABASE_URL", db)
        .env("BACKUP_DIR", backups)
        .env("RUST_LOG", log)
        .env_remove("DATABASE_PATH")
        .env_remove("BACKUP_KEEP");
    command
}

struct Finished {
    elapsed: Duration,
    /// Peak resident set of the child, in KiB (Linux `ru_maxrss`).
    max_rss_kib: i64,
    status: i32,
    stdout: String,
    stderr: String,
    what: String,
}

impl Finished {
    fn expect_success(&self, what: &str) {
        let exited = libc::WIFEXITED(self.status);
        if !exited || libc::WEXITSTATUS(self.status) != 0 {
            panic!(
                "{what} failed ({}; raw wait status {}):\nstdout: {}\nstderr: {}",
                self.what, self.status, self.stdout, self.stderr
            );
        }
    }
}

/// Set (to a report file) when this executable runs as the launcher of one measured child.
const LAUNCHER_ENV: &str = "REPAIR_BOT_BENCH_LAUNCHER_REPORT";

/// Runs a child to completion and reports its wall time (spawn to reaping) and peak RSS.
///
/// The child is started by a fresh copy of this executable (see [`launcher`]), not by this
/// process: Linux carries the RSS high-water mark of the process that forks over into the
/// child's `ru_maxrss`, and this process holds hundreds of MB after generating the data, which
/// would hide the child's own peak. Output goes to files in `logs`.
fn run_measured(command: Command, logs: &Path, label: &str, stdin: Option<&Path>) -> Finished {
    let out_path = logs.join(format!("{label}.out"));
    let err_path = logs.join(format!("{label}.err"));
    let report_path = logs.join(format!("{label}.launch"));
    let _ = fs::remove_file(&report_path);
    let what = format!("{command:?}");
    let mut launcher =
        Command::new(std::env::current_exe().expect("the path of this bench executable"));
    launcher.arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => launcher.env(key, value),
            None => launcher.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        launcher.current_dir(dir);
    }
    launcher
        .env(LAUNCHER_ENV, &report_path)
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"))
        .stdin(match stdin {
            Some(path) => Stdio::from(File::open(path).expect("open stdin file")),
            None => Stdio::null(),
        });
    let (_, _, launcher_status) = spawn_and_wait(&mut launcher)
        .unwrap_or_else(|e| panic!("start the launcher for {what}: {e}"));
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let report = fs::read_to_string(&report_path).unwrap_or_default();
    let fields: Vec<i64> = report
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [nanos, max_rss_kib, status] = fields[..] else {
        panic!("the launcher of {what} reported nothing (wait status {launcher_status}): {stderr}");
    };
    Finished {
        elapsed: Duration::from_nanos(nanos as u64),
        max_rss_kib,
        status: status as i32,
        stdout,
        stderr,
        what,
    }
}

/// This executable as a launcher: runs the command in its arguments with inherited stdio and
/// environment, reaps it with `wait4` and writes `<nanoseconds> <ru_maxrss KiB> <wait status>`
/// to the report file.
fn launcher(report: &Path) -> std::process::ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("launcher: no command");
        return std::process::ExitCode::FAILURE;
    };
    let mut command = Command::new(program);
    command.args(args).env_remove(LAUNCHER_ENV);
    match spawn_and_wait(&mut command) {
        Ok((elapsed, max_rss_kib, status)) => {
            let line = format!("{} {max_rss_kib} {status}\n", elapsed.as_nanos());
            if let Err(e) = fs::write(report, line) {
                eprintln!("launcher: cannot write {}: {e}", report.display());
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("launcher: cannot run {command:?}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Spawns and reaps one child with `wait4`: wall time, its own peak RSS in KiB and its raw
/// wait status.
fn spawn_and_wait(command: &mut Command) -> io::Result<(Duration, i64, i32)> {
    let started = Instant::now();
    let child = command.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child, with valid pointers to locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let elapsed = started.elapsed();
    // Already reaped by wait4; dropping a Child neither waits nor kills.
    drop(child);
    Ok((elapsed, usage.ru_maxrss, status))
}

// ----------------------------------------------------------------------------------------
// Files

fn sync_file(path: &Path) {
    File::open(path)
        .and_then(|f| f.sync_all())
        .unwrap_or_else(|e| panic!("sync {}: {e}", path.display()));
}

/// Copies and flushes, so that write-back of the copy does not run during a timed step.
fn copy_synced(from: &Path, to: &Path) {
    fs::copy(from, to).unwrap_or_else(|e| panic!("copy to {}: {e}", to.display()));
    sync_file(to);
}

fn file_size(path: &Path) -> String {
    let bytes = fs::metadata(path).map_or(0, |m| m.len());
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

// ----------------------------------------------------------------------------------------
// Figures

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

/// Milliseconds.
struct Stats {
    min: f64,
    median: f64,
    max: f64,
}

impl Stats {
    fn of(times: &[Duration]) -> Self {
        assert!(!times.is_empty());
        let mut values: Vec<f64> = times.iter().copied().map(ms).collect();
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len().is_multiple_of(2) {
            (values[middle - 1] + values[middle]) / 2.0
        } else {
            values[middle]
        };
        Self {
            min: values[0],
            median,
            max: values[values.len() - 1],
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "min {:.1} / median {:.1} / max {:.1} ms",
            self.min, self.median, self.max
        )
    }
}

fn verdict_below(value_ms: f64, target_ms: f64) -> String {
    let verdict = if value_ms < target_ms { "ok" } else { "MISSED" };
    format!("target < {target_ms:.0} ms (median): {verdict}")
}

fn section(title: &str) {
    println!("\n== {title}");
}

#[derive(Default)]
struct Report {
    rows: Vec<[String; 4]>,
    notes: Vec<String>,
}

impl Report {
    fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    fn row(&mut self, section: &str, what: &str, value: String, target: String) {
        self.rows
            .push([section.to_string(), what.to_string(), value, target]);
    }

    fn ratio(&mut self, section: &str, what: &str, ours: f64, theirs: f64) {
        let ratio = ours / theirs;
        let verdict = if ratio <= RATIO_TARGET {
            "ok"
        } else {
            "MISSED"
        };
        self.row(
            section,
            what,
            format!("{ratio:.2}x"),
            format!("target <= {RATIO_TARGET}x: {verdict}"),
        );
    }

    fn print(&self, sizes: &Sizes) {
        println!("\n== Figures ({sizes})");
        let width = |k: usize| {
            self.rows
                .iter()
                .map(|r| r[k].chars().count())
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let pad = |text: &str, w: usize| {
            let n = text.chars().count();
            format!("{text}{}", " ".repeat(w.saturating_sub(n)))
        };
        for row in &self.rows {
            let line = format!(
                "{}  {}  {}  {}",
                pad(&row[0], w0),
                pad(&row[1], w1),
                pad(&row[2], w2),
                row[3]
            );
            println!("{}", line.trim_end());
        }
        for note in &self.notes {
            println!("{note}");
        }
    }
}
