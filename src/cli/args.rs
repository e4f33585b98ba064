//! The command line, as Airflow and scripts call it. Parsing only: no logic lives here.

use std::path::PathBuf;

use chrono::NaiveDate;
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// kpi-etl: contact-centre telephony and CRM dumps into a sales-KPI warehouse.
///
/// Reads the raw PBX dumps (Asterisk CDR and queue_log, WhatsApp webhooks) and Salesforce exports
/// of a landing date from object storage, stages them with DataFusion and writes hive-partitioned
/// Parquet that BigQuery external tables read.
#[derive(Debug, Parser)]
#[command(name = "kpi-etl", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the run failed (unreadable input, storage or model error); nothing was published
  2  bad usage or configuration (including a model that does not compile)
  3  data tests failed; nothing was published
  4  no input landed for that date (Airflow can map it to a skip); nothing was published

Storage URLs: a local path, file://PATH, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or
az://CONTAINER/PREFIX; credentials from each cloud's standard environment variables
(AWS_*, e.g. AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true for an S3-compatible store;
GOOGLE_APPLICATION_CREDENTIALS; AZURE_STORAGE_*).";

/// Options shared by every command, each also settable from the environment.
#[derive(Debug, Args)]
pub struct Global {
    /// Raw landing zone URL.
    #[arg(long, env = "KPI_ETL_RAW", global = true, value_name = "URL")]
    pub raw: Option<String>,
    /// Warehouse URL.
    #[arg(long, env = "KPI_ETL_WAREHOUSE", global = true, value_name = "URL")]
    pub warehouse: Option<String>,
    /// Pipeline configuration file.
    #[arg(
        long,
        env = "KPI_ETL_PIPELINE",
        global = true,
        value_name = "FILE",
        default_value = "pipelines/nightly.toml"
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

/// Spreadsheet file formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process one landing date: read its raw partitions, stage, publish.
    ///
    /// Example: kpi-etl run --date 2026-11-26 --raw s3://acme-raw/pbx --warehouse s3://acme-dwh/kpi
    Run {
        /// The landing date (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: NaiveDate,
        /// How to print the run's summary on stdout: a line for people, or one line of JSON
        /// (Airflow's BashOperator pushes that last line to XCom).
        #[arg(long, env = "KPI_ETL_SUMMARY", value_enum, default_value_t = SummaryFormat::Text)]
        summary: SummaryFormat,
    },
    /// Process every landing date of a range in order: the same result as the nightly runs.
    ///
    /// Example: kpi-etl backfill --from 2026-11-01 --to 2026-11-26 --raw ./raw --warehouse ./dwh
    Backfill {
        /// First landing date (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last landing date, inclusive (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// How to print the summaries on stdout: lines and totals for people, or one line of
        /// JSON per run.
        #[arg(long, env = "KPI_ETL_SUMMARY", value_enum, default_value_t = SummaryFormat::Text)]
        summary: SummaryFormat,
    },
    /// Write a realistic raw landing zone in the formats of the raw contract.
    ///
    /// Deterministic for a seed. Includes the contract's hazards: multi-leg calls, calls across
    /// midnight, the DST change, late and duplicate rows, non-UTF-8 caller names, edited and
    /// deleted CRM records, and a few malformed rows.
    ///
    /// Example: kpi-etl generate --out ./raw --from 2026-10-19 --to 2026-10-25 --calls-per-day 100000
    Generate {
        /// Where to write (a storage URL).
        #[arg(long, value_name = "URL")]
        out: String,
        /// First landing date (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last landing date, inclusive (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// Calls per day.
        #[arg(long, default_value_t = 2000)]
        calls_per_day: u64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Write a static HTML page with charts of the KPI marts, to open without any server.
    ///
    /// Example: kpi-etl report --warehouse ./demo/warehouse --from 2026-10-19 --to 2026-10-25 --out report.html
    Report {
        /// First local date (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last local date, inclusive (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// Output file.
        #[arg(long, default_value = "report.html", value_name = "FILE")]
        out: PathBuf,
    },
    /// Check the pipeline file and compile every SQL model (and its data tests' tables) without
    /// reading any data.
    ///
    /// Example: kpi-etl validate --pipeline pipelines/nightly.toml
    Validate,
    /// Print DataFusion's logical and physical plans of one model.
    ///
    /// Example: kpi-etl explain fact_call
    Explain {
        /// The model (table) name.
        model: String,
    },
    /// Write a data dictionary (tables, columns, types, descriptions, tests) and a lineage graph
    /// (Mermaid), generated from the models.
    ///
    /// Example: kpi-etl docs --out docs/generated
    Docs {
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run a SQL query over the published warehouse and print the result.
    ///
    /// Every table is registered under its name, partition column included.
    ///
    /// Example: kpi-etl query --warehouse ./demo/warehouse "SELECT dt, COUNT(*) FROM stg_cdr GROUP BY dt"
    Query {
        /// The SQL query.
        sql: String,
    },
    /// Print the BigQuery DDL of external tables over every published table.
    ///
    /// Generated from the schemas of the published Parquet files (read from --warehouse):
    /// explicit columns, the hive partition column (dt or month, a DATE), a required partition
    /// filter on fact tables, NUMERIC for DECIMAL money. With --connection the tables are BigLake
    /// tables with a manually refreshed metadata cache, and --refresh prints the statements that
    /// refresh it (what the nightly job runs after each run).
    ///
    /// Example: kpi-etl bigquery-ddl --project acme-dwh --dataset kpi --warehouse gs://acme-dwh/kpi
    #[command(name = "bigquery-ddl")]
    BigqueryDdl {
        /// Google Cloud project of the dataset.
        #[arg(long)]
        project: String,
        /// BigQuery dataset.
        #[arg(long)]
        dataset: String,
        /// The warehouse root as BigQuery reads it, when --warehouse is another copy of it (e.g.
        /// a local mirror). Default: the --warehouse URL, which must then be gs:// or s3://.
        #[arg(long, value_name = "URL")]
        uri_prefix: Option<String>,
        /// A BigQuery connection (PROJECT.REGION.CONNECTION): create BigLake tables with a
        /// manually refreshed metadata cache.
        #[arg(long, value_name = "ID")]
        connection: Option<String>,
        /// How stale the BigLake metadata cache may be (a BigQuery interval, e.g. "1 DAY").
        #[arg(long, default_value = "1 DAY", requires = "connection")]
        max_staleness: String,
        /// Print the metadata cache refresh statements (BigLake tables) instead of the DDL.
        #[arg(long, requires = "connection")]
        refresh: bool,
    },
    /// Export a published table, or a date range of it, as CSV or XLSX for spreadsheets.
    ///
    /// The partition column (dt or month) comes first and the rows are ordered by it; --from and
    /// --to select partitions (ignored for a table without partitions). Timestamps are UTC.
    ///
    /// Example: kpi-etl export --table kpi_sales_daily --from 2026-10-01 --to 2026-10-31 --format xlsx --out october.xlsx
    Export {
        /// The table.
        #[arg(long)]
        table: String,
        /// First partition date (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last partition date, inclusive (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// File format.
        #[arg(long, value_enum, default_value_t = FileFormat::Csv)]
        format: FileFormat,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The embedded default: generate a week of sample data into ./demo/raw, run the pipeline
    /// into ./demo/warehouse and print a summary. Nothing to configure.
    ///
    /// Example: kpi-etl demo
    Demo {
        /// Calls per day of the sample data.
        #[arg(long, default_value_t = 2000)]
        calls_per_day: u64,
        /// Folder for the sample landing zone and warehouse.
        #[arg(long, default_value = "demo", value_name = "DIR")]
        dir: PathBuf,
    },
}
