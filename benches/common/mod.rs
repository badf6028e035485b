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
