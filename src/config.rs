//! Configuration from the environment and `.env` (the environment wins). Invalid values stop
//! the start with an error naming the variable.

use std::env;
use std::path::PathBuf;

use crate::db::backup::BackupPolicy;
use crate::db::startup::DatabaseSettings;

pub const DEFAULT_DATABASE: &str = "bot_database.db";
pub const DEFAULT_BACKUP_DIR: &str = "backup";
pub const DEFAULT_BACKUP_KEEP: usize = 20;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Loads `.env` from the working directory if there is one; variables already set win.
pub fn load_dotenv() {
    // A missing .env is normal (everything may come from the environment).
    let _ = dotenvy::dotenv();
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
        backup: BackupPolicy { dir, keep },
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
    use super::database_path;
    use std::path::PathBuf;

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
