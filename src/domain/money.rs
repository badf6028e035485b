//! Money in integer kopecks: parsing what a master types, showing amounts, and splitting an
//! order's net between master and company (SPEC 2.3). No floating point anywhere, so the
//! shares always add up to the net exactly.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};

/// An amount of money in kopecks (1 ruble = 100 kopecks); a BIGINT in SQL (see `domain::sql`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::BigInt)]
pub struct Kopecks(pub i64);

const KOPECKS_PER_RUBLE: i64 = 100;

/// The largest amount [`parse_rubles`] accepts: anything above is a typo, not a repair bill.
pub const MAX_AMOUNT: Kopecks = Kopecks::from_rubles(100_000_000);

impl Kopecks {
    pub const ZERO: Kopecks = Kopecks(0);

    pub const fn from_rubles(rubles: i64) -> Kopecks {
        Kopecks(rubles * KOPECKS_PER_RUBLE)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl Add for Kopecks {
    type Output = Kopecks;
    fn add(self, other: Kopecks) -> Kopecks {
        Kopecks(self.0 + other.0)
    }
}

impl AddAssign for Kopecks {
    fn add_assign(&mut self, other: Kopecks) {
        self.0 += other.0;
    }
}

impl Sub for Kopecks {
    type Output = Kopecks;
    fn sub(self, other: Kopecks) -> Kopecks {
        Kopecks(self.0 - other.0)
    }
}

impl Sum for Kopecks {
    fn sum<I: Iterator<Item = Kopecks>>(iter: I) -> Kopecks {
        iter.fold(Kopecks::ZERO, Add::add)
    }
}

/// "3 500 ₽", "3 500,50 ₽", "-12,05 ₽": thousands split by a space, kopecks only when non-zero.
impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        // unsigned_abs: i64::MIN has no positive i64 counterpart.
        let abs = self.0.unsigned_abs();
        let rubles = group_thousands(abs / KOPECKS_PER_RUBLE as u64);
        let kopecks = abs % KOPECKS_PER_RUBLE as u64;
        if kopecks == 0 {
            write!(f, "{sign}{rubles} ₽")
        } else {
            write!(f, "{sign}{rubles},{kopecks:02} ₽")
        }
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// Why a typed amount was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("no amount given")]
    Empty,
    #[error("the amount cannot be negative")]
    Negative,
    #[error("not a number of rubles (like 3500, 3 500 or 3500,50)")]
    NotANumber,
    #[error("at most two digits after the decimal comma (kopecks)")]
    TooManyDecimals,
    #[error("the amount is above the maximum of {max}")]
    TooLarge { max: Kopecks },
}

/// Currency words people type after the number, longest first so "руб." is not read as "р".
const CURRENCY_SUFFIXES: &[&str] = &[
    "рублей",
    "рубля",
    "рубль",
    "руб.",
    "руб",
    "р.",
    "р",
    "₽",
    "rub",
    // Latin look-alikes of "р." and "р", typed on an English keyboard layout.
    "p.",
    "p",
];

/// Reads an amount of rubles as masters type it: "3500", "3 500", "3500,50", "3500.5",
/// "3500 р", "3500р.", "3 500 руб", "3500 ₽".
pub fn parse_rubles(input: &str) -> Result<Kopecks, AmountError> {
    let text = strip_currency(input.trim());
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with(['-', '−']) {
        return Err(AmountError::Negative);
    }
    let (whole, fraction) = match text.split_once([',', '.']) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let rubles = parse_whole_rubles(whole)?;
    let kopecks = match fraction {
        Some(fraction) => parse_kopecks(fraction)?,
        None => 0,
    };
    let amount = rubles
        .checked_mul(KOPECKS_PER_RUBLE)
        .and_then(|k| k.checked_add(kopecks))
        .map(Kopecks)
        .filter(|amount| *amount <= MAX_AMOUNT);
    amount.ok_or(AmountError::TooLarge { max: MAX_AMOUNT })
}

fn strip_currency(text: &str) -> &str {
    for suffix in CURRENCY_SUFFIXES {
        // Compare the last characters, not bytes: the suffixes are Cyrillic.
        let chars = suffix.chars().count();
        let Some((cut, _)) = text.char_indices().rev().nth(chars - 1) else {
            continue;
        };
        if text[cut..].to_lowercase() == *suffix {
            return text[..cut].trim_end();
        }
    }
    text
}

/// The ruble part: plain digits, or digits grouped by threes with spaces ("10 000"). Loose
/// spacing is refused because "3500 50" may mean 3500,50 and must not become 350 050.
fn parse_whole_rubles(whole: &str) -> Result<i64, AmountError> {
    let groups: Vec<&str> = whole.split(char::is_whitespace).collect();
    let all_digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    if !groups.iter().all(|g| all_digits(g)) {
        return Err(AmountError::NotANumber);
    }
    let well_grouped =
        groups.len() == 1 || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    if !well_grouped {
        return Err(AmountError::NotANumber);
    }
    // Only digits are left, so a parse failure can only be overflow.
    groups
        .concat()
        .parse()
        .map_err(|_| AmountError::TooLarge { max: MAX_AMOUNT })
}

fn parse_kopecks(fraction: &str) -> Result<i64, AmountError> {
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotANumber);
    }
    match fraction.len() {
        1 => Ok(i64::from(fraction.as_bytes()[0] - b'0') * 10),
        2 => fraction.parse().map_err(|_| AmountError::NotANumber),
        _ => Err(AmountError::TooManyDecimals),
    }
}

/// How an order's net is split; configuration, with the SPEC's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharePolicy {
    /// From this net on, the master gets `high_percent`; below it, `low_percent`.
    pub threshold: Kopecks,
    pub high_percent: u32,
    pub low_percent: u32,
    /// Percent of net moved from company to master when the client left a review.
    pub review_bonus_percent: u32,
    pub review_bonus_enabled: bool,
}

impl Default for SharePolicy {
    fn default() -> Self {
        SharePolicy {
            threshold: Kopecks::from_rubles(7000),
            high_percent: 50,
            low_percent: 40,
            review_bonus_percent: 10,
            review_bonus_enabled: true,
        }
    }
}

impl SharePolicy {
    /// Checks that the master can never get more than the net; run it on configuration at
    /// start-up so a bad setting stops the bot instead of failing at the first closed order.
    pub fn validate(&self) -> Result<(), MoneyError> {
        let bonus = self.bonus_percent(true);
        let highest = self
            .high_percent
            .max(self.low_percent)
            .saturating_add(bonus);
        if highest > 100 {
            return Err(MoneyError::PercentOver100 { percent: highest });
        }
        if self.threshold < Kopecks::ZERO {
            return Err(MoneyError::Negative);
        }
        Ok(())
    }

    /// The master's percent of `net` by the threshold rule, before any bonus.
    pub fn base_percent(&self, net: Kopecks) -> u32 {
        if net >= self.threshold {
            self.high_percent
        } else {
            self.low_percent
        }
    }

    pub fn bonus_percent(&self, has_review: bool) -> u32 {
        if has_review && self.review_bonus_enabled {
            self.review_bonus_percent
        } else {
            0
        }
    }
}

/// Why an order cannot be closed with these amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("materials ({materials}) cost more than the client paid ({total})")]
    MaterialsExceedTotal { total: Kopecks, materials: Kopecks },
    #[error("the client paid {total} in all, less than the prepayment of {prepayment}")]
    TotalBelowPrepayment { total: Kopecks, prepayment: Kopecks },
    #[error("amounts cannot be negative")]
    Negative,
    #[error("the master's share would be {percent}% of net, more than 100%")]
    PercentOver100 { percent: u32 },
}

/// How the client paid at closing, which decides who holds the money afterwards.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Payment {
    /// The master took the money: he owes the company its share.
    #[default]
    Cash,
    /// The client paid the company: the company owes the master his share and materials.
    Cashless,
}

impl Payment {
    pub const ALL: [Payment; 2] = [Payment::Cash, Payment::Cashless];

    /// The spelling stored in `orders.payment`.
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::Cash => "CASH",
            Payment::Cashless => "CASHLESS",
        }
    }
}

impl std::str::FromStr for Payment {
    type Err = super::status::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Payment::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| super::status::UnknownName {
                kind: "payment",
                value: s.to_string(),
            })
    }
}

/// What the master reports at closing (or an admin when correcting a closed order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    /// Everything the client paid for the order, a prepayment included.
    pub total: Kopecks,
    pub materials: Kopecks,
    pub has_review: bool,
    pub payment: Payment,
}

/// What the pay rules look at besides the amounts: the order and its master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job<'a> {
    pub equipment_type: &'a str,
    pub out_of_city: bool,
    pub senior_master: bool,
    /// Taken by the master in cash when the order went into long repair.
    pub prepayment: Kopecks,
}

/// The pay rules: configuration, with the SPEC's and the company's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRules {
    pub shares: SharePolicy,
    /// The master's base percent for these equipment types, instead of the threshold rule.
    pub equipment_percent: Vec<(String, u32)>,
    /// Percent of net moved from company to master for a job outside the city.
    pub out_of_city_bonus_percent: u32,
    /// A senior master's share never falls below this percent of net.
    pub senior_floor_percent: u32,
    /// Ask at closing how the client paid; when off every closing is cash to the master.
    pub ask_payment: bool,
    /// Ask for a prepayment when an order goes into long repair.
    pub ask_prepayment: bool,
}

impl Default for PayRules {
    fn default() -> Self {
        PayRules {
            shares: SharePolicy::default(),
            equipment_percent: Vec::new(),
            out_of_city_bonus_percent: 10,
            senior_floor_percent: 50,
            ask_payment: false,
            ask_prepayment: true,
        }
    }
}

/// How the master's percent came about, shown with every closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PercentParts {
    pub base: u32,
    /// The base came from the equipment type's rate, not the threshold rule.
    pub base_from_equipment: bool,
    pub review_bonus: u32,
    pub out_of_city_bonus: u32,
    /// Set when the senior master's floor raised the percent to it.
    pub senior_floor: Option<u32>,
}

impl PercentParts {
    pub fn total(&self) -> u32 {
        let earned = self.base + self.review_bonus + self.out_of_city_bonus;
        self.senior_floor.map_or(earned, |floor| earned.max(floor))
    }
}

impl PayRules {
    /// Checks that no rule can give the master more than the net; run on configuration at
    /// start-up, so a bad setting stops the bot instead of failing at the first closed order.
    pub fn validate(&self) -> Result<(), MoneyError> {
        self.shares.validate()?;
        let bases = self.equipment_percent.iter().map(|(_, p)| *p);
        let highest_base = bases
            .chain([self.shares.high_percent, self.shares.low_percent])
            .max()
            .unwrap_or(0);
        let highest = highest_base
            .saturating_add(self.shares.bonus_percent(true))
            .saturating_add(self.out_of_city_bonus_percent)
            .max(self.senior_floor_percent);
        if highest > 100 {
            return Err(MoneyError::PercentOver100 { percent: highest });
        }
        Ok(())
    }

    /// The master's percent of `net` for this job, and why.
    pub fn percent(&self, net: Kopecks, has_review: bool, job: &Job) -> PercentParts {
        let equipment = self
            .equipment_percent
            .iter()
            .find(|(kind, _)| kind.to_lowercase() == job.equipment_type.trim().to_lowercase());
        let (base, base_from_equipment) = match equipment {
            Some((_, percent)) => (*percent, true),
            None => (self.shares.base_percent(net), false),
        };
        let mut parts = PercentParts {
            base,
            base_from_equipment,
            review_bonus: self.shares.bonus_percent(has_review),
            out_of_city_bonus: if job.out_of_city {
                self.out_of_city_bonus_percent
            } else {
                0
            },
            senior_floor: None,
        };
        if job.senior_master && parts.total() < self.senior_floor_percent {
            parts.senior_floor = Some(self.senior_floor_percent);
        }
        parts
    }

    /// Splits an order's net between master and company. The master's share is rounded half
    /// up to the kopeck and the company gets the rest, so nothing is lost or invented by
    /// rounding: master + company == net, always.
    pub fn split(&self, amounts: Amounts, job: &Job) -> Result<Breakdown, MoneyError> {
        self.validate()?;
        let Amounts {
            total,
            materials,
            has_review,
            payment,
        } = amounts;
        if total < Kopecks::ZERO || materials < Kopecks::ZERO || job.prepayment < Kopecks::ZERO {
            return Err(MoneyError::Negative);
        }
        if materials > total {
            return Err(MoneyError::MaterialsExceedTotal { total, materials });
        }
        if total < job.prepayment {
            return Err(MoneyError::TotalBelowPrepayment {
                total,
                prepayment: job.prepayment,
            });
        }
        let net = total - materials;
        let percent = self.percent(net, has_review, job);
        let master_percent = percent.total();
        let master = percent_rounded_half_up(net, master_percent);
        // The cash the master holds after the job: everything (cash), or only the prepayment
        // he took (the rest went to the company). He keeps his share and the materials.
        let held = match payment {
            Payment::Cash => total,
            Payment::Cashless => job.prepayment,
        };
        Ok(Breakdown {
            total,
            materials,
            net,
            master,
            company: net - master,
            has_review,
            master_percent,
            percent,
            payment,
            prepayment: job.prepayment,
            cash_due: held - master - materials,
        })
    }
}

/// The money of a closed order, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breakdown {
    pub total: Kopecks,
    pub materials: Kopecks,
    /// total - materials; always master + company.
    pub net: Kopecks,
    pub master: Kopecks,
    pub company: Kopecks,
    pub has_review: bool,
    /// The percent of net the master got, every bonus and floor included.
    pub master_percent: u32,
    pub percent: PercentParts,
    pub payment: Payment,
    /// Part of `total` the client paid before, when the order went into long repair.
    pub prepayment: Kopecks,
    /// What the master owes the company for this order; negative when the company owes him.
    pub cash_due: Kopecks,
}

impl Breakdown {
    /// What the client still had to pay at closing.
    pub fn due_at_closing(&self) -> Kopecks {
        self.total - self.prepayment
    }
}

/// `amount * percent / 100`, rounded half up; i128 so no amount can overflow.
/// For 0 <= percent <= 100 the result lies between 0 and `amount`.
fn percent_rounded_half_up(amount: Kopecks, percent: u32) -> Kopecks {
    let scaled = i128::from(amount.0) * i128::from(percent);
    let rounded = (scaled + 50).div_euclid(100);
    // Fits: |rounded| <= |amount| for percent <= 100, which validate() guarantees.
    Kopecks(i64::try_from(rounded).unwrap_or(amount.0))
}

/// The average of `count` amounts adding up to `total`, rounded half up to the kopeck (the
/// average check of a report); zero when `count` is not positive. i128, so no total can
/// overflow; the rounding is that of [`PayRules::split`]'s shares.
pub fn average(total: Kopecks, count: i64) -> Kopecks {
    if count <= 0 {
        return Kopecks::ZERO;
    }
    let (total, count) = (i128::from(total.0), i128::from(count));
    // floor((2 * total + count) / (2 * count)) = floor(total / count + 1/2): half up, for
    // negative totals too.
    let rounded = (2 * total + count).div_euclid(2 * count);
    // |rounded| <= |total| + 1 and no i64 total is that large.
    Kopecks(i64::try_from(rounded).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(rubles: i64) -> Kopecks {
        Kopecks::from_rubles(rubles)
    }

    const PLAIN_JOB: Job = Job {
        equipment_type: "Стиральные машины",
        out_of_city: false,
        senior_master: false,
        prepayment: Kopecks::ZERO,
    };

    /// The threshold rule alone (no equipment rates, no out-of-city bonus), cash.
    fn close_order(
        total: Kopecks,
        materials: Kopecks,
        has_review: bool,
        policy: &SharePolicy,
    ) -> Result<Breakdown, MoneyError> {
        let rules = PayRules {
            shares: *policy,
            out_of_city_bonus_percent: 0,
            ..PayRules::default()
        };
        let amounts = Amounts {
            total,
            materials,
            has_review,
            payment: Payment::Cash,
        };
        rules.split(amounts, &PLAIN_JOB)
    }

    fn split(total: Kopecks, materials: Kopecks, review: bool) -> (Kopecks, Kopecks) {
        let b = close_order(total, materials, review, &SharePolicy::default()).unwrap();
        (b.master, b.company)
    }

    // ----- Display -----

    #[test]
    fn displays_rubles_with_grouped_thousands() {
        let cases = [
            (0, "0 ₽"),
            (5, "0,05 ₽"),
            (50, "0,50 ₽"),
            (100, "1 ₽"),
            (99_900, "999 ₽"),
            (100_000, "1 000 ₽"),
            (350_000, "3 500 ₽"),
            (350_050, "3 500,50 ₽"),
            (123_456_789, "1 234 567,89 ₽"),
            (10_000_000_000, "100 000 000 ₽"),
            (-1_205, "-12,05 ₽"),
            (-350_000, "-3 500 ₽"),
        ];
        for (kopecks, text) in cases {
            assert_eq!(Kopecks(kopecks).to_string(), text);
        }
        // The extreme values must not panic.
        assert!(Kopecks(i64::MIN).to_string().starts_with("-92 233 720"));
        assert!(Kopecks(i64::MAX).to_string().starts_with("92 233 720"));
    }

    #[test]
    fn amounts_add_and_sum() {
        assert_eq!(rub(3) + Kopecks(50), Kopecks(350));
        assert_eq!(rub(3) - Kopecks(50), Kopecks(250));
        let mut sum = Kopecks::ZERO;
        sum += rub(2);
        assert_eq!(sum, Kopecks(200));
        let total: Kopecks = [rub(1), rub(2), Kopecks(3)].into_iter().sum();
        assert_eq!(total, Kopecks(303));
    }

    // ----- Averages -----

    #[test]
    fn averages_round_half_up_to_the_kopeck() {
        let cases = [
            // (total, count, average)
            (0, 0, 0),
            (500, 0, 0),
            (500, -1, 0),
            (0, 3, 0),
            (20_000, 3, 6_667),
            (10_001, 2, 5_001),
            (10_003, 2, 5_002),
            (60_001, 3, 20_000),
            (4, 3, 1),
            (1, 2, 1),
            (1, 3, 0),
            (-1, 2, 0),
            (-3, 2, -1),
            (3 * MAX_AMOUNT.get() - 1, 3, MAX_AMOUNT.get()),
            (i64::MAX, 1, i64::MAX),
            (i64::MAX, 2, i64::MAX / 2 + 1),
        ];
        for (total, count, expected) in cases {
            assert_eq!(
                average(Kopecks(total), count),
                Kopecks(expected),
                "{total} / {count}"
            );
        }
    }

    // ----- Parsing -----

    #[test]
    fn parses_the_ways_masters_type_amounts() {
        let cases = [
            ("3500", 350_000),
            ("3 500", 350_000),
            ("3\u{a0}500", 350_000),
            ("3\u{202f}500", 350_000),
            ("3500,50", 350_050),
            ("3500.5", 350_050),
            ("3500,5", 350_050),
            ("3500,05", 350_005),
            ("3500 р", 350_000),
            ("3500р.", 350_000),
            ("3500 Р", 350_000),
            ("3 500 руб", 350_000),
            ("3 500 руб.", 350_000),
            ("3500 рублей", 350_000),
            ("3500 ₽", 350_000),
            ("3500₽", 350_000),
            ("3500p", 350_000),
            ("3500 RUB", 350_000),
            ("3 500,50 ₽", 350_050),
            ("  3500  ", 350_000),
            ("\u{a0}3500\u{a0}₽", 350_000),
            ("0", 0),
            ("0,01", 1),
            ("1 234 567,89", 123_456_789),
            ("100 000 000", 10_000_000_000),
            ("007", 700),
        ];
        for (text, kopecks) in cases {
            assert_eq!(parse_rubles(text), Ok(Kopecks(kopecks)), "{text:?}");
        }
    }

    #[test]
    fn display_output_parses_back() {
        for kopecks in [0, 1, 99, 100, 350_050, 123_456_789, 10_000_000_000] {
            let shown = Kopecks(kopecks).to_string();
            assert_eq!(parse_rubles(&shown), Ok(Kopecks(kopecks)), "{shown:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        use AmountError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("₽", Empty),
            ("руб.", Empty),
            ("-3500", Negative),
            ("−3500", Negative),
            ("- 3500 р", Negative),
            ("abc", NotANumber),
            ("3500abc", NotANumber),
            ("три тысячи", NotANumber),
            ("3500 $", NotANumber),
            ("+3500", NotANumber),
            ("1e5", NotANumber),
            ("3500 50", NotANumber),
            ("35 00", NotANumber),
            ("3  500", NotANumber),
            ("1234 567", NotANumber),
            ("3500,", NotANumber),
            (",50", NotANumber),
            ("3,500,00", NotANumber),
            ("3500,5a", NotANumber),
            ("3500,500", TooManyDecimals),
            ("3.500", TooManyDecimals),
            ("3500,001", TooManyDecimals),
        ];
        for (text, error) in cases {
            assert_eq!(parse_rubles(text), Err(error), "{text:?}");
        }
    }

    #[test]
    fn refuses_absurd_amounts() {
        let too_large = Err(AmountError::TooLarge { max: MAX_AMOUNT });
        assert_eq!(parse_rubles("100000000,01"), too_large);
        assert_eq!(parse_rubles("100 000 001"), too_large);
        assert_eq!(parse_rubles("92233720368547758"), too_large);
        assert_eq!(parse_rubles("99999999999999999999999999"), too_large);
        assert_eq!(parse_rubles("100000000"), Ok(MAX_AMOUNT));
    }

    // ----- Shares -----

    #[test]
    fn worked_examples_from_the_spec() {
        assert_eq!(
            split(rub(10_000), rub(2_000), false),
            (rub(4_000), rub(4_000))
        );
        assert_eq!(
            split(rub(10_000), rub(2_000), true),
            (rub(4_800), rub(3_200))
        );
        assert_eq!(split(rub(5_000), rub(0), false), (rub(2_000), rub(3_000)));
        assert_eq!(split(rub(5_000), rub(0), true), (rub(2_500), rub(2_500)));
    }

    #[test]
    fn breakdown_carries_every_amount() {
        let b = close_order(rub(10_000), rub(2_000), true, &SharePolicy::default()).unwrap();
        assert_eq!(
            b,
            Breakdown {
                total: rub(10_000),
                materials: rub(2_000),
                net: rub(8_000),
                master: rub(4_800),
                company: rub(3_200),
                has_review: true,
                master_percent: 60,
                percent: PercentParts {
                    base: 50,
                    review_bonus: 10,
                    ..PercentParts::default()
                },
                payment: Payment::Cash,
                prepayment: Kopecks::ZERO,
                cash_due: rub(3_200),
            }
        );
    }

    #[test]
    fn net_exactly_at_the_threshold_gets_the_high_share() {
        assert_eq!(split(rub(7_000), rub(0), false), (rub(3_500), rub(3_500)));
        assert_eq!(
            split(rub(9_000), rub(2_000), false),
            (rub(3_500), rub(3_500))
        );
        // One kopeck below: 40% of 6 999,99 = 2 799,996 -> 2 800,00.
        assert_eq!(
            split(Kopecks(699_999), Kopecks::ZERO, false),
            (Kopecks(280_000), Kopecks(419_999))
        );
    }

    #[test]
    fn odd_kopecks_round_half_up_and_still_add_up() {
        // 40% of 0,01 = 0,004 -> 0; 50% of 0,01 = 0,005 -> 0,01.
        assert_eq!(
            split(Kopecks(1), Kopecks::ZERO, false),
            (Kopecks(0), Kopecks(1))
        );
        assert_eq!(
            split(Kopecks(1), Kopecks::ZERO, true),
            (Kopecks(1), Kopecks(0))
        );
        // 40% of 1 234,57 = 493,828 -> 493,83; 50% = 617,285 -> 617,29.
        assert_eq!(
            split(Kopecks(123_457), Kopecks::ZERO, false),
            (Kopecks(49_383), Kopecks(74_074))
        );
        assert_eq!(
            split(Kopecks(123_457), Kopecks::ZERO, true),
            (Kopecks(61_729), Kopecks(61_728))
        );
    }

    #[test]
    fn materials_equal_to_total_leave_nothing_to_share() {
        let b = close_order(rub(3_000), rub(3_000), true, &SharePolicy::default()).unwrap();
        assert_eq!(
            (b.net, b.master, b.company),
            (Kopecks::ZERO, Kopecks::ZERO, Kopecks::ZERO)
        );
    }

    #[test]
    fn materials_above_total_are_refused() {
        assert_eq!(
            close_order(rub(3_000), Kopecks(300_001), false, &SharePolicy::default()),
            Err(MoneyError::MaterialsExceedTotal {
                total: rub(3_000),
                materials: Kopecks(300_001)
            })
        );
    }

    #[test]
    fn negative_amounts_are_refused() {
        let policy = SharePolicy::default();
        assert_eq!(
            close_order(Kopecks(-1), Kopecks::ZERO, false, &policy),
            Err(MoneyError::Negative)
        );
        assert_eq!(
            close_order(rub(10), Kopecks(-1), false, &policy),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn review_bonus_can_be_switched_off() {
        let policy = SharePolicy {
            review_bonus_enabled: false,
            ..SharePolicy::default()
        };
        let b = close_order(rub(10_000), rub(2_000), true, &policy).unwrap();
        assert_eq!(
            (b.master, b.company, b.master_percent),
            (rub(4_000), rub(4_000), 50)
        );
        assert!(b.has_review, "the review is still recorded");
    }

    #[test]
    fn a_policy_giving_more_than_the_net_is_refused() {
        let policy = SharePolicy {
            high_percent: 95,
            ..SharePolicy::default()
        };
        assert_eq!(
            policy.validate(),
            Err(MoneyError::PercentOver100 { percent: 105 })
        );
        assert_eq!(
            close_order(rub(100), rub(0), false, &policy),
            Err(MoneyError::PercentOver100 { percent: 105 })
        );
        // Without the bonus the same percentages are fine.
        let no_bonus = SharePolicy {
            review_bonus_enabled: false,
            ..policy
        };
        assert_eq!(no_bonus.validate(), Ok(()));
        assert_eq!(SharePolicy::default().validate(), Ok(()));
    }

    #[test]
    fn shares_always_add_up_to_net() {
        let policies = [
            SharePolicy::default(),
            SharePolicy {
                threshold: Kopecks(1),
                high_percent: 33,
                low_percent: 17,
                review_bonus_percent: 67,
                review_bonus_enabled: true,
            },
            SharePolicy {
                threshold: MAX_AMOUNT,
                high_percent: 100,
                low_percent: 0,
                review_bonus_percent: 0,
                review_bonus_enabled: false,
            },
        ];
        // A cheap deterministic pseudo-random walk over amounts, plus the edges.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut amounts = vec![0, 1, 2, 3, 49, 50, 51, 99, 100, 699_999, 700_000, 700_001];
        amounts.push(MAX_AMOUNT.get());
        for _ in 0..2_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            amounts.push(((seed >> 11) % (MAX_AMOUNT.get() as u64 + 1)) as i64);
        }
        let mut checked = 0;
        for policy in &policies {
            for (i, &total) in amounts.iter().enumerate() {
                let materials = [
                    0,
                    total / 3,
                    total,
                    amounts[(i * 7) % amounts.len()] % (total + 1),
                ];
                for materials in materials {
                    for review in [false, true] {
                        let b = close_order(Kopecks(total), Kopecks(materials), review, policy)
                            .unwrap();
                        assert_eq!(b.master + b.company, b.net, "{b:?}");
                        assert_eq!(b.net, Kopecks(total - materials));
                        assert!(Kopecks::ZERO <= b.master && b.master <= b.net, "{b:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 40_000);
    }

    // ----- Pay rules -----

    fn rules() -> PayRules {
        PayRules {
            equipment_percent: vec![("Холодильники".into(), 45)],
            ..PayRules::default()
        }
    }

    fn cash(total: Kopecks, materials: Kopecks, has_review: bool) -> Amounts {
        Amounts {
            total,
            materials,
            has_review,
            payment: Payment::Cash,
        }
    }

    #[test]
    fn an_equipment_rate_replaces_the_threshold_rule() {
        let fridge = Job {
            equipment_type: "холодильники ",
            ..PLAIN_JOB
        };
        // Net 10 000 would give 50% by the threshold; the fridge rate is 45%.
        let b = rules()
            .split(cash(rub(10_000), rub(0), false), &fridge)
            .unwrap();
        assert_eq!(
            (b.master, b.company, b.master_percent),
            (rub(4_500), rub(5_500), 45)
        );
        assert!(b.percent.base_from_equipment);
        // Other equipment keeps the threshold rule.
        let b = rules()
            .split(cash(rub(10_000), rub(0), false), &PLAIN_JOB)
            .unwrap();
        assert_eq!(
            (b.master_percent, b.percent.base_from_equipment),
            (50, false)
        );
    }

    #[test]
    fn out_of_city_adds_its_bonus_on_top_of_the_review() {
        let far = Job {
            out_of_city: true,
            ..PLAIN_JOB
        };
        // 40% + 10% review + 10% out of city of net 5 000.
        let b = rules().split(cash(rub(5_000), rub(0), true), &far).unwrap();
        assert_eq!(
            (b.master, b.company, b.master_percent),
            (rub(3_000), rub(2_000), 60)
        );
        assert_eq!(b.percent.out_of_city_bonus, 10);
    }

    #[test]
    fn a_senior_master_never_gets_less_than_the_floor() {
        let senior = Job {
            senior_master: true,
            ..PLAIN_JOB
        };
        // 40% by the threshold is raised to 50%.
        let b = rules()
            .split(cash(rub(5_000), rub(0), false), &senior)
            .unwrap();
        assert_eq!((b.master, b.master_percent), (rub(2_500), 50));
        assert_eq!(b.percent.senior_floor, Some(50));
        // Above the floor the bonuses count as usual and the floor is not mentioned.
        let b = rules()
            .split(cash(rub(10_000), rub(0), true), &senior)
            .unwrap();
        assert_eq!((b.master_percent, b.percent.senior_floor), (60, None));
    }

    #[test]
    fn cash_due_is_what_the_master_holds_beyond_his_share_and_materials() {
        // Cash: he holds 10 000, keeps 4 000 + 2 000 materials, owes the company 4 000.
        let b = rules()
            .split(cash(rub(10_000), rub(2_000), false), &PLAIN_JOB)
            .unwrap();
        assert_eq!(b.cash_due, b.company);
        assert_eq!(b.cash_due, rub(4_000));
        // Cashless: the company got everything and owes him his share and materials.
        let cashless = Amounts {
            payment: Payment::Cashless,
            ..cash(rub(10_000), rub(2_000), false)
        };
        let b = rules().split(cashless, &PLAIN_JOB).unwrap();
        assert_eq!(b.cash_due, rub(-6_000));
        // Cashless after a cash prepayment of 3 000: he holds 3 000, is owed 6 000.
        let prepaid = Job {
            prepayment: rub(3_000),
            ..PLAIN_JOB
        };
        let b = rules().split(cashless, &prepaid).unwrap();
        assert_eq!((b.cash_due, b.due_at_closing()), (rub(-3_000), rub(7_000)));
    }

    #[test]
    fn a_total_below_the_prepayment_is_refused() {
        let prepaid = Job {
            prepayment: rub(3_000),
            ..PLAIN_JOB
        };
        assert_eq!(
            rules().split(cash(rub(2_999), rub(0), false), &prepaid),
            Err(MoneyError::TotalBelowPrepayment {
                total: rub(2_999),
                prepayment: rub(3_000)
            })
        );
    }

    #[test]
    fn rules_that_could_give_more_than_the_net_are_refused() {
        let greedy = PayRules {
            equipment_percent: vec![("Холодильники".into(), 85)],
            ..PayRules::default()
        };
        // 85 + 10 review + 10 out of city.
        assert_eq!(
            greedy.validate(),
            Err(MoneyError::PercentOver100 { percent: 105 })
        );
        let floor = PayRules {
            senior_floor_percent: 101,
            ..PayRules::default()
        };
        assert_eq!(
            floor.validate(),
            Err(MoneyError::PercentOver100 { percent: 101 })
        );
        assert_eq!(PayRules::default().validate(), Ok(()));
    }

    #[test]
    fn every_rule_together_still_adds_up_to_net_and_balances_the_cash() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: i64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 11) % (bound as u64 + 1)) as i64
        };
        for _ in 0..20_000 {
            let total = Kopecks(next(MAX_AMOUNT.get()));
            let materials = Kopecks(next(total.get()));
            let prepayment = Kopecks(next(total.get()));
            let job = Job {
                equipment_type: if next(1) == 1 {
                    "Холодильники"
                } else {
                    "Кофемашины"
                },
                out_of_city: next(1) == 1,
                senior_master: next(1) == 1,
                prepayment,
            };
            let payment = if next(1) == 1 {
                Payment::Cash
            } else {
                Payment::Cashless
            };
            let amounts = Amounts {
                total,
                materials,
                has_review: next(1) == 1,
                payment,
            };
            let b = rules().split(amounts, &job).unwrap();
            assert_eq!(b.master + b.company, b.net, "{b:?}");
            assert!(Kopecks::ZERO <= b.master && b.master <= b.net, "{b:?}");
            // What the master holds = his share + materials + what he owes the company.
            let held = if payment == Payment::Cash {
                total
            } else {
                prepayment
            };
            assert_eq!(held, b.master + b.materials + b.cash_due, "{b:?}");
        }
    }
}
