//! `repair-bot sandbox`: the production bot, as its own process, against the local fake Bot
//! API, with scripted people playing a working day (`day`) or a load (`load`). Only the API
//! URL differs from production: startup, backups and migrations are the real ones.

pub mod day;
pub mod floor;
pub mod load;
pub mod transcript;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::fake_telegram::FakeTelegram;

/// Who gets which role from the environment, as in a real `.env`.
#[derive(Debug, Clone, Default)]
pub struct Staff {
    pub admins: Vec<i64>,
    pub dispatchers: Vec<i64>,
}

/// Which executable runs as the bot, with which arguments.
#[derive(Debug, Clone)]
pub struct Program {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
}

impl Program {
    /// This build's executable: REPAIR_BOT_EXE when set (tests run from a test binary and
    /// point at the real one), else the running executable.
    pub fn this_executable() -> std::io::Result<PathBuf> {
        match std::env::var_os("REPAIR_BOT_EXE") {
            Some(path) => Ok(PathBuf::from(path)),
            None => std::env::current_exe(),
        }
    }

    /// The bot: `exe` (another build's, e.g. an older commit's, for a comparison) or this
    /// build's, with no command.
    pub fn bot(exe: Option<&Path>) -> std::io::Result<Program> {
        Ok(Program {
            exe: match exe {
                Some(exe) => exe.to_owned(),
                None => Self::this_executable()?,
            },
            args: Vec::new(),
        })
    }

    /// The bare teloxide bot of [`floor`], from this build.
    pub fn floor() -> std::io::Result<Program> {
        Ok(Program {
            exe: Self::this_executable()?,
            args: vec![OsString::from(FLOOR_COMMAND)],
        })
    }
}

/// The hidden command of `repair-bot` that runs [`floor`].
pub const FLOOR_COMMAND: &str = "sandbox-floor";

/// The bot running as a child process (the same binary, `repair-bot` with no command).
pub struct BotProcess {
    child: Child,
    started: chrono::DateTime<chrono::Utc>,
    pub database: PathBuf,
    pub log_file: PathBuf,
}

/// What the bot process used, read from the kernel when it exited.
#[derive(Debug, Clone, Copy)]
pub struct ProcessUsage {
    pub status_ok: bool,
    pub user_cpu: Duration,
    pub system_cpu: Duration,
    pub peak_rss_kb: u64,
}

impl BotProcess {
    /// Starts `program` as the bot on `database` with backups in `backup_dir`, talking to
    /// `fake`.
    pub fn spawn(
        program: &Program,
        fake: &FakeTelegram,
        database: &Path,
        backup_dir: &Path,
        staff: &Staff,
        log_level: &str,
    ) -> std::io::Result<BotProcess> {
        let started = chrono::Utc::now();
        let log_file = database.with_extension("log");
        let log = std::fs::File::create(&log_file)?;
        let join = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let child = Command::new(&program.exe)
            .args(&program.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database)
            .env("BACKUP_DIR", backup_dir)
            .env("BOT_TOKEN", fake.token())
            .env("TELOXIDE_API_URL", fake.url().as_str())
            .env("ADMIN_IDS", join(&staff.admins))
            .env("DISPATCHER_IDS", join(&staff.dispatchers))
            .env("QUIET_HOURS", "off")
            .env("BACKUP_TIME", "off")
            // The scripted day checks every answer: nothing may depend on the hour it runs at.
            .env("DAILY_SUMMARY_TIME", "off")
            // Scripted people type at machine speed: the per-person limit is for floods.
            .env("RATE_LIMIT_UPDATES", "off")
            .env("TIMEZONE", "Europe/Moscow")
            .env("RUST_LOG", log_level)
            .current_dir(database.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()?;
        Ok(BotProcess {
            child,
            started,
            database: database.to_owned(),
            log_file,
        })
    }

    /// Waits for the bot's first getUpdates: the moment it is ready for work. Returns the time
    /// from process start to that call.
    pub async fn ready(
        &mut self,
        fake: &FakeTelegram,
        timeout: Duration,
    ) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(first) = fake.calls("getUpdates").first() {
                return Ok((first.at - self.started).to_std().unwrap_or_default());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the bot exited during startup ({status}); log: {}",
                    self.log_file.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the bot did not start polling within {timeout:?}; log: {}",
                    self.log_file.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far, from /proc (Linux); None elsewhere.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time used so far (user, system), from /proc (Linux).
    pub fn cpu_time(&self) -> Option<(Duration, Duration)> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may contain spaces) start after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let to_duration = |t: u64| Duration::from_micros(t * 1_000_000 / hz);
        Some((to_duration(ticks(11)?), to_duration(ticks(12)?)))
    }

    /// Context switches of each thread of the bot so far, from /proc/<pid>/task/*/status
    /// (Linux); None elsewhere.
    pub fn context_switches(&self) -> Option<ThreadSwitches> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).ok()?;
        let mut threads = BTreeMap::new();
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            // A thread may end between the listing and the read: it is then left out.
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            let field = |name: &str| -> Option<u64> {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .and_then(|rest| rest.trim().parse().ok())
            };
            if let (Some(voluntary), Some(involuntary)) = (
                field("voluntary_ctxt_switches:"),
                field("nonvoluntary_ctxt_switches:"),
            ) {
                threads.insert(tid, (voluntary, involuntary));
            }
        }
        Some(ThreadSwitches(threads))
    }

    /// SIGTERM, then waits for a clean exit (up to `timeout`, then kills).
    pub fn stop(mut self, timeout: Duration) -> ProcessUsage {
        let peak_rss_kb = self.peak_rss_kb().unwrap_or(0);
        let (user_cpu, system_cpu) = self.cpu_time().unwrap_or_default();
        // SAFETY: signalling our own child by its id.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + timeout;
        let status: Option<ExitStatus> = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    // Did not stop in time: killed, which counts as an unclean exit.
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        ProcessUsage {
            status_ok: status.is_some_and(|s| s.success()),
            user_cpu,
            system_cpu,
            peak_rss_kb,
        }
    }
}

/// Voluntary and involuntary context switches of each thread (by thread id) at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadSwitches(pub BTreeMap<u32, (u64, u64)>);

/// Context switches between two moments, summed over the threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwitchCount {
    pub voluntary: u64,
    pub involuntary: u64,
    /// Threads present at the first moment and gone at the second: their switches in between
    /// are not in the sums (the kernel keeps them only for getrusage of the whole process).
    pub threads_ended: usize,
}

impl SwitchCount {
    pub fn total(&self) -> u64 {
        self.voluntary + self.involuntary
    }
}

impl ThreadSwitches {
    /// The switches since `before`: a thread started since counts from zero.
    pub fn since(&self, before: &ThreadSwitches) -> SwitchCount {
        let mut count = SwitchCount::default();
        for (tid, &(voluntary, involuntary)) in &self.0 {
            let (v0, i0) = before.0.get(tid).copied().unwrap_or((0, 0));
            // A thread id reused by a new thread reads lower than before: counted from zero.
            let (v0, i0) = if voluntary < v0 || involuntary < i0 {
                (0, 0)
            } else {
                (v0, i0)
            };
            count.voluntary += voluntary - v0;
            count.involuntary += involuntary - i0;
        }
        count.threads_ended = before
            .0
            .keys()
            .filter(|tid| !self.0.contains_key(tid))
            .count();
        count
    }
}

/// A scratch folder for a sandbox run, or the given database's folder.
pub fn workspace(
    database: Option<&Path>,
) -> std::io::Result<(Option<tempfile::TempDir>, PathBuf, PathBuf)> {
    match database {
        Some(path) => {
            let folder = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_owned();
            Ok((None, path.to_owned(), folder.join("backup")))
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("repair-bot-sandbox-")
                .tempdir()?;
            let database = dir.path().join("bot_database.db");
            let backups = dir.path().join("backup");
            Ok((Some(dir), database, backups))
        }
    }
}
