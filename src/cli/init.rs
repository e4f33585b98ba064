//! `kpi-etl init`: an editable copy of the embedded pipeline.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::global::Global;
use super::output::out;

/// Write an editable copy of the pipeline embedded in the binary.
///
/// Writes nightly.toml, the SQL models and their unit cases into a folder, to change and run
/// with --pipeline DIR/nightly.toml.
///
/// Example: kpi-etl init my-pipeline && kpi-etl validate --pipeline my-pipeline/nightly.toml
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write (created if missing; it must not hold a nightly.toml yet).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

impl InitArgs {
    /// Writes the files.
    pub async fn execute(&self, _g: &Global) -> Result<()> {
        let files = kpi_etl::config::write_embedded(&self.dir)?;
        out!(
            "wrote {} files of the embedded pipeline into {}; run it with --pipeline {}",
            files.len(),
            self.dir.display(),
            self.dir.join("nightly.toml").display()
        )?;
        Ok(())
    }
}
