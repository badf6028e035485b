//! Correcting a field of an open order (staff): pick the field, type the new value; checked as
//! at intake, saved with the old and the new value in the audit log, the master told.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::intake::{check_field, read_visit, unless_skip, visit_view};
use super::order_actions::load;
use super::state::State;
use super::{cards, keyboards, notices, texts, BoxError, HandlerResult};
use crate::domain::ids::OrderId;
use crate::store::orders::{self, EditableField, FieldEdit};
use crate::store::outbox;

pub fn typed() -> UpdateHandler<BoxError> {
    dptree::case![State::EditValue { order_id, field }].endpoint(
        |ctx: Ctx, (order_id, field): (OrderId, EditableField), typed: Typed| async move {
            value_given(&ctx, order_id, field, unless_skip(&typed)).await
        },
    )
}

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(dptree::case![Callback::Edit { order_id }].endpoint(offer_fields))
        .branch(dptree::case![Callback::EditField { order_id, field }].endpoint(field_chosen))
        .branch(dptree::case![Callback::Skip].branch(
            dptree::case![State::EditValue { order_id, field }].endpoint(
                |ctx: Ctx, (order_id, field): (OrderId, EditableField)| async move {
                    value_given(&ctx, order_id, field, None).await
                },
            ),
        ))
}

async fn offer_fields(ctx: Ctx, order_id: OrderId) -> HandlerResult {
    match load(&ctx, order_id).await? {
        Some(order) if ctx.is_staff() && order.status().is_open() => {
            let markup = keyboards::edit_fields(order_id).into();
            ctx.reply(texts::ASK_FIELD, Some(markup)).await
        }
        Some(_) if ctx.is_staff() => ctx.reply(texts::ORDER_NOT_OPEN, None).await,
        Some(_) => ctx.reply(texts::NO_ACCESS, None).await,
        None => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
    }
}

async fn field_chosen(ctx: Ctx, (order_id, field): (OrderId, usize)) -> HandlerResult {
    let field = EditableField::ALL.get(field).copied();
    match (load(&ctx, order_id).await?, field) {
        (Some(order), Some(field)) if ctx.is_staff() && order.status().is_open() => {
            ctx.enter(State::EditValue { order_id, field }).await?;
            let prompt = texts::ask_new_value(field, field.current(&order).as_deref());
            ctx.ask(&prompt, field.is_optional()).await
        }
        (Some(_), Some(_)) if ctx.is_staff() => ctx.reply(texts::ORDER_NOT_OPEN, None).await,
        (None, _) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        _ => ctx.reply(texts::NO_ACCESS, None).await,
    }
}

/// A new value (None: skipped) for a field of an open order.
async fn value_given(
    ctx: &Ctx,
    order_id: OrderId,
    field: EditableField,
    typed: Option<&str>,
) -> HandlerResult {
    if !ctx.is_staff() {
        ctx.end_dialogue().await?;
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let value = match check_field(field, typed) {
        Ok(value) => value,
        Err(message) => return ctx.again(&message).await,
    };
    // The arrival time is read as a moment now, as at intake.
    let visit = match (field, value.as_deref()) {
        (EditableField::Arrival, Some(typed)) => read_visit(ctx, typed),
        _ => None,
    };
    let change = FieldEdit {
        visit_at: visit.map(|(at, _)| at),
        ..FieldEdit::new(field, value)
    };
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let tz = ctx.app.config.timezone;
    let edited = crate::db::pool::interact(&ctx.app.pool, move |conn| {
        orders::edit(conn, order_id, by, &change, now, |conn, order| {
            let owed = notices::master_of_edit(conn, tz, order, field)?;
            outbox::enqueue(conn, &owed, now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    ctx.end_dialogue().await?;
    match edited {
        Ok(order) => {
            let said = match field {
                EditableField::Arrival if order.scheduled_time.is_some() => texts::arrival_changed(
                    order_id,
                    visit_view(ctx, order.visit_at, visit.and_then(|(_, until)| until)).as_ref(),
                ),
                _ => texts::field_changed(order_id, field),
            };
            ctx.reply(&said, None).await?;
            cards::show(&ctx.bot, &ctx.app, ctx.chat, None, &order, &ctx.member).await;
            Ok(())
        }
        Err(orders::EditError::NotOpen(_)) => ctx.reply(texts::ORDER_NOT_OPEN, None).await,
        Err(orders::EditError::NotFound) => ctx.reply(texts::ORDER_NOT_FOUND, None).await,
        Err(orders::EditError::Db(error)) => Err(error.into()),
    }
}
