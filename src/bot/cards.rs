//! Order cards as each viewer may see them: drawn from one database trip, shown or redrawn
//! where the update came from. The messages a change owes others are `notices`.

use chrono_tz::Tz;
use diesel::{QueryResult, SqliteConnection};
use teloxide::prelude::*;
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ParseMode};

use super::notify::send_logged;
use super::state::CardAt;
use super::texts::{self, Audience};
use super::{keyboards, App};
use crate::domain::ids::TelegramId;
use crate::domain::status::{available_actions, Actor, Role};
use crate::domain::visit_time::may_reschedule;
use crate::store::audit::{self, AuditAction};
use crate::store::masters::{self, Master};
use crate::store::members::Member;
use crate::store::orders::{self, Order};
use crate::store::users::{self, User};
use crate::store::visits;

/// Whether this member may look at this order at all.
pub fn may_view(member: &Member, order: &Order) -> bool {
    viewer_may_see(&member.acting, order)
}

/// Staff see every order; a master only his own.
fn viewer_may_see(viewer: &Actor, order: &Order) -> bool {
    viewer.is_staff()
        || viewer
            .acting_master_id()
            .is_some_and(|id| Some(id) == order.assigned_master_id)
}

/// The order's master and his user row, if it has one.
pub fn master_of(
    conn: &mut SqliteConnection,
    order: &Order,
) -> QueryResult<Option<(Master, User)>> {
    match order.assigned_master_id {
        Some(master_id) => masters::with_user(conn, master_id),
        None => Ok(None),
    }
}

/// The card text and its buttons for `viewer` (staff see everything and the history; a master
/// sees the phone only from ONSITE on).
pub fn render(
    conn: &mut SqliteConnection,
    tz: Tz,
    order: &Order,
    viewer: &Actor,
) -> QueryResult<(String, InlineKeyboardMarkup)> {
    let text = card_text(conn, tz, order, viewer)?;
    let facts = order.facts();
    let actions = available_actions(&facts, viewer);
    let markup = keyboards::order_card(order, viewer, &actions, may_reschedule(&facts, viewer));
    Ok((text, markup))
}

/// What the audit log adds to an order's history on its card.
const CARD_AUDIT: [AuditAction; 4] = [
    AuditAction::OrderEdited,
    AuditAction::OrderDeleted,
    AuditAction::OrderUndeleted,
    AuditAction::ClientPhoneRevealed,
];

/// The card's text: the order as `viewer` may see it, and for staff its history (status
/// changes, corrections with old and new values, deletion, the phone sent ahead).
fn card_text(
    conn: &mut SqliteConnection,
    tz: Tz,
    order: &Order,
    viewer: &Actor,
) -> QueryResult<String> {
    let audience = if viewer.is_staff() {
        Audience::Staff
    } else {
        Audience::Master
    };
    let master = master_of(conn, order)?;
    let mut text = texts::order_card(order, master.as_ref().map(|(m, u)| (m, u)), audience, tz);
    if audience == Audience::Staff {
        let rows = orders::history(conn, order.id)?;
        let audit = audit::for_order(conn, order.id, &CARD_AUDIT)?;
        let moves = visits::reschedules(conn, order.id)?;
        let people = rows
            .iter()
            .filter_map(|r| r.changed_by)
            .chain(audit.iter().filter_map(|r| r.user_id))
            .chain(moves.iter().filter_map(|r| r.by));
        let names = display_names(conn, people)?;
        let name = |id: TelegramId| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
        text.push_str(&texts::order_history(&rows, &audit, &name, tz));
        text.push_str(&texts::reschedule_history(&moves, &name, tz));
    }
    Ok(text)
}

/// The display names of these people, by Telegram id (those never registered left out).
pub fn display_names(
    conn: &mut SqliteConnection,
    people: impl IntoIterator<Item = TelegramId>,
) -> QueryResult<std::collections::BTreeMap<TelegramId, String>> {
    let mut names = std::collections::BTreeMap::new();
    for id in people {
        if names.contains_key(&id) {
            continue;
        }
        if let Some(user) = users::by_telegram_id(conn, id)? {
            names.insert(id, user.display_name());
        }
    }
    Ok(names)
}

/// A soft-deleted order's card for staff: it says so (when, by whom) above the order and its
/// history; admins may bring it back.
pub fn render_deleted(
    conn: &mut SqliteConnection,
    tz: Tz,
    order: &Order,
    viewer: &Actor,
) -> QueryResult<(String, InlineKeyboardMarkup)> {
    // Only ever drawn for an order read by `orders::get_deleted`.
    let deleted_at = order.deleted_at.unwrap_or(order.updated_at);
    let by = match order.deleted_by {
        Some(id) => display_names(conn, [id])?
            .remove(&id)
            .unwrap_or_else(|| id.to_string()),
        None => "—".into(),
    };
    let text = format!(
        "{}{}",
        texts::deleted_banner(deleted_at, &by, tz),
        card_text(conn, tz, order, viewer)?
    );
    let admin = viewer.roles.contains(&Role::Admin);
    Ok((text, keyboards::deleted_card(order.id, admin)))
}

/// Shows the card by editing the message the button was on, or as a new message.
pub async fn show(
    bot: &Bot,
    app: &App,
    chat_id: ChatId,
    edit: Option<MessageId>,
    order: &Order,
    member: &Member,
) {
    let Some((text, markup)) = drawn_in(app, chat_id, order, member).await else {
        return;
    };
    if let Some(message_id) = edit {
        if edit_card(bot, chat_id, message_id, &text, &markup).await {
            return;
        }
    }
    send_logged(bot, chat_id, &text, Some(markup.into())).await;
}

/// Redraws the card a dialogue started from, in place only: when it cannot be edited (deleted,
/// or the bot left the group) the dialogue's own chat has the news already.
pub async fn redraw(bot: &Bot, app: &App, at: CardAt, order: &Order, member: &Member) {
    let chat = ChatId(at.chat);
    if let Some((text, markup)) = drawn_in(app, chat, order, member).await {
        edit_card(bot, chat, MessageId(at.message_id), &text, &markup).await;
    }
}

async fn edit_card(
    bot: &Bot,
    chat: ChatId,
    message_id: MessageId,
    text: &str,
    markup: &InlineKeyboardMarkup,
) -> bool {
    let edited = bot
        .edit_message_text(chat, message_id, text)
        .parse_mode(ParseMode::Html)
        .reply_markup(markup.clone())
        .await;
    if let Err(error) = &edited {
        log::debug!("card of chat {} not edited: {error}", chat.0);
    }
    edited.is_ok()
}

/// The card as it is drawn in `chat`, read in one database trip (None, logged, when the
/// database cannot be read).
async fn drawn_in(
    app: &App,
    chat: ChatId,
    order: &Order,
    member: &Member,
) -> Option<(String, InlineKeyboardMarkup)> {
    let tz = app.config.timezone;
    let (order, member) = (order.clone(), member.clone());
    let drawn = app
        .db(move |conn| drawn_in_on(conn, tz, chat, &order, &member))
        .await;
    match drawn {
        Ok(drawn) => Some(drawn),
        Err(error) => {
            log::error!("cannot draw a card for chat {}: {error}", chat.0);
            None
        }
    }
}

/// A card in a group is seen by the whole group: it is drawn for the master whose work group
/// it is, whoever pressed, so that no client phone or staff button shows there. Whoever may
/// no longer see the order (a master who declined it, or whose group it is no longer) gets a
/// line saying so instead of a card to act on.
fn drawn_in_on(
    conn: &mut SqliteConnection,
    tz: Tz,
    chat: ChatId,
    order: &Order,
    member: &Member,
) -> QueryResult<(String, InlineKeyboardMarkup)> {
    let viewer = if chat.is_user() {
        member.acting.clone()
    } else {
        group_audience(conn, order, chat)?
    };
    if !viewer_may_see(&viewer, order) {
        return Ok((
            texts::order_no_longer_yours(order.id),
            InlineKeyboardMarkup::default(),
        ));
    }
    render(conn, tz, order, &viewer)
}

/// Who a card in group `chat` is for: the order's master when it is his work group, else a
/// master with no order of his (the card without any buttons).
fn group_audience(conn: &mut SqliteConnection, order: &Order, chat: ChatId) -> QueryResult<Actor> {
    let owner = master_of(conn, order)?.filter(|(master, _)| master.work_chat_id == Some(chat.0));
    Ok(match owner {
        Some((master, _)) => as_master(&master),
        None => Actor {
            telegram_id: TelegramId(0),
            roles: [Role::Master].into_iter().collect(),
            master_id: None,
        },
    })
}

/// The master as the viewer of his own order's card.
pub fn as_master(master: &Master) -> Actor {
    Actor {
        telegram_id: master.telegram_id,
        roles: [Role::Master].into_iter().collect(),
        master_id: Some(master.id),
    }
}

/// A master's card for admins: contact, state, orders per status and money of closed orders.
pub async fn master_text(
    bot: &Bot,
    app: &App,
    master: &Master,
    user: &User,
) -> Result<String, crate::db::pool::PoolError> {
    // The group's name is Telegram's, asked afresh: groups get renamed.
    let group_title = match master.work_chat_id {
        Some(id) => match bot.get_chat(ChatId(id)).await {
            Ok(chat) => chat.title().map(str::to_string),
            Err(error) => {
                log::warn!("work group {id} of master {}: {error}", master.id);
                None
            }
        },
        None => None,
    };
    let master_id = master.id;
    let (counts, money) = app
        .db_long(move |conn| {
            Ok((
                masters::order_counts(conn, master_id)?,
                masters::money_totals(conn, master_id)?,
            ))
        })
        .await?;
    let counts: Vec<_> = counts.into_iter().collect();
    let mut text = texts::master_card(master, user, group_title.as_deref(), &counts, &money);
    if let Some(at) = master.fired_at {
        text.push_str(&texts::fired_on(at, app.config.timezone));
    }
    Ok(text)
}
