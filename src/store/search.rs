//! Finding orders (SPEC 2.6): by the client's phone, by order number, by a fragment of the
//! address; and the lists by status. Every list is newest first and paged by keyset (the id
//! of the last order seen), so paging neither repeats nor skips an order while new orders
//! arrive or old ones change status, and each page costs the same on a million orders.
//!
//! Indexes (migration `2026-11-25-000001_order_search`):
//! * status lists: `idx_orders_status_id (status, id)`;
//! * phone: `idx_orders_client_phone (client_phone)`, id order inside a phone for free;
//! * address: the FTS5 table `order_search` with the trigram tokenizer, which folds letter
//!   case for all of Unicode (SQLite's `LOWER` and `LIKE` fold ASCII only), so "ЛЕСНАЯ" finds
//!   "ул. Лесная". The index holds "ё" as "е", and a fragment is folded the same way, so
//!   "Зеленая" finds "Зелёная" and back. Trigrams need a fragment of at least three characters:
//!   a shorter one is refused ([`Refused::TooShort`]) rather than scanned.
//! * order number: the primary key.
//! * soft-deleted orders (`deleted_at` set) are in no list and no search: every filter above
//!   adds `deleted_at IS NULL`, checked on the rows the index found; the admins' list of
//!   deleted orders reads the partial index `idx_orders_deleted`, and [`count_by_status`]
//!   subtracts the deleted orders per status, read through `idx_orders_deleted_status`, from
//!   the counts of the status index (both partial indexes hold deleted orders only: migration
//!   `2026-12-04-000003_deleted_orders_index`).
//!
//! [`plan`] and [`status_plan`] return SQLite's `EXPLAIN QUERY PLAN` of exactly the statements
//! these functions run (tests and the benchmark check that no page scans `orders`).

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use super::orders::Order;
use crate::domain::status::OrderStatus;
use crate::domain::validation::{Phone, PhoneError};
use crate::schema::{order_search, orders, search_queries};

/// Trigrams: a shorter address fragment cannot use the index.
pub const MIN_FRAGMENT_CHARS: usize = 3;
/// Digits-only input of up to this many digits is an order number (ids of a million orders
/// have seven; a phone has ten or eleven).
pub const MAX_ORDER_ID_DIGITS: usize = 9;
/// Page sizes are clamped to 1..=MAX_PAGE_SIZE.
pub const MAX_PAGE_SIZE: usize = 100;

/// What the dispatcher typed, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A phone in any format [`Phone::parse`] accepts, normalised: "+79001234567".
    Phone(String),
    /// An order number.
    OrderId(i64),
    /// A fragment of the address, trimmed, at least [`MIN_FRAGMENT_CHARS`] characters, in any
    /// letter case.
    Address(String),
}

/// Why a search text was not searched; [`Refused::code`] names the message to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("nothing to search for")]
    Empty,
    #[error("an address fragment needs at least {min} characters")]
    TooShort { min: usize },
    /// Typed like a phone (only digits, blanks, dashes, brackets, a leading "+"; more digits
    /// than an order number has, or a "+") but not a number [`Phone::parse`] accepts: the
    /// phone error says what is wrong ("put 8 or +7 in front", "11 digits"...).
    #[error("not a phone number: {0}")]
    BadPhone(PhoneError),
}

impl Refused {
    /// A stable code for the UI's message: "search.empty" ("type a phone, a number or part of
    /// the address"), "search.too_short" ("at least 3 letters"), "search.bad_phone" (then
    /// show the [`PhoneError`] as intake does).
    pub fn code(self) -> &'static str {
        match self {
            Refused::Empty => "search.empty",
            Refused::TooShort { .. } => "search.too_short",
            Refused::BadPhone(_) => "search.bad_phone",
        }
    }
}

/// Decides what `input` is, in this order:
/// 1. a phone, if [`Phone::parse`] accepts it ("+7 900 123-45-67", "89001234567",
///    "8 (900) 123 45 67", "9001234567": ten or eleven digits);
/// 2. an order number: up to [`MAX_ORDER_ID_DIGITS`] digits, optionally after "#" or "№"
///    ("1234", "#1234", "№ 1234");
/// 3. refused as a wrong phone: phone characters only, with a "+" or more than
///    [`MAX_ORDER_ID_DIGITS`] digits ("4951234567" lacks its 8, "+7 900 123");
/// 4. otherwise an address fragment of at least [`MIN_FRAGMENT_CHARS`] characters.
///
/// A text is never both a phone and a number: phones have ten or more digits, numbers nine
/// at most, so the order of 1 and 2 decides nothing. A bare number is never searched in
/// addresses: "15" is order 15; for house 15 type "д. 15" or the street.
pub fn classify(input: &str) -> Result<Query, Refused> {
    let text = input.trim();
    if text.is_empty() {
        return Err(Refused::Empty);
    }
    let phone_error = match Phone::parse(text) {
        Ok(phone) => return Ok(Query::Phone(phone.as_str().to_string())),
        Err(error) => error,
    };
    let number = text
        .strip_prefix('#')
        .or_else(|| text.strip_prefix('№'))
        .unwrap_or(text)
        .trim_start();
    if !number.is_empty()
        && number.len() <= MAX_ORDER_ID_DIGITS
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        // Nine digits always fit an i64.
        return Ok(Query::OrderId(number.parse().unwrap_or(0)));
    }
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    let phone_like = rest
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '(' | ')'));
    if phone_like && digits > 0 && (plus || digits > MAX_ORDER_ID_DIGITS) {
        return Err(Refused::BadPhone(phone_error));
    }
    if text.chars().count() < MIN_FRAGMENT_CHARS {
        return Err(Refused::TooShort {
            min: MIN_FRAGMENT_CHARS,
        });
    }
    Ok(Query::Address(text.to_string()))
}

/// A page position: which side of an order id the page lies on. Ids only grow, so a cursor
/// stays valid while orders are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cursor {
    /// The orders older than this id ("next": further down the list).
    Before(i64),
    /// The orders newer than this id ("previous": back up the list).
    After(i64),
}

impl Cursor {
    /// A short token for callback data: "b123" / "a123".
    pub fn token(self) -> String {
        match self {
            Cursor::Before(id) => format!("b{id}"),
            Cursor::After(id) => format!("a{id}"),
        }
    }

    /// The cursor of a [`Cursor::token`]; None for anything else.
    pub fn from_token(token: &str) -> Option<Cursor> {
        let (kind, id) = token.split_at_checked(1)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id = id.parse().ok()?;
        match kind {
            "b" => Some(Cursor::Before(id)),
            "a" => Some(Cursor::After(id)),
            _ => None,
        }
    }
}

/// One page, newest first. `next` leads to older orders, `prev` to newer ones; each is None
/// when there is nothing on that side (checked, not guessed). The first page (no cursor) has
/// no `prev`: orders created after it was shown appear when the list is opened again. An
/// empty page (everything beyond the cursor left the list, e.g. changed status) has no links:
/// offer the first page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
}

impl<T> Page<T> {
    fn empty() -> Self {
        Page {
            items: Vec::new(),
            next: None,
            prev: None,
        }
    }
}

/// The orders matching `query`, newest first, `page_size` at a time (clamped to 1..=100),
/// starting at `page` (None: the newest). An order number gives that order or nothing.
pub fn search(
    conn: &mut SqliteConnection,
    query: &Query,
    page: Option<Cursor>,
    page_size: usize,
) -> QueryResult<Page<Order>> {
    match Filter::of(query) {
        Some(filter) => paginate(conn, &filter, page, page_size),
        None => Ok(Page::empty()),
    }
}

/// The soft-deleted orders, newest first (by id), `page_size` at a time from `cursor`.
pub fn list_deleted(
    conn: &mut SqliteConnection,
    cursor: Option<Cursor>,
    page_size: usize,
) -> QueryResult<Page<Order>> {
    paginate(conn, &Filter::Deleted, cursor, page_size)
}

/// How many orders are soft-deleted.
pub fn count_deleted(conn: &mut SqliteConnection) -> QueryResult<i64> {
    deleted_orders().select(count_star()).get_result(conn)
}

/// `EXPLAIN QUERY PLAN` of a page of [`list_deleted`].
pub fn deleted_plan(
    conn: &mut SqliteConnection,
    cursor: Option<Cursor>,
) -> QueryResult<Vec<String>> {
    built(&Filter::Deleted, Bound::of(cursor), 2).plan(conn)
}

/// `EXPLAIN QUERY PLAN` of the count of deleted orders per status [`count_by_status`]
/// subtracts.
pub fn deleted_count_plan(conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    super::plan::explain(conn, deleted_per_status())
}

#[diesel::dsl::auto_type]
fn deleted_orders() -> _ {
    orders::table.filter(orders::deleted_at.is_not_null())
}

#[diesel::dsl::auto_type]
fn deleted_per_status() -> _ {
    let deleted: deleted_orders = deleted_orders();
    deleted
        .group_by(orders::status)
        .select((orders::status, count_star()))
}

/// The orders in `status`, newest first (by id), `page_size` at a time from `cursor`.
pub fn list_by_status(
    conn: &mut SqliteConnection,
    status: OrderStatus,
    cursor: Option<Cursor>,
    page_size: usize,
) -> QueryResult<Page<Order>> {
    paginate(conn, &Filter::Status(status.as_str()), cursor, page_size)
}

/// How many orders (soft-deleted ones left out) are in each status, every status listed
/// (zeros included), in the order of [`OrderStatus::ALL`]. Reads the status index only (no
/// table rows), less the deleted orders found through their own small index: a filter on
/// `deleted_at` here would read every row.
pub fn count_by_status(conn: &mut SqliteConnection) -> QueryResult<Vec<(OrderStatus, i64)>> {
    conn.transaction(|conn| {
        let counted: Vec<(String, i64)> = orders::table
            .group_by(orders::status)
            .select((orders::status, count_star()))
            .load(conn)?;
        let deleted: Vec<(String, i64)> = deleted_per_status().load(conn)?;
        let of = |rows: &[(String, i64)], status: OrderStatus| {
            rows.iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n)
        };
        Ok(OrderStatus::ALL
            .into_iter()
            .map(|status| (status, of(&counted, status) - of(&deleted, status)))
            .collect())
    })
}

/// Searches behind paging buttons are kept this long after their last use; a button of an
/// older search asks to search again.
pub const SAVED_SEARCH_DAYS: i64 = 30;

/// Keeps a search text for the paging buttons of its results (callback data holds 64 bytes,
/// the text may be longer) and returns its id: the same id for the same text. Marks it used
/// `now` and forgets texts unused for [`SAVED_SEARCH_DAYS`].
pub fn remember(conn: &mut SqliteConnection, text: &str, now: NaiveDateTime) -> QueryResult<i64> {
    conn.immediate_transaction(|conn| {
        diesel::delete(
            search_queries::table
                .filter(search_queries::used_at.lt(now - TimeDelta::days(SAVED_SEARCH_DAYS))),
        )
        .execute(conn)?;
        diesel::insert_into(search_queries::table)
            .values((
                search_queries::text.eq(text),
                search_queries::used_at.eq(now),
            ))
            .on_conflict(search_queries::text)
            .do_update()
            .set(search_queries::used_at.eq(now))
            .returning(search_queries::id)
            .get_result(conn)
    })
}

/// The text of a search kept by [`remember`], marked used `now`; None when it is unknown
/// (forgotten after [`SAVED_SEARCH_DAYS`], or an id nobody was given).
pub fn recall(
    conn: &mut SqliteConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    diesel::update(search_queries::table.find(id))
        .set(search_queries::used_at.eq(now))
        .returning(search_queries::text)
        .get_result(conn)
        .optional()
}

/// `EXPLAIN QUERY PLAN` of the statement that loads a page of `query` from `cursor` (its
/// `detail` lines, e.g. "SEARCH orders USING INDEX idx_orders_client_phone (client_phone=?)").
pub fn plan(
    conn: &mut SqliteConnection,
    query: &Query,
    cursor: Option<Cursor>,
) -> QueryResult<Vec<String>> {
    match Filter::of(query) {
        Some(filter) => built(&filter, Bound::of(cursor), 2).plan(conn),
        None => Ok(Vec::new()),
    }
}

/// `EXPLAIN QUERY PLAN` of the statement that loads a page of a status list.
pub fn status_plan(
    conn: &mut SqliteConnection,
    status: OrderStatus,
    cursor: Option<Cursor>,
) -> QueryResult<Vec<String>> {
    built(&Filter::Status(status.as_str()), Bound::of(cursor), 2).plan(conn)
}

/// `EXPLAIN QUERY PLAN` of [`count_by_status`].
pub fn count_plan(conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    super::plan::explain(
        conn,
        orders::table
            .group_by(orders::status)
            .select((orders::status, count_star())),
    )
}

// ----- Internals -----

/// Which orders a list holds.
enum Filter<'a> {
    /// The soft-deleted orders (every other filter leaves them out).
    Deleted,
    Status(&'static str),
    Phone(&'a str),
    Id(i64),
    /// An FTS5 query: the folded fragment as one quoted phrase.
    Address(String),
}

impl<'a> Filter<'a> {
    /// None when the query cannot match anything (an address fragment too short for
    /// trigrams, reached without [`classify`]).
    fn of(query: &'a Query) -> Option<Filter<'a>> {
        match query {
            Query::Phone(phone) => Some(Filter::Phone(phone)),
            Query::OrderId(id) => Some(Filter::Id(*id)),
            Query::Address(fragment) => {
                let fragment = fragment.trim();
                (fragment.chars().count() >= MIN_FRAGMENT_CHARS)
                    .then(|| Filter::Address(fts_phrase(fragment)))
            }
        }
    }
}

/// "ё" as "е", as the index holds it (the trigram tokenizer folds letter case itself), in
/// double quotes so that nothing in it is FTS5 syntax: a substring match.
fn fts_phrase(fragment: &str) -> String {
    let folded = fragment.replace('ё', "е").replace('Ё', "Е");
    format!("\"{}\"", folded.replace('"', "\"\""))
}

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bound {
    /// The newest orders, descending.
    Newest,
    /// id < this, descending.
    Below(i64),
    /// id > this, ascending (reversed into a page afterwards).
    Above(i64),
}

impl Bound {
    fn of(cursor: Option<Cursor>) -> Bound {
        match cursor {
            None => Bound::Newest,
            Some(Cursor::Before(id)) => Bound::Below(id),
            Some(Cursor::After(id)) => Bound::Above(id),
        }
    }
}

diesel::infix_operator!(Matches, " MATCH ", backend: Sqlite);

type OrdersPage<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<orders::table, diesel::dsl::AsSelect<Order, Sqlite>>,
    Sqlite,
>;
type AddressPage<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::InnerJoinOn<
            order_search::table,
            orders::table,
            diesel::dsl::Eq<orders::id, order_search::rowid>,
        >,
        diesel::dsl::AsSelect<Order, Sqlite>,
    >,
    Sqlite,
>;

/// A page statement, ready to load or to explain.
enum Built<'a> {
    Orders(OrdersPage<'a>),
    Address(AddressPage<'a>),
}

impl Built<'_> {
    fn load(self, conn: &mut SqliteConnection) -> QueryResult<Vec<Order>> {
        match self {
            Built::Orders(q) => q.load(conn),
            Built::Address(q) => q.load(conn),
        }
    }

    fn plan(self, conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
        match self {
            Built::Orders(q) => super::plan::explain(conn, q),
            Built::Address(q) => super::plan::explain(conn, q),
        }
    }
}

/// At most `limit` orders of `filter` on the `bound` side, in the bound's direction.
fn built<'a>(filter: &'a Filter<'a>, bound: Bound, limit: i64) -> Built<'a> {
    match filter {
        Filter::Address(phrase) => {
            let mut q = order_search::table
                .inner_join(orders::table.on(orders::id.eq(order_search::rowid)))
                .select(Order::as_select())
                .filter(Matches::new(
                    order_search::order_search_,
                    phrase.as_str().into_sql::<Text>(),
                ))
                .filter(orders::deleted_at.is_null())
                .into_boxed();
            // The rowid bound and order go to FTS5, which walks its matches in rowid order.
            q = match bound {
                Bound::Newest => q.order(order_search::rowid.desc()),
                Bound::Below(id) => q
                    .filter(order_search::rowid.lt(id))
                    .order(order_search::rowid.desc()),
                Bound::Above(id) => q
                    .filter(order_search::rowid.gt(id))
                    .order(order_search::rowid.asc()),
            };
            Built::Address(q.limit(limit))
        }
        _ => {
            let mut q = orders::table.select(Order::as_select()).into_boxed();
            q = match filter {
                Filter::Deleted => q.filter(orders::deleted_at.is_not_null()),
                Filter::Status(status) => q.filter(orders::status.eq(*status)),
                Filter::Phone(phone) => q.filter(orders::client_phone.eq(*phone)),
                Filter::Id(id) => q.filter(orders::id.eq(*id)),
                Filter::Address(_) => unreachable!("handled above"),
            };
            if !matches!(filter, Filter::Deleted) {
                q = q.filter(orders::deleted_at.is_null());
            }
            q = match bound {
                Bound::Newest => q.order(orders::id.desc()),
                Bound::Below(id) => q.filter(orders::id.lt(id)).order(orders::id.desc()),
                Bound::Above(id) => q.filter(orders::id.gt(id)).order(orders::id.asc()),
            };
            Built::Orders(q.limit(limit))
        }
    }
}

fn fetch(
    conn: &mut SqliteConnection,
    filter: &Filter<'_>,
    bound: Bound,
    limit: usize,
) -> QueryResult<Vec<Order>> {
    built(filter, bound, limit as i64).load(conn)
}

fn paginate(
    conn: &mut SqliteConnection,
    filter: &Filter<'_>,
    cursor: Option<Cursor>,
    page_size: usize,
) -> QueryResult<Page<Order>> {
    keyset_page(
        cursor,
        page_size,
        |order: &Order| order.id.0,
        |bound, limit| fetch(conn, filter, bound, limit),
    )
}

/// One page of a list kept newest first by an id that only grows (orders, audit rows,
/// users): `fetch(bound, limit)` reads at most `limit` rows on the bound's side, in the
/// bound's direction (descending below, ascending above); `id` names a row's key.
pub(crate) fn keyset_page<T>(
    cursor: Option<Cursor>,
    page_size: usize,
    id: impl Fn(&T) -> i64,
    mut fetch: impl FnMut(Bound, usize) -> QueryResult<Vec<T>>,
) -> QueryResult<Page<T>> {
    let size = page_size.clamp(1, MAX_PAGE_SIZE);
    // One row more than a page tells whether the list goes on in the direction of travel;
    // the other direction is asked separately (one indexed row), never assumed.
    let mut items = fetch(Bound::of(cursor), size + 1)?;
    let more = items.len() > size;
    items.truncate(size);
    let mut any = |bound: Bound| -> QueryResult<bool> { Ok(!fetch(bound, 1)?.is_empty()) };
    let (next, prev) = match cursor {
        None | Some(Cursor::Before(_)) => {
            let next = match items.last() {
                Some(last) if more => Some(Cursor::Before(id(last))),
                _ => None,
            };
            let prev = match items.first() {
                Some(first) if cursor.is_some() && any(Bound::Above(id(first)))? => {
                    Some(Cursor::After(id(first)))
                }
                _ => None,
            };
            (next, prev)
        }
        Some(Cursor::After(_)) => {
            items.reverse();
            let prev = match items.first() {
                Some(first) if more => Some(Cursor::After(id(first))),
                _ => None,
            };
            let next = match items.last() {
                Some(last) if any(Bound::Below(id(last)))? => Some(Cursor::Before(id(last))),
                _ => None,
            };
            (next, prev)
        }
    };
    Ok(Page { items, next, prev })
}
