//! Commands, the main menu's buttons, Cancel, and the explicit answer to whatever no feature
//! takes: a person always hears back.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::context::{Ctx, Typed};
use super::state::State;
use super::{admin_screens, lists, masters, report_screens, roles, texts};
use super::{BoxError, Command, HandlerResult};
use crate::domain::status::Role;
use crate::store::members::Member;

pub async fn command(ctx: Ctx, command: Command, state: State) -> HandlerResult {
    match command {
        Command::Start => {
            ctx.end_dialogue().await?;
            let welcome = texts::welcome(&ctx.member.user, &roles(&ctx.member));
            ctx.reply_with_menu(&welcome).await
        }
        Command::Help => ctx.reply_with_menu(&texts::help(&roles(&ctx.member))).await,
        Command::Cancel => cancel(ctx, state).await,
        Command::Order(number) => super::order_lookup::in_private(ctx, number).await,
    }
}

/// Cancel, typed, pressed or as /cancel: whatever dialogue there was ends.
pub async fn cancel(ctx: Ctx, state: State) -> HandlerResult {
    ctx.end_dialogue().await?;
    let text = if state == State::Idle {
        texts::NOTHING_TO_CANCEL
    } else {
        texts::CANCELLED
    };
    ctx.send_to(ctx.private(), text, Some(ctx.menu())).await
}

/// A dialogue whose role the person no longer has: it ends, and their menu is redrawn.
pub async fn role_taken_away(ctx: Ctx) -> HandlerResult {
    log::info!(
        "dialogue of {} ended: the role it needs was taken away",
        ctx.member.user.telegram_id
    );
    ctx.end_dialogue().await?;
    ctx.send_to(ctx.private(), texts::NO_ACCESS, Some(ctx.menu()))
        .await
}

/// The main menu's buttons (reply keyboard texts), each for the roles that have it. A text
/// no button of the sender's matches falls through to [`not_understood`].
pub fn menu() -> UpdateHandler<BoxError> {
    let button = |label: &'static str, role: Option<fn(&Member) -> bool>| {
        dptree::filter(move |typed: Typed, member: Member| {
            typed.0 == label && role.is_none_or(|may| may(&member))
        })
    };
    let staff: fn(&Member) -> bool = Member::is_staff;
    let admin: fn(&Member) -> bool = |m| m.has(Role::Admin);
    let master: fn(&Member) -> bool = |m| m.has(Role::Master);
    dptree::entry()
        .branch(button(texts::MENU_NEW_ORDER, Some(staff)).endpoint(super::intake::begin))
        .branch(button(texts::MENU_ORDERS, None).endpoint(lists::statuses))
        .branch(button(texts::MENU_SEARCH, None).endpoint(lists::ask_search))
        .branch(button(texts::MENU_MY_ORDERS, Some(master)).endpoint(lists::my_orders))
        .branch(button(texts::MENU_MASTERS, Some(staff)).endpoint(masters::list))
        .branch(button(texts::MENU_ADD_MASTER, Some(admin)).endpoint(masters::begin_adding))
        .branch(button(texts::MENU_REPORTS, None).endpoint(report_screens::ask_period))
        .branch(button(texts::MENU_MY_STATS, Some(master)).endpoint(report_screens::my_stats))
        .branch(button(texts::MENU_JOURNAL, Some(admin)).endpoint(admin_screens::journal))
        .branch(button(texts::MENU_USERS, Some(admin)).endpoint(admin_screens::users))
        .branch(button(texts::MENU_SETTINGS, Some(admin)).endpoint(admin_screens::settings))
        .branch(button(texts::MENU_HELP, None).endpoint(help))
}

async fn help(ctx: Ctx) -> HandlerResult {
    ctx.reply_with_menu(&texts::help(&roles(&ctx.member))).await
}

/// Anything typed that no menu button or dialogue step takes.
pub async fn not_understood(ctx: Ctx) -> HandlerResult {
    if ctx.member.has_no_role() {
        let text = texts::unknown_user(ctx.member.user.telegram_id);
        return ctx.reply(&text, None).await;
    }
    ctx.reply_with_menu(texts::NOT_UNDERSTOOD).await
}

/// A step that only takes a button (the summary, the review question).
pub async fn use_buttons(ctx: Ctx) -> HandlerResult {
    ctx.reply(texts::USE_BUTTONS, None).await
}

/// A button of a dialogue step that is over (pressed twice, or after /cancel).
pub async fn step_over(ctx: Ctx) -> HandlerResult {
    ctx.step_over().await
}

/// Whether the sender's dialogue may go on with the roles they have now.
pub fn dialogue_not_permitted(state: State, member: Member) -> bool {
    !state.permitted(&member)
}

/// A message with no text (a photo, a sticker) outside any step that wants one.
pub async fn not_text(ctx: Ctx) -> HandlerResult {
    ctx.reply_with_menu(texts::NOT_UNDERSTOOD).await
}
