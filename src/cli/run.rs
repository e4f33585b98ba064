//! `kpi-etl run`: one landing date.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use super::global::{Global, SummaryFormat};
use super::{progress::Bar, summary};

/// Process one landing date: read its raw partitions, stage, publish.
///
/// Example: kpi-etl run --date 2026-11-26 --raw s3://acme-raw/pbx --warehouse s3://acme-dwh/kpi
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The landing date (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: NaiveDate,
    /// How to print the run's summary on stdout: a line for people, or one line of JSON
    /// (Airflow's BashOperator pushes that last line to XCom).
    #[arg(long, env = "KPI_ETL_SUMMARY", value_enum, default_value_t = SummaryFormat::Text)]
    pub summary: SummaryFormat,
}

impl RunArgs {
    /// Runs the night and prints its summary.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let s = g.settings()?;
        let summary = kpi_etl::run::run_date(&s, self.date, &Bar::new()).await?;
        match self.summary {
            SummaryFormat::Text => summary::print_run(&summary)?,
            SummaryFormat::Json => summary::print_run_json(&summary)?,
        }
        Ok(())
    }
}
