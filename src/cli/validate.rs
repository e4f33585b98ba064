//! `kpi-etl validate`: compile every model, reading no data.

use anyhow::Result;
use clap::Args;

use super::global::Global;
use super::output::out;

/// Check the pipeline file and compile every SQL model, reading no data.
///
/// Every model's SQL, its partitions query and its data tests' tables are planned by DataFusion
/// over empty inputs of the right schemas.
///
/// Example: kpi-etl validate --pipeline pipelines/nightly.toml
#[derive(Debug, Args)]
pub struct ValidateArgs {}

impl ValidateArgs {
    /// Compiles the pipeline and lists its models in run order.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let config = g.pipeline_config()?;
        let models = kpi_etl::transform::compile::compile_alone(&config, g.timezone).await?;
        let tests: usize = models.iter().map(|c| c.model.config.tests.len()).sum();
        out!(
            "{}: {} models compiled, {tests} data tests declared, in run order:",
            config.origin,
            models.len()
        )?;
        for c in &models {
            out!(
                "  {:<28} {:<8} {} columns",
                c.model.name,
                c.model.config.materialized,
                c.schema.fields().len()
            )?;
        }
        Ok(())
    }
}
