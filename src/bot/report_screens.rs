//! Reports for dispatchers and admins (a message and an .xlsx file), a master's own
//! statistics, and the daily summary text.

use teloxide::prelude::*;
use teloxide::types::InputFile;

use super::{keyboards, reply, texts, App, Dialog, HandlerResult};
use crate::domain::period::{utc_range, Period};
use crate::reports::xlsx;
use crate::store::reports;
use crate::store::users::Member;

/// Asks which period (staff only).
pub async fn ask_period(bot: &Bot, chat: ChatId, member: &Member) -> HandlerResult {
    if !member.is_staff() {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    reply(
        bot,
        chat,
        texts::ASK_PERIOD,
        Some(keyboards::periods().into()),
    )
    .await
}

/// A period button: a fixed period is reported at once; the last one asks for dates.
pub async fn period_chosen(
    bot: &Bot,
    app: &App,
    chat: ChatId,
    member: &Member,
    dialogue: &Dialog,
    index: usize,
) -> HandlerResult {
    if !member.is_staff() {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    }
    match keyboards::REPORT_PERIODS.get(index) {
        Some(period) => send(bot, app, chat, *period).await,
        None => {
            dialogue.update(super::state::State::ReportPeriod).await?;
            reply(
                bot,
                chat,
                texts::ASK_CUSTOM_PERIOD,
                Some(keyboards::cancel_only().into()),
            )
            .await
        }
    }
}

/// The report as a message and as a spreadsheet.
pub async fn send(bot: &Bot, app: &App, chat: ChatId, period: Period) -> HandlerResult {
    let (from, to) = utc_range(period, app.clock.now(), app.config.timezone);
    let report = app.db(move |conn| reports::report(conn, from, to)).await?;
    let name = texts::period_name(period);
    reply(bot, chat, &texts::report(&name, &report), None).await?;
    let bytes = xlsx::write(&report)?;
    bot.send_document(
        chat,
        InputFile::memory(bytes).file_name(texts::report_file_name(&name)),
    )
    .await?;
    Ok(())
}

/// A master's own figures for today and this month.
pub async fn my_stats(bot: &Bot, app: &App, chat: ChatId, member: &Member) -> HandlerResult {
    let Some(master_id) = member.master.as_ref().map(|m| m.id) else {
        return reply(bot, chat, texts::NO_ACCESS, None).await;
    };
    let now = app.clock.now();
    let tz = app.config.timezone;
    let mut text = String::new();
    for period in [Period::Today, Period::ThisMonth] {
        let (from, to) = utc_range(period, now, tz);
        let figures = app
            .db(move |conn| reports::master_stats(conn, master_id, from, to))
            .await?;
        text.push_str(&texts::my_stats(&texts::period_name(period), &figures));
        text.push_str("\n\n");
    }
    reply(bot, chat, text.trim_end(), None).await
}
