//! The run's own tables, which models read like any other: the landing date
//! (`pipeline_run`), the dialplan contexts of the pipeline file (`pipeline_contexts`) and the
//! service-level thresholds (`pipeline_service_levels`). They keep the models plain SQL: a
//! model joins on its settings instead of having them pasted into its text.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::config::PipelineConfig;
use crate::error::Result;

/// `pipeline_contexts (dcontext, direction)`: the dialplan contexts and their direction.
pub const CONTEXTS_TABLE: &str = "pipeline_contexts";
/// `pipeline_run (landing_date)`: the landing dates the run processes (one for a night, every
/// date of the range for a full refresh).
pub const RUN_TABLE: &str = "pipeline_run";
/// `pipeline_service_levels (channel_group, threshold_s)`.
pub const SERVICE_LEVELS_TABLE: &str = "pipeline_service_levels";

/// The name and schema of every run table.
pub fn schemas() -> Vec<(&'static str, SchemaRef)> {
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

/// The run tables' rows for a pipeline and the run's landing dates.
pub fn batches(
    config: &PipelineConfig,
    dates: &[NaiveDate],
) -> Result<Vec<(&'static str, RecordBatch)>> {
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
    let columns: Vec<(&'static str, Vec<ArrayRef>)> = vec![
        (
            CONTEXTS_TABLE,
            vec![
                Arc::new(StringArray::from(names)),
                Arc::new(StringArray::from(dirs)),
            ],
        ),
        (
            RUN_TABLE,
            vec![Arc::new(Date32Array::from(
                dates
                    .iter()
                    .map(|d| crate::extract::parse::days_since_epoch(*d))
                    .collect::<Vec<_>>(),
            ))],
        ),
        (
            SERVICE_LEVELS_TABLE,
            vec![
                Arc::new(StringArray::from(vec!["voice", "messaging"])),
                Arc::new(Int64Array::from(vec![
                    config.service_level.voice_s,
                    config.service_level.messaging_s,
                ])),
            ],
        ),
    ];
    let schemas = schemas();
    columns
        .into_iter()
        .map(|(name, cols)| {
            let schema = schemas
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.clone())
                .expect("every run table has a schema");
            Ok((name, RecordBatch::try_new(schema, cols)?))
        })
        .collect()
}

/// Registers the run tables in `ctx` (replacing any earlier registration).
pub fn register(ctx: &SessionContext, config: &PipelineConfig, dates: &[NaiveDate]) -> Result<()> {
    for (name, batch) in batches(config, dates)? {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        ctx.deregister_table(name)?;
        ctx.register_table(name, Arc::new(table))?;
    }
    Ok(())
}
