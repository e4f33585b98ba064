//! One nightly run, from a landing date's raw partitions to a published warehouse, and
//! backfills as the same runs in date order.

pub mod artifacts;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionConfig, SessionContext};
use serde::Serialize;

use crate::config::PipelineConfig;
pub use crate::error::RunFailure;
use crate::extract::{self, RejectSink};
use crate::load::publish::{self, PublishedTable, SuccessMarker};
use crate::load::writer::WrittenTable;
use crate::storage::Location;
use crate::transform::{functions, runner::Runner};

/// Everything a run needs besides its date.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Raw landing zone URL.
    pub raw: String,
    /// Warehouse URL.
    pub warehouse: String,
    /// Pipeline configuration file.
    pub pipeline: PathBuf,
    /// Business timezone.
    pub timezone: Tz,
    /// Key of the keyed hash that replaces personal data.
    pub pii_key: Vec<u8>,
}

/// What one source contributed to a run.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    /// Source name.
    pub source: String,
    /// Files read.
    pub files: usize,
    /// Bytes of those files.
    pub bytes: u64,
    /// Rows read.
    pub rows: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// What a run did, for the summary line, logs and Airflow.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Unique run id.
    pub run_id: String,
    /// Landing date processed.
    pub landing_date: NaiveDate,
    /// Per source.
    pub sources: Vec<SourceSummary>,
    /// Per table published.
    pub published: Vec<PublishedTable>,
    /// Rejected rows in all.
    pub rejects: u64,
    /// Things an operator should know (missing partitions, ignored files).
    pub warnings: Vec<String>,
    /// Wall time in milliseconds.
    pub millis: u128,
}

/// The `rejects` table: one row per malformed input row, partitioned by landing date.
pub const REJECTS_TABLE: &str = "rejects";

/// Runs the pipeline for one landing date and publishes the result.
///
/// Whatever happens once the warehouse is reachable, `_runs/<run_id>/run_results.json` and
/// `manifest.json` record it. The error of a failed run is an [`RunFailure`] when it is one of
/// the outcomes with their own exit code (no input, data tests failed).
pub async fn run_date(settings: &Settings, date: NaiveDate) -> Result<RunSummary> {
    let started = Instant::now();
    let started_at = Utc::now();
    let config = PipelineConfig::load_or_embedded(&settings.pipeline)
        .map_err(|e| anyhow::Error::new(RunFailure::Config(crate::error::describe(&e))))?;
    let raw = Location::open_existing(&settings.raw).context("raw landing zone")?;
    let wh = Location::open(&settings.warehouse).context("warehouse")?;
    let run_id = format!(
        "{}_{}",
        date.format("%Y-%m-%d"),
        started_at.format("%Y%m%dT%H%M%S%3fZ")
    );
    tracing::info!(%run_id, raw = %raw.display, warehouse = %wh.display, "run starting");

    // Compile every model first: a SQL error stops the run before any data is read.
    let compiled = {
        let ctx = session(config.pipeline.memory_limit_mb)?;
        functions::register(&ctx, settings.timezone, &settings.pii_key);
        crate::transform::compile::compile(&config, &ctx)
            .await
            .map_err(|e| anyhow::Error::new(RunFailure::Config(crate::error::describe(&e))))?
    };
    let manifest = artifacts::Manifest::of(&compiled);
    let mut state = RunState::default();
    let outcome = run_compiled(
        settings, &config, &raw, &wh, &run_id, date, &compiled, &mut state,
    )
    .await;
    let status = match &outcome {
        Ok(_) => "success",
        Err(e) => match e.downcast_ref::<RunFailure>() {
            Some(RunFailure::NoInput { .. }) => "no_input",
            Some(RunFailure::DataTestsFailed(_)) => "data_tests_failed",
            _ => "failed",
        },
    };
    let results = artifacts::RunResults {
        run_id: run_id.clone(),
        landing_date: date.to_string(),
        status: status.to_string(),
        started_at: started_at.to_rfc3339(),
        finished_at: Utc::now().to_rfc3339(),
        elapsed_ms: started.elapsed().as_millis(),
        arguments: artifacts::Arguments {
            raw: raw.display.clone(),
            warehouse: wh.display.clone(),
            pipeline: settings.pipeline.display().to_string(),
            timezone: settings.timezone.to_string(),
        },
        inputs: state.sink.files(),
        rejects: artifacts::group_rejects(&state.sink.rejects()),
        models: state.models.clone(),
        data_tests: state.tests.clone(),
        warnings: state.warnings.clone(),
        error: outcome.as_ref().err().map(crate::error::describe),
    };
    if let Err(e) = artifacts::write(&wh, &results, Some(&manifest)).await {
        tracing::error!(
            "cannot write the run artifacts: {}",
            crate::error::describe(&e)
        );
    }
    let published = outcome?;
    let mut per_source: BTreeMap<String, SourceSummary> = BTreeMap::new();
    for f in state.sink.files() {
        let e = per_source.entry(f.source.clone()).or_insert(SourceSummary {
            source: f.source.clone(),
            files: 0,
            bytes: 0,
            rows: 0,
            rejected: 0,
        });
        e.files += 1;
        e.bytes += f.bytes;
        e.rows += f.rows;
    }
    for (source, n) in state.sink.counts() {
        per_source
            .entry(source.clone())
            .or_insert(SourceSummary {
                source,
                files: 0,
                bytes: 0,
                rows: 0,
                rejected: 0,
            })
            .rejected = n;
    }
    Ok(RunSummary {
        run_id,
        landing_date: date,
        sources: per_source.into_values().collect(),
        published,
        rejects: state.sink.rejects().len() as u64,
        warnings: state.warnings,
        millis: started.elapsed().as_millis(),
    })
}

/// What a run has gathered so far, kept for its artifacts whether it succeeds or not.
#[derive(Debug, Default)]
struct RunState {
    sink: RejectSink,
    warnings: Vec<String>,
    models: Vec<artifacts::ModelRun>,
    tests: Vec<crate::checks::TestResult>,
}

#[allow(clippy::too_many_arguments)]
async fn run_compiled(
    settings: &Settings,
    config: &PipelineConfig,
    raw: &Location,
    wh: &Location,
    run_id: &str,
    date: NaiveDate,
    compiled: &[crate::transform::compile::Compiled],
    state: &mut RunState,
) -> Result<Vec<PublishedTable>> {
    let ctx = session(config.pipeline.memory_limit_mb)?;
    for loc in [raw, wh] {
        ctx.register_object_store(&loc.store_url, loc.store.clone());
    }
    functions::register(&ctx, settings.timezone, &settings.pii_key);
    register_contexts(&ctx, config)?;
    register_run(&ctx, config, date)?;

    // Extract: this landing date's partitions only.
    let sources = extract::sources(config)?;
    let mut listed: BTreeMap<String, usize> = BTreeMap::new();
    for s in &sources {
        let landing = extract::list_landing(raw, s, date).await?;
        if landing.files.is_empty() && !listed.contains_key(&s.dir) {
            state.warnings.push(format!(
                "no {} files landed in {}",
                s.name, landing.partition
            ));
        }
        for f in &landing.ignored {
            state
                .warnings
                .push(format!("ignored {f}: not a {} file", s.name));
        }
        extract::register_raw_table(
            &ctx,
            raw,
            s,
            &landing,
            date,
            &state.sink,
            config.pipeline.batch_size,
        )?;
        *listed.entry(s.dir.clone()).or_default() += landing.files.len();
    }
    state.warnings.dedup();
    for w in &state.warnings {
        tracing::warn!("{w}");
    }
    if listed.values().all(|n| *n == 0) {
        return Err(RunFailure::NoInput {
            date,
            detail: format!("no file in any source partition under {}", raw.display),
        }
        .into());
    }

    // Transform, writing to the run's staging area; then the data tests, before publishing.
    let models: Vec<_> = compiled.iter().map(|c| c.model.clone()).collect();
    let staging = wh.child(&format!("_staging/{run_id}"));
    let scratch_dir = tempfile::tempdir().context("cannot create scratch space")?;
    let scratch = Location::open(&scratch_dir.path().to_string_lossy())?;
    ctx.register_object_store(&scratch.store_url, scratch.store.clone());
    let runner = Runner {
        ctx: &ctx,
        warehouse: wh,
        staging: staging.clone(),
        scratch: &scratch,
    };
    let checked = async {
        let results = runner.run_all(&models, &mut state.models).await?;
        let read = rows_read_per_table(&sources, &state.sink);
        state.tests = runner.run_tests(&models, &results, &read).await?;
        for t in state.tests.iter().filter(|t| t.status == "warn") {
            state.warnings.push(format!(
                "data test {} on {} found {} rows",
                t.test, t.model, t.failing_rows
            ));
        }
        let failed: Vec<String> = state
            .tests
            .iter()
            .filter(|t| t.fails_run())
            .map(|t| {
                format!(
                    "{} on {} ({} failing rows)",
                    t.test, t.model, t.failing_rows
                )
            })
            .collect();
        if !failed.is_empty() {
            return Err(RunFailure::DataTestsFailed(failed.join("; ")).into());
        }
        Ok(results)
    }
    .await;
    let results = match checked {
        Ok(r) => r,
        Err(e) => {
            let _ = publish::remove_prefix(wh, &staging).await;
            return Err(e);
        }
    };
    let mut tables: Vec<(String, WrittenTable)> = results
        .iter()
        .map(|r| (r.model.clone(), r.written.clone()))
        .collect();
    tables.push((
        REJECTS_TABLE.to_string(),
        write_rejects(wh, &staging, &state.sink, date).await?,
    ));

    // Load: publish, then mark success.
    let published = match publish::publish(wh, &staging, &tables).await {
        Ok(p) => p,
        Err(e) => {
            let _ = publish::remove_prefix(wh, &staging).await;
            return Err(e);
        }
    };
    publish::mark_success(
        wh,
        &SuccessMarker {
            run_id,
            landing_date: date.to_string(),
            finished_at: Utc::now().to_rfc3339(),
            published: published.clone(),
        },
    )
    .await?;
    // Everything is published: a staging area left behind is untidy, not a failed run.
    if let Err(e) = publish::remove_prefix(wh, &staging).await {
        tracing::warn!(
            "published, but cannot remove the staging area: {}",
            crate::error::describe(&e)
        );
    }
    Ok(published)
}

/// Rows each raw table yielded this night, for the `reconcile` data tests.
fn rows_read_per_table(sources: &[extract::Source], sink: &RejectSink) -> BTreeMap<String, u64> {
    let files = sink.files();
    sources
        .iter()
        .map(|s| {
            (
                s.table.clone(),
                files
                    .iter()
                    .filter(|f| f.source == s.name)
                    .map(|f| f.rows)
                    .sum(),
            )
        })
        .collect()
}

/// Runs every landing date from `from` to `to` in order, as the nightly runs would.
pub async fn backfill(
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(
            run_date(settings, d)
                .await
                .with_context(|| format!("run for {d}"))?,
        );
        d = d.succ_opt().context("date out of range")?;
    }
    Ok(out)
}

/// The table of dialplan contexts and their direction, from the pipeline file.
pub const CONTEXTS_TABLE: &str = "pipeline_contexts";

/// The schemas of the tables a run registers for the models besides the raw sources.
pub fn run_tables_schemas() -> Vec<(&'static str, SchemaRef)> {
    vec![
        (
            CONTEXTS_TABLE,
            Arc::new(Schema::new(vec![
                Field::new("dcontext", DataType::Utf8, false),
                Field::new("direction", DataType::Utf8, false),
            ])),
        ),
        (
            RUN_TABLE,
            Arc::new(Schema::new(vec![Field::new(
                "landing_date",
                DataType::Date32,
                false,
            )])),
        ),
        (
            SERVICE_LEVELS_TABLE,
            Arc::new(Schema::new(vec![
                Field::new("channel_group", DataType::Utf8, false),
                Field::new("threshold_s", DataType::Int64, false),
            ])),
        ),
    ]
}

fn schema_of(table: &str) -> SchemaRef {
    run_tables_schemas()
        .into_iter()
        .find(|(n, _)| *n == table)
        .map(|(_, s)| s)
        .expect("a run table")
}

fn register_batch(ctx: &SessionContext, table: &str, columns: Vec<ArrayRef>) -> Result<()> {
    let schema = schema_of(table);
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    ctx.register_table(
        table,
        Arc::new(datafusion::datasource::MemTable::try_new(
            schema,
            vec![vec![batch]],
        )?),
    )?;
    Ok(())
}

/// Registers `pipeline_contexts (dcontext, direction)` so that models can join on it.
fn register_contexts(ctx: &SessionContext, config: &PipelineConfig) -> Result<()> {
    let mut names = Vec::new();
    let mut dirs = Vec::new();
    for (list, dir) in [
        (&config.cdr.inbound_contexts, "inbound"),
        (&config.cdr.outbound_contexts, "outbound"),
    ] {
        for c in list {
            names.push(c.clone());
            dirs.push(dir);
        }
    }
    register_batch(
        ctx,
        CONTEXTS_TABLE,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(dirs)),
        ],
    )
}

/// The one-row table `pipeline_run (landing_date)` models read the run's date from.
pub const RUN_TABLE: &str = "pipeline_run";
/// The table `pipeline_service_levels (channel_group, threshold_s)`.
pub const SERVICE_LEVELS_TABLE: &str = "pipeline_service_levels";

/// Registers the run's own facts and settings as tables, so that models stay plain SQL.
fn register_run(ctx: &SessionContext, config: &PipelineConfig, date: NaiveDate) -> Result<()> {
    register_batch(
        ctx,
        RUN_TABLE,
        vec![Arc::new(Date32Array::from(vec![
            extract::parse::days_since_epoch(date),
        ]))],
    )?;
    register_batch(
        ctx,
        SERVICE_LEVELS_TABLE,
        vec![
            Arc::new(StringArray::from(vec!["voice", "messaging"])),
            Arc::new(Int64Array::from(vec![
                config.service_level.voice_s,
                config.service_level.messaging_s,
            ])),
        ],
    )
}

/// A DataFusion session for one run: sorts and aggregations spill to local disk past
/// `memory_limit_mb`, so a day of millions of calls runs in bounded memory.
pub fn session(memory_limit_mb: usize) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true);
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_memory_limit(memory_limit_mb * 1024 * 1024, 1.0)
        .build_arc()?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

async fn write_rejects(
    wh: &Location,
    staging: &object_store::path::Path,
    sink: &RejectSink,
    date: NaiveDate,
) -> Result<WrittenTable> {
    let rejects = sink.rejects();
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
    // Always replace the landing date's partition, even with no rejects: a re-run after a fix
    // clears the rejects of the failed attempt.
    let file = crate::load::writer::write_table_partition(
        Box::pin(stream),
        wh,
        staging,
        REJECTS_TABLE,
        "dt",
        day,
    )
    .await?;
    Ok(WrittenTable {
        file_schema,
        files: vec![file],
    })
}

/// A published table as found in the warehouse.
#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    /// Table name.
    pub table: String,
    /// Partition folders (0 for an unpartitioned table).
    pub partitions: usize,
    /// Rows in all its files.
    pub rows: u64,
}

/// A session with every table published in `warehouse` registered under its name.
pub async fn warehouse_session(
    warehouse: &str,
    tz: Tz,
) -> Result<(SessionContext, Vec<TableCount>)> {
    let counts = warehouse_counts(warehouse).await?;
    let wh = Location::open_existing(warehouse)?;
    let ctx = SessionContext::new();
    ctx.register_object_store(&wh.store_url, wh.store.clone());
    functions::register(&ctx, tz, b"");
    for t in &counts {
        let key = if t.partitions > 0 {
            table_partition_key(&wh, &t.table).await?
        } else {
            None
        };
        let table = crate::transform::runner::listing_table(
            &ctx,
            &wh,
            &wh.child(&t.table),
            key.as_deref(),
            None,
        )
        .await?;
        ctx.register_table(t.table.as_str(), Arc::new(table))?;
    }
    Ok((ctx, counts))
}

async fn table_partition_key(wh: &Location, table: &str) -> Result<Option<String>> {
    let listing = wh.store.list_with_delimiter(Some(&wh.child(table))).await?;
    Ok(listing.common_prefixes.first().and_then(|p| {
        p.filename()
            .and_then(|n| n.split_once('=').map(|(k, _)| k.to_string()))
    }))
}

/// Counts the partitions and rows of every table published in `warehouse`.
pub async fn warehouse_counts(warehouse: &str) -> Result<Vec<TableCount>> {
    use futures::TryStreamExt;
    let wh = Location::open_existing(warehouse)?;
    let files: Vec<object_store::ObjectMeta> =
        wh.store.list(Some(&wh.prefix)).try_collect().await?;
    let mut tables: BTreeMap<String, (std::collections::BTreeSet<String>, Option<String>)> =
        BTreeMap::new();
    for f in &files {
        let rel: Vec<String> = f
            .location
            .prefix_match(&wh.prefix)
            .map(|p| p.map(|x| x.as_ref().to_string()).collect())
            .unwrap_or_default();
        if rel.len() < 2
            || rel[0].starts_with('_')
            || !rel.last().is_some_and(|n| n.ends_with(".parquet"))
        {
            continue;
        }
        let e = tables.entry(rel[0].clone()).or_default();
        if rel.len() == 3 {
            e.0.insert(rel[1].clone());
            e.1 = rel[1].split_once('=').map(|(k, _)| k.to_string());
        }
    }
    let ctx = SessionContext::new();
    ctx.register_object_store(&wh.store_url, wh.store.clone());
    let mut out = Vec::new();
    for (table, (parts, key)) in tables {
        let t = crate::transform::runner::listing_table(
            &ctx,
            &wh,
            &wh.child(&table),
            key.as_deref(),
            None,
        )
        .await?;
        let df = ctx.read_table(Arc::new(t))?;
        let rows = df.count().await? as u64;
        out.push(TableCount {
            table,
            partitions: parts.len(),
            rows,
        });
    }
    Ok(out)
}
