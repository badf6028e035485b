//! Order lists by status and search, a page at a time (keyset pagination: a page never repeats
//! nor skips an order while others are added). Each entry opens the order's card.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::state::State;
use super::{cards, texts, BoxError, HandlerResult};
use crate::domain::ids::OrderId;
use crate::domain::status::{OrderStatus, Role};
use crate::store::orders::{self, Order};
use crate::store::search::{self, Cursor, Page};

const PAGE_SIZE: usize = 10;

fn button(label: &str, callback: Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, callback.encode())
}

/// The typed search text.
pub fn typed() -> UpdateHandler<BoxError> {
    dptree::case![State::Search].endpoint(|ctx: Ctx, typed: Typed| async move {
        ctx.end_dialogue().await?;
        search_page(&ctx, &typed.0, None).await
    })
}

/// The paging buttons of lists and searches.
pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(dptree::case![Callback::List { status, cursor }].endpoint(
            |ctx: Ctx, (status, cursor): (OrderStatus, Option<Cursor>)| async move {
                status_page(&ctx, status, cursor).await
            },
        ))
        .branch(
            dptree::case![Callback::SearchPage { cursor, text }].endpoint(
                |ctx: Ctx, (cursor, text): (Cursor, String)| async move {
                    search_page(&ctx, &text, page(cursor)).await
                },
            ),
        )
        .branch(
            dptree::case![Callback::SavedSearchPage { cursor, search_id }]
                .endpoint(saved_search_page),
        )
        .branch(dptree::case![Callback::DeletedList { cursor }].endpoint(
            |ctx: Ctx, cursor: Option<Cursor>| async move { deleted_page(&ctx, cursor).await },
        ))
}

async fn saved_search_page(ctx: Ctx, (cursor, search_id): (Cursor, i64)) -> HandlerResult {
    let now = ctx.now();
    let text = ctx
        .app
        .db_long(move |conn| search::recall(conn, search_id, now))
        .await?;
    match text {
        Some(text) => search_page(&ctx, &text, page(cursor)).await,
        None => ctx.reply(texts::SEARCH_FORGOTTEN, None).await,
    }
}

/// A paging cursor from a button: the "first page" button carries the cursor before all.
fn page(cursor: Cursor) -> Option<Cursor> {
    (cursor != Cursor::Before(i64::MAX)).then_some(cursor)
}

/// «🔧 Мои заявки»: the master's open orders, a card each.
pub async fn my_orders(ctx: Ctx) -> HandlerResult {
    let Some(master_id) = ctx.member.master.as_ref().map(|m| m.id) else {
        return ctx.reply(texts::NO_OPEN_ORDERS, None).await;
    };
    let open = ctx
        .app
        .db(move |conn| orders::open_for_master(conn, master_id))
        .await?;
    if open.is_empty() {
        return ctx.reply_with_menu(texts::NO_OPEN_ORDERS).await;
    }
    for order in &open {
        cards::show(&ctx.bot, &ctx.app, ctx.chat, None, order, &ctx.member).await;
    }
    Ok(())
}

/// The statuses with their counts; each opens its list.
pub async fn statuses(ctx: Ctx) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let admin = ctx.has(Role::Admin);
    let (counts, deleted) = ctx
        .app
        .db_long(move |conn| {
            let deleted = if admin {
                Some(search::count_deleted(conn)?)
            } else {
                None
            };
            Ok((search::count_by_status(conn)?, deleted))
        })
        .await?;
    let mut rows: Vec<Vec<InlineKeyboardButton>> = counts
        .chunks(2)
        .map(|pair| {
            pair.iter()
                .map(|(status, n)| {
                    button(
                        &texts::status_button(*status, *n),
                        Callback::List {
                            status: *status,
                            cursor: None,
                        },
                    )
                })
                .collect()
        })
        .collect();
    if let Some(deleted) = deleted {
        rows.push(vec![button(
            &texts::deleted_button(deleted),
            Callback::DeletedList { cursor: None },
        )]);
    }
    let markup = InlineKeyboardMarkup::new(rows).into();
    ctx.reply(texts::PICK_STATUS, Some(markup)).await
}

/// A page of the soft-deleted orders (admins); each entry opens the deleted order's card.
pub async fn deleted_page(ctx: &Ctx, cursor: Option<Cursor>) -> HandlerResult {
    if !ctx.has(Role::Admin) {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let page = ctx
        .app
        .db_long(move |conn| search::list_deleted(conn, cursor, PAGE_SIZE))
        .await?;
    let mut text = texts::DELETED_LIST_HEADER.to_string();
    if page.items.is_empty() {
        text.push('\n');
        text.push_str(texts::NOTHING_FOUND);
    }
    let markup = page_markup_opening(
        &page,
        |c| Callback::DeletedList { cursor: Some(c) },
        Callback::DeletedList { cursor: None },
        |order_id| Callback::DeletedCard { order_id },
    );
    ctx.show_in_place(&text, markup).await
}

/// Entries as buttons (each opening the order's card), then the page links.
fn page_markup(
    page: &Page<Order>,
    link: impl Fn(Cursor) -> Callback,
    first: Callback,
) -> InlineKeyboardMarkup {
    page_markup_opening(page, link, first, |order_id| Callback::Card { order_id })
}

/// Entries as buttons, each opening what `open` names, then the page links.
fn page_markup_opening(
    page: &Page<Order>,
    link: impl Fn(Cursor) -> Callback,
    first: Callback,
    open: impl Fn(OrderId) -> Callback,
) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = page
        .items
        .iter()
        .map(|order| vec![button(&texts::order_line(order), open(order.id))])
        .collect();
    let mut nav = Vec::new();
    if let Some(prev) = page.prev {
        nav.push(button(texts::BUTTON_NEWER, link(prev)));
    }
    if let Some(next) = page.next {
        nav.push(button(texts::BUTTON_OLDER, link(next)));
    }
    if page.items.is_empty() {
        nav.push(button(texts::BUTTON_FIRST_PAGE, first));
    }
    if !nav.is_empty() {
        rows.push(nav);
    }
    InlineKeyboardMarkup::new(rows)
}

async fn status_page(ctx: &Ctx, status: OrderStatus, cursor: Option<Cursor>) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let page = ctx
        .app
        .db(move |conn| search::list_by_status(conn, status, cursor, PAGE_SIZE))
        .await?;
    let mut text = texts::list_header(status);
    if page.items.is_empty() {
        text.push('\n');
        text.push_str(texts::NOTHING_FOUND);
    }
    let markup = page_markup(
        &page,
        |c| Callback::List {
            status,
            cursor: Some(c),
        },
        Callback::List {
            status,
            cursor: None,
        },
    );
    ctx.show_in_place(&text, markup).await
}

/// «🔎 Поиск»: the search box opens.
pub async fn ask_search(ctx: Ctx) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    ctx.enter(State::Search).await?;
    ctx.ask(texts::ASK_SEARCH, false).await
}

/// One search box: a phone in any format, an order number, or part of the address.
async fn search_page(ctx: &Ctx, input: &str, cursor: Option<Cursor>) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let query = match search::classify(input) {
        Ok(query) => query,
        Err(refused) => return ctx.reply(&texts::search_refused(refused), None).await,
    };
    // The text is kept for the paging buttons: it may not fit into their callback data.
    let typed = input.to_string();
    let now = ctx.now();
    let (search_id, page) = ctx
        .app
        .db_long(move |conn| {
            let search_id = search::remember(conn, &typed, now)?;
            Ok((search_id, search::search(conn, &query, cursor, PAGE_SIZE)?))
        })
        .await?;
    let mut text = texts::search_header(input);
    if page.items.is_empty() {
        text.push('\n');
        text.push_str(texts::NOTHING_FOUND);
    }
    let markup = page_markup(
        &page,
        |cursor| Callback::SavedSearchPage { cursor, search_id },
        Callback::SavedSearchPage {
            cursor: Cursor::Before(i64::MAX),
            search_id,
        },
    );
    ctx.show_in_place(&text, markup).await
}
