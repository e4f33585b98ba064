//! One night as a value: the steps `extract`, `transform`, `test` and `publish`, run in that
//! order over one DataFusion session, with what each step gathered kept for the run's artifacts
//! whether the night succeeds or not.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::Utc;
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::path::Path;

use super::Scope;
use super::artifacts::ModelRun;
use super::rejects::{REJECTS_TABLE, write_rejects};
use super::settings::Settings;
use crate::checks::{TestResult, TestStatus};
use crate::config::PipelineConfig;
use crate::error::{Context, Error, Result};
use crate::extract::{self, RejectSink, Source};
use crate::load::publish::{self, PublishedTable, SuccessMarker};
use crate::load::writer::WrittenTable;
use crate::storage::Location;
use crate::transform::compile::Compiled;
use crate::transform::incremental::staged_table;
use crate::transform::model::Model;
use crate::transform::runner::{ModelResult, Progress, Runner};
use crate::transform::{compile, functions, run_tables};

/// What a night has gathered so far, kept for its artifacts whether it succeeds or not.
#[derive(Debug, Default)]
pub struct NightLog {
    /// Rejected rows and per-file statistics.
    pub sink: RejectSink,
    /// Things an operator should know.
    pub warnings: Vec<String>,
    /// What each model did.
    pub models: Vec<ModelRun>,
    /// Data test results.
    pub tests: Vec<TestResult>,
}

/// One landing date's run, from compiled models to published tables.
pub struct Night<'a> {
    config: &'a PipelineConfig,
    scope: Scope,
    run_id: String,
    raw: Location,
    wh: Location,
    ctx: SessionContext,
    compiled: Vec<Compiled>,
    staging: Path,
    sources: Vec<Source>,
    /// What the steps gathered.
    pub log: NightLog,
}

impl<'a> Night<'a> {
    /// Opens the landing zone and the warehouse, starts the night's session and compiles every
    /// model in it: a SQL error stops the night before any data is read.
    pub async fn prepare(
        settings: &'a Settings,
        config: &'a PipelineConfig,
        scope: Scope,
        run_id: String,
        raw: Location,
        wh: Location,
    ) -> Result<Self> {
        let ctx = session(config.pipeline.memory_limit_mb)?;
        for loc in [&raw, &wh] {
            ctx.register_object_store(&loc.store_url, loc.store.clone());
        }
        functions::register(&ctx, settings.timezone, &settings.pii_key);
        let compiled = compile::compile(config, &ctx).await?;
        let staging = wh.child(&format!("_staging/{run_id}"));
        Ok(Self {
            config,
            scope,
            run_id,
            raw,
            wh,
            ctx,
            compiled,
            staging,
            sources: vec![],
            log: NightLog::default(),
        })
    }

    /// The compiled models, in run order.
    pub fn compiled(&self) -> &[Compiled] {
        &self.compiled
    }

    /// Runs the four steps; on failure nothing is published and the staging area is removed.
    pub async fn run(&mut self, progress: &dyn Progress) -> Result<Vec<PublishedTable>> {
        self.extract().await?;
        let outcome = async {
            let results = self.transform(progress).await?;
            self.test(&results).await?;
            self.publish(&results).await
        }
        .await;
        if outcome.is_err() {
            let _ = publish::remove_prefix(&self.wh, &self.staging).await;
        }
        outcome
    }

    /// Extract: registers the landing partitions of every source (this night's date, or every
    /// date of a full refresh) as one streaming table per source. Fails with
    /// [`Error::NoInput`] when no source has a single file.
    pub async fn extract(&mut self) -> Result<()> {
        let dates = self.scope.dates();
        run_tables::register(&self.ctx, self.config, &dates)?;
        self.sources = extract::sources(self.config)?;
        let mut listed: BTreeMap<String, usize> = BTreeMap::new();
        for s in &self.sources {
            let mut files = Vec::new();
            let mut empty = Vec::new();
            for date in &dates {
                let landing = extract::list_landing(&self.raw, s, *date).await?;
                if landing.files.is_empty() {
                    empty.push(landing.partition.clone());
                }
                for f in &landing.ignored {
                    self.log
                        .warnings
                        .push(format!("ignored {f}: not a {} file", s.name));
                }
                files.extend(landing.files.into_iter().map(|f| (f, *date)));
            }
            extract::register_raw_table(
                &self.ctx,
                &self.raw,
                s,
                &files,
                &self.log.sink,
                self.config.pipeline.batch_size,
            )?;
            // Sources sharing a folder (WhatsApp messages and statuses) are reported once.
            if !listed.contains_key(&s.dir) {
                match empty.as_slice() {
                    [] => {}
                    [one] => self
                        .log
                        .warnings
                        .push(format!("no {} files landed in {one}", s.name)),
                    [first, ..] => self.log.warnings.push(format!(
                        "no {} files landed in {} of the {} landing partitions (the first: {first})",
                        s.name,
                        empty.len(),
                        dates.len()
                    )),
                }
            }
            *listed.entry(s.dir.clone()).or_default() += files.len();
        }
        self.log.warnings.dedup();
        for w in &self.log.warnings {
            tracing::warn!("{w}");
        }
        if listed.values().all(|n| *n == 0) {
            return Err(Error::NoInput {
                date: self.scope.last(),
                detail: format!("no file in any source partition under {}", self.raw.display),
            });
        }
        Ok(())
    }

    /// Transform: runs every model, staging its output under `_staging/<run_id>/`.
    pub async fn transform(&mut self, progress: &dyn Progress) -> Result<Vec<ModelResult>> {
        let models: Vec<Model> = self.compiled.iter().map(|c| c.model.clone()).collect();
        let scratch = Scratch::new(&self.wh, &self.staging);
        self.ctx
            .register_object_store(&scratch.location.store_url, scratch.location.store.clone());
        let runner = Runner {
            ctx: &self.ctx,
            warehouse: &self.wh,
            staging: self.staging.clone(),
            scratch: &scratch.location,
            fresh: self.scope.is_full_refresh(),
        };
        let recorder = Recorder {
            inner: progress,
            runs: Mutex::new(vec![]),
        };
        let outcome = runner.run_all(&models, &recorder).await;
        self.log.models = recorder.runs.into_inner().unwrap_or_default();
        outcome
    }

    /// Test: the data tests of every model, on the rows it staged. Error-severity failures fail
    /// the night with [`Error::DataTestsFailed`].
    pub async fn test(&mut self, results: &[ModelResult]) -> Result<()> {
        let read = rows_read_per_table(&self.sources, &self.log.sink);
        for (c, r) in self.compiled.iter().zip(results) {
            let m = &c.model;
            if m.config.tests.is_empty() {
                continue;
            }
            let staged = self
                .ctx
                .table_provider(staged_table(&m.name).as_str())
                .await?;
            crate::checks::register_this(&self.ctx, staged)?;
            for t in &m.config.tests {
                let counts = t
                    .reconcile
                    .as_ref()
                    .and_then(|src| read.get(src).map(|n| (*n, r.new_rows)));
                let result = crate::checks::run_test(&self.ctx, &m.name, t, counts)
                    .await
                    .with_context(|| format!("data test {} of {}", t.display_name(), m.label()))?;
                tracing::info!(model = %m.name, test = %result.test, status = %result.status, failing = result.failing_rows, "data test");
                self.log.tests.push(result);
            }
        }
        for t in self
            .log
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::Warn)
        {
            self.log.warnings.push(format!(
                "data test {} on {} found {} rows",
                t.test, t.model, t.failing_rows
            ));
        }
        let failed: Vec<String> = self
            .log
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
            return Err(Error::DataTestsFailed(failed.join("; ")));
        }
        Ok(())
    }

    /// Publish: the staged tables and the `rejects` partition into place, then `_SUCCESS`,
    /// then the staging area removed.
    pub async fn publish(&mut self, results: &[ModelResult]) -> Result<Vec<PublishedTable>> {
        let mut tables: Vec<(String, WrittenTable)> = results
            .iter()
            .map(|r| (r.model.clone(), r.written.clone()))
            .collect();
        tables.push((
            REJECTS_TABLE.to_string(),
            write_rejects(&self.wh, &self.staging, &self.log.sink, &self.scope.dates()).await?,
        ));
        let published = publish::publish(&self.wh, &self.staging, &tables).await?;
        if self.scope.is_full_refresh() {
            // The result is the whole new warehouse: what it does not hold goes.
            publish::remove_unlisted(&self.wh, &tables).await?;
        }
        publish::mark_success(
            &self.wh,
            &SuccessMarker {
                run_id: &self.run_id,
                landing_date: self.scope.to_string(),
                finished_at: Utc::now().to_rfc3339(),
                published: published.clone(),
            },
        )
        .await?;
        // Everything is published: a staging area left behind is untidy, not a failed run.
        if let Err(e) = publish::remove_prefix(&self.wh, &self.staging).await {
            tracing::warn!(
                "published, but cannot remove the staging area: {}",
                crate::error::describe(&e)
            );
        }
        Ok(published)
    }
}

/// Records each model's [`ModelRun`] and passes the news on.
struct Recorder<'p> {
    inner: &'p dyn Progress,
    runs: Mutex<Vec<ModelRun>>,
}

impl Progress for Recorder<'_> {
    fn started(&self, model: &Model, index: usize, total: usize) {
        self.inner.started(model, index, total);
    }

    fn finished(&self, model: &Model, r: &ModelResult) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.push(ModelRun {
                model: model.name.clone(),
                materialized: model.config.materialized,
                strategy: model.config.strategy,
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
        }
        self.inner.finished(model, r);
    }
}

/// Where a night's intermediate rows go: `_scratch/` inside the night's own staging area, on
/// the warehouse's store, so they are removed with it (or by the next run's cleanup after a
/// crash) and nothing is ever written under `$TMPDIR`.
struct Scratch {
    location: Location,
}

impl Scratch {
    fn new(wh: &Location, staging: &Path) -> Self {
        Self {
            location: Location {
                prefix: crate::storage::join(staging, "_scratch"),
                ..wh.clone()
            },
        }
    }
}

/// Rows each raw table yielded this night, for the `reconcile` data tests.
fn rows_read_per_table(sources: &[Source], sink: &RejectSink) -> BTreeMap<String, u64> {
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

/// A DataFusion session for one night: sorts and aggregations spill to local disk past
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
