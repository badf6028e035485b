//! The load report: the figures per workload with the targets next to them, then the checks.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Check, LoadOptions, Outcome};

/// Targets of issue 5.
const CPU_PER_UPDATE_MS: f64 = 0.1;
const P99_MS: f64 = 10.0;
const P99_AT_USERS: usize = 50;
const PEAK_RSS_MB: f64 = 20.0;
const STARTUP_MS: f64 = 50.0;
/// The bot's CPU per update at most this many times the floor's.
const FLOOR_RATIO: f64 = 2.0;

/// Figures about the bot process as a whole.
pub(super) struct Process {
    pub startup: Option<Duration>,
    /// VmHWM when the bot started polling.
    pub peak_rss_at_ready_kb: Option<u64>,
    /// With `wait_idle`: how long after polling started the bot became idle, and VmHWM then.
    pub idle: Option<(Duration, Option<u64>)>,
    pub peak_rss_kb: Option<u64>,
    pub resident: Option<super::Resident>,
    pub bot_cpu_total: Duration,
    pub concurrency: usize,
}

pub(super) fn header(options: &LoadOptions) -> String {
    let mut workloads: Vec<&str> = options.workloads.iter().map(|w| w.name()).collect();
    if options.floor {
        workloads.insert(0, "the floor with W1 start");
    }
    let build = if cfg!(debug_assertions) {
        "debug build: figures not representative"
    } else {
        "release build"
    };
    format!(
        "Load sandbox: repair-bot as a child process against the in-process fake Bot API\n\
         workloads {}; users {}, concurrency {}, orders per dispatcher {}; harness: {build}",
        workloads.join(" + "),
        options.users,
        options.concurrency,
        options.orders_per_user,
    )
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The bot's CPU per update in ms, when measured.
fn cpu_per_update_ms(outcome: &Outcome) -> Option<f64> {
    match outcome.bot_cpu {
        Some(cpu) if outcome.updates > 0 => Some(ms(cpu) / outcome.updates as f64),
        _ => None,
    }
}

/// Context switches per update (voluntary + involuntary), when measured.
fn switches_per_update(outcome: &Outcome) -> Option<f64> {
    match outcome.context_switches {
        Some(switches) if outcome.updates > 0 => {
            Some(switches.total() as f64 / outcome.updates as f64)
        }
        _ => None,
    }
}

/// The column name of a workload's outcome.
fn column(outcome: &Outcome) -> String {
    if outcome.floor {
        format!("floor: {}", outcome.workload.name())
    } else {
        outcome.workload.name().to_string()
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "ok"
    } else {
        "MISSED"
    }
}

struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 0 || c + 1 == row.len() {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
                }
            }
            let _ = writeln!(out, "  {}", line.trim_end());
        }
    }
}

pub(super) fn table(outcomes: &[Outcome], process: &Process) -> String {
    let mut out = String::new();
    let mut table = Table { rows: Vec::new() };
    let mut header = vec![String::new()];
    header.extend(outcomes.iter().map(column));
    header.push("target".into());
    table.row(header);
    let sorted: Vec<Vec<Duration>> = outcomes
        .iter()
        .map(|o| {
            let mut l = o.latencies.clone();
            l.sort();
            l
        })
        .collect();
    let row = |label: &str, cell: &dyn Fn(usize, &Outcome) -> String, target: &str| {
        let mut cells = vec![label.to_string()];
        cells.extend(outcomes.iter().enumerate().map(|(i, o)| cell(i, o)));
        cells.push(target.to_string());
        cells
    };
    table.row(row(
        "users / updates sent",
        &|_, o| format!("{} / {}", o.users, o.updates),
        "",
    ));
    table.row(row(
        "wall time",
        &|_, o| format!("{:.2} s", o.wall.as_secs_f64()),
        "",
    ));
    table.row(row(
        "throughput",
        &|_, o| {
            format!(
                "{:.0} updates/s",
                o.updates as f64 / o.wall.as_secs_f64().max(1e-9)
            )
        },
        "",
    ));
    for (label, p) in [
        ("reply latency p50", 50.0),
        ("reply latency p95", 95.0),
        ("reply latency p99", 99.0),
        ("reply latency max", 100.0),
    ] {
        let is_p99 = p == 99.0;
        let target = if is_p99 {
            format!("<= {P99_MS} ms at {P99_AT_USERS} users")
        } else {
            String::new()
        };
        table.row(row(
            label,
            &|i, _| match percentile(&sorted[i], p) {
                Some(d) if is_p99 && process.concurrency == P99_AT_USERS => {
                    format!("{:.2} ms {}", ms(d), verdict(ms(d) <= P99_MS))
                }
                Some(d) => format!("{:.2} ms", ms(d)),
                None => "-".into(),
            },
            &target,
        ));
    }
    table.row(row(
        "bot CPU (user+sys)",
        &|_, o| match o.bot_cpu {
            Some(cpu) => format!("{:.2} s", cpu.as_secs_f64()),
            None => "-".into(),
        },
        "",
    ));
    table.row(row(
        "bot CPU per update",
        &|_, o| match cpu_per_update_ms(o) {
            Some(per) => format!("{per:.3} ms {}", verdict(per <= CPU_PER_UPDATE_MS)),
            None => "-".into(),
        },
        &format!("<= {CPU_PER_UPDATE_MS} ms"),
    ));
    let floor = outcomes
        .iter()
        .find(|o| o.floor)
        .and_then(cpu_per_update_ms);
    if let Some(floor) = floor {
        table.row(row(
            "  bot / floor (CPU per update)",
            &|_, o| match cpu_per_update_ms(o) {
                Some(per) if !o.floor && floor > 0.0 => {
                    let ratio = per / floor;
                    format!("{ratio:.2}x {}", verdict(ratio <= FLOOR_RATIO))
                }
                _ => "-".into(),
            },
            &format!("<= {FLOOR_RATIO}x the floor's W1"),
        ));
    }
    table.row(row(
        "bot context switches per update",
        &|_, o| match (switches_per_update(o), o.context_switches) {
            (Some(per), Some(switches)) => {
                let ended = match switches.threads_ended {
                    0 => String::new(),
                    n => format!(", {n} threads ended uncounted"),
                };
                format!(
                    "{per:.2} ({} vol + {} invol{ended})",
                    switches.voluntary, switches.involuntary
                )
            }
            _ => "-".into(),
        },
        "(all threads)",
    ));
    table.row(row(
        "load generator + fake API CPU",
        &|_, o| format!("{:.2} s", o.own_cpu.as_secs_f64()),
        "(this process, not the bot)",
    ));
    table.row(row("bot messages sent", &|_, o| o.bot_sent.to_string(), ""));
    table.row(row(
        "  of them new-order notifications",
        &|_, o| o.notifications.to_string(),
        "",
    ));
    table.row(row(
        "bot peak RSS after the workload",
        &|_, o| match o.bot_peak_rss_kb {
            Some(kb) => format!("{:.1} MB", kb as f64 / 1024.0),
            None => "-".into(),
        },
        "",
    ));
    table.row(row("failed steps", &|_, o| o.failed_steps.to_string(), "0"));
    let _ = writeln!(out, "\nPer workload (latency: update handed out by getUpdates -> first bot message in that chat; CPU includes the work the updates caused until the bot went quiet):");
    table.render(&mut out);

    let mut table = Table { rows: Vec::new() };
    table.row(vec!["".into(), "bot process".into(), "target".into()]);
    table.row(vec![
        "startup (process start -> first getUpdates)".into(),
        match process.startup {
            Some(d) => format!("{:.1} ms {}", ms(d), verdict(ms(d) <= STARTUP_MS)),
            None => "-".into(),
        },
        format!("<= {STARTUP_MS} ms"),
    ]);
    table.row(vec![
        "peak RSS (VmHWM) when polling started".into(),
        match process.peak_rss_at_ready_kb {
            Some(kb) => format!("{:.1} MB", mb(kb)),
            None => "-".into(),
        },
        String::new(),
    ]);
    if let Some((waited, peak)) = process.idle {
        table.row(vec![
            "peak RSS (VmHWM) once idle after startup".into(),
            match peak {
                Some(kb) => format!("{:.1} MB", mb(kb)),
                None => "-".into(),
            },
            format!("(idle {:.1} s after polling started)", waited.as_secs_f64()),
        ]);
    }
    table.row(vec![
        "peak RSS (VmHWM)".into(),
        match process.peak_rss_kb {
            Some(kb) => {
                let mb = kb as f64 / 1024.0;
                format!("{mb:.1} MB {}", verdict(mb <= PEAK_RSS_MB))
            }
            None => "-".into(),
        },
        format!("<= {PEAK_RSS_MB} MB"),
    ]);
    if let Some(r) = process.resident {
        table.row(vec![
            "resident at the end: anon / file-backed".into(),
            format!(
                "{:.1} MB / {:.1} MB",
                r.anon_kb as f64 / 1024.0,
                r.file_kb as f64 / 1024.0
            ),
            format!("({} threads)", r.threads),
        ]);
    }
    table.row(vec![
        "CPU over the whole run (user+sys)".into(),
        format!("{:.2} s", process.bot_cpu_total.as_secs_f64()),
        String::new(),
    ]);
    let _ = writeln!(out, "\nThe bot process:");
    table.render(&mut out);

    let failures: Vec<(&str, &String)> = outcomes
        .iter()
        .flat_map(|o| o.failures.iter().map(move |f| (o.workload.name(), f)))
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFailed steps (first few):");
        for (workload, failure) in failures {
            let _ = writeln!(out, "  {workload}: {failure}");
        }
    }
    out
}

/// The figures of each column as `figures <who>-<workload> key=value ...` lines (ms, MB), and
/// one `figures bot-process ...` line, for scripts (benches/bot-figures.sh); "-" where a
/// figure is unknown.
pub(super) fn figures(outcomes: &[Outcome], process: &Process) -> String {
    let number = |value: Option<f64>, decimals: usize| match value {
        Some(v) => format!("{v:.decimals$}"),
        None => "-".into(),
    };
    let mut out = String::new();
    for outcome in outcomes {
        let mut latencies = outcome.latencies.clone();
        latencies.sort();
        let _ = writeln!(
            out,
            "figures {}-{} updates={} failed={} cpu_ms_per_update={} p99_ms={} peak_rss_mb={} \
             csw_per_update={}",
            if outcome.floor { "floor" } else { "bot" },
            match outcome.workload {
                super::Workload::Start => "start",
                super::Workload::Intake => "intake",
            },
            outcome.updates,
            outcome.failed_steps,
            number(cpu_per_update_ms(outcome), 4),
            number(percentile(&latencies, 99.0).map(ms), 2),
            number(outcome.bot_peak_rss_kb.map(mb), 1),
            number(switches_per_update(outcome), 2),
        );
    }
    let _ = write!(
        out,
        "figures bot-process startup_ms={} peak_rss_at_ready_mb={} idle_after_ms={} \
         peak_rss_idle_mb={} peak_rss_mb={}",
        number(process.startup.map(ms), 1),
        number(process.peak_rss_at_ready_kb.map(mb), 1),
        number(process.idle.map(|(waited, _)| ms(waited)), 0),
        number(process.idle.and_then(|(_, kb)| kb).map(mb), 1),
        number(process.peak_rss_kb.map(mb), 1),
    );
    out
}

pub(super) fn checks(checks: &[Check]) -> String {
    let mut out = String::from("Checks:\n");
    for check in checks {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "  [{mark}] {}", check.what);
    }
    let passed = checks.iter().all(|c| c.ok);
    let _ = write!(
        out,
        "{}",
        if passed {
            "All checks held."
        } else {
            "Some checks FAILED."
        }
    );
    out
}
