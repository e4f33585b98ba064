//! Asterisk queue_log: `epoch|callid|queuename|agent|event|data1|...|data5`, pipe separated, no
//! header, no quoting, trailing fields optional.
//!
//! The reader checks that the numeric data fields of the events the KPIs use are integers (a
//! CONNECT whose holdtime is not a number is rejected, not read as zero) and keeps them as text;
//! staging gives them their meaning per event.

use std::io::BufRead;

use datafusion::arrow::datatypes::SchemaRef;

use super::columns::{BatchBuilder, Kind, Value, schema_of};
use super::parse;
use super::{FileContext, FormatReader, ReadError, Reject};
use crate::extract::open::FileReader;

const FIELDS: [(&str, Kind); 11] = [
    ("event_time", Kind::TimestampUtc),
    ("callid", Kind::Utf8),
    ("queuename", Kind::Utf8),
    ("agent", Kind::Utf8),
    ("event", Kind::Utf8),
    ("data1", Kind::Utf8),
    ("data2", Kind::Utf8),
    ("data3", Kind::Utf8),
    ("data4", Kind::Utf8),
    ("data5", Kind::Utf8),
    ("source_line", Kind::Int64),
];

/// Which data fields (1-based) of an event must be integers when present.
fn numeric_data(event: &str) -> &'static [usize] {
    match event {
        "ENTERQUEUE" => &[3],
        "CONNECT" => &[1, 3],
        "COMPLETECALLER" | "COMPLETEAGENT" => &[1, 2, 3],
        "BLINDTRANSFER" | "ATTENDEDTRANSFER" => &[3, 4],
        "ABANDON" | "EXITWITHTIMEOUT" | "EXITEMPTY" => &[1, 2, 3],
        "EXITWITHKEY" => &[2, 3, 4],
        "RINGNOANSWER" => &[1],
        _ => &[],
    }
}

/// Reads queue_log files.
#[derive(Debug)]
pub struct QueueLogReader {
    schema: SchemaRef,
}

impl Default for QueueLogReader {
    fn default() -> Self {
        Self {
            schema: schema_of(&FIELDS),
        }
    }
}

impl FormatReader for QueueLogReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(
        &self,
        mut input: FileReader,
        ctx: &FileContext,
        emit: &mut dyn FnMut(&mut BatchBuilder) -> Result<(), ReadError>,
    ) -> Result<u64, ReadError> {
        let mut out = BatchBuilder::new(self.schema.clone());
        let mut buf = Vec::with_capacity(256);
        let mut row = vec![Value::Null; FIELDS.len()];
        let (mut line, mut rows) = (0u64, 0u64);
        loop {
            buf.clear();
            let n = input
                .read_until(b'\n', &mut buf)
                .map_err(|e| ctx.io_error(e))?;
            if n == 0 {
                break;
            }
            line += 1;
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.trim().is_empty() {
                continue;
            }
            match parse_line(text, &mut row) {
                Ok(()) => {
                    row[10] = Value::Int(line as i64);
                    out.push(&row);
                    rows += 1;
                    if out.len() >= ctx.batch_size {
                        emit(&mut out)?;
                    }
                }
                Err((col, reason)) => {
                    ctx.reject(Reject::at(ctx, line, Some(col.to_string()), reason, &buf))
                }
            }
        }
        if !out.is_empty() {
            emit(&mut out)?;
        }
        Ok(rows)
    }
}

fn parse_line(text: &str, row: &mut [Value]) -> Result<(), (&'static str, String)> {
    let parts: Vec<&str> = text.split('|').collect();
    if parts.len() < 5 {
        return Err((
            "event",
            format!("expected at least 5 fields, found {}", parts.len()),
        ));
    }
    if parts.len() > 10 {
        return Err((
            "data5",
            format!("expected at most 10 fields, found {}", parts.len()),
        ));
    }
    row[0] = parse::epoch_seconds(parts[0]).map_err(|r| ("epoch", r))?;
    for (i, slot) in row.iter_mut().enumerate().take(10).skip(1) {
        *slot = match parts.get(i) {
            Some(s) => Value::Str((*s).to_string()),
            None => Value::Null,
        };
    }
    const DATA_NAMES: [&str; 5] = ["data1", "data2", "data3", "data4", "data5"];
    for &d in numeric_data(parts[4]) {
        if let Some(s) = parts.get(4 + d).filter(|s| !s.is_empty())
            && s.parse::<i64>().is_err()
        {
            return Err((
                DATA_NAMES[d - 1],
                format!(
                    "{} of {} is not an integer: {s:?}",
                    DATA_NAMES[d - 1],
                    parts[4]
                ),
            ));
        }
    }
    Ok(())
}
