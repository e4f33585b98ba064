//! `kpi-etl explain`: DataFusion's plans of one model.

use anyhow::Result;
use clap::Args;

use super::global::Global;
use super::output::out;

/// Print DataFusion's logical and physical plans of one model.
///
/// Example: kpi-etl explain fact_call
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The model (table) name.
    pub model: String,
}

impl ExplainArgs {
    /// Plans the model over empty inputs and prints the plans.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let config = g.pipeline_config()?;
        let ctx = datafusion::prelude::SessionContext::new();
        kpi_etl::transform::functions::register(&ctx, g.timezone, b"explain");
        let plans = kpi_etl::transform::compile::explain(&config, &ctx, &self.model).await?;
        out!("{plans}")?;
        Ok(())
    }
}
