//! The bot's configuration from the environment (SPEC part 3). Each variable has a default in
//! `.env.example`; an invalid value stops the start with an error naming it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::str::FromStr;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta};
use chrono_tz::Tz;

use crate::config::{var, ConfigError};
use crate::domain::ids::TelegramId;
use crate::domain::money::{Kopecks, PayRules, SharePolicy};
use crate::domain::validation::EQUIPMENT_TYPES;
use crate::health::Limits;
use crate::store::members::EnvRoles;

use super::outbox::SendLimits;
use super::rate_limit::RateLimit;

#[derive(Debug, Clone)]
pub struct BotConfig {
    pub token: String,
    pub api_url: Option<url::Url>,
    pub env_roles: EnvRoles,
    pub timezone: Tz,
    /// How a closed order's money is split, and what closing and long repair ask.
    pub pay: PayRules,
    /// Tell the other dispatchers and admins about a new order.
    pub notify_staff_on_new_order: bool,
    pub reminders: ReminderPolicy,
    pub sla: SlaPolicy,
    pub quiet_hours: Option<QuietHours>,
    /// Local time of the daily backup; None disables it.
    pub backup_at: Option<NaiveTime>,
    /// Local time of the daily summary to admins and dispatchers; None disables it.
    pub summary_at: Option<NaiveTime>,
    /// When the financial reports and the masters' statements go out on their own.
    pub reports: ReportSchedule,
    /// How fast the outbox may send (Telegram's limits unless a test says otherwise).
    pub send_limits: SendLimits,
    /// What `/healthz` holds the bot to (the same as `repair-bot health`).
    pub health: Limits,
    /// Where `/healthz` and `/metrics` are served; None: nowhere.
    pub metrics_addr: Option<SocketAddr>,
    /// Updates by webhook instead of polling (`WEBHOOK_URL`); None: polling.
    pub webhook: Option<super::webhook::Webhook>,
    /// How many updates of one person are handled in a window; None: no limit.
    pub rate_limit: Option<RateLimit>,
    /// How long before a visit its master is reminded (once); None disables the reminder.
    pub visit_reminder: Option<TimeDelta>,
    /// An order closed this recently is flagged as a possible warranty case when its client
    /// calls again.
    pub warranty: TimeDelta,
}

/// First reminder `first` after the assignment, then each gap twice the one before it
/// (15, 15, 30, 60 min: on time that is 15, 30, 60, 120 min after assignment), at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderPolicy {
    pub first: TimeDelta,
    pub max: u32,
}

impl ReminderPolicy {
    /// How long after the reminder clock (the last reminder, or the assignment before the
    /// first) the next reminder is due once `sent` were sent; None when no more are due.
    /// Counting from the last reminder, not the assignment, is what keeps an order assigned
    /// long ago from getting all its reminders in consecutive ticks.
    pub fn wait_after(&self, sent: u32) -> Option<TimeDelta> {
        if sent >= self.max {
            return None;
        }
        let doublings = sent.saturating_sub(1);
        let factor = 2i32.checked_pow(doublings)?;
        self.first.checked_mul(factor)
    }

    /// For each count of reminders sent (0, 1, ...), the latest reminder clock at which the
    /// next one is due at `now`. Stops at the first gap too long to reach: every later one
    /// is longer still.
    pub fn cutoffs(&self, now: NaiveDateTime) -> Vec<NaiveDateTime> {
        (0..self.max)
            .map_while(|sent| {
                self.wait_after(sent)
                    .and_then(|wait| now.checked_sub_signed(wait))
            })
            .collect()
    }
}

/// How long an order may stay in each open status before admins are alerted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub new: TimeDelta,
    pub assigned: TimeDelta,
    pub accepted: TimeDelta,
    pub onsite: TimeDelta,
}

/// Local times of the scheduled reports (`bot::scheduled_reports`); None: that one is off.
/// `Default` is all off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportSchedule {
    /// Every day: yesterday's report to admins.
    pub daily: Option<NaiveTime>,
    /// Mondays: last week's report to admins.
    pub weekly: Option<NaiveTime>,
    /// The 1st of the month: last month's report to admins.
    pub monthly: Option<NaiveTime>,
    /// The 1st of the month: each master's statement for last month, to him.
    pub statements: Option<NaiveTime>,
}

/// Local hours when nothing but direct answers is sent; notifications wait until the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn contains(&self, local: NaiveTime) -> bool {
        if self.start <= self.end {
            local >= self.start && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

impl BotConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let token = var("BOT_TOKEN")
            .or_else(|| var("TELOXIDE_TOKEN"))
            .ok_or(ConfigError {
                variable: "BOT_TOKEN",
                problem: "is not set: put the token from @BotFather into .env (see .env.example)"
                    .into(),
            })?;
        let api_url = parsed::<url::Url>("TELOXIDE_API_URL", None)?;
        let pay = pay_rules()?;
        Ok(Self {
            token,
            api_url,
            env_roles: EnvRoles {
                admins: ids("ADMIN_IDS")?,
                dispatchers: ids("DISPATCHER_IDS")?,
            },
            timezone: parsed("TIMEZONE", Some(chrono_tz::Europe::Moscow))?
                .unwrap_or(chrono_tz::Europe::Moscow),
            pay,
            notify_staff_on_new_order: flag("NOTIFY_STAFF_ON_NEW_ORDER", true)?,
            reminders: ReminderPolicy {
                first: minutes("REMINDER_FIRST_MINUTES", 15)?,
                max: parsed("REMINDER_MAX_COUNT", Some(4))?.unwrap_or(4),
            },
            sla: SlaPolicy {
                new: minutes("SLA_NEW_MINUTES", 120)?,
                assigned: minutes("SLA_ASSIGNED_MINUTES", 240)?,
                accepted: minutes("SLA_ACCEPTED_MINUTES", 480)?,
                onsite: minutes("SLA_ONSITE_MINUTES", 720)?,
            },
            quiet_hours: quiet_hours()?,
            backup_at: time_or_off("BACKUP_TIME", "03:00")?,
            summary_at: time_or_off("DAILY_SUMMARY_TIME", "20:00")?,
            reports: ReportSchedule {
                daily: time_or_off("REPORT_DAILY_TIME", "09:00")?,
                weekly: time_or_off("REPORT_WEEKLY_TIME", "09:00")?,
                monthly: time_or_off("REPORT_MONTHLY_TIME", "09:00")?,
                statements: time_or_off("MASTER_STATEMENT_TIME", "10:00")?,
            },
            send_limits: SendLimits::default(),
            health: crate::config::health_limits()?,
            metrics_addr: crate::config::metrics_addr()?,
            webhook: webhook()?,
            rate_limit: rate_limit()?,
            visit_reminder: match var("VISIT_REMINDER_MINUTES").as_deref() {
                Some("off") => None,
                _ => Some(minutes("VISIT_REMINDER_MINUTES", 120)?),
            },
            warranty: TimeDelta::days(days("WARRANTY_DAYS", 90)?),
        })
    }
}

/// The pay rules (SPEC 2.3 and the company's rules), each with its default.
fn pay_rules() -> Result<PayRules, ConfigError> {
    let defaults = PayRules::default();
    let shares = SharePolicy {
        threshold: Kopecks::from_rubles(
            parsed(
                "SHARE_THRESHOLD_RUB",
                Some(defaults.shares.threshold.0 / 100),
            )?
            .unwrap_or_default(),
        ),
        high_percent: percent("SHARE_HIGH_PERCENT", defaults.shares.high_percent)?,
        low_percent: percent("SHARE_LOW_PERCENT", defaults.shares.low_percent)?,
        review_bonus_percent: percent(
            "REVIEW_BONUS_PERCENT",
            defaults.shares.review_bonus_percent,
        )?,
        review_bonus_enabled: flag("REVIEW_BONUS_ENABLED", defaults.shares.review_bonus_enabled)?,
    };
    let pay = PayRules {
        shares,
        equipment_percent: equipment_percent("EQUIPMENT_MASTER_PERCENT")?,
        out_of_city_bonus_percent: percent(
            "OUT_OF_CITY_BONUS_PERCENT",
            defaults.out_of_city_bonus_percent,
        )?,
        senior_floor_percent: percent("SENIOR_MASTER_MIN_PERCENT", defaults.senior_floor_percent)?,
        ask_payment: flag("ASK_PAYMENT_METHOD", defaults.ask_payment)?,
        ask_prepayment: flag("ASK_PREPAYMENT", defaults.ask_prepayment)?,
    };
    pay.validate().map_err(|e| ConfigError {
        variable: "SHARE_HIGH_PERCENT",
        problem: format!(
            "with the bonuses and rates (REVIEW_BONUS_PERCENT, OUT_OF_CITY_BONUS_PERCENT, \
             EQUIPMENT_MASTER_PERCENT, SENIOR_MASTER_MIN_PERCENT) gives an impossible split: {e}"
        ),
    })?;
    Ok(pay)
}

/// "Холодильники=45; Кофемашины=50": the master's base percent for these equipment types.
fn equipment_percent(name: &'static str) -> Result<Vec<(String, u32)>, ConfigError> {
    let Some(raw) = var(name) else {
        return Ok(Vec::new());
    };
    let problem = |problem: String| ConfigError {
        variable: name,
        problem,
    };
    let mut rates = Vec::new();
    for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, value) = part.split_once('=').ok_or_else(|| {
            problem(format!(
                "must look like \"Холодильники=45; Кофемашины=50\", got {part:?}"
            ))
        })?;
        let kind = kind.trim();
        let known = EQUIPMENT_TYPES
            .iter()
            .find(|known| known.to_lowercase() == kind.to_lowercase())
            .ok_or_else(|| {
                problem(format!(
                    "names {kind:?}, which is not an equipment type (one of: {})",
                    EQUIPMENT_TYPES.join(", ")
                ))
            })?;
        let percent: u32 = value
            .trim()
            .parse()
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                problem(format!(
                    "percent for {kind:?} must be 0..100, got {value:?}"
                ))
            })?;
        rates.push((known.to_string(), percent));
    }
    Ok(rates)
}

fn parsed<T: FromStr>(name: &'static str, default: Option<T>) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.parse().map(Some).map_err(|e| ConfigError {
            variable: name,
            problem: format!("has an invalid value {raw:?}: {e}"),
        }),
    }
}

fn percent(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    let value = parsed(name, Some(default))?.unwrap_or(default);
    if value > 100 {
        return Err(ConfigError {
            variable: name,
            problem: format!("must be 0..100, got {value}"),
        });
    }
    Ok(value)
}

fn minutes(name: &'static str, default: i64) -> Result<TimeDelta, ConfigError> {
    let value: i64 = parsed(name, Some(default))?.unwrap_or(default);
    if value <= 0 {
        return Err(ConfigError {
            variable: name,
            problem: format!("must be a positive number of minutes, got {value}"),
        });
    }
    Ok(TimeDelta::minutes(value))
}

fn days(name: &'static str, default: i64) -> Result<i64, ConfigError> {
    let value: i64 = parsed(name, Some(default))?.unwrap_or(default);
    if !(0..=3650).contains(&value) {
        return Err(ConfigError {
            variable: name,
            problem: format!("must be a number of days from 0 to 3650, got {value}"),
        });
    }
    Ok(value)
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(ConfigError {
            variable: name,
            problem: format!("must be true or false, got {v:?}"),
        }),
    }
}

fn time(name: &'static str, default: &str) -> Result<NaiveTime, ConfigError> {
    let raw = var(name).unwrap_or_else(|| default.to_string());
    NaiveTime::parse_from_str(&raw, "%H:%M").map_err(|_| ConfigError {
        variable: name,
        problem: format!("must be a local time like 03:00 (or off), got {raw:?}"),
    })
}

/// WEBHOOK_URL (https) with WEBHOOK_SECRET (required with it) and WEBHOOK_LISTEN.
fn webhook() -> Result<Option<super::webhook::Webhook>, ConfigError> {
    let Some(raw) = var("WEBHOOK_URL").filter(|raw| raw != "off") else {
        return Ok(None);
    };
    let url: url::Url = raw.parse().map_err(|e| ConfigError {
        variable: "WEBHOOK_URL",
        problem: format!(
            "must be an address like https://bot.example.com/telegram, got {raw:?}: {e}"
        ),
    })?;
    if url.scheme() != "https" {
        return Err(ConfigError {
            variable: "WEBHOOK_URL",
            problem: format!(
                "must start with https:// (Telegram sends webhooks over HTTPS only), got {raw:?}"
            ),
        });
    }
    let secret = var("WEBHOOK_SECRET").unwrap_or_default();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if secret.is_empty() || secret.len() > 256 || !secret.chars().all(allowed) {
        return Err(ConfigError {
            variable: "WEBHOOK_SECRET",
            problem: "is required with WEBHOOK_URL: 1-256 characters of A-Z, a-z, 0-9, _ and - \
                      (e.g. the output of `openssl rand -hex 32`)"
                .into(),
        });
    }
    let listen = parsed(
        "WEBHOOK_LISTEN",
        Some(SocketAddr::from(([127, 0, 0, 1], 8443))),
    )?
    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443)));
    Ok(Some(super::webhook::Webhook {
        url,
        listen,
        secret,
    }))
}

/// A local time like 03:00, or None for "off".
fn time_or_off(name: &'static str, default: &str) -> Result<Option<NaiveTime>, ConfigError> {
    match var(name).as_deref() {
        Some("off") => Ok(None),
        _ => time(name, default).map(Some),
    }
}

fn quiet_hours() -> Result<Option<QuietHours>, ConfigError> {
    let raw = var("QUIET_HOURS").unwrap_or_else(|| "22:00-08:00".into());
    if raw == "off" {
        return Ok(None);
    }
    let invalid = || ConfigError {
        variable: "QUIET_HOURS",
        problem: format!("must look like 22:00-08:00 (or off), got {raw:?}"),
    };
    let (start, end) = raw.split_once('-').ok_or_else(invalid)?;
    let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").map_err(|_| invalid())?;
    let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").map_err(|_| invalid())?;
    Ok(Some(QuietHours { start, end }))
}

/// RATE_LIMIT_UPDATES per RATE_LIMIT_WINDOW_SECONDS from one person; "off" switches it off.
fn rate_limit() -> Result<Option<RateLimit>, ConfigError> {
    if var("RATE_LIMIT_UPDATES").as_deref() == Some("off") {
        return Ok(None);
    }
    let updates: u32 = parsed("RATE_LIMIT_UPDATES", Some(20))?.unwrap_or(20);
    if updates == 0 {
        return Err(ConfigError {
            variable: "RATE_LIMIT_UPDATES",
            problem: "must be a positive number of updates (or off)".into(),
        });
    }
    let seconds: i64 = parsed("RATE_LIMIT_WINDOW_SECONDS", Some(10))?.unwrap_or(10);
    if !(1..=3600).contains(&seconds) {
        return Err(ConfigError {
            variable: "RATE_LIMIT_WINDOW_SECONDS",
            problem: format!("must be 1..3600 seconds, got {seconds}"),
        });
    }
    Ok(Some(RateLimit {
        updates,
        window: TimeDelta::seconds(seconds),
    }))
}

fn ids(name: &'static str) -> Result<BTreeSet<TelegramId>, ConfigError> {
    let Some(raw) = var(name) else {
        return Ok(BTreeSet::new());
    };
    raw.split([',', ' ', ';'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<TelegramId>().map_err(|_| ConfigError {
                variable: name,
                problem: format!("must be comma-separated Telegram ids, {part:?} is not one"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_back_off_from_the_last_one_and_stop() {
        let policy = ReminderPolicy {
            first: TimeDelta::minutes(15),
            max: 4,
        };
        let waits: Vec<Option<i64>> = (0..5)
            .map(|sent| policy.wait_after(sent).map(|w| w.num_minutes()))
            .collect();
        assert_eq!(waits, vec![Some(15), Some(15), Some(30), Some(60), None]);
        let now = NaiveDateTime::parse_from_str("2026-12-02 10:00", "%Y-%m-%d %H:%M").unwrap();
        let cutoffs: Vec<i64> = policy
            .cutoffs(now)
            .iter()
            .map(|c| (now - *c).num_minutes())
            .collect();
        assert_eq!(cutoffs, vec![15, 15, 30, 60]);
    }

    #[test]
    fn an_unreachable_gap_ends_the_reminders_instead_of_overflowing() {
        let policy = ReminderPolicy {
            first: TimeDelta::minutes(15),
            max: 1000,
        };
        assert_eq!(policy.wait_after(32), None);
        let now = NaiveDateTime::parse_from_str("2026-12-02 10:00", "%Y-%m-%d %H:%M").unwrap();
        let cutoffs = policy.cutoffs(now);
        assert!(cutoffs.len() < 40, "{}", cutoffs.len());
        assert!(cutoffs.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn quiet_hours_across_midnight() {
        let quiet = QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(quiet.contains(at(23, 30)));
        assert!(quiet.contains(at(7, 59)));
        assert!(!quiet.contains(at(8, 0)));
        assert!(!quiet.contains(at(21, 59)));
    }
}
