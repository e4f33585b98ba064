//! Parquet tables as DataFusion reads them back: a folder of files, with an optional hive
//! partition column (`dt=YYYY-MM-DD`, `month=YYYY-MM-01`) read as a DATE.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use futures::StreamExt;
use object_store::path::Path;

use crate::error::Result;
use crate::storage::Location;

/// A listing table over the Parquet files below `dir`, with an optional DATE partition column.
/// Without `file_schema`, the schema is read from the files.
pub async fn listing_table(
    state: &dyn Session,
    loc: &Location,
    dir: &Path,
    partition: Option<&str>,
    file_schema: Option<SchemaRef>,
) -> Result<ListingTable> {
    let url = ListingTableUrl::parse(format!("{}/", loc.url_of(dir)))?;
    let mut opts =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if let Some(p) = partition {
        opts = opts.with_table_partition_cols(vec![(p.to_string(), DataType::Date32)]);
    }
    let config = ListingTableConfig::new(url).with_listing_options(opts);
    let config = match file_schema {
        Some(s) => config.with_schema(s),
        None => config.infer_schema(state).await?,
    };
    Ok(ListingTable::try_new(config)?)
}

/// Whether any Parquet file lies below `dir`.
pub async fn has_parquet(loc: &Location, dir: &Path) -> Result<bool> {
    let mut list = loc.store.list(Some(dir));
    while let Some(m) = list.next().await {
        if m?
            .location
            .filename()
            .is_some_and(|n| n.ends_with(".parquet"))
        {
            return Ok(true);
        }
    }
    Ok(false)
}
