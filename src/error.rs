//! Errors as people read them, and the process exit codes.

use datafusion::error::DataFusionError;

use crate::extract::ReadError;

/// Exit codes of the `kpi-etl` binary (documented in the README and `--help`).
pub mod exit {
    /// Everything went well.
    pub const SUCCESS: i32 = 0;
    /// The run failed (bad input file, storage error, model error); nothing was published.
    pub const FAILURE: i32 = 1;
    /// Bad usage or configuration (unknown flag, impossible date, invalid pipeline file, a
    /// model that does not compile).
    pub const USAGE: i32 = 2;
    /// Data tests of error severity failed; nothing was published.
    pub const DATA_TESTS_FAILED: i32 = 3;
    /// No input at all landed for the date (Airflow can map it to a skip); nothing was published.
    pub const NO_INPUT: i32 = 4;
}

/// Outcomes of a run that have their own exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// The pipeline file or a model is invalid.
    #[error("invalid pipeline: {0}")]
    Config(String),
    /// Not a single file landed for the date in any source.
    #[error("no input for {date}: {detail}")]
    NoInput {
        /// The landing date.
        date: chrono::NaiveDate,
        /// Where nothing was found.
        detail: String,
    },
    /// Error-severity data tests failed.
    #[error("data tests failed: {0}")]
    DataTestsFailed(String),
}

/// The exit code for an error of a command.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    match e.chain().find_map(|c| c.downcast_ref::<RunFailure>()) {
        Some(RunFailure::Config(_)) => exit::USAGE,
        Some(RunFailure::NoInput { .. }) => exit::NO_INPUT,
        Some(RunFailure::DataTestsFailed(_)) => exit::DATA_TESTS_FAILED,
        None => exit::FAILURE,
    }
}

/// Turns a DataFusion error into an `anyhow` error, unwrapping the reader errors that
/// DataFusion carries as `External`, so that the message names the file and not the engine.
pub fn from_datafusion(e: DataFusionError) -> anyhow::Error {
    if let Some(read) = find_read_error(&e) {
        return anyhow::anyhow!("{read}");
    }
    anyhow::Error::new(e)
}

fn find_read_error(e: &DataFusionError) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<ReadError>() {
            return Some(r.to_string());
        }
        if let Some(DataFusionError::External(inner)) = err.downcast_ref::<DataFusionError>() {
            if let Some(r) = inner.downcast_ref::<ReadError>() {
                return Some(r.to_string());
            }
        }
        cur = err.source();
    }
    None
}

/// The error and its causes on one line, each cause said once (object-store errors repeat their
/// source in their own message).
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
