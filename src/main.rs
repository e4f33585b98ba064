//! `kpi-etl`: the nightly KPI warehouse job. This file is the table of contents: parse the
//! command line, set up logging, dispatch, map the outcome to an exit code.

mod cli;

use clap::Parser;
use cli::args::{Cli, Command, LogFormat};
use kpi_etl::error::exit;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    init_logging(cli.global.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async {
        let g = &cli.global;
        match &cli.command {
            Command::Run { date, summary } => cli::commands::run(g, *date, *summary).await,
            Command::Backfill { from, to, summary } => {
                cli::commands::backfill_range(g, *from, *to, *summary).await
            }
            Command::Generate {
                out,
                from,
                to,
                calls_per_day,
                seed,
            } => cli::commands::generate_raw(g, out, *from, *to, *calls_per_day, *seed).await,
            Command::Query { sql } => cli::commands::query(g, sql).await,
            Command::Validate => cli::commands::validate(g).await,
            Command::Explain { model } => cli::commands::explain(g, model).await,
            Command::Docs { out } => cli::commands::docs(g, out).await,
            Command::Report { from, to, out } => cli::commands::report(g, *from, *to, out).await,
            Command::BigqueryDdl {
                project,
                dataset,
                uri_prefix,
                connection,
                max_staleness,
                refresh,
            } => {
                let o = cli::commands::DdlArgs {
                    project,
                    dataset,
                    uri_prefix: uri_prefix.as_deref(),
                    connection: connection.as_deref(),
                    max_staleness,
                    refresh: *refresh,
                };
                cli::commands::bigquery_ddl(g, &o).await
            }
            Command::Export {
                table,
                from,
                to,
                format,
                out,
            } => cli::commands::export(g, table, *from, *to, *format, out).await,
            Command::Demo { calls_per_day, dir } => {
                cli::commands::demo(g, *calls_per_day, dir).await
            }
        }
    });
    if let Err(e) = outcome {
        eprintln!("error: {}", kpi_etl::error::describe(&e));
        std::process::exit(kpi_etl::error::exit_code(&e));
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KPI_ETL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colours only on a terminal: Airflow and log collectors read a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
