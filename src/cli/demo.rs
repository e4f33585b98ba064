//! `kpi-etl demo`: the embedded default, with nothing to configure.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use kpi_etl::run::{Settings, backfill};
use kpi_etl::warehouse::Warehouse;

use super::generate::GenerateArgs;
use super::global::{Global, PII_KEY_ENV};
use super::output::out;
use super::{progress::Bar, summary};

/// The fixed key `demo` uses, so that it runs with nothing configured. Never for real data.
pub const DEMO_PII_KEY: &str = "kpi-etl-demo-key-not-a-secret";

/// The demo week: Monday 2026-10-19 to Sunday 2026-10-25, the Madrid DST fall-back day.
const DEMO_WEEK: ((i32, u32, u32), (i32, u32, u32)) = ((2026, 10, 19), (2026, 10, 25));

/// The demo's closing table: the sales KPIs of the week per first-contact channel, ratios
/// re-aggregated from their numerators and denominators.
const HEADLINE_SQL: &str = "
SELECT
    channel,
    SUM(leads_created) AS leads,
    SUM(opportunities_created) AS opportunities,
    SUM(opportunities_won) AS won,
    ROUND(SUM(opportunities_won) / NULLIF(CAST(SUM(opportunities_won + opportunities_lost) AS DOUBLE), 0), 3) AS win_rate,
    SUM(won_amount) AS won_amount,
    SUM(orders) AS orders,
    ROUND(CAST(SUM(order_amount) AS DOUBLE) / NULLIF(SUM(orders), 0), 2) AS avg_order_value
FROM kpi_sales_daily
GROUP BY channel
ORDER BY leads DESC, channel";

/// The embedded default: a week of sample data through the pipeline, with a summary.
///
/// Generates ./demo/raw, runs every night into ./demo/warehouse and prints the tables and the
/// headline KPIs. Nothing to configure.
///
/// Example: kpi-etl demo
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Calls per day of the sample data.
    #[arg(long, default_value_t = 2000)]
    pub calls_per_day: u64,
    /// Folder for the sample landing zone and warehouse.
    #[arg(long, default_value = "demo", value_name = "DIR")]
    pub dir: PathBuf,
}

impl DemoArgs {
    /// Generates the week, runs every night, prints tables and headline KPIs.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let ((fy, fm, fd), (ty, tm, td)) = DEMO_WEEK;
        let from = NaiveDate::from_ymd_opt(fy, fm, fd).expect("valid date");
        let to = NaiveDate::from_ymd_opt(ty, tm, td).expect("valid date");
        let raw = self.dir.join("raw");
        let warehouse = self.dir.join("warehouse");
        out!(
            "demo: using the fixed development key for personal data (set {PII_KEY_ENV} for real data)"
        )?;
        out!(
            "demo: generating {from}..{to} at {} calls/day into {}",
            self.calls_per_day,
            raw.display()
        )?;
        GenerateArgs {
            out: raw.to_string_lossy().into_owned(),
            from,
            to,
            calls_per_day: self.calls_per_day,
            seed: 42,
        }
        .execute(g)
        .await?;
        let s = Settings {
            raw: raw.to_string_lossy().into_owned(),
            warehouse: warehouse.to_string_lossy().into_owned(),
            pipeline: g.pipeline.clone(),
            timezone: g.timezone,
            pii_key: DEMO_PII_KEY.as_bytes().to_vec(),
        };
        out!(
            "demo: running the nightly pipeline for each day into {}",
            warehouse.display()
        )?;
        let summaries = backfill(&s, from, to, &Bar::new()).await?;
        summary::print_totals(&summaries)?;
        let wh = Warehouse::open(&s.warehouse)?;
        summary::print_tables(&wh.counts().await?)?;
        out!("\nHeadline KPIs by first-contact channel, {from} to {to}:")?;
        let (ctx, _) = wh.session(g.timezone).await?;
        super::query::print_query(&ctx, HEADLINE_SQL).await?;
        out!(
            "demo: done. Query the Parquet under {} with any engine (BigQuery, DuckDB, DataFusion).",
            warehouse.display()
        )?;
        Ok(())
    }
}
