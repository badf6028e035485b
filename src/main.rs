//! `repair-bot`: runs the bot (no arguments) or an operator command. Command line only; the
//! work is in the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use diesel::SqliteConnection;
use std::sync::Arc;

use repair_bot::bot::{self, App, BotConfig};
use repair_bot::clock::SystemClock;
use repair_bot::config;
use repair_bot::db::backup::{self, BackupReason};
use repair_bot::db::backup_copy::{CopyOutcome, CopyReport};
use repair_bot::db::migrations::Catalog;
use repair_bot::db::operations::{self, LineState};
use repair_bot::db::startup::{self, DatabaseSettings};

/// Telegram bot of an appliance-repair company. With no command it prepares the database
/// (backup and migrations as needed) and runs the bot.
///
/// Reads DATABASE_URL (or DATABASE_PATH; default bot_database.db), BACKUP_DIR (default
/// backup) and BACKUP_KEEP (default 20) from the environment or .env.
#[derive(Parser)]
#[command(name = "repair-bot", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Database migrations: status, run, revert, redo, check.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Backups: create, list, verify, restore.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Run the real bot offline against a local fake Telegram and play a scripted working day
    /// (transcript on stdout; exit 0 only if every check held). Needs no token and no network.
    /// With --load: measure throughput, latency, CPU, memory and startup instead.
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// Read-only health checks for scripts and Docker's HEALTHCHECK (exit 0: all pass).
    ///
    /// One line each: the database is at the newest migration; the bot's last successful getUpdates is recent; the outbox
    /// backlog is small; the newest backup is recent and was copied off the machine (with
    /// BACKUP_COPY_COMMAND). Limits: HEALTH_* in .env.example. Exit code 0 when all pass, else
    /// that of the first failing check: 2 database, 3 getUpdates, 4 outbox, 5 backup,
    /// 6 backup copy; 1 for an error before any check (a bad setting).
    Health {
        /// Judge at this moment instead of now (RFC 3339, for tests).
        #[arg(long, hide = true)]
        at: Option<DateTime<Utc>>,
    },
    /// The floor of `sandbox --load --floor`: a bare teloxide bot that answers every private
    /// text message with one sendMessage (BOT_TOKEN, TELOXIDE_API_URL). Not for production.
    #[cfg(feature = "sandbox")]
    #[command(name = "sandbox-floor", hide = true)]
    SandboxFloor,
    /// A production build (without the `sandbox` feature) still knows the commands' names, to
    /// say that it leaves them out instead of calling them unknown.
    #[cfg(not(feature = "sandbox"))]
    #[command(
        name = "sandbox",
        alias = "sandbox-floor",
        hide = true,
        disable_help_flag = true
    )]
    SandboxLeftOut {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        ignored: Vec<std::ffi::OsString>,
    },
}

#[cfg(feature = "sandbox")]
#[derive(clap::Args)]
struct SandboxArgs {
    /// Use this database file instead of a fresh one in a temporary folder.
    #[arg(long)]
    database: Option<PathBuf>,
    /// Run the load workloads instead of the working day.
    #[arg(long)]
    load: bool,
    /// Load: which workload (start = new users sending /start, intake = dispatchers
    /// taking orders, both).
    #[arg(long, default_value = "both", value_parser = ["start", "intake", "both"])]
    workload: String,
    /// Load: simulated users.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Load: users acting at the same time.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Load: orders each dispatcher takes in the intake workload.
    #[arg(long, default_value_t = 3)]
    orders: usize,
    /// Load: first play W1 against the floor, a bare teloxide bot answering every message
    /// with one sendMessage, and report it next to the bot with the CPU ratio.
    #[arg(long, requires = "load")]
    floor: bool,
    /// Load: run this executable as the bot instead of this one (e.g. an older build of
    /// repair-bot, measured by this harness).
    #[arg(long, value_name = "PATH", requires = "load")]
    bot_exe: Option<PathBuf>,
    /// Load: before the workloads, wait until the bot has used no CPU for a second (its
    /// first round of reminders and SLA alerts runs at start) and report its peak RSS then.
    #[arg(long, requires = "load")]
    wait_idle: bool,
}

#[derive(Subcommand)]
enum MigrateCommand {
    /// Show applied, stamped and pending migrations and whether the schema is as expected.
    Status,
    /// Prepare the database as the bot does at startup (lock, adopt, back up, migrate,
    /// verify) without starting the bot.
    Run,
    /// Revert the newest applied migrations (a backup is taken first).
    Revert {
        /// How many migrations to revert.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        steps: u32,
    },
    /// Revert the newest applied migration and run it again (a backup is taken first).
    Redo,
    /// Read-only health check for deploy scripts: exits 0 only when nothing is pending and
    /// nothing is wrong (including SQLite's quick_check).
    Check,
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Take a backup now (reason "manual").
    Create,
    /// List the backups of this database: size, age, reason and schema version.
    List,
    /// Check a backup file: integrity and the schema version it holds.
    Verify {
        /// The backup file.
        file: PathBuf,
    },
    /// Replace the database with a backup (the bot must be stopped; the current database is
    /// backed up first as "pre-restore").
    Restore {
        /// The backup file to restore.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // --help and usage errors need no configuration: a broken .env does not hide them.
    let cli = Cli::parse();
    if let Err(error) = config::load_dotenv() {
        let _ = writeln!(std::io::stderr(), "error: {error}");
        return ExitCode::FAILURE;
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            log::error!("{error:#}");
            // Not eprintln!: it panics when stderr is a closed pipe.
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = config::database_settings()?;
    let catalog = Catalog::embedded();
    let mut out = Out::default();
    match cli.command {
        None => run_bot(&settings, &catalog),
        Some(Command::Migrate(command)) => migrate(&mut out, &settings, &catalog, command),
        Some(Command::Backup(command)) => backup_command(&mut out, &settings, command),
        #[cfg(feature = "sandbox")]
        Some(Command::Sandbox(args)) => sandbox(args),
        Some(Command::Health { at }) => {
            let limits = config::health_limits()?;
            let report =
                repair_bot::health::check_file(&settings, &limits, at.unwrap_or_else(Utc::now));
            for check in &report.checks {
                writeln!(out, "{check}")?;
            }
            match report
                .checks
                .iter()
                .find(|c| c.verdict == repair_bot::health::Verdict::Fail)
            {
                None => writeln!(out, "healthy")?,
                Some(failed) => writeln!(
                    out,
                    "NOT healthy (exit code {}: {})",
                    failed.area.exit_code(),
                    failed.area.name()
                )?,
            }
            Ok(ExitCode::from(report.exit_code()))
        }
        #[cfg(feature = "sandbox")]
        Some(Command::SandboxFloor) => {
            repair_bot::sandbox::floor::run(&BotConfig::from_env()?)
                .map_err(|e| anyhow::anyhow!("sandbox floor: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(not(feature = "sandbox"))]
        Some(Command::SandboxLeftOut { .. }) => anyhow::bail!(
            "this build of repair-bot leaves the sandbox out (a production build, made with \
             --no-default-features); from a checkout, `cargo run --release -- sandbox` runs it"
        ),
    }
}

#[cfg(feature = "sandbox")]
fn sandbox(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    use repair_bot::sandbox::load::{LoadOptions, Workload};
    let runtime = tokio::runtime::Runtime::new()?;
    let passed = if args.load {
        let workloads = match args.workload.as_str() {
            "start" => vec![Workload::Start],
            "intake" => vec![Workload::Intake],
            _ => vec![Workload::Start, Workload::Intake],
        };
        let options = LoadOptions {
            workloads,
            users: args.users,
            concurrency: args.concurrency,
            orders_per_user: args.orders,
            database: args.database,
            floor: args.floor,
            bot_exe: args.bot_exe,
            wait_idle: args.wait_idle,
        };
        runtime.block_on(repair_bot::sandbox::load::run(&options))
    } else {
        runtime.block_on(repair_bot::sandbox::day::run(args.database.as_deref()))
    }
    .map_err(|e| anyhow::anyhow!("sandbox: {e}"))?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_bot(settings: &DatabaseSettings, catalog: &Catalog) -> anyhow::Result<ExitCode> {
    let config = BotConfig::from_env()?;
    let mut prepared = startup::prepare(settings, catalog)?;
    if let Some(copy) = &prepared.report.copy {
        record_copy(&mut prepared.connection, copy);
    }
    // Two workers for two cores and a small blocking pool (diesel calls run there): every
    // extra thread costs memory and wake-ups without adding throughput to one SQLite file.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // One connection: SQLite writes one at a time anyway, and a single connection keeps
        // its page cache warm and never waits in the busy handler for a sibling's lock.
        let pool = repair_bot::db::pool::build(&settings.path)?;
        let mut bot = teloxide::Bot::new(config.token.clone());
        if let Some(url) = config.api_url.clone() {
            bot = bot.set_api_url(url);
        }
        let metrics = match config.metrics_addr {
            Some(address) => Some(bot::metrics::bind(address).await.map_err(|e| {
                anyhow::anyhow!("configuration: METRICS_ADDR {address} cannot be served: {e}")
            })?),
            None => None,
        };
        let app = App::new(pool, config, Arc::new(SystemClock), settings.clone());
        bot::run(bot, app, metrics).await?;
        anyhow::Ok(())
    })?;
    // The lock is held until the bot has stopped.
    drop(prepared);
    Ok(ExitCode::SUCCESS)
}

fn migrate(
    out: &mut Out,
    settings: &DatabaseSettings,
    catalog: &Catalog,
    command: MigrateCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        MigrateCommand::Run => {
            let mut prepared = startup::prepare(settings, catalog)?;
            if let Some(copy) = &prepared.report.copy {
                record_copy(&mut prepared.connection, copy);
                print_copy(out, copy)?;
            }
            let report = &prepared.report;
            if report.ran.is_empty() && report.stamped.is_empty() {
                writeln!(out, "{}: up to date", settings.path.display())?;
            } else {
                writeln!(
                    out,
                    "{}: stamped {}, ran {}; backup: {}",
                    settings.path.display(),
                    report.stamped.len(),
                    report.ran.len(),
                    report
                        .backup
                        .as_ref()
                        .map_or("none (new database)".into(), |p| p.display().to_string())
                )?;
            }
        }
        MigrateCommand::Status => {
            print_status(out, &operations::status(settings, catalog, false)?)?
        }
        MigrateCommand::Check => {
            let report = operations::status(settings, catalog, true)?;
            print_status(out, &report)?;
            if !report.is_healthy() {
                writeln!(out, "check: NOT OK")?;
                return Ok(ExitCode::FAILURE);
            }
            writeln!(out, "check: ok")?;
        }
        MigrateCommand::Revert { steps } => {
            let report = operations::revert(settings, catalog, steps as usize)?;
            writeln!(out, "backup: {}", report.backup.display())?;
            record_copy_after(out, settings, report.copy.as_ref())?;
            for name in report.reverted {
                writeln!(out, "reverted {name}")?;
            }
        }
        MigrateCommand::Redo => {
            let report = operations::redo(settings, catalog)?;
            writeln!(out, "backup: {}", report.backup.display())?;
            record_copy_after(out, settings, report.copy.as_ref())?;
            for name in report.reverted {
                writeln!(out, "reverted {name}")?;
            }
            for name in report.reapplied {
                writeln!(out, "ran {name}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(out: &mut Out, report: &operations::StatusReport) -> std::io::Result<()> {
    writeln!(out, "database: {}", report.path.display())?;
    if !report.exists {
        writeln!(out, "  does not exist yet: every migration is pending")?;
    }
    if let Some(classification) = &report.classification {
        writeln!(out, "  kind: {}", describe(classification))?;
    }
    for line in &report.lines {
        match &line.state {
            LineState::Applied { run_on } => writeln!(out, "  [applied {run_on}] {}", line.name)?,
            LineState::Stamped { run_on } => writeln!(out, "  [stamped {run_on}] {}", line.name)?,
            LineState::Pending => writeln!(out, "  [pending] {}", line.name)?,
        }
    }
    let c = &report.comparison;
    for version in &c.unknown {
        writeln!(out, "  [unknown to this binary] {version}")?;
    }
    for name in &c.edited {
        writeln!(out, "  [EDITED since applied] {name}")?;
    }
    for version in &c.unrecorded {
        writeln!(out, "  [checksum not recorded yet] {version}")?;
    }
    writeln!(out, "  pending: {}", c.pending.len())?;
    if report.classification == Some(repair_bot::db::legacy::Classification::Managed) {
        if report.schema_differences.is_empty() {
            writeln!(out, "  schema: as expected")?;
        } else {
            writeln!(out, "  schema: DIFFERS from what the migrations produce:")?;
            for difference in &report.schema_differences {
                writeln!(out, "    - {difference}")?;
            }
        }
    }
    if let Some(result) = &report.quick_check {
        match result {
            Ok(()) => writeln!(out, "  quick_check: ok")?,
            Err(detail) => writeln!(out, "  quick_check: FAILED: {detail}")?,
        }
    }
    Ok(())
}

fn describe(classification: &repair_bot::db::legacy::Classification) -> String {
    use repair_bot::db::legacy::Classification;
    match classification {
        Classification::Empty => "empty".into(),
        Classification::Managed => "managed by migrations".into(),
        Classification::Legacy(shape) => format!(
            "database of the old bot (not adopted yet): {} legacy step(s) present, {} absent",
            shape.present_steps.len(),
            shape.absent_steps.len()
        ),
    }
}

fn backup_command(
    out: &mut Out,
    settings: &DatabaseSettings,
    command: BackupCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        BackupCommand::Create => {
            if !settings.path.is_file() {
                anyhow::bail!(
                    "database {} does not exist: nothing to back up",
                    settings.path.display()
                );
            }
            let taken = backup::take(&settings.path, &settings.backup, &BackupReason::Manual)?;
            writeln!(out, "{}", taken.path.display())?;
            record_copy_after(out, settings, taken.copy.as_ref())?;
            if let Some(CopyOutcome::Failed { .. }) = taken.copy.as_ref().map(|c| &c.outcome) {
                // The backup is good; the operator asked for a copy elsewhere too and has none.
                return Ok(ExitCode::FAILURE);
            }
        }
        BackupCommand::List => {
            let backups = backup::list(&settings.path, &settings.backup.dir)?;
            let incomplete = backup::list_incomplete(&settings.path, &settings.backup.dir)?;
            if backups.is_empty() {
                writeln!(
                    out,
                    "no backups of {} in {}",
                    settings.path.display(),
                    settings.backup.dir.display()
                )?;
            }
            for file in backups {
                if out.closed {
                    // Nobody reads on: verifying the rest of the backups would only take time.
                    break;
                }
                let version = match backup::verify(&file.path) {
                    Ok(v) => v
                        .schema_version
                        .unwrap_or_else(|| "unversioned (old bot)".into()),
                    Err(e) => format!("UNREADABLE: {e}"),
                };
                writeln!(
                    out,
                    "{}  {:>10} bytes  {:>8} old  {:<28} schema {}",
                    file.path.display(),
                    file.size,
                    human_age(file.age()),
                    file.reason,
                    version
                )?;
            }
            for file in incomplete {
                writeln!(
                    out,
                    "{}  {:>10} bytes  INCOMPLETE: left by an interrupted backup, not usable; \
                     removed at the next start",
                    file.path.display(),
                    file.size
                )?;
            }
        }
        BackupCommand::Verify { file } => {
            let verified = backup::verify(&file)?;
            writeln!(
                out,
                "{}: integrity ok, schema version {}",
                file.display(),
                verified
                    .schema_version
                    .unwrap_or_else(|| "none (old bot database)".into())
            )?;
        }
        BackupCommand::Restore { file } => {
            let restored = operations::restore(settings, &file)?;
            if let Some(pre) = &restored.pre_restore_backup {
                writeln!(out, "previous database saved as {}", pre.display())?;
            }
            record_copy_after(out, settings, restored.copy.as_ref())?;
            writeln!(
                out,
                "restored {} from {} (schema version {}); the next start migrates it if needed",
                settings.path.display(),
                file.display(),
                restored.schema_version.unwrap_or_else(|| "none".into())
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what became of an operator command's backup copy and writes it down in the database.
fn record_copy_after(
    out: &mut Out,
    settings: &DatabaseSettings,
    copy: Option<&CopyReport>,
) -> std::io::Result<()> {
    let Some(copy) = copy else {
        return Ok(());
    };
    print_copy(out, copy)?;
    match repair_bot::db::connection::open(&settings.path) {
        Ok(mut conn) => record_copy(&mut conn, copy),
        Err(error) => log::warn!("the backup copy's result is not recorded: {error}"),
    }
    Ok(())
}

fn print_copy(out: &mut Out, copy: &CopyReport) -> std::io::Result<()> {
    match &copy.outcome {
        CopyOutcome::Copied => writeln!(out, "copied off the machine: {}", copy.backup.display()),
        CopyOutcome::Failed { .. } => {
            let _ = writeln!(std::io::stderr(), "error: {}", copy.summary());
            Ok(())
        }
    }
}

/// Writes down a backup copy's result as the bot does; a failure to do so is only logged (the
/// copy itself is done).
fn record_copy(conn: &mut SqliteConnection, copy: &CopyReport) {
    match bot::jobs::record_backup_copy_alone(conn, copy, Utc::now().naive_utc()) {
        Ok(true) => {}
        Ok(false) => log::warn!(
            "the backup copy's result is not recorded: the database is not migrated to this \
             version yet"
        ),
        Err(error) => log::warn!("the backup copy's result is not recorded: {error}"),
    }
}

/// Standard output for the results of operator commands. A reader that went away
/// (`repair-bot migrate status | head -1`) ends the output, not the command: what is left is
/// discarded and the exit code is the command's own. Any other write error is an error.
/// (println! would panic on the closed pipe.)
#[derive(Default)]
struct Out {
    closed: bool,
}

impl Out {
    fn absorb(&mut self, result: std::io::Result<usize>, len: usize) -> std::io::Result<usize> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(len)
            }
            other => other,
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = std::io::stdout().write(buf);
        self.absorb(result, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = std::io::stdout().flush().map(|()| 0);
        self.absorb(result, 0).map(drop)
    }
}

fn human_age(age: std::time::Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// glibc gives every thread that allocates its own arena; two are plenty for this process and
/// keep its resident memory small.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called first thing, before threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
