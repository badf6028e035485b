//! Private messages: commands, the dialogue step the chat is in, the main menu, and the
//! explicit answer to anything else.

use teloxide::prelude::*;
use teloxide::types::ReplyMarkup;

use super::cards;
use super::state::{CardAt, OrderDraft, State};
use super::texts::{self, OrderDraftView};
use super::{buttons, keyboards, reply, roles, App, Command, Dialog, HandlerResult};
use crate::domain::money::{parse_rubles, Kopecks};
use crate::domain::status::{Action, Role};
use crate::domain::validation::{self, Phone};
use crate::store::masters::{self, AddMasterError};
use crate::store::orders::{self, EditableField, NewOrder};
use crate::store::users::{self, Member};

const REASON_MAX: usize = 500;

pub async fn command(
    bot: Bot,
    message: Message,
    command: Command,
    member: Member,
    dialogue: Dialog,
) -> HandlerResult {
    let chat = message.chat.id;
    match command {
        Command::Start => {
            dialogue.reset().await?;
            let roles = roles(&member);
            reply(
                &bot,
                chat,
                &texts::welcome(&member.user, &roles),
                Some(menu(&member)),
            )
            .await
        }
        Command::Help => {
            reply(
                &bot,
                chat,
                &texts::help(&roles(&member)),
                Some(menu(&member)),
            )
            .await
        }
        Command::Cancel => cancel(&bot, chat, &member, &dialogue).await,
    }
}

pub fn menu(member: &Member) -> ReplyMarkup {
    keyboards::main_menu(&roles(member)).into()
}

/// A dialogue whose role the person no longer has: it ends, and their menu is redrawn.
pub async fn role_taken_away(
    bot: &Bot,
    chat: ChatId,
    member: &Member,
    dialogue: &Dialog,
) -> HandlerResult {
    log::info!(
        "dialogue of {} ended: the role it needs was taken away",
        member.user.telegram_id
    );
    dialogue.reset().await?;
    reply(bot, chat, texts::NO_ACCESS, Some(menu(member))).await
}

pub async fn cancel(bot: &Bot, chat: ChatId, member: &Member, dialogue: &Dialog) -> HandlerResult {
    let state = dialogue.get().await?.unwrap_or_default();
    dialogue.reset().await?;
    let text = if state == State::Idle {
        texts::NOTHING_TO_CANCEL
    } else {
        texts::CANCELLED
    };
    reply(bot, chat, text, Some(menu(member))).await
}

pub async fn text(
    bot: Bot,
    message: Message,
    member: Member,
    dialogue: Dialog,
    state: State,
    app: App,
) -> HandlerResult {
    let chat = message.chat.id;
    let Some(input) = message.text().map(str::trim).map(str::to_owned) else {
        return reply(&bot, chat, texts::NOT_UNDERSTOOD, Some(menu(&member))).await;
    };
    if input == texts::BUTTON_CANCEL {
        return cancel(&bot, chat, &member, &dialogue).await;
    }
    if !state.permitted(&member) {
        return role_taken_away(&bot, chat, &member, &dialogue).await;
    }
    match state {
        State::Idle => main_menu(&bot, chat, &member, &dialogue, &app, &input).await,
        State::Equipment => match validation::equipment_type(&input) {
            Some(equipment) => {
                let draft = OrderDraft {
                    equipment: equipment.to_string(),
                    ..OrderDraft::default()
                };
                step(
                    &bot,
                    chat,
                    &dialogue,
                    State::Description { draft },
                    texts::ASK_DESCRIPTION,
                    false,
                )
                .await
            }
            None => {
                reply(
                    &bot,
                    chat,
                    texts::USE_BUTTONS,
                    Some(keyboards::equipment().into()),
                )
                .await
            }
        },
        State::Description { draft } => {
            intake(
                &bot,
                chat,
                &dialogue,
                draft,
                EditableField::Description,
                Some(&input),
            )
            .await
        }
        State::ClientName { draft } => {
            intake(
                &bot,
                chat,
                &dialogue,
                draft,
                EditableField::ClientName,
                Some(&input),
            )
            .await
        }
        State::Address { draft } => {
            intake(
                &bot,
                chat,
                &dialogue,
                draft,
                EditableField::Address,
                Some(&input),
            )
            .await
        }
        State::Phone { draft } => {
            intake(
                &bot,
                chat,
                &dialogue,
                draft,
                EditableField::Phone,
                Some(&input),
            )
            .await
        }
        State::Notes { draft } => {
            let typed = (input != texts::BUTTON_SKIP).then_some(input.as_str());
            intake(&bot, chat, &dialogue, draft, EditableField::Notes, typed).await
        }
        State::Arrival { draft } => {
            let typed = (input != texts::BUTTON_SKIP).then_some(input.as_str());
            intake(&bot, chat, &dialogue, draft, EditableField::Arrival, typed).await
        }
        State::Confirm { .. } | State::CloseReview { .. } => {
            reply(&bot, chat, texts::USE_BUTTONS, None).await
        }
        State::DeclineReason {
            order_id,
            seen,
            card,
        } => {
            let asked = (order_id, seen, card);
            reason_given(
                &bot,
                &app,
                &member,
                &dialogue,
                chat,
                asked,
                Action::Decline,
                &input,
            )
            .await
        }
        State::RefuseReason {
            order_id,
            seen,
            card,
        } => {
            let asked = (order_id, seen, card);
            reason_given(
                &bot,
                &app,
                &member,
                &dialogue,
                chat,
                asked,
                Action::Refuse,
                &input,
            )
            .await
        }
        State::CloseTotal {
            order_id,
            seen,
            card,
        } => match parse_rubles(&input) {
            Ok(total) => {
                dialogue
                    .update(State::CloseMaterials {
                        order_id,
                        seen,
                        total: total.get(),
                        card,
                    })
                    .await?;
                reply(
                    &bot,
                    chat,
                    texts::ASK_MATERIALS,
                    Some(keyboards::cancel_only().into()),
                )
                .await
            }
            Err(_) => retry(&bot, chat, texts::AMOUNT_INVALID).await,
        },
        State::CloseMaterials {
            order_id,
            seen,
            total,
            card,
        } => match parse_rubles(&input) {
            Ok(materials) if materials > Kopecks(total) => {
                retry(&bot, chat, texts::MATERIALS_ABOVE_TOTAL).await
            }
            Ok(materials) => {
                dialogue
                    .update(State::CloseReview {
                        order_id,
                        seen,
                        total,
                        materials: materials.get(),
                        card,
                    })
                    .await?;
                reply(
                    &bot,
                    chat,
                    texts::ASK_REVIEW,
                    Some(keyboards::review().into()),
                )
                .await
            }
            Err(_) => retry(&bot, chat, texts::AMOUNT_INVALID).await,
        },
        State::MasterTelegramId => master_id_given(&bot, &app, &dialogue, chat, &input).await,
        State::MasterPhone { telegram_id } => match Phone::parse(&input) {
            Ok(phone) => {
                dialogue
                    .update(State::MasterSpecialization {
                        telegram_id,
                        phone: phone.as_str().to_string(),
                    })
                    .await?;
                reply(
                    &bot,
                    chat,
                    texts::ASK_MASTER_SPECIALIZATION,
                    Some(keyboards::cancel_only().into()),
                )
                .await
            }
            Err(error) => retry(&bot, chat, &texts::phone_error(&error)).await,
        },
        State::MasterSpecialization { telegram_id, phone } => {
            let length = input.chars().count();
            if !(2..=200).contains(&length) {
                return retry(&bot, chat, texts::SPECIALIZATION_INVALID).await;
            }
            add_master(
                &bot,
                &app,
                &member,
                &dialogue,
                chat,
                telegram_id,
                phone,
                input,
            )
            .await
        }
        State::EditValue { order_id, field } => {
            edit_value(
                &bot, &app, &member, &dialogue, chat, order_id, field, &input,
            )
            .await
        }
        State::Search => {
            dialogue.reset().await?;
            super::lists::search_page(&bot, &app, chat, None, &member, &input, None).await
        }
        State::ReportPeriod => match crate::domain::period::parse_custom(&input) {
            Some((from, to)) => {
                dialogue.reset().await?;
                super::report_screens::send(
                    &bot,
                    &app,
                    chat,
                    crate::domain::period::Period::Custom { from, to },
                )
                .await
            }
            None => retry(&bot, chat, texts::PERIOD_INVALID).await,
        },
        State::BindGroup { .. } => reply(&bot, chat, texts::ASK_GROUP, None).await,
    }
}

async fn retry(bot: &Bot, chat: ChatId, text: &str) -> HandlerResult {
    reply(bot, chat, text, None).await
}

async fn step(
    bot: &Bot,
    chat: ChatId,
    dialogue: &Dialog,
    next: State,
    prompt: &str,
    skippable: bool,
) -> HandlerResult {
    dialogue.update(next).await?;
    let markup = if skippable {
        keyboards::skip_or_cancel()
    } else {
        keyboards::cancel_only()
    };
    reply(bot, chat, prompt, Some(markup.into())).await
}

/// Skip on an optional step (typed or pressed).
pub async fn skip(bot: &Bot, chat: ChatId, dialogue: &Dialog, state: State) -> HandlerResult {
    match state {
        State::Notes { draft } => {
            intake(bot, chat, dialogue, draft, EditableField::Notes, None).await
        }
        State::Arrival { draft } => {
            intake(bot, chat, dialogue, draft, EditableField::Arrival, None).await
        }
        _ => reply(bot, chat, texts::USE_BUTTONS, None).await,
    }
}

/// Checks a typed value of an order field, the same way at intake and when editing: the
/// cleaned value (None: an optional field left empty or skipped), or the message to show.
/// `input` None means Skip.
fn check_field(field: EditableField, input: Option<&str>) -> Result<Option<String>, String> {
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
async fn intake(
    bot: &Bot,
    chat: ChatId,
    dialogue: &Dialog,
    mut draft: OrderDraft,
    field: EditableField,
    input: Option<&str>,
) -> HandlerResult {
    let value = match check_field(field, input) {
        Ok(value) => value,
        Err(message) => return retry(bot, chat, &message).await,
    };
    let required = value.clone().unwrap_or_default();
    let (next, prompt, skippable) = match field {
        EditableField::Description => {
            draft.description = required;
            (State::ClientName { draft }, texts::ASK_CLIENT_NAME, false)
        }
        EditableField::ClientName => {
            draft.client_name = required;
            (State::Address { draft }, texts::ASK_ADDRESS, false)
        }
        EditableField::Address => {
            draft.address = required;
            (State::Phone { draft }, texts::ASK_PHONE, false)
        }
        EditableField::Phone => {
            draft.phone = required;
            (State::Notes { draft }, texts::ASK_NOTES, true)
        }
        EditableField::Notes => {
            draft.notes = value;
            (State::Arrival { draft }, texts::ASK_ARRIVAL, true)
        }
        EditableField::Arrival => {
            draft.arrival = value;
            return summary(bot, chat, dialogue, draft).await;
        }
    };
    step(bot, chat, dialogue, next, prompt, skippable).await
}

async fn summary(bot: &Bot, chat: ChatId, dialogue: &Dialog, draft: OrderDraft) -> HandlerResult {
    let text = texts::order_summary(&OrderDraftView {
        equipment: &draft.equipment,
        description: &draft.description,
        client_name: &draft.client_name,
        address: &draft.address,
        phone: &draft.phone,
        notes: draft.notes.as_deref(),
        arrival: draft.arrival.as_deref(),
    });
    dialogue.update(State::Confirm { draft }).await?;
    reply(
        bot,
        chat,
        &text,
        Some(keyboards::confirm_or_cancel().into()),
    )
    .await
}

/// The confirmed intake: saves the order and tells the other staff.
pub async fn create_order(
    bot: &Bot,
    app: &App,
    member: &Member,
    dialogue: &Dialog,
    chat: ChatId,
    draft: OrderDraft,
) -> HandlerResult {
    let new = NewOrder {
        equipment_type: draft.equipment,
        description: draft.description,
        client_name: draft.client_name,
        client_address: draft.address,
        client_phone: draft.phone,
        notes: draft.notes,
        scheduled_time: draft.arrival,
    };
    let author = member.user.telegram_id;
    let now = app.now();
    let order = app
        .db(move |conn| orders::create(conn, &new, author, now))
        .await?;
    dialogue.reset().await?;
    log::info!("order {} created by {author}", order.id);
    reply(
        bot,
        chat,
        &texts::order_created(order.id),
        Some(menu(member)),
    )
    .await?;
    cards::show(bot, app, chat, None, &order, member).await;
    if app.config.notify_staff_on_new_order {
        let staff = app
            .db(|conn| users::with_roles(conn, &[Role::Admin, Role::Dispatcher]))
            .await?;
        let text = texts::new_order_for_staff(&order, &member.user.display_name());
        // Announced in the background: the dispatcher's next step does not wait for everyone
        // else's copy.
        let bot = bot.clone();
        tokio::spawn(async move {
            for id in staff.into_iter().filter(|id| *id != author) {
                super::notify::send_logged(&bot, ChatId(id), &text, None).await;
            }
        });
    }
    Ok(())
}

async fn main_menu(
    bot: &Bot,
    chat: ChatId,
    member: &Member,
    dialogue: &Dialog,
    app: &App,
    input: &str,
) -> HandlerResult {
    let staff = member.is_staff();
    let admin = member.has(Role::Admin);
    match input {
        texts::MENU_NEW_ORDER if staff => {
            dialogue.update(State::Equipment).await?;
            reply(
                bot,
                chat,
                texts::ASK_EQUIPMENT,
                Some(keyboards::equipment().into()),
            )
            .await
        }
        texts::MENU_ORDERS => super::lists::statuses(bot, app, chat, member).await,
        texts::MENU_SEARCH => super::lists::ask_search(bot, chat, member, dialogue).await,
        texts::MENU_MY_ORDERS if member.has(Role::Master) => {
            my_orders(bot, app, member, chat).await
        }
        texts::MENU_MASTERS if admin => list_masters(bot, app, chat).await,
        texts::MENU_ADD_MASTER if admin => {
            dialogue.update(State::MasterTelegramId).await?;
            reply(
                bot,
                chat,
                texts::ASK_MASTER_ID,
                Some(keyboards::cancel_only().into()),
            )
            .await
        }
        texts::MENU_REPORTS => super::report_screens::ask_period(bot, chat, member).await,
        texts::MENU_MY_STATS if member.has(Role::Master) => {
            super::report_screens::my_stats(bot, app, chat, member).await
        }
        texts::MENU_HELP => {
            reply(bot, chat, &texts::help(&roles(member)), Some(menu(member))).await
        }
        _ if member.roles.is_empty() => {
            reply(
                bot,
                chat,
                &texts::unknown_user(member.user.telegram_id),
                None,
            )
            .await
        }
        _ => reply(bot, chat, texts::NOT_UNDERSTOOD, Some(menu(member))).await,
    }
}

async fn my_orders(bot: &Bot, app: &App, member: &Member, chat: ChatId) -> HandlerResult {
    let Some(master_id) = member.master.as_ref().map(|m| m.id) else {
        return reply(bot, chat, texts::NO_OPEN_ORDERS, None).await;
    };
    let open = app
        .db(move |conn| orders::open_for_master(conn, master_id))
        .await?;
    if open.is_empty() {
        return reply(bot, chat, texts::NO_OPEN_ORDERS, Some(menu(member))).await;
    }
    for order in &open {
        cards::show(bot, app, chat, None, order, member).await;
    }
    Ok(())
}

async fn list_masters(bot: &Bot, app: &App, chat: ChatId) -> HandlerResult {
    let all = app.db(masters::all).await?;
    reply(bot, chat, &texts::masters_list_header(all.len()), None).await?;
    for (master, user) in all {
        reply(
            bot,
            chat,
            &cards::master_text(bot, app, &master, &user).await?,
            Some(keyboards::master_admin(&master).into()),
        )
        .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn reason_given(
    bot: &Bot,
    app: &App,
    member: &Member,
    dialogue: &Dialog,
    chat: ChatId,
    (order_id, seen, card): (i64, crate::domain::status::OrderStatus, Option<CardAt>),
    action: Action,
    input: &str,
) -> HandlerResult {
    if input.is_empty() {
        return retry(bot, chat, texts::REASON_EMPTY).await;
    }
    if input.chars().count() > REASON_MAX {
        return retry(bot, chat, texts::REASON_TOO_LONG).await;
    }
    dialogue.reset().await?;
    buttons::perform(
        bot,
        app,
        member,
        chat,
        None,
        order_id,
        action,
        Some(seen),
        Some(input.to_string()),
        None,
        card,
    )
    .await
}

async fn master_id_given(
    bot: &Bot,
    app: &App,
    dialogue: &Dialog,
    chat: ChatId,
    input: &str,
) -> HandlerResult {
    let Ok(telegram_id) = input.parse::<i64>() else {
        return retry(bot, chat, texts::NOT_AN_ID).await;
    };
    let existing = app
        .db(move |conn| {
            Ok((
                users::by_telegram_id(conn, telegram_id)?,
                masters::by_telegram_id(conn, telegram_id)?,
            ))
        })
        .await?;
    match existing {
        (None, _) => retry(bot, chat, &texts::unknown_user_id(telegram_id)).await,
        (Some(_), Some(_)) => retry(bot, chat, &texts::already_master(telegram_id)).await,
        (Some(_), None) => {
            dialogue.update(State::MasterPhone { telegram_id }).await?;
            reply(
                bot,
                chat,
                texts::ASK_MASTER_PHONE,
                Some(keyboards::cancel_only().into()),
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn add_master(
    bot: &Bot,
    app: &App,
    member: &Member,
    dialogue: &Dialog,
    chat: ChatId,
    telegram_id: i64,
    phone: String,
    specialization: String,
) -> HandlerResult {
    let by = member.user.telegram_id;
    let now = app.now();
    let added = crate::db::pool::interact(&app.pool, move |conn| {
        masters::add(conn, by, telegram_id, &phone, &specialization, now)?;
        Ok::<_, AddMasterError>(users::member(conn, telegram_id)?)
    })
    .await?;
    dialogue.reset().await?;
    match added {
        Ok(Some(master)) => {
            let name = master.user.display_name();
            reply(bot, chat, &texts::master_added(&name), Some(menu(member))).await?;
            // His menu changes now, not at his next /start.
            let text = texts::now_a_master(&master.user, &roles(&master));
            let private = ChatId(master.user.telegram_id);
            super::notify::send_logged(bot, private, &text, Some(menu(&master))).await;
            Ok(())
        }
        Ok(None) => {
            let name = telegram_id.to_string();
            reply(bot, chat, &texts::master_added(&name), Some(menu(member))).await
        }
        Err(AddMasterError::UnknownUser(id)) => {
            reply(bot, chat, &texts::unknown_user_id(id), Some(menu(member))).await
        }
        Err(AddMasterError::AlreadyMaster(id)) => {
            reply(bot, chat, &texts::already_master(id), Some(menu(member))).await
        }
        Err(AddMasterError::Db(error)) => Err(error.into()),
    }
}

/// The admin picked a group with Telegram's chat picker: check the bot can reach it, bind it.
pub async fn chat_shared(
    bot: Bot,
    message: Message,
    member: Member,
    dialogue: Dialog,
    state: State,
    app: App,
) -> HandlerResult {
    let chat = message.chat.id;
    let (State::BindGroup { master_id }, true) = (state, member.has(Role::Admin)) else {
        return reply(&bot, chat, texts::NOT_UNDERSTOOD, Some(menu(&member))).await;
    };
    let Some(shared) = message.shared_chat() else {
        return Ok(());
    };
    let group = shared.chat_id;
    dialogue.reset().await?;
    let me = bot.get_me().await?;
    match bot.get_chat_member(group, me.id).await {
        Ok(_) => {
            let title = bot
                .get_chat(group)
                .await
                .ok()
                .and_then(|c| c.title().map(str::to_owned))
                .unwrap_or_else(|| group.0.to_string());
            let by = member.user.telegram_id;
            let now = app.now();
            app.db(move |conn| masters::bind_work_chat(conn, by, master_id, group.0, now))
                .await?;
            reply(&bot, chat, &texts::group_bound(&title), Some(menu(&member))).await
        }
        Err(error) => {
            log::warn!(
                "binding group {} for master {master_id} failed: {error}",
                group.0
            );
            reply(
                &bot,
                chat,
                &texts::group_bind_failed(&error.to_string()),
                Some(menu(&member)),
            )
            .await
        }
    }
}

/// The admin pressed "bind work group" on a master card.
pub async fn ask_group(
    bot: &Bot,
    dialogue: &Dialog,
    chat: ChatId,
    master_id: i64,
) -> HandlerResult {
    dialogue.update(State::BindGroup { master_id }).await?;
    reply(
        bot,
        chat,
        texts::ASK_GROUP,
        Some(keyboards::pick_group(master_id).into()),
    )
    .await
}

/// A new value for a field of an open order: validated as at intake, saved with an audit row
/// holding the old and the new value.
#[allow(clippy::too_many_arguments)]
pub async fn edit_value(
    bot: &Bot,
    app: &App,
    member: &Member,
    dialogue: &Dialog,
    chat: ChatId,
    order_id: i64,
    field: EditableField,
    input: &str,
) -> HandlerResult {
    if !member.is_staff() {
        dialogue.reset().await?;
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    let typed = (input != texts::BUTTON_SKIP).then_some(input);
    let value = match check_field(field, typed) {
        Ok(value) => value,
        Err(message) => return retry(bot, chat, &message).await,
    };
    let by = member.user.telegram_id;
    let now = app.now();
    let edited = crate::db::pool::interact(&app.pool, move |conn| {
        orders::edit(conn, order_id, by, field, value, now)
    })
    .await?;
    dialogue.reset().await?;
    match edited {
        Ok(order) => {
            reply(bot, chat, &texts::field_changed(order_id, field), None).await?;
            cards::show(bot, app, chat, None, &order, member).await;
            cards::tell_master_of_edit(bot, app, &order, field).await;
            Ok(())
        }
        Err(orders::EditError::NotOpen(_)) => reply(bot, chat, texts::ORDER_NOT_OPEN, None).await,
        Err(orders::EditError::NotFound) => reply(bot, chat, texts::ORDER_NOT_FOUND, None).await,
        Err(orders::EditError::Db(error)) => Err(error.into()),
    }
}
