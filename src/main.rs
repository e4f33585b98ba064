//! `kpi-etl`: the nightly KPI warehouse job. This file is the table of contents: parse the
//! command line, set up logging, run the command, map the outcome to an exit code.

mod cli;

use clap::Parser;
use cli::Cli;
use cli::global::LogFormat;
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
    let outcome = runtime.block_on(cli.command.execute(&cli.global));
    match outcome {
        Ok(()) => {}
        // The reader of our output has gone (`| head`): a normal end.
        Err(e) if cli::output::is_closed_pipe(&e) => std::process::exit(exit::SUCCESS),
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            std::process::exit(cli::exit_code(&e));
        }
    }
}

/// The error and its causes on one line, each said once.
fn describe(e: &anyhow::Error) -> String {
    kpi_etl::error::describe(e.as_ref())
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
