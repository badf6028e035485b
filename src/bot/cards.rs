//! Order cards as each viewer may see them, and the messages an order change causes.

use teloxide::prelude::*;
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ParseMode};

use super::notify::send_logged;
use super::state::CardAt;
use super::texts::{self, esc, Audience};
use super::{keyboards, App};
use crate::domain::money::Breakdown;
use crate::domain::status::{available_actions, ActionKind, Actor, Role};
use crate::store::masters::{self, Master};
use crate::store::members::Member;
use crate::store::orders::{self, EditableField, Order};
use crate::store::users::{self, User};

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

async fn master_of(app: &App, order: &Order) -> Option<(Master, User)> {
    let master_id = order.assigned_master_id?;
    app.db(move |conn| {
        let Some(master) = masters::by_id(conn, master_id)? else {
            return Ok(None);
        };
        Ok(users::by_telegram_id(conn, master.telegram_id)?.map(|user| (master, user)))
    })
    .await
    .ok()
    .flatten()
}

/// The card text and its buttons for `viewer` (staff see everything and the history; a master
/// sees the phone only from ONSITE on).
pub async fn render(app: &App, order: &Order, viewer: &Actor) -> (String, InlineKeyboardMarkup) {
    let audience = if viewer.is_staff() {
        Audience::Staff
    } else {
        Audience::Master
    };
    let master = master_of(app, order).await;
    let tz = app.config.timezone;
    let mut text = texts::order_card(order, master.as_ref().map(|(m, u)| (m, u)), audience, tz);
    if audience == Audience::Staff {
        let order_id = order.id;
        let loaded = app
            .db(move |conn| {
                let rows = orders::history(conn, order_id)?;
                let mut names = std::collections::BTreeMap::new();
                for id in rows.iter().filter_map(|r| r.changed_by) {
                    if let Some(user) = users::by_telegram_id(conn, id)? {
                        names.insert(id, user.display_name());
                    }
                }
                Ok((rows, names))
            })
            .await;
        if let Ok((rows, names)) = loaded {
            let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
            text.push_str(&texts::history(&rows, &name, tz));
        }
    }
    let actions = available_actions(&order.facts(), viewer);
    let editable = viewer.is_staff() && order.status().is_open();
    (
        text,
        keyboards::order_actions(order.id, order.status(), &actions, editable),
    )
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
    let (text, markup) = drawn_in(app, chat_id, order, member).await;
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
    let (text, markup) = drawn_in(app, chat, order, member).await;
    edit_card(bot, chat, MessageId(at.message_id), &text, &markup).await;
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

/// The card as it is drawn in `chat`. A card in a group is seen by the whole group: it is
/// drawn for the master whose work group it is, whoever pressed, so that no client phone or
/// staff button shows there. Whoever may no longer see the order (a master who declined it,
/// or whose group it is no longer) gets a line saying so instead of a card to act on.
async fn drawn_in(
    app: &App,
    chat: ChatId,
    order: &Order,
    member: &Member,
) -> (String, InlineKeyboardMarkup) {
    let viewer = if chat.is_user() {
        member.acting.clone()
    } else {
        group_audience(app, order, chat).await
    };
    if !viewer_may_see(&viewer, order) {
        return (
            texts::order_no_longer_yours(order.id),
            InlineKeyboardMarkup::default(),
        );
    }
    render(app, order, &viewer).await
}

/// Who a card in group `chat` is for: the order's master when it is his work group, else a
/// master with no order of his (the card without any buttons).
async fn group_audience(app: &App, order: &Order, chat: ChatId) -> Actor {
    let owner = master_of(app, order)
        .await
        .filter(|(master, _)| master.work_chat_id == Some(chat.0));
    Actor {
        telegram_id: owner.as_ref().map_or(0, |(master, _)| master.telegram_id),
        roles: [Role::Master].into_iter().collect(),
        master_id: owner.map(|(master, _)| master.id),
    }
}

/// How the master is addressed in their work group.
fn mention(user: &User) -> String {
    match &user.username {
        Some(username) => format!("@{}", esc(username)),
        None => format!(
            "<a href=\"tg://user?id={}\">{}</a>",
            user.telegram_id,
            esc(&user.display_name())
        ),
    }
}

/// Sends a message meant for a master: to their work group (with a mention) if bound, else
/// privately; if the group refuses (the bot was removed), privately after all.
pub async fn to_master(
    bot: &Bot,
    master: &Master,
    user: &User,
    text: &str,
    markup: Option<InlineKeyboardMarkup>,
) {
    if let Some(group) = master.work_chat_id {
        let addressed = format!("{}\n{text}", mention(user));
        if send_logged(
            bot,
            ChatId(group),
            &addressed,
            markup.clone().map(Into::into),
        )
        .await
        .is_some()
        {
            return;
        }
        log::warn!(
            "work group {group} of master {} refused the message; sending privately",
            master.id
        );
    }
    send_logged(
        bot,
        ChatId(master.telegram_id),
        text,
        markup.map(Into::into),
    )
    .await;
}

/// The master as the viewer of his own order's card.
fn as_master(master: &Master) -> Actor {
    Actor {
        telegram_id: master.telegram_id,
        roles: [Role::Master].into_iter().collect(),
        master_id: Some(master.id),
    }
}

/// The assignment message: the card as the master sees it, with Accept / Decline.
pub async fn offer_to_master(bot: &Bot, app: &App, order: &Order, master: &Master, user: &User) {
    let (card, markup) = render(app, order, &as_master(master)).await;
    let text = format!(
        "{}\n\n{card}",
        texts::assigned_to_master(order, &esc(&user.display_name()))
    );
    to_master(bot, master, user, &text, Some(markup)).await;
}

/// After staff corrected an order that has a master: he gets the change and his fresh card
/// (drawn for him, so the phone shows only once he is on site).
pub async fn tell_master_of_edit(bot: &Bot, app: &App, order: &Order, field: EditableField) {
    let Some((master, user)) = master_of(app, order).await else {
        return;
    };
    let (card, markup) = render(app, order, &as_master(&master)).await;
    let text = format!("{}\n\n{card}", texts::changed_for_master(order.id, field));
    to_master(bot, &master, &user, &text, Some(markup)).await;
}

/// Tells the dispatcher who created the order what the master did.
pub async fn tell_dispatcher(
    bot: &Bot,
    order: &Order,
    master: &Member,
    kind: ActionKind,
    reason: Option<&str>,
    breakdown: Option<&Breakdown>,
) {
    let Some(dispatcher) = order.dispatcher_id else {
        return;
    };
    if dispatcher == master.user.telegram_id {
        return;
    }
    let mut text = texts::master_did(order.id, &master.user.display_name(), kind, reason);
    if let Some(breakdown) = breakdown {
        text = format!("{text}\n\n{}", texts::breakdown(order.id, breakdown));
    }
    send_logged(bot, ChatId(dispatcher), &text, None).await;
}

/// What follows a successful change: the masters concerned and the creating dispatcher.
pub async fn after_move(
    bot: &Bot,
    app: &App,
    moved: &orders::Moved,
    by: &Member,
    kind: ActionKind,
    reason: Option<&str>,
) {
    let before = &moved.before;
    let after = &moved.after;
    let old_master = if before.assigned_master_id != after.assigned_master_id {
        match before.assigned_master_id {
            Some(_) => master_of(app, before).await,
            None => None,
        }
    } else {
        None
    };
    if let Some((master, user)) = &old_master {
        if master.telegram_id != by.user.telegram_id {
            to_master(
                bot,
                master,
                user,
                &texts::taken_from_master(before.id),
                None,
            )
            .await;
        }
    }
    match kind {
        ActionKind::Assign => {
            if let Some((master, user)) = master_of(app, after).await {
                offer_to_master(bot, app, after, &master, &user).await;
            }
        }
        ActionKind::Accept
        | ActionKind::Decline
        | ActionKind::GoOnsite
        | ActionKind::LongRepair
        | ActionKind::ResumeOnsite => tell_dispatcher(bot, after, by, kind, reason, None).await,
        ActionKind::Refuse => {
            if let (Some((master, user)), true) = (
                master_of(app, after).await,
                after.assigned_master_id.is_some(),
            ) {
                to_master(
                    bot,
                    &master,
                    &user,
                    &texts::taken_from_master(after.id),
                    None,
                )
                .await;
            }
        }
        _ => {}
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
        .db(move |conn| {
            Ok((
                masters::order_counts(conn, master_id)?,
                masters::money_totals(conn, master_id)?,
            ))
        })
        .await?;
    let counts: Vec<_> = counts.into_iter().collect();
    Ok(texts::master_card(
        master,
        user,
        group_title.as_deref(),
        &counts,
        &money,
    ))
}
