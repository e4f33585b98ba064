//! `kpi-etl docs`: the data dictionary and lineage graph.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use kpi_etl::transform::docs::{dictionary_markdown, lineage_mermaid};

use super::global::Global;
use super::output::out;

/// Write a data dictionary and a lineage graph generated from the models.
///
/// The dictionary (Markdown) lists tables, columns, types, descriptions and tests; the lineage
/// graph is Mermaid.
///
/// Example: kpi-etl docs --out docs/generated
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

impl DocsArgs {
    /// Compiles the pipeline and writes both documents.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let config = g.pipeline_config()?;
        let models = kpi_etl::transform::compile::compile_alone(&config, g.timezone).await?;
        let dir = &self.out;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dictionary = dir.join("data-dictionary.md");
        std::fs::write(&dictionary, dictionary_markdown(&models))
            .with_context(|| format!("cannot write {}", dictionary.display()))?;
        let lineage = dir.join("lineage.mmd");
        std::fs::write(&lineage, lineage_mermaid(&models))
            .with_context(|| format!("cannot write {}", lineage.display()))?;
        out!("wrote {} and {}", dictionary.display(), lineage.display())?;
        Ok(())
    }
}
