//! Reports as files: the figures of `store::reports` written out for people to open.
//! Money turns into floating-point rubles only here, at the file boundary.

/// The period report as an Excel workbook, in memory.
pub mod xlsx;
