//! Configuration from the environment and `.env` (the environment wins). Invalid values stop
//! the start with an error naming the variable.

use std::env;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::db::backup::BackupPolicy;
use crate::db::backup_copy::{self, CopyCommand};
use crate::db::startup::DatabaseSettings;
use crate::health::Limits;

pub const DEFAULT_DATABASE: &str = "bot_database.db";
pub const DEFAULT_BACKUP_DIR: &str = "backup";
pub const DEFAULT_BACKUP_KEEP: usize = 20;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// A `.env` that cannot be read to its end: the start stops (dotenvy alone would set the lines
/// before the bad one and silently drop every line after it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DotenvError(String);

/// Loads `.env` from the working directory (or the nearest folder above it that has one, as
/// dotenvy does) if there is one; variables already set win, and the first occurrence of a
/// variable in the file counts. The whole file is parsed before anything is set: a line that
/// does not parse stops the start with the file, the line number, the line and how to fix it.
/// A missing `.env` is normal (everything may come from the environment).
pub fn load_dotenv() -> Result<Option<PathBuf>, DotenvError> {
    let Some(path) = find_dotenv() else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DotenvError(format!("cannot read {}: {e}", path.display())))?;
    let mut pairs = Vec::new();
    // dotenvy's own loader drops a byte-order mark (editors on Windows write one); so do we.
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let iter = dotenvy::from_read_iter(body.as_bytes());
    for item in iter {
        match item {
            Ok(pair) => pairs.push(pair),
            Err(error) => return Err(DotenvError(describe_dotenv_error(&path, &text, &error))),
        }
    }
    for (key, value) in pairs {
        if env::var_os(&key).is_none() {
            // Called first thing in main, before any other thread exists.
            env::set_var(key, value);
        }
    }
    Ok(Some(path))
}

fn find_dotenv() -> Option<PathBuf> {
    let here = env::current_dir().ok()?;
    here.ancestors()
        .map(|dir| dir.join(".env"))
        .find(|candidate| candidate.is_file())
}

/// dotenvy reports the text it choked on (the whole line, or the value part of it) and an
/// offset, not the line number: the number is found by looking for that text in the file.
fn describe_dotenv_error(path: &std::path::Path, text: &str, error: &dotenvy::Error) -> String {
    let dotenvy::Error::LineParse(fragment, _) = error else {
        return format!("cannot read {}: {error}", path.display());
    };
    // A quoted value left open runs to the end of the file: its first line is where it starts.
    let fragment = fragment.lines().next().unwrap_or_default().trim();
    let found = text
        .lines()
        .enumerate()
        .find(|(_, line)| !fragment.is_empty() && line.contains(fragment));
    let Some((index, line)) = found else {
        return format!(
            "{} cannot be parsed at {fragment:?}: fix that line (a value with spaces or # \
             must be in quotes, like KEY=\"a b\")",
            path.display()
        );
    };
    let line = line.trim();
    let open_quote = |value: &str, quote: char| value.matches(quote).count() % 2 == 1;
    let hint = match line.split_once('=') {
        Some((_, value)) if open_quote(value, '"') || open_quote(value, '\'') => {
            "its quoted value is not closed (the closing quote is missing)".to_string()
        }
        Some((key, value)) if !value.contains(['"', '\'']) => format!(
            "a value with spaces or # must be in quotes: {}=\"{}\"",
            key.trim(),
            value.trim()
        ),
        _ => "each line must be KEY=value, a value with spaces or # in quotes".to_string(),
    };
    format!(
        "{} line {} cannot be parsed: {line}; {hint}. Nothing was started (the lines after it \
         would be ignored)",
        path.display(),
        index + 1
    )
}

/// A variable's value, None when unset or blank.
pub fn var(name: &str) -> Option<String> {
    env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub fn database_settings() -> Result<DatabaseSettings, ConfigError> {
    let (variable, raw) = match (var("DATABASE_URL"), var("DATABASE_PATH")) {
        (Some(url), _) => ("DATABASE_URL", url),
        (None, Some(path)) => ("DATABASE_PATH", path),
        (None, None) => ("DATABASE_URL", DEFAULT_DATABASE.to_string()),
    };
    let path = database_path(&raw).ok_or_else(|| ConfigError {
        variable,
        problem: format!("must be a SQLite file path (like {DEFAULT_DATABASE}), got {raw:?}"),
    })?;
    if path.is_dir() {
        return Err(ConfigError {
            variable,
            problem: format!(
                "points to the folder {}, not to a database file: name the file, like {}",
                path.display(),
                path.join(DEFAULT_DATABASE).display()
            ),
        });
    }
    let dir = PathBuf::from(var("BACKUP_DIR").unwrap_or_else(|| DEFAULT_BACKUP_DIR.into()));
    let keep = match var("BACKUP_KEEP") {
        None => DEFAULT_BACKUP_KEEP,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ConfigError {
                variable: "BACKUP_KEEP",
                problem: format!("must be a whole number of backups, at least 1, got {raw:?}"),
            })?,
    };
    Ok(DatabaseSettings {
        path,
        backup: BackupPolicy {
            dir,
            keep,
            copy: backup_copy()?,
        },
    })
}

/// `BACKUP_COPY_COMMAND` (None when unset) with `BACKUP_COPY_TIMEOUT_SECONDS`.
fn backup_copy() -> Result<Option<CopyCommand>, ConfigError> {
    let timeout = seconds("BACKUP_COPY_TIMEOUT_SECONDS", backup_copy::DEFAULT_TIMEOUT)?;
    Ok(var("BACKUP_COPY_COMMAND").map(|command| CopyCommand { command, timeout }))
}

/// A positive whole number of seconds, or the default when unset.
fn seconds(variable: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    let Some(raw) = var(variable) else {
        return Ok(default);
    };
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .map(Duration::from_secs)
        .ok_or_else(|| ConfigError {
            variable,
            problem: format!("must be a whole number of seconds, at least 1, got {raw:?}"),
        })
}

/// A whole number, at least 1, or the default when unset.
fn count(variable: &'static str, default: u64) -> Result<u64, ConfigError> {
    let Some(raw) = var(variable) else {
        return Ok(default);
    };
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ConfigError {
            variable,
            problem: format!("must be a whole number, at least 1, got {raw:?}"),
        })
}

/// The limits of `repair-bot health` and `/healthz`.
pub fn health_limits() -> Result<Limits, ConfigError> {
    let defaults = Limits::default();
    // With daily backups switched off, their age says nothing unless the operator asks.
    let backup_default = match var("BACKUP_TIME").as_deref() {
        Some("off") => None,
        _ => defaults.backup_age,
    };
    let backup_age = match var("HEALTH_MAX_BACKUP_AGE_HOURS").as_deref() {
        None => backup_default,
        Some("off") => None,
        Some(_) => Some(Duration::from_secs(
            3600 * count("HEALTH_MAX_BACKUP_AGE_HOURS", 1)?,
        )),
    };
    Ok(Limits {
        poll_age: seconds("HEALTH_MAX_POLL_AGE_SECONDS", defaults.poll_age)?,
        outbox_pending: count("HEALTH_MAX_OUTBOX_PENDING", defaults.outbox_pending)?,
        outbox_age: seconds("HEALTH_MAX_OUTBOX_AGE_SECONDS", defaults.outbox_age)?,
        backup_age,
    })
}

/// `METRICS_ADDR`: where `/healthz` and `/metrics` are served; None (the default) serves
/// nothing.
pub fn metrics_addr() -> Result<Option<SocketAddr>, ConfigError> {
    let Some(raw) = var("METRICS_ADDR") else {
        return Ok(None);
    };
    if raw == "off" {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ConfigError {
        variable: "METRICS_ADDR",
        problem: format!("must be an address and port like 127.0.0.1:9100, got {raw:?}"),
    })
}

/// Accepts a plain path and the `sqlite://` / `file:` spellings some tools write.
fn database_path(raw: &str) -> Option<PathBuf> {
    let path = raw
        .strip_prefix("sqlite://")
        .or_else(|| raw.strip_prefix("file:"))
        .unwrap_or(raw);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" || path.contains("://") {
        return None;
    }
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::{database_path, describe_dotenv_error};
    use std::path::{Path, PathBuf};

    fn dotenv_error(text: &str) -> String {
        let error = dotenvy::from_read_iter(text.as_bytes())
            .find_map(Result::err)
            .expect("a parse error");
        describe_dotenv_error(Path::new(".env"), text, &error)
    }

    #[test]
    fn dotenv_errors_name_the_line_and_the_fix() {
        let message = dotenv_error("# ids\nA=1\n\nADMIN_IDS=111, 222\nB=2\n");
        assert!(message.contains(".env line 4"), "{message}");
        assert!(message.contains(r#"ADMIN_IDS="111, 222""#), "{message}");
        let message = dotenv_error("A=1\nNOT A LINE\n");
        assert!(message.contains(".env line 2"), "{message}");
        assert!(message.contains("KEY=value"), "{message}");
        let message = dotenv_error("A=1\nB=\"open\nC=3\n");
        assert!(message.contains(".env line 2"), "{message}");
        assert!(message.contains("not closed"), "{message}");
    }

    #[test]
    fn database_path_spellings() {
        assert_eq!(
            database_path("bot_database.db"),
            Some(PathBuf::from("bot_database.db"))
        );
        assert_eq!(
            database_path("sqlite://data/bot.db"),
            Some(PathBuf::from("data/bot.db"))
        );
        assert_eq!(
            database_path("file:bot.db?mode=rwc"),
            Some(PathBuf::from("bot.db"))
        );
        assert_eq!(database_path(":memory:"), None);
        assert_eq!(database_path("postgres://localhost/db"), None);
    }
}
