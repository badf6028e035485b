//! Inline button presses. Every press is answered; nothing in the callback data is trusted:
//! the order and the sender's roles are read afresh and the state machine decides.

use teloxide::prelude::*;
use teloxide::types::MessageId;

use super::callbacks::Callback;
use super::cards;
use super::messages::{self, menu};
use super::state::{CardAt, State};
use super::{actor, keyboards, reply, texts, App, Dialog, HandlerResult};
use crate::db::pool;
use crate::domain::money::{close_order, Kopecks};
use crate::domain::status::{available_actions, Action, ActionKind, Denied, OrderStatus, Role};
use crate::domain::validation::EQUIPMENT_TYPES;
use crate::store::masters;
use crate::store::orders::{self, ClosingMoney, Move, MoveError};
use crate::store::users::Member;

pub async fn pressed(
    bot: Bot,
    query: CallbackQuery,
    member: Member,
    dialogue: Dialog,
    state: State,
    app: App,
) -> HandlerResult {
    let chat = query
        .message
        .as_ref()
        .map(|m| m.chat().id)
        .unwrap_or(ChatId(member.user.telegram_id));
    let message_id = query.message.as_ref().map(|m| m.id());
    // Someone with no role has no button of ours to press: whatever the data, the answer is
    // the same, so that forged presses cannot tell which orders exist.
    let callback = query
        .data
        .as_deref()
        .and_then(Callback::parse)
        .filter(|_| !member.roles.is_empty());
    let Some(callback) = callback else {
        bot.answer_callback_query(query.id)
            .text(texts::NO_ACCESS)
            .await?;
        return Ok(());
    };
    // The press is answered after its work is done and whatever its outcome: an update whose
    // handling was cut short comes again, and its button must spin until then.
    let outcome = if state.permitted(&member) {
        route(
            &bot, &member, &dialogue, state, &app, chat, message_id, callback,
        )
        .await
    } else {
        let private = ChatId(member.user.telegram_id);
        messages::role_taken_away(&bot, private, &member, &dialogue).await
    };
    let mut answer = bot.answer_callback_query(query.id.clone());
    let outcome = match outcome {
        // A button in a group whose dialogue goes on privately, from someone the bot may not
        // write to: the pop-up is the only place left to tell them, and no dialogue waits in a
        // chat they cannot see.
        Err(error) if !chat.is_user() && cannot_write_privately(&error) => {
            log::info!(
                "user {} pressed a group button but the bot may not write to them: {error}",
                member.user.telegram_id
            );
            answer = answer.text(texts::OPEN_PRIVATE_CHAT).show_alert(true);
            dialogue.reset().await.map_err(Into::into)
        }
        other => other,
    };
    if let Err(error) = answer.await {
        log::warn!("answerCallbackQuery failed: {error}");
    }
    outcome
}

fn cannot_write_privately(error: &super::BoxError) -> bool {
    error
        .downcast_ref::<teloxide::RequestError>()
        .is_some_and(super::notify::cannot_write)
}

#[allow(clippy::too_many_arguments)]
async fn route(
    bot: &Bot,
    member: &Member,
    dialogue: &Dialog,
    state: State,
    app: &App,
    chat: ChatId,
    message_id: Option<MessageId>,
    callback: Callback,
) -> HandlerResult {
    match callback {
        Callback::Order {
            order_id,
            action,
            seen,
        } => {
            order_button(
                bot, app, member, dialogue, chat, message_id, order_id, action, seen,
            )
            .await
        }
        Callback::PickMaster {
            order_id,
            master_id,
            seen,
        } => {
            perform(
                bot,
                app,
                member,
                chat,
                message_id,
                order_id,
                Action::Assign { master_id },
                Some(seen),
                None,
                None,
                None,
            )
            .await
        }
        Callback::Card { order_id } => {
            show_card(bot, app, member, chat, message_id, order_id).await
        }
        Callback::Equipment(index) => match (state, EQUIPMENT_TYPES.get(index)) {
            (State::Equipment, Some(equipment)) => {
                let draft = super::state::OrderDraft {
                    equipment: equipment.to_string(),
                    ..Default::default()
                };
                dialogue.update(State::Description { draft }).await?;
                reply(
                    bot,
                    chat,
                    texts::ASK_DESCRIPTION,
                    Some(keyboards::cancel_only().into()),
                )
                .await
            }
            _ => stale_step(bot, chat, member).await,
        },
        Callback::Skip => match state {
            State::Notes { .. } | State::Arrival { .. } => {
                messages::skip(bot, chat, dialogue, state).await
            }
            State::EditValue { order_id, field } => {
                let skip = texts::BUTTON_SKIP;
                messages::edit_value(bot, app, member, dialogue, chat, order_id, field, skip).await
            }
            _ => stale_step(bot, chat, member).await,
        },
        Callback::Cancel => messages::cancel(bot, chat, member, dialogue).await,
        Callback::Confirm => match state {
            State::Confirm { draft } if member.is_staff() => {
                messages::create_order(bot, app, member, dialogue, chat, draft).await
            }
            _ => stale_step(bot, chat, member).await,
        },
        Callback::Review(has_review) => match state {
            State::CloseReview {
                order_id,
                seen,
                total,
                materials,
                card,
            } => {
                dialogue.reset().await?;
                let money = (total, materials, has_review);
                close(bot, app, member, chat, order_id, seen, money, card).await
            }
            _ => stale_step(bot, chat, member).await,
        },
        Callback::MasterActive { master_id, active } => {
            if !member.has(Role::Admin) {
                return reply(bot, chat, texts::NO_ACCESS, None).await;
            }
            let by = member.user.telegram_id;
            let now = app.now();
            let master = app
                .db(move |conn| masters::set_active(conn, by, master_id, active, now))
                .await?;
            let user = app
                .db(move |conn| crate::store::users::by_telegram_id(conn, master.telegram_id))
                .await?;
            if let (Some(user), Some(message_id)) = (user, message_id) {
                let text = cards::master_text(bot, app, &master, &user).await?;
                bot.edit_message_text(chat, message_id, text)
                    .parse_mode(teloxide::types::ParseMode::Html)
                    .reply_markup(keyboards::master_admin(&master))
                    .await?;
            }
            Ok(())
        }
        Callback::List { status, cursor } => {
            super::lists::status_page(bot, app, chat, message_id, member, status, cursor).await
        }
        Callback::SearchPage { cursor, text } => {
            super::lists::search_page(bot, app, chat, message_id, member, &text, page(cursor)).await
        }
        Callback::SavedSearchPage { cursor, search_id } => {
            let now = app.now();
            let text = app
                .db(move |conn| crate::store::search::recall(conn, search_id, now))
                .await?;
            match text {
                Some(text) => {
                    let cursor = page(cursor);
                    super::lists::search_page(bot, app, chat, message_id, member, &text, cursor)
                        .await
                }
                None => reply(bot, chat, texts::SEARCH_FORGOTTEN, None).await,
            }
        }
        Callback::Report(index) => {
            super::report_screens::period_chosen(bot, app, chat, member, dialogue, index).await
        }
        Callback::Edit { order_id } => match load(app, order_id).await? {
            Some(order) if member.is_staff() && order.status().is_open() => {
                reply(
                    bot,
                    chat,
                    texts::ASK_FIELD,
                    Some(keyboards::edit_fields(order_id).into()),
                )
                .await
            }
            Some(_) if member.is_staff() => reply(bot, chat, texts::ORDER_NOT_OPEN, None).await,
            Some(_) => reply(bot, chat, texts::NO_ACCESS, None).await,
            None => reply(bot, chat, texts::ORDER_NOT_FOUND, None).await,
        },
        Callback::EditField { order_id, field } => {
            let field = crate::store::orders::EditableField::ALL.get(field).copied();
            match (load(app, order_id).await?, field) {
                (Some(order), Some(field)) if member.is_staff() && order.status().is_open() => {
                    dialogue
                        .update(State::EditValue { order_id, field })
                        .await?;
                    let prompt = texts::ask_new_value(field, field.current(&order).as_deref());
                    let private = ChatId(member.user.telegram_id);
                    let markup = if field.is_optional() {
                        keyboards::skip_or_cancel()
                    } else {
                        keyboards::cancel_only()
                    };
                    reply(bot, private, &prompt, Some(markup.into())).await
                }
                (Some(_), Some(_)) if member.is_staff() => {
                    reply(bot, chat, texts::ORDER_NOT_OPEN, None).await
                }
                (None, _) => reply(bot, chat, texts::ORDER_NOT_FOUND, None).await,
                _ => reply(bot, chat, texts::NO_ACCESS, None).await,
            }
        }
        Callback::BindGroup { master_id } => {
            if !member.has(Role::Admin) {
                return reply(bot, chat, texts::NO_ACCESS, None).await;
            }
            messages::ask_group(bot, dialogue, chat, master_id).await
        }
    }
}

/// A paging cursor from a button: the "first page" button carries the cursor before all.
fn page(cursor: crate::store::search::Cursor) -> Option<crate::store::search::Cursor> {
    (cursor != crate::store::search::Cursor::Before(i64::MAX)).then_some(cursor)
}

/// A button of a dialogue step that is over (pressed twice, or after /cancel).
async fn stale_step(bot: &Bot, chat: ChatId, member: &Member) -> HandlerResult {
    reply(bot, chat, texts::STEP_OVER, Some(menu(member))).await
}

async fn load(app: &App, order_id: i64) -> Result<Option<orders::Order>, super::BoxError> {
    Ok(app.db(move |conn| orders::get(conn, order_id)).await?)
}

async fn show_card(
    bot: &Bot,
    app: &App,
    member: &Member,
    chat: ChatId,
    message_id: Option<MessageId>,
    order_id: i64,
) -> HandlerResult {
    match load(app, order_id).await? {
        Some(order) if cards::may_view(member, &order) => {
            cards::show(bot, app, chat, message_id, &order, member).await;
            Ok(())
        }
        Some(_) => reply(bot, chat, texts::NO_ACCESS, None).await,
        None => reply(bot, chat, texts::ORDER_NOT_FOUND, None).await,
    }
}

/// An action button of a card. Actions that need more input (a master, a reason, amounts)
/// are checked now and continue in a dialogue; the rest are performed at once.
#[allow(clippy::too_many_arguments)]
async fn order_button(
    bot: &Bot,
    app: &App,
    member: &Member,
    dialogue: &Dialog,
    chat: ChatId,
    message_id: Option<MessageId>,
    order_id: i64,
    kind: ActionKind,
    seen: OrderStatus,
) -> HandlerResult {
    let action = match kind {
        ActionKind::Unassign => Action::Unassign,
        ActionKind::Accept => Action::Accept,
        ActionKind::GoOnsite => Action::GoOnsite,
        ActionKind::LongRepair => Action::LongRepair,
        ActionKind::ResumeOnsite => Action::ResumeOnsite,
        ActionKind::Restore => Action::Restore,
        ActionKind::Assign | ActionKind::Decline | ActionKind::Refuse | ActionKind::Close => {
            return needs_input(
                bot, app, member, dialogue, chat, message_id, order_id, kind, seen,
            )
            .await;
        }
    };
    perform(
        bot,
        app,
        member,
        chat,
        message_id,
        order_id,
        action,
        Some(seen),
        None,
        None,
        None,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn needs_input(
    bot: &Bot,
    app: &App,
    member: &Member,
    dialogue: &Dialog,
    chat: ChatId,
    message_id: Option<MessageId>,
    order_id: i64,
    kind: ActionKind,
    seen: OrderStatus,
) -> HandlerResult {
    let Some(order) = load(app, order_id).await? else {
        return reply(bot, chat, texts::ORDER_NOT_FOUND, None).await;
    };
    if order.status() != seen {
        reply(bot, chat, texts::ORDER_CHANGED, None).await?;
        return show_fresh(bot, app, member, chat, message_id, &order).await;
    }
    if !available_actions(&order.facts(), &actor(member)).contains(&kind) {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    // A dialogue goes on in the private chat, wherever the button was; the card it started
    // from is redrawn when it ends.
    let private = ChatId(member.user.telegram_id);
    let card = message_id.map(|message_id| CardAt {
        chat: chat.0,
        message_id: message_id.0,
    });
    match kind {
        ActionKind::Assign => {
            let current = order.assigned_master_id;
            let candidates: Vec<_> = app
                .db(masters::assignable)
                .await?
                .into_iter()
                .filter(|(master, _)| Some(master.id) != current || seen == OrderStatus::New)
                .collect();
            if candidates.is_empty() {
                return reply(bot, chat, texts::NO_MASTERS, None).await;
            }
            let markup = keyboards::pick_master(order_id, seen, &candidates);
            reply(bot, chat, texts::PICK_MASTER, Some(markup.into())).await
        }
        ActionKind::Decline => {
            dialogue
                .update(State::DeclineReason {
                    order_id,
                    seen,
                    card,
                })
                .await?;
            reply(
                bot,
                private,
                texts::ASK_DECLINE_REASON,
                Some(keyboards::cancel_only().into()),
            )
            .await
        }
        ActionKind::Refuse => {
            dialogue
                .update(State::RefuseReason {
                    order_id,
                    seen,
                    card,
                })
                .await?;
            reply(
                bot,
                private,
                texts::ASK_REFUSE_REASON,
                Some(keyboards::cancel_only().into()),
            )
            .await
        }
        _ => {
            dialogue
                .update(State::CloseTotal {
                    order_id,
                    seen,
                    card,
                })
                .await?;
            reply(
                bot,
                private,
                texts::ASK_TOTAL,
                Some(keyboards::cancel_only().into()),
            )
            .await
        }
    }
}

/// Only the order's own viewers get its card back after a refusal.
async fn show_fresh(
    bot: &Bot,
    app: &App,
    member: &Member,
    chat: ChatId,
    message_id: Option<MessageId>,
    order: &orders::Order,
) -> HandlerResult {
    if cards::may_view(member, order) {
        cards::show(bot, app, chat, message_id, order, member).await;
    }
    Ok(())
}

/// Applies one transition through the state machine and reports it: the card is refreshed
/// where the button was, the people concerned are told. Stale and forged presses change
/// nothing and get the fresh card (if the sender may see it) or a refusal.
#[allow(clippy::too_many_arguments)]
pub async fn perform(
    bot: &Bot,
    app: &App,
    member: &Member,
    chat: ChatId,
    message_id: Option<MessageId>,
    order_id: i64,
    action: Action,
    seen: Option<OrderStatus>,
    reason: Option<String>,
    money: Option<ClosingMoney>,
    origin: Option<CardAt>,
) -> HandlerResult {
    let request = Move {
        order_id,
        actor: actor(member),
        action,
        seen_status: seen,
        reason: reason.clone(),
        money,
    };
    let now = app.now();
    let outcome = pool::interact(&app.pool, move |conn| orders::apply(conn, &request, now)).await?;
    match outcome {
        Ok(moved) => {
            log::info!(
                "order {order_id}: {} -> {} by {}",
                moved.before.status,
                moved.after.status,
                member.user.telegram_id
            );
            cards::show(bot, app, chat, message_id, &moved.after, member).await;
            if let Some(card) = origin {
                cards::redraw(bot, app, card, &moved.after, member).await;
            }
            cards::after_move(bot, app, &moved, member, action.kind(), reason.as_deref()).await;
            Ok(())
        }
        Err(MoveError::Stale(order))
        | Err(MoveError::Denied(Denied::WrongStatus { .. }, order)) => {
            reply(bot, chat, texts::ORDER_CHANGED, None).await?;
            show_fresh(bot, app, member, chat, message_id, &order).await
        }
        Err(MoveError::Denied(denied, _)) => reply(bot, chat, texts::denied(&denied), None).await,
        Err(MoveError::NotFound) => reply(bot, chat, texts::ORDER_NOT_FOUND, None).await,
        Err(MoveError::MasterUnavailable) => {
            reply(bot, chat, texts::MASTER_UNAVAILABLE, None).await
        }
        Err(MoveError::MoneyMissing) => reply(bot, chat, texts::TRY_AGAIN_LATER, None).await,
        Err(MoveError::Db(error)) => Err(error.into()),
    }
}

/// The last step of closing: split the money, close the order, show the breakdown to the
/// master and to the dispatcher who created the order.
#[allow(clippy::too_many_arguments)]
async fn close(
    bot: &Bot,
    app: &App,
    member: &Member,
    chat: ChatId,
    order_id: i64,
    seen: OrderStatus,
    (total, materials, has_review): (i64, i64, bool),
    card: Option<CardAt>,
) -> HandlerResult {
    let breakdown = match close_order(
        Kopecks(total),
        Kopecks(materials),
        has_review,
        &app.config.shares,
    ) {
        Ok(breakdown) => breakdown,
        Err(_) => return reply(bot, chat, texts::MATERIALS_ABOVE_TOTAL, None).await,
    };
    let money = ClosingMoney {
        total: breakdown.total.get(),
        materials: breakdown.materials.get(),
        master_share: breakdown.master.get(),
        company_share: breakdown.company.get(),
        has_review,
    };
    let request = Move {
        order_id,
        actor: actor(member),
        action: Action::Close,
        seen_status: Some(seen),
        reason: None,
        money: Some(money),
    };
    let now = app.now();
    match pool::interact(&app.pool, move |conn| orders::apply(conn, &request, now)).await? {
        Ok(moved) => {
            reply(
                bot,
                chat,
                &texts::breakdown(order_id, &breakdown),
                Some(menu(member)),
            )
            .await?;
            if let Some(card) = card {
                cards::redraw(bot, app, card, &moved.after, member).await;
            }
            cards::tell_dispatcher(
                bot,
                &moved.after,
                member,
                ActionKind::Close,
                None,
                Some(&breakdown),
            )
            .await;
            Ok(())
        }
        Err(MoveError::Stale(order)) | Err(MoveError::Denied(_, order)) => {
            reply(bot, chat, texts::ORDER_CHANGED, None).await?;
            show_fresh(bot, app, member, chat, None, &order).await
        }
        Err(MoveError::NotFound) => reply(bot, chat, texts::ORDER_NOT_FOUND, None).await,
        Err(error) => Err(error.into()),
    }
}
