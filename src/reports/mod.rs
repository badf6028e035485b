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
use crate::store::reports::{self, Report};
use xlsx::{Book, Names, Title, XlsxError};

/// Why a report file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("reading the report's figures: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("writing the report's workbook: {0}")]
    Workbook(#[from] XlsxError),
}

/// The period report `[from, to)` (UTC): the figures per master, equipment type and status, a
/// line per order closed in the period, and every order open now. The figures come back too,
/// as read for the file, for a message beside it.
pub fn period_file(
    conn: &mut SqliteConnection,
    range: (NaiveDateTime, NaiveDateTime),
    title: Title,
    tz: Tz,
) -> Result<(Report, Vec<u8>), FileError> {
    conn.transaction(|conn| {
        let report = reports::report(conn, range.0, range.1)?;
        let names = reports::master_names(conn)?;
        let mut book = Book::new(title, tz);
        book.figures(&report)?;
        closed_sheet(conn, &mut book, &names, range, None)?;
        active_sheet(conn, &mut book, &names)?;
        Ok((report, book.finish()?))
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
        let names = reports::master_names(conn)?;
        let mut book = Book::new(title, tz);
        closed_sheet(conn, &mut book, &names, range, Some(master))?;
        Ok(book.finish()?)
    })
}

/// Every order open now, alone: the active-orders export (`benches/reports.rs` measures it).
pub fn active_file(
    conn: &mut SqliteConnection,
    title: Title,
    tz: Tz,
) -> Result<Vec<u8>, FileError> {
    conn.transaction(|conn| {
        let names = reports::master_names(conn)?;
        let mut book = Book::new(title, tz);
        active_sheet(conn, &mut book, &names)?;
        Ok(book.finish()?)
    })
}

fn closed_sheet(
    conn: &mut SqliteConnection,
    book: &mut Book,
    names: &Names,
    range: (NaiveDateTime, NaiveDateTime),
    master: Option<MasterId>,
) -> Result<(), FileError> {
    let mut sheet = book.closed_sheet(names)?;
    reports::each_closed_line(conn, range, master, |line| {
        Ok::<_, FileError>(sheet.line(line)?)
    })?;
    Ok(sheet.finish()?)
}

fn active_sheet(
    conn: &mut SqliteConnection,
    book: &mut Book,
    names: &Names,
) -> Result<(), FileError> {
    let mut sheet = book.active_sheet(names)?;
    reports::each_active_line(conn, |line| Ok::<_, FileError>(sheet.line(line)?))?;
    Ok(sheet.finish()?)
}
