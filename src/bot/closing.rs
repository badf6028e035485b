//! Closing an order with money (SPEC 2.3): the total, the materials, whether there is a review;
//! then the split, the order closed, and the breakdown to the master and the dispatcher.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::order_actions::show_fresh;
use super::state::{CardAt, State};
use super::{cards, keyboards, notices, texts, BoxError, HandlerResult};
use crate::db::pool;
use crate::domain::ids::OrderId;
use crate::domain::money::{close_order, parse_rubles, Kopecks};
use crate::domain::status::{Action, ActionKind, OrderStatus};
use crate::store::orders::{self, ClosingMoney, Move, MoveError};
use crate::store::outbox;

/// The amounts collected so far: order, the status its card showed, total, materials, card.
type Amounts = (OrderId, OrderStatus, i64, i64, Option<CardAt>);

pub fn typed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(
            dptree::case![State::CloseTotal {
                order_id,
                seen,
                card
            }]
            .endpoint(total_given),
        )
        .branch(
            dptree::case![State::CloseMaterials {
                order_id,
                seen,
                total,
                card
            }]
            .endpoint(materials_given),
        )
}

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::case![Callback::Review(has_review)].branch(
        dptree::case![State::CloseReview {
            order_id,
            seen,
            total,
            materials,
            card
        }]
        .endpoint(close),
    )
}

async fn total_given(
    ctx: Ctx,
    (order_id, seen, card): (OrderId, OrderStatus, Option<CardAt>),
    typed: Typed,
) -> HandlerResult {
    let Ok(total) = parse_rubles(&typed.0) else {
        return ctx.again(texts::AMOUNT_INVALID).await;
    };
    ctx.enter(State::CloseMaterials {
        order_id,
        seen,
        total: total.get(),
        card,
    })
    .await?;
    ctx.ask(texts::ASK_MATERIALS, false).await
}

async fn materials_given(
    ctx: Ctx,
    (order_id, seen, total, card): (OrderId, OrderStatus, i64, Option<CardAt>),
    typed: Typed,
) -> HandlerResult {
    let materials = match parse_rubles(&typed.0) {
        Ok(materials) if materials > Kopecks(total) => {
            return ctx.again(texts::MATERIALS_ABOVE_TOTAL).await
        }
        Ok(materials) => materials,
        Err(_) => return ctx.again(texts::AMOUNT_INVALID).await,
    };
    ctx.enter(State::CloseReview {
        order_id,
        seen,
        total,
        materials: materials.get(),
        card,
    })
    .await?;
    let markup = keyboards::review().into();
    ctx.send_to(ctx.private(), texts::ASK_REVIEW, Some(markup))
        .await
}

/// The last step: split the money, close the order, show the breakdown to the master and to
/// the dispatcher who created the order.
async fn close(ctx: Ctx, has_review: bool, amounts: Amounts) -> HandlerResult {
    let (order_id, seen, total, materials, card) = amounts;
    ctx.end_dialogue().await?;
    let shares = &ctx.app.config.shares;
    let Ok(breakdown) = close_order(Kopecks(total), Kopecks(materials), has_review, shares) else {
        return ctx.reply(texts::MATERIALS_ABOVE_TOTAL, None).await;
    };
    let money = ClosingMoney {
        total: breakdown.total,
        materials: breakdown.materials,
        master_share: breakdown.master,
        company_share: breakdown.company,
        has_review,
    };
    let request = Move {
        order_id,
        actor: ctx.actor(),
        action: Action::Close,
        seen_status: Some(seen),
        reason: None,
        money: Some(money),
    };
    let now = ctx.now();
    let by = ctx.member.clone();
    let closing = pool::interact(&ctx.app.pool, move |conn| {
        orders::apply(conn, &request, now, |conn, moved| {
            let told = notices::to_dispatcher(
                &moved.after,
                &by,
                ActionKind::Close,
                None,
                Some(&breakdown),
            );
            outbox::enqueue(conn, told.as_slice(), now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    match closing {
        Ok(moved) => {
            ctx.reply_with_menu(&texts::breakdown(order_id, &breakdown))
                .await?;
            if let Some(card) = card {
                cards::redraw(&ctx.bot, &ctx.app, card, &moved.after, &ctx.member).await;
            }
            Ok(())
        }
        Err(MoveError::Stale(order)) | Err(MoveError::Denied(_, order)) => {
            ctx.reply(texts::ORDER_CHANGED, None).await?;
            show_fresh(&ctx, &order, false).await
        }
        Err(MoveError::NotFound) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        Err(error) => Err(error.into()),
    }
}
