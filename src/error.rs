//! Errors as people read them, and the process exit codes.

use datafusion::error::DataFusionError;

use crate::extract::ReadError;

/// Exit codes of the `kpi-etl` binary (documented in the README and `--help`).
pub mod exit {
    /// Everything went well.
    pub const SUCCESS: i32 = 0;
    /// The run failed (bad input file, storage error, model error); nothing was published.
    pub const FAILURE: i32 = 1;
    /// Bad usage or configuration (unknown flag, impossible date, invalid pipeline file).
    pub const USAGE: i32 = 2;
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
