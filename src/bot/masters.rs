//! Masters for admins: the list with activate / deactivate, adding a master (a dialogue of
//! Telegram id, phone, specialization), binding a master's work group with the chat picker,
//! and firing a master (after a confirmation). Dispatchers see the list read-only.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::state::State;
use super::{cards, keyboards, notices, texts, BoxError, HandlerResult};
use crate::domain::ids::{MasterId, TelegramId};
use crate::domain::status::Role;
use crate::domain::validation::Phone;
use crate::store::masters::{self, AddMasterError, FireError};
use crate::store::outbox;
use crate::store::users;

pub fn typed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(dptree::case![State::MasterTelegramId].endpoint(telegram_id_given))
        .branch(dptree::case![State::MasterPhone { telegram_id }].endpoint(phone_given))
        .branch(
            dptree::case![State::MasterSpecialization { telegram_id, phone }]
                .endpoint(specialization_given),
        )
        .branch(
            dptree::case![State::BindGroup { master_id }]
                .endpoint(|ctx: Ctx| async move { ctx.reply(texts::ASK_GROUP, None).await }),
        )
}

/// Admin-only buttons of the master cards.
pub fn pressed() -> UpdateHandler<BoxError> {
    let admin = |ctx: Ctx| ctx.has(Role::Admin);
    dptree::entry()
        .branch(
            dptree::case![Callback::MasterActive { master_id, active }]
                .branch(dptree::filter(admin).endpoint(set_active))
                .branch(dptree::endpoint(no_access)),
        )
        .branch(
            dptree::case![Callback::MasterSenior { master_id, senior }]
                .branch(dptree::filter(admin).endpoint(set_senior))
                .branch(dptree::endpoint(no_access)),
        )
        .branch(
            dptree::case![Callback::BindGroup { master_id }]
                .branch(dptree::filter(admin).endpoint(ask_group))
                .branch(dptree::endpoint(no_access)),
        )
        .branch(
            dptree::case![Callback::Fire { master_id }]
                .branch(dptree::filter(admin).endpoint(ask_to_fire))
                .branch(dptree::endpoint(no_access)),
        )
        .branch(
            dptree::case![Callback::FireConfirmed { master_id }]
                .branch(dptree::filter(admin).endpoint(fire))
                .branch(dptree::endpoint(no_access)),
        )
        .branch(
            dptree::case![Callback::MasterCard { master_id }]
                .branch(dptree::filter(|ctx: Ctx| ctx.is_staff()).endpoint(show_master))
                .branch(dptree::endpoint(no_access)),
        )
}

async fn no_access(ctx: Ctx) -> HandlerResult {
    ctx.reply(texts::NO_ACCESS, None).await
}

/// «👷 Мастера»: every master (fired ones marked so) as a card; admins get its buttons,
/// dispatchers only look.
pub async fn list(ctx: Ctx) -> HandlerResult {
    let all = ctx.app.db(masters::all).await?;
    ctx.reply(&texts::masters_list_header(all.len()), None)
        .await?;
    let admin = ctx.has(Role::Admin);
    for (master, user) in all {
        let text = cards::master_text(&ctx.bot, &ctx.app, &master, &user).await?;
        let markup = admin.then(|| keyboards::master_admin(&master).into());
        ctx.reply(&text, markup).await?;
    }
    Ok(())
}

/// A master's card afresh, in place (admins get its buttons).
async fn show_master(ctx: Ctx, master_id: MasterId) -> HandlerResult {
    let Some((master, user)) = ctx
        .app
        .db(move |conn| masters::with_user(conn, master_id))
        .await?
    else {
        return ctx.reply(texts::MASTER_NOT_FOUND, None).await;
    };
    let text = cards::master_text(&ctx.bot, &ctx.app, &master, &user).await?;
    let markup = if ctx.has(Role::Admin) {
        keyboards::master_admin(&master)
    } else {
        Default::default()
    };
    ctx.show_in_place(&text, markup).await
}

/// «🚫 Уволить» on a master's card: the card turns into the question, with how many open
/// orders would go back to NEW.
async fn ask_to_fire(ctx: Ctx, master_id: MasterId) -> HandlerResult {
    let found = ctx
        .app
        .db(move |conn| {
            let Some((master, user)) = masters::with_user(conn, master_id)? else {
                return Ok(None);
            };
            let open: i64 = masters::order_counts(conn, master_id)?
                .into_iter()
                .filter(|(status, _)| status.is_open())
                .map(|(_, n)| n)
                .sum();
            Ok(Some((master, user, open)))
        })
        .await?;
    match found {
        None => ctx.reply(texts::MASTER_NOT_FOUND, None).await,
        Some((master, user, _)) if master.is_fired() => {
            ctx.reply(&texts::master_already_fired(&user.display_name()), None)
                .await
        }
        Some((_, user, open)) => {
            let text = texts::ask_fire(&user.display_name(), open);
            ctx.show_in_place(&text, keyboards::confirm_fire(master_id))
                .await
        }
    }
}

/// Fires the master: his open orders back to NEW, the other staff told, the card redrawn.
async fn fire(ctx: Ctx, master_id: MasterId) -> HandlerResult {
    let by = ctx.member.clone();
    let actor = ctx.member.user.telegram_id;
    let now = ctx.now();
    let fired = crate::db::pool::interact(&ctx.app.pool, move |conn| {
        masters::fire(conn, actor, master_id, now, |conn, fired| {
            let staff = users::with_roles(conn, &[Role::Admin, Role::Dispatcher])?;
            outbox::enqueue(conn, &notices::master_fired(fired, &by, &staff), now)
        })
    })
    .await?;
    ctx.app.outbox.wake();
    match fired {
        Ok(fired) => {
            let returned: Vec<_> = fired.returned.iter().map(|order| order.id).collect();
            log::info!("master {master_id} fired by {actor}; back to NEW: {returned:?}");
            let name = fired.user.display_name();
            ctx.reply(&texts::master_fired(&name, &returned), None)
                .await?;
            show_master(ctx, master_id).await
        }
        Err(FireError::AlreadyFired(user)) => {
            ctx.reply(&texts::master_already_fired(&user.display_name()), None)
                .await?;
            show_master(ctx, master_id).await
        }
        Err(FireError::NotFound) => ctx.reply(texts::MASTER_NOT_FOUND, None).await,
        Err(FireError::Db(error)) => Err(error.into()),
    }
}

async fn set_active(ctx: Ctx, (master_id, active): (MasterId, bool)) -> HandlerResult {
    let found = ctx
        .app
        .db(move |conn| masters::with_user(conn, master_id))
        .await?;
    match found {
        None => return ctx.reply(texts::MASTER_NOT_FOUND, None).await,
        // A stale card's switch: a fired master stays off.
        Some((master, user)) if master.is_fired() => {
            return ctx
                .reply(&texts::master_already_fired(&user.display_name()), None)
                .await;
        }
        Some(_) => {}
    }
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let master = ctx
        .app
        .db(move |conn| masters::set_active(conn, by, master_id, active, now))
        .await?;
    redraw(&ctx, master).await
}

async fn set_senior(ctx: Ctx, (master_id, senior): (MasterId, bool)) -> HandlerResult {
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let master = ctx
        .app
        .db(move |conn| masters::set_senior(conn, by, master_id, senior, now))
        .await?;
    redraw(&ctx, master).await
}

/// The master card the button was on, with the change.
async fn redraw(ctx: &Ctx, master: masters::Master) -> HandlerResult {
    let user = ctx
        .app
        .db(move |conn| users::by_telegram_id(conn, master.telegram_id))
        .await?;
    if let (Some(user), Some(message_id)) = (user, ctx.pressed_on) {
        let text = cards::master_text(&ctx.bot, &ctx.app, &master, &user).await?;
        ctx.bot
            .edit_message_text(ctx.chat, message_id, text)
            .parse_mode(teloxide::types::ParseMode::Html)
            .reply_markup(keyboards::master_admin(&master))
            .await?;
    }
    Ok(())
}

/// «➕ Добавить мастера».
pub async fn begin_adding(ctx: Ctx) -> HandlerResult {
    ctx.enter(State::MasterTelegramId).await?;
    ctx.ask(texts::ASK_MASTER_ID, false).await
}

async fn telegram_id_given(ctx: Ctx, typed: Typed) -> HandlerResult {
    let Ok(telegram_id) = typed.0.parse::<TelegramId>() else {
        return ctx.again(texts::NOT_AN_ID).await;
    };
    let existing = ctx
        .app
        .db(move |conn| {
            Ok((
                users::by_telegram_id(conn, telegram_id)?,
                masters::by_telegram_id(conn, telegram_id)?,
            ))
        })
        .await?;
    match existing {
        (None, _) => ctx.again(&texts::unknown_user_id(telegram_id)).await,
        (Some(_), Some(_)) => ctx.again(&texts::already_master(telegram_id)).await,
        (Some(_), None) => {
            ctx.enter(State::MasterPhone { telegram_id }).await?;
            ctx.ask(texts::ASK_MASTER_PHONE, false).await
        }
    }
}

async fn phone_given(ctx: Ctx, telegram_id: TelegramId, typed: Typed) -> HandlerResult {
    match Phone::parse(&typed.0) {
        Ok(phone) => {
            ctx.enter(State::MasterSpecialization { telegram_id, phone })
                .await?;
            ctx.ask(texts::ASK_MASTER_SPECIALIZATION, false).await
        }
        Err(error) => ctx.again(&texts::phone_error(&error)).await,
    }
}

async fn specialization_given(
    ctx: Ctx,
    (telegram_id, phone): (TelegramId, Phone),
    typed: Typed,
) -> HandlerResult {
    let specialization = typed.0;
    if !(2..=200).contains(&specialization.chars().count()) {
        return ctx.again(texts::SPECIALIZATION_INVALID).await;
    }
    let by = ctx.member.user.telegram_id;
    let now = ctx.now();
    let added = crate::db::pool::interact(&ctx.app.pool, move |conn| {
        let mut added = None;
        let details = (&phone, specialization.as_str());
        masters::add(conn, by, telegram_id, details, now, |conn, _| {
            added = crate::store::members::member(conn, telegram_id)?;
            match &added {
                Some(master) => outbox::enqueue(conn, &[notices::to_new_master(master)], now),
                None => Ok(()),
            }
        })?;
        Ok::<_, AddMasterError>(added)
    })
    .await?;
    ctx.app.outbox.wake();
    ctx.end_dialogue().await?;
    match added {
        Ok(Some(master)) => {
            let name = master.user.display_name();
            ctx.reply_with_menu(&texts::master_added(&name)).await
        }
        Ok(None) => {
            let name = telegram_id.to_string();
            ctx.reply_with_menu(&texts::master_added(&name)).await
        }
        Err(AddMasterError::UnknownUser(id)) => {
            ctx.reply_with_menu(&texts::unknown_user_id(id)).await
        }
        Err(AddMasterError::AlreadyMaster(id)) => {
            ctx.reply_with_menu(&texts::already_master(id)).await
        }
        Err(AddMasterError::Db(error)) => Err(error.into()),
    }
}

/// The admin pressed "bind work group" on a master card: Telegram's chat picker is offered.
async fn ask_group(ctx: Ctx, master_id: MasterId) -> HandlerResult {
    ctx.enter(State::BindGroup { master_id }).await?;
    let markup = keyboards::pick_group(master_id).into();
    ctx.reply(texts::ASK_GROUP, Some(markup)).await
}

/// The admin picked a group with the chat picker: check the bot can reach it, bind it.
pub async fn chat_shared(ctx: Ctx, state: State, message: Message) -> HandlerResult {
    let (State::BindGroup { master_id }, true) = (state, ctx.has(Role::Admin)) else {
        return ctx.reply_with_menu(texts::NOT_UNDERSTOOD).await;
    };
    let Some(shared) = message.shared_chat() else {
        return Ok(());
    };
    let group = shared.chat_id;
    ctx.end_dialogue().await?;
    let bot = &ctx.bot;
    let me = bot.get_me().await?;
    match bot.get_chat_member(group, me.id).await {
        Ok(_) => {
            let title = bot
                .get_chat(group)
                .await
                .ok()
                .and_then(|c| c.title().map(str::to_owned))
                .unwrap_or_else(|| group.0.to_string());
            let by = ctx.member.user.telegram_id;
            let now = ctx.now();
            ctx.app
                .db(move |conn| masters::bind_work_chat(conn, by, master_id, group.0, now))
                .await?;
            ctx.reply_with_menu(&texts::group_bound(&title)).await
        }
        Err(error) => {
            log::warn!(
                "binding group {} for master {master_id} failed: {error}",
                group.0
            );
            ctx.reply_with_menu(&texts::group_bind_failed(&error.to_string()))
                .await
        }
    }
}
