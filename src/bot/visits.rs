//! Visits: moving one with a reason (staff on any open order, the master on his accepted one;
//! see `domain::visit_time::may_reschedule`), and the reminder before it, a round of the
//! periodic jobs (`jobs::tick`).

use chrono::{NaiveDateTime, TimeDelta};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::intake::{check_field, read_visit, visit_view};
use super::order_actions::load;
use super::state::{CardAt, State};
use super::texts::{self, VisitView};
use super::{cards, notices, App, BoxError, HandlerResult};
use crate::db::pool;
use crate::domain::ids::{OrderId, TelegramId};
use crate::domain::status::{OrderStatus, Role};
use crate::domain::visit_time::{may_reschedule, to_local};
use crate::store::orders::{self, EditableField};
use crate::store::visits::{self, Reschedule, RescheduleError};
use crate::store::{outbox, users};

const REASON_MAX: usize = 500;

pub fn typed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(dptree::case![State::RescheduleTime { order_id, card }].endpoint(time_given))
        .branch(
            dptree::case![State::RescheduleReason {
                order_id,
                arrival,
                visit_at,
                visit_until,
                card
            }]
            .endpoint(reason_given),
        )
}

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::case![Callback::Reschedule { order_id }].endpoint(begin)
}

/// «🕒 Перенести визит» on a card: the new time is asked in the presser's private chat.
async fn begin(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    match load(&ctx, order_id).await? {
        Some(order) if may_reschedule(&order.facts(), &ctx.actor()) => {
            let card = ctx.card();
            ctx.enter(State::RescheduleTime { order_id, card }).await?;
            let prompt = texts::ask_new_visit(order_id, order.scheduled_time.as_deref());
            ctx.ask(&prompt, false).await
        }
        Some(order) if cards::may_view(&ctx.member, &order) => {
            ctx.reply(texts::RESCHEDULE_NOT_ALLOWED, None).await
        }
        Some(_) => ctx.reply(texts::NO_ACCESS, None).await,
        None => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
    }
}

/// The new time, checked as at intake and read as a moment now; then the reason is asked,
/// with what was understood.
async fn time_given(
    ctx: Ctx,
    (order_id, card): (OrderId, Option<CardAt>),
    typed: Typed,
) -> HandlerResult {
    let arrival = match check_field(EditableField::Arrival, Some(&typed.0)) {
        Ok(Some(arrival)) => arrival,
        Ok(None) => return ctx.again(texts::FIELD_REQUIRED).await,
        Err(message) => return ctx.again(&message).await,
    };
    let visit = read_visit(&ctx, &arrival);
    let (visit_at, visit_until) = (visit.map(|(at, _)| at), visit.and_then(|(_, u)| u));
    ctx.enter(State::RescheduleReason {
        order_id,
        arrival,
        visit_at,
        visit_until,
        card,
    })
    .await?;
    let prompt = texts::ask_reschedule_reason(visit_view(&ctx, visit_at, visit_until).as_ref());
    ctx.ask(&prompt, false).await
}

type Asked = (
    OrderId,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<CardAt>,
);

/// The reason: the visit is moved, counted and audited, and the other side is told.
async fn reason_given(
    ctx: Ctx,
    (order_id, arrival, visit_at, visit_until, card): Asked,
    typed: Typed,
) -> HandlerResult {
    let reason = typed.0;
    if reason.is_empty() {
        return ctx.again(texts::REASON_EMPTY).await;
    }
    if reason.chars().count() > REASON_MAX {
        return ctx.again(texts::REASON_TOO_LONG).await;
    }
    let view = visit_view(&ctx, visit_at, visit_until);
    let request = Reschedule {
        order_id,
        actor: ctx.actor(),
        arrival: arrival.clone(),
        visit_at,
        reason,
    };
    let now = ctx.now();
    let tz = ctx.app.config.timezone;
    let by = ctx.member.clone();
    let outcome = pool::interact(&ctx.app.pool, move |conn| {
        visits::reschedule(conn, &request, now, |conn, moved| {
            let owed =
                notices::after_reschedule(conn, tz, moved, &by, &request.reason, view.as_ref())?;
            outbox::enqueue(conn, &owed, now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    ctx.end_dialogue().await?;
    match outcome {
        Ok(moved) => {
            log::info!(
                "order {order_id}: visit moved by {} (reschedule {})",
                ctx.member.user.telegram_id,
                moved.after.reschedule_count
            );
            let said = texts::rescheduled(order_id, &arrival, view.as_ref());
            ctx.reply(&said, None).await?;
            cards::show(
                &ctx.bot,
                &ctx.app,
                ctx.chat,
                None,
                &moved.after,
                &ctx.member,
            )
            .await;
            if let Some(card) = card {
                cards::redraw(&ctx.bot, &ctx.app, card, &moved.after, &ctx.member).await;
            }
            Ok(())
        }
        Err(RescheduleError::NotAllowed(_)) => ctx.reply(texts::RESCHEDULE_NOT_ALLOWED, None).await,
        Err(RescheduleError::NotFound) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        Err(RescheduleError::Db(error)) => Err(error.into()),
    }
}

/// A round's reminders before visits: each visit due within the configured lead (and not
/// past) is marked reminded and its message queued in one transaction, so it is reminded of
/// once; its master gets it with his card's buttons (Accept / Decline while he has not
/// accepted), and a visit nobody was assigned to goes to the dispatchers and admins instead.
/// The caller keeps quiet hours. Returns the orders reminded of, soonest visit first.
pub async fn remind_visits(app: &App, now: NaiveDateTime) -> Result<Vec<OrderId>, BoxError> {
    let Some(lead) = app.config.visit_reminder else {
        return Ok(Vec::new());
    };
    let tz = app.config.timezone;
    let Some(horizon) = now.checked_add_signed(lead) else {
        return Ok(Vec::new());
    };
    let (due, ()) = app
        .db_long(move |conn| {
            visits::take_due_visits(conn, now, horizon, |conn, due| {
                let mut owed = Vec::new();
                let mut staff: Option<Vec<TelegramId>> = None;
                for visit in due {
                    let Some(order) = orders::get(conn, visit.id)? else {
                        continue;
                    };
                    let Some(at) = order.visit_at else {
                        continue;
                    };
                    let view = VisitView {
                        at: to_local(at, tz),
                        until: None,
                        now: to_local(now, tz),
                    };
                    let left = whole_minutes(at - now);
                    match cards::master_of(conn, &order)? {
                        Some((master, user)) if order.status() != OrderStatus::New => {
                            let as_master = cards::as_master(&master);
                            let (_, buttons) = cards::render(conn, tz, &order, &as_master)?;
                            let text = texts::visit_reminder(&order, &view, left);
                            owed.push(notices::to_master(&master, &user, &text, Some(buttons)));
                        }
                        _ => {
                            if staff.is_none() {
                                let roles = [Role::Admin, Role::Dispatcher];
                                staff = Some(users::with_roles(conn, &roles)?);
                            }
                            let text = texts::visit_unassigned(&order, &view, left);
                            let people = staff.as_deref().unwrap_or_default();
                            owed.extend(notices::to_each(people, &text));
                        }
                    }
                }
                outbox::enqueue(conn, &owed, now)
            })
        })
        .await?;
    app.outbox.wake();
    Ok(due.into_iter().map(|visit| visit.id).collect())
}

/// A time left, rounded up to the minute: a round half a minute late still says "2 ч".
fn whole_minutes(left: TimeDelta) -> TimeDelta {
    TimeDelta::minutes((left.num_seconds() + 59).div_euclid(60))
}
