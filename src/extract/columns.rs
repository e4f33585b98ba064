//! Building Arrow record batches row by row, with the column kinds the raw readers emit.
//!
//! A reader first parses a whole row into [`Value`]s (so a malformed row is rejected whole, never
//! half-appended), then pushes it into a [`BatchBuilder`], which flushes every `batch_size` rows.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

/// The kinds of column a raw reader emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Utf8,
    /// 64-bit integer.
    Int64,
    /// Boolean.
    Bool,
    /// Calendar date (Date32).
    Date,
    /// An instant: Timestamp(µs, "UTC").
    TimestampUtc,
    /// A wall-clock time with no zone: Timestamp(µs, none). Converted to UTC in staging.
    TimestampLocal,
    /// Money: Decimal(18,2).
    Money,
}

impl Kind {
    /// The Arrow type of this kind.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Utf8 => DataType::Utf8,
            Kind::Int64 => DataType::Int64,
            Kind::Bool => DataType::Boolean,
            Kind::Date => DataType::Date32,
            Kind::TimestampUtc => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::TimestampLocal => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::Money => DataType::Decimal128(18, 2),
        }
    }
}

/// One parsed field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null / empty.
    Null,
    /// Text.
    Str(String),
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since the epoch (UTC or wall clock, per the column's kind).
    Micros(i64),
    /// Hundredths of the currency unit.
    Cents(i128),
}

/// Builds a schema of nullable fields from names and kinds.
pub fn schema_of(fields: &[(&str, Kind)]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|(n, k)| Field::new(*n, k.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

enum Col {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder, Option<Arc<str>>),
    Money(Decimal128Builder),
}

impl Col {
    fn new(dt: &DataType) -> Self {
        match dt {
            DataType::Utf8 => Col::Utf8(StringBuilder::new()),
            DataType::Int64 => Col::Int64(Int64Builder::new()),
            DataType::Boolean => Col::Bool(BooleanBuilder::new()),
            DataType::Date32 => Col::Date(Date32Builder::new()),
            DataType::Timestamp(_, tz) => Col::Ts(TimestampMicrosecondBuilder::new(), tz.clone()),
            DataType::Decimal128(_, _) => Col::Money(Decimal128Builder::new()),
            other => unreachable!("raw readers do not emit {other}"),
        }
    }

    fn push(&mut self, v: &Value) {
        match (self, v) {
            (Col::Utf8(b), Value::Str(s)) => b.append_value(s),
            (Col::Utf8(b), Value::Null) => b.append_null(),
            (Col::Int64(b), Value::Int(i)) => b.append_value(*i),
            (Col::Int64(b), Value::Null) => b.append_null(),
            (Col::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (Col::Bool(b), Value::Null) => b.append_null(),
            (Col::Date(b), Value::Date(d)) => b.append_value(*d),
            (Col::Date(b), Value::Null) => b.append_null(),
            (Col::Ts(b, _), Value::Micros(t)) => b.append_value(*t),
            (Col::Ts(b, _), Value::Null) => b.append_null(),
            (Col::Money(b), Value::Cents(c)) => b.append_value(*c),
            (Col::Money(b), Value::Null) => b.append_null(),
            (_, v) => unreachable!("value {v:?} pushed into a column of another kind"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Utf8(b) => Arc::new(b.finish()),
            Col::Int64(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Ts(b, tz) => Arc::new(b.finish().with_timezone_opt(tz.clone())),
            Col::Money(b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(18, 2)
                    .expect("valid decimal(18,2)"),
            ),
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Utf8(b) => b.len(),
            Col::Int64(b) => b.len(),
            Col::Bool(b) => b.len(),
            Col::Date(b) => b.len(),
            Col::Ts(b, _) => b.len(),
            Col::Money(b) => b.len(),
        }
    }
}

/// Accumulates parsed rows into record batches of one schema.
pub struct BatchBuilder {
    schema: SchemaRef,
    cols: Vec<Col>,
}

impl BatchBuilder {
    /// A builder for `schema` (whose types must be those of [`Kind`]).
    pub fn new(schema: SchemaRef) -> Self {
        let cols = schema
            .fields()
            .iter()
            .map(|f| Col::new(f.data_type()))
            .collect();
        Self { schema, cols }
    }

    /// Appends one row; `row` has one value per field, in schema order.
    pub fn push(&mut self, row: &[Value]) {
        debug_assert_eq!(row.len(), self.cols.len());
        for (c, v) in self.cols.iter_mut().zip(row) {
            c.push(v);
        }
    }

    /// Rows buffered since the last flush.
    pub fn len(&self) -> usize {
        self.cols.first().map(Col::len).unwrap_or(0)
    }

    /// True when no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the buffered rows as a batch.
    pub fn finish(&mut self) -> RecordBatch {
        let arrays = self.cols.iter_mut().map(Col::finish).collect();
        RecordBatch::try_new(self.schema.clone(), arrays).expect("columns match the schema")
    }
}
