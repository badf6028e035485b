//! The arrival time as dispatchers type it in Russian ("завтра в 15:00", "через 2 часа",
//! "20.10 14:00", "в пятницу с 14 до 16") read as a moment, or recognised as an instruction
//! that is not one ("позвонить за час"). Pure: the local "now" is an argument, and the moment
//! comes back as a local wall-clock time; [`to_utc`] places it in the company's zone.
//!
//! How ambiguous input is read (each rule has a test):
//! - Only what names a time of day makes a visit: "завтра" alone, or a date alone, is an
//!   instruction. So is anything contradictory ("завтра в пятницу", "через час в 15:00"),
//!   two times that are not a range ("в 10 или в 14"), and an end without a start ("до 12").
//! - A time without a day is today's, or tomorrow's once today's has passed ("в 9" typed at
//!   18:00 is tomorrow morning). A weekday is the nearest one, today included while its time
//!   is still ahead. "dd.mm" without a year is this year's, or next year's once the date has
//!   passed (a date in December typed about January). An explicit day ("сегодня",
//!   "20.10.2026") is taken as said even when already past: the caller shows it and warns.
//! - A bare hour from 1 to 7 ("в 3", "с 2 до 4") is afternoon: repairs are not done at
//!   night. Minutes ("3:00", "03:00") or a word ("в 3 ночи") keep it as written.
//! - "a.b" is a time when b is 00 or above 12 ("15.00", "14.30"), or after "в"/"с"/"до"
//!   ("в 10.11"), or when a day is already named ("завтра 9.05"); otherwise it is a date
//!   ("20.10 14:00").
//! - "полночь" and "24:00" are the end of the named day: "завтра в полночь" is 00:00 of the
//!   day after tomorrow; "00:00" is the start of the day.
//! - The end of a range before its start is on the next day ("с 22 до 2").

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Weekday};
use chrono_tz::Tz;

use super::status::{Actor, OrderFacts, OrderStatus};

/// A visit understood as a moment, in local wall-clock time: from `at`, until `until` when a
/// range was given (always after `at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub at: NaiveDateTime,
    pub until: Option<NaiveDateTime>,
}

/// What the typed arrival text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Visit(Visit),
    /// Free text that names no moment: kept as typed, no reminder.
    Instruction,
}

impl Arrival {
    pub fn visit(self) -> Option<Visit> {
        match self {
            Arrival::Visit(visit) => Some(visit),
            Arrival::Instruction => None,
        }
    }
}

/// Reads `text` as a visit, with `now_local` the company's local time now.
pub fn parse(text: &str, now_local: NaiveDateTime) -> Arrival {
    let now = now_local
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now_local);
    let tokens = tokenize(text);
    let Some(found) = Reading::read(&tokens) else {
        return Arrival::Instruction;
    };
    found
        .resolve(now)
        .map_or(Arrival::Instruction, Arrival::Visit)
}

/// The UTC moment of a local wall-clock time in `tz`. Where clocks fall back, the earlier of
/// the two; inside a gap (clocks moved forward), the first local time that exists after it.
pub fn to_utc(local: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    let step = TimeDelta::minutes(15);
    let mut probe = local;
    // No real gap is longer than a day.
    for _ in 0..24 * 4 {
        if let Some(instant) = probe.and_local_timezone(tz).earliest() {
            return instant.naive_utc();
        }
        match probe.checked_add_signed(step) {
            Some(next) => probe = next,
            None => break,
        }
    }
    local
}

/// The local wall-clock time in `tz` of a stored UTC moment.
pub fn to_local(utc: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    utc.and_utc().with_timezone(&tz).naive_local()
}

/// Who may move an order's visit (with a reason, counted): staff on any open order; the
/// assigned master on his own order once he has accepted it, or while it waits for parts
/// (the return visit). Not while ASSIGNED (he accepts or declines first) nor ONSITE (he is
/// there already).
pub fn may_reschedule(order: &OrderFacts, actor: &Actor) -> bool {
    if !order.status.is_open() {
        return false;
    }
    if actor.is_staff() {
        return true;
    }
    let his = actor
        .acting_master_id()
        .is_some_and(|id| order.assigned_master_id == Some(id));
    his && matches!(order.status, OrderStatus::Accepted | OrderStatus::Dr)
}

// ----- tokens -----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// Letters, lower case, "ё" read as "е".
    Word(String),
    /// Digits, possibly joined by ':', '.', '/' or ',' ("15:00", "20.10.2026", "1,5").
    Number(Vec<Part>),
    Dash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    /// The separator before this part (None for the first).
    sep: Option<char>,
    value: u32,
    digits: usize,
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let mut parts = Vec::new();
            let mut sep = None;
            loop {
                let start = i;
                let mut value: u32 = 0;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    let digit = chars[i].to_digit(10).unwrap_or(0);
                    value = value.saturating_mul(10).saturating_add(digit);
                    i += 1;
                }
                parts.push(Part {
                    sep,
                    value,
                    digits: i - start,
                });
                let joined = i + 1 < chars.len()
                    && matches!(chars[i], ':' | '.' | '/' | ',')
                    && chars[i + 1].is_ascii_digit();
                if !joined {
                    break;
                }
                sep = Some(chars[i]);
                i += 1;
            }
            tokens.push(Token::Number(parts));
        } else if c.is_alphabetic() {
            let mut word = String::new();
            while i < chars.len() && chars[i].is_alphabetic() {
                for lower in chars[i].to_lowercase() {
                    word.push(if lower == 'ё' { 'е' } else { lower });
                }
                i += 1;
            }
            tokens.push(Token::Word(word));
        } else {
            if matches!(c, '-' | '–' | '—') {
                tokens.push(Token::Dash);
            }
            i += 1;
        }
    }
    tokens
}

// ----- words -----

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "понедельник" | "пн" => Weekday::Mon,
        "вторник" | "вт" => Weekday::Tue,
        "среда" | "среду" | "ср" => Weekday::Wed,
        "четверг" | "чт" => Weekday::Thu,
        "пятница" | "пятницу" | "пт" => Weekday::Fri,
        "суббота" | "субботу" | "сб" => Weekday::Sat,
        "воскресенье" | "вс" => Weekday::Sun,
        _ => return None,
    })
}

fn month(word: &str) -> Option<u32> {
    const GENITIVE: [&str; 12] = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ];
    GENITIVE
        .iter()
        .position(|m| *m == word)
        .map(|i| i as u32 + 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Minutes,
    Hours,
    Days,
    Weeks,
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "м" | "мин" | "минута" | "минуту" | "минуты" | "минут" => {
            Unit::Minutes
        }
        "ч" | "час" | "часа" | "часов" | "часам" => Unit::Hours,
        "день" | "дня" | "дней" | "сутки" | "суток" => Unit::Days,
        "неделю" | "недели" | "недель" => Unit::Weeks,
        _ => return None,
    })
}

/// "утра", "дня", "вечера", "ночи" after an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
    Night,
}

fn part_of_day(word: &str) -> Option<PartOfDay> {
    Some(match word {
        "утра" => PartOfDay::Morning,
        "дня" => PartOfDay::Afternoon,
        "вечера" => PartOfDay::Evening,
        "ночи" => PartOfDay::Night,
        _ => return None,
    })
}

/// What a word before a time says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    /// "в", "к", "около", "после": the moment itself.
    At,
    /// "с", "между", "от": the start of a range.
    From,
    /// "до", "по", a dash, "и" after "между": the end of a range.
    Until,
}

fn lead(word: &str) -> Option<Lead> {
    Some(match word {
        "в" | "во" | "к" | "ко" | "около" | "после" | "примерно" | "ориентировочно" => {
            Lead::At
        }
        "с" | "со" | "между" | "от" => Lead::From,
        "до" | "по" => Lead::Until,
        _ => return None,
    })
}

// ----- reading -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    Offset(u32),
    Weekday(Weekday),
    Date {
        day: u32,
        month: u32,
        year: Option<i32>,
    },
}

/// A time of day as read, before the day is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Clock {
    hour: u32,
    minute: u32,
    /// An hour typed alone ("в 3"): 1..=7 means the afternoon unless a word says otherwise.
    bare: bool,
    /// "полночь", "24:00": the end of the day.
    end_of_day: bool,
}

impl Clock {
    fn new(hour: u32, minute: u32, bare: bool) -> Option<Clock> {
        if hour == 24 && minute == 0 {
            return Some(Clock {
                hour: 0,
                minute: 0,
                bare: false,
                end_of_day: true,
            });
        }
        (hour <= 23 && minute <= 59).then_some(Clock {
            hour,
            minute,
            bare,
            end_of_day: false,
        })
    }

    fn with_part_of_day(self, part: PartOfDay) -> Clock {
        let hour = match (part, self.hour) {
            (PartOfDay::Afternoon, 1..=6) | (PartOfDay::Evening, 1..=11) => self.hour + 12,
            (PartOfDay::Night, 12) => {
                return Clock {
                    hour: 0,
                    minute: self.minute,
                    bare: false,
                    end_of_day: true,
                }
            }
            _ => self.hour,
        };
        Clock {
            hour,
            bare: false,
            ..self
        }
    }

    /// The hour as a start or a lone moment: a bare 1..=7 is the afternoon.
    fn as_start(self) -> Clock {
        if self.bare && (1..=7).contains(&self.hour) {
            Clock {
                hour: self.hour + 12,
                ..self
            }
        } else {
            self
        }
    }

    fn time(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour, self.minute, 0).unwrap_or(NaiveTime::MIN)
    }

    fn minutes(self) -> u32 {
        self.hour * 60 + self.minute
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mention {
    clock: Clock,
    lead: Option<Lead>,
}

/// Everything found in the text, before it is placed on the calendar.
#[derive(Debug, Default)]
struct Reading {
    day: Option<Day>,
    times: Vec<Mention>,
    /// "a.b" that could be a date or a time: decided once the whole text is read.
    undecided: Vec<(u32, u32, Option<Lead>)>,
    /// "через 2 часа": a moment counted from now.
    after: Option<TimeDelta>,
}

impl Reading {
    /// None when the text contradicts itself.
    fn read(tokens: &[Token]) -> Option<Reading> {
        let mut reading = Reading::default();
        let mut pending: Option<Lead> = None;
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                Token::Word(word) => {
                    let word = word.as_str();
                    let mut keep_lead = false;
                    if let Some(found) = lead(word) {
                        pending = Some(found);
                        keep_lead = true;
                    } else if word == "и" && reading.has_open_range() {
                        pending = Some(Lead::Until);
                        keep_lead = true;
                    } else if let Some(day) = match word {
                        "сегодня" => Some(Day::Offset(0)),
                        "завтра" => Some(Day::Offset(1)),
                        "послезавтра" => Some(Day::Offset(2)),
                        _ => weekday(word).map(Day::Weekday),
                    } {
                        reading.set_day(day)?;
                    } else if word == "через" {
                        i += reading.read_after(&tokens[i + 1..])?;
                    } else if word == "за" {
                        // "за час", "за 30 минут": how early to call, not when to come.
                        i += skip_duration(&tokens[i + 1..]);
                    } else if word == "полдень" {
                        reading.push(Clock::new(12, 0, false)?, pending);
                    } else if word == "полночь" {
                        reading.push(Clock::new(24, 0, false)?, pending);
                    } else if let Some(part) = part_of_day(word) {
                        reading.apply_part_of_day(part);
                    }
                    if !keep_lead {
                        pending = None;
                    }
                }
                Token::Dash => {
                    if reading.times.last().is_some() {
                        pending = Some(Lead::Until);
                    }
                }
                Token::Number(parts) => {
                    i += reading.read_number(parts, &tokens[i + 1..], pending)?;
                    pending = None;
                }
            }
            i += 1;
        }
        Some(reading)
    }

    fn has_open_range(&self) -> bool {
        self.times.len() == 1 && self.times[0].lead == Some(Lead::From)
    }

    fn set_day(&mut self, day: Day) -> Option<()> {
        match self.day {
            Some(known) if known != day => None,
            _ => {
                self.day = Some(day);
                Some(())
            }
        }
    }

    fn push(&mut self, clock: Clock, lead: Option<Lead>) {
        self.times.push(Mention { clock, lead });
    }

    fn apply_part_of_day(&mut self, part: PartOfDay) {
        let Some(last) = self.times.last_mut() else {
            return;
        };
        last.clock = last.clock.with_part_of_day(part);
        // "с 2 до 4 дня": the word belongs to the whole range when the start stays before
        // the end with it.
        let end = last.clock;
        if let [start, _] = self.times.as_mut_slice() {
            let shifted = start.clock.with_part_of_day(part);
            if start.clock.bare && shifted.minutes() <= end.minutes() {
                start.clock = shifted;
            }
        }
    }

    /// A number and what follows it; returns how many following tokens it used.
    fn read_number(&mut self, parts: &[Part], rest: &[Token], lead: Option<Lead>) -> Option<usize> {
        let next_word = match rest.first() {
            Some(Token::Word(word)) => Some(word.as_str()),
            _ => None,
        };
        match parts {
            [hour, minute] if minute.sep == Some(':') && minute.digits == 2 => {
                if let Some(clock) = Clock::new(hour.value, minute.value, false) {
                    self.push(clock, lead);
                }
            }
            [day, month] if month.sep == Some('/') => {
                self.set_day(Day::Date {
                    day: day.value,
                    month: month.value,
                    year: None,
                })?;
            }
            [a, b] if b.sep == Some('.') => {
                let surely_time = b.digits == 2 && (b.value == 0 || b.value > 12);
                if surely_time || (lead.is_some() && b.digits == 2) {
                    if let Some(clock) = Clock::new(a.value, b.value, false) {
                        self.push(clock, lead);
                    }
                } else {
                    self.undecided.push((a.value, b.value, lead));
                }
            }
            [day, month, year]
                if matches!(month.sep, Some('.') | Some('/')) && month.sep == year.sep =>
            {
                let year = match year.digits {
                    2 => 2000 + year.value as i32,
                    4 => year.value as i32,
                    _ => return None,
                };
                self.set_day(Day::Date {
                    day: day.value,
                    month: month.value,
                    year: Some(year),
                })?;
            }
            [number] => {
                if let Some(month) = next_word.and_then(month) {
                    self.set_day(Day::Date {
                        day: number.value,
                        month,
                        year: None,
                    })?;
                    return Some(1);
                }
                let hour_word = next_word
                    .is_some_and(|w| unit(w) == Some(Unit::Hours) || part_of_day(w).is_some());
                let starts_range = match rest {
                    [Token::Dash, Token::Number(next), ..] => match next.as_slice() {
                        [hour] => hour.value <= 24,
                        [_, minute] => minute.sep == Some(':'),
                        _ => false,
                    },
                    _ => false,
                };
                if lead.is_some() || hour_word || starts_range {
                    if let Some(clock) = Clock::new(number.value, 0, true) {
                        self.push(clock, lead);
                    }
                    // "в 9 часов": the unit is part of the time.
                    if next_word.is_some_and(|w| unit(w) == Some(Unit::Hours)) {
                        return Some(1);
                    }
                }
            }
            _ => {}
        }
        Some(0)
    }

    /// After "через": a duration ("2 часа", "час", "полчаса", "полтора часа", "пару дней",
    /// "1,5 часа"); returns how many tokens it used (none when "через" is not about time:
    /// "вход через двор"). None when it contradicts a day already named.
    fn read_after(&mut self, rest: &[Token]) -> Option<usize> {
        let Some((minutes, used)) = duration_minutes(rest) else {
            return Some(0);
        };
        match minutes {
            Span::Minutes(m) => {
                self.after = Some(TimeDelta::minutes(m.into()));
            }
            Span::Days(days) => self.set_day(Day::Offset(days))?,
        }
        Some(used)
    }

    /// Places what was read on the calendar.
    fn resolve(mut self, now: NaiveDateTime) -> Option<Visit> {
        let today = now.date();
        // "a.b" undecided: a time when nothing else gives one and a day is named, else a date.
        let undecided = std::mem::take(&mut self.undecided);
        for (a, b, lead) in undecided {
            if self.times.is_empty() && self.day.is_some() {
                self.push(Clock::new(a, b, false)?, lead);
            } else {
                self.set_day(Day::Date {
                    day: a,
                    month: b,
                    year: None,
                })?;
            }
        }
        if let Some(after) = self.after {
            if self.day.is_some() || !self.times.is_empty() {
                return None;
            }
            let at = now.checked_add_signed(after)?;
            return Some(Visit { at, until: None });
        }
        let (start, end) = match self.times.as_slice() {
            [only] if only.lead != Some(Lead::Until) => (only.clock.as_start(), None),
            [first, second]
                if first.lead != Some(Lead::Until) && second.lead == Some(Lead::Until) =>
            {
                (first.clock.as_start(), Some(second.clock))
            }
            _ => return None,
        };
        let date = match self.day {
            None => {
                let at = moment(today, start)?;
                if at < now {
                    today.succ_opt()?
                } else {
                    today
                }
            }
            Some(Day::Offset(days)) => today.checked_add_days(chrono::Days::new(days.into()))?,
            Some(Day::Weekday(weekday)) => {
                let ahead = (7 + weekday.num_days_from_monday()
                    - today.weekday().num_days_from_monday())
                    % 7;
                let date = today.checked_add_days(chrono::Days::new(ahead.into()))?;
                if moment(date, start)? < now {
                    date.checked_add_days(chrono::Days::new(7))?
                } else {
                    date
                }
            }
            Some(Day::Date { day, month, year }) => match year {
                Some(year) => NaiveDate::from_ymd_opt(year, month, day)?,
                None => {
                    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day);
                    match this_year {
                        Some(date) if date >= today => date,
                        _ => NaiveDate::from_ymd_opt(today.year() + 1, month, day)?,
                    }
                }
            },
        };
        let at = moment(date, start)?;
        let until = match end {
            None => None,
            Some(end) => Some(range_end(at, end)?),
        };
        Some(Visit { at, until })
    }
}

/// The moment of `clock` on `date` (the end of the day for "полночь").
fn moment(date: NaiveDate, clock: Clock) -> Option<NaiveDateTime> {
    let date = if clock.end_of_day {
        date.succ_opt()?
    } else {
        date
    };
    Some(date.and_time(clock.time()))
}

/// The end of a range that starts at `start`: the first reading of `end` after it (a bare
/// hour may be morning or afternoon), on the next day when the clock wrapped.
fn range_end(start: NaiveDateTime, end: Clock) -> Option<NaiveDateTime> {
    let mut readings = vec![end];
    if end.bare && (1..=11).contains(&end.hour) {
        readings.push(Clock {
            hour: end.hour + 12,
            ..end
        });
    }
    for reading in &readings {
        let candidate = moment(start.date(), *reading)?;
        if candidate > start {
            return Some(candidate);
        }
    }
    let next_day = moment(start.date().succ_opt()?, end)?;
    (next_day > start).then_some(next_day)
}

enum Span {
    Minutes(u32),
    Days(u32),
}

/// A duration at the start of `rest`, in minutes or whole days, and the tokens it used.
fn duration_minutes(rest: &[Token]) -> Option<(Span, usize)> {
    let word = |i: usize| match rest.get(i) {
        Some(Token::Word(word)) => Some(word.as_str()),
        _ => None,
    };
    // (count in tenths, tokens used before the unit)
    let (tenths, used): (u32, usize) = match rest.first()? {
        Token::Number(parts) => match parts.as_slice() {
            [whole] => (whole.value.checked_mul(10)?, 1),
            [whole, fraction]
                if matches!(fraction.sep, Some(',') | Some('.')) && fraction.digits == 1 =>
            {
                (whole.value.checked_mul(10)?.checked_add(fraction.value)?, 1)
            }
            _ => return None,
        },
        Token::Word(first) => match first.as_str() {
            "полчаса" => return Some((Span::Minutes(30), 1)),
            "полтора" | "полторы" => (15, 1),
            "пару" | "пара" => (20, 1),
            "несколько" => return None,
            _ => (10, 0),
        },
        Token::Dash => return None,
    };
    let unit = unit(word(used)?)?;
    let used = used + 1;
    Some(match unit {
        Unit::Minutes => (Span::Minutes(tenths / 10), used),
        Unit::Hours => (Span::Minutes(tenths.checked_mul(6)?), used),
        Unit::Days if tenths % 10 == 0 => (Span::Days(tenths / 10), used),
        Unit::Weeks if tenths % 10 == 0 => (Span::Days((tenths / 10).checked_mul(7)?), used),
        Unit::Days | Unit::Weeks => return None,
    })
}

/// "за час", "за 30 минут": how many tokens the duration after "за" takes (0 if none).
fn skip_duration(rest: &[Token]) -> usize {
    duration_minutes(rest).map_or(0, |(_, used)| used)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 23.11.2026, 10:00 local.
    fn now() -> NaiveDateTime {
        at("2026-11-23 10:00")
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a test moment")
    }

    fn visit(text: &str) -> Visit {
        visit_at(text, now())
    }

    fn visit_at(text: &str, now: NaiveDateTime) -> Visit {
        match parse(text, now) {
            Arrival::Visit(visit) => visit,
            Arrival::Instruction => panic!("{text:?} was not read as a visit"),
        }
    }

    fn moment(text: &str) -> NaiveDateTime {
        let visit = visit(text);
        assert_eq!(visit.until, None, "{text:?}");
        visit.at
    }

    fn instruction(text: &str) {
        assert_eq!(
            parse(text, now()),
            Arrival::Instruction,
            "{text:?} should stay an instruction"
        );
    }

    #[test]
    fn today_tomorrow_and_the_day_after() {
        assert_eq!(moment("сегодня в 15:00"), at("2026-11-23 15:00"));
        assert_eq!(moment("завтра в 15:00"), at("2026-11-24 15:00"));
        assert_eq!(moment("Завтра в 15:00"), at("2026-11-24 15:00"));
        assert_eq!(moment("послезавтра к 11"), at("2026-11-25 11:00"));
        assert_eq!(moment("ЗАВТРА 9:30"), at("2026-11-24 09:30"));
    }

    #[test]
    fn weekdays_are_the_nearest_one_today_included_while_ahead() {
        // Monday today.
        assert_eq!(moment("в пятницу 10:00"), at("2026-11-27 10:00"));
        assert_eq!(moment("пт 10:00"), at("2026-11-27 10:00"));
        assert_eq!(moment("в среду в 12"), at("2026-11-25 12:00"));
        assert_eq!(moment("в воскресенье в 11:00"), at("2026-11-29 11:00"));
        assert_eq!(moment("в понедельник в 18:00"), at("2026-11-23 18:00"));
        assert_eq!(
            moment("в понедельник в 9:00"),
            at("2026-11-30 09:00"),
            "this Monday's 9:00 has passed"
        );
    }

    #[test]
    fn hours_alone_and_with_words() {
        assert_eq!(moment("в 9"), at("2026-11-24 09:00"), "9:00 passed today");
        assert_eq!(moment("в 11"), at("2026-11-23 11:00"));
        assert_eq!(moment("к 12 часам"), at("2026-11-23 12:00"));
        assert_eq!(moment("в 11 часов"), at("2026-11-23 11:00"));
        assert_eq!(moment("15.00"), at("2026-11-23 15:00"));
        assert_eq!(moment("15:00"), at("2026-11-23 15:00"));
        assert_eq!(moment("14.30"), at("2026-11-23 14:30"));
        assert_eq!(moment("в 10.11"), at("2026-11-23 10:11"));
        assert_eq!(moment("в полдень"), at("2026-11-23 12:00"));
        assert_eq!(moment("после 18:00"), at("2026-11-23 18:00"));
        assert_eq!(moment("около 16"), at("2026-11-23 16:00"));
    }

    #[test]
    fn a_bare_hour_up_to_seven_is_the_afternoon_unless_said_otherwise() {
        assert_eq!(moment("в 3"), at("2026-11-23 15:00"));
        assert_eq!(moment("в 7"), at("2026-11-23 19:00"));
        assert_eq!(moment("в 8"), at("2026-11-24 08:00"));
        assert_eq!(moment("в 3 дня"), at("2026-11-23 15:00"));
        assert_eq!(moment("в 7 вечера"), at("2026-11-23 19:00"));
        assert_eq!(moment("в 9 вечера"), at("2026-11-23 21:00"));
        assert_eq!(moment("в 3 ночи"), at("2026-11-24 03:00"));
        assert_eq!(moment("в 7 утра"), at("2026-11-24 07:00"));
        assert_eq!(moment("в 03:00"), at("2026-11-24 03:00"));
        assert_eq!(moment("в 3:00"), at("2026-11-24 03:00"));
    }

    #[test]
    fn dates_with_and_without_a_year() {
        assert_eq!(moment("20.12 14:00"), at("2026-12-20 14:00"));
        assert_eq!(moment("05.12.2026 в 15:00"), at("2026-12-05 15:00"));
        assert_eq!(moment("5.12.26 15:00"), at("2026-12-05 15:00"));
        assert_eq!(moment("5/12 15:00"), at("2026-12-05 15:00"));
        assert_eq!(moment("5 декабря в 15:00"), at("2026-12-05 15:00"));
        assert_eq!(
            moment("23.11 в 18:00"),
            at("2026-11-23 18:00"),
            "today's date"
        );
        assert_eq!(
            moment("завтра 9.05"),
            at("2026-11-24 09:05"),
            "a day named: a.b is the time"
        );
    }

    #[test]
    fn a_date_already_passed_this_year_is_next_years() {
        assert_eq!(moment("20.10 14:00"), at("2027-10-20 14:00"));
        assert_eq!(moment("15 января в 10:00"), at("2027-01-15 10:00"));
        // With the year written, it is taken as written: the caller warns it has passed.
        assert_eq!(moment("20.10.2026 14:00"), at("2026-10-20 14:00"));
        // 29 February only exists in some years.
        instruction("29.02 10:00");
        assert_eq!(
            visit_at("29.02 10:00", at("2027-11-23 10:00")).at,
            at("2028-02-29 10:00")
        );
        instruction("31.11 10:00");
        instruction("31.04.2027 10:00");
    }

    #[test]
    fn in_minutes_hours_and_days_from_now() {
        assert_eq!(moment("через 2 часа"), at("2026-11-23 12:00"));
        assert_eq!(moment("через час"), at("2026-11-23 11:00"));
        assert_eq!(moment("через 30 минут"), at("2026-11-23 10:30"));
        assert_eq!(moment("через 45 мин"), at("2026-11-23 10:45"));
        assert_eq!(moment("через полчаса"), at("2026-11-23 10:30"));
        assert_eq!(moment("через полтора часа"), at("2026-11-23 11:30"));
        assert_eq!(moment("через 1,5 часа"), at("2026-11-23 11:30"));
        assert_eq!(moment("через пару часов"), at("2026-11-23 12:00"));
        assert_eq!(moment("через 2 дня в 11:00"), at("2026-11-25 11:00"));
        assert_eq!(moment("через неделю в 10"), at("2026-11-30 10:00"));
        // Seconds of now are dropped: the visit is on the minute.
        let late = at("2026-11-23 10:00") + TimeDelta::seconds(42);
        assert_eq!(visit_at("через 2 часа", late).at, at("2026-11-23 12:00"));
    }

    #[test]
    fn ranges() {
        let range = |text: &str| {
            let v = visit(text);
            (v.at, v.until.unwrap_or_else(|| panic!("{text:?}: no end")))
        };
        let afternoon = (at("2026-11-24 14:00"), at("2026-11-24 16:00"));
        assert_eq!(range("завтра с 14 до 16"), afternoon);
        assert_eq!(range("завтра 14:00-16:00"), afternoon);
        assert_eq!(range("завтра 14:00 – 16:00"), afternoon);
        assert_eq!(range("завтра между 14 и 16"), afternoon);
        assert_eq!(range("завтра 14-16"), afternoon);
        assert_eq!(range("завтра с 2 до 4"), afternoon);
        assert_eq!(range("завтра с 2 до 4 дня"), afternoon);
        assert_eq!(
            range("14:00-16:00"),
            (at("2026-11-23 14:00"), at("2026-11-23 16:00"))
        );
        assert_eq!(
            range("с 10 до 2"),
            (at("2026-11-23 10:00"), at("2026-11-23 14:00"))
        );
        assert_eq!(
            range("завтра с 9 до 12"),
            (at("2026-11-24 09:00"), at("2026-11-24 12:00"))
        );
        assert_eq!(
            range("с 22 до 2"),
            (at("2026-11-23 22:00"), at("2026-11-24 02:00")),
            "the end wraps to the next day"
        );
        assert_eq!(
            range("в пятницу с 18:30 до 20"),
            (at("2026-11-27 18:30"), at("2026-11-27 20:00"))
        );
    }

    #[test]
    fn a_lone_start_is_a_moment_a_lone_end_is_not() {
        assert_eq!(moment("завтра с 14"), at("2026-11-24 14:00"));
        instruction("до 12");
        instruction("завтра до 12");
    }

    #[test]
    fn midnight() {
        assert_eq!(moment("в полночь"), at("2026-11-24 00:00"));
        assert_eq!(moment("завтра в полночь"), at("2026-11-25 00:00"));
        assert_eq!(moment("сегодня в 24:00"), at("2026-11-24 00:00"));
        assert_eq!(moment("завтра в 00:00"), at("2026-11-24 00:00"));
        assert_eq!(moment("00:30"), at("2026-11-24 00:30"), "passed today");
        assert_eq!(moment("в 12 ночи"), at("2026-11-24 00:00"));
        // Just before midnight, "в 0:15" is in a quarter of an hour, on the next date.
        assert_eq!(
            visit_at("в 0:15", at("2026-11-23 23:58")).at,
            at("2026-11-24 00:15")
        );
        assert_eq!(
            visit_at("через 30 минут", at("2026-11-23 23:50")).at,
            at("2026-11-24 00:20")
        );
        // The last day of the year rolls into the next.
        assert_eq!(
            visit_at("завтра в 10", at("2026-12-31 12:00")).at,
            at("2027-01-01 10:00")
        );
    }

    #[test]
    fn an_explicit_day_in_the_past_is_kept_as_said() {
        assert_eq!(moment("сегодня в 9:00"), at("2026-11-23 09:00"));
    }

    #[test]
    fn instructions_stay_text() {
        for text in [
            "позвонить за час",
            "позвонить за 30 минут до приезда",
            "за 2 часа предупредить",
            "согласовать с клиентом",
            "завтра",
            "завтра утром",
            "на следующей неделе",
            "20.10",
            "",
            "???",
            "кв. 15, домофон 15",
            "в 10 или в 14",
            "через несколько часов",
            "в 25:00",
            "в 14:75",
            "завтра в пятницу в 10",
            "через час в 15:00",
            "сегодня завтра 10:00",
        ] {
            instruction(text);
        }
    }

    #[test]
    fn a_time_with_an_instruction_is_still_a_visit() {
        assert_eq!(
            moment("завтра в 15:00, позвонить за час"),
            at("2026-11-24 15:00")
        );
        assert_eq!(
            moment("позвонить за 2 часа, завтра к 12"),
            at("2026-11-24 12:00")
        );
        assert_eq!(moment("сегодня после 14:00"), at("2026-11-23 14:00"));
        assert_eq!(
            moment("завтра в 15:00, вход через двор"),
            at("2026-11-24 15:00")
        );
        // A phone number is not a range of hours.
        instruction("позвонить 8-900-123-45-67");
        assert_eq!(
            moment("в 16:00, позвонить 8-900-123-45-67"),
            at("2026-11-23 16:00")
        );
    }

    #[test]
    fn staff_move_any_open_visit_the_master_his_own_once_accepted() {
        use crate::domain::ids::{MasterId, TelegramId};
        use crate::domain::status::Role;
        let person = |roles: &[Role], master: Option<i64>| Actor {
            telegram_id: TelegramId(1),
            roles: roles.iter().copied().collect(),
            master_id: master.map(MasterId),
        };
        let dispatcher = person(&[Role::Dispatcher], None);
        let admin = person(&[Role::Admin], None);
        let master = person(&[Role::Master], Some(7));
        let other_master = person(&[Role::Master], Some(8));
        let former_master = person(&[], Some(7));
        let order = |status| OrderFacts {
            status,
            assigned_master_id: Some(MasterId(7)),
        };
        for status in OrderStatus::ALL {
            let open = status.is_open();
            assert_eq!(
                may_reschedule(&order(status), &dispatcher),
                open,
                "{status}"
            );
            assert_eq!(may_reschedule(&order(status), &admin), open, "{status}");
            assert_eq!(
                may_reschedule(&order(status), &master),
                matches!(status, OrderStatus::Accepted | OrderStatus::Dr),
                "{status}"
            );
            assert!(!may_reschedule(&order(status), &other_master), "{status}");
            assert!(!may_reschedule(&order(status), &former_master), "{status}");
        }
    }

    #[test]
    fn nonsense_is_an_instruction() {
        for text in [
            "99.99",
            "12345",
            "31:00",
            "абв 12 где",
            "- - -",
            "в",
            "через",
            "с до",
        ] {
            instruction(text);
        }
    }

    #[test]
    fn utc_in_the_company_zone() {
        let moscow = chrono_tz::Europe::Moscow;
        assert_eq!(
            to_utc(at("2026-11-24 15:00"), moscow),
            at("2026-11-24 12:00")
        );
        assert_eq!(
            to_local(at("2026-11-24 12:00"), moscow),
            at("2026-11-24 15:00")
        );
        // Moscow keeps one offset all year: summer as winter.
        assert_eq!(
            to_utc(at("2026-07-01 15:00"), moscow),
            at("2026-07-01 12:00")
        );
        // Where clocks move: Berlin jumps 02:00 -> 03:00 on 29.03.2026 and falls back
        // 03:00 -> 02:00 on 25.10.2026.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            to_utc(at("2026-03-29 02:30"), berlin),
            at("2026-03-29 01:00"),
            "a time inside the gap: the first one after it (03:00 CEST)"
        );
        assert_eq!(
            to_utc(at("2026-10-25 02:30"), berlin),
            at("2026-10-25 00:30"),
            "a time that happens twice: the earlier"
        );
        assert_eq!(
            to_utc(at("2026-10-25 12:00"), berlin),
            at("2026-10-25 11:00")
        );
    }
}
