//! Checks for what a dispatcher types during order intake and editing (SPEC 2.2): equipment
//! types, text lengths, and the client's phone. Lengths count characters, not bytes, because
//! the texts are mostly Cyrillic (two bytes a letter in UTF-8).

use std::fmt;
use std::str::FromStr;

/// The equipment types offered at intake, in the order the buttons show them.
pub const EQUIPMENT_TYPES: &[&str] = &[
    "Стиральные машины",
    "Духовые шкафы",
    "Посудомоечные машины",
    "Кофемашины",
    "Сантехника",
    "Электрика",
    "Водонагреватели",
    "Телевизоры",
    "Холодильники",
    "Сушильные машины",
];

/// The listed equipment type spelled exactly as `input` (after trimming), if any; a button's
/// text or callback is checked here so a forged value cannot reach the database.
pub fn equipment_type(input: &str) -> Option<&'static str> {
    let input = input.trim();
    EQUIPMENT_TYPES.iter().copied().find(|t| *t == input)
}

/// Inclusive bounds on a text's length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub min: usize,
    pub max: usize,
}

pub const DESCRIPTION: Limits = Limits { min: 10, max: 500 };
pub const CLIENT_NAME: Limits = Limits { min: 2, max: 200 };
pub const ADDRESS: Limits = Limits { min: 5, max: 500 };
/// Optional: an empty answer means "none".
pub const NOTES: Limits = Limits { min: 0, max: 1000 };
/// Optional: an empty answer means "none".
pub const ARRIVAL: Limits = Limits { min: 0, max: 100 };

/// Why a text was not accepted; carries the limit so the message can quote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("too short: {actual} characters, at least {min} needed")]
    TooShort { min: usize, actual: usize },
    #[error("too long: {actual} characters, at most {max} allowed")]
    TooLong { max: usize, actual: usize },
    #[error("must contain at least one letter")]
    NoLetter,
}

/// Problem description: 10-500 characters.
pub fn validate_description(input: &str) -> Result<String, TextError> {
    within(input, DESCRIPTION)
}

/// Client name: 2-200 characters with at least one letter (so "12" or "--" is refused).
pub fn validate_client_name(input: &str) -> Result<String, TextError> {
    let name = within(input, CLIENT_NAME)?;
    if !name.chars().any(char::is_alphabetic) {
        return Err(TextError::NoLetter);
    }
    Ok(name)
}

/// Address: 5-500 characters.
pub fn validate_address(input: &str) -> Result<String, TextError> {
    within(input, ADDRESS)
}

/// Notes: up to 1000 characters; blank means no notes.
pub fn validate_notes(input: &str) -> Result<Option<String>, TextError> {
    optional_within(input, NOTES)
}

/// Arrival time or instruction: up to 100 characters; blank means none.
pub fn validate_arrival(input: &str) -> Result<Option<String>, TextError> {
    optional_within(input, ARRIVAL)
}

/// The trimmed text, if its length in characters is within `limits`.
fn within(input: &str, limits: Limits) -> Result<String, TextError> {
    let text = input.trim();
    let actual = text.chars().count();
    if actual < limits.min {
        return Err(TextError::TooShort {
            min: limits.min,
            actual,
        });
    }
    if actual > limits.max {
        return Err(TextError::TooLong {
            max: limits.max,
            actual,
        });
    }
    Ok(text.to_string())
}

fn optional_within(input: &str, limits: Limits) -> Result<Option<String>, TextError> {
    let text = within(input, limits)?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// A Russian phone number, always stored as "+7" and ten digits.
///
/// There is deliberately no `Display`: a phone must not slip into a log line by accident.
/// Use [`Phone::as_str`] where the number is meant to be shown, [`Phone::masked`] in logs.
/// In SQL it is the text "+79001234567" (see `domain::sql`); in JSON (a saved dialogue) the same
/// text, parsed again when read, so a stored value that is not a phone is an error, not a phone.
#[derive(Clone, PartialEq, Eq, Hash, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Phone(String);

impl serde::Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Phone::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a phone number was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number given")]
    Empty,
    #[error("a phone number may contain only digits, spaces, dashes, brackets and a leading +")]
    InvalidCharacters,
    #[error("a Russian number has 11 digits with 8 or +7 in front, got {digits} digits")]
    WrongLength { digits: usize },
    #[error("only Russian numbers (+7) are accepted")]
    NotRussian,
    #[error("a 10-digit number must be a mobile one starting with 9; put 8 or +7 in front")]
    MissingPrefix,
}

const COUNTRY_CODE: &str = "+7";
const NATIONAL_DIGITS: usize = 10;

impl Phone {
    /// Normalises "8 (900) 123-45-67", "+7 900 123 45 67", "79001234567", "8-900-123-45-67"
    /// and "9001234567" to "+79001234567".
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (has_plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !rest.chars().all(is_phone_char) {
            return Err(PhoneError::InvalidCharacters);
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        national_number(&digits, has_plus)
            .map(|national| Phone(format!("{COUNTRY_CODE}{national}")))
    }

    /// "+79001234567".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "+7******4567": enough to tell numbers apart in logs without revealing them.
    pub fn masked(&self) -> String {
        let last_four = &self.0[self.0.len() - 4..];
        format!("{COUNTRY_CODE}******{last_four}")
    }
}

fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '(' | ')')
}

/// The ten digits after the country code. With a "+", only +7 is Russian; without one,
/// 8 (the domestic prefix) or 7 lead 11 digits, and a bare 10-digit number must be a mobile
/// (starting with 9), since a landline without its prefix is too easy to mistype.
fn national_number(digits: &str, has_plus: bool) -> Result<&str, PhoneError> {
    let first = digits.chars().next();
    let prefixed_len = NATIONAL_DIGITS + 1;
    if has_plus {
        if first != Some('7') {
            return Err(PhoneError::NotRussian);
        }
        if digits.len() != prefixed_len {
            return Err(PhoneError::WrongLength {
                digits: digits.len(),
            });
        }
        return Ok(&digits[1..]);
    }
    match digits.len() {
        n if n == prefixed_len && matches!(first, Some('7' | '8')) => Ok(&digits[1..]),
        n if n == prefixed_len => Err(PhoneError::NotRussian),
        NATIONAL_DIGITS if first == Some('9') => Ok(digits),
        // Starting with the prefix, ten digits are more likely a number missing one.
        NATIONAL_DIGITS if !matches!(first, Some('7' | '8')) => Err(PhoneError::MissingPrefix),
        n => Err(PhoneError::WrongLength { digits: n }),
    }
}

impl FromStr for Phone {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

/// Masked, so `{:?}` in a log or a panic message does not reveal the number.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` Cyrillic characters (two bytes each in UTF-8).
    fn cyrillic(n: usize) -> String {
        "ж".repeat(n)
    }

    // ----- Equipment -----

    #[test]
    fn equipment_types_are_the_ten_from_the_spec() {
        assert_eq!(EQUIPMENT_TYPES.len(), 10);
        assert_eq!(equipment_type(" Кофемашины "), Some("Кофемашины"));
        assert_eq!(equipment_type("кофемашины"), None);
        assert_eq!(equipment_type("Пылесосы"), None);
        assert_eq!(equipment_type(""), None);
    }

    // ----- Texts -----

    #[test]
    fn description_boundaries_count_characters() {
        let short = Err(TextError::TooShort { min: 10, actual: 9 });
        assert_eq!(validate_description(&cyrillic(9)), short);
        assert_eq!(validate_description(&cyrillic(10)), Ok(cyrillic(10)));
        assert_eq!(validate_description(&cyrillic(500)), Ok(cyrillic(500)));
        assert_eq!(
            validate_description(&cyrillic(501)),
            Err(TextError::TooLong {
                max: 500,
                actual: 501
            })
        );
        // 300 Cyrillic letters are 600 bytes: still fine.
        assert!(validate_description(&cyrillic(300)).is_ok());
    }

    #[test]
    fn texts_are_trimmed_before_counting() {
        let padded = format!("  \n{}\t ", cyrillic(10));
        assert_eq!(validate_description(&padded), Ok(cyrillic(10)));
        let padded_short = format!("     {}     ", cyrillic(9));
        assert_eq!(
            validate_description(&padded_short),
            Err(TextError::TooShort { min: 10, actual: 9 })
        );
        assert_eq!(
            validate_description("   "),
            Err(TextError::TooShort { min: 10, actual: 0 })
        );
    }

    #[test]
    fn emoji_count_as_one_character_each() {
        assert_eq!(validate_description(&"💧".repeat(10)), Ok("💧".repeat(10)));
        assert!(validate_description(&"💧".repeat(9)).is_err());
    }

    #[test]
    fn client_name_boundaries_and_letter() {
        assert_eq!(
            validate_client_name("Ж"),
            Err(TextError::TooShort { min: 2, actual: 1 })
        );
        assert_eq!(validate_client_name("Ян"), Ok("Ян".to_string()));
        assert_eq!(validate_client_name(&cyrillic(200)), Ok(cyrillic(200)));
        assert_eq!(
            validate_client_name(&cyrillic(201)),
            Err(TextError::TooLong {
                max: 200,
                actual: 201
            })
        );
        assert_eq!(validate_client_name("12"), Err(TextError::NoLetter));
        assert_eq!(validate_client_name("-- !"), Err(TextError::NoLetter));
        assert_eq!(
            validate_client_name(" ООО «Ромашка» "),
            Ok("ООО «Ромашка»".to_string())
        );
        assert_eq!(validate_client_name("Cafe 24"), Ok("Cafe 24".to_string()));
    }

    #[test]
    fn address_boundaries() {
        assert_eq!(
            validate_address(&cyrillic(4)),
            Err(TextError::TooShort { min: 5, actual: 4 })
        );
        assert_eq!(validate_address(&cyrillic(5)), Ok(cyrillic(5)));
        assert_eq!(validate_address(&cyrillic(500)), Ok(cyrillic(500)));
        assert_eq!(
            validate_address(&cyrillic(501)),
            Err(TextError::TooLong {
                max: 500,
                actual: 501
            })
        );
    }

    #[test]
    fn notes_are_optional_up_to_1000() {
        assert_eq!(validate_notes(""), Ok(None));
        assert_eq!(validate_notes("  \n "), Ok(None));
        assert_eq!(validate_notes(" a "), Ok(Some("a".to_string())));
        assert_eq!(validate_notes(&cyrillic(1000)), Ok(Some(cyrillic(1000))));
        assert_eq!(
            validate_notes(&cyrillic(1001)),
            Err(TextError::TooLong {
                max: 1000,
                actual: 1001
            })
        );
    }

    #[test]
    fn arrival_is_optional_up_to_100() {
        assert_eq!(validate_arrival(""), Ok(None));
        assert_eq!(
            validate_arrival("завтра после 18:00"),
            Ok(Some("завтра после 18:00".to_string()))
        );
        assert_eq!(validate_arrival(&cyrillic(100)), Ok(Some(cyrillic(100))));
        assert_eq!(
            validate_arrival(&cyrillic(101)),
            Err(TextError::TooLong {
                max: 100,
                actual: 101
            })
        );
    }

    #[test]
    fn text_errors_quote_the_limit() {
        let err = validate_address("abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "too short: 3 characters, at least 5 needed"
        );
        let err = validate_arrival(&"x".repeat(101)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "too long: 101 characters, at most 100 allowed"
        );
    }

    // ----- Phones -----

    #[test]
    fn accepts_every_usual_way_of_writing_a_russian_number() {
        let inputs = [
            "8 (900) 123-45-67",
            "+7 900 123 45 67",
            "+7 (900) 123-45-67",
            "+79001234567",
            "79001234567",
            "89001234567",
            "8-900-123-45-67",
            "8 900 1234567",
            "9001234567",
            "900 123 45 67",
            "  +7\u{a0}900\u{a0}123\u{a0}45\u{a0}67  ",
        ];
        for input in inputs {
            let phone = Phone::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(phone.as_str(), "+79001234567", "{input:?}");
        }
    }

    #[test]
    fn accepts_landlines_with_a_prefix() {
        assert_eq!(
            Phone::parse("8 (495) 123-45-67").unwrap().as_str(),
            "+74951234567"
        );
        assert_eq!(
            Phone::parse("+7 812 123 45 67").unwrap().as_str(),
            "+78121234567"
        );
    }

    #[test]
    fn refuses_what_is_not_a_russian_number() {
        use PhoneError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("+7 900 123 45 6", WrongLength { digits: 10 }),
            ("+7 900 123 45 678", WrongLength { digits: 12 }),
            ("8 900 123 45 6", WrongLength { digits: 10 }),
            ("8 900 123 45 678", WrongLength { digits: 12 }),
            ("900 123 45 6", WrongLength { digits: 9 }),
            ("123", WrongLength { digits: 3 }),
            ("+", Empty),
            ("( ) -", Empty),
            ("+380 50 123 45 67", NotRussian),
            ("+1 202 555 0123", NotRussian),
            ("+49 30 1234567", NotRussian),
            ("+8 900 123 45 67", NotRussian),
            ("19001234567", NotRussian),
            ("4951234567", MissingPrefix),
            ("(495) 123-45-67", MissingPrefix),
            ("8 900 ABC 45 67", InvalidCharacters),
            ("восемь 900 123 45 67", InvalidCharacters),
            ("8.900.123.45.67", InvalidCharacters),
            ("++79001234567", InvalidCharacters),
            ("8 900 123 45 67 +", InvalidCharacters),
            ("89001234567 доб. 12", InvalidCharacters),
            ("８９００１２３４５６７", InvalidCharacters),
        ];
        for (input, error) in cases {
            assert_eq!(Phone::parse(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn masked_keeps_only_the_last_four_digits() {
        let phone: Phone = "8 (900) 123-45-67".parse().unwrap();
        assert_eq!(phone.masked(), "+7******4567");
        let debug = format!("{phone:?}");
        assert!(!debug.contains("9001234567"), "{debug}");
        assert!(debug.contains("+7******4567"), "{debug}");
    }

    #[test]
    fn a_normalised_number_parses_to_itself() {
        let phone = Phone::parse("+79161234567").unwrap();
        assert_eq!(Phone::parse(phone.as_str()), Ok(phone));
    }
}
