//! Options shared by every command, and what commands derive from them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use chrono_tz::Tz;
use clap::{Args, ValueEnum};
use kpi_etl::config::PipelineConfig;
use kpi_etl::run::Settings;

/// The environment variable holding the key of the keyed hash of personal data.
pub const PII_KEY_ENV: &str = "KPI_ETL_PII_KEY";

/// Options shared by every command, each also settable from the environment.
#[derive(Debug, Args)]
pub struct Global {
    /// Raw landing zone URL.
    #[arg(long, env = "KPI_ETL_RAW", global = true, value_name = "URL")]
    pub raw: Option<String>,
    /// Warehouse URL.
    #[arg(long, env = "KPI_ETL_WAREHOUSE", global = true, value_name = "URL")]
    pub warehouse: Option<String>,
    /// Pipeline configuration file. When the default file does not exist, the pipeline
    /// embedded in the binary runs (`kpi-etl init DIR` writes an editable copy of it).
    #[arg(
        long,
        env = "KPI_ETL_PIPELINE",
        global = true,
        value_name = "FILE",
        default_value = kpi_etl::config::DEFAULT_PIPELINE
    )]
    pub pipeline: PathBuf,
    /// Business timezone: every local date and KPI day is in this zone.
    #[arg(
        long,
        env = "KPI_ETL_TIMEZONE",
        global = true,
        value_name = "TZ",
        default_value = "Europe/Madrid"
    )]
    pub timezone: Tz,
    /// Log format: human-readable text, or one JSON object per line (for Airflow).
    #[arg(long, env = "KPI_ETL_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Formats of a run's summary on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// One line for people (and totals after a backfill).
    Text,
    /// One JSON object per run, on one line.
    Json,
}

impl Global {
    /// The `--warehouse` URL, required by every command that reads the warehouse.
    pub fn warehouse(&self) -> Result<&str> {
        self.warehouse
            .as_deref()
            .context("--warehouse (or KPI_ETL_WAREHOUSE) is required")
    }

    /// The pipeline file, or the embedded pipeline.
    pub fn pipeline_config(&self) -> Result<PipelineConfig> {
        Ok(PipelineConfig::load_or_embedded(&self.pipeline)?)
    }

    /// The settings of a run or backfill, with the key of personal data from the environment.
    pub fn settings(&self) -> Result<Settings> {
        let raw = self
            .raw
            .clone()
            .context("--raw (or KPI_ETL_RAW) is required")?;
        Ok(Settings {
            raw,
            warehouse: self.warehouse()?.to_string(),
            pipeline: self.pipeline.clone(),
            timezone: self.timezone,
            pii_key: pii_key_from_env()?,
        })
    }
}

fn pii_key_from_env() -> Result<Vec<u8>> {
    match std::env::var(PII_KEY_ENV) {
        Ok(k) if !k.is_empty() => Ok(k.into_bytes()),
        _ => bail!(
            "{PII_KEY_ENV} is not set: it is the secret key of the keyed hash that replaces customer \
             phone numbers in the warehouse. Set it (e.g. from your secrets manager) and run again."
        ),
    }
}

/// A `--from`/`--to` pair in order.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<()> {
    if from > to {
        return Err(kpi_etl::Error::Usage(format!("--from {from} is after --to {to}")).into());
    }
    Ok(())
}
