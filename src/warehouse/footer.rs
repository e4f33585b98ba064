//! The schema of a published table, read from the footer of one of its Parquet files.
//!
//! It is what every reader (BigQuery, DuckDB, pyarrow, DataFusion) will see, not a copy kept by
//! hand. Every file of a table is written with the same schema (`load::types`), so one footer
//! speaks for all.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use object_store::{ObjectMeta, ObjectStoreExt};

use crate::error::{Context, Result};
use crate::storage::Location;

/// The Arrow schema stored in a Parquet file's footer, read with one or two range requests.
pub async fn file_schema(wh: &Location, file: &ObjectMeta) -> Result<SchemaRef> {
    let shown = || wh.show(&file.location);
    let size = file.size;
    let mut want = size.min(64 * 1024);
    let mut reader = ParquetMetaDataReader::new();
    loop {
        let tail = wh
            .store
            .get_range(&file.location, size - want..size)
            .await
            .with_context(|| format!("cannot read {}", shown()))?;
        match reader.try_parse_sized(&tail, size) {
            Ok(()) => break,
            Err(ParquetError::NeedMoreData(n)) if (n as u64) > want && (n as u64) <= size => {
                want = n as u64
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the Parquet footer of {}", shown()));
            }
        }
    }
    let metadata = reader
        .finish()
        .with_context(|| format!("cannot read the Parquet footer of {}", shown()))?;
    let meta = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(meta.schema_descr(), meta.key_value_metadata())
        .with_context(|| format!("{}: no Arrow schema", shown()))?;
    Ok(Arc::new(schema))
}
