//! `repair-bot sandbox --load`: measured load on the bot process through the fake Bot API.

use std::path::PathBuf;

/// Which workload to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// N new users each sending /start (registration + menu).
    Start,
    /// Dispatchers walking the full order intake (about 9 updates per order).
    Intake,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub workloads: Vec<Workload>,
    /// Simulated users (W1: new users; W2: dispatchers).
    pub users: usize,
    /// How many users act at the same time (closed loop: each waits for the bot's reply).
    pub concurrency: usize,
    /// Orders each dispatcher takes down in W2.
    pub orders_per_user: usize,
    /// An existing database to run against (e.g. one with 1,000,000 orders for startup time).
    pub database: Option<PathBuf>,
}
