//! Opening the database file and the process-wide migration lock.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::DbError;

/// How long taking the database lock waits before reporting that another process holds it.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// How long a connection waits for another writer before giving up with SQLITE_BUSY.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating the file and its folder if missing) a read-write connection with the
/// per-connection settings every connection of the bot uses: foreign keys on and a busy
/// timeout. Nothing is written to the file here; WAL is switched on by [`enable_wal`] only
/// once startup has decided the database may be changed.
pub fn open(path: &Path) -> Result<SqliteConnection, DbError> {
    let folder = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) => {
            fs::create_dir_all(folder).map_err(DbError::io(format!(
                "cannot create folder {}",
                folder.display()
            )))?;
            folder
        }
        None => Path::new("."),
    };
    // SQLite would open a file it cannot write read-only without a word, and fail on a folder
    // it cannot create its journal in with "unable to open database file": say what it is.
    for (what, target) in [("folder", folder), ("file", path)] {
        if let Err(detail) = writable(target) {
            return Err(DbError::NotWritable {
                path: path.to_owned(),
                what: format!("{what} {}", target.display()),
                detail,
            });
        }
    }
    let mut conn = establish(path, &path_str(path)?)?;
    configure(&mut conn).map_err(|e| not_a_database_or(path, e.to_string()))?;
    Ok(conn)
}

/// Ok when this process may write `path` (for a folder: create files in it), judged by the
/// kernel for the effective user (root passes permission bits; a read-only mount does not).
/// A path that does not exist is fine: its folder decides.
fn writable(path: &Path) -> Result<(), String> {
    if !path.exists() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| "the path contains a NUL byte".to_string())?;
        // SAFETY: c_path is NUL-terminated; faccessat only reads it.
        let rc = unsafe {
            libc::faccessat(
                libc::AT_FDCWD,
                c_path.as_ptr(),
                libc::W_OK,
                libc::AT_EACCESS,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
    }
    #[cfg(not(unix))]
    if fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        return Err("read-only".into());
    }
    Ok(())
}

/// Opens an existing database read-only (status, check, backup verification). The file is
/// never created nor modified through this connection.
pub fn open_read_only(path: &Path) -> Result<SqliteConnection, DbError> {
    if !path.is_file() {
        return Err(DbError::Open {
            path: path.to_owned(),
            detail: "no such file".into(),
        });
    }
    let mut conn = establish(path, &read_only_uri(path)?)?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {};",
        BUSY_TIMEOUT.as_millis()
    ))
    .map_err(|e| not_a_database_or(path, e.to_string()))?;
    Ok(conn)
}

/// SQLite finds out that a file is no database on the first statement (or already at open).
fn not_a_database_or(path: &Path, detail: String) -> DbError {
    if detail.contains("not a database") {
        DbError::NotADatabase {
            path: path.to_owned(),
            detail,
        }
    } else {
        DbError::Open {
            path: path.to_owned(),
            detail,
        }
    }
}

/// Settings that live on the connection, not in the file.
pub fn configure(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL;",
        BUSY_TIMEOUT.as_millis()
    ))
}

/// Switches the file to write-ahead logging (persistent; readers never block the writer).
pub fn enable_wal(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute("PRAGMA journal_mode = WAL;")
}

pub fn set_foreign_keys(conn: &mut SqliteConnection, on: bool) -> QueryResult<()> {
    conn.batch_execute(if on {
        "PRAGMA foreign_keys = ON;"
    } else {
        "PRAGMA foreign_keys = OFF;"
    })
}

fn establish(path: &Path, url: &str) -> Result<SqliteConnection, DbError> {
    SqliteConnection::establish(url).map_err(|e| not_a_database_or(path, e.to_string()))
}

fn path_str(path: &Path) -> Result<String, DbError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| DbError::Open {
            path: path.to_owned(),
            detail: "the path is not valid UTF-8".into(),
        })
}

/// `file:` URI for a read-only open; characters with a meaning in URIs are escaped.
fn read_only_uri(path: &Path) -> Result<String, DbError> {
    let mut uri = String::from("file:");
    for ch in path_str(path)?.chars() {
        match ch {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            _ => uri.push(ch),
        }
    }
    uri.push_str("?mode=ro");
    Ok(uri)
}

/// An exclusive advisory lock on `<database>.lock`, held for as long as this value lives:
/// by the running bot and by every command that changes the database, so that two
/// processes never migrate, restore or serve the same file at once. The lock file itself is
/// left in place (removing it would race with a process about to lock it).
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    path: PathBuf,
}

impl DatabaseLock {
    pub fn acquire(db_path: &Path) -> Result<Self, DbError> {
        let path = lock_path(db_path);
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(folder).map_err(DbError::io(format!(
                "cannot create folder {}",
                folder.display()
            )))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(DbError::io(format!(
                "cannot open lock file {}",
                path.display()
            )))?;
        // A holder that goes away at once (a process forked by this one, which shares the lock
        // until it execs) is waited for briefly; a running bot or migration is not.
        let deadline = std::time::Instant::now() + LOCK_PATIENCE;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file, path }),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(DbError::Locked {
                        db: db_path.to_owned(),
                        lock: path,
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(DbError::io(format!("cannot lock {}", path.display()))(e));
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}
