//! `kpi-etl backfill`: every landing date of a range, in order.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

use super::global::{Global, SummaryFormat, check_range};
use super::{progress::Bar, summary};

/// Process every landing date of a range in order: the same result as the nightly runs.
///
/// With --full-refresh, every landing partition of the range is read once, every model is
/// computed once over all of it from nothing, and the result replaces the warehouse: what to
/// run after changing a model's SQL.
///
/// Example: kpi-etl backfill --from 2026-11-01 --to 2026-11-26 --raw ./raw --warehouse ./dwh
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// First landing date (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: NaiveDate,
    /// Last landing date, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: NaiveDate,
    /// How to print the summaries on stdout: lines and totals for people, or one line of
    /// JSON per run.
    #[arg(long, env = "KPI_ETL_SUMMARY", value_enum, default_value_t = SummaryFormat::Text)]
    pub summary: SummaryFormat,
    /// Recompute every table from all landed data of the range in one pass and publish the
    /// result as the new warehouse, instead of running the nights one after the other.
    #[arg(long)]
    pub full_refresh: bool,
}

impl BackfillArgs {
    /// Runs the nights and prints their summaries.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        check_range(self.from, self.to)?;
        let s = g.settings()?;
        let summaries = if self.full_refresh {
            vec![kpi_etl::run::full_refresh(&s, self.from, self.to, &Bar::new()).await?]
        } else {
            kpi_etl::run::backfill(&s, self.from, self.to, &Bar::new()).await?
        };
        match self.summary {
            SummaryFormat::Text => {
                for s in &summaries {
                    summary::print_run(s)?;
                }
                summary::print_totals(&summaries)?;
            }
            SummaryFormat::Json => {
                for s in &summaries {
                    summary::print_run_json(s)?;
                }
            }
        }
        Ok(())
    }
}
