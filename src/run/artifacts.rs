//! Run artifacts, written for every run (success or failure) to `<warehouse>/_runs/<run_id>/`:
//!
//! - `run_results.json`: what ran, what it read, what it rejected and why it failed. Schema:
//!   `run_id`, `landing_date`, `status` (`success`, `failed`, `data_tests_failed`, `no_input`),
//!   `started_at`, `finished_at` (RFC 3339 UTC), `elapsed_ms`, `arguments` (raw, warehouse,
//!   pipeline, timezone), `inputs` (one per file: `source`, `file`, `bytes`, `rows`,
//!   `rejected`), `rejects` (per source: `count` and up to five `examples` with `file`, `line`,
//!   `column`, `reason`), `models` (per model: `model`, `materialized`, `strategy`, `new_rows`,
//!   `rows_written`, `partitions`, `elapsed_ms`), `data_tests` (per test: `model`, `test`,
//!   `severity`, `status`, `failing_rows`, `examples`, `detail`), `warnings`, `error`.
//! - `manifest.json`: the model graph: per model its `file`, `description`, `materialized`,
//!   `strategy`, `partition_column`, `unique_key`, `inputs` (tables it reads), `output` (the table
//!   it writes), `schema` (column `name`, `type`, `nullable`) and `tests`.
//!
//! A rejected row is traced to its file and line through `rejects` here and the `rejects` table.

use std::collections::BTreeMap;

use object_store::ObjectStoreExt;
use serde::Serialize;

use crate::checks::TestResult;
use crate::error::{Context, Error, Result};
use crate::extract::{FileStats, Reject};
use crate::storage::Location;
use crate::transform::compile::Compiled;
use crate::transform::model::{Materialized, Strategy};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Everything was published.
    Success,
    /// The run failed; nothing was published.
    Failed,
    /// Error-severity data tests failed; nothing was published.
    DataTestsFailed,
    /// No input landed for the date; nothing was published.
    NoInput,
}

impl RunStatus {
    /// The status of a run that ended with `outcome`.
    pub fn of<T>(outcome: &Result<T>) -> Self {
        match outcome {
            Ok(_) => RunStatus::Success,
            Err(e) => match e.root() {
                Error::NoInput { .. } => RunStatus::NoInput,
                Error::DataTestsFailed(_) => RunStatus::DataTestsFailed,
                _ => RunStatus::Failed,
            },
        }
    }
}

/// The arguments of a run, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Arguments {
    /// Raw landing zone URL.
    pub raw: String,
    /// Warehouse URL.
    pub warehouse: String,
    /// Pipeline file.
    pub pipeline: String,
    /// Business timezone.
    pub timezone: String,
}

/// Rejects of one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRejects {
    /// How many.
    pub count: u64,
    /// The first few, traceable to their file and line.
    pub examples: Vec<RejectExample>,
}

/// A rejected row, without its content.
#[derive(Debug, Clone, Serialize)]
pub struct RejectExample {
    /// File.
    pub file: String,
    /// Line.
    pub line: u64,
    /// Column at fault.
    pub column: Option<String>,
    /// Reason.
    pub reason: String,
}

/// What one model did.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRun {
    /// Model (table) name.
    pub model: String,
    /// daily, monthly or table.
    pub materialized: Materialized,
    /// merge or replace.
    pub strategy: Strategy,
    /// Rows the model's query produced.
    pub new_rows: u64,
    /// Rows in the partitions written.
    pub rows_written: u64,
    /// Partitions written.
    pub partitions: Vec<String>,
    /// Wall time.
    pub elapsed_ms: u128,
}

/// `run_results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunResults {
    /// Run id.
    pub run_id: String,
    /// Landing date.
    pub landing_date: String,
    /// How it ended.
    pub status: RunStatus,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End, RFC 3339 UTC.
    pub finished_at: String,
    /// Wall time.
    pub elapsed_ms: u128,
    /// The arguments.
    pub arguments: Arguments,
    /// Every input file.
    pub inputs: Vec<FileStats>,
    /// Rejects per source.
    pub rejects: BTreeMap<String, SourceRejects>,
    /// Per model.
    pub models: Vec<ModelRun>,
    /// Data test results.
    pub data_tests: Vec<TestResult>,
    /// Warnings (missing source partitions, ignored files, warn-severity tests).
    pub warnings: Vec<String>,
    /// The error, when the run failed.
    pub error: Option<String>,
}

/// Rejects grouped per source with a few examples.
pub fn group_rejects(rejects: &[Reject]) -> BTreeMap<String, SourceRejects> {
    let mut out: BTreeMap<String, SourceRejects> = BTreeMap::new();
    for r in rejects {
        let e = out.entry(r.source.clone()).or_insert(SourceRejects {
            count: 0,
            examples: vec![],
        });
        e.count += 1;
        if e.examples.len() < 5 {
            e.examples.push(RejectExample {
                file: r.file.clone(),
                line: r.line,
                column: r.column.clone(),
                reason: r.reason.clone(),
            });
        }
    }
    out
}

/// A column in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestColumn {
    /// Name.
    pub name: String,
    /// Arrow type as DataFusion prints it.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// A model in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestModel {
    /// The model's table.
    pub output: String,
    /// Its SQL file.
    pub file: String,
    /// What the table holds.
    pub description: String,
    /// daily, monthly or table.
    pub materialized: Materialized,
    /// merge or replace.
    pub strategy: Strategy,
    /// dt, month or none.
    pub partition_column: Option<String>,
    /// The natural key of a merge.
    pub unique_key: Vec<String>,
    /// Tables it reads.
    pub inputs: Vec<String>,
    /// Its columns.
    pub schema: Vec<ManifestColumn>,
    /// Its data tests.
    pub tests: Vec<crate::checks::DataTest>,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Models in run order.
    pub models: Vec<ManifestModel>,
}

impl Manifest {
    /// The manifest of compiled models.
    pub fn of(compiled: &[Compiled]) -> Self {
        let models = compiled
            .iter()
            .map(|c| {
                let m = &c.model;
                ManifestModel {
                    output: m.name.clone(),
                    file: m.file.clone(),
                    description: m.config.description.clone(),
                    materialized: m.config.materialized,
                    strategy: m.config.strategy,
                    partition_column: m.config.materialized.partition_column().map(str::to_string),
                    unique_key: m.config.unique_key.clone(),
                    inputs: m.reads.iter().cloned().collect(),
                    schema: c
                        .schema
                        .fields()
                        .iter()
                        .map(|f| ManifestColumn {
                            name: f.name().clone(),
                            data_type: f.data_type().to_string(),
                            nullable: f.is_nullable(),
                        })
                        .collect(),
                    tests: m.config.tests.clone(),
                }
            })
            .collect();
        Self { models }
    }
}

/// Writes both artifacts under `<warehouse>/_runs/<run_id>/`.
pub async fn write(wh: &Location, results: &RunResults, manifest: Option<&Manifest>) -> Result<()> {
    let dir = format!("_runs/{}", results.run_id);
    let path = wh.child(&format!("{dir}/run_results.json"));
    wh.store
        .put(&path, serde_json::to_vec_pretty(results)?.into())
        .await
        .with_context(|| format!("cannot write {}", wh.show(&path)))?;
    if let Some(m) = manifest {
        let path = wh.child(&format!("{dir}/manifest.json"));
        wh.store
            .put(&path, serde_json::to_vec_pretty(m)?.into())
            .await
            .with_context(|| format!("cannot write {}", wh.show(&path)))?;
    }
    Ok(())
}
