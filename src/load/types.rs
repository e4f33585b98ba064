//! The Parquet types BigQuery reads without surprises (warehouse.md, "Layout and types").
//!
//! Timestamps become TIMESTAMP(MICROS, UTC-adjusted), dates Date32, decimals DECIMAL(18,2),
//! integers INT64 (never unsigned), floats DOUBLE, text UTF-8. Any other type is an error naming
//! the table and column, so nothing BigQuery would misread is ever published.

use std::sync::Arc;

use crate::error::{Error, Result};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

/// The warehouse type for a column of type `dt`.
pub fn warehouse_type(table: &str, column: &str, dt: &DataType) -> Result<DataType> {
    Ok(match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Boolean => DataType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DataType::Int64,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => DataType::Int64,
        DataType::UInt64 => DataType::Int64,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DataType::Float64,
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => DataType::Decimal128(18, 2),
        DataType::Dictionary(_, v) => warehouse_type(table, column, v)?,
        DataType::List(f) | DataType::LargeList(f) => DataType::List(Arc::new(Field::new(
            "element",
            warehouse_type(table, column, f.data_type())?,
            true,
        ))),
        DataType::Null => DataType::Utf8,
        other => {
            return Err(Error::Invalid(format!(
                "{table}.{column}: type {other} has no BigQuery-safe Parquet form"
            )));
        }
    })
}

/// The warehouse schema of a query result, without the partition column.
pub fn warehouse_schema(
    table: &str,
    schema: &Schema,
    partition: Option<&str>,
) -> Result<SchemaRef> {
    let mut fields = Vec::new();
    for f in schema.fields() {
        if Some(f.name().as_str()) == partition {
            continue;
        }
        let dt = warehouse_type(table, f.name(), f.data_type())?;
        fields.push(Field::new(f.name(), dt, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Casts `batch` to `target` (matching columns by name; the partition column is dropped).
pub fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let mut cols = Vec::with_capacity(target.fields().len());
    for f in target.fields() {
        let col = batch
            .column_by_name(f.name())
            .ok_or_else(|| Error::Invalid(format!("column {} missing from a batch", f.name())))?;
        cols.push(if col.data_type() == f.data_type() {
            col.clone()
        } else {
            cast(col, f.data_type())?
        });
    }
    Ok(RecordBatch::try_new(target.clone(), cols)?)
}
