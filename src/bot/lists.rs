//! Order lists by status and search, a page at a time (keyset pagination: a page never repeats
//! nor skips an order while others are added). Each entry opens the order's card.

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode};

use super::callbacks::Callback;
use super::state::State;
use super::{keyboards, reply, texts, App, Dialog, HandlerResult};
use crate::domain::status::OrderStatus;
use crate::store::orders::Order;
use crate::store::search::{self, Cursor, Page};
use crate::store::users::Member;

const PAGE_SIZE: usize = 10;

fn button(label: &str, callback: Callback) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, callback.encode())
}

/// The statuses with their counts; each opens its list.
pub async fn statuses(bot: &Bot, app: &App, chat: ChatId, member: &Member) -> HandlerResult {
    if !member.is_staff() {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    let counts = app.db(search::count_by_status).await?;
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
    reply(
        bot,
        chat,
        texts::PICK_STATUS,
        Some(InlineKeyboardMarkup::new(rows).into()),
    )
    .await
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
async fn show(
    bot: &Bot,
    chat: ChatId,
    edit: Option<MessageId>,
    text: &str,
    markup: InlineKeyboardMarkup,
) -> HandlerResult {
    if let Some(message_id) = edit {
        let edited = bot
            .edit_message_text(chat, message_id, text)
            .parse_mode(ParseMode::Html)
            .reply_markup(markup.clone())
            .await;
        if edited.is_ok() {
            return Ok(());
        }
    }
    reply(bot, chat, text, Some(markup.into())).await
}

pub async fn status_page(
    bot: &Bot,
    app: &App,
    chat: ChatId,
    edit: Option<MessageId>,
    member: &Member,
    status: OrderStatus,
    cursor: Option<Cursor>,
) -> HandlerResult {
    if !member.is_staff() {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    let page = app
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
    show(bot, chat, edit, &text, markup).await
}

pub async fn ask_search(
    bot: &Bot,
    chat: ChatId,
    member: &Member,
    dialogue: &Dialog,
) -> HandlerResult {
    if !member.is_staff() {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    dialogue.update(State::Search).await?;
    reply(
        bot,
        chat,
        texts::ASK_SEARCH,
        Some(keyboards::cancel_only().into()),
    )
    .await
}

/// One search box: a phone in any format, an order number, or part of the address.
pub async fn search_page(
    bot: &Bot,
    app: &App,
    chat: ChatId,
    edit: Option<MessageId>,
    member: &Member,
    input: &str,
    cursor: Option<Cursor>,
) -> HandlerResult {
    if !member.is_staff() {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    let query = match search::classify(input) {
        Ok(query) => query,
        Err(refused) => return reply(bot, chat, &texts::search_refused(refused), None).await,
    };
    // The text is kept for the paging buttons: it may not fit into their callback data.
    let typed = input.to_string();
    let now = app.now();
    let (search_id, page) = app
        .db(move |conn| {
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
    show(bot, chat, edit, &text, markup).await
}
