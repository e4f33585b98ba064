//! `kpi-etl bigquery-ddl`: external tables over the published Parquet.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use clap::Args;
use kpi_etl::consumers::bigquery::{
    DdlOptions, ExternalTable, create_statement, refresh_statement,
};
use kpi_etl::transform::model::{Model, load_models};
use kpi_etl::warehouse::Warehouse;

use super::global::Global;

/// Print the BigQuery DDL of external tables over every published table.
///
/// Generated from the schemas of the published Parquet files (read from --warehouse):
/// explicit columns, the hive partition column (dt or month, a DATE), a required partition
/// filter on fact tables, NUMERIC for DECIMAL money. With --connection the tables are BigLake
/// tables with a manually refreshed metadata cache, and --refresh prints the statements that
/// refresh it (what the nightly job runs after each run).
///
/// Example: kpi-etl bigquery-ddl --project acme-dwh --dataset kpi --warehouse gs://acme-dwh/kpi
#[derive(Debug, Args)]
pub struct BigqueryDdlArgs {
    /// Google Cloud project of the dataset.
    #[arg(long)]
    pub project: String,
    /// BigQuery dataset.
    #[arg(long)]
    pub dataset: String,
    /// The warehouse root as BigQuery reads it, when --warehouse is another copy of it (e.g.
    /// a local mirror). Default: the --warehouse URL, which must then be gs:// or s3://.
    #[arg(long, value_name = "URL")]
    pub uri_prefix: Option<String>,
    /// A BigQuery connection (PROJECT.REGION.CONNECTION): create BigLake tables with a
    /// manually refreshed metadata cache.
    #[arg(long, value_name = "ID")]
    pub connection: Option<String>,
    /// How stale the BigLake metadata cache may be (a BigQuery interval, e.g. "1 DAY").
    #[arg(long, default_value = "1 DAY", requires = "connection")]
    pub max_staleness: String,
    /// Print the metadata cache refresh statements (BigLake tables) instead of the DDL.
    #[arg(long, requires = "connection")]
    pub refresh: bool,
}

impl BigqueryDdlArgs {
    /// Prints one statement per published table.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let warehouse = g.warehouse()?;
        let uri_prefix = self
            .uri_prefix
            .as_deref()
            .unwrap_or(warehouse)
            .trim_end_matches('/');
        if !(uri_prefix.starts_with("gs://") || uri_prefix.starts_with("s3://")) {
            bail!(
                "BigQuery reads gs:// (or, through a BigLake connection, s3://) URIs, not {uri_prefix}: \
                 give --uri-prefix gs://BUCKET/PREFIX where BigQuery finds this warehouse"
            );
        }
        let options = DdlOptions {
            project: self.project.clone(),
            dataset: self.dataset.clone(),
            uri_prefix: uri_prefix.to_string(),
            connection: self.connection.clone(),
            max_staleness: self.max_staleness.clone(),
        };
        let config = g.pipeline_config()?;
        let models: BTreeMap<String, Model> = load_models(config.model_files())?
            .into_iter()
            .map(|m| (m.name.clone(), m))
            .collect();
        let tables = Warehouse::open(warehouse)?.tables().await?;
        if tables.is_empty() {
            bail!("{warehouse}: no published table yet (run the pipeline first)");
        }
        let mut text = String::new();
        for t in &tables {
            let model = models.get(&t.name);
            if self.refresh {
                text.push_str(&refresh_statement(&t.name, &options));
                continue;
            }
            let ext = ExternalTable {
                table: t,
                is_fact: model.is_some_and(|m| m.layer.as_deref() == Some("facts")),
                description: model.map(|m| m.config.description.as_str()),
            };
            text.push_str(&create_statement(&ext, &options)?);
            text.push('\n');
        }
        std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?;
        Ok(())
    }
}
