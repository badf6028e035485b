//! The connection pool the running bot uses. Every connection gets the same per-connection
//! settings as the startup connection (foreign keys on, busy timeout); WAL was switched on
//! by startup and persists in the file.

use std::path::Path;

use deadpool_diesel::sqlite::{Hook, HookError, Manager, Pool, Runtime};
use diesel::SqliteConnection;

use super::connection::configure;
use super::DbError;

pub type DbPool = Pool;

/// Errors of one pooled database call.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("database pool: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
}

pub fn build(path: &Path, max_size: usize) -> Result<DbPool, DbError> {
    let url = path.to_str().ok_or_else(|| DbError::Open {
        path: path.to_owned(),
        detail: "the path is not valid UTF-8".into(),
    })?;
    let manager = Manager::new(url, Runtime::Tokio1);
    Pool::builder(manager)
        .max_size(max_size)
        .post_create(Hook::async_fn(|connection, _| {
            Box::pin(async move {
                connection
                    .interact(configure)
                    .await
                    .map_err(|e| HookError::message(e.to_string()))?
                    .map_err(|e| HookError::message(e.to_string()))
            })
        }))
        .build()
        .map_err(|e| DbError::Open {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

/// Runs `work` on a pooled connection in the blocking thread pool.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, PoolError>
where
    T: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<T, diesel::result::Error> + Send + 'static,
{
    interact(pool, work).await?.map_err(PoolError::Query)
}

/// Runs `work` on a pooled connection and hands back its own result type untouched (for
/// store functions that tell several outcomes apart); only pool trouble is a `PoolError`.
pub async fn interact<T, E, F>(pool: &DbPool, work: F) -> Result<Result<T, E>, PoolError>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&mut SqliteConnection) -> Result<T, E> + Send + 'static,
{
    let connection = pool
        .get()
        .await
        .map_err(|e| PoolError::Pool(e.to_string()))?;
    connection
        .interact(work)
        .await
        .map_err(|e| PoolError::Pool(e.to_string()))
}
