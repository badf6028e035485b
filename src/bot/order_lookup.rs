//! An order by its number, `/order N`: privately, the card as the sender may see it; in a
//! master's work group, the card as that master sees it (the client's phone only from ONSITE
//! on), asked by staff or by the group's master. And «Клиент ждёт»: staff send the client's
//! phone to the master before he is on site, audited.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::Ctx;
use super::order_actions::{load, show_fresh};
use super::{cards, deletion, notices, texts, BoxError, HandlerResult};
use crate::db::pool;
use crate::domain::ids::OrderId;
use crate::domain::status::OrderStatus;
use crate::store::orders::{self, RevealError};
use crate::store::outbox;

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::case![Callback::ClientWaiting { order_id, seen }].endpoint(client_waiting)
}

/// The number after the command: "42", "#42", "№ 42".
fn order_number(arg: &str) -> Option<OrderId> {
    let text = arg.trim();
    let digits = text
        .strip_prefix('#')
        .or_else(|| text.strip_prefix('№'))
        .unwrap_or(text)
        .trim_start();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(OrderId)
}

/// `/order N` in the sender's private chat. Whoever may not see the order hears it is not
/// found, as for a number that does not exist.
pub async fn in_private(ctx: Ctx, arg: String) -> HandlerResult {
    if ctx.member.has_no_role() {
        let text = texts::unknown_user(ctx.member.user.telegram_id);
        return ctx.reply(&text, None).await;
    }
    let Some(order_id) = order_number(&arg) else {
        return ctx.reply(texts::ORDER_COMMAND_USAGE, None).await;
    };
    match load(&ctx, order_id).await? {
        Some(order) if cards::may_view(&ctx.member, &order) => {
            cards::show(&ctx.bot, &ctx.app, ctx.chat, None, &order, &ctx.member).await;
            Ok(())
        }
        Some(_) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        None => deletion::show_or_missing(&ctx, order_id).await,
    }
}

/// `/order N` in a group: only staff and a master whose work group it is may ask, and only
/// for an order of a master of this group; the card is drawn for that master whoever asked,
/// since the whole group sees it.
pub async fn in_group(ctx: Ctx, arg: String) -> HandlerResult {
    let chat = ctx.chat.0;
    let masters_here = ctx.member.acting.acting_master_id().is_some()
        && ctx
            .member
            .master
            .as_ref()
            .is_some_and(|master| master.work_chat_id == Some(chat));
    if !ctx.is_staff() && !masters_here {
        return ctx.reply(texts::ORDER_COMMAND_NOT_HERE, None).await;
    }
    let Some(order_id) = order_number(&arg) else {
        return ctx.reply(texts::ORDER_COMMAND_USAGE, None).await;
    };
    let found = ctx
        .app
        .db(move |conn| {
            let Some(order) = orders::get(conn, order_id)? else {
                return Ok(None);
            };
            let owner = cards::master_of(conn, &order)?;
            Ok(owner
                .filter(|(master, _)| master.work_chat_id == Some(chat))
                .map(|_| order))
        })
        .await?;
    match found {
        Some(order) => {
            cards::show(&ctx.bot, &ctx.app, ctx.chat, None, &order, &ctx.member).await;
            Ok(())
        }
        None => {
            ctx.reply(&texts::not_this_groups_order(order_id.0), None)
                .await
        }
    }
}

/// «Клиент ждёт» on a staff card: the master gets the client's phone now (in his work group
/// or privately, as his orders come), the press is audited, the card is redrawn with it in
/// its history.
async fn client_waiting(ctx: Ctx, (order_id, seen): (OrderId, OrderStatus)) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let outcome = pool::interact(&ctx.app.pool, move |conn| {
        orders::reveal_phone(
            conn,
            order_id,
            seen,
            by,
            now,
            |conn, order, master, user| {
                let text = texts::client_waiting_for_master(order);
                outbox::enqueue(conn, &[notices::to_master(master, user, &text, None)], now)
            },
        )
    })
    .await?;
    ctx.app.outbox.wake();
    match outcome {
        Ok((order, _, user)) => {
            log::info!("order {order_id}: client's phone sent to its master by {by}");
            ctx.reply(
                &texts::client_phone_sent(order_id, &user.display_name()),
                None,
            )
            .await?;
            show_fresh(&ctx, &order, true).await
        }
        Err(RevealError::Stale(order)) => {
            ctx.reply(texts::ORDER_CHANGED, None).await?;
            show_fresh(&ctx, &order, true).await
        }
        Err(RevealError::NotFound) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        Err(RevealError::Db(error)) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_after_the_command() {
        assert_eq!(order_number("42"), Some(OrderId(42)));
        assert_eq!(order_number(" #42 "), Some(OrderId(42)));
        assert_eq!(order_number("№ 7"), Some(OrderId(7)));
        for bad in ["", "abc", "-1", "4 2", "99999999999999999999999"] {
            assert_eq!(order_number(bad), None, "{bad:?}");
        }
    }
}
