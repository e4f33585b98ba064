//! `kpi-etl generate`: a sample landing zone.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use kpi_etl::storage::Location;
use kpi_etl_generate::{GenerateOptions, generate};

use super::global::{Global, check_range};
use super::output::out;

/// Write a realistic raw landing zone in the formats of the raw contract.
///
/// Deterministic for a seed. Includes the contract's hazards: multi-leg calls, calls across
/// midnight, the DST change, late and duplicate rows, non-UTF-8 caller names, edited and
/// deleted CRM records, and a few malformed rows.
///
/// Example: kpi-etl generate --out ./raw --from 2026-10-19 --to 2026-10-25 --calls-per-day 100000
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write (a storage URL).
    #[arg(long, value_name = "URL")]
    pub out: String,
    /// First landing date (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: NaiveDate,
    /// Last landing date, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: NaiveDate,
    /// Calls per day.
    #[arg(long, default_value_t = 2000)]
    pub calls_per_day: u64,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl GenerateArgs {
    /// Writes the landing zone and prints what it holds.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        check_range(self.from, self.to)?;
        let loc = Location::open(&self.out)?;
        let opts = GenerateOptions {
            from: self.from,
            to: self.to,
            calls_per_day: self.calls_per_day,
            seed: self.seed,
            timezone: g.timezone,
        };
        let started = std::time::Instant::now();
        let s = generate(loc.store.clone(), &loc.prefix, &opts).await?;
        out!(
            "generated {} files ({} bytes) in {:.1}s: {} CDR rows, {} queue_log rows, {} WhatsApp envelopes, {} CRM rows, {} malformed rows",
            s.files,
            s.bytes,
            started.elapsed().as_secs_f64(),
            s.cdr_rows,
            s.queue_log_rows,
            s.whatsapp_envelopes,
            s.crm_rows,
            s.malformed_rows
        )?;
        Ok(())
    }
}
