//! The command line: one file per command, each an `Args` struct (what clap parses) with its
//! own `execute` (what it does, on top of the library). Shared options are in [`global`],
//! printing in [`output`] and [`summary`], the terminal's progress bar in [`progress`].

pub mod backfill;
pub mod bigquery_ddl;
pub mod demo;
pub mod docs;
pub mod explain;
pub mod export;
pub mod generate;
pub mod global;
pub mod init;
pub mod output;
pub mod progress;
pub mod query;
pub mod report;
pub mod run;
pub mod summary;
pub mod test;
pub mod validate;

use anyhow::Result;
use clap::{Parser, Subcommand};

use global::Global;

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

/// The commands; each one's help is the doc of its `Args` struct.
#[derive(Debug, Subcommand)]
pub enum Command {
    Run(run::RunArgs),
    Backfill(backfill::BackfillArgs),
    Generate(generate::GenerateArgs),
    Report(report::ReportArgs),
    Validate(validate::ValidateArgs),
    Test(test::TestArgs),
    Explain(explain::ExplainArgs),
    Docs(docs::DocsArgs),
    Init(init::InitArgs),
    Query(query::QueryArgs),
    #[command(name = "bigquery-ddl")]
    BigqueryDdl(bigquery_ddl::BigqueryDdlArgs),
    Export(export::ExportArgs),
    Demo(demo::DemoArgs),
}

impl Command {
    /// Runs the command.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        match self {
            Command::Run(a) => a.execute(g).await,
            Command::Backfill(a) => a.execute(g).await,
            Command::Generate(a) => a.execute(g).await,
            Command::Report(a) => a.execute(g).await,
            Command::Validate(a) => a.execute(g).await,
            Command::Test(a) => a.execute(g).await,
            Command::Explain(a) => a.execute(g).await,
            Command::Docs(a) => a.execute(g).await,
            Command::Init(a) => a.execute(g).await,
            Command::Query(a) => a.execute(g).await,
            Command::BigqueryDdl(a) => a.execute(g).await,
            Command::Export(a) => a.execute(g).await,
            Command::Demo(a) => a.execute(g).await,
        }
    }
}

/// The process exit code of a command's error.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    e.chain()
        .find_map(|c| c.downcast_ref::<kpi_etl::Error>())
        .map(kpi_etl::Error::exit_code)
        .unwrap_or(kpi_etl::error::exit::FAILURE)
}
