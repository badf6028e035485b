//! Closing an order with money (SPEC 2.3 and the pay rules): the total, the materials, whether
//! there is a review, how the client paid (when the rules ask); then the split, the order
//! closed, and the breakdown to the master and the dispatcher. An admin correcting a closed
//! order's money goes through the same questions (`correcting`).

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::order_actions::{load, show_fresh};
use super::state::{CardAt, State};
use super::{cards, keyboards, notices, texts, BoxError, HandlerResult};
use crate::db::pool;
use crate::domain::ids::OrderId;
use crate::domain::money::{parse_rubles, Amounts, Kopecks, Payment};
use crate::domain::status::{Action, ActionKind, OrderStatus, Role};
use crate::store::orders::{self, Closing, Move, MoveError};
use crate::store::outbox;

/// What a closing dialogue carries from step to step.
#[derive(Debug, Clone, Copy)]
struct Asked {
    order_id: OrderId,
    seen: OrderStatus,
    card: Option<CardAt>,
    correcting: bool,
}

pub fn typed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(
            dptree::case![State::CloseTotal {
                order_id,
                seen,
                card,
                correcting
            }]
            .endpoint(total_given),
        )
        .branch(
            dptree::case![State::CloseMaterials {
                order_id,
                seen,
                total,
                card,
                correcting
            }]
            .endpoint(materials_given),
        )
}

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(
            dptree::case![Callback::Review(has_review)].branch(
                dptree::case![State::CloseReview {
                    order_id,
                    seen,
                    total,
                    materials,
                    card,
                    correcting
                }]
                .endpoint(review_given),
            ),
        )
        .branch(
            dptree::case![Callback::Paid(payment)].branch(
                dptree::case![State::ClosePayment {
                    order_id,
                    seen,
                    total,
                    materials,
                    has_review,
                    card,
                    correcting
                }]
                .endpoint(payment_given),
            ),
        )
        .branch(dptree::case![Callback::CorrectMoney { order_id }].endpoint(start_correcting))
}

/// The first question of a closing; the prepayment of a long repair is recalled.
pub async fn start(
    ctx: &Ctx,
    order: &orders::Order,
    seen: OrderStatus,
    card: Option<CardAt>,
) -> HandlerResult {
    ctx.enter(State::CloseTotal {
        order_id: order.id,
        seen,
        card,
        correcting: false,
    })
    .await?;
    ctx.ask(&texts::ask_total(order.prepayment_kopecks), false)
        .await
}

/// An admin's "correct the money" on a closed order's card.
async fn start_correcting(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    if !ctx.member.has(Role::Admin) {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let Some(order) = load(&ctx, order_id).await? else {
        return ctx.reply(texts::ORDER_NOT_FOUND, None).await;
    };
    if order.status() != OrderStatus::Closed {
        ctx.reply(texts::ORDER_CHANGED, None).await?;
        return show_fresh(&ctx, &order, true).await;
    }
    ctx.enter(State::CloseTotal {
        order_id,
        seen: OrderStatus::Closed,
        card: ctx.card(),
        correcting: true,
    })
    .await?;
    ctx.ask(&texts::ask_corrected_total(order_id), false).await
}

async fn total_given(
    ctx: Ctx,
    (order_id, seen, card, correcting): (OrderId, OrderStatus, Option<CardAt>, bool),
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
        correcting,
    })
    .await?;
    ctx.ask(texts::ASK_MATERIALS, false).await
}

async fn materials_given(
    ctx: Ctx,
    (order_id, seen, total, card, correcting): (OrderId, OrderStatus, i64, Option<CardAt>, bool),
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
        correcting,
    })
    .await?;
    let markup = keyboards::review().into();
    ctx.send_to(ctx.private(), texts::ASK_REVIEW, Some(markup))
        .await
}

type ReviewStep = (OrderId, OrderStatus, i64, i64, Option<CardAt>, bool);

async fn review_given(ctx: Ctx, has_review: bool, step: ReviewStep) -> HandlerResult {
    let (order_id, seen, total, materials, card, correcting) = step;
    let asked = Asked {
        order_id,
        seen,
        card,
        correcting,
    };
    if !ctx.app.config.pay.ask_payment {
        let amounts = Amounts {
            total: Kopecks(total),
            materials: Kopecks(materials),
            has_review,
            payment: Payment::Cash,
        };
        return finish(ctx, asked, amounts).await;
    }
    ctx.enter(State::ClosePayment {
        order_id,
        seen,
        total,
        materials,
        has_review,
        card,
        correcting,
    })
    .await?;
    let markup = keyboards::payment().into();
    ctx.send_to(ctx.private(), texts::ASK_PAYMENT, Some(markup))
        .await
}

type PaymentStep = (OrderId, OrderStatus, i64, i64, bool, Option<CardAt>, bool);

async fn payment_given(ctx: Ctx, payment: Payment, step: PaymentStep) -> HandlerResult {
    let (order_id, seen, total, materials, has_review, card, correcting) = step;
    let asked = Asked {
        order_id,
        seen,
        card,
        correcting,
    };
    let amounts = Amounts {
        total: Kopecks(total),
        materials: Kopecks(materials),
        has_review,
        payment,
    };
    finish(ctx, asked, amounts).await
}

/// The last step: split the money (in the transaction, by the order and master as they are),
/// close the order or correct its money, tell the people concerned.
async fn finish(ctx: Ctx, asked: Asked, amounts: Amounts) -> HandlerResult {
    ctx.end_dialogue().await?;
    let closing = Closing {
        amounts,
        rules: ctx.app.config.pay.clone(),
    };
    let now = ctx.now();
    let tz = ctx.app.config.timezone;
    let by = ctx.member.clone();
    let order_id = asked.order_id;
    let outcome = if asked.correcting {
        let admin = ctx.actor().telegram_id;
        pool::interact(&ctx.app.pool, move |conn| {
            orders::correct_money(conn, order_id, admin, &closing, now, |conn, moved| {
                let told = notices::money_corrected(conn, moved, &by)?;
                outbox::enqueue(conn, &told, now)
            })
        })
        .await?
    } else {
        let request = Move {
            seen_status: Some(asked.seen),
            closing: Some(closing),
            ..Move::new(order_id, ctx.actor(), Action::Close)
        };
        pool::interact(&ctx.app.pool, move |conn| {
            orders::apply(conn, &request, now, |conn, moved| {
                let told = notices::after_move(conn, tz, moved, &by, ActionKind::Close, None)?;
                outbox::enqueue(conn, &told, now)
            })
        })
        .await?
    };
    ctx.app.outbox.wake();
    match outcome {
        Ok(moved) => {
            if let Some(breakdown) = &moved.breakdown {
                let text = if asked.correcting {
                    texts::money_corrected(order_id, &moved.before, breakdown)
                } else {
                    texts::breakdown(order_id, breakdown)
                };
                ctx.reply_with_menu(&text).await?;
            }
            if let Some(card) = asked.card {
                cards::redraw(&ctx.bot, &ctx.app, card, &moved.after, &ctx.member).await;
            }
            Ok(())
        }
        Err(MoveError::Money(error)) => ctx.reply(&texts::money_refused(&error), None).await,
        Err(MoveError::Stale(order)) | Err(MoveError::Denied(_, order)) => {
            ctx.reply(texts::ORDER_CHANGED, None).await?;
            show_fresh(&ctx, &order, false).await
        }
        Err(MoveError::NotFound) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        Err(error) => Err(error.into()),
    }
}
