//! The messages a change owes the people it concerns (masters, the creating dispatcher, the
//! other staff), composed on the connection of the change's own transaction and queued in the
//! outbox there: a change and its messages commit together or not at all.

use chrono_tz::Tz;
use diesel::{QueryResult, SqliteConnection};
use teloxide::types::InlineKeyboardMarkup;

use super::cards::{self, master_of};
use super::keyboards;
use super::outbox::markup_json;
use super::texts::{self, esc};
use crate::domain::ids::{OrderId, TelegramId};
use crate::domain::status::ActionKind;
use crate::store::masters::Master;
use crate::store::members::Member;
use crate::store::orders::{EditableField, Moved, Order};
use crate::store::outbox::NewMessage;
use crate::store::users::User;
use crate::store::visits::Rescheduled;

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

/// A message meant for a master: to their work group (with a mention) if bound, else
/// privately; if the group refuses it for good (the bot was removed), privately after all.
pub fn to_master(
    master: &Master,
    user: &User,
    text: &str,
    markup: Option<InlineKeyboardMarkup>,
) -> NewMessage {
    let mut message = match master.work_chat_id {
        Some(group) => NewMessage::to(group, format!("{}\n{text}", mention(user)))
            .or_else_to(master.telegram_id.0, text),
        None => NewMessage::to(master.telegram_id.0, text),
    };
    message.reply_markup = markup.and_then(markup_json);
    message
}

/// The assignment message: the card as the master sees it, with Accept / Decline.
pub fn offer_to_master(
    conn: &mut SqliteConnection,
    tz: Tz,
    order: &Order,
    master: &Master,
    user: &User,
) -> QueryResult<NewMessage> {
    let (card, markup) = cards::render(conn, tz, order, &cards::as_master(master))?;
    let text = format!(
        "{}\n\n{card}",
        texts::assigned_to_master(order, &esc(&user.display_name()))
    );
    Ok(to_master(master, user, &text, Some(markup)))
}

/// After staff corrected an order that has a master: he gets the change and his fresh card
/// (drawn for him, so the phone shows only once he is on site).
pub fn master_of_edit(
    conn: &mut SqliteConnection,
    tz: Tz,
    order: &Order,
    field: EditableField,
) -> QueryResult<Vec<NewMessage>> {
    let Some((master, user)) = master_of(conn, order)? else {
        return Ok(Vec::new());
    };
    let (card, markup) = cards::render(conn, tz, order, &cards::as_master(&master))?;
    let text = format!("{}\n\n{card}", texts::changed_for_master(order.id, field));
    Ok(vec![to_master(&master, &user, &text, Some(markup))])
}

/// Tells the dispatcher who created the order what the master did (not when he did it himself).
fn to_dispatcher(
    moved: &Moved,
    by: &Member,
    kind: ActionKind,
    reason: Option<&str>,
) -> Option<NewMessage> {
    let order = &moved.after;
    let dispatcher = order.dispatcher_id?;
    if dispatcher == by.user.telegram_id {
        return None;
    }
    let by_master = by.master.as_ref().map(|m| m.id);
    let for_master = by_master.is_none() || by_master != moved.before.assigned_master_id;
    let mut text = texts::master_did(order.id, &by.user.display_name(), for_master, kind, reason);
    if let Some(breakdown) = &moved.breakdown {
        text = format!("{text}\n\n{}", texts::breakdown(order.id, breakdown));
    }
    Some(NewMessage::to(dispatcher.0, text))
}

/// What a status change owes: the master it was taken from, the master it was given to, the
/// creating dispatcher.
pub fn after_move(
    conn: &mut SqliteConnection,
    tz: Tz,
    moved: &Moved,
    by: &Member,
    kind: ActionKind,
    reason: Option<&str>,
) -> QueryResult<Vec<NewMessage>> {
    let (before, after) = (&moved.before, &moved.after);
    let mut owed = Vec::new();
    if before.assigned_master_id.is_some() && before.assigned_master_id != after.assigned_master_id
    {
        if let Some((master, user)) = master_of(conn, before)? {
            if master.telegram_id != by.user.telegram_id {
                owed.push(to_master(
                    &master,
                    &user,
                    &texts::taken_from_master(before.id),
                    None,
                ));
            }
        }
    }
    if kind.is_masters_work() {
        // Staff acting for the master: he learns what was done in his name.
        if let Some((master, user)) = master_of(conn, before)? {
            if master.telegram_id != by.user.telegram_id {
                let text = texts::done_for_master(after.id, &by.user.display_name(), kind);
                owed.push(to_master(&master, &user, &text, None));
            }
        }
    }
    match kind {
        ActionKind::Assign => {
            if let Some((master, user)) = master_of(conn, after)? {
                owed.push(offer_to_master(conn, tz, after, &master, &user)?);
            }
        }
        ActionKind::Accept
        | ActionKind::Decline
        | ActionKind::GoOnsite
        | ActionKind::LongRepair
        | ActionKind::ResumeOnsite
        | ActionKind::Close => owed.extend(to_dispatcher(moved, by, kind, reason)),
        ActionKind::Refuse => {
            if let Some((master, user)) = master_of(conn, after)? {
                owed.push(to_master(
                    &master,
                    &user,
                    &texts::taken_from_master(after.id),
                    None,
                ));
            }
        }
        _ => {}
    }
    Ok(owed)
}

/// After an admin corrected a closed order's money: its master and the creating dispatcher
/// get both splits (the admin has them in his answer).
pub fn money_corrected(
    conn: &mut SqliteConnection,
    moved: &Moved,
    by: &Member,
) -> QueryResult<Vec<NewMessage>> {
    let Some(breakdown) = &moved.breakdown else {
        return Ok(Vec::new());
    };
    let text = texts::money_corrected(moved.after.id, &moved.before, breakdown);
    let mut owed = Vec::new();
    if let Some((master, user)) = master_of(conn, &moved.after)? {
        if master.telegram_id != by.user.telegram_id {
            owed.push(to_master(&master, &user, &text, None));
        }
    }
    if let Some(dispatcher) = moved.after.dispatcher_id {
        if dispatcher != by.user.telegram_id {
            owed.push(NewMessage::to(dispatcher.0, text));
        }
    }
    Ok(owed)
}

/// The other staff's copy of a new order (one digest line each when several wait).
pub fn new_order_to_staff(order: &Order, author: &Member, staff: &[TelegramId]) -> Vec<NewMessage> {
    let name = author.user.display_name();
    let text = texts::new_order_for_staff(order, &name);
    let line = texts::new_order_digest_line(order, &name);
    staff
        .iter()
        .filter(|&&id| id != author.user.telegram_id)
        .map(|&id| {
            NewMessage::to(id.0, text.clone()).in_digest(texts::DIGEST_NEW_ORDERS, line.clone())
        })
        .collect()
}

/// A user who was just made a master: told so, with his new menu at once (not at his next
/// /start).
pub fn to_new_master(master: &Member) -> NewMessage {
    let roles = master.roles();
    let mut told = NewMessage::to(
        master.user.telegram_id.0,
        texts::now_a_master(&master.user, &roles),
    );
    told.reply_markup = markup_json(keyboards::main_menu(&roles));
    told
}

/// What moving a visit owes: when the master moved it, the dispatcher who created the order;
/// when staff did, the order's master, with his fresh card (drawn for him).
pub fn after_reschedule(
    conn: &mut SqliteConnection,
    tz: Tz,
    moved: &Rescheduled,
    by: &Member,
    reason: &str,
    visit: Option<&texts::VisitView>,
) -> QueryResult<Vec<NewMessage>> {
    let (before, after) = (&moved.before, &moved.after);
    let name = by.user.display_name();
    let text = texts::rescheduled_for(
        after.id,
        &name,
        before.scheduled_time.as_deref(),
        after.scheduled_time.as_deref().unwrap_or_default(),
        visit,
        reason,
    );
    let Some((master, user)) = master_of(conn, after)? else {
        return Ok(Vec::new());
    };
    if master.telegram_id == by.user.telegram_id {
        let dispatcher = after
            .dispatcher_id
            .filter(|&dispatcher| dispatcher != by.user.telegram_id);
        return Ok(dispatcher
            .map(|dispatcher| NewMessage::to(dispatcher.0, text))
            .into_iter()
            .collect());
    }
    let (card, markup) = cards::render(conn, tz, after, &cards::as_master(&master))?;
    let text = format!("{text}\n\n{card}");
    Ok(vec![to_master(&master, &user, &text, Some(markup))])
}

/// A reminder that an ASSIGNED order waits for its master's answer, with the Accept / Decline
/// buttons of the assignment offer (his card's, drawn for him).
pub fn reminder_to_master(
    conn: &mut SqliteConnection,
    tz: Tz,
    order_id: OrderId,
    master: &Master,
    user: &User,
) -> QueryResult<NewMessage> {
    let markup = match crate::store::orders::get(conn, order_id)? {
        Some(order) => Some(cards::render(conn, tz, &order, &cards::as_master(master))?.1),
        None => None,
    };
    Ok(to_master(master, user, &texts::reminder(order_id), markup))
}

/// The same text to each of `chats`.
pub fn to_each(people: &[TelegramId], text: &str) -> Vec<NewMessage> {
    people
        .iter()
        .map(|&id| NewMessage::to(id.0, text))
        .collect()
}

/// After an order was deleted: its master, if it was still open and his, is told to leave it.
pub fn after_delete(conn: &mut SqliteConnection, order: &Order) -> QueryResult<Vec<NewMessage>> {
    if !order.status().is_open() {
        return Ok(Vec::new());
    }
    let Some((master, user)) = master_of(conn, order)? else {
        return Ok(Vec::new());
    };
    let text = texts::deleted_for_master(order.id);
    Ok(vec![to_master(&master, &user, &text, None)])
}

/// After a deleted order came back: its master, if it is open and his, gets his card again
/// (drawn for him: the phone only from ONSITE on).
pub fn after_undelete(
    conn: &mut SqliteConnection,
    tz: Tz,
    order: &Order,
) -> QueryResult<Vec<NewMessage>> {
    if !order.status().is_open() {
        return Ok(Vec::new());
    }
    let Some((master, user)) = master_of(conn, order)? else {
        return Ok(Vec::new());
    };
    let (card, markup) = cards::render(conn, tz, order, &cards::as_master(&master))?;
    let text = format!("{}\n\n{card}", texts::undeleted_for_master(order.id));
    Ok(vec![to_master(&master, &user, &text, Some(markup))])
}

/// After a master was fired: the other staff learn which orders wait for a master again.
pub fn master_fired(
    fired: &crate::store::masters::Fired,
    by: &Member,
    staff: &[TelegramId],
) -> Vec<NewMessage> {
    let returned: Vec<_> = fired.returned.iter().map(|order| order.id).collect();
    let text = texts::master_fired_for_staff(
        &fired.user.display_name(),
        &by.user.display_name(),
        &returned,
    );
    let others: Vec<TelegramId> = staff
        .iter()
        .copied()
        .filter(|&id| id != by.user.telegram_id)
        .collect();
    to_each(&others, &text)
}
