//! Actions on an order's card: assign, accept, decline or refuse with a reason, on site, long
//! repair, restore. Every one goes through the order state machine; the card is redrawn where
//! the button was and the people concerned are told.

use chrono::NaiveDate;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::intake::unless_skip;
use super::state::{CardAt, State};
use super::{cards, closing, keyboards, notices, texts, BoxError, HandlerResult};
use crate::db::pool;
use crate::domain::ids::{MasterId, OrderId};
use crate::domain::money::parse_rubles;
use crate::domain::period;
use crate::domain::status::{available_actions, Action, ActionKind, Denied, OrderStatus};
use crate::store::masters;
use crate::store::orders::{self, LongRepairPlan, Move, MoveError, Order};
use crate::store::outbox;

const REASON_MAX: usize = 500;

/// What a reason dialogue remembers: the order, the status its card showed, the card.
type Asked = (OrderId, OrderStatus, Option<CardAt>);

/// A typed reason, for a decline or a refusal.
pub fn typed() -> UpdateHandler<BoxError> {
    dptree::filter_map(|state: State| match state {
        State::DeclineReason {
            order_id,
            seen,
            card,
        } => Some((Action::Decline, (order_id, seen, card))),
        State::RefuseReason {
            order_id,
            seen,
            card,
        } => Some((Action::Refuse, (order_id, seen, card))),
        _ => None,
    })
    .endpoint(
        |ctx: Ctx, (action, asked): (Action, Asked), typed: Typed| async move {
            reason_given(&ctx, asked, action, &typed.0).await
        },
    )
}

/// The long repair's questions: parts (typed), the expected date and a prepayment (typed,
/// or skipped with the button).
pub fn long_repair_typed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(
            dptree::case![State::LongRepairParts {
                order_id,
                seen,
                card
            }]
            .endpoint(parts_given),
        )
        .branch(
            dptree::case![State::LongRepairDate {
                order_id,
                seen,
                card,
                parts
            }]
            .endpoint(ready_date_given),
        )
        .branch(
            dptree::case![State::LongRepairPrepayment {
                order_id,
                seen,
                card,
                parts,
                ready_on
            }]
            .endpoint(prepayment_given),
        )
}

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(
            dptree::case![Callback::Skip]
                .branch(
                    dptree::case![State::LongRepairDate {
                        order_id,
                        seen,
                        card,
                        parts
                    }]
                    .endpoint(|ctx: Ctx, asked: DateAsked| ready_date(ctx, asked, None)),
                )
                .branch(
                    dptree::case![State::LongRepairPrepayment {
                        order_id,
                        seen,
                        card,
                        parts,
                        ready_on
                    }]
                    .endpoint(|ctx: Ctx, asked: PrepaymentAsked| prepayment(ctx, asked, None)),
                ),
        )
        .branch(
            dptree::case![Callback::OutOfCity { order_id, on }].endpoint(
                |ctx: Ctx, (order_id, on): (OrderId, bool)| async move {
                    set_out_of_city(&ctx, order_id, on).await
                },
            ),
        )
        .branch(
            dptree::case![Callback::Order {
                order_id,
                action,
                seen
            }]
            .endpoint(button),
        )
        .branch(
            dptree::case![Callback::PickMaster {
                order_id,
                master_id,
                seen
            }]
            .endpoint(
                |ctx: Ctx, (order_id, master_id, seen): (OrderId, MasterId, OrderStatus)| async move {
                    let assign = Action::Assign { master_id };
                    perform(&ctx, order_id, assign, Some(seen), None, None).await
                },
            ),
        )
        .branch(dptree::case![Callback::Card { order_id }].endpoint(show_card))
}

pub async fn load(ctx: &Ctx, order_id: OrderId) -> Result<Option<Order>, BoxError> {
    Ok(ctx.app.db(move |conn| orders::get(conn, order_id)).await?)
}

async fn show_card(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    match load(&ctx, order_id).await? {
        Some(order) if cards::may_view(&ctx.member, &order) => {
            show(&ctx, &order).await;
            Ok(())
        }
        Some(_) => ctx.reply(texts::NO_ACCESS, None).await,
        None => super::deletion::show_or_missing(&ctx, order_id).await,
    }
}

/// The card where the update came from: in place of a pressed one, else as a new message.
async fn show(ctx: &Ctx, order: &Order) {
    cards::show(
        &ctx.bot,
        &ctx.app,
        ctx.chat,
        ctx.pressed_on,
        order,
        &ctx.member,
    )
    .await;
}

/// An action button of a card. Actions that need more input (a master, a reason, amounts)
/// are checked now and continue in a dialogue; the rest are performed at once.
async fn button(
    ctx: Ctx,
    (order_id, kind, seen): (OrderId, ActionKind, OrderStatus),
) -> HandlerResult {
    let action = match kind {
        ActionKind::Unassign => Action::Unassign,
        ActionKind::Accept => Action::Accept,
        ActionKind::GoOnsite => Action::GoOnsite,
        ActionKind::ResumeOnsite => Action::ResumeOnsite,
        ActionKind::Restore => Action::Restore,
        ActionKind::Assign
        | ActionKind::Decline
        | ActionKind::Refuse
        | ActionKind::Close
        | ActionKind::LongRepair => {
            return needs_input(&ctx, order_id, kind, seen).await;
        }
    };
    perform(&ctx, order_id, action, Some(seen), None, None).await
}

async fn needs_input(
    ctx: &Ctx,
    order_id: OrderId,
    kind: ActionKind,
    seen: OrderStatus,
) -> HandlerResult {
    let Some(order) = load(ctx, order_id).await? else {
        return ctx.reply(texts::ORDER_NOT_FOUND, None).await;
    };
    if order.status() != seen {
        ctx.reply(texts::ORDER_CHANGED, None).await?;
        return show_fresh(ctx, &order, true).await;
    }
    if !available_actions(&order.facts(), &ctx.actor()).contains(&kind) {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    // A dialogue goes on in the private chat, wherever the button was; the card it started
    // from is redrawn when it ends.
    let card = ctx.card();
    let (state, prompt) = match kind {
        ActionKind::Assign => return offer_masters(ctx, &order, seen).await,
        ActionKind::Decline => (
            State::DeclineReason {
                order_id,
                seen,
                card,
            },
            texts::ASK_DECLINE_REASON,
        ),
        ActionKind::Refuse => (
            State::RefuseReason {
                order_id,
                seen,
                card,
            },
            texts::ASK_REFUSE_REASON,
        ),
        ActionKind::LongRepair => (
            State::LongRepairParts {
                order_id,
                seen,
                card,
            },
            texts::ASK_PARTS,
        ),
        _ => return closing::start(ctx, &order, seen, card).await,
    };
    ctx.enter(state).await?;
    ctx.ask(prompt, false).await
}

async fn offer_masters(ctx: &Ctx, order: &Order, seen: OrderStatus) -> HandlerResult {
    let current = order.assigned_master_id;
    let candidates: Vec<_> = ctx
        .app
        .db(masters::assignable)
        .await?
        .into_iter()
        .filter(|(master, _)| Some(master.id) != current || seen == OrderStatus::New)
        .collect();
    if candidates.is_empty() {
        return ctx.reply(texts::NO_MASTERS, None).await;
    }
    let markup = keyboards::pick_master(order.id, seen, &candidates);
    ctx.reply(texts::PICK_MASTER, Some(markup.into())).await
}

/// After a refused or stale move: only the order's own viewers get its card back (in place
/// of the pressed one when `in_place`).
pub async fn show_fresh(ctx: &Ctx, order: &Order, in_place: bool) -> HandlerResult {
    if cards::may_view(&ctx.member, order) {
        let edit = ctx.pressed_on.filter(|_| in_place);
        cards::show(&ctx.bot, &ctx.app, ctx.chat, edit, order, &ctx.member).await;
    }
    Ok(())
}

async fn reason_given(ctx: &Ctx, asked: Asked, action: Action, input: &str) -> HandlerResult {
    if input.is_empty() {
        return ctx.again(texts::REASON_EMPTY).await;
    }
    if input.chars().count() > REASON_MAX {
        return ctx.again(texts::REASON_TOO_LONG).await;
    }
    let (order_id, seen, card) = asked;
    ctx.end_dialogue().await?;
    perform(
        ctx,
        order_id,
        action,
        Some(seen),
        Some(input.to_string()),
        card,
    )
    .await
}

/// Applies one transition through the state machine and reports it: the card is refreshed
/// where the update came from (and at `origin`, the card a dialogue started from), the people
/// concerned are told. Stale and forged presses change nothing and get the fresh card (if the
/// sender may see it) or a refusal.
pub async fn perform(
    ctx: &Ctx,
    order_id: OrderId,
    action: Action,
    seen: Option<OrderStatus>,
    reason: Option<String>,
    origin: Option<CardAt>,
) -> HandlerResult {
    perform_move(
        ctx,
        Move {
            seen_status: seen,
            reason,
            ..Move::new(order_id, ctx.actor(), action)
        },
        origin,
    )
    .await
}

/// [`perform`] for a move carrying more than a reason (a long repair's plan).
async fn perform_move(ctx: &Ctx, request: Move, origin: Option<CardAt>) -> HandlerResult {
    let (order_id, action) = (request.order_id, request.action);
    let now = ctx.now();
    let tz = ctx.app.config.timezone;
    let by = ctx.member.clone();
    let outcome = pool::interact(&ctx.app.pool, move |conn| {
        orders::apply(conn, &request, now, |conn, moved| {
            let reason = request.reason.as_deref();
            let owed = notices::after_move(conn, tz, moved, &by, action.kind(), reason)?;
            outbox::enqueue(conn, &owed, now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    match outcome {
        Ok(moved) => {
            log::info!(
                "order {order_id}: {} -> {} by {}",
                moved.before.status,
                moved.after.status,
                ctx.member.user.telegram_id
            );
            show(ctx, &moved.after).await;
            if let Some(card) = origin {
                cards::redraw(&ctx.bot, &ctx.app, card, &moved.after, &ctx.member).await;
            }
            Ok(())
        }
        Err(MoveError::Stale(order))
        | Err(MoveError::Denied(Denied::WrongStatus { .. }, order)) => {
            ctx.reply(texts::ORDER_CHANGED, None).await?;
            show_fresh(ctx, &order, true).await
        }
        Err(MoveError::Denied(denied, _)) => ctx.reply(texts::denied(&denied), None).await,
        Err(MoveError::NotFound) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        Err(MoveError::MasterUnavailable) => ctx.reply(texts::MASTER_UNAVAILABLE, None).await,
        Err(MoveError::MoneyMissing) => ctx.reply(texts::TRY_AGAIN_LATER, None).await,
        Err(MoveError::Money(error)) => ctx.reply(&texts::money_refused(&error), None).await,
        Err(MoveError::Db(error)) => Err(error.into()),
    }
}

type LongRepairAsked = (OrderId, OrderStatus, Option<CardAt>);

async fn parts_given(
    ctx: Ctx,
    (order_id, seen, card): LongRepairAsked,
    typed: Typed,
) -> HandlerResult {
    let parts = typed.0.trim().to_string();
    if parts.is_empty() {
        return ctx.again(texts::REASON_EMPTY).await;
    }
    if parts.chars().count() > REASON_MAX {
        return ctx.again(texts::REASON_TOO_LONG).await;
    }
    ctx.enter(State::LongRepairDate {
        order_id,
        seen,
        card,
        parts,
    })
    .await?;
    ctx.ask(texts::ASK_READY_DATE, true).await
}

type DateAsked = (OrderId, OrderStatus, Option<CardAt>, String);

async fn ready_date_given(ctx: Ctx, asked: DateAsked, typed: Typed) -> HandlerResult {
    ready_date(ctx, asked, unless_skip(&typed)).await
}

/// `input` None: skipped.
async fn ready_date(ctx: Ctx, asked: DateAsked, input: Option<&str>) -> HandlerResult {
    let (order_id, seen, card, parts) = asked;
    let today = ctx
        .now()
        .and_utc()
        .with_timezone(&ctx.app.config.timezone)
        .date_naive();
    let ready_on = match input.map(|input| period::parse_day_from(input, today)) {
        None => None,
        Some(Some(date)) => Some(date),
        Some(None) => return ctx.again(texts::DATE_INVALID).await,
    };
    if !ctx.app.config.pay.ask_prepayment {
        let plan = LongRepairPlan {
            ready_on,
            prepayment: None,
        };
        return long_repair(&ctx, (order_id, seen, card), parts, plan).await;
    }
    ctx.enter(State::LongRepairPrepayment {
        order_id,
        seen,
        card,
        parts,
        ready_on,
    })
    .await?;
    ctx.ask(texts::ASK_PREPAYMENT, true).await
}

type PrepaymentAsked = (
    OrderId,
    OrderStatus,
    Option<CardAt>,
    String,
    Option<NaiveDate>,
);

async fn prepayment_given(ctx: Ctx, asked: PrepaymentAsked, typed: Typed) -> HandlerResult {
    prepayment(ctx, asked, unless_skip(&typed)).await
}

/// `input` None: skipped.
async fn prepayment(ctx: Ctx, asked: PrepaymentAsked, input: Option<&str>) -> HandlerResult {
    let (order_id, seen, card, parts, ready_on) = asked;
    let prepayment = match input.map(parse_rubles) {
        None => None,
        Some(Ok(amount)) => Some(amount),
        Some(Err(_)) => return ctx.again(texts::AMOUNT_INVALID).await,
    };
    let plan = LongRepairPlan {
        ready_on,
        prepayment,
    };
    long_repair(&ctx, (order_id, seen, card), parts, plan).await
}

async fn long_repair(
    ctx: &Ctx,
    (order_id, seen, card): LongRepairAsked,
    parts: String,
    plan: LongRepairPlan,
) -> HandlerResult {
    ctx.end_dialogue().await?;
    let request = Move {
        seen_status: Some(seen),
        reason: Some(parts),
        long_repair: Some(plan),
        ..Move::new(order_id, ctx.actor(), Action::LongRepair)
    };
    perform_move(ctx, request, card).await
}

/// Staff mark an open order as a job outside the city (the master's bonus), or not.
async fn set_out_of_city(ctx: &Ctx, order_id: OrderId, on: bool) -> HandlerResult {
    if !ctx.member.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let (by, now) = (ctx.actor().telegram_id, ctx.now());
    let order = ctx
        .app
        .db(move |conn| orders::set_out_of_city(conn, order_id, by, on, now))
        .await?;
    match order {
        Some(order) => {
            show(ctx, &order).await;
            Ok(())
        }
        None => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
    }
}
