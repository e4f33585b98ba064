//! The library's errors, typed, with their causes kept, and the exit codes they map to.
//!
//! Every fallible function of the library returns [`Result`]. Causes stay attached as
//! [`std::error::Error::source`]s; [`Context`] adds what the library was doing on top (the model,
//! the file, the table) without flattening the cause into a string. [`describe`] prints the
//! whole chain on one line, each cause said once, and [`Error::exit_code`] picks the process exit
//! code from the kind of the innermost error.

use std::fmt::Display;

use chrono::NaiveDate;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::errors::ParquetError;

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

/// A boxed error of another library, kept as a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A file that cannot be read at all: the run stops with this error, naming the file (and the
/// line or column where one is at fault).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadError {
    /// The object cannot be fetched, decompressed or parsed as its format at all.
    #[error("{file}: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A file of a text format holds binary data.
    #[error("{file}: binary data (a NUL byte) at line {line}: not a CSV file")]
    Binary {
        /// The file.
        file: String,
        /// The line holding the NUL byte.
        line: u64,
    },
    /// A CSV header lacks a column the source requires.
    #[error("{file}: required column {column} is missing from the header")]
    MissingColumn {
        /// The file.
        file: String,
        /// The missing column.
        column: String,
    },
}

/// An error of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file, a model, or a model's unit cases are invalid (exit code 2).
    #[error("{file}: {message}")]
    Config {
        /// The file at fault (`pipelines/...`, or `embedded:...` for the built-in pipeline).
        file: String,
        /// What is wrong with it.
        message: String,
        /// The underlying parse or planning error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A request that cannot be carried out as given: an argument out of range, an unknown
    /// table, a URL of an unsupported kind (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// Data that breaks a rule of the pipeline (a model writing outside the partitions it
    /// rebuilds, a spreadsheet too large for its format).
    #[error("{0}")]
    Invalid(String),
    /// An input file cannot be read at all.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The object store failed.
    #[error(transparent)]
    Storage(#[from] object_store::Error),
    /// DataFusion failed to plan or execute a query.
    #[error(transparent)]
    Engine(DataFusionError),
    /// Arrow failed (a cast, a batch of mismatched columns).
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    /// Parquet failed (a footer, a writer).
    #[error(transparent)]
    Parquet(#[from] ParquetError),
    /// The local file system failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A spreadsheet cannot be written.
    #[error(transparent)]
    Spreadsheet(#[from] rust_xlsxwriter::XlsxError),
    /// A JSON document cannot be written or read.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Not a single file landed for the date in any source (exit code 4).
    #[error("no input for {date}: {detail}")]
    NoInput {
        /// The landing date.
        date: NaiveDate,
        /// Where nothing was found.
        detail: String,
    },
    /// Error-severity data tests failed; nothing was published (exit code 3).
    #[error("data tests failed: {0}")]
    DataTestsFailed(String),
    /// Model unit cases gave other rows than expected (exit code 1).
    #[error("{failed} of {total} model unit cases failed")]
    CasesFailed {
        /// Cases that failed.
        failed: usize,
        /// Cases run.
        total: usize,
    },
    /// What the library was doing when `source` happened (shown as `context: source`).
    #[error("{context}: {source}")]
    Context {
        /// The step, file or object concerned.
        context: String,
        /// The error.
        #[source]
        source: Box<Error>,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A configuration error of `file`.
    pub fn config(file: impl Display, message: impl Display) -> Self {
        Error::Config {
            file: file.to_string(),
            message: message.to_string(),
            source: None,
        }
    }

    /// A configuration error of `file` caused by `source`.
    pub fn config_caused(
        file: impl Display,
        message: impl Display,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Config {
            file: file.to_string(),
            message: message.to_string(),
            source: Some(source.into()),
        }
    }

    /// The error below every [`Error::Context`] layer: what decides the exit code.
    pub fn root(&self) -> &Error {
        let mut e = self;
        while let Error::Context { source, .. } = e {
            e = source;
        }
        e
    }

    /// Wraps the error in a layer of context.
    pub fn context(self, context: impl Into<String>) -> Self {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.root() {
            Error::Config { .. } | Error::Usage(_) => exit::USAGE,
            Error::NoInput { .. } => exit::NO_INPUT,
            Error::DataTestsFailed(_) => exit::DATA_TESTS_FAILED,
            _ => exit::FAILURE,
        }
    }
}

impl From<DataFusionError> for Error {
    /// A reader error that DataFusion carries (as `External`, possibly wrapped) comes out as
    /// [`Error::Read`], so that the message names the file and not the engine.
    fn from(e: DataFusionError) -> Self {
        match find_read_error(&e) {
            Some(read) => Error::Read(read),
            None => Error::Engine(e),
        }
    }
}

fn find_read_error(e: &DataFusionError) -> Option<ReadError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<ReadError>() {
            return Some(r.clone());
        }
        if let Some(DataFusionError::External(inner)) = err.downcast_ref::<DataFusionError>()
            && let Some(r) = inner.downcast_ref::<ReadError>()
        {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

/// Adds context to a failure, keeping it as the source (the library's `anyhow::Context`).
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// Wraps the error with the context `f` builds (only on failure).
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    /// A missing value becomes [`Error::Invalid`] saying `context`.
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(context.into()))
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(f().into()))
    }
}

/// The error and its causes on one line, each cause said once (object-store errors repeat their
/// source in their own message).
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut cur = Some(e);
    while let Some(cause) = cur {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        cur = cause.source();
    }
    out
}
