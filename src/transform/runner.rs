//! Runs the models of one night in dependency order.
//!
//! For each model the runner computes the night's rows, works out which partitions they touch,
//! combines them with what the warehouse already holds there (`merge`) or takes them as the new
//! content (`replace`), and writes the result to the run's staging area. Downstream models then
//! read the model's table as "staged partitions, plus published partitions the night did not
//! touch", so they see the night's result before anything is published.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use object_store::path::Path;

use super::model::{Model, Strategy};
use crate::error::from_datafusion;
use crate::load::writer::{WrittenTable, partition_dir, write_table};
use crate::storage::{Location, join};

/// What running one model did.
#[derive(Debug, Clone)]
pub struct ModelResult {
    /// The model (table) name.
    pub model: String,
    /// Rows the model's query produced this night.
    pub new_rows: u64,
    /// What was written to staging.
    pub written: WrittenTable,
    /// Wall time in milliseconds.
    pub millis: u128,
}

/// Runs models against one warehouse, staging their output under `staging`.
pub struct Runner<'a> {
    /// The session holding raw tables and functions.
    pub ctx: &'a SessionContext,
    /// The published warehouse.
    pub warehouse: &'a Location,
    /// This run's staging prefix (in the warehouse's store).
    pub staging: Path,
    /// Local scratch space for intermediate results.
    pub scratch: &'a Location,
}

fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

impl Runner<'_> {
    /// Runs `models` (already in dependency order).
    pub async fn run_all(&self, models: &[Model]) -> Result<Vec<ModelResult>> {
        let mut out = Vec::new();
        for m in models {
            let started = Instant::now();
            let r = self
                .run_one(m)
                .await
                .with_context(|| format!("model {} ({})", m.name, m.path.display()))?;
            tracing::info!(model = %m.name, rows = r.written.rows(), new_rows = r.new_rows, ms = started.elapsed().as_millis() as u64, "model built");
            out.push(ModelResult {
                millis: started.elapsed().as_millis(),
                ..r
            });
        }
        Ok(out)
    }

    async fn run_one(&self, m: &Model) -> Result<ModelResult> {
        let ctx = self.ctx;
        let partition = m.config.materialized.partition_column();
        // 1. The night's rows, materialised once in local scratch space.
        let df = ctx.sql(&m.sql).await.map_err(from_datafusion)?;
        let stream = df.execute_stream().await.map_err(from_datafusion)?;
        let new_name = format!("__new_{}", m.name);
        let new = write_table(stream, self.scratch, &self.scratch.prefix, &new_name, None).await?;
        let new_rows = new.rows();
        let new_schema = self
            .register_listing(
                &new_name,
                self.scratch,
                &join(&self.scratch.prefix, &new_name),
                None,
                None,
            )
            .await?;
        let file_schema = crate::load::types::warehouse_schema(&m.name, &new_schema, partition)?;
        let columns: Vec<String> = new_schema
            .fields()
            .iter()
            .map(|f| quote(f.name()))
            .collect();
        let cols = columns.join(", ");

        // 2. The partitions the night touches.
        let touched: Vec<i32> = match partition {
            Some(p) => {
                distinct_dates(
                    ctx,
                    &format!("SELECT DISTINCT {} FROM {}", quote(p), quote(&new_name)),
                )
                .await?
            }
            None => vec![],
        };
        let old_name = format!("__old_{}", m.name);
        let published = self.warehouse.child(&m.name);
        let has_old = exists(self.warehouse, &published).await?;
        if has_old {
            self.register_listing(
                &old_name,
                self.warehouse,
                &published,
                partition,
                Some(file_schema.clone()),
            )
            .await
            .with_context(|| {
                format!(
                    "cannot read the published table {}",
                    self.warehouse.show(&published)
                )
            })?;
        }

        // 3. The content to write.
        let in_list = |p: &str| {
            let dates: Vec<String> = touched
                .iter()
                .map(|d| format!("DATE '{}'", &partition_dir(p, *d)[p.len() + 1..]))
                .collect();
            format!(
                "{} IN ({})",
                quote(p),
                if dates.is_empty() {
                    "NULL".to_string()
                } else {
                    dates.join(", ")
                }
            )
        };
        let old_rows = match (has_old, partition, m.config.strategy) {
            (false, _, _) | (_, _, Strategy::Replace) => None,
            (true, Some(p), Strategy::Merge) => Some(format!(
                "SELECT {cols} FROM {} WHERE {}",
                quote(&old_name),
                in_list(p)
            )),
            (true, None, Strategy::Merge) => {
                Some(format!("SELECT {cols} FROM {}", quote(&old_name)))
            }
        };
        let skip_write = new_rows == 0 && (partition.is_some() || has_old);
        let sql = match (m.config.strategy, old_rows) {
            (Strategy::Replace, _) => format!("SELECT {cols} FROM {}", quote(&new_name)),
            (Strategy::Merge, old) => {
                let unioned = match old {
                    Some(old) => format!("SELECT {cols} FROM {} UNION ALL {old}", quote(&new_name)),
                    None => format!("SELECT {cols} FROM {}", quote(&new_name)),
                };
                let key: Vec<String> = m.config.unique_key.iter().map(|k| quote(k)).collect();
                let order = m.config.latest_by.clone().unwrap_or_else(|| key.join(", "));
                format!(
                    "SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {order}) AS __keep FROM ({unioned}) AS u) AS k WHERE __keep = 1",
                    key.join(", ")
                )
            }
        };
        let written = if skip_write {
            WrittenTable {
                file_schema: file_schema.clone(),
                files: vec![],
            }
        } else {
            let stream = ctx
                .sql(&sql)
                .await
                .map_err(from_datafusion)?
                .execute_stream()
                .await
                .map_err(from_datafusion)?;
            write_table(stream, self.warehouse, &self.staging, &m.name, partition).await?
        };

        // 4. The model's table as downstream models see it.
        ctx.deregister_table(m.name.as_str())?;
        let staged_name = format!("__staged_{}", m.name);
        if !written.files.is_empty() {
            self.register_listing(
                &staged_name,
                self.warehouse,
                &join(&self.staging, &m.name),
                partition,
                Some(file_schema.clone()),
            )
            .await?;
        }
        let view = match (written.files.is_empty(), has_old, partition) {
            (false, true, Some(p)) => Some(format!(
                "SELECT * FROM {} UNION ALL SELECT * FROM {} WHERE NOT ({})",
                quote(&staged_name),
                quote(&old_name),
                in_list(p)
            )),
            (false, _, _) => Some(format!("SELECT * FROM {}", quote(&staged_name))),
            (true, true, _) => Some(format!("SELECT * FROM {}", quote(&old_name))),
            (true, false, _) => None,
        };
        match view {
            Some(v) => {
                let df = ctx.sql(&v).await.map_err(from_datafusion)?;
                ctx.register_table(m.name.as_str(), df.into_view())?;
            }
            None => {
                let schema = ctx.table(new_name.as_str()).await?.schema().inner().clone();
                ctx.register_table(
                    m.name.as_str(),
                    Arc::new(MemTable::try_new(schema, vec![vec![]])?),
                )?;
            }
        }
        Ok(ModelResult {
            model: m.name.clone(),
            new_rows,
            written,
            millis: 0,
        })
    }

    /// Registers the Parquet files below `dir` as table `name`; returns its full schema.
    async fn register_listing(
        &self,
        name: &str,
        loc: &Location,
        dir: &Path,
        partition: Option<&str>,
        file_schema: Option<SchemaRef>,
    ) -> Result<SchemaRef> {
        let table = listing_table(self.ctx, loc, dir, partition, file_schema).await?;
        let schema = datafusion::datasource::TableProvider::schema(&table);
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(schema)
    }
}

/// A listing table over the Parquet files below `dir`, with an optional DATE partition column.
/// Without `file_schema`, the schema is read from the files.
pub async fn listing_table(
    ctx: &SessionContext,
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
        None => config.infer_schema(&ctx.state()).await?,
    };
    Ok(ListingTable::try_new(config)?)
}

async fn exists(loc: &Location, dir: &Path) -> Result<bool> {
    use futures::StreamExt;
    let mut list = loc.store.list(Some(dir));
    while let Some(m) = list.next().await {
        let m = m?;
        if m.location
            .filename()
            .is_some_and(|n| n.ends_with(".parquet"))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn distinct_dates(ctx: &SessionContext, sql: &str) -> Result<Vec<i32>> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(from_datafusion)?
        .collect()
        .await
        .map_err(from_datafusion)?;
    let mut out = BTreeSet::new();
    for b in batches {
        let col = datafusion::arrow::compute::cast(b.column(0), &DataType::Date32)?;
        let col = col.as_primitive::<Date32Type>();
        for i in 0..col.len() {
            if col.is_valid(i) {
                out.insert(col.value(i));
            }
        }
    }
    Ok(out.into_iter().collect())
}
