//! Soft delete of orders (admins, after a confirmation): a deleted order keeps its row,
//! history and money but counts nowhere (lists, search, reports, reminders, SLA alerts, the
//! masters' figures); admins find it in «🗑 Удалённые» (see `lists::deleted_page`) and bring
//! it back. Its card says it is deleted. Both ways are audited, and the master of an open
//! order is told.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::Ctx;
use super::order_actions::load;
use super::{cards, keyboards, notices, texts, BoxError, HandlerResult};
use crate::db::pool;
use crate::domain::ids::OrderId;
use crate::domain::status::Role;
use crate::store::orders::{self, DeleteError};
use crate::store::outbox;

pub fn pressed() -> UpdateHandler<BoxError> {
    let admin = |ctx: Ctx| ctx.has(Role::Admin);
    let admin_only = |route: UpdateHandler<BoxError>| {
        dptree::entry()
            .branch(dptree::filter(admin).chain(route))
            .branch(dptree::endpoint(|ctx: Ctx| async move {
                ctx.reply(texts::NO_ACCESS, None).await
            }))
    };
    dptree::entry()
        .branch(
            dptree::case![Callback::Delete { order_id }]
                .chain(admin_only(dptree::endpoint(ask_to_confirm))),
        )
        .branch(
            dptree::case![Callback::DeleteConfirmed { order_id }]
                .chain(admin_only(dptree::endpoint(delete))),
        )
        .branch(
            dptree::case![Callback::Undelete { order_id }]
                .chain(admin_only(dptree::endpoint(undelete))),
        )
        .branch(dptree::case![Callback::DeletedCard { order_id }].endpoint(
            |ctx: Ctx, order_id: OrderId| async move { show_or_missing(&ctx, order_id).await },
        ))
}

/// «🗑 Удалить» on a card: the card turns into the question, «Назад» turns it back.
async fn ask_to_confirm(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    match load(&ctx, order_id).await? {
        Some(_) => {
            let markup = keyboards::confirm_delete(order_id);
            ctx.show_in_place(&texts::ask_delete(order_id), markup)
                .await
        }
        None => show_or_missing(&ctx, order_id).await,
    }
}

async fn delete(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let deleted = pool::interact(&ctx.app.pool, move |conn| {
        orders::soft_delete(conn, order_id, by, now, |conn, order| {
            let owed = notices::after_delete(conn, order)?;
            outbox::enqueue(conn, &owed, now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    match deleted {
        Ok(_) => {
            log::info!("order {order_id} deleted by {by}");
            ctx.reply(&texts::order_deleted(order_id), None).await?;
            show_or_missing(&ctx, order_id).await
        }
        // Deleted meanwhile (a double press), or gone.
        Err(DeleteError::NotFound) => show_or_missing(&ctx, order_id).await,
        Err(DeleteError::Db(error)) => Err(error.into()),
    }
}

async fn undelete(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let tz = ctx.app.config.timezone;
    let restored = pool::interact(&ctx.app.pool, move |conn| {
        orders::undelete(conn, order_id, by, now, |conn, order| {
            let owed = notices::after_undelete(conn, tz, order)?;
            outbox::enqueue(conn, &owed, now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    match restored {
        Ok(order) => {
            log::info!("order {order_id} brought back from the deleted by {by}");
            ctx.reply(&texts::order_undeleted(order_id), None).await?;
            cards::show(
                &ctx.bot,
                &ctx.app,
                ctx.chat,
                ctx.pressed_on,
                &order,
                &ctx.member,
            )
            .await;
            Ok(())
        }
        Err(DeleteError::NotFound) => {
            ctx.reply(texts::ORDER_NOT_DELETED, None).await?;
            show_or_missing(&ctx, order_id).await
        }
        Err(DeleteError::Db(error)) => Err(error.into()),
    }
}

/// The order's card, deleted or not: a deleted one to staff (it says so), a live one as its
/// viewers see it, in place of the pressed message; else "not found" (a master cannot tell a
/// deleted order from a missing one).
pub async fn show_or_missing(ctx: &Ctx, order_id: OrderId) -> HandlerResult {
    if ctx.is_staff() {
        let tz = ctx.app.config.timezone;
        let viewer = ctx.actor();
        let drawn = ctx
            .app
            .db(move |conn| match orders::get_deleted(conn, order_id)? {
                Some(order) => cards::render_deleted(conn, tz, &order, &viewer).map(Some),
                None => Ok(None),
            })
            .await?;
        if let Some((text, markup)) = drawn {
            return ctx.show_in_place(&text, markup).await;
        }
    }
    match load(ctx, order_id).await? {
        Some(order) if cards::may_view(&ctx.member, &order) => {
            let (bot, app, chat) = (&ctx.bot, &ctx.app, ctx.chat);
            cards::show(bot, app, chat, ctx.pressed_on, &order, &ctx.member).await;
            Ok(())
        }
        _ => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
    }
}
