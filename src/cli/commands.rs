//! What each command does, on top of the library.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use kpi_etl::error::RunFailure;
use kpi_etl::generate::{GenerateOptions, generate};
use kpi_etl::run::{RunSummary, Settings, backfill, run_date};
use kpi_etl::storage::Location;

use super::args::{FileFormat, Global, SummaryFormat};
use super::summary;

/// The environment variable holding the key of the keyed hash of personal data.
pub const PII_KEY_ENV: &str = "KPI_ETL_PII_KEY";

/// The fixed key `demo` uses, so that it runs with nothing configured. Never for real data.
pub const DEMO_PII_KEY: &str = "kpi-etl-demo-key-not-a-secret";

/// The demo week: Monday 2026-10-19 to Sunday 2026-10-25, the Madrid DST fall-back day.
pub const DEMO_FROM: (i32, u32, u32) = (2026, 10, 19);
/// Last day of the demo week.
pub const DEMO_TO: (i32, u32, u32) = (2026, 10, 25);

fn settings(g: &Global, pii_key: Vec<u8>) -> Result<Settings> {
    let raw = g
        .raw
        .clone()
        .context("--raw (or KPI_ETL_RAW) is required")?;
    let warehouse = warehouse(g)?;
    Ok(Settings {
        raw,
        warehouse,
        pipeline: g.pipeline.clone(),
        timezone: g.timezone,
        pii_key,
    })
}

/// The `--warehouse` URL, required by every command that reads the warehouse.
fn warehouse(g: &Global) -> Result<String> {
    g.warehouse
        .clone()
        .context("--warehouse (or KPI_ETL_WAREHOUSE) is required")
}

/// A `--from`/`--to` pair in order.
fn check_range(from: NaiveDate, to: NaiveDate) -> Result<()> {
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    Ok(())
}

/// The pipeline file (or the embedded pipeline); an invalid one is a configuration error.
fn pipeline_config(g: &Global) -> Result<kpi_etl::config::PipelineConfig> {
    kpi_etl::config::PipelineConfig::load_or_embedded(&g.pipeline).map_err(config_error)
}

/// An error of the pipeline's configuration or models: exit code 2.
fn config_error(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(RunFailure::Config(kpi_etl::error::describe(&e)))
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

/// `kpi-etl run`.
pub async fn run(g: &Global, date: NaiveDate, format: SummaryFormat) -> Result<()> {
    let s = settings(g, pii_key_from_env()?)?;
    let summary = run_date(&s, date).await?;
    match format {
        SummaryFormat::Text => summary::print_run(&summary),
        SummaryFormat::Json => summary::print_run_json(&summary)?,
    }
    Ok(())
}

/// `kpi-etl backfill`.
pub async fn backfill_range(
    g: &Global,
    from: NaiveDate,
    to: NaiveDate,
    format: SummaryFormat,
) -> Result<()> {
    check_range(from, to)?;
    let s = settings(g, pii_key_from_env()?)?;
    let summaries = backfill(&s, from, to).await?;
    match format {
        SummaryFormat::Text => {
            summaries.iter().for_each(summary::print_run);
            summary::print_totals(&summaries);
        }
        SummaryFormat::Json => summaries.iter().try_for_each(summary::print_run_json)?,
    }
    Ok(())
}

/// `kpi-etl generate`.
pub async fn generate_raw(
    g: &Global,
    out: &str,
    from: NaiveDate,
    to: NaiveDate,
    calls_per_day: u64,
    seed: u64,
) -> Result<()> {
    check_range(from, to)?;
    let loc = Location::open(out)?;
    let opts = GenerateOptions {
        from,
        to,
        calls_per_day,
        seed,
        timezone: g.timezone,
    };
    let started = std::time::Instant::now();
    let s = generate(loc.store.clone(), &loc.prefix, &opts).await?;
    println!(
        "generated {} files ({} bytes) in {:.1}s: {} CDR rows, {} queue_log rows, {} WhatsApp envelopes, {} CRM rows, {} malformed rows",
        s.files,
        s.bytes,
        started.elapsed().as_secs_f64(),
        s.cdr_rows,
        s.queue_log_rows,
        s.whatsapp_envelopes,
        s.crm_rows,
        s.malformed_rows
    );
    Ok(())
}

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

/// `kpi-etl demo`.
pub async fn demo(g: &Global, calls_per_day: u64, dir: &Path) -> Result<()> {
    let from = NaiveDate::from_ymd_opt(DEMO_FROM.0, DEMO_FROM.1, DEMO_FROM.2).expect("valid date");
    let to = NaiveDate::from_ymd_opt(DEMO_TO.0, DEMO_TO.1, DEMO_TO.2).expect("valid date");
    let raw = dir.join("raw");
    let warehouse = dir.join("warehouse");
    println!(
        "demo: using the fixed development key for personal data (set {PII_KEY_ENV} for real data)"
    );
    println!(
        "demo: generating {from}..{to} at {calls_per_day} calls/day into {}",
        raw.display()
    );
    generate_raw(g, &raw.to_string_lossy(), from, to, calls_per_day, 42).await?;
    let s = Settings {
        raw: raw.to_string_lossy().into_owned(),
        warehouse: warehouse.to_string_lossy().into_owned(),
        pipeline: g.pipeline.clone(),
        timezone: g.timezone,
        pii_key: DEMO_PII_KEY.as_bytes().to_vec(),
    };
    println!(
        "demo: running the nightly pipeline for each day into {}",
        warehouse.display()
    );
    let summaries: Vec<RunSummary> = backfill(&s, from, to).await?;
    summary::print_totals(&summaries);
    summary::print_tables(&kpi_etl::run::warehouse_counts(&s.warehouse).await?);
    println!("\nHeadline KPIs by first-contact channel, {from} to {to}:");
    let (ctx, _) = kpi_etl::run::warehouse_session(&s.warehouse, g.timezone).await?;
    let batches = ctx.sql(HEADLINE_SQL).await?.collect().await?;
    println!(
        "{}",
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)?
    );
    println!(
        "demo: done. Query the Parquet under {} with any engine (BigQuery, DuckDB, DataFusion).",
        warehouse.display()
    );
    Ok(())
}

/// `kpi-etl query`.
pub async fn query(g: &Global, sql: &str) -> Result<()> {
    let warehouse = warehouse(g)?;
    let (ctx, _) = kpi_etl::run::warehouse_session(&warehouse, g.timezone).await?;
    let batches = ctx.sql(sql).await?.collect().await?;
    println!(
        "{}",
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)?
    );
    Ok(())
}

/// `kpi-etl report`.
pub async fn report(g: &Global, from: NaiveDate, to: NaiveDate, out: &Path) -> Result<()> {
    check_range(from, to)?;
    let warehouse = warehouse(g)?;
    let html = kpi_etl::report::render(&warehouse, g.timezone, from, to).await?;
    std::fs::write(out, html).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

async fn compiled(g: &Global) -> Result<Vec<kpi_etl::transform::compile::Compiled>> {
    let config = pipeline_config(g)?;
    let ctx = datafusion::prelude::SessionContext::new();
    kpi_etl::transform::functions::register(&ctx, g.timezone, b"validate");
    kpi_etl::transform::compile::compile(&config, &ctx)
        .await
        .map_err(config_error)
}

/// `kpi-etl validate`.
pub async fn validate(g: &Global) -> Result<()> {
    let models = compiled(g).await?;
    let tests: usize = models.iter().map(|c| c.model.config.tests.len()).sum();
    println!(
        "{}: {} models compiled, {tests} data tests declared, in run order:",
        g.pipeline.display(),
        models.len()
    );
    for c in &models {
        println!(
            "  {:<28} {:<8} {} columns",
            c.model.name,
            format!("{:?}", c.model.config.materialized).to_lowercase(),
            c.schema.fields().len()
        );
    }
    Ok(())
}

/// `kpi-etl explain`.
pub async fn explain(g: &Global, model: &str) -> Result<()> {
    let config = pipeline_config(g)?;
    let ctx = datafusion::prelude::SessionContext::new();
    kpi_etl::transform::functions::register(&ctx, g.timezone, b"explain");
    let plans = kpi_etl::transform::compile::explain(&config, &ctx, model)
        .await
        .map_err(config_error)?;
    println!("{plans}");
    Ok(())
}

/// `kpi-etl docs`.
pub async fn docs(g: &Global, out: &Path) -> Result<()> {
    let models = compiled(g).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let dictionary = out.join("data-dictionary.md");
    std::fs::write(
        &dictionary,
        kpi_etl::transform::docs::dictionary_markdown(&models),
    )
    .with_context(|| format!("cannot write {}", dictionary.display()))?;
    let lineage = out.join("lineage.mmd");
    std::fs::write(&lineage, kpi_etl::transform::docs::lineage_mermaid(&models))
        .with_context(|| format!("cannot write {}", lineage.display()))?;
    println!("wrote {} and {}", dictionary.display(), lineage.display());
    Ok(())
}

/// The options of `kpi-etl bigquery-ddl`.
#[derive(Debug)]
pub struct DdlArgs<'a> {
    /// Google Cloud project.
    pub project: &'a str,
    /// BigQuery dataset.
    pub dataset: &'a str,
    /// The warehouse root as BigQuery reads it, if not --warehouse.
    pub uri_prefix: Option<&'a str>,
    /// BigLake connection.
    pub connection: Option<&'a str>,
    /// BigLake metadata cache staleness.
    pub max_staleness: &'a str,
    /// Print the refresh statements instead.
    pub refresh: bool,
}

/// `kpi-etl bigquery-ddl`.
pub async fn bigquery_ddl(g: &Global, a: &DdlArgs<'_>) -> Result<()> {
    use kpi_etl::consumers::bigquery::{
        DdlOptions, ExternalTable, create_statement, refresh_statement,
    };
    let warehouse = warehouse(g)?;
    let uri_prefix = a.uri_prefix.unwrap_or(&warehouse).trim_end_matches('/');
    if !(uri_prefix.starts_with("gs://") || uri_prefix.starts_with("s3://")) {
        bail!(
            "BigQuery reads gs:// (or, through a BigLake connection, s3://) URIs, not {uri_prefix}: \
             give --uri-prefix gs://BUCKET/PREFIX where BigQuery finds this warehouse"
        );
    }
    let options = DdlOptions {
        project: a.project.to_string(),
        dataset: a.dataset.to_string(),
        uri_prefix: uri_prefix.to_string(),
        connection: a.connection.map(str::to_string),
        max_staleness: a.max_staleness.to_string(),
    };
    let models = models_by_name(g)?;
    let wh = Location::open_existing(&warehouse)?;
    let tables = kpi_etl::consumers::published::published_tables(&wh).await?;
    if tables.is_empty() {
        bail!("{warehouse}: no published table yet (run the pipeline first)");
    }
    let mut out = String::new();
    for t in &tables {
        let model = models.get(&t.name);
        if a.refresh {
            out.push_str(&refresh_statement(&t.name, &options));
            continue;
        }
        let ext = ExternalTable {
            table: t,
            is_fact: model.is_some_and(|m| {
                m.path.parent().and_then(Path::file_name) == Some("facts".as_ref())
            }),
            description: model.map(|m| m.config.description.as_str()),
        };
        out.push_str(&create_statement(&ext, &options)?);
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// The pipeline's models by table name.
fn models_by_name(
    g: &Global,
) -> Result<std::collections::BTreeMap<String, kpi_etl::transform::model::Model>> {
    let config = pipeline_config(g)?;
    let models =
        kpi_etl::transform::model::load_models(&config.models_dir()).map_err(config_error)?;
    Ok(models.into_iter().map(|m| (m.name.clone(), m)).collect())
}

/// `kpi-etl export`.
pub async fn export(
    g: &Global,
    table: &str,
    from: NaiveDate,
    to: NaiveDate,
    format: FileFormat,
    out: &Path,
) -> Result<()> {
    use kpi_etl::consumers::export::{ExportFormat, ExportRequest};
    check_range(from, to)?;
    let warehouse = warehouse(g)?;
    let req = ExportRequest {
        table,
        from,
        to,
        format: match format {
            FileFormat::Csv => ExportFormat::Csv,
            FileFormat::Xlsx => ExportFormat::Xlsx,
        },
    };
    let rows = kpi_etl::consumers::export::export(&warehouse, &req, out).await?;
    println!("wrote {rows} rows of {table} to {}", out.display());
    Ok(())
}
