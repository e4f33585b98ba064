//! Publishing a run: moving its staged partition files into place, then the `_SUCCESS` marker.
//!
//! Nothing is published until every model of the run has been computed and written to
//! `<warehouse>/_staging/<run_id>/`. Each partition is then replaced by copying one staged object
//! onto it (atomic on every store: a link and rename on local disk, a server-side copy on S3, GCS
//! and Azure), so a reader sees the old partition or the new one, never half of one or a row
//! twice. A run that fails before publishing leaves the published warehouse exactly as it was.
//! Publishing copies and never deletes a staged file: the staging area is removed afterwards, as
//! cleanup, so a delete that fails (S3's multi-object delete is not retried on a reset
//! connection by `object_store`) can no longer stop a run halfway through publishing.

use crate::error::{Context, Result};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Serialize;

use super::writer::{PART_FILE, WrittenTable};
use crate::storage::{Location, join};

/// The marker written at the warehouse root once a run has published everything.
pub const SUCCESS_FILE: &str = "_SUCCESS";

/// The content of `_SUCCESS`.
#[derive(Debug, Serialize)]
pub struct SuccessMarker<'a> {
    /// The run that published last.
    pub run_id: &'a str,
    /// Its landing date.
    pub landing_date: String,
    /// When it finished (UTC, RFC 3339).
    pub finished_at: String,
    /// Tables and partitions it replaced.
    pub published: Vec<PublishedTable>,
}

/// A table a run published.
#[derive(Debug, Serialize, Clone)]
pub struct PublishedTable {
    /// Table name.
    pub table: String,
    /// Partition folders replaced (none for a whole, unpartitioned table).
    pub partitions: Vec<String>,
    /// Rows in those partitions.
    pub rows: u64,
}

/// Moves the staged files of `tables` from `staging` into the warehouse root.
pub async fn publish(
    wh: &Location,
    staging: &Path,
    tables: &[(String, WrittenTable)],
) -> Result<Vec<PublishedTable>> {
    let mut out = Vec::new();
    for (table, written) in tables {
        for f in &written.files {
            let rel = if f.partition.is_empty() {
                format!("{table}/{PART_FILE}")
            } else {
                format!("{table}/{}/{PART_FILE}", f.partition)
            };
            let from = join(staging, &rel);
            let to = wh.child(&rel);
            wh.store
                .copy(&from, &to)
                .await
                .with_context(|| format!("cannot publish {}", wh.show(&to)))?;
            // Files of an older layout in the same partition would be read twice: remove them.
            if let Some(dir) = parent(&to) {
                let stale: Vec<Path> = wh
                    .store
                    .list_with_delimiter(Some(&dir))
                    .await
                    .map(|l| l.objects.into_iter().map(|o| o.location).collect())
                    .unwrap_or_default();
                for p in stale {
                    if p != to && p.filename().is_some_and(|n| n.ends_with(".parquet")) {
                        delete_retrying(wh, &p).await?;
                    }
                }
            }
        }
        out.push(PublishedTable {
            table: table.clone(),
            // A whole table has no partition folder: its list stays empty.
            partitions: written
                .files
                .iter()
                .map(|f| f.partition.clone())
                .filter(|p| !p.is_empty())
                .collect(),
            rows: written.rows(),
        });
    }
    Ok(out)
}

/// Removes every Parquet file of the tables in `tables` that `tables` does not list: after a full
/// refresh, the tables hold exactly what it computed (a partition it no longer produces goes).
pub async fn remove_unlisted(wh: &Location, tables: &[(String, WrittenTable)]) -> Result<()> {
    for (table, written) in tables {
        let keep: std::collections::BTreeSet<Path> = written
            .files
            .iter()
            .map(|f| {
                let rel = if f.partition.is_empty() {
                    format!("{table}/{PART_FILE}")
                } else {
                    format!("{table}/{}/{PART_FILE}", f.partition)
                };
                wh.child(&rel)
            })
            .collect();
        let files: Vec<Path> = wh
            .store
            .list(Some(&wh.child(table)))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .with_context(|| format!("cannot list {}", wh.show(&wh.child(table))))?;
        for p in files {
            if p.extension() == Some("parquet") && !keep.contains(&p) {
                delete_retrying(wh, &p).await?;
            }
        }
    }
    Ok(())
}

/// Writes the `_SUCCESS` marker.
pub async fn mark_success(wh: &Location, marker: &SuccessMarker<'_>) -> Result<()> {
    let body = serde_json::to_vec_pretty(marker)?;
    let path = wh.child(SUCCESS_FILE);
    wh.store
        .put(&path, body.into())
        .await
        .with_context(|| format!("cannot write {}", wh.show(&path)))?;
    Ok(())
}

/// Deletes everything below `prefix` (a run's staging area).
pub async fn remove_prefix(wh: &Location, prefix: &Path) -> Result<()> {
    let paths: Vec<Path> = wh
        .store
        .list(Some(prefix))
        .map_ok(|m| m.location)
        .try_collect()
        .await?;
    for p in paths {
        delete_retrying(wh, &p).await?;
    }
    // On local disk, the emptied folders too.
    if let Some(dir) = wh.local_path(prefix) {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        if let Some(parent) = dir.parent() {
            let _ = std::fs::remove_dir(parent); // only when no other run is staging
        }
    }
    Ok(())
}

/// Deletes one object, retrying with backoff: deleting is idempotent (a missing object counts as
/// deleted), but `object_store` does not retry every delete on a connection error.
async fn delete_retrying(wh: &Location, p: &Path) -> Result<()> {
    let mut wait = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match wh.store.delete(p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => return Ok(()),
            Err(e) if attempt < DELETE_ATTEMPTS => {
                tracing::warn!(path = %wh.show(p), attempt, "delete failed, retrying: {e}");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", wh.show(p)));
            }
        }
    }
}

/// Attempts of [`delete_retrying`].
const DELETE_ATTEMPTS: u32 = 6;

fn parent(p: &Path) -> Option<Path> {
    let parts: Vec<_> = p.parts().collect();
    if parts.len() < 2 {
        return None;
    }
    Some(Path::from_iter(parts[..parts.len() - 1].iter().cloned()))
}
