//! What every handler of one update has at hand: who acts, where the update came from, their
//! dialogue and the bot's services. Built once per update in the handler tree, so handlers take
//! this and what their own branch extracted (a state's fields, a button's data), nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{MessageId, ReplyMarkup};

use crate::store::dialogues::DbStorage;

use super::state::{CardAt, State};
use super::{keyboards, notify, roles, App, Dialog, HandlerResult};
use crate::domain::status::{Actor, Role};
use crate::store::members::Member;

#[derive(Clone)]
pub struct Ctx {
    pub bot: Bot,
    pub app: App,
    /// The sender with the roles read for this very update.
    pub member: Member,
    /// Keyed by the person: a dialogue started from a group's button goes on privately.
    pub dialogue: Dialog,
    /// Where the update came from: the private chat, or the group of a pressed card.
    pub chat: ChatId,
    /// The message a pressed button sits on (None for a typed message).
    pub pressed_on: Option<MessageId>,
    /// The person has no stored dialogue (Idle is no row): ending it again costs no trip.
    idle: Arc<AtomicBool>,
}

/// The trimmed text of a typed message.
#[derive(Clone, Debug)]
pub struct Typed(pub String);

impl Ctx {
    /// `state` is the dialogue as read with the sender (no second trip for it).
    pub fn for_message(
        bot: Bot,
        app: App,
        member: Member,
        state: State,
        storage: Arc<DbStorage<State>>,
        message: Message,
    ) -> Ctx {
        Ctx::new(bot, app, member, state, storage, message.chat.id, None)
    }

    pub fn for_press(
        bot: Bot,
        app: App,
        member: Member,
        state: State,
        storage: Arc<DbStorage<State>>,
        query: CallbackQuery,
    ) -> Ctx {
        let private = member.user.telegram_id.chat();
        let chat = query.message.as_ref().map_or(private, |m| m.chat().id);
        let pressed_on = query.message.as_ref().map(|m| m.id());
        Ctx::new(bot, app, member, state, storage, chat, pressed_on)
    }

    fn new(
        bot: Bot,
        app: App,
        member: Member,
        state: State,
        storage: Arc<DbStorage<State>>,
        chat: ChatId,
        pressed_on: Option<MessageId>,
    ) -> Ctx {
        // The dialogue is the person's, wherever the update came from.
        let dialogue = Dialog::new(storage, member.user.telegram_id.chat());
        Ctx {
            bot,
            app,
            member,
            dialogue,
            chat,
            pressed_on,
            idle: Arc::new(AtomicBool::new(state == State::Idle)),
        }
    }

    /// The sender's own chat with the bot.
    pub fn private(&self) -> ChatId {
        self.member.user.telegram_id.chat()
    }

    /// The card the button was pressed on, to redraw when a dialogue started from it ends.
    pub fn card(&self) -> Option<CardAt> {
        self.pressed_on.map(|message_id| CardAt {
            chat: self.chat.0,
            message_id: message_id.0,
        })
    }

    pub fn actor(&self) -> Actor {
        self.member.acting.clone()
    }

    pub fn has(&self, role: Role) -> bool {
        self.member.has(role)
    }

    pub fn is_staff(&self) -> bool {
        self.member.is_staff()
    }

    /// The sender's main menu (reply keyboard of their roles).
    pub fn menu(&self) -> ReplyMarkup {
        keyboards::main_menu(&roles(&self.member)).into()
    }

    /// Answers where the update came from.
    pub async fn reply(&self, text: &str, markup: Option<ReplyMarkup>) -> HandlerResult {
        self.send_to(self.chat, text, markup).await
    }

    /// Answers with the main menu under the text.
    pub async fn reply_with_menu(&self, text: &str) -> HandlerResult {
        self.reply(text, Some(self.menu())).await
    }

    /// A dialogue step's prompt, in the sender's private chat, with Cancel (and Skip).
    pub async fn ask(&self, prompt: &str, skippable: bool) -> HandlerResult {
        let markup = if skippable {
            keyboards::skip_or_cancel()
        } else {
            keyboards::cancel_only()
        };
        self.send_to(self.private(), prompt, Some(markup.into()))
            .await
    }

    /// Shows a screen in place of the message the button was on (a page, a confirmation), or
    /// as a new message when there is none or it cannot be edited.
    pub async fn show_in_place(
        &self,
        text: &str,
        markup: teloxide::types::InlineKeyboardMarkup,
    ) -> HandlerResult {
        if let Some(message_id) = self.pressed_on {
            let edited = self
                .bot
                .edit_message_text(self.chat, message_id, text)
                .parse_mode(teloxide::types::ParseMode::Html)
                .reply_markup(markup.clone())
                .await;
            if edited.is_ok() {
                return Ok(());
            }
        }
        self.reply(text, Some(markup.into())).await
    }

    pub async fn send_to(
        &self,
        chat: ChatId,
        text: &str,
        markup: Option<ReplyMarkup>,
    ) -> HandlerResult {
        notify::send(&self.bot, chat, text, markup).await?;
        Ok(())
    }

    /// Moves the dialogue on (Idle removes it).
    pub async fn enter(&self, state: State) -> HandlerResult {
        if state == State::Idle {
            return self.end_dialogue().await;
        }
        self.dialogue.update(state).await?;
        self.idle.store(false, Ordering::Relaxed);
        Ok(())
    }

    pub async fn end_dialogue(&self) -> HandlerResult {
        if !self.idle.load(Ordering::Relaxed) {
            self.dialogue.reset().await?;
            self.idle.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A dialogue step's bad value: said why, the same step asks again.
    pub async fn again(&self, why: &str) -> HandlerResult {
        self.reply(why, None).await
    }

    /// A button of a dialogue step that is over (pressed twice, or after /cancel).
    pub async fn step_over(&self) -> HandlerResult {
        self.reply_with_menu(super::texts::STEP_OVER).await
    }

    pub fn now(&self) -> chrono::NaiveDateTime {
        self.app.now()
    }
}
