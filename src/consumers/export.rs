//! One published table, or the partitions of a date range of it, as a CSV or XLSX file for
//! people who work in spreadsheets.
//!
//! Rows stream from the Parquet files to the file, batch by batch, ordered by the partition
//! column (which comes first). The file appears whole or not at all: it is written beside its
//! destination and renamed into place at the end.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::error::{Context, Error, Result};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::StreamExt;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

use crate::sql::quote;
use crate::warehouse::Warehouse;

/// Spreadsheet formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values, a header line, UTF-8; timestamps in RFC 3339 UTC.
    Csv,
    /// An Excel workbook with one sheet; dates and timestamps (UTC) as Excel dates.
    Xlsx,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    /// The table's name.
    pub table: &'a str,
    /// First partition date, inclusive (ignored for a table without partitions).
    pub from: NaiveDate,
    /// Last partition date, inclusive.
    pub to: NaiveDate,
    /// The file format.
    pub format: ExportFormat,
}

/// Excel's row limit, header included.
const XLSX_MAX_ROWS: u64 = 1_048_576;

/// Writes the rows of `req` to `out` and returns how many were written.
pub async fn export(warehouse: &str, req: &ExportRequest<'_>, out: &Path) -> Result<u64> {
    let wh = Warehouse::open(warehouse)?;
    let table = wh.require(req.table).await?;
    let ctx = wh.empty_session(chrono_tz::UTC);
    wh.register(&ctx, &table).await?;
    let columns: Vec<String> = table
        .partition
        .iter()
        .cloned()
        .chain(table.file_schema.fields().iter().map(|f| f.name().clone()))
        .map(|c| quote(&c))
        .collect();
    let sql = match &table.partition {
        Some(key) => format!(
            "SELECT {} FROM {} WHERE {key} BETWEEN DATE '{}' AND DATE '{}' ORDER BY {key}",
            columns.join(", "),
            quote(req.table),
            req.from,
            req.to,
            key = quote(key),
        ),
        None => format!("SELECT {} FROM {}", columns.join(", "), quote(req.table)),
    };
    let mut stream = ctx.sql(&sql).await?.execute_stream().await?;
    let schema = stream.schema();

    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".kpi-etl-export-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut sink: Box<dyn Sink> = match req.format {
        ExportFormat::Csv => Box::new(CsvSink::new(tmp.reopen()?)),
        ExportFormat::Xlsx => Box::new(XlsxSink::new(&schema, req.table)?),
    };
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch.with_context(|| format!("while reading {}", req.table))?;
        rows += batch.num_rows() as u64;
        if req.format == ExportFormat::Xlsx && rows + 1 > XLSX_MAX_ROWS {
            return Err(Error::Usage(format!(
                "{} has more than {} rows in that range, more than a worksheet holds: export a \
                 shorter range or use --format csv",
                req.table,
                XLSX_MAX_ROWS - 1
            )));
        }
        sink.write(&batch)?;
    }
    sink.finish(tmp.path())?;
    tmp.persist(out)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(rows)
}

/// A file being written batch by batch.
trait Sink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Completes the file; `path` is where it is being written.
    fn finish(self: Box<Self>, path: &Path) -> Result<()>;
}

struct CsvSink {
    writer: datafusion::arrow::csv::Writer<BufWriter<File>>,
}

impl CsvSink {
    fn new(file: File) -> Self {
        let writer = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.6fZ".to_string())
            .build(BufWriter::new(file));
        Self { writer }
    }
}

impl Sink for CsvSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    fn finish(self: Box<Self>, _path: &Path) -> Result<()> {
        let inner = self.writer.into_inner();
        inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    }
}

/// Cell formats of the sheet.
struct XlsxFormats {
    date: Format,
    timestamp: Format,
    money: Format,
}

struct XlsxSink {
    workbook: Workbook,
    formats: XlsxFormats,
    next_row: u32,
}

impl XlsxSink {
    fn new(schema: &datafusion::arrow::datatypes::Schema, table: &str) -> Result<Self> {
        let mut workbook = Workbook::new();
        let header = Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(sheet_name(table))?;
        for (i, f) in schema.fields().iter().enumerate() {
            sheet.write_string_with_format(0, i as u16, f.name(), &header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(Self {
            workbook,
            formats: XlsxFormats {
                date: Format::new().set_num_format("yyyy-mm-dd"),
                timestamp: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
                money: Format::new().set_num_format("0.00"),
            },
            next_row: 1,
        })
    }
}

impl Sink for XlsxSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let sheet = self.workbook.worksheet_from_index(0)?;
        let text = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()))
            .collect::<Result<Vec<_>, _>>()?;
        // A constant-memory sheet is written row after row.
        for i in 0..batch.num_rows() {
            for (c, col) in batch.columns().iter().enumerate() {
                let cell = Cell {
                    row: self.next_row,
                    col: c as u16,
                };
                write_cell(sheet, &self.formats, cell, col.as_ref(), &text[c], i)?;
            }
            self.next_row += 1;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, path: &Path) -> Result<()> {
        self.workbook
            .save(path)
            .with_context(|| format!("cannot write the workbook {}", path.display()))
    }
}

/// A worksheet name: at most 31 characters.
fn sheet_name(table: &str) -> String {
    table.chars().take(31).collect()
}

/// Integers Excel holds exactly (its numbers are doubles); larger ones (surrogate keys) are
/// written as text so that no digit is lost.
const EXACT_INT: i64 = 1 << 53;

/// A cell's position.
#[derive(Clone, Copy)]
struct Cell {
    row: u32,
    col: u16,
}

/// Writes value `i` of `array` into `cell` as its Excel kind: numbers, dates and booleans as
/// such, anything else as its text.
fn write_cell(
    sheet: &mut Worksheet,
    f: &XlsxFormats,
    cell: Cell,
    array: &dyn Array,
    text: &ArrayFormatter<'_>,
    i: usize,
) -> Result<()> {
    let Cell { row, col } = cell;
    if array.is_null(i) {
        return Ok(());
    }
    match array.data_type() {
        DataType::Int64 => {
            let v = array.as_primitive::<Int64Type>().value(i);
            if v.abs() < EXACT_INT {
                sheet.write_number(row, col, v as f64)?;
            } else {
                sheet.write_string(row, col, v.to_string())?;
            }
        }
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(i);
            if v.is_finite() {
                sheet.write_number(row, col, v)?;
            } else {
                sheet.write_string(row, col, v.to_string())?;
            }
        }
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(i);
            let n = v as f64 / 10f64.powi(i32::from(*scale));
            sheet.write_number_with_format(row, col, n, &f.money)?;
        }
        DataType::Boolean => {
            sheet.write_boolean(row, col, array.as_boolean().value(i))?;
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(i);
            let d = NaiveDate::from_num_days_from_ce_opt(days + 719_163)
                .context("date out of range")?;
            sheet.write_datetime_with_format(row, col, d, &f.date)?;
        }
        DataType::Timestamp(_, _) => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(i);
            let t = chrono::DateTime::from_timestamp_micros(micros)
                .context("timestamp out of range")?
                .naive_utc();
            sheet.write_datetime_with_format(row, col, t, &f.timestamp)?;
        }
        _ => {
            sheet.write_string(row, col, text.value(i).to_string())?;
        }
    }
    Ok(())
}
