//! The tables published in a warehouse, with the Arrow schema of their Parquet files.
//!
//! The schema is read from the footer of one file per table, so it is what every reader
//! (BigQuery, DuckDB, pyarrow, DataFusion) will see, not a copy kept by hand. Every file of a
//! table is written with the same schema (`load::types`), so one footer speaks for all.

use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};

use crate::storage::Location;

/// One published table.
#[derive(Debug, Clone)]
pub struct PublishedTable {
    /// Table name (its folder under the warehouse root).
    pub name: String,
    /// The hive partition key (`dt`, `month`), or `None` for a whole table.
    pub partition: Option<String>,
    /// The columns of its Parquet files (the partition column is not in the files).
    pub file_schema: SchemaRef,
}

/// Lists the tables of `wh` (folders not starting with `_`) that hold at least one Parquet
/// file, in name order, each with its file schema.
pub async fn published_tables(wh: &Location) -> Result<Vec<PublishedTable>> {
    let root = wh
        .store
        .list_with_delimiter(Some(&wh.prefix))
        .await
        .with_context(|| format!("cannot list {}", wh.display))?;
    let mut out = Vec::new();
    for dir in root.common_prefixes {
        let Some(name) = dir.filename().map(str::to_string) else {
            continue;
        };
        if name.starts_with('_') {
            continue;
        }
        if let Some(t) = published_table(wh, &name).await? {
            out.push(t);
        }
    }
    Ok(out)
}

/// One published table by name, or `None` when `wh` holds no Parquet file of it.
pub async fn published_table(wh: &Location, name: &str) -> Result<Option<PublishedTable>> {
    let Some((partition, file)) = first_file(wh, &wh.child(name)).await? else {
        return Ok(None);
    };
    Ok(Some(PublishedTable {
        name: name.to_string(),
        partition,
        file_schema: file_schema(wh, &file).await?,
    }))
}

/// The first Parquet file of a table folder, and the partition key when it sits in a
/// `key=value` folder.
async fn first_file(wh: &Location, dir: &Path) -> Result<Option<(Option<String>, ObjectMeta)>> {
    let listing = wh
        .store
        .list_with_delimiter(Some(dir))
        .await
        .with_context(|| format!("cannot list {}", wh.show(dir)))?;
    if let Some(f) = listing.objects.into_iter().find(is_parquet) {
        return Ok(Some((None, f)));
    }
    for part in listing.common_prefixes {
        let Some((key, _)) = part.filename().and_then(|n| n.split_once('=')) else {
            continue;
        };
        let key = key.to_string();
        let files = wh
            .store
            .list_with_delimiter(Some(&part))
            .await
            .with_context(|| format!("cannot list {}", wh.show(&part)))?;
        if let Some(f) = files.objects.into_iter().find(is_parquet) {
            return Ok(Some((Some(key), f)));
        }
    }
    Ok(None)
}

fn is_parquet(m: &ObjectMeta) -> bool {
    m.location.extension() == Some("parquet")
}

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
