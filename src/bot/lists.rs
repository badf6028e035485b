//! Order lists by status and search, a page at a time (keyset pagination: a page never repeats
//! nor skips an order while others are added). Each entry opens the order's card.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::state::State;
use super::{cards, texts, BoxError, HandlerResult};
use crate::domain::status::OrderStatus;
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
    let counts = ctx.app.db_long(search::count_by_status).await?;
    let rows: Vec<Vec<InlineKeyboardButton>> = counts
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
    let markup = InlineKeyboardMarkup::new(rows).into();
    ctx.reply(texts::PICK_STATUS, Some(markup)).await
}

/// Entries as buttons, then the page links.
fn page_markup(
    page: &Page<Order>,
    link: impl Fn(Cursor) -> Callback,
    first: Callback,
) -> InlineKeyboardMarkup {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = page
        .items
        .iter()
        .map(|order| {
            vec![button(
                &texts::order_line(order),
                Callback::Card { order_id: order.id },
            )]
        })
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

/// Shows a page in place of the message the button was on (or as a new message).
async fn show(ctx: &Ctx, text: &str, markup: InlineKeyboardMarkup) -> HandlerResult {
    if let Some(message_id) = ctx.pressed_on {
        let edited = ctx
            .bot
            .edit_message_text(ctx.chat, message_id, text)
            .parse_mode(ParseMode::Html)
            .reply_markup(markup.clone())
            .await;
        if edited.is_ok() {
            return Ok(());
        }
    }
    ctx.reply(text, Some(markup.into())).await
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
    show(ctx, &text, markup).await
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
    show(ctx, &text, markup).await
}
