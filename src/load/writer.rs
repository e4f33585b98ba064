//! The one writer of the warehouse: a query's result stream into hive-partitioned Parquet.
//!
//! Each partition is exactly one file, `<table>/<col>=<value>/part-00000.parquet` (or
//! `<table>/part-00000.parquet` unpartitioned), so replacing a partition is replacing one object,
//! which every object store does atomically. Files are written under a staging prefix first and
//! moved into place by [`super::publish`] only when the whole run has succeeded. Rows stream
//! through: one open Parquet writer per partition seen, each flushing row groups as they fill.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Context, Error, Result};
use datafusion::arrow::array::{Array, AsArray, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::{DataType, Date32Type, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;

use super::types::{conform, warehouse_schema};
use crate::storage::{Location, join};

/// The file name of every partition.
pub const PART_FILE: &str = "part-00000.parquet";

/// One partition file written.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// Partition folder relative to the table (`dt=2026-11-26`), empty when unpartitioned.
    pub partition: String,
    /// Rows in the file.
    pub rows: u64,
}

/// What [`write_table`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenTable {
    /// The schema of the files (partition column excluded).
    pub file_schema: SchemaRef,
    /// The files, by partition.
    pub files: Vec<WrittenFile>,
}

impl WrittenTable {
    /// Total rows written.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
}

/// Writer settings: ZSTD, microsecond timestamps, Parquet-spec list names, bounded row groups.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("valid zstd level"),
        ))
        .set_coerce_types(true)
        .set_max_row_group_row_count(Some(128 * 1024))
        .set_created_by("kpi-etl".to_string())
        .build()
}

/// The partition folder name for a partition value (`dt=2026-11-26`).
pub fn partition_dir(column: &str, days: i32) -> String {
    format!(
        "{column}={}",
        crate::sql::date_of_days(days).format("%Y-%m-%d")
    )
}

/// Streams `input` into `<root>/<table>/...` of `dest`, one file per value of `partition`.
///
/// An empty input writes an empty unpartitioned table but no partition at all.
pub async fn write_table(
    mut input: SendableRecordBatchStream,
    dest: &Location,
    root: &Path,
    table: &str,
    partition: Option<&str>,
) -> Result<WrittenTable> {
    let schema = input.schema();
    let file_schema = warehouse_schema(table, &schema, partition)?;
    let part_idx = match partition {
        Some(p) => {
            let i = schema
                .index_of(p)
                .with_context(|| format!("{table} has no partition column {p}"))?;
            if schema.field(i).data_type() != &DataType::Date32 {
                return Err(Error::Invalid(format!(
                    "{table}.{p} must be a DATE, found {}",
                    schema.field(i).data_type()
                )));
            }
            Some(i)
        }
        None => None,
    };
    let table_dir = join(root, table);
    let mut writers: BTreeMap<String, (AsyncArrowWriter<BufWriter>, u64)> = BTreeMap::new();
    let open = |rel: &str| -> Result<AsyncArrowWriter<BufWriter>> {
        let path = join(&table_dir, &format!("{rel}/{PART_FILE}"));
        let sink = BufWriter::with_capacity(dest.store.clone(), path, 8 * 1024 * 1024);
        Ok(AsyncArrowWriter::try_new(
            sink,
            file_schema.clone(),
            Some(writer_properties()),
        )?)
    };
    while let Some(batch) = input.next().await {
        let batch = batch.with_context(|| format!("while computing {table}"))?;
        if batch.num_rows() == 0 {
            continue;
        }
        match part_idx {
            None => {
                let w = match writers.get_mut("") {
                    Some(w) => w,
                    None => writers.entry(String::new()).or_insert((open("")?, 0)),
                };
                w.0.write(&conform(&batch, &file_schema)?).await?;
                w.1 += batch.num_rows() as u64;
            }
            Some(i) => {
                let col = batch.column(i).as_primitive::<Date32Type>();
                if col.null_count() > 0 {
                    return Err(Error::Invalid(format!(
                        "{table}: a row has a NULL {}",
                        partition.unwrap_or_default()
                    )));
                }
                let mut groups: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
                for (row, v) in col.values().iter().enumerate() {
                    groups.entry(*v).or_default().push(row as u32);
                }
                for (value, rows) in groups {
                    let rel = partition_dir(partition.unwrap_or_default(), value);
                    let part = if rows.len() == batch.num_rows() {
                        batch.clone()
                    } else {
                        take_record_batch(&batch, &UInt32Array::from(rows))?
                    };
                    if !writers.contains_key(&rel) {
                        let w = open(&rel)?;
                        writers.insert(rel.clone(), (w, 0));
                    }
                    let w = writers.get_mut(&rel).expect("just inserted");
                    w.0.write(&conform(&part, &file_schema)?).await?;
                    w.1 += part.num_rows() as u64;
                }
            }
        }
    }
    if part_idx.is_none() && writers.is_empty() {
        writers.insert(String::new(), (open("")?, 0));
    }
    let mut files = Vec::new();
    for (partition, (w, rows)) in writers {
        w.close()
            .await
            .with_context(|| format!("cannot finish writing {table}/{partition}"))?;
        files.push(WrittenFile { partition, rows });
    }
    Ok(WrittenTable {
        file_schema: Arc::clone(&file_schema),
        files,
    })
}

/// Writes `input` as the whole content of one partition (`<column>=<day>`), even when it holds
/// no rows: an empty file replaces the partition with nothing.
pub async fn write_table_partition(
    mut input: SendableRecordBatchStream,
    dest: &Location,
    root: &Path,
    table: &str,
    column: &str,
    day: i32,
) -> Result<WrittenFile> {
    let file_schema = warehouse_schema(table, &input.schema(), Some(column))?;
    let rel = partition_dir(column, day);
    let path = join(root, &format!("{table}/{rel}/{PART_FILE}"));
    let sink = BufWriter::with_capacity(dest.store.clone(), path, 8 * 1024 * 1024);
    let mut w = AsyncArrowWriter::try_new(sink, file_schema.clone(), Some(writer_properties()))?;
    let mut rows = 0u64;
    while let Some(batch) = input.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        w.write(&conform(&batch, &file_schema)?).await?;
    }
    w.close()
        .await
        .with_context(|| format!("cannot finish writing {table}/{rel}"))?;
    Ok(WrittenFile {
        partition: rel,
        rows,
    })
}
