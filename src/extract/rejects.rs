//! The rejects output: malformed rows are kept, never silently dropped.
//!
//! Every reader reports a row it cannot parse here, with the file, the line and the column at
//! fault, and goes on. The run writes them to the `rejects` table (partitioned by landing date)
//! and counts them per source in the run summary.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One malformed input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Source name, e.g. `cdr`, `queue_log`, `whatsapp`, `crm_opportunity`.
    pub source: String,
    /// The file, as its URL.
    pub file: String,
    /// The landing date of the file.
    pub landed_on: chrono::NaiveDate,
    /// 1-based line number where the row starts.
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// Why the row was rejected.
    pub reason: String,
    /// The row as read (lossily decoded, cut at 2,000 characters), personal data masked.
    pub raw: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(c) = &self.column {
            write!(f, " column {c}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What a reader saw in one file: for the run summary and row-count reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileStats {
    /// Source name.
    pub source: String,
    /// The file, as its URL.
    pub file: String,
    /// Size of the object in bytes (compressed size for `.gz`).
    pub bytes: u64,
    /// Rows read successfully.
    pub rows: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// Shared, thread-safe collector of rejects and file statistics for one run.
#[derive(Debug, Clone, Default)]
pub struct RejectSink {
    inner: Arc<Mutex<SinkState>>,
}

#[derive(Debug, Default)]
struct SinkState {
    rejects: Vec<Reject>,
    files: BTreeMap<(String, String), FileStats>,
}

impl RejectSink {
    /// A new, empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a malformed row.
    pub fn reject(&self, reject: Reject) {
        tracing::debug!(%reject, "row rejected");
        let mut s = self.inner.lock().expect("reject sink poisoned");
        let key = (reject.source.clone(), reject.file.clone());
        s.files.entry(key).or_default().rejected += 1;
        s.rejects.push(reject);
    }

    /// Records the statistics of a file once it has been read whole.
    pub fn file_done(&self, source: &str, file: &str, bytes: u64, rows: u64) {
        let mut s = self.inner.lock().expect("reject sink poisoned");
        let e = s
            .files
            .entry((source.to_string(), file.to_string()))
            .or_default();
        e.source = source.to_string();
        e.file = file.to_string();
        e.bytes = bytes;
        e.rows = rows;
    }

    /// All rejects so far, sorted by source, file and line.
    pub fn rejects(&self) -> Vec<Reject> {
        let s = self.inner.lock().expect("reject sink poisoned");
        let mut v = s.rejects.clone();
        v.sort_by(|a, b| (&a.source, &a.file, a.line).cmp(&(&b.source, &b.file, b.line)));
        v.dedup();
        v
    }

    /// Statistics of every file read so far, sorted by source and file.
    pub fn files(&self) -> Vec<FileStats> {
        let s = self.inner.lock().expect("reject sink poisoned");
        s.files.values().cloned().collect()
    }

    /// Rejects counted per source.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in self.rejects() {
            *out.entry(r.source).or_insert(0) += 1;
        }
        out
    }
}

/// Cuts a raw row for the rejects table, masking phone numbers and e-mail addresses.
pub fn excerpt(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_end_matches(['\r', '\n']);
    crate::pii::mask(&s.chars().take(2000).collect::<String>())
}
