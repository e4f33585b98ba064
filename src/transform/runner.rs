//! Runs the models of one night in dependency order.
//!
//! For each model the runner computes the night's rows, works out which partitions they touch,
//! combines them with what the warehouse already holds there (`merge`) or takes them as the new
//! content of those partitions (`replace`), and writes the result to the run's staging area.
//! The SQL of each of those steps is built by [`super::incremental`].
//!
//! After a model has run, later models can read:
//! - `<model>`: the table as it will be once published (staged partitions, plus the published
//!   partitions the night did not touch);
//! - `<model>__changed`: the rows the night added or altered (new or different from before);
//! - `<model>__previous`: the rows the night removed or altered, as they were before.
//!
//! The last two are computed together, once, into local scratch space, when a later model of
//! the night reads either (most are read by several, some by none): a view would be planned and
//! executed again inside every model that reads it.
//!
//! A `replace` model may declare `partitions`, a query returning the partition dates to rebuild
//! (usually from upstream `__changed` and `__previous` tables, or from `this`, the model's own
//! published table); the runner registers them as the table `__partitions` for the model's SQL
//! and rewrites each of them whole (a partition left with no row becomes an empty file).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, AsArray, Date32Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{DataFrame, SessionContext};
use object_store::path::Path;

use super::incremental::{self, Shape, Tables};
use super::model::{Model, Strategy};
use super::partitions;
use crate::error::{Context, Error, Result};
use crate::load::listing::{has_parquet, listing_table};
use crate::load::writer::{WrittenTable, partition_dir, write_table, write_table_partition};
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

/// Told about each model as the runner goes: the command line draws a progress bar with it,
/// the run records what each model did.
pub trait Progress: Sync {
    /// Model `index` (from 0) of `total` starts.
    fn started(&self, _model: &Model, _index: usize, _total: usize) {}
    /// A model has been built and staged.
    fn finished(&self, _model: &Model, _result: &ModelResult) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

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
    /// Ignore what the warehouse holds: every model computes its whole table from the night's
    /// inputs alone (a full refresh).
    pub fresh: bool,
}

/// One model's night, as the steps of [`Runner::run_one`] fill it in.
struct Night<'m> {
    model: &'m Model,
    tables: Tables,
    partition: Option<&'static str>,
    /// The partitions the model declares it rebuilds (its `partitions` query), if it does.
    targets: Option<Vec<i32>>,
    /// Rows of the model's query.
    new_rows: u64,
    /// The night's rows' schema (partition column among the columns).
    new_schema: SchemaRef,
    /// The schema of the table's files (no partition column, warehouse types).
    file_schema: SchemaRef,
    /// Column names in output order.
    columns: Vec<String>,
    /// Partitions rebuilt or touched.
    touched: Vec<i32>,
    /// Whether the warehouse holds the table already.
    has_old: bool,
}

impl Night<'_> {
    fn shape(&self) -> Shape<'_> {
        Shape {
            tables: &self.tables,
            columns: &self.columns,
            partition: self.partition,
            key: &self.model.config.unique_key,
            touched: &self.touched,
        }
    }
}

impl Runner<'_> {
    /// Runs `models` (already in dependency order), telling `progress` about each.
    pub async fn run_all(
        &self,
        models: &[Model],
        progress: &dyn Progress,
    ) -> Result<Vec<ModelResult>> {
        let read: BTreeSet<&str> = models
            .iter()
            .flat_map(|m| m.reads_changes.iter().map(String::as_str))
            .collect();
        let mut out = Vec::new();
        for (i, m) in models.iter().enumerate() {
            progress.started(m, i, models.len());
            let started = Instant::now();
            let mut r = self.run_one(m, &read).await.with_context(|| m.label())?;
            r.millis = started.elapsed().as_millis();
            tracing::info!(model = %m.name, rows = r.written.rows(), new_rows = r.new_rows, ms = r.millis as u64, "model built");
            progress.finished(m, &r);
            out.push(r);
        }
        Ok(out)
    }

    /// Builds one model: its partitions, its rows, what it touches, what is published, the
    /// content to write, and the tables later models read (`read`: the `__changed` and
    /// `__previous` tables some later model reads, materialised rather than left as views).
    pub async fn run_one(&self, m: &Model, read: &BTreeSet<&str>) -> Result<ModelResult> {
        let mut lap = Lap::start(&m.name);
        let (planned, targets) = self.plan(m).await?;
        lap.mark("partitions");
        let mut night = self.materialise_new(m, planned, targets).await?;
        lap.mark("new rows");
        night.touched = self.touched_partitions(&night).await?;
        lap.mark("touched");
        night.has_old = self.register_published(&night).await?;
        lap.mark("published");
        let written = self.write_content(&night).await?;
        lap.mark("content");
        self.register_outputs(&night, !written.files.is_empty(), read)
            .await?;
        lap.mark("outputs");
        Ok(ModelResult {
            model: m.name.clone(),
            new_rows: night.new_rows,
            written,
            millis: 0,
        })
    }

    /// Step 1: the model's query, planned once, and the partitions to rebuild when the model
    /// says which. The `partitions` query may read the model's own published table as `this`;
    /// the model's query reads its result as `__partitions`, a table planned empty, filled
    /// once the dates are known, then written into the plan as literal dates
    /// ([`super::partitions`]) so that upstream tables are read only where they matter.
    async fn plan(&self, m: &Model) -> Result<(DataFrame, Option<Vec<i32>>)> {
        let partition = m.config.materialized.partition_column();
        let (sql, p) = match (&m.config.partitions, partition) {
            (Some(sql), Some(p)) => (sql, p),
            (Some(_), None) => {
                return Err(Error::config(
                    &m.file,
                    "`partitions` needs a daily or monthly model",
                ));
            }
            _ => {
                let planned = self
                    .ctx
                    .sql(&m.sql)
                    .await
                    .context("planning the model's query")?;
                return Ok((planned, None));
            }
        };
        let targets = register_dates(self.ctx, "__partitions", p, &[])?;
        let planned = self
            .ctx
            .sql(&m.sql)
            .await
            .context("planning the model's query")?;
        let schema: SchemaRef = Arc::new(planned.schema().as_arrow().clone());
        let published = self.warehouse.child(&m.name);
        if self.is_published(&published).await? {
            let file_schema = crate::load::types::warehouse_schema(&m.name, &schema, partition)?;
            self.register_listing(
                "this",
                self.warehouse,
                &published,
                partition,
                Some(file_schema),
            )
            .await?;
        } else {
            register_empty(self.ctx, "this", &schema, partition)?;
        }
        let days = distinct_dates(self.ctx, sql)
            .await
            .context("the partitions query")?;
        *targets.batches[0].write().await = vec![date_batch(p, &days)?];
        let planned = partitions::inline(self.ctx, planned)
            .await
            .context("writing the partitions into the model's query")?;
        Ok((planned, Some(days)))
    }

    /// Step 2: the night's rows, materialised once in local scratch space.
    async fn materialise_new<'m>(
        &self,
        m: &'m Model,
        planned: DataFrame,
        targets: Option<Vec<i32>>,
    ) -> Result<Night<'m>> {
        let tables = Tables::of(&m.name);
        let partition = m.config.materialized.partition_column();
        let stream = planned.execute_stream().await?;
        let new_rows = write_table(
            stream,
            self.scratch,
            &self.scratch.prefix,
            &tables.new,
            None,
        )
        .await?
        .rows();
        let new_dir = join(&self.scratch.prefix, &tables.new);
        let new_schema = self
            .register_listing(&tables.new, self.scratch, &new_dir, None, None)
            .await?;
        let file_schema = crate::load::types::warehouse_schema(&m.name, &new_schema, partition)?;
        let columns = new_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        Ok(Night {
            model: m,
            tables,
            partition,
            targets,
            new_rows,
            new_schema,
            file_schema,
            columns,
            touched: vec![],
            has_old: false,
        })
    }

    /// Step 3: the partitions the night touches: the declared targets, or those of its rows.
    /// A row outside the declared targets is an error.
    async fn touched_partitions(&self, n: &Night<'_>) -> Result<Vec<i32>> {
        let produced = match incremental::produced_partitions(&n.shape()) {
            Some(sql) => distinct_dates(self.ctx, &sql).await?,
            None => vec![],
        };
        if let (Some(t), Some(p)) = (&n.targets, n.partition)
            && let Some(d) = produced.iter().find(|d| !t.contains(d))
        {
            return Err(Error::Invalid(format!(
                "produced a row for {} outside the partitions it rebuilds",
                partition_dir(p, *d)
            )));
        }
        Ok(n.targets.clone().unwrap_or(produced))
    }

    /// Step 4: the published table as `__old_<model>`, or an empty one; whether it exists.
    async fn register_published(&self, n: &Night<'_>) -> Result<bool> {
        let published = self.warehouse.child(&n.model.name);
        if !self.is_published(&published).await? {
            register_empty(self.ctx, &n.tables.old, &n.new_schema, n.partition)?;
            return Ok(false);
        }
        self.register_listing(
            &n.tables.old,
            self.warehouse,
            &published,
            n.partition,
            Some(n.file_schema.clone()),
        )
        .await
        .with_context(|| {
            format!(
                "cannot read the published table {}",
                self.warehouse.show(&published)
            )
        })?;
        Ok(true)
    }

    /// Step 5: the content of what the night touches, written to staging. A rebuilt partition
    /// left with no row is replaced by an empty file where the warehouse had one.
    async fn write_content(&self, n: &Night<'_>) -> Result<WrittenTable> {
        let nothing_new = n.new_rows == 0 && n.targets.as_ref().is_none_or(|t| t.is_empty());
        if nothing_new && (n.partition.is_some() || n.has_old) {
            return Ok(WrittenTable {
                file_schema: n.file_schema.clone(),
                files: vec![],
            });
        }
        let s = n.shape();
        let content = match n.model.config.strategy {
            Strategy::Replace => incremental::replace_content(&s),
            Strategy::Merge => {
                incremental::merge_content(&s, n.has_old, n.model.config.latest_by.as_deref())
            }
            Strategy::DeleteInsert => incremental::delete_insert_content(&s, n.has_old),
        };
        let stream = self
            .ctx
            .sql(&content)
            .await
            .with_context(|| format!("planning the merge: {content}"))?
            .execute_stream()
            .await?;
        let mut w = write_table(
            stream,
            self.warehouse,
            &self.staging,
            &n.model.name,
            n.partition,
        )
        .await?;
        if let (Some(_), Some(p)) = (&n.targets, n.partition) {
            let had = match (n.has_old, incremental::old_partitions_among(&s)) {
                (true, Some(sql)) => distinct_dates(self.ctx, &sql).await?,
                _ => vec![],
            };
            self.write_empty_partitions(&n.model.name, p, &had, &mut w)
                .await?;
        }
        Ok(w)
    }

    /// Step 6: the model's table, and its changes, as later models see them.
    async fn register_outputs(
        &self,
        n: &Night<'_>,
        wrote: bool,
        read: &BTreeSet<&str>,
    ) -> Result<()> {
        if wrote {
            let dir = join(&self.staging, &n.model.name);
            self.register_listing(
                &n.tables.staged,
                self.warehouse,
                &dir,
                n.partition,
                Some(n.file_schema.clone()),
            )
            .await?;
        } else {
            register_empty(self.ctx, &n.tables.staged, &n.new_schema, n.partition)?;
        }
        let s = n.shape();
        self.register_view(&n.model.name, &incremental::table_view(&s, wrote))
            .await?;
        let (after, before) =
            incremental::after_and_before(&s, n.model.config.strategy != Strategy::Replace);
        let changed = format!("{}__changed", n.model.name);
        let previous = format!("{}__previous", n.model.name);
        if !read.contains(changed.as_str()) && !read.contains(previous.as_str()) {
            self.register_view(&changed, &incremental::changed(&after, &before))
                .await?;
            return self
                .register_view(&previous, &incremental::previous(&after, &before))
                .await;
        }
        let both = format!("__changes_{}", n.model.name);
        self.materialise(&both, &incremental::changes(&s, &after, &before))
            .await?;
        self.register_view(&changed, &incremental::changes_side(&both, true))
            .await?;
        self.register_view(&previous, &incremental::changes_side(&both, false))
            .await
    }

    /// Computes `sql` once into scratch space and registers the result as `name`.
    async fn materialise(&self, name: &str, sql: &str) -> Result<()> {
        let stream = self
            .ctx
            .sql(sql)
            .await
            .with_context(|| format!("planning {name}: {sql}"))?
            .execute_stream()
            .await?;
        let dir = format!("__computed_{name}");
        write_table(stream, self.scratch, &self.scratch.prefix, &dir, None)
            .await
            .with_context(|| format!("computing {name}"))?;
        let path = join(&self.scratch.prefix, &dir);
        self.register_listing(name, self.scratch, &path, None, None)
            .await?;
        Ok(())
    }

    /// Whether the warehouse holds the table at `dir` (never, for a full refresh).
    async fn is_published(&self, dir: &Path) -> Result<bool> {
        Ok(!self.fresh && has_parquet(self.warehouse, dir).await?)
    }

    async fn register_view(&self, name: &str, sql: &str) -> Result<()> {
        let df = self
            .ctx
            .sql(sql)
            .await
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
            let one = write_table_partition(
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
        let table = listing_table(&self.ctx.state(), loc, dir, partition, file_schema).await?;
        let schema = datafusion::datasource::TableProvider::schema(&table);
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(schema)
    }
}

/// Times the steps of one model, logged at debug level.
struct Lap<'a> {
    model: &'a str,
    last: Instant,
}

impl<'a> Lap<'a> {
    fn start(model: &'a str) -> Self {
        Self {
            model,
            last: Instant::now(),
        }
    }

    fn mark(&mut self, step: &str) {
        let ms = self.last.elapsed().as_millis() as u64;
        self.last = Instant::now();
        tracing::debug!(model = self.model, step, ms, "model step");
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

/// Registers a one-column table of dates; returns it (its rows can be replaced later).
pub fn register_dates(
    ctx: &SessionContext,
    name: &str,
    column: &str,
    days: &[i32],
) -> Result<Arc<MemTable>> {
    let batch = date_batch(column, days)?;
    let table = Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?);
    ctx.deregister_table(name)?;
    ctx.register_table(name, table.clone())?;
    Ok(table)
}

/// One batch of a single non-null `Date32` column.
fn date_batch(column: &str, days: &[i32]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        column,
        DataType::Date32,
        false,
    )]));
    Ok(RecordBatch::try_new(
        schema,
        vec![Arc::new(Date32Array::from(days.to_vec()))],
    )?)
}

/// The distinct non-null dates of the first column of `sql`'s result, sorted.
pub async fn distinct_dates(ctx: &SessionContext, sql: &str) -> Result<Vec<i32>> {
    let batches = ctx.sql(sql).await?.collect().await?;
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
