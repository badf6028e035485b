//! How domain values are spelled in SQL: each is written and read by Diesel as its exact
//! database spelling. A value in the database that is not one of them is an error naming it
//! (a silent default would, say, show a closed order as new and offer its buttons again).

use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::{Sqlite, SqliteValue};

use super::ids::{MasterId, OrderId, TelegramId};
use super::money::{Kopecks, Payment};
use super::status::{OrderStatus, Role};
use super::validation::Phone;

/// Text spelling through `as_str` and `FromStr`.
macro_rules! spelled_as_text {
    ($type:ty) => {
        impl ToSql<Text, Sqlite> for $type {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.as_str());
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Sqlite> for $type {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
                Ok(text.parse::<$type>()?)
            }
        }
    };
}

spelled_as_text!(OrderStatus);
spelled_as_text!(Role);
spelled_as_text!(Payment);

/// A newtype over an integer column.
macro_rules! integer_column {
    ($type:ident) => {
        impl ToSql<BigInt, Sqlite> for $type {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.0);
                Ok(IsNull::No)
            }
        }

        impl FromSql<BigInt, Sqlite> for $type {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                <i64 as FromSql<BigInt, Sqlite>>::from_sql(value).map($type)
            }
        }
    };
}

/// A phone is written as its normalised text. Read back as plain text: adopted databases
/// hold whatever the old bot accepted, and a card must still show it.
impl ToSql<Text, Sqlite> for Phone {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.as_str());
        Ok(IsNull::No)
    }
}

// Money is whole kopecks in an integer column: never a float on the way.
integer_column!(Kopecks);
integer_column!(OrderId);
integer_column!(MasterId);
integer_column!(TelegramId);

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::dsl::sql;
    use diesel::prelude::*;

    fn read<T>(literal: &str) -> QueryResult<T>
    where
        T: FromSql<Text, Sqlite> + 'static,
        T: diesel::deserialize::FromSqlRow<Text, Sqlite>,
    {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        diesel::select(sql::<Text>(literal)).get_result(&mut conn)
    }

    #[test]
    fn every_status_role_and_amount_goes_through_sql_and_back() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        for status in OrderStatus::ALL {
            let back: OrderStatus = diesel::select(status.into_sql::<Text>())
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(back, status);
        }
        for role in Role::ALL {
            let back: Role = diesel::select(role.into_sql::<Text>())
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(back, role);
        }
        // The largest amount there is, to the kopeck.
        let amount = Kopecks(10_000_000_001);
        let back: Kopecks = diesel::select(amount.into_sql::<BigInt>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back, amount);
    }

    #[test]
    fn an_unknown_spelling_in_the_database_is_an_error_naming_it() {
        // Diesel names the column in its message and keeps ours as the source.
        let chain = |error: diesel::result::Error| {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        };
        let error = chain(read::<OrderStatus>("'new'").unwrap_err());
        assert!(error.contains("unknown order status \"new\""), "{error}");
        let error = chain(read::<Role>("'OWNER'").unwrap_err());
        assert!(error.contains("unknown role \"OWNER\""), "{error}");
    }

    #[test]
    fn ids_and_phones_are_written_as_their_number_and_normalised_text() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let id = OrderId(9_007_199_254_740_993);
        let back: OrderId = diesel::select(id.into_sql::<BigInt>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back, id);
        let phone = Phone::parse("8 (900) 123-45-67").unwrap();
        let stored: String = diesel::select(phone.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(stored, "+79001234567");
    }

    #[test]
    fn a_saved_phone_that_is_not_a_phone_is_not_read_as_one() {
        let phone: Phone = serde_json::from_str("\"+79001234567\"").unwrap();
        assert_eq!(phone.as_str(), "+79001234567");
        assert!(serde_json::from_str::<Phone>("\"позвонить соседу\"").is_err());
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+79001234567\"");
        let id: MasterId = serde_json::from_str("17").unwrap();
        assert_eq!(
            (id, serde_json::to_string(&TelegramId(5)).unwrap()),
            (MasterId(17), "5".into())
        );
    }
}
