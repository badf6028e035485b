//! The one database connection of the running bot, with the same per-connection settings as
//! the startup connection (foreign keys on, busy timeout); WAL was switched on by startup and
//! persists in the file.
//!
//! One connection, because SQLite writes one at a time anyway: a second writer would only wait
//! in the busy handler, and one connection keeps its page cache warm. Callers await their turn
//! (no thread blocks waiting), then:
//!
//! - [`run`] / [`interact`] run the store call right there on the async worker. An update's
//!   store calls take tens of microseconds; handing each to a blocking thread and back (what a
//!   pool of connections does) cost more than the call itself: measured with
//!   `repair-bot sandbox --load`, most of the bot's CPU per /start went to those thread
//!   hand-offs (futex wake-ups and context switches), not to SQLite.
//! - [`run_long`] hands the connection to the blocking pool, for calls that read whole tables
//!   (reports, lists and searches, the periodic rounds), so that they never hold up a worker.
//! - [`read_alone`] is for the report files, which take up to seconds of reading and writing a
//!   workbook: a read-only connection of their own on the blocking pool (WAL lets it read
//!   beside the bot's writes), so that the bot's connection stays free for everyone meanwhile.

use std::path::Path;
use std::sync::Arc;

use diesel::SqliteConnection;
use tokio::sync::Mutex;

use super::connection;
use super::DbError;

/// Cheap to clone; every clone shares the one connection.
#[derive(Clone)]
pub struct DbPool {
    connection: Arc<Mutex<SqliteConnection>>,
}

/// Errors of one database call.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("database call failed: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Opens the bot's connection to the database at `path` (already prepared by startup).
pub fn build(path: &Path) -> Result<DbPool, DbError> {
    let connection = connection::open(path)?;
    Ok(DbPool {
        connection: Arc::new(Mutex::new(connection)),
    })
}

/// Runs a quick store call on the connection, here on the async worker.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, PoolError>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, diesel::result::Error>,
{
    let mut connection = pool.connection.lock().await;
    Ok(work(&mut connection)?)
}

/// [`run`] for store functions that tell several outcomes apart: their own result type comes
/// back untouched.
pub async fn interact<T, E, F>(pool: &DbPool, work: F) -> Result<Result<T, E>, PoolError>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, E>,
{
    let mut connection = pool.connection.lock().await;
    Ok(work(&mut connection))
}

/// Runs a store call that may take long (it reads whole tables) on the blocking pool.
pub async fn run_long<T, F>(pool: &DbPool, work: F) -> Result<T, PoolError>
where
    T: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<T, diesel::result::Error> + Send + 'static,
{
    let mut connection = Arc::clone(&pool.connection).lock_owned().await;
    tokio::task::spawn_blocking(move || work(&mut connection))
        .await
        .map_err(|e| PoolError::Pool(e.to_string()))?
        .map_err(PoolError::Query)
}

/// Runs a long read on a read-only connection of its own, opened for it on the blocking pool:
/// the bot's one connection is not held meanwhile. `path` is the bot's database.
pub async fn read_alone<T, F>(path: &Path, work: F) -> Result<T, PoolError>
where
    T: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<T, diesel::result::Error> + Send + 'static,
{
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut connection =
            connection::open_read_only(&path).map_err(|e| PoolError::Pool(e.to_string()))?;
        work(&mut connection).map_err(PoolError::Query)
    })
    .await
    .map_err(|e| PoolError::Pool(e.to_string()))?
}
