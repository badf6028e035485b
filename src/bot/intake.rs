//! Order intake (SPEC 2.2): a dialogue of one step per field, a summary to confirm, then the
//! order is saved and the other staff are told.

use chrono::NaiveDateTime;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::state::{OrderDraft, State};
use super::texts::{self, OrderDraftView};
use super::{cards, keyboards, notices, BoxError, HandlerResult};
use crate::domain::ids::OrderId;
use crate::domain::status::Role;
use crate::domain::validation::{self, Phone, EQUIPMENT_TYPES};
use crate::domain::visit_time;
use crate::store::orders::{self, EditableField, NewOrder};
use crate::store::outbox;
use crate::store::{clients, users};

/// Typed steps of the intake.
pub fn typed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(dptree::case![State::Equipment].endpoint(equipment_typed))
        .branch(dptree::case![State::Description { draft }].endpoint(
            |ctx: Ctx, draft: OrderDraft, typed: Typed| async move {
                step(&ctx, draft, EditableField::Description, Some(&typed.0)).await
            },
        ))
        .branch(dptree::case![State::ClientName { draft }].endpoint(
            |ctx: Ctx, draft: OrderDraft, typed: Typed| async move {
                step(&ctx, draft, EditableField::ClientName, Some(&typed.0)).await
            },
        ))
        .branch(dptree::case![State::Address { draft }].endpoint(
            |ctx: Ctx, draft: OrderDraft, typed: Typed| async move {
                step(&ctx, draft, EditableField::Address, Some(&typed.0)).await
            },
        ))
        .branch(dptree::case![State::Phone { draft }].endpoint(
            |ctx: Ctx, draft: OrderDraft, typed: Typed| async move {
                step(&ctx, draft, EditableField::Phone, Some(&typed.0)).await
            },
        ))
        .branch(dptree::case![State::Notes { draft }].endpoint(
            |ctx: Ctx, draft: OrderDraft, typed: Typed| async move {
                step(&ctx, draft, EditableField::Notes, unless_skip(&typed)).await
            },
        ))
        .branch(dptree::case![State::Arrival { draft }].endpoint(
            |ctx: Ctx, draft: OrderDraft, typed: Typed| async move {
                step(&ctx, draft, EditableField::Arrival, unless_skip(&typed)).await
            },
        ))
}

/// Buttons of the intake; a button whose step is over falls through to the next feature.
pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(
            dptree::case![Callback::Equipment(index)]
                .branch(dptree::case![State::Equipment].endpoint(equipment_pressed)),
        )
        .branch(
            dptree::case![Callback::Skip]
                .branch(dptree::case![State::Notes { draft }].endpoint(
                    |ctx: Ctx, draft: OrderDraft| async move {
                        step(&ctx, draft, EditableField::Notes, None).await
                    },
                ))
                .branch(dptree::case![State::Arrival { draft }].endpoint(
                    |ctx: Ctx, draft: OrderDraft| async move {
                        step(&ctx, draft, EditableField::Arrival, None).await
                    },
                )),
        )
        .branch(
            dptree::case![Callback::KnownClient { order_id }]
                .branch(dptree::case![State::ClientName { draft }].endpoint(known_client_used)),
        )
        .branch(
            dptree::case![Callback::Confirm].branch(
                dptree::case![State::Confirm { draft }]
                    .filter(|ctx: Ctx| ctx.is_staff())
                    .endpoint(create_order),
            ),
        )
}

/// Skip typed as text means the same as the Skip button.
pub fn unless_skip(typed: &Typed) -> Option<&str> {
    (typed.0 != texts::BUTTON_SKIP).then_some(typed.0.as_str())
}

/// «📝 Новая заявка».
pub async fn begin(ctx: Ctx) -> HandlerResult {
    ctx.enter(State::Equipment).await?;
    let markup = keyboards::equipment().into();
    ctx.reply(texts::ASK_EQUIPMENT, Some(markup)).await
}

async fn equipment_typed(ctx: Ctx, typed: Typed) -> HandlerResult {
    match validation::equipment_type(&typed.0) {
        Some(equipment) => equipment_chosen(&ctx, equipment).await,
        None => {
            let markup = keyboards::equipment().into();
            ctx.reply(texts::USE_BUTTONS, Some(markup)).await
        }
    }
}

async fn equipment_pressed(ctx: Ctx, index: usize) -> HandlerResult {
    match EQUIPMENT_TYPES.get(index) {
        Some(equipment) => equipment_chosen(&ctx, equipment).await,
        None => ctx.step_over().await,
    }
}

async fn equipment_chosen(ctx: &Ctx, equipment: &str) -> HandlerResult {
    let draft = OrderDraft {
        equipment: equipment.to_string(),
        ..OrderDraft::default()
    };
    ctx.enter(State::Description { draft }).await?;
    ctx.ask(texts::ASK_DESCRIPTION, false).await
}

/// Checks a typed value of an order field, the same way at intake and when editing: the
/// cleaned value (None: an optional field left empty or skipped), or the message to show.
/// `input` None means Skip.
pub fn check_field(field: EditableField, input: Option<&str>) -> Result<Option<String>, String> {
    let Some(input) = input else {
        return if field.is_optional() {
            Ok(None)
        } else {
            Err(texts::FIELD_REQUIRED.into())
        };
    };
    let text = |result: Result<String, validation::TextError>| {
        result.map(Some).map_err(|e| texts::text_error(&e))
    };
    match field {
        EditableField::Description => text(validation::validate_description(input)),
        EditableField::ClientName => text(validation::validate_client_name(input)),
        EditableField::Address => text(validation::validate_address(input)),
        EditableField::Phone => Phone::parse(input)
            .map(|phone| Some(phone.as_str().to_string()))
            .map_err(|e| texts::phone_error(&e)),
        EditableField::Notes => {
            validation::validate_notes(input).map_err(|e| texts::text_error(&e))
        }
        EditableField::Arrival => {
            validation::validate_arrival(input).map_err(|e| texts::text_error(&e))
        }
    }
}

/// One intake step: check the value, keep it in the draft, ask for the next field (or show
/// the summary after the last one). A bad value is explained and asked again.
async fn step(
    ctx: &Ctx,
    mut draft: OrderDraft,
    field: EditableField,
    input: Option<&str>,
) -> HandlerResult {
    let value = match check_field(field, input) {
        Ok(value) => value,
        Err(message) => return ctx.again(&message).await,
    };
    let required = value.clone().unwrap_or_default();
    let (next, prompt, skippable) = match field {
        EditableField::Description => {
            draft.description = required;
            (State::Phone { draft }, texts::ASK_PHONE, false)
        }
        EditableField::Phone => {
            draft.phone = required;
            return phone_given(ctx, draft).await;
        }
        EditableField::ClientName => {
            draft.client_name = required;
            (State::Address { draft }, texts::ASK_ADDRESS, false)
        }
        EditableField::Address => {
            draft.address = required;
            (State::Notes { draft }, texts::ASK_NOTES, true)
        }
        EditableField::Notes => {
            draft.notes = value;
            (State::Arrival { draft }, texts::ASK_ARRIVAL, true)
        }
        EditableField::Arrival => {
            let visit = value.as_deref().and_then(|typed| read_visit(ctx, typed));
            draft.visit_at = visit.map(|(at, _)| at);
            draft.visit_until = visit.and_then(|(_, until)| until);
            draft.arrival = value;
            return summary(ctx, draft).await;
        }
    };
    ctx.enter(next).await?;
    ctx.ask(prompt, skippable).await
}

/// The arrival typed at `ctx.now()` read as a moment in the company's zone: (at, until) in
/// UTC, None for an instruction.
pub fn read_visit(ctx: &Ctx, typed: &str) -> Option<(NaiveDateTime, Option<NaiveDateTime>)> {
    let tz = ctx.app.config.timezone;
    let visit = visit_time::parse(typed, visit_time::to_local(ctx.now(), tz)).visit()?;
    Some((
        visit_time::to_utc(visit.at, tz),
        visit.until.map(|until| visit_time::to_utc(until, tz)),
    ))
}

/// A visit (UTC) as the person who typed it reads it now.
pub fn visit_view(
    ctx: &Ctx,
    at: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
) -> Option<texts::VisitView> {
    let tz = ctx.app.config.timezone;
    Some(texts::VisitView {
        at: visit_time::to_local(at?, tz),
        until: until.map(|until| visit_time::to_local(until, tz)),
        now: visit_time::to_local(ctx.now(), tz),
    })
}

/// After the phone: a known client's earlier orders and the offer of their name and address
/// (or the plain name question). A draft that has them already (saved before the phone was
/// asked first) goes on to the notes.
async fn phone_given(ctx: &Ctx, draft: OrderDraft) -> HandlerResult {
    if !draft.client_name.is_empty() && !draft.address.is_empty() {
        ctx.enter(State::Notes { draft }).await?;
        return ctx.ask(texts::ASK_NOTES, true).await;
    }
    let phone = draft.phone.clone();
    let warranty = ctx.app.config.warranty;
    let since = ctx.now() - warranty;
    let known = ctx
        .app
        .db(move |conn| clients::known_client(conn, &phone, KNOWN_CLIENT_ORDERS, since))
        .await?;
    ctx.enter(State::ClientName { draft }).await?;
    let Some(known) = known else {
        return ctx.ask(texts::ASK_CLIENT_NAME, false).await;
    };
    let text = texts::known_client(&known, warranty, ctx.app.config.timezone);
    let last = &known.recent[0];
    let label = texts::use_known_client(&last.client_name, &last.client_address);
    let markup = keyboards::known_client(last.id, &label);
    ctx.send_to(ctx.private(), &text, Some(markup.into())).await
}

/// How many earlier orders of a known client the intake lists.
const KNOWN_CLIENT_ORDERS: i64 = 5;

/// «✅ Иванов, ул. …»: the name and address of the client's earlier order, re-read (the
/// button names an order of the phone in the draft, or nothing).
async fn known_client_used(ctx: Ctx, order_id: OrderId, mut draft: OrderDraft) -> HandlerResult {
    let phone = draft.phone.clone();
    let found = ctx
        .app
        .db(move |conn| clients::name_and_address(conn, order_id, &phone))
        .await?;
    let Some((name, address)) = found else {
        return ctx.step_over().await;
    };
    let text = texts::known_client_taken(&name, &address);
    draft.client_name = name;
    draft.address = address;
    ctx.enter(State::Notes { draft }).await?;
    ctx.ask(&text, true).await
}

async fn summary(ctx: &Ctx, draft: OrderDraft) -> HandlerResult {
    let visit = visit_view(ctx, draft.visit_at, draft.visit_until);
    let text = texts::order_summary(&OrderDraftView {
        equipment: &draft.equipment,
        description: &draft.description,
        client_name: &draft.client_name,
        address: &draft.address,
        phone: &draft.phone,
        notes: draft.notes.as_deref(),
        arrival: draft.arrival.as_deref(),
        visit,
    });
    ctx.enter(State::Confirm { draft }).await?;
    let markup = keyboards::confirm_or_cancel().into();
    ctx.reply(&text, Some(markup)).await
}

/// The confirmed intake: saves the order and tells the other staff.
async fn create_order(ctx: Ctx, draft: OrderDraft) -> HandlerResult {
    // The phone step stored it normalised; a draft saved otherwise asks for it again.
    let Ok(phone) = Phone::parse(&draft.phone) else {
        ctx.enter(State::Phone { draft }).await?;
        return ctx.ask(texts::ASK_PHONE, false).await;
    };
    let new = NewOrder {
        equipment_type: draft.equipment,
        description: draft.description,
        client_name: draft.client_name,
        client_address: draft.address,
        client_phone: phone,
        notes: draft.notes,
        scheduled_time: draft.arrival,
        visit_at: draft.visit_at,
    };
    let author = ctx.member.user.telegram_id;
    let now = ctx.now();
    let tell_staff = ctx.app.config.notify_staff_on_new_order;
    let by = ctx.member.clone();
    let order = ctx
        .app
        .db(move |conn| {
            orders::create(conn, &new, author, now, |conn, order| {
                if !tell_staff {
                    return Ok(());
                }
                let staff = users::with_roles(conn, &[Role::Admin, Role::Dispatcher])?;
                let owed = notices::new_order_to_staff(order, &by, &staff);
                outbox::enqueue(conn, &owed, now)
            })
        })
        .await?;
    ctx.app.outbox.wake();
    ctx.end_dialogue().await?;
    log::info!("order {} created by {author}", order.id);
    ctx.reply_with_menu(&texts::order_created(order.id)).await?;
    cards::show(&ctx.bot, &ctx.app, ctx.chat, None, &order, &ctx.member).await;
    Ok(())
}
