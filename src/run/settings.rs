//! What a run needs besides its date.

use std::path::PathBuf;

use chrono_tz::Tz;

/// Everything a run needs besides its date.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Raw landing zone URL.
    pub raw: String,
    /// Warehouse URL.
    pub warehouse: String,
    /// Pipeline configuration file (the embedded pipeline when it is the default path and
    /// does not exist).
    pub pipeline: PathBuf,
    /// Business timezone.
    pub timezone: Tz,
    /// Key of the keyed hash that replaces personal data.
    pub pii_key: Vec<u8>,
}
