//! The `rejects` table: one row per malformed input row of the night, partitioned by landing
//! date, written beside the models' tables.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use object_store::path::Path;

use crate::error::Result;
use crate::extract::{self, RejectSink};
use crate::load::writer::{WrittenTable, write_table_partition};
use crate::storage::Location;

/// The table's name.
pub const REJECTS_TABLE: &str = "rejects";

/// Stages the partitions of `rejects` of the night's landing dates, one per date. Each is always
/// written, even with no reject: a re-run after a fix clears the rejects of the failed attempt.
pub async fn write_rejects(
    wh: &Location,
    staging: &Path,
    sink: &RejectSink,
    dates: &[NaiveDate],
) -> Result<WrittenTable> {
    let all = sink.rejects();
    let mut written: Option<WrittenTable> = None;
    for date in dates {
        let of_date: Vec<extract::Reject> = all
            .iter()
            .filter(|r| r.landed_on == *date)
            .cloned()
            .collect();
        let w = write_partition(wh, staging, &of_date, *date).await?;
        match &mut written {
            Some(t) => t.files.extend(w.files),
            None => written = Some(w),
        }
    }
    written.ok_or_else(|| crate::error::Error::Invalid("a night has a landing date".into()))
}

/// Stages one landing date's partition of `rejects`.
async fn write_partition(
    wh: &Location,
    staging: &Path,
    rejects: &[extract::Reject],
    date: NaiveDate,
) -> Result<WrittenTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("column_name", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("dt", DataType::Date32, false),
    ]));
    let day = extract::parse::days_since_epoch(date);
    let text = |f: fn(&extract::Reject) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rejects.iter().map(f)))
    };
    let cols: Vec<ArrayRef> = vec![
        text(|r| &r.source),
        text(|r| &r.file),
        Arc::new(Int64Array::from_iter_values(
            rejects.iter().map(|r| r.line as i64),
        )),
        Arc::new(StringArray::from_iter(
            rejects.iter().map(|r| r.column.as_deref()),
        )),
        text(|r| &r.reason),
        text(|r| &r.raw),
        Arc::new(Date32Array::from(vec![day; rejects.len()])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    let file_schema = crate::load::types::warehouse_schema(REJECTS_TABLE, &schema, Some("dt"))?;
    let stream = RecordBatchStreamAdapter::new(schema, futures::stream::iter(vec![Ok(batch)]));
    let file =
        write_table_partition(Box::pin(stream), wh, staging, REJECTS_TABLE, "dt", day).await?;
    Ok(WrittenTable {
        file_schema,
        files: vec![file],
    })
}
