//! Errors an operator can act on: each names the file, migration or object that is wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {detail}")]
    Open { path: PathBuf, detail: String },

    #[error(
        "database {db} is in use by another process (lock {lock} is held): stop the running bot \
         or migration first"
    )]
    Locked { db: PathBuf, lock: PathBuf },

    #[error("{path} is not a readable SQLite database: {detail}")]
    NotADatabase { path: PathBuf, detail: String },

    #[error(
        "refusing to touch {path}: its schema is not one this bot knows; nothing was changed.\n{}",
        bullet_list(problems)
    )]
    UnknownSchema {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error(
        "refusing to adopt {path}: some rows cannot be carried over; nothing was changed.\n{}",
        bullet_list(problems)
    )]
    UnadoptableData {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error(
        "database {path} has migrations this binary does not know (it is newer than the binary): \
         {}; run a newer repair-bot or restore a backup",
        versions.join(", ")
    )]
    NewerThanBinary {
        path: PathBuf,
        versions: Vec<String>,
    },

    #[error(
        "migrations applied to {path} were edited after they ran (checksum differs): {}; \
         restore their original up.sql and add a new migration instead",
        names.join(", ")
    )]
    EditedMigration { path: PathBuf, names: Vec<String> },

    #[error("migration {name} failed: {detail}{}", backup_hint(backup))]
    MigrationFailed {
        name: String,
        detail: String,
        backup: Option<PathBuf>,
    },

    #[error("{what} failed: {detail}")]
    Backup { what: String, detail: String },

    #[error("integrity check of {path} failed: {detail}")]
    Integrity { path: PathBuf, detail: String },

    #[error("{action} is not possible: {reason}")]
    Refused { action: String, reason: String },

    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        source: diesel::result::Error,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl DbError {
    pub fn sqlite(context: impl Into<String>) -> impl FnOnce(diesel::result::Error) -> DbError {
        let context = context.into();
        move |source| DbError::Sqlite { context, source }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DbError {
        let context = context.into();
        move |source| DbError::Io { context, source }
    }
}

fn bullet_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("  - {item}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn backup_hint(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(path) => format!(
            " (the database is as it was before; backup taken first: {})",
            path.display()
        ),
        None => " (the database is as it was before)".to_string(),
    }
}
