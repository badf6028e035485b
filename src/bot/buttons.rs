//! Inline button presses: the routes of each feature's buttons, and the one place a press is
//! answered. Nothing in the callback data is trusted: the order and the sender's roles are read
//! afresh and the state machine decides.

use std::ops::ControlFlow;
use std::sync::Arc;

use teloxide::dispatching::dialogue::Storage;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::state::State;
use super::visits;
use super::{admin_screens, deletion, order_lookup};
use super::{closing, editing, intake, lists, masters, order_actions, report_screens, start};
use super::{texts, BoxError, HandlerResult};
use crate::store::dialogues::DbStorage;
use crate::store::members::Member;

/// The presses of people with a role, parsed; anything else is left unhandled and answered
/// by [`answer`] with the same pop-up whatever the data, so that forged presses cannot tell
/// which orders exist.
pub fn routes() -> UpdateHandler<BoxError> {
    dptree::filter_map(|query: CallbackQuery, member: Member| {
        let callback = Callback::parse(query.data.as_deref()?)?;
        (!member.has_no_role()).then_some(callback)
    })
    .branch(dptree::filter(start::dialogue_not_permitted).endpoint(start::role_taken_away))
    .branch(order_actions::pressed())
    .branch(closing::pressed())
    .branch(intake::pressed())
    .branch(editing::pressed())
    .branch(masters::pressed())
    .branch(lists::pressed())
    .branch(report_screens::pressed())
    .branch(order_lookup::pressed())
    .branch(deletion::pressed())
    .branch(admin_screens::pressed())
    .branch(visits::pressed())
    .branch(dptree::case![Callback::Cancel].endpoint(start::cancel))
    // A step's button (equipment, Skip, Confirm, the review) whose step is over.
    .branch(dptree::endpoint(start::step_over))
}

/// Answers a press after its work is done, whatever its outcome: an update whose handling was
/// cut short comes again, and its button must spin until then.
pub async fn answer(
    bot: &Bot,
    storage: &Arc<DbStorage<State>>,
    query: &CallbackQuery,
    outcome: ControlFlow<HandlerResult, DependencyMap>,
) -> ControlFlow<HandlerResult, DependencyMap> {
    let mut answer = bot.answer_callback_query(query.id.clone());
    let in_group = query
        .message
        .as_ref()
        .is_some_and(|m| !m.chat().is_private());
    let outcome = match outcome {
        ControlFlow::Continue(deps) => {
            answer = answer.text(texts::NO_ACCESS);
            ControlFlow::Continue(deps)
        }
        // A button in a group whose dialogue goes on privately, from someone the bot may not
        // write to: the pop-up is the only place left to tell them, and no dialogue waits in a
        // chat they cannot see.
        ControlFlow::Break(Err(error)) if in_group && cannot_write_privately(&error) => {
            let user = query.from.id.0 as i64;
            log::info!(
                "user {user} pressed a group button but the bot may not write to them: {error}"
            );
            answer = answer.text(texts::OPEN_PRIVATE_CHAT).show_alert(true);
            let forgotten = Arc::clone(storage).remove_dialogue(ChatId(user)).await;
            ControlFlow::Break(forgotten.map_err(Into::into))
        }
        other => other,
    };
    if let Err(error) = answer.await {
        log::warn!("answerCallbackQuery failed: {error}");
    }
    outcome
}

fn cannot_write_privately(error: &BoxError) -> bool {
    error
        .downcast_ref::<teloxide::RequestError>()
        .is_some_and(super::notify::cannot_write)
}
