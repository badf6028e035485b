//! Report periods: a day, a week, a month or a chosen span of dates, taken in the company's
//! time zone (`TIMEZONE`) and turned into the half-open UTC range `[start, end)` that stored
//! timestamps (UTC) are compared with; and when a job at a local time of day, week or month
//! last fell due ([`latest_occurrence`]). Pure: "now" and the zone are arguments.

use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc,
};
use chrono_tz::Tz;

/// A calendar period in the company's time zone. Weeks start on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    /// From the first day to the last day, both included.
    Custom {
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// The local dates of `period` seen on local date `today`: `[first, end)`, `end` excluded.
/// An inverted custom period (`from > to`) is empty: `[from, from)`.
pub fn local_dates(period: Period, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    match period {
        Period::Today => (today, next_day(today)),
        Period::Yesterday => (today.pred_opt().unwrap_or(today), today),
        Period::ThisWeek => {
            let monday = week_start(today);
            (monday, add_days(monday, 7))
        }
        Period::LastWeek => {
            let monday = week_start(today);
            (sub_days(monday, 7), monday)
        }
        Period::ThisMonth => {
            let first = month_start(today);
            (first, add_months(first, 1))
        }
        Period::LastMonth => {
            let first = month_start(today);
            (sub_months(first, 1), first)
        }
        Period::Custom { from, to } if from > to => (from, from),
        Period::Custom { from, to } => (from, next_day(to)),
    }
}

/// The half-open UTC range `[start, end)` of `period` in zone `tz`, as of the instant `now`.
/// Both ends are local midnights converted to UTC, so a timestamp `t` (UTC) belongs to the
/// period exactly when `start <= t < end`, whatever its UTC date says.
pub fn utc_range(period: Period, now: DateTime<Utc>, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
    let today = now.with_timezone(&tz).date_naive();
    let (first, end) = local_dates(period, today);
    (day_start_utc(first, tz), day_start_utc(end, tz))
}

/// The UTC instant at which local date `date` begins in `tz`. Where clocks fall back over
/// midnight, the earlier midnight; where midnight is skipped (a gap, or a whole skipped day as
/// in Samoa on 2011-12-30), the first local time that exists after it.
pub fn day_start_utc(date: NaiveDate, tz: Tz) -> NaiveDateTime {
    local_to_utc(date.and_time(NaiveTime::MIN), tz)
}

/// The UTC instant of local time `local` in `tz`: the earlier one where clocks fall back, the
/// first local time that exists after it where clocks skip it.
fn local_to_utc(local: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    // Offset changes happen on quarter hours, and no gap is longer than a day.
    let step = TimeDelta::minutes(15);
    let mut moment = local;
    for _ in 0..48 * 4 {
        if let Some(instant) = moment.and_local_timezone(tz).earliest() {
            return instant.naive_utc();
        }
        let Some(next) = moment.checked_add_signed(step) else {
            break;
        };
        moment = next;
    }
    // Unreachable for real zones; fall back to reading the local time as UTC.
    local
}

/// The company's local date at the UTC moment `now`.
pub fn local_day(now: NaiveDateTime, tz: Tz) -> NaiveDate {
    now.and_utc().with_timezone(&tz).date_naive()
}

/// How often a scheduled job comes: at a local time on the first day of each day, week
/// (Monday) or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cadence {
    Daily,
    Weekly,
    Monthly,
}

impl Cadence {
    /// The period an occurrence falls in.
    fn current(self) -> Period {
        match self {
            Cadence::Daily => Period::Today,
            Cadence::Weekly => Period::ThisWeek,
            Cadence::Monthly => Period::ThisMonth,
        }
    }

    /// The period before it: what a report of this cadence covers (yesterday, last week,
    /// last month), seen from the occurrence's day.
    pub fn reported(self) -> Period {
        match self {
            Cadence::Daily => Period::Yesterday,
            Cadence::Weekly => Period::LastWeek,
            Cadence::Monthly => Period::LastMonth,
        }
    }
}

/// The latest occurrence of local time `at` (on the first day of a `cadence` period) not after
/// `now`: its local day and its UTC moment. A time the clocks skip that day runs at the first
/// moment after the gap.
pub fn latest_occurrence(
    cadence: Cadence,
    at: NaiveTime,
    now: NaiveDateTime,
    tz: Tz,
) -> Option<(NaiveDate, NaiveDateTime)> {
    let today = local_day(now, tz);
    [cadence.current(), cadence.reported()]
        .into_iter()
        .map(|period| local_dates(period, today).0)
        .map(|day| (day, local_to_utc(day.and_time(at), tz)))
        .find(|(_, moment)| *moment <= now)
}

/// Reads a chosen period as people type it: "01.11.2026-15.11.2026", with spaces around the
/// dash, an en dash "–" or an em dash "—". Days and months may have one digit; the year has
/// four, so "01.11.26" (year 26) is refused rather than silently read. Both dates are
/// included; `from > to` is refused.
pub fn parse_custom(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let mut parts = text.trim().split(['-', '–', '—']);
    let from = parse_date(parts.next()?)?;
    let to = parse_date(parts.next()?)?;
    if parts.next().is_some() || from > to {
        return None;
    }
    Some((from, to))
}

/// "DD.MM.YYYY" (day and month with one or two digits), surrounding spaces allowed.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut fields = text.trim().split('.');
    let day = number(fields.next()?, 1..=2)?;
    let month = number(fields.next()?, 1..=2)?;
    let year = number(fields.next()?, 4..=4)?;
    if fields.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// A coming day as people type it: "20.12" (the next 20 December from `today` on) or
/// "20.12.2026" / "20.12.26"; a day before `today` is refused.
pub fn parse_day_from(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let fields: Vec<&str> = text.trim().split(['.', '/']).collect();
    let day = number(fields.first()?.trim(), 1..=2)?;
    let month = number(fields.get(1)?.trim(), 1..=2)?;
    let date = match fields.get(2) {
        None => {
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
            if this_year >= today {
                this_year
            } else {
                NaiveDate::from_ymd_opt(today.year() + 1, month, day)?
            }
        }
        Some(year) if fields.len() == 3 => {
            let year = year.trim();
            let year = match year.len() {
                2 => 2000 + number(year, 2..=2)?,
                _ => number(year, 4..=4)?,
            };
            NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        }
        Some(_) => return None,
    };
    (date >= today).then_some(date)
}

fn number(field: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u32> {
    if !digits.contains(&field.len()) || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

fn week_start(date: NaiveDate) -> NaiveDate {
    sub_days(date, u64::from(date.weekday().num_days_from_monday()))
}

fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

// Date arithmetic saturates at chrono's limits (years around ±262 000) instead of panicking.

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

fn add_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(date)
}

fn sub_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(days)).unwrap_or(date)
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(date)
}

fn sub_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(months)).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Moscow;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn naive(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        utc(y, m, d, h, min).naive_utc()
    }

    /// A Moscow wall-clock time as the UTC timestamp the database stores.
    fn msk(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        Moscow
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .naive_utc()
    }

    fn contains(range: (NaiveDateTime, NaiveDateTime), t: NaiveDateTime) -> bool {
        range.0 <= t && t < range.1
    }

    #[test]
    fn month_boundary_follows_local_time_not_the_utc_date() {
        // 23:30 MSK on 30 Nov is 20:30 UTC the same day; 00:10 MSK on 1 Dec is 21:10 UTC on 30 Nov.
        let late = msk(2026, 11, 30, 23, 30);
        let early = msk(2026, 12, 1, 0, 10);
        assert_eq!(late, naive(2026, 11, 30, 20, 30));
        assert_eq!(early, naive(2026, 11, 30, 21, 10));

        let in_november = utc(2026, 11, 15, 9, 0);
        let november = utc_range(Period::ThisMonth, in_november, Moscow);
        assert_eq!(
            november,
            (naive(2026, 10, 31, 21, 0), naive(2026, 11, 30, 21, 0))
        );
        assert!(contains(november, late));
        assert!(!contains(november, early));

        let in_december = utc(2026, 12, 10, 9, 0);
        let last_month = utc_range(Period::LastMonth, in_december, Moscow);
        assert_eq!(last_month, november);
        let december = utc_range(Period::ThisMonth, in_december, Moscow);
        assert!(contains(december, early));
        assert!(!contains(december, late));
        assert_eq!(december.0, november.1, "consecutive months meet exactly");
    }

    #[test]
    fn this_month_is_read_on_the_local_date() {
        // 22:00 UTC on 30 Nov is already 1 Dec in Moscow: "this month" is December.
        let now = utc(2026, 11, 30, 22, 0);
        assert_eq!(
            utc_range(Period::ThisMonth, now, Moscow),
            (naive(2026, 11, 30, 21, 0), naive(2026, 12, 31, 21, 0))
        );
        assert_eq!(
            utc_range(Period::LastMonth, now, Moscow),
            (naive(2026, 10, 31, 21, 0), naive(2026, 11, 30, 21, 0))
        );
    }

    #[test]
    fn months_across_the_year_and_february() {
        let now = utc(2027, 1, 20, 12, 0);
        assert_eq!(
            utc_range(Period::LastMonth, now, Moscow),
            (naive(2026, 11, 30, 21, 0), naive(2026, 12, 31, 21, 0))
        );
        let leap = utc(2028, 2, 29, 12, 0);
        assert_eq!(
            utc_range(Period::ThisMonth, leap, Moscow),
            (naive(2028, 1, 31, 21, 0), naive(2028, 2, 29, 21, 0))
        );
        let march = utc(2028, 3, 31, 12, 0);
        assert_eq!(
            utc_range(Period::LastMonth, march, Moscow),
            (naive(2028, 1, 31, 21, 0), naive(2028, 2, 29, 21, 0))
        );
    }

    #[test]
    fn today_and_yesterday_around_local_midnight() {
        // 23:59 MSK on 5 Nov (20:59 UTC).
        let before = utc(2026, 11, 5, 20, 59);
        assert_eq!(
            utc_range(Period::Today, before, Moscow),
            (naive(2026, 11, 4, 21, 0), naive(2026, 11, 5, 21, 0))
        );
        assert_eq!(
            utc_range(Period::Yesterday, before, Moscow),
            (naive(2026, 11, 3, 21, 0), naive(2026, 11, 4, 21, 0))
        );
        // 00:01 MSK on 6 Nov (21:01 UTC on 5 Nov): the UTC date is still the 5th.
        let after = utc(2026, 11, 5, 21, 1);
        assert_eq!(
            utc_range(Period::Today, after, Moscow),
            (naive(2026, 11, 5, 21, 0), naive(2026, 11, 6, 21, 0))
        );
        assert_eq!(
            utc_range(Period::Yesterday, after, Moscow),
            utc_range(Period::Today, before, Moscow)
        );
        // Exactly at local midnight the new day has begun.
        let midnight = utc(2026, 11, 5, 21, 0);
        assert_eq!(
            utc_range(Period::Today, midnight, Moscow),
            utc_range(Period::Today, after, Moscow)
        );
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-16 is a Monday, 2026-11-22 a Sunday.
        assert_eq!(date(2026, 11, 16).weekday(), chrono::Weekday::Mon);
        let this_week = (naive(2026, 11, 15, 21, 0), naive(2026, 11, 22, 21, 0));
        let last_week = (naive(2026, 11, 8, 21, 0), naive(2026, 11, 15, 21, 0));
        // Monday 00:05 MSK (Sunday 21:05 UTC), Wednesday, Sunday 23:55 MSK.
        for now in [
            utc(2026, 11, 15, 21, 5),
            utc(2026, 11, 18, 12, 0),
            utc(2026, 11, 22, 20, 55),
        ] {
            assert_eq!(utc_range(Period::ThisWeek, now, Moscow), this_week, "{now}");
            assert_eq!(utc_range(Period::LastWeek, now, Moscow), last_week, "{now}");
        }
        // Sunday 23:55 MSK belongs to this week, Monday 00:05 MSK to the next.
        assert!(contains(this_week, msk(2026, 11, 22, 23, 55)));
        assert!(!contains(this_week, msk(2026, 11, 23, 0, 5)));
        // A week spanning two months and two years.
        let new_year = utc(2026, 12, 31, 12, 0); // Thursday
        assert_eq!(
            utc_range(Period::ThisWeek, new_year, Moscow),
            (naive(2026, 12, 27, 21, 0), naive(2027, 1, 3, 21, 0))
        );
    }

    #[test]
    fn custom_period_includes_its_last_day() {
        let period = Period::Custom {
            from: date(2026, 11, 1),
            to: date(2026, 11, 15),
        };
        let range = utc_range(period, utc(2027, 5, 5, 5, 5), Moscow);
        assert_eq!(
            range,
            (naive(2026, 10, 31, 21, 0), naive(2026, 11, 15, 21, 0))
        );
        assert!(contains(range, msk(2026, 11, 15, 23, 59)));
        assert!(!contains(range, msk(2026, 11, 16, 0, 0)));
        assert!(contains(range, msk(2026, 11, 1, 0, 0)));
        assert!(!contains(range, msk(2026, 10, 31, 23, 59)));

        let one_day = Period::Custom {
            from: date(2026, 11, 5),
            to: date(2026, 11, 5),
        };
        assert_eq!(
            utc_range(one_day, utc(2026, 11, 5, 12, 0), Moscow),
            utc_range(Period::Today, utc(2026, 11, 5, 12, 0), Moscow)
        );
    }

    #[test]
    fn inverted_custom_period_is_empty() {
        let period = Period::Custom {
            from: date(2026, 11, 15),
            to: date(2026, 11, 1),
        };
        let (start, end) = utc_range(period, utc(2026, 11, 20, 0, 0), Moscow);
        assert_eq!(start, end);
    }

    #[test]
    fn other_zones_and_utc() {
        let now = utc(2026, 11, 30, 22, 0);
        assert_eq!(
            utc_range(Period::Today, now, chrono_tz::UTC),
            (naive(2026, 11, 30, 0, 0), naive(2026, 12, 1, 0, 0))
        );
        // Vladivostok is UTC+10: 22:00 UTC on 30 Nov is 08:00 on 1 Dec there.
        assert_eq!(
            utc_range(Period::Today, now, chrono_tz::Asia::Vladivostok),
            (naive(2026, 11, 30, 14, 0), naive(2026, 12, 1, 14, 0))
        );
    }

    #[test]
    fn daylight_saving_days_have_their_real_length() {
        let berlin = chrono_tz::Europe::Berlin;
        // 29 Mar 2026: clocks go 02:00 -> 03:00 CET -> CEST, a 23-hour day.
        let (start, end) = utc_range(Period::Today, utc(2026, 3, 29, 12, 0), berlin);
        assert_eq!(
            (start, end),
            (naive(2026, 3, 28, 23, 0), naive(2026, 3, 29, 22, 0))
        );
        // 25 Oct 2026: a 25-hour day.
        let (start, end) = utc_range(Period::Today, utc(2026, 10, 25, 12, 0), berlin);
        assert_eq!(end - start, TimeDelta::hours(25));
    }

    #[test]
    fn skipped_midnights_start_at_the_first_existing_time() {
        // Samoa skipped 30 Dec 2011 entirely: 29 Dec 23:59 (UTC-10) was followed by
        // 31 Dec 00:00 (UTC+14), i.e. 10:00 UTC on 30 Dec.
        let apia = chrono_tz::Pacific::Apia;
        let skipped = day_start_utc(date(2011, 12, 30), apia);
        let next = day_start_utc(date(2011, 12, 31), apia);
        assert_eq!(skipped, naive(2011, 12, 30, 10, 0));
        assert_eq!(next, skipped);
        // Santiago moves clocks at midnight: 00:00 on 7 Sep 2025 did not exist (-04 -> -03).
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            day_start_utc(date(2025, 9, 7), santiago),
            naive(2025, 9, 7, 4, 0)
        );
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let period = Period::Custom {
            from: NaiveDate::MIN,
            to: NaiveDate::MAX,
        };
        let (start, end) = utc_range(period, utc(2026, 1, 1, 0, 0), Moscow);
        assert!(start < end);
        let _ = local_dates(Period::LastMonth, NaiveDate::MIN);
        let _ = local_dates(Period::ThisWeek, NaiveDate::MAX);
    }

    #[test]
    fn parses_custom_periods_as_typed() {
        let expected = Some((date(2026, 11, 1), date(2026, 11, 15)));
        for text in [
            "01.11.2026-15.11.2026",
            "01.11.2026 - 15.11.2026",
            "01.11.2026–15.11.2026",
            "01.11.2026 – 15.11.2026",
            "01.11.2026 — 15.11.2026",
            "  1.11.2026-15.11.2026\n",
        ] {
            assert_eq!(parse_custom(text), expected, "{text:?}");
        }
        assert_eq!(
            parse_custom("05.11.2026-05.11.2026"),
            Some((date(2026, 11, 5), date(2026, 11, 5)))
        );
        assert_eq!(
            parse_custom("29.02.2028-01.03.2028"),
            Some((date(2028, 2, 29), date(2028, 3, 1)))
        );
    }

    #[test]
    fn refuses_what_is_not_a_period() {
        for text in [
            "",
            "01.11.2026",
            "15.11.2026-01.11.2026",
            "01.11.26-15.11.26",
            "01.11.2026-15.11.2026-20.11.2026",
            "32.11.2026-15.12.2026",
            "29.02.2026-01.03.2026",
            "01.13.2026-15.11.2026",
            "01/11/2026-15/11/2026",
            "2026-11-01",
            "01.11.2026 15.11.2026",
            "01.11.2026-",
            "-15.11.2026",
            "001.11.2026-15.11.2026",
            "+1.11.2026-15.11.2026",
            "01.11.2026..-15.11.2026",
            "вчера",
        ] {
            assert_eq!(parse_custom(text), None, "{text:?}");
        }
    }

    #[test]
    fn parsed_period_feeds_the_range() {
        let (from, to) = parse_custom("30.11.2026 - 30.11.2026").unwrap();
        let range = utc_range(Period::Custom { from, to }, utc(2027, 1, 1, 0, 0), Moscow);
        assert!(contains(range, msk(2026, 11, 30, 23, 30)));
        assert!(!contains(range, msk(2026, 12, 1, 0, 10)));
    }

    #[test]
    fn ready_dates_are_read_from_today_on() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(parse_day_from("20.12", today), date(2026, 12, 20));
        assert_eq!(parse_day_from("04.12", today), date(2026, 12, 4));
        assert_eq!(parse_day_from("10.01", today), date(2027, 1, 10));
        assert_eq!(parse_day_from("10.01.2027", today), date(2027, 1, 10));
        assert_eq!(parse_day_from("10.01.27", today), date(2027, 1, 10));
        assert_eq!(parse_day_from("01.12.2026", today), None);
        assert_eq!(parse_day_from("31.02", today), None);
        assert_eq!(parse_day_from("завтра", today), None);
    }

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    }

    #[test]
    fn the_latest_occurrence_is_this_periods_once_its_time_has_come_else_the_one_before() {
        let latest = |cadence, now| latest_occurrence(cadence, nine(), now, Moscow);
        // Monthly on the 1st at 09:00 local = 06:00 UTC.
        let first_of_december = Some((date(2026, 12, 1), naive(2026, 12, 1, 6, 0)));
        assert_eq!(
            latest(Cadence::Monthly, naive(2026, 12, 1, 6, 0)),
            first_of_december
        );
        assert_eq!(
            latest(Cadence::Monthly, naive(2026, 12, 15, 12, 0)),
            first_of_december
        );
        assert_eq!(
            latest(Cadence::Monthly, naive(2026, 12, 1, 5, 59)),
            Some((date(2026, 11, 1), naive(2026, 11, 1, 6, 0)))
        );
        // Weekly on Mondays: 2026-12-07 is a Monday.
        assert_eq!(
            latest(Cadence::Weekly, naive(2026, 12, 9, 12, 0)),
            Some((date(2026, 12, 7), naive(2026, 12, 7, 6, 0)))
        );
        assert_eq!(
            latest(Cadence::Weekly, naive(2026, 12, 7, 5, 0)),
            Some((date(2026, 11, 30), naive(2026, 11, 30, 6, 0)))
        );
        // Daily: 00:30 local on the 5th is 21:30 UTC on the 4th; the 5th's is still ahead.
        assert_eq!(
            latest(Cadence::Daily, naive(2026, 12, 4, 21, 30)),
            Some((date(2026, 12, 4), naive(2026, 12, 4, 6, 0)))
        );
    }

    #[test]
    fn each_cadence_reports_the_period_that_ended_before_its_day() {
        let period = |cadence: Cadence, run: NaiveDate| {
            let (first, end) = local_dates(cadence.reported(), run);
            (first, end.pred_opt().unwrap())
        };
        assert_eq!(
            period(Cadence::Daily, date(2026, 3, 1)),
            (date(2026, 2, 28), date(2026, 2, 28))
        );
        assert_eq!(
            period(Cadence::Weekly, date(2026, 12, 7)),
            (date(2026, 11, 30), date(2026, 12, 6))
        );
        assert_eq!(
            period(Cadence::Monthly, date(2026, 3, 1)),
            (date(2026, 2, 1), date(2026, 2, 28))
        );
        assert_eq!(
            period(Cadence::Monthly, date(2027, 1, 1)),
            (date(2026, 12, 1), date(2026, 12, 31))
        );
    }
}
