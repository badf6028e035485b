//! The database: connections, the startup sequence, legacy adoption, migrations, backups.

pub mod backup;
pub mod backup_copy;
pub mod connection;
pub mod error;
#[doc(hidden)]
pub mod fault;
pub mod legacy;
pub mod migrations;
pub mod operations;
pub mod pool;
pub mod snapshot;
pub mod sqlite_copy;
pub mod startup;

pub use error::DbError;
