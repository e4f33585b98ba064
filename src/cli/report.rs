//! `kpi-etl report`: a static HTML page of the marts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;

use super::global::{Global, check_range};
use super::output::out;

/// Write a static HTML page with charts of the KPI marts.
///
/// The page opens without any server.
///
/// Example: kpi-etl report --warehouse ./demo/warehouse --from 2026-10-19 --to 2026-10-25 --out report.html
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First local date (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: NaiveDate,
    /// Last local date, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: NaiveDate,
    /// Output file.
    #[arg(long, default_value = "report.html", value_name = "FILE")]
    pub out: PathBuf,
}

impl ReportArgs {
    /// Renders the page and writes it.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        check_range(self.from, self.to)?;
        let html =
            kpi_etl::consumers::report::render(g.warehouse()?, g.timezone, self.from, self.to)
                .await?;
        std::fs::write(&self.out, html)
            .with_context(|| format!("cannot write {}", self.out.display()))?;
        out!("wrote {}", self.out.display())?;
        Ok(())
    }
}
