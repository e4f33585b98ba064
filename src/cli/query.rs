//! `kpi-etl query`: SQL over the published warehouse.

use anyhow::Result;
use clap::Args;
use datafusion::arrow::util::pretty::pretty_format_batches;
use kpi_etl::warehouse::Warehouse;

use super::global::Global;
use super::output::out;

/// Run a SQL query over the published warehouse and print the result.
///
/// Every table is registered under its name, partition column included.
///
/// Example: kpi-etl query --warehouse ./demo/warehouse "SELECT dt, COUNT(*) FROM stg_cdr GROUP BY dt"
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL query.
    pub sql: String,
}

impl QueryArgs {
    /// Runs the query and prints its result as a table.
    pub async fn execute(&self, g: &Global) -> Result<()> {
        let (ctx, _) = Warehouse::open(g.warehouse()?)?.session(g.timezone).await?;
        print_query(&ctx, &self.sql).await
    }
}

/// Runs `sql` in `ctx` and prints the result as a table.
pub async fn print_query(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Result<()> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(kpi_etl::Error::from)?
        .collect()
        .await
        .map_err(kpi_etl::Error::from)?;
    out!("{}", pretty_format_batches(&batches)?)?;
    Ok(())
}
