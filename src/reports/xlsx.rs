//! Report workbooks (`.xlsx`) in memory, ready to send as a document.
//!
//! Every sheet starts with a title row (what and which period) and a subtitle row (how it
//! counts, in which time zone), then a bold header row (frozen, repeated on every printed
//! page), then one line per master / equipment type / status / order and a closing "Итого"
//! line. Sheets print on A4 landscape, one page wide, with page numbers.
//!
//! Counts are number cells; money is number cells in rubles (kopecks / 100) shown with
//! [`MONEY_FORMAT`]; moments are date cells in the company's time zone. This is the only place
//! money becomes floating point: the figures stay integer kopecks up to the cell, and the
//! totals of the line sheets are summed in kopecks, not in cells.
//!
//! The order sheets can hold a busy month (hundreds of thousands of lines): they are written in
//! rust_xlsxwriter's constant-memory mode, row by row to a temporary file, so a workbook costs
//! the memory of its finished file and not of every cell.

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
pub use rust_xlsxwriter::XlsxError;
use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet};

use crate::domain::money::Payment;
use crate::domain::status::OrderStatus;
use crate::store::reports::{ActiveLine, ClosedLine, Figures, Report, StatusLine};

/// Masters' names by `masters.id` (`store::reports::master_names`).
pub type Names = std::collections::HashMap<i64, String>;

/// Two decimals with grouped thousands. Format codes are stored in the US spelling and shown
/// in the reader's locale: Russian Excel and LibreOffice display 1234567.5 as "1 234 567,50".
/// (A literal "# ##0.00" would not group above a million: "1234 567.50".)
pub const MONEY_FORMAT: &str = "#,##0.00";
const MOMENT_FORMAT: &str = "dd.mm.yyyy hh:mm";
const DAY_FORMAT: &str = "dd.mm.yyyy";

pub const MASTERS_SHEET: &str = "Мастера";
pub const EQUIPMENT_SHEET: &str = "Техника";
pub const STATUSES_SHEET: &str = "Статусы";
pub const CLOSED_SHEET: &str = "Закрытые заявки";
pub const ACTIVE_SHEET: &str = "Активные заявки";

/// The row of every sheet's column headers (0-based): the title and subtitle are above it.
pub const HEADER_ROW: RowNum = 2;

/// Column headers after the first (name) column of the masters and equipment sheets.
pub const FIGURE_HEADERS: [&str; 11] = [
    "Заявок",
    "Закрыто",
    "Отказов",
    "Сумма, ₽",
    "Материалы, ₽",
    "Чистыми, ₽",
    "Мастеру, ₽",
    "Компании, ₽",
    "Средний чек, ₽",
    "Отзывов",
    "Сдать в кассу, ₽",
];

/// Headers of the status sheet.
pub const STATUS_HEADERS: [&str; 2] = ["Статус", "Заявок"];

/// Headers of the closed orders sheet.
pub const CLOSED_HEADERS: [&str; 15] = [
    "№",
    "Закрыта",
    "Мастер",
    "Техника",
    "Адрес",
    "Оплата",
    "Сумма, ₽",
    "Материалы, ₽",
    "Чистыми, ₽",
    "Мастеру, ₽",
    "Компании, ₽",
    "Предоплата, ₽",
    "Сдать в кассу, ₽",
    "Отзыв",
    "За городом",
];

/// Headers of the active orders sheet.
pub const ACTIVE_HEADERS: [&str; 9] = [
    "№",
    "Статус",
    "Создана",
    "Мастер",
    "Техника",
    "Клиент",
    "Адрес",
    "Визит",
    "Готовность",
];

/// The first cell of each sheet's closing line.
pub const TOTAL_LABEL: &str = "Итого";
const UNASSIGNED_LABEL: &str = "Без мастера";
/// Paper size code of A4 in the spreadsheet formats.
const A4: u8 = 9;

/// What a workbook is about: its sheets' first two rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title {
    /// "Отчёт за ноябрь 2026".
    pub heading: String,
    /// How it counts and the period's dates in the company's time zone.
    pub subtitle: String,
}

/// A workbook being written: sheets are added in the order they appear.
pub struct Book {
    workbook: Workbook,
    formats: Formats,
    title: Title,
    tz: Tz,
}

impl Book {
    /// An empty workbook whose sheets will carry `title`; moments are shown in `tz`.
    pub fn new(title: Title, tz: Tz) -> Book {
        let mut workbook = Workbook::new();
        // Most of a big workbook's time is deflating its XML: level 1 halves that for a file
        // about a third bigger (rust_xlsxwriter's figures; measured in benches/reports.rs).
        workbook.set_zip_compression_level(1);
        Book {
            workbook,
            formats: Formats::new(),
            title,
            tz,
        }
    }

    /// The period's figures: sheets "Мастера", "Техника", "Статусы".
    pub fn figures(&mut self, report: &Report) -> Result<(), XlsxError> {
        let mut masters: Vec<(String, Figures)> = report
            .masters
            .iter()
            .map(|line| (figures_label(line.master_id, &line.name()), line.figures))
            .collect();
        if report.unassigned != Figures::default() {
            masters.push((UNASSIGNED_LABEL.to_string(), report.unassigned));
        }
        let (sheet, formats) = self.sheet(MASTERS_SHEET, false)?;
        figures_sheet(sheet, formats, "Мастер", &masters, report.totals)?;

        let equipment: Vec<(String, Figures)> = report
            .equipment
            .iter()
            .map(|line| (line.equipment_type.clone(), line.figures))
            .collect();
        let (sheet, formats) = self.sheet(EQUIPMENT_SHEET, false)?;
        figures_sheet(sheet, formats, "Техника", &equipment, report.totals)?;

        let (sheet, formats) = self.sheet(STATUSES_SHEET, false)?;
        statuses_sheet(sheet, formats, &report.statuses)
    }

    /// A sheet of closed orders, filled line by line ([`ClosedSheet::line`]).
    pub fn closed_sheet<'b>(&'b mut self, names: &'b Names) -> Result<ClosedSheet<'b>, XlsxError> {
        let widths = [8, 17, 24, 22, 36, 11, 13, 13, 13, 13, 13, 13, 14, 7, 10];
        let (sheet, formats, tz) = self.lines_sheet(CLOSED_SHEET, &CLOSED_HEADERS, &widths)?;
        Ok(ClosedSheet {
            sheet,
            formats,
            names,
            tz,
            row: HEADER_ROW + 1,
            totals: ClosedTotals::default(),
        })
    }

    /// A sheet of the orders open now, filled line by line ([`ActiveSheet::line`]).
    pub fn active_sheet<'b>(&'b mut self, names: &'b Names) -> Result<ActiveSheet<'b>, XlsxError> {
        let widths = [8, 22, 17, 24, 22, 24, 36, 20, 12];
        let (sheet, formats, tz) = self.lines_sheet(ACTIVE_SHEET, &ACTIVE_HEADERS, &widths)?;
        Ok(ActiveSheet {
            sheet,
            formats,
            names,
            tz,
            row: HEADER_ROW + 1,
        })
    }

    /// A new sheet with the title rows, the print setup and the header row frozen and repeated
    /// on every page. `many_lines`: written row by row in constant memory.
    fn sheet(
        &mut self,
        name: &str,
        many_lines: bool,
    ) -> Result<(&mut Worksheet, &Formats), XlsxError> {
        let Book {
            workbook,
            formats,
            title,
            ..
        } = self;
        let sheet = if many_lines {
            workbook.add_worksheet_with_constant_memory()?
        } else {
            workbook.add_worksheet()
        };
        let sheet = sheet.set_name(name)?;
        sheet.write_string_with_format(0, 0, &title.heading, &formats.title)?;
        sheet.write_string_with_format(1, 0, &title.subtitle, &formats.subtitle)?;
        sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
        sheet
            .set_paper_size(A4)
            .set_landscape()
            .set_print_fit_to_pages(1, 0)
            .set_footer("&C&P / &N");
        sheet.set_repeat_rows(HEADER_ROW, HEADER_ROW)?;
        Ok((sheet, formats))
    }

    /// A sheet of order lines: its headers and column widths.
    fn lines_sheet(
        &mut self,
        name: &str,
        headers: &[&str],
        widths: &[u16],
    ) -> Result<(&mut Worksheet, &Formats, Tz), XlsxError> {
        let tz = self.tz;
        let (sheet, formats) = self.sheet(name, true)?;
        header(sheet, formats, headers)?;
        for (col, &width) in (0..).zip(widths) {
            sheet.set_column_width(col, width)?;
        }
        Ok((sheet, formats, tz))
    }

    /// The file's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.workbook.save_to_buffer()
    }
}

/// Writes `report` alone (its figures' three sheets) and returns the file's bytes.
pub fn write(report: &Report, title: Title, tz: Tz) -> Result<Vec<u8>, XlsxError> {
    let mut book = Book::new(title, tz);
    book.figures(report)?;
    book.finish()
}

/// The closed orders sheet being written.
pub struct ClosedSheet<'a> {
    sheet: &'a mut Worksheet,
    formats: &'a Formats,
    names: &'a Names,
    tz: Tz,
    row: RowNum,
    totals: ClosedTotals,
}

#[derive(Default)]
struct ClosedTotals {
    orders: i64,
    money: [i64; 7],
    reviews: i64,
}

impl ClosedSheet<'_> {
    pub fn line(&mut self, line: &ClosedLine) -> Result<(), XlsxError> {
        let (row, f, sheet) = (self.row, self.formats, &mut *self.sheet);
        sheet.write_number_with_format(row, 0, line.id as f64, &f.plain)?;
        moment_cell(sheet, row, 1, line.closed_at, self.tz, f)?;
        if let Some(id) = line.master_id {
            sheet.write_string(row, 2, master_label(id, self.names))?;
        }
        sheet.write_string(row, 3, &line.equipment_type)?;
        sheet.write_string(row, 4, &line.client_address)?;
        sheet.write_string(row, 5, payment_name(line.payment.as_deref()))?;
        let (total, materials) = (line.total.unwrap_or(0), line.materials.unwrap_or(0));
        let money = [
            total,
            materials,
            total - materials,
            line.master_share.unwrap_or(0),
            line.company_share.unwrap_or(0),
            line.prepayment.unwrap_or(0),
            line.cash_due.unwrap_or(0),
        ];
        for ((col, kopecks), sum) in (6..).zip(money).zip(&mut self.totals.money) {
            sheet.write_number_with_format(row, col, rubles(kopecks), &f.money)?;
            *sum += kopecks;
        }
        if line.has_review {
            sheet.write_string(row, 13, "да")?;
            self.totals.reviews += 1;
        }
        if line.out_of_city {
            sheet.write_string(row, 14, "да")?;
        }
        self.totals.orders += 1;
        self.row += 1;
        Ok(())
    }

    /// The "Итого" line: how many orders, the money summed in kopecks, the reviews.
    pub fn finish(self) -> Result<(), XlsxError> {
        let (row, f, sheet) = (self.row, self.formats, self.sheet);
        sheet.write_string_with_format(row, 0, TOTAL_LABEL, &f.total_text)?;
        sheet.write_string_with_format(
            row,
            2,
            format!("Заявок: {}", self.totals.orders),
            &f.total_text,
        )?;
        for (col, kopecks) in (6..).zip(self.totals.money) {
            sheet.write_number_with_format(row, col, rubles(kopecks), &f.total_money)?;
        }
        sheet.write_number_with_format(row, 13, self.totals.reviews as f64, &f.total_count)?;
        Ok(())
    }
}

/// The active orders sheet being written.
pub struct ActiveSheet<'a> {
    sheet: &'a mut Worksheet,
    formats: &'a Formats,
    names: &'a Names,
    tz: Tz,
    row: RowNum,
}

impl ActiveSheet<'_> {
    pub fn line(&mut self, line: &ActiveLine) -> Result<(), XlsxError> {
        let (row, f, sheet) = (self.row, self.formats, &mut *self.sheet);
        sheet.write_number_with_format(row, 0, line.id as f64, &f.plain)?;
        let status: &str = match line.status.parse::<OrderStatus>() {
            Ok(status) => status_name(status),
            Err(_) => &line.status,
        };
        sheet.write_string(row, 1, status)?;
        moment_cell(sheet, row, 2, line.created_at, self.tz, f)?;
        if let Some(id) = line.master_id {
            sheet.write_string(row, 3, master_label(id, self.names))?;
        }
        sheet.write_string(row, 4, &line.equipment_type)?;
        sheet.write_string(row, 5, &line.client_name)?;
        sheet.write_string(row, 6, &line.client_address)?;
        match (line.visit_at, line.scheduled_time.as_deref()) {
            (Some(at), _) => moment_cell(sheet, row, 7, at, self.tz, f)?,
            (None, Some(typed)) => {
                sheet.write_string(row, 7, typed)?;
            }
            (None, None) => {}
        }
        if let Some(day) = line.expected_ready_on {
            sheet.write_number_with_format(row, 8, excel_day(day), &f.day)?;
        }
        self.row += 1;
        Ok(())
    }

    /// The "Итого" line: how many orders are open.
    pub fn finish(self) -> Result<(), XlsxError> {
        let (row, f, sheet) = (self.row, self.formats, self.sheet);
        sheet.write_string_with_format(row, 0, TOTAL_LABEL, &f.total_text)?;
        let count = row - HEADER_ROW - 1;
        sheet.write_string_with_format(row, 1, format!("Заявок: {count}"), &f.total_text)?;
        Ok(())
    }
}

/// Kopecks as rubles for a cell. Exact for every amount below 2^53 kopecks: the nearest
/// double to the decimal value, which is what Excel would store for the typed amount.
pub fn rubles(kopecks: i64) -> f64 {
    kopecks as f64 / 100.0
}

/// The plain Russian name of a status, as the sheets spell it.
pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "Новая",
        OrderStatus::Assigned => "Назначена",
        OrderStatus::Accepted => "Принята мастером",
        OrderStatus::Onsite => "Мастер на месте",
        OrderStatus::Dr => "Длительный ремонт",
        OrderStatus::Closed => "Закрыта",
        OrderStatus::Refused => "Отказ",
    }
}

fn payment_name(stored: Option<&str>) -> &'static str {
    match stored.and_then(|s| Payment::ALL.into_iter().find(|p| p.as_str() == s)) {
        Some(Payment::Cash) => "наличные",
        Some(Payment::Cashless) => "безнал",
        None => "",
    }
}

/// A master's name, or his number when `users` does not know it.
fn master_label(id: i64, names: &Names) -> String {
    figures_label(id, names.get(&id).map_or("", String::as_str))
}

/// A master's name, or his number when it is empty (the figures sheets' lines).
fn figures_label(id: i64, name: &str) -> String {
    if name.is_empty() {
        format!("Мастер №{id}")
    } else {
        name.to_string()
    }
}

/// Days since the spreadsheet epoch (1899-12-30): what a date cell holds.
fn excel_day(day: NaiveDate) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    (day - epoch).num_days() as f64
}

/// A UTC moment as a date-and-time cell in the company's time zone, to the minute.
fn moment_cell(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    at: NaiveDateTime,
    tz: Tz,
    f: &Formats,
) -> Result<(), XlsxError> {
    let local = at.and_utc().with_timezone(&tz).naive_local();
    // To the minute: the sheets show minutes, and whole minutes are exact in the cell.
    let minutes = local.time().num_seconds_from_midnight() / 60;
    let value = excel_day(local.date()) + f64::from(minutes) / 1_440.0;
    sheet.write_number_with_format(row, col, value, &f.moment)?;
    Ok(())
}

struct Formats {
    title: Format,
    subtitle: Format,
    header: Format,
    money: Format,
    moment: Format,
    day: Format,
    plain: Format,
    total_text: Format,
    total_money: Format,
    total_count: Format,
}

impl Formats {
    fn new() -> Self {
        let money = Format::new().set_num_format(MONEY_FORMAT);
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_italic(),
            header: Format::new().set_bold().set_text_wrap(),
            total_money: money.clone().set_bold(),
            money,
            moment: Format::new().set_num_format(MOMENT_FORMAT),
            day: Format::new().set_num_format(DAY_FORMAT),
            plain: Format::new(),
            total_text: Format::new().set_bold(),
            total_count: Format::new().set_bold(),
        }
    }
}

fn header(sheet: &mut Worksheet, formats: &Formats, titles: &[&str]) -> Result<(), XlsxError> {
    for (col, title) in (0..).zip(titles) {
        sheet.write_string_with_format(HEADER_ROW, col, *title, &formats.header)?;
    }
    Ok(())
}

/// A header row, one row per line, and the "Итого" row with `totals`.
fn figures_sheet(
    sheet: &mut Worksheet,
    formats: &Formats,
    name_header: &str,
    lines: &[(String, Figures)],
    totals: Figures,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(HEADER_ROW, 0, name_header, &formats.header)?;
    for (col, title) in (1..).zip(FIGURE_HEADERS) {
        sheet.write_string_with_format(HEADER_ROW, col, title, &formats.header)?;
    }
    sheet.set_column_width(0, 28)?;
    for col in 1..=FIGURE_HEADERS.len() as ColNum {
        sheet.set_column_width(col, 14)?;
    }

    let mut row: RowNum = HEADER_ROW + 1;
    for (name, figures) in lines {
        sheet.write_string_with_format(row, 0, name, &formats.plain)?;
        figure_cells(sheet, row, figures, &formats.plain, &formats.money)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, TOTAL_LABEL, &formats.total_text)?;
    figure_cells(
        sheet,
        row,
        &totals,
        &formats.total_count,
        &formats.total_money,
    )?;
    Ok(())
}

/// Columns 1.. of a figures row, in the order of [`FIGURE_HEADERS`].
fn figure_cells(
    sheet: &mut Worksheet,
    row: RowNum,
    f: &Figures,
    count: &Format,
    money: &Format,
) -> Result<(), XlsxError> {
    let counts = [
        (1, f.orders),
        (2, f.closed),
        (3, f.refused),
        (10, f.reviews),
    ];
    for (col, value) in counts {
        sheet.write_number_with_format(row, col, value as f64, count)?;
    }
    let amounts = [
        (4, f.total),
        (5, f.materials),
        (6, f.net()),
        (7, f.master_share),
        (8, f.company_share),
        (9, f.average_check()),
        (11, f.cash_due),
    ];
    for (col, kopecks) in amounts {
        sheet.write_number_with_format(row, col, rubles(kopecks), money)?;
    }
    Ok(())
}

fn statuses_sheet(
    sheet: &mut Worksheet,
    formats: &Formats,
    lines: &[StatusLine],
) -> Result<(), XlsxError> {
    header(sheet, formats, &STATUS_HEADERS)?;
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 12)?;

    let mut row: RowNum = HEADER_ROW + 1;
    for line in lines {
        sheet.write_string_with_format(row, 0, status_name(line.status), &formats.plain)?;
        sheet.write_number_with_format(row, 1, line.orders as f64, &formats.plain)?;
        row += 1;
    }
    let total: i64 = lines.iter().map(|line| line.orders).sum();
    sheet.write_string_with_format(row, 0, TOTAL_LABEL, &formats.total_text)?;
    sheet.write_number_with_format(row, 1, total as f64, &formats.total_count)?;
    Ok(())
}
