//! Reports as files: the figures and lines of `store::reports` written out for people to open.
//! Money turns into floating-point rubles only here, at the file boundary.
//!
//! Each file is read in one transaction (its sheets agree with each other), page by page (a
//! busy month's lines never sit in memory at once), and written by [`xlsx::Book`].

/// Workbooks in memory.
pub mod xlsx;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::domain::ids::MasterId;
use crate::domain::status::OrderStatus;
use crate::store::reports::{self, ClosedLine};
use xlsx::{Book, Title, XlsxError};

/// Lines read from the database at a time.
const PAGE: i64 = 2_000;

/// Why a report file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("reading the report's figures: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("writing the report's workbook: {0}")]
    Workbook(#[from] XlsxError),
}

/// The period report `[from, to)` (UTC): the figures per master, equipment type and status, a
/// line per order closed in the period, and every order open now.
pub fn period_file(
    conn: &mut SqliteConnection,
    range: (NaiveDateTime, NaiveDateTime),
    title: Title,
    tz: Tz,
) -> Result<Vec<u8>, FileError> {
    conn.transaction(|conn| {
        let report = reports::report(conn, range.0, range.1)?;
        let mut book = Book::new(title, tz);
        book.figures(&report)?;
        closed_sheet(conn, &mut book, range, None)?;
        active_sheet(conn, &mut book)?;
        Ok(book.finish()?)
    })
}

/// A master's statement for `[from, to)`: a line per order he closed in it, with his share and
/// what he owes the company, and the totals.
pub fn statement_file(
    conn: &mut SqliteConnection,
    master: MasterId,
    range: (NaiveDateTime, NaiveDateTime),
    title: Title,
    tz: Tz,
) -> Result<Vec<u8>, FileError> {
    conn.transaction(|conn| {
        let mut book = Book::new(title, tz);
        closed_sheet(conn, &mut book, range, Some(master))?;
        Ok(book.finish()?)
    })
}

fn closed_sheet(
    conn: &mut SqliteConnection,
    book: &mut Book,
    range: (NaiveDateTime, NaiveDateTime),
    master: Option<MasterId>,
) -> Result<(), FileError> {
    let names = reports::master_names(conn)?;
    let mut sheet = book.closed_sheet(&names)?;
    let mut after = None;
    loop {
        let page: Vec<ClosedLine> = reports::closed_lines(conn, range, master, after, PAGE)?;
        for line in &page {
            sheet.line(line)?;
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.cursor()),
            _ => break,
        }
    }
    Ok(sheet.finish()?)
}

fn active_sheet(conn: &mut SqliteConnection, book: &mut Book) -> Result<(), FileError> {
    let names = reports::master_names(conn)?;
    let mut sheet = book.active_sheet(&names)?;
    for status in OrderStatus::ALL.into_iter().filter(|s| s.is_open()) {
        let mut after = i64::MIN;
        loop {
            let page = reports::active_lines(conn, status, after, PAGE)?;
            for line in &page {
                sheet.line(line)?;
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = last.id,
                _ => break,
            }
        }
    }
    Ok(sheet.finish()?)
}

/// Every order open now, alone: the active-orders export.
pub fn active_file(
    conn: &mut SqliteConnection,
    title: Title,
    tz: Tz,
) -> Result<Vec<u8>, FileError> {
    conn.transaction(|conn| {
        let mut book = Book::new(title, tz);
        active_sheet(conn, &mut book)?;
        Ok(book.finish()?)
    })
}
