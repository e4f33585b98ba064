//! Asterisk `cdr_csv` Master.csv: headerless, quoted strings, bare integers, local wall-clock
//! times, invalid UTF-8 possible in `clid`.
//!
//! The column layout is configurable (installations switch `loguniqueid`, `loguserfield` and
//! `newcdrcolumns`); the default is the 21-column layout of the raw contract
//! ([`crate::config::DEFAULT_CDR_COLUMNS`]). Fields of the layout
//! that this reader does not know are skipped; known fields absent from the layout are null.

use datafusion::arrow::datatypes::SchemaRef;

use super::columns::{BatchBuilder, Kind, Value, schema_of};
use super::parse;
use super::{FileContext, FormatReader, ReadError, Reject};
use crate::extract::open::FileReader;

/// Every field the reader knows, with its kind, in output order.
const FIELDS: [(&str, Kind); 21] = [
    ("accountcode", Kind::Utf8),
    ("src", Kind::Utf8),
    ("dst", Kind::Utf8),
    ("dcontext", Kind::Utf8),
    ("clid", Kind::Utf8),
    ("channel", Kind::Utf8),
    ("dstchannel", Kind::Utf8),
    ("lastapp", Kind::Utf8),
    ("lastdata", Kind::Utf8),
    ("start", Kind::TimestampLocal),
    ("answer", Kind::TimestampLocal),
    ("end", Kind::TimestampLocal),
    ("duration", Kind::Int64),
    ("billsec", Kind::Int64),
    ("disposition", Kind::Utf8),
    ("amaflags", Kind::Utf8),
    ("uniqueid", Kind::Utf8),
    ("userfield", Kind::Utf8),
    ("peeraccount", Kind::Utf8),
    ("linkedid", Kind::Utf8),
    ("sequence", Kind::Int64),
];

/// Fields a row cannot do without: a row with one of them empty or unparseable is rejected.
const REQUIRED: [&str; 5] = ["start", "end", "duration", "billsec", "uniqueid"];

/// Reads Master.csv files.
#[derive(Debug)]
pub struct CdrReader {
    /// For each column of the file, the index of the output field it fills (None: skipped).
    layout: Vec<Option<usize>>,
    schema: SchemaRef,
}

impl CdrReader {
    /// A reader for files whose columns are `columns`, in order.
    pub fn new(columns: &[String]) -> Result<Self, String> {
        let layout: Vec<Option<usize>> = columns
            .iter()
            .map(|c| FIELDS.iter().position(|(n, _)| n.eq_ignore_ascii_case(c)))
            .collect();
        for req in REQUIRED {
            let i = FIELDS
                .iter()
                .position(|(n, _)| *n == req)
                .expect("known field");
            if !layout.contains(&Some(i)) {
                return Err(format!(
                    "the CDR column list lacks the required column {req}"
                ));
            }
        }
        let mut fields: Vec<(&str, Kind)> = FIELDS.to_vec();
        fields.push(("uniqueid_epoch", Kind::Int64));
        fields.push(("source_line", Kind::Int64));
        Ok(Self {
            layout,
            schema: schema_of(&fields),
        })
    }
}

/// The creation time (Unix seconds) at the start of a uniqueid: `1795684502.17` or
/// `pbx1-1795684502.17`.
pub fn uniqueid_epoch(uniqueid: &str) -> Option<i64> {
    let tail = uniqueid.rsplit('-').next()?;
    let secs = tail.split('.').next()?;
    secs.parse().ok()
}

impl FormatReader for CdrReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(
        &self,
        input: FileReader,
        ctx: &FileContext,
        emit: &mut dyn FnMut(&mut BatchBuilder) -> Result<(), ReadError>,
    ) -> Result<u64, ReadError> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(crate::extract::open::CrlfToLf::new(input));
        let mut out = BatchBuilder::new(self.schema.clone());
        let mut record = csv::ByteRecord::new();
        let mut row = vec![Value::Null; FIELDS.len() + 2];
        let mut rows = 0u64;
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(ctx.csv_error(e)),
            }
            ctx.check_text(&record)?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                continue; // blank line
            }
            if record.len() != self.layout.len() {
                ctx.reject(Reject::at(
                    ctx,
                    line,
                    None,
                    format!(
                        "expected {} columns, found {}",
                        self.layout.len(),
                        record.len()
                    ),
                    &raw_line(&record),
                ));
                continue;
            }
            row.iter_mut().for_each(|v| *v = Value::Null);
            match self.parse_row(&record, &mut row) {
                Ok(()) => {
                    row[FIELDS.len() + 1] = Value::Int(line as i64);
                    out.push(&row);
                    rows += 1;
                    if out.len() >= ctx.batch_size {
                        emit(&mut out)?;
                    }
                }
                Err((col, reason)) => {
                    ctx.reject(Reject::at(ctx, line, Some(col), reason, &raw_line(&record)))
                }
            }
        }
        if !out.is_empty() {
            emit(&mut out)?;
        }
        Ok(rows)
    }
}

impl CdrReader {
    fn parse_row(
        &self,
        record: &csv::ByteRecord,
        row: &mut [Value],
    ) -> Result<(), (String, String)> {
        for (field, slot) in record.iter().zip(&self.layout) {
            let Some(i) = *slot else { continue };
            let (name, kind) = FIELDS[i];
            let text = String::from_utf8_lossy(field);
            let value = match kind {
                Kind::TimestampLocal => parse::local_datetime(&text),
                Kind::Int64 => parse::integer(&text),
                _ => Ok(Value::Str(text.into_owned())),
            }
            .map_err(|reason| (name.to_string(), reason))?;
            row[i] = value;
        }
        for req in REQUIRED {
            let i = FIELDS
                .iter()
                .position(|(n, _)| *n == req)
                .expect("known field");
            if matches!(row[i], Value::Null) || matches!(&row[i], Value::Str(s) if s.is_empty()) {
                return Err((req.to_string(), format!("{req} is empty")));
            }
        }
        let uniqueid = match &row[16] {
            Value::Str(s) => s.clone(),
            _ => String::new(),
        };
        row[FIELDS.len()] = uniqueid_epoch(&uniqueid)
            .map(Value::Int)
            .unwrap_or(Value::Null);
        // Layouts without linkedid: each row is its own call.
        if matches!(row[19], Value::Null) {
            row[19] = Value::Str(uniqueid);
        }
        Ok(())
    }
}

/// The record as a comma-joined line, for the rejects table.
fn raw_line(record: &csv::ByteRecord) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in record.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f);
    }
    out
}
