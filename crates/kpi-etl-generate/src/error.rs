//! What can go wrong while writing a landing zone.

/// An error of the generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options cannot describe a landing zone (for example `from` after `to`).
    #[error("invalid options: {0}")]
    Options(String),
    /// The store refused a write.
    #[error("cannot write to the store")]
    Storage(#[from] object_store::Error),
    /// Writing bytes (compression, CSV encoding) failed.
    #[error("cannot encode a file")]
    Io(#[from] std::io::Error),
    /// A CSV record could not be encoded.
    #[error("cannot encode a CSV record")]
    Csv(#[from] csv::Error),
    /// A step of one day failed.
    #[error("generating {what} data for {day}")]
    Day {
        /// The landing date.
        day: chrono::NaiveDate,
        /// Which generator (PBX, WhatsApp, CRM).
        what: &'static str,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
}

/// The generator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
