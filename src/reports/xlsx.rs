//! The period report as an `.xlsx` workbook in memory, ready to send as a document.
//!
//! Sheets "Мастера", "Техника", "Статусы", each with a bold header row (frozen), set column
//! widths, one line per master / equipment type / status and a closing "Итого" line. Counts
//! are number cells; money is number cells in rubles (kopecks / 100) shown with
//! [`MONEY_FORMAT`]. This is the only place money becomes floating point: the figures stay
//! integer kopecks up to the cell.

pub use rust_xlsxwriter::XlsxError;
use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet};

use crate::domain::status::OrderStatus;
use crate::store::reports::{Figures, Report, StatusLine};

/// Two decimals with grouped thousands. Format codes are stored in the US spelling and shown
/// in the reader's locale: Russian Excel and LibreOffice display 1234567.5 as "1 234 567,50".
/// (A literal "# ##0.00" would not group above a million: "1234 567.50".)
pub const MONEY_FORMAT: &str = "#,##0.00";

pub const MASTERS_SHEET: &str = "Мастера";
pub const EQUIPMENT_SHEET: &str = "Техника";
pub const STATUSES_SHEET: &str = "Статусы";

/// Column headers after the first (name) column of the masters and equipment sheets.
pub const FIGURE_HEADERS: [&str; 10] = [
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
];

/// Headers of the status sheet.
pub const STATUS_HEADERS: [&str; 2] = ["Статус", "Заявок"];

/// The first cell of each sheet's closing line.
pub const TOTAL_LABEL: &str = "Итого";
const UNASSIGNED_LABEL: &str = "Без мастера";

/// Writes `report` as a workbook and returns the file's bytes.
pub fn write(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();

    let sheet = workbook.add_worksheet().set_name(MASTERS_SHEET)?;
    let mut masters: Vec<(String, Figures)> = report
        .masters
        .iter()
        .map(|line| {
            let name = line.name();
            let name = if name.is_empty() {
                format!("Мастер №{}", line.master_id)
            } else {
                name
            };
            (name, line.figures)
        })
        .collect();
    if report.unassigned != Figures::default() {
        masters.push((UNASSIGNED_LABEL.to_string(), report.unassigned));
    }
    figures_sheet(sheet, &formats, "Мастер", &masters, report.totals)?;

    let sheet = workbook.add_worksheet().set_name(EQUIPMENT_SHEET)?;
    let equipment: Vec<(String, Figures)> = report
        .equipment
        .iter()
        .map(|line| (line.equipment_type.clone(), line.figures))
        .collect();
    figures_sheet(sheet, &formats, "Техника", &equipment, report.totals)?;

    let sheet = workbook.add_worksheet().set_name(STATUSES_SHEET)?;
    statuses_sheet(sheet, &formats, &report.statuses)?;

    workbook.save_to_buffer()
}

/// Kopecks as rubles for a cell. Exact for every amount below 2^53 kopecks: the nearest
/// double to the decimal value, which is what Excel would store for the typed amount.
pub fn rubles(kopecks: i64) -> f64 {
    kopecks as f64 / 100.0
}

/// The plain Russian name of a status, as the status sheet spells it.
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

struct Formats {
    header: Format,
    money: Format,
    plain: Format,
    total_text: Format,
    total_money: Format,
    total_count: Format,
}

impl Formats {
    fn new() -> Self {
        let header = Format::new().set_bold().set_text_wrap();
        let money = Format::new().set_num_format(MONEY_FORMAT);
        Formats {
            header,
            total_money: money.clone().set_bold(),
            money,
            plain: Format::new(),
            total_text: Format::new().set_bold(),
            total_count: Format::new().set_bold(),
        }
    }
}

/// A header row, one row per line, and the "Итого" row with `totals`.
fn figures_sheet(
    sheet: &mut Worksheet,
    formats: &Formats,
    name_header: &str,
    lines: &[(String, Figures)],
    totals: Figures,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(0, 0, name_header, &formats.header)?;
    for (col, title) in (1..).zip(FIGURE_HEADERS) {
        sheet.write_string_with_format(0, col, title, &formats.header)?;
    }
    sheet.set_column_width(0, 28)?;
    for col in 1..=FIGURE_HEADERS.len() as ColNum {
        sheet.set_column_width(col, 14)?;
    }
    sheet.set_freeze_panes(1, 0)?;

    let mut row: RowNum = 1;
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
    for (col, title) in (0..).zip(STATUS_HEADERS) {
        sheet.write_string_with_format(0, col, title, &formats.header)?;
    }
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 12)?;
    sheet.set_freeze_panes(1, 0)?;

    let mut row: RowNum = 1;
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
