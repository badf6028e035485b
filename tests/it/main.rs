//! The integration tests: one crate and one executable, so a change to one test file rebuilds
//! one crate and relinks one binary. Each module is one area; `support` is what they share.
//! Filter by module: `cargo test --test it -- journeys::`.

mod support;

mod adoption;
mod backups;
mod bot_start;
mod cli;
mod fake_telegram;
mod history;
mod journeys;
mod migrations;
mod outbox;
mod reports;
mod sandbox_day;
mod sandbox_load;
mod schema_drift;
mod search;
mod texts;
mod visit_store;
