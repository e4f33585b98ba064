//! `kpi-etl export`: a table's partitions as a spreadsheet.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use kpi_etl::consumers::export::{ExportFormat, ExportRequest};

use super::global::{Global, check_range};
use super::output::out;

/// Spreadsheet file formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// Export a published table, or a date range of it, as CSV or XLSX for spreadsheets.
///
/// The partition column (dt or month) comes first and the rows are ordered by it; --from and
/// --to select partitions (ignored for a table without partitions). Timestamps are UTC.
///
/// Example: kpi-etl export --table kpi_sales_daily --from 2026-10-01 --to 2026-10-31 --format xlsx --out october.xlsx
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The table.
    #[arg(long)]
    pub table: String,
    /// First partition date (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: NaiveDate,
    /// Last partition date, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: NaiveDate,
    /// File format.
    #[arg(long, value_enum, default_value_t = FileFormat::Csv)]
    pub format: FileFormat,
    /// Output file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

impl ExportArgs {
    /// Writes the file and says how many rows it holds.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        check_range(self.from, self.to)?;
        let req = ExportRequest {
            table: &self.table,
            from: self.from,
            to: self.to,
            format: match self.format {
                FileFormat::Csv => ExportFormat::Csv,
                FileFormat::Xlsx => ExportFormat::Xlsx,
            },
        };
        let rows = kpi_etl::consumers::export::export(g.warehouse()?, &req, &self.out).await?;
        out!(
            "wrote {rows} rows of {} to {}",
            self.table,
            self.out.display()
        )?;
        Ok(())
    }
}
