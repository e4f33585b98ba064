//! One nightly run, from a landing date's raw partitions to a published warehouse
//! ([`night::Night`]), its artifacts ([`artifacts`]), and backfills as the same runs in date
//! order.

pub mod artifacts;
pub mod night;
pub mod rejects;
mod settings;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use serde::Serialize;

use crate::config::PipelineConfig;
use crate::error::{Context, Result};
use crate::load::publish::PublishedTable;
use crate::storage::Location;
use crate::transform::runner::Progress;
use artifacts::RunStatus;
use night::Night;

pub use rejects::REJECTS_TABLE;
pub use settings::Settings;

/// Which landing dates a run processes, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One night: the landing date's partitions, combined with the published warehouse.
    Night(NaiveDate),
    /// Every landing date of `from..=to` read once, every model computed once over all of it
    /// from nothing, and the result published as the new warehouse (dbt's `--full-refresh`).
    FullRefresh {
        /// First landing date.
        from: NaiveDate,
        /// Last landing date, inclusive.
        to: NaiveDate,
    },
}

impl Scope {
    /// The landing dates, in order.
    pub fn dates(&self) -> Vec<NaiveDate> {
        match *self {
            Scope::Night(d) => vec![d],
            Scope::FullRefresh { from, to } => from.iter_days().take_while(|d| *d <= to).collect(),
        }
    }

    /// The last landing date.
    pub fn last(&self) -> NaiveDate {
        match *self {
            Scope::Night(d) => d,
            Scope::FullRefresh { to, .. } => to,
        }
    }

    /// Whether it is a full refresh.
    pub fn is_full_refresh(&self) -> bool {
        matches!(self, Scope::FullRefresh { .. })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Night(d) => write!(f, "{d}"),
            Scope::FullRefresh { from, to } => write!(f, "{from}..{to}"),
        }
    }
}

/// What one source contributed to a run.
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Landing date processed (the last one, for a full refresh).
    pub landing_date: NaiveDate,
    /// Whether it was a full refresh of every date up to `landing_date`.
    pub full_refresh: bool,
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

/// Runs the pipeline for one landing date and publishes the result, telling `progress` about
/// each model.
///
/// Whatever happens once the warehouse is reachable, `_runs/<run_id>/run_results.json` and
/// `manifest.json` record it. The error's [`crate::error::Error::exit_code`] tells the outcomes
/// with their own exit code (invalid pipeline, no input, data tests failed).
pub async fn run_date(
    settings: &Settings,
    date: NaiveDate,
    progress: &dyn Progress,
) -> Result<RunSummary> {
    run(settings, Scope::Night(date), progress).await
}

/// Recomputes every table from all landed data of `from..=to` in one pass and publishes it as
/// the new warehouse: what a user runs after changing a model, and the oracle of the nightly
/// runs (after them, every table must be equal to this).
pub async fn full_refresh(
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    progress: &dyn Progress,
) -> Result<RunSummary> {
    run(settings, Scope::FullRefresh { from, to }, progress).await
}

/// Runs the pipeline over `scope` and publishes the result.
pub async fn run(settings: &Settings, scope: Scope, progress: &dyn Progress) -> Result<RunSummary> {
    let date = scope.last();
    let started = Instant::now();
    let started_at = Utc::now();
    let config = PipelineConfig::load_or_embedded(&settings.pipeline)?;
    let raw = Location::open_existing(&settings.raw).context("raw landing zone")?;
    let wh = Location::open(&settings.warehouse).context("warehouse")?;
    let run_id = match scope {
        Scope::Night(d) => format!("{}_{}", d, started_at.format("%Y%m%dT%H%M%S%3fZ")),
        Scope::FullRefresh { from, to } => format!(
            "full-refresh_{from}_{to}_{}",
            started_at.format("%Y%m%dT%H%M%S%3fZ")
        ),
    };
    tracing::info!(%run_id, raw = %raw.display, warehouse = %wh.display, "run starting");
    let arguments = artifacts::Arguments {
        raw: raw.display.clone(),
        warehouse: wh.display.clone(),
        pipeline: config.origin.to_string(),
        timezone: settings.timezone.to_string(),
    };
    let mut night =
        Night::prepare(settings, &config, scope, run_id.clone(), raw, wh.clone()).await?;
    let manifest = artifacts::Manifest::of(night.compiled());
    let outcome = night.run(progress).await;
    let log = &night.log;
    let results = artifacts::RunResults {
        run_id: run_id.clone(),
        landing_date: scope.to_string(),
        status: RunStatus::of(&outcome),
        started_at: started_at.to_rfc3339(),
        finished_at: Utc::now().to_rfc3339(),
        elapsed_ms: started.elapsed().as_millis(),
        arguments,
        inputs: log.sink.files(),
        rejects: artifacts::group_rejects(&log.sink.rejects()),
        models: log.models.clone(),
        data_tests: log.tests.clone(),
        warnings: log.warnings.clone(),
        error: outcome.as_ref().err().map(|e| crate::error::describe(e)),
    };
    if let Err(e) = artifacts::write(&wh, &results, Some(&manifest)).await {
        tracing::error!(
            "cannot write the run artifacts: {}",
            crate::error::describe(&e)
        );
    }
    let published = outcome?;
    Ok(RunSummary {
        run_id,
        landing_date: date,
        full_refresh: scope.is_full_refresh(),
        sources: per_source(&log.sink),
        published,
        rejects: log.sink.rejects().len() as u64,
        warnings: log.warnings.clone(),
        millis: started.elapsed().as_millis(),
    })
}

/// Files, bytes, rows and rejects per source.
fn per_source(sink: &crate::extract::RejectSink) -> Vec<SourceSummary> {
    fn named(source: &str) -> SourceSummary {
        SourceSummary {
            source: source.to_string(),
            ..SourceSummary::default()
        }
    }
    let mut out: BTreeMap<String, SourceSummary> = BTreeMap::new();
    for f in sink.files() {
        let e = out
            .entry(f.source.clone())
            .or_insert_with(|| named(&f.source));
        e.files += 1;
        e.bytes += f.bytes;
        e.rows += f.rows;
    }
    for (source, n) in sink.counts() {
        out.entry(source.clone())
            .or_insert_with(|| named(&source))
            .rejected = n;
    }
    out.into_values().collect()
}

/// Runs every landing date from `from` to `to` in order, as the nightly runs would.
pub async fn backfill(
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    progress: &dyn Progress,
) -> Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(
            run_date(settings, d, progress)
                .await
                .with_context(|| format!("run for {d}"))?,
        );
        d = d.succ_opt().context("date out of range")?;
    }
    Ok(out)
}
