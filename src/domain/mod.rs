//! Pure business rules: order statuses and who may move them, money, input validation.
//! No I/O here, so every rule is unit-tested without a bot or a database; `sql` only says how
//! the values are spelled in SQL.

/// The details of history and audit rows: structured, and the old English notes read back.
pub mod history;
/// Order, master and Telegram ids as their own types.
pub mod ids;
/// Money in integer kopecks: parsing typed amounts and splitting an order's net.
pub mod money;
/// Report periods in the company's time zone, as half-open UTC ranges.
pub mod period;
/// The SQL spelling of statuses, roles and money (Diesel's ToSql / FromSql).
pub mod sql;
/// Order statuses, roles, and the state machine deciding every order transition.
pub mod status;
/// Intake checks: equipment types, text lengths, and phone normalisation.
pub mod validation;
/// The arrival time typed in Russian, read as a moment (or kept as an instruction).
pub mod visit_time;

pub use ids::{MasterId, OrderId, TelegramId};
pub use money::{
    parse_rubles, AmountError, Amounts, Breakdown, Job, Kopecks, MoneyError, PayRules, Payment,
    SharePolicy,
};
pub use period::{parse_custom, utc_range, Period};
pub use status::{
    available_actions, client_phone_visible_to_master, decide, Action, ActionKind, Actor, Denied,
    OrderFacts, OrderStatus, Role, Transition, UnknownName,
};
pub use validation::{Phone, PhoneError, TextError, EQUIPMENT_TYPES};
