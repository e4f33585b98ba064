//! Helpers shared by the tests: temporary landing zones, runs, and reading tables back.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use kpi_etl::load::listing::listing_table;
use kpi_etl::run::Settings;
use kpi_etl::storage::Location;

/// The real public export files of `../shared/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

/// The repository's pipeline file.
pub fn pipeline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/nightly.toml")
}

/// Writes `content` to `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Runs a command; returns its exit code and its stdout followed by its stderr.
pub fn output(c: &mut std::process::Command) -> (i32, String) {
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

/// Gzips bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Settings for a run from `raw` into `warehouse` with the repository's pipeline.
pub fn settings(raw: &Path, warehouse: &Path) -> Settings {
    Settings {
        raw: raw.to_string_lossy().into_owned(),
        warehouse: warehouse.to_string_lossy().into_owned(),
        pipeline: pipeline(),
        timezone: chrono_tz::Europe::Madrid,
        pii_key: b"test-key".to_vec(),
    }
}

/// A date.
pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Runs `sql` over the published table `table` (partition column `partition`), registered as
/// `t`, and returns the result as sorted text lines (one per row, header excluded).
pub async fn query(
    warehouse: &Path,
    table: &str,
    partition: Option<&str>,
    sql: &str,
) -> Vec<String> {
    let batches = query_batches(warehouse, table, partition, sql).await;
    text_rows(&batches, " | ", true)
}

/// Batches as sorted text rows, cells joined by `sep`; `skip_empty` drops empty (NULL) cells.
pub fn text_rows(batches: &[RecordBatch], sep: &str, skip_empty: bool) -> Vec<String> {
    let text = pretty_format_batches(batches).unwrap().to_string();
    let mut rows: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let cells = &cells[1..cells.len() - 1];
            let kept: Vec<&str> = cells
                .iter()
                .copied()
                .filter(|c| !skip_empty || !c.is_empty())
                .collect();
            kept.join(sep)
        })
        .collect();
    rows.sort();
    rows
}

/// Runs `sql` over the whole warehouse (every table registered under its name).
pub async fn sql_rows(warehouse: &Path, sql: &str, sep: &str, skip_empty: bool) -> Vec<String> {
    let (ctx, _) = kpi_etl::warehouse::Warehouse::open(&warehouse.to_string_lossy())
        .unwrap()
        .session(chrono_tz::Europe::Madrid)
        .await
        .unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    text_rows(&batches, sep, skip_empty)
}

/// Like [`query`], returning the batches.
pub async fn query_batches(
    warehouse: &Path,
    table: &str,
    partition: Option<&str>,
    sql: &str,
) -> Vec<RecordBatch> {
    let ctx = SessionContext::new();
    let loc = Location::open(&warehouse.to_string_lossy()).unwrap();
    let t = listing_table(&ctx.state(), &loc, &loc.child(table), partition, None)
        .await
        .unwrap();
    ctx.register_table("t", std::sync::Arc::new(t)).unwrap();
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// All files below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}
