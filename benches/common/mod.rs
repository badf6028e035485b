//! What the benchmarks that measure a fresh process share: settings from the environment and
//! the figures of /proc/self/status.

use std::time::Duration;

/// An integer setting, `default` when unset; a value that is not a number stops the bench.
pub fn env_number(name: &str, default: i64) -> i64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A figure of /proc/self/status in MB (0 where there is none).
pub fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Runs `work` once, then `repeats` more times: the first run's time and result, and the
/// median and slowest of the others.
pub fn timed<T>(repeats: usize, mut work: impl FnMut() -> T) -> (Duration, T, Duration, Duration) {
    let run = |work: &mut dyn FnMut() -> T| {
        let started = std::time::Instant::now();
        let result = work();
        (started.elapsed(), result)
    };
    let (first, result) = run(&mut work);
    let mut times: Vec<Duration> = (0..repeats.max(1)).map(|_| run(&mut work).0).collect();
    times.sort();
    (
        first,
        result,
        times[times.len() / 2],
        times[times.len() - 1],
    )
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Runs this bench's executable again with `child_env=spec` (a fresh process, so its peak RSS
/// is its own), prints what it printed, and tells whether its `figures FIRST MEDIAN SLOWEST
/// PEAK …` line (ms, ms, ms, MB) is within `target_ms` and `target_mb`.
pub fn run_child(child_env: &str, spec: &str, label: &str, target_ms: f64, target_mb: f64) -> bool {
    let output = std::process::Command::new(std::env::current_exe().expect("this bench's path"))
        .env(child_env, spec)
        .output()
        .expect("run the measured process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the measured process failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{stdout}");
    let mut within = false;
    for line in stdout.lines() {
        let Some(figures) = line.strip_prefix("figures ") else {
            continue;
        };
        let values: Vec<f64> = figures.split(' ').filter_map(|v| v.parse().ok()).collect();
        if let [first_ms, median_ms, slowest_ms, peak_mb, ..] = values[..] {
            within = first_ms.max(median_ms).max(slowest_ms) < target_ms && peak_mb < target_mb;
            println!(
                "  {label}: {} (target: under {target_ms:.0} ms and {target_mb:.0} MB)",
                if within {
                    "within target"
                } else {
                    "OVER TARGET"
                }
            );
        }
    }
    within
}

/// A copy of the database BENCH_DATABASE names, prepared (migrated if older than this build) in
/// a scratch folder that goes away with it unless BENCH_KEEP is set.
pub struct BenchCopy {
    pub dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
}

impl BenchCopy {
    /// The copy and its open database; None (after saying why) when BENCH_DATABASE is not set.
    /// `name` names the bench.
    pub fn make(name: &str) -> Option<(BenchCopy, repair_bot::db::startup::PreparedDatabase)> {
        use repair_bot::db::backup::BackupPolicy;
        use repair_bot::db::migrations::Catalog;
        use repair_bot::db::startup::{self, DatabaseSettings};
        use std::time::Instant;

        let Some(source) = std::env::var_os("BENCH_DATABASE").map(std::path::PathBuf::from) else {
            eprintln!(
                "BENCH_DATABASE=FILE is required: a database to copy, e.g. one built by \
                 `BENCH_DATABASE_ONLY=FILE cargo bench --bench database`"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("repair-bot-{name}-"))
            .tempdir()
            .expect("create a temporary folder");
        let db = dir.path().join("bot.db");
        println!("repair-bot {name} benchmark");
        println!("  source:  {}", source.display());
        println!("  scratch: {}", dir.path().display());
        let started = Instant::now();
        std::fs::copy(&source, &db).expect("copy the database");
        println!(
            "copy {:.0} MB: {:.1} s",
            mb(std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)),
            started.elapsed().as_secs_f64()
        );
        let settings = DatabaseSettings {
            path: db.clone(),
            backup: BackupPolicy {
                dir: dir.path().join("backup"),
                keep: 1,
                copy: None,
            },
        };
        let started = Instant::now();
        let prepared = startup::prepare(&settings, &Catalog::embedded()).expect("prepare");
        println!(
            "startup (migrations if any: {}): {:.1} s",
            prepared.report.ran.len(),
            started.elapsed().as_secs_f64()
        );
        Some((BenchCopy { dir, db }, prepared))
    }

    /// Removes the scratch folder, or keeps it when BENCH_KEEP is set.
    pub fn finish(self) {
        if std::env::var_os("BENCH_KEEP").is_some() {
            println!("BENCH_KEEP: kept {}", self.dir.keep().display());
        }
    }
}
