//! `repair-bot`: runs the bot (no arguments) or an operator command. Command line only; the
//! work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use repair_bot::bot::{self, App, BotConfig};
use repair_bot::clock::SystemClock;
use repair_bot::config;
use repair_bot::db::backup::{self, BackupReason};
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
    Sandbox {
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
    },
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
    config::load_dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            log::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = config::database_settings()?;
    let catalog = Catalog::embedded();
    match cli.command {
        None => run_bot(&settings, &catalog),
        Some(Command::Migrate(command)) => migrate(&settings, &catalog, command),
        Some(Command::Backup(command)) => backup_command(&settings, command),
        Some(Command::Sandbox {
            database,
            load,
            workload,
            users,
            concurrency,
            orders,
        }) => {
            use repair_bot::sandbox::load::{LoadOptions, Workload};
            let runtime = tokio::runtime::Runtime::new()?;
            let passed = if load {
                let workloads = match workload.as_str() {
                    "start" => vec![Workload::Start],
                    "intake" => vec![Workload::Intake],
                    _ => vec![Workload::Start, Workload::Intake],
                };
                let options = LoadOptions {
                    workloads,
                    users,
                    concurrency,
                    orders_per_user: orders,
                    database,
                };
                runtime.block_on(repair_bot::sandbox::load::run(&options))
            } else {
                runtime.block_on(repair_bot::sandbox::day::run(database.as_deref()))
            }
            .map_err(|e| anyhow::anyhow!("sandbox: {e}"))?;
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn run_bot(settings: &DatabaseSettings, catalog: &Catalog) -> anyhow::Result<ExitCode> {
    let config = BotConfig::from_env()?;
    let prepared = startup::prepare(settings, catalog)?;
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
        let pool = repair_bot::db::pool::build(&settings.path, 1)?;
        let mut bot = teloxide::Bot::new(config.token.clone());
        if let Some(url) = config.api_url.clone() {
            bot = bot.set_api_url(url);
        }
        let app = App {
            pool,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            database: Arc::new(settings.clone()),
        };
        bot::run(bot, app).await;
        anyhow::Ok(())
    })?;
    // The lock is held until the bot has stopped.
    drop(prepared);
    Ok(ExitCode::SUCCESS)
}

fn migrate(
    settings: &DatabaseSettings,
    catalog: &Catalog,
    command: MigrateCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        MigrateCommand::Run => {
            let prepared = startup::prepare(settings, catalog)?;
            let report = &prepared.report;
            if report.ran.is_empty() && report.stamped.is_empty() {
                println!("{}: up to date", settings.path.display());
            } else {
                println!(
                    "{}: stamped {}, ran {}; backup: {}",
                    settings.path.display(),
                    report.stamped.len(),
                    report.ran.len(),
                    report
                        .backup
                        .as_ref()
                        .map_or("none (new database)".into(), |p| p.display().to_string())
                );
            }
        }
        MigrateCommand::Status => print_status(&operations::status(settings, catalog, false)?),
        MigrateCommand::Check => {
            let report = operations::status(settings, catalog, true)?;
            print_status(&report);
            if !report.is_healthy() {
                println!("check: NOT OK");
                return Ok(ExitCode::FAILURE);
            }
            println!("check: ok");
        }
        MigrateCommand::Revert { steps } => {
            let report = operations::revert(settings, catalog, steps as usize)?;
            println!("backup: {}", report.backup.display());
            for name in report.reverted {
                println!("reverted {name}");
            }
        }
        MigrateCommand::Redo => {
            let report = operations::redo(settings, catalog)?;
            println!("backup: {}", report.backup.display());
            for name in report.reverted {
                println!("reverted {name}");
            }
            for name in report.reapplied {
                println!("ran {name}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(report: &operations::StatusReport) {
    println!("database: {}", report.path.display());
    if !report.exists {
        println!("  does not exist yet: every migration is pending");
    }
    if let Some(classification) = &report.classification {
        println!("  kind: {}", describe(classification));
    }
    for line in &report.lines {
        match &line.state {
            LineState::Applied { run_on } => println!("  [applied {run_on}] {}", line.name),
            LineState::Stamped { run_on } => println!("  [stamped {run_on}] {}", line.name),
            LineState::Pending => println!("  [pending] {}", line.name),
        }
    }
    let c = &report.comparison;
    for version in &c.unknown {
        println!("  [unknown to this binary] {version}");
    }
    for name in &c.edited {
        println!("  [EDITED since applied] {name}");
    }
    for version in &c.unrecorded {
        println!("  [checksum not recorded yet] {version}");
    }
    println!("  pending: {}", c.pending.len());
    if report.classification == Some(repair_bot::db::legacy::Classification::Managed) {
        if report.schema_differences.is_empty() {
            println!("  schema: as expected");
        } else {
            println!("  schema: DIFFERS from what the migrations produce:");
            for difference in &report.schema_differences {
                println!("    - {difference}");
            }
        }
    }
    if let Some(result) = &report.quick_check {
        match result {
            Ok(()) => println!("  quick_check: ok"),
            Err(detail) => println!("  quick_check: FAILED: {detail}"),
        }
    }
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

fn backup_command(settings: &DatabaseSettings, command: BackupCommand) -> anyhow::Result<ExitCode> {
    match command {
        BackupCommand::Create => {
            if !settings.path.is_file() {
                anyhow::bail!(
                    "database {} does not exist: nothing to back up",
                    settings.path.display()
                );
            }
            let file = backup::create(&settings.path, &settings.backup, &BackupReason::Manual)?;
            println!("{}", file.display());
        }
        BackupCommand::List => {
            let backups = backup::list(&settings.path, &settings.backup.dir)?;
            let incomplete = backup::list_incomplete(&settings.path, &settings.backup.dir)?;
            if backups.is_empty() {
                println!(
                    "no backups of {} in {}",
                    settings.path.display(),
                    settings.backup.dir.display()
                );
            }
            for file in backups {
                let version = match backup::verify(&file.path) {
                    Ok(v) => v
                        .schema_version
                        .unwrap_or_else(|| "unversioned (old bot)".into()),
                    Err(e) => format!("UNREADABLE: {e}"),
                };
                println!(
                    "{}  {:>10} bytes  {:>8} old  {:<28} schema {}",
                    file.path.display(),
                    file.size,
                    human_age(file.age()),
                    file.reason,
                    version
                );
            }
            for file in incomplete {
                println!(
                    "{}  {:>10} bytes  INCOMPLETE: left by an interrupted backup, not usable; \
                     removed at the next start",
                    file.path.display(),
                    file.size
                );
            }
        }
        BackupCommand::Verify { file } => {
            let verified = backup::verify(&file)?;
            println!(
                "{}: integrity ok, schema version {}",
                file.display(),
                verified
                    .schema_version
                    .unwrap_or_else(|| "none (old bot database)".into())
            );
        }
        BackupCommand::Restore { file } => {
            let restored = operations::restore(settings, &file)?;
            if let Some(pre) = restored.pre_restore_backup {
                println!("previous database saved as {}", pre.display());
            }
            println!(
                "restored {} from {} (schema version {}); the next start migrates it if needed",
                settings.path.display(),
                file.display(),
                restored.schema_version.unwrap_or_else(|| "none".into())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
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
