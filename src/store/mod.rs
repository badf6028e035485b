//! Queries per entity, each next to the row struct it returns. Functions take a connection
//! and return `QueryResult` (or a small error enum where a caller must tell cases apart);
//! writes that belong together run in one IMMEDIATE transaction here, never in handlers.

pub mod audit;
pub mod clients;
pub mod dialogues;
pub mod jobs;
pub mod masters;
pub mod members;
pub mod orders;
pub mod outbox;
pub mod plan;
pub mod reports;
pub mod search;
pub mod updates;
pub mod users;
pub mod visits;
