//! Off-machine copies of backups: after a backup is verified, the operator's command
//! (`BACKUP_COPY_COMMAND`, run by `sh -c`) ships it elsewhere — rsync, rclone, cp to another
//! disk. A backup on the same disk as the database does not survive that disk.
//!
//! The command gets the backup's path as `$1` and as `REPAIR_BOT_BACKUP`. It runs in its own
//! process group with a time limit: a command that hangs (a remote that never answers) is
//! killed with everything it started, and counts as failed. What it printed (stdout and
//! stderr together) is kept to a tail for the log, the audit log and the admins' message.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the operator configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCommand {
    /// Shell text, run as `sh -c TEXT repair-bot-backup-copy BACKUP`.
    pub command: String,
    pub timeout: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How much of the command's output is kept.
const TAIL_BYTES: u64 = 600;
/// The command's `$0`, so that its own error messages say whose they are.
const SCRIPT_NAME: &str = "repair-bot-backup-copy";

/// What became of one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub backup: PathBuf,
    pub elapsed: Duration,
    pub outcome: CopyOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    Copied,
    /// `status` says how it ended ("exit code 3", "timed out after 600 s", ...); `output` is
    /// the tail of what it printed.
    Failed {
        status: String,
        output: String,
    },
}

impl CopyReport {
    pub fn copied(&self) -> bool {
        self.outcome == CopyOutcome::Copied
    }

    /// The audit log's details: the file, and for a failure how it ended and what it said.
    pub fn details(&self) -> String {
        match &self.outcome {
            CopyOutcome::Copied => self.backup.display().to_string(),
            CopyOutcome::Failed { status, output } if output.is_empty() => {
                format!("{}: {status}", self.backup.display())
            }
            CopyOutcome::Failed { status, output } => {
                format!("{}: {status}: {output}", self.backup.display())
            }
        }
    }

    /// One line for the log and the operator.
    pub fn summary(&self) -> String {
        match &self.outcome {
            CopyOutcome::Copied => format!(
                "{} copied off the machine in {:.1} s",
                self.backup.display(),
                self.elapsed.as_secs_f64()
            ),
            CopyOutcome::Failed { status, output } if output.is_empty() => format!(
                "{} was not copied off the machine: BACKUP_COPY_COMMAND failed ({status})",
                self.backup.display()
            ),
            CopyOutcome::Failed { status, output } => format!(
                "{} was not copied off the machine: BACKUP_COPY_COMMAND failed ({status}): {output}",
                self.backup.display()
            ),
        }
    }
}

/// Runs the command on a verified backup and waits for it, at most its timeout. Blocking.
pub fn run(copy: &CopyCommand, backup: &Path) -> CopyReport {
    let started = Instant::now();
    let outcome = match spawn_and_wait(copy, backup) {
        Ok(outcome) => outcome,
        Err(error) => CopyOutcome::Failed {
            status: format!("could not be started: {error}"),
            output: String::new(),
        },
    };
    let report = CopyReport {
        backup: backup.to_owned(),
        elapsed: started.elapsed(),
        outcome,
    };
    if report.copied() {
        log::info!("{}", report.summary());
    } else {
        log::error!("{}", report.summary());
    }
    report
}

fn spawn_and_wait(copy: &CopyCommand, backup: &Path) -> std::io::Result<CopyOutcome> {
    // A file, not a pipe: nothing has to read it while the command runs, and a grandchild that
    // outlives the kill cannot keep us waiting for the pipe to close.
    let mut output = tempfile::tempfile()?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&copy.command)
        .arg(SCRIPT_NAME)
        .arg(backup)
        .env("REPAIR_BOT_BACKUP", backup)
        .stdin(Stdio::null())
        .stdout(Stdio::from(output.try_clone()?))
        .stderr(Stdio::from(output.try_clone()?));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let deadline = Instant::now() + copy.timeout;
    let mut pause = Duration::from_millis(10);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        let now = Instant::now();
        if now >= deadline {
            break None;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(250));
    };
    let status = match status {
        Some(status) => status,
        None => {
            kill_group(&mut child);
            let _ = child.wait();
            return Ok(CopyOutcome::Failed {
                status: format!("timed out after {} s, killed", copy.timeout.as_secs()),
                output: tail(&mut output),
            });
        }
    };
    if status.success() {
        return Ok(CopyOutcome::Copied);
    }
    Ok(CopyOutcome::Failed {
        status: describe_exit(status),
        output: tail(&mut output),
    })
}

/// The command and everything it started (it leads its own process group).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(group) = i32::try_from(child.id()) {
        // SAFETY: kill only sends a signal; a negative pid names the process group.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        return;
    }
    let _ = child.kill();
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    status.to_string()
}

/// The last bytes the command printed, as one trimmed line.
fn tail(output: &mut File) -> String {
    let Ok(length) = output.seek(SeekFrom::End(0)) else {
        return String::new();
    };
    let start = length.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if output.seek(SeekFrom::Start(start)).is_err() || output.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    // A cut in the middle of a character or a line is marked, not hidden.
    let text = text.trim_start_matches('\u{fffd}');
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if start > 0 {
        format!("…{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(command: &str, timeout: Duration) -> CopyCommand {
        CopyCommand {
            command: command.into(),
            timeout,
        }
    }

    #[test]
    fn the_backup_is_the_first_argument_and_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("a b.db");
        std::fs::write(&backup, b"x").unwrap();
        let check = r#"test "$1" = "$REPAIR_BOT_BACKUP" && test -f "$1""#;
        let report = run(&copy(check, Duration::from_secs(20)), &backup);
        assert!(report.copied(), "{report:?}");
    }

    #[test]
    fn a_failure_keeps_the_exit_code_and_the_tail_of_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("b.db");
        let noisy = "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done; \
                     echo 'remote: permission denied' >&2; exit 3";
        let report = run(&copy(noisy, Duration::from_secs(20)), &backup);
        let CopyOutcome::Failed { status, output } = &report.outcome else {
            panic!("{report:?}");
        };
        assert_eq!(status, "exit code 3");
        assert!(output.starts_with('…'), "{output}");
        assert!(output.ends_with("remote: permission denied"), "{output}");
        assert!(output.len() <= TAIL_BYTES as usize + 4, "{}", output.len());
        assert!(report.summary().contains("exit code 3"));
    }
}
