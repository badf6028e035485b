//! Screens for admins: «📜 Журнал» (the audit log, newest first, a page at a time, in
//! Russian), «👥 Пользователи» (everyone who wrote to the bot, with their roles) and
//! «⚙️ Настройки» (the configuration in force, read-only: it lives in `.env`).

use std::collections::BTreeMap;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::callbacks::Callback;
use super::context::Ctx;
use super::{cards, keyboards, texts, BoxError, HandlerResult};
use crate::domain::ids::{MasterId, TelegramId};
use crate::domain::status::Role;
use crate::store::audit::{self, AuditRow};
use crate::store::search::Cursor;
use crate::store::{masters, users};

const JOURNAL_PAGE: usize = 10;
const USERS_PAGE: usize = 20;

pub fn pressed() -> UpdateHandler<BoxError> {
    dptree::entry()
        .branch(dptree::case![Callback::Journal { cursor }].endpoint(
            |ctx: Ctx, cursor: Option<Cursor>| async move { journal_page(&ctx, cursor).await },
        ))
        .branch(dptree::case![Callback::Users { cursor }].endpoint(
            |ctx: Ctx, cursor: Option<Cursor>| async move { users_page(&ctx, cursor).await },
        ))
}

/// «📜 Журнал».
pub async fn journal(ctx: Ctx) -> HandlerResult {
    journal_page(&ctx, None).await
}

/// «👥 Пользователи».
pub async fn users(ctx: Ctx) -> HandlerResult {
    users_page(&ctx, None).await
}

/// «⚙️ Настройки».
pub async fn settings(ctx: Ctx) -> HandlerResult {
    if !ctx.has(Role::Admin) {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let text = texts::settings(&ctx.app.config, &ctx.app.database.backup);
    ctx.reply_with_menu(&text).await
}

async fn journal_page(ctx: &Ctx, cursor: Option<Cursor>) -> HandlerResult {
    if !ctx.has(Role::Admin) {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let tz = ctx.app.config.timezone;
    let (lines, newer, older) = ctx
        .app
        .db_long(move |conn| {
            let page = audit::page(conn, cursor, JOURNAL_PAGE)?;
            let named = Named::read(conn, &page.items)?;
            let lines: Vec<String> = page
                .items
                .iter()
                .map(|row| {
                    let who = row.user_id.and_then(|id| named.person(id));
                    let subject = texts::journal_subject(row, named.subject(row).as_deref());
                    texts::journal_line(row, who.as_deref(), subject.as_deref(), tz)
                })
                .collect();
            Ok((lines, page.prev, page.next))
        })
        .await?;
    let text = if lines.is_empty() {
        texts::JOURNAL_EMPTY.to_string()
    } else {
        format!("{}\n\n{}", texts::JOURNAL_HEADER, lines.join("\n"))
    };
    let markup = keyboards::pager(newer, older, |cursor| Callback::Journal { cursor });
    ctx.show_in_place(&text, markup).await
}

/// The names one page of the journal mentions: the people who acted, and the masters and
/// users the rows are about (those never registered are shown by their id).
struct Named {
    people: BTreeMap<TelegramId, String>,
    masters: BTreeMap<MasterId, String>,
}

impl Named {
    fn read(conn: &mut diesel::SqliteConnection, rows: &[AuditRow]) -> diesel::QueryResult<Named> {
        let about = |kind: &'static str| {
            rows.iter()
                .filter(move |row| row.entity_type.as_deref() == Some(kind))
                .filter_map(|row| row.entity_id)
        };
        let people = rows
            .iter()
            .filter_map(|row| row.user_id)
            .chain(about("user").map(TelegramId));
        let people = cards::display_names(conn, people)?;
        let mut masters = BTreeMap::new();
        for id in about("master").map(MasterId) {
            if let Some((_, user)) = masters::with_user(conn, id)? {
                masters.insert(id, user.display_name());
            }
        }
        Ok(Named { people, masters })
    }

    fn person(&self, id: TelegramId) -> Option<String> {
        Some(
            self.people
                .get(&id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
        )
    }

    /// The name of the master or user the row is about.
    fn subject(&self, row: &AuditRow) -> Option<String> {
        let id = row.entity_id?;
        match row.entity_type.as_deref()? {
            "master" => self.masters.get(&MasterId(id)).cloned(),
            "user" => self.people.get(&TelegramId(id)).cloned(),
            _ => None,
        }
    }
}

async fn users_page(ctx: &Ctx, cursor: Option<Cursor>) -> HandlerResult {
    if !ctx.has(Role::Admin) {
        return ctx.reply(texts::NO_ACCESS, None).await;
    }
    let (page, fired) = ctx
        .app
        .db_long(move |conn| {
            let page = users::page_with_roles(conn, cursor, USERS_PAGE)?;
            let people: Vec<TelegramId> = page.items.iter().map(|(u, _)| u.telegram_id).collect();
            Ok((page, masters::fired_among(conn, &people)?))
        })
        .await?;
    let text = if page.items.is_empty() {
        texts::USERS_EMPTY.to_string()
    } else {
        let lines: Vec<String> = page
            .items
            .iter()
            .map(|(user, roles)| texts::user_line(user, roles, fired.contains(&user.telegram_id)))
            .collect();
        format!("{}\n\n{}", texts::USERS_HEADER, lines.join("\n"))
    };
    let markup = keyboards::pager(page.prev, page.next, |cursor| Callback::Users { cursor });
    ctx.show_in_place(&text, markup).await
}
