//! The ids the bot passes around, each its own type, so that a master's row id can never be
//! handed where a Telegram id or an order number belongs. Stored as SQL integers (see `sql`);
//! in JSON (saved dialogues) and in button data they are the bare number, as before.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    };
}

id_type!(
    /// An order's number (`orders.id`), as people see it: №42.
    OrderId
);
id_type!(
    /// A master's row (`masters.id`), not his Telegram id.
    MasterId
);
id_type!(
    /// A person's Telegram user id (`users.telegram_id`); also the id of their private chat
    /// with the bot.
    TelegramId
);

impl TelegramId {
    /// The person's private chat with the bot.
    pub fn chat(self) -> teloxide::types::ChatId {
        teloxide::types::ChatId(self.0)
    }
}
