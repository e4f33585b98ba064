//! Runs the models of one night in dependency order.
//!
//! For each model the runner computes the night's rows, works out which partitions they touch,
//! combines them with what the warehouse already holds there (`merge`) or takes them as the new
//! content of those partitions (`replace`), and writes the result to the run's staging area.
//!
//! After a model has run, later models can read:
//! - `<model>`: the table as it will be once published (staged partitions, plus the published
//!   partitions the night did not touch);
//! - `<model>__changed`: the rows the night added or altered (new or different from before);
//! - `<model>__previous`: the rows the night removed or altered, as they were before.
//!
//! A `replace` model may declare `partitions`, a query returning the partition dates to rebuild
//! (usually from upstream `__changed` and `__previous` tables, or from `this`, the model's own
//! published table); the runner registers them as the table `__partitions` for the model's SQL
//! and rewrites each of them whole (a partition left with no row becomes an empty file).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, AsArray, Date32Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use object_store::path::Path;

use super::model::{Model, Strategy};
use crate::error::from_datafusion;
use crate::load::writer::{WrittenTable, partition_dir, write_table};
use crate::run::artifacts::ModelRun;
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

/// Quotes an identifier for SQL.
pub fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// `<expr> IN (DATE '...', ...)`, or a condition that is never true for no dates.
fn in_dates(expr: &str, days: &[i32]) -> String {
    if days.is_empty() {
        return "FALSE".to_string();
    }
    let list: Vec<String> = days
        .iter()
        .map(|d| format!("DATE '{}'", &partition_dir("d", *d)[2..]))
        .collect();
    format!("{expr} IN ({})", list.join(", "))
}

impl Runner<'_> {
    /// Runs `models` (already in dependency order), recording each in `log` as it finishes.
    /// Shows a progress bar when standard error is a terminal.
    pub async fn run_all(
        &self,
        models: &[Model],
        log: &mut Vec<ModelRun>,
    ) -> Result<Vec<ModelResult>> {
        let bar = progress_bar(models.len() as u64);
        let mut out = Vec::new();
        for m in models {
            bar.set_message(m.name.clone());
            let started = Instant::now();
            let mut r = self
                .run_one(m)
                .await
                .with_context(|| format!("model {} ({})", m.name, m.path.display()))?;
            r.millis = started.elapsed().as_millis();
            tracing::info!(model = %m.name, rows = r.written.rows(), new_rows = r.new_rows, ms = r.millis as u64, "model built");
            log.push(ModelRun {
                model: m.name.clone(),
                materialized: format!("{:?}", m.config.materialized).to_lowercase(),
                strategy: format!("{:?}", m.config.strategy).to_lowercase(),
                new_rows: r.new_rows,
                rows_written: r.written.rows(),
                partitions: r
                    .written
                    .files
                    .iter()
                    .map(|f| f.partition.clone())
                    .collect(),
                elapsed_ms: r.millis,
            });
            out.push(r);
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(out)
    }

    /// Runs the data tests of `models` on the rows the night wrote (`__staged_<model>`, seen as
    /// `this`). `read` holds the rows each raw table yielded, for `reconcile`.
    pub async fn run_tests(
        &self,
        models: &[Model],
        results: &[ModelResult],
        read: &std::collections::BTreeMap<String, u64>,
    ) -> Result<Vec<crate::checks::TestResult>> {
        let mut out = Vec::new();
        for (m, r) in models.iter().zip(results) {
            if m.config.tests.is_empty() {
                continue;
            }
            let staged = self
                .ctx
                .table_provider(format!("__staged_{}", m.name).as_str())
                .await?;
            crate::checks::register_this(self.ctx, staged)?;
            for t in &m.config.tests {
                let counts = t
                    .reconcile
                    .as_ref()
                    .and_then(|src| read.get(src).map(|n| (*n, r.new_rows)));
                let result = crate::checks::run_test(self.ctx, &m.name, t, counts)
                    .await
                    .with_context(|| {
                        format!(
                            "data test {} of {} ({})",
                            t.display_name(),
                            m.name,
                            m.path.display()
                        )
                    })?;
                tracing::info!(model = %m.name, test = %result.test, status = %result.status, failing = result.failing_rows, "data test");
                out.push(result);
            }
        }
        Ok(out)
    }

    async fn run_one(&self, m: &Model) -> Result<ModelResult> {
        let ctx = self.ctx;
        let partition = m.config.materialized.partition_column();
        let strategy = m.config.strategy;

        // 1. The partitions to rebuild, when the model says which. The query may read the
        // model's own published table as `this`.
        let targets = match (&m.config.partitions, partition) {
            (Some(sql), Some(p)) => {
                register_dates(ctx, "__partitions", p, &[])?;
                let planned = ctx
                    .sql(&m.sql)
                    .await
                    .map_err(from_datafusion)
                    .context("planning the model's query")?;
                let schema: SchemaRef = Arc::new(planned.schema().as_arrow().clone());
                let published = self.warehouse.child(&m.name);
                if exists(self.warehouse, &published).await? {
                    let file_schema =
                        crate::load::types::warehouse_schema(&m.name, &schema, partition)?;
                    self.register_listing(
                        "this",
                        self.warehouse,
                        &published,
                        partition,
                        Some(file_schema),
                    )
                    .await?;
                } else {
                    register_empty(ctx, "this", &schema, partition)?;
                }
                let days = distinct_dates(ctx, sql)
                    .await
                    .context("the partitions query")?;
                register_dates(ctx, "__partitions", p, &days)?;
                Some(days)
            }
            (Some(_), None) => bail!("`partitions` needs a daily or monthly model"),
            _ => None,
        };

        // 2. The night's rows, materialised once in local scratch space.
        let new_name = format!("__new_{}", m.name);
        let stream = ctx
            .sql(&m.sql)
            .await
            .map_err(from_datafusion)
            .context("planning the model's query")?
            .execute_stream()
            .await
            .map_err(from_datafusion)?;
        let new_rows = write_table(stream, self.scratch, &self.scratch.prefix, &new_name, None)
            .await?
            .rows();
        let new_dir = join(&self.scratch.prefix, &new_name);
        let new_schema = self
            .register_listing(&new_name, self.scratch, &new_dir, None, None)
            .await?;
        let file_schema = crate::load::types::warehouse_schema(&m.name, &new_schema, partition)?;
        let cols: Vec<String> = new_schema
            .fields()
            .iter()
            .map(|f| quote(f.name()))
            .collect();
        let cols = cols.join(", ");

        // 3. The partitions the night touches.
        let produced = match partition {
            Some(p) => {
                let sql = format!("SELECT DISTINCT {} FROM {}", quote(p), quote(&new_name));
                distinct_dates(ctx, &sql).await?
            }
            None => vec![],
        };
        if let (Some(t), Some(p)) = (&targets, partition) {
            if let Some(d) = produced.iter().find(|d| !t.contains(d)) {
                bail!(
                    "produced a row for {} outside the partitions it rebuilds",
                    partition_dir(p, *d)
                );
            }
        }
        let touched = targets.clone().unwrap_or(produced);

        // 4. What the warehouse holds already.
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
        let old_in_touched = match partition {
            Some(p) => format!(
                "SELECT {cols} FROM {} WHERE {}",
                quote(&old_name),
                in_dates(&quote(p), &touched)
            ),
            None => format!("SELECT {cols} FROM {}", quote(&old_name)),
        };

        // 5. The content to write.
        let key: Vec<String> = m.config.unique_key.iter().map(|k| quote(k)).collect();
        let content = match strategy {
            Strategy::Replace => format!("SELECT {cols} FROM {}", quote(&new_name)),
            Strategy::Merge => {
                // `__source_rank` (0 for the night's rows, 1 for the warehouse's) lets
                // `latest_by` prefer one side; without `latest_by`, the night's rows win.
                let mut unioned = format!(
                    "SELECT {cols}, 0 AS __source_rank FROM {}",
                    quote(&new_name)
                );
                if has_old {
                    unioned = format!(
                        "{unioned} UNION ALL SELECT *, 1 AS __source_rank FROM ({old_in_touched}) AS o"
                    );
                }
                let order = m
                    .config
                    .latest_by
                    .clone()
                    .unwrap_or_else(|| "__source_rank".to_string());
                format!(
                    "SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {order}) AS __keep FROM ({unioned}) AS u) AS k WHERE __keep = 1",
                    key.join(", ")
                )
            }
        };
        let nothing_new = new_rows == 0 && targets.as_ref().is_none_or(|t| t.is_empty());
        let written = if nothing_new && (partition.is_some() || has_old) {
            WrittenTable {
                file_schema: file_schema.clone(),
                files: vec![],
            }
        } else {
            let stream = ctx
                .sql(&content)
                .await
                .map_err(from_datafusion)
                .with_context(|| format!("planning the merge: {content}"))?
                .execute_stream()
                .await
                .map_err(from_datafusion)?;
            let mut w =
                write_table(stream, self.warehouse, &self.staging, &m.name, partition).await?;
            if let (Some(t), Some(p)) = (&targets, partition) {
                // A rebuilt partition left with no row is replaced by an empty file, where the
                // warehouse had one (a deleted record's last row disappears).
                let had = if has_old {
                    let sql = format!(
                        "SELECT DISTINCT {} FROM {} WHERE {}",
                        quote(p),
                        quote(&old_name),
                        in_dates(&quote(p), t)
                    );
                    distinct_dates(ctx, &sql).await?
                } else {
                    vec![]
                };
                self.write_empty_partitions(&m.name, p, &had, &mut w)
                    .await?;
            }
            w
        };

        // 6. The model's table, and its changes, as later models see them.
        let staged_name = format!("__staged_{}", m.name);
        if written.files.is_empty() {
            register_empty(ctx, &staged_name, &new_schema, partition)?;
        } else {
            let dir = join(&self.staging, &m.name);
            self.register_listing(
                &staged_name,
                self.warehouse,
                &dir,
                partition,
                Some(file_schema.clone()),
            )
            .await?;
        }
        if !has_old {
            register_empty(ctx, &old_name, &new_schema, partition)?;
        }
        let wrote = !written.files.is_empty();
        let view = match (wrote, partition) {
            (true, Some(p)) => format!(
                "SELECT * FROM {} UNION ALL SELECT * FROM {} WHERE NOT ({})",
                quote(&staged_name),
                quote(&old_name),
                in_dates(&quote(p), &touched)
            ),
            (true, None) => format!("SELECT * FROM {}", quote(&staged_name)),
            (false, _) => format!("SELECT * FROM {}", quote(&old_name)),
        };
        self.register_view(&m.name, &view).await?;
        // Rows after and before the night, for the keys (merge) or partitions (replace) it
        // touched; what differs between them is the night's change.
        let (after, before) = match strategy {
            Strategy::Merge => {
                let on: Vec<String> = key.iter().map(|k| format!("n.{k} = s.{k}")).collect();
                let semi = |table: &str| {
                    format!(
                        "SELECT s.* FROM {table} AS s WHERE EXISTS (SELECT 1 FROM {} AS n WHERE {})",
                        quote(&new_name),
                        on.join(" AND ")
                    )
                };
                let before = match partition {
                    Some(p) => format!(
                        "{} AND {}",
                        semi(&quote(&old_name)),
                        in_dates(&format!("s.{}", quote(p)), &touched)
                    ),
                    None => semi(&quote(&old_name)),
                };
                (semi(&quote(&staged_name)), before)
            }
            Strategy::Replace => (
                format!("SELECT * FROM {}", quote(&staged_name)),
                match partition {
                    Some(p) => format!(
                        "SELECT * FROM {} WHERE {}",
                        quote(&old_name),
                        in_dates(&quote(p), &touched)
                    ),
                    None => format!("SELECT * FROM {}", quote(&old_name)),
                },
            ),
        };
        let changed = format!("SELECT * FROM ({after}) AS a EXCEPT SELECT * FROM ({before}) AS b");
        let previous = format!("SELECT * FROM ({before}) AS b EXCEPT SELECT * FROM ({after}) AS a");
        self.register_view(&format!("{}__changed", m.name), &changed)
            .await?;
        self.register_view(&format!("{}__previous", m.name), &previous)
            .await?;
        Ok(ModelResult {
            model: m.name.clone(),
            new_rows,
            written,
            millis: 0,
        })
    }

    async fn register_view(&self, name: &str, sql: &str) -> Result<()> {
        let df = self
            .ctx
            .sql(sql)
            .await
            .map_err(from_datafusion)
            .with_context(|| format!("planning the view {name}: {sql}"))?;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, df.into_view())?;
        Ok(())
    }

    /// Writes an empty file for each of `targets` the model produced no row for.
    async fn write_empty_partitions(
        &self,
        table: &str,
        column: &str,
        targets: &[i32],
        w: &mut WrittenTable,
    ) -> Result<()> {
        for d in targets {
            let dir = partition_dir(column, *d);
            if w.files.iter().any(|f| f.partition == dir) {
                continue;
            }
            let mut fields: Vec<Field> = w
                .file_schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.push(Field::new(column, DataType::Date32, false));
            let schema = Arc::new(Schema::new(fields));
            let mut cols: Vec<Arc<dyn Array>> = w
                .file_schema
                .fields()
                .iter()
                .map(|f| datafusion::arrow::array::new_null_array(f.data_type(), 0))
                .collect();
            cols.push(Arc::new(Date32Array::from(Vec::<i32>::new())));
            let batch = RecordBatch::try_new(schema.clone(), cols)?;
            let stream =
                RecordBatchStreamAdapter::new(schema, futures::stream::iter(vec![Ok(batch)]));
            let one = crate::load::writer::write_table_partition(
                Box::pin(stream),
                self.warehouse,
                &self.staging,
                table,
                column,
                *d,
            )
            .await?;
            w.files.push(one);
        }
        w.files.sort_by(|a, b| a.partition.cmp(&b.partition));
        Ok(())
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

/// Registers an empty table of `schema` (the partition column, if any, last).
fn register_empty(
    ctx: &SessionContext,
    name: &str,
    schema: &SchemaRef,
    partition: Option<&str>,
) -> Result<()> {
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .filter(|f| Some(f.name().as_str()) != partition)
        .map(|f| {
            let dt = crate::load::types::warehouse_type(name, f.name(), f.data_type())
                .unwrap_or(f.data_type().clone());
            Field::new(f.name(), dt, true)
        })
        .collect();
    if let Some(p) = partition {
        fields.push(Field::new(p, DataType::Date32, true));
    }
    let table = MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]])?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Registers a one-column table of dates.
fn register_dates(ctx: &SessionContext, name: &str, column: &str, days: &[i32]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        column,
        DataType::Date32,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Date32Array::from(days.to_vec()))],
    )?;
    ctx.deregister_table(name)?;
    ctx.register_table(
        name,
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    Ok(())
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

/// The distinct non-null dates of the first column of `sql`'s result, sorted.
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
        out.extend(
            (0..col.len())
                .filter(|i| col.is_valid(*i))
                .map(|i| col.value(i)),
        );
    }
    Ok(out.into_iter().collect())
}

/// A progress bar on an interactive terminal; hidden otherwise (logs say the same in plain lines).
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} models {pos}/{len} [{bar:30}] {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
