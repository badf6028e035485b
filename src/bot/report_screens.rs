//! Reports for dispatchers and admins (a message and an .xlsx file), a master's own
//! statistics, and the daily summary text.

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::InputFile;

use super::callbacks::Callback;
use super::context::{Ctx, Typed};
use super::scheduled_reports::BuiltFile;
use super::state::State;
use super::{keyboards, texts, BoxError, HandlerResult};
use crate::domain::period::{local_dates, parse_custom, utc_range, Period};
use crate::store::reports;

/// Dates typed for a report of one's own period.
pub fn typed() -> UpdateHandler<BoxError> {
    dptree::case![State::ReportPeriod].endpoint(|ctx: Ctx, typed: Typed| async move {
        match parse_custom(&typed.0) {
            Some((from, to)) => {
                ctx.end_dialogue().await?;
                send(&ctx, Period::Custom { from, to }).await
            }
            None => ctx.again(texts::PERIOD_INVALID).await,
        }
    })
}

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::case![Callback::Report(index)].endpoint(period_chosen)
}

/// «📊 Отчёты»: asks which period (staff only).
pub async fn ask_period(ctx: Ctx) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let markup = keyboards::periods().into();
    ctx.reply(texts::ASK_PERIOD, Some(markup)).await
}

/// A period button: a fixed period is reported at once; the last one asks for dates.
async fn period_chosen(ctx: Ctx, index: usize) -> HandlerResult {
    if !ctx.is_staff() {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    match keyboards::REPORT_PERIODS.get(index) {
        Some(period) => send(&ctx, *period).await,
        None => {
            ctx.enter(State::ReportPeriod).await?;
            let markup = keyboards::cancel_only().into();
            ctx.reply(texts::ASK_CUSTOM_PERIOD, Some(markup)).await
        }
    }
}

/// The report as a message and as a spreadsheet (the same workbook the scheduled reports
/// send: figures, the period's closed orders, the active orders), both from one reading.
async fn send(ctx: &Ctx, period: Period) -> HandlerResult {
    let now = ctx.app.clock.now();
    let tz = ctx.app.config.timezone;
    let range = utc_range(period, now, tz);
    let heading = texts::report_heading(&texts::period_name(period));
    let (first, end) = local_dates(period, now.with_timezone(&tz).date_naive());
    let title = texts::report_title(&heading, first, end.pred_opt().unwrap_or(first), tz);
    let (report, bytes) = ctx
        .app
        .db_read_alone(move |conn| Ok(crate::reports::period_file(conn, range, title, tz)))
        .await??;
    ctx.reply(&texts::report(&heading, &report), None).await?;
    let file = BuiltFile::report(&heading, bytes);
    let caption = texts::report_file_caption(&heading);
    if let Some(instead) = file.too_big(&caption, ctx.app.config.send_limits.max_file_bytes) {
        return ctx.reply(&instead, None).await;
    }
    super::outbox::uploading(&ctx.bot)
        .send_document(ctx.chat, InputFile::memory(file.bytes).file_name(file.name))
        .await?;
    Ok(())
}

/// A master's own figures for today and this month.
pub async fn my_stats(ctx: Ctx) -> HandlerResult {
    let Some(master_id) = ctx.member.master.as_ref().map(|m| m.id) else {
        return ctx.reply(texts::NO_ACCESS, None).await;
    };
    let now = ctx.app.clock.now();
    let tz = ctx.app.config.timezone;
    let mut text = String::new();
    for period in [Period::Today, Period::ThisMonth] {
        let (from, to) = utc_range(period, now, tz);
        let figures = ctx
            .app
            .db_long(move |conn| reports::master_stats(conn, master_id, from, to))
            .await?;
        text.push_str(&texts::my_stats(&texts::period_name(period), &figures));
        text.push_str("\n\n");
    }
    ctx.reply(text.trim_end(), None).await
}
