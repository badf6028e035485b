//! The integration tests: one crate and one executable, so a change to one test file rebuilds
//! one crate and relinks one binary. Each module is one area; `support` is what they share.
//! Filter by module: `cargo test --test it -- journeys::`.
//!
//! The modules that drive a bot through the fake Bot API need the `sandbox` feature (on by
//! default); `cargo test --no-default-features --test it` runs the rest against the
//! production build, and checks that it leaves the sandbox out.

mod support;

mod adoption;
mod backup_copy;
mod backups;
mod bot_start;
mod cli;
#[cfg(feature = "sandbox")]
mod fake_telegram;
mod health;
mod history;
#[cfg(feature = "sandbox")]
mod journeys;
#[cfg(feature = "sandbox")]
mod metrics;
mod migrations;
#[cfg(feature = "sandbox")]
mod outbox;
mod reports;
#[cfg(feature = "sandbox")]
mod sandbox_day;
#[cfg(feature = "sandbox")]
mod sandbox_load;
mod schema_drift;
mod search;
mod texts;
mod visit_store;
#[cfg(feature = "sandbox")]
mod webhook;
#[cfg(not(feature = "sandbox"))]
mod without_sandbox;
