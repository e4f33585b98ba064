//! Printing run summaries for people (stdout); logs go to stderr.

use std::collections::BTreeMap;

use std::io::Result;

use kpi_etl::run::RunSummary;
use kpi_etl::warehouse::TableCount;

use super::output::out;

/// One run: one line, plus its warnings.
pub fn print_run(s: &RunSummary) -> Result<()> {
    let rows: u64 = s.sources.iter().map(|x| x.rows).sum();
    let files: usize = s.sources.iter().map(|x| x.files).sum();
    out!(
        "run {} landing {}: {} files, {} rows read, {} rejected, {} tables published in {:.1}s",
        s.run_id,
        s.landing_date,
        files,
        rows,
        s.rejects,
        s.published.len(),
        s.millis as f64 / 1000.0
    )?;
    for w in &s.warnings {
        out!("  warning: {w}")?;
    }
    Ok(())
}

/// One run as one line of JSON: the fields of `run_results.json`'s summary, for XCom.
pub fn print_run_json(s: &RunSummary) -> Result<()> {
    out!("{}", serde_json::to_string(s)?)
}

/// Totals over several runs: rows and rejects per source.
pub fn print_totals(runs: &[RunSummary]) -> Result<()> {
    let mut per: BTreeMap<&str, (u64, u64, usize)> = BTreeMap::new();
    for r in runs {
        for s in &r.sources {
            let e = per.entry(s.source.as_str()).or_default();
            e.0 += s.rows;
            e.1 += s.rejected;
            e.2 += s.files;
        }
    }
    out!(
        "{:<24} {:>8} {:>12} {:>10}",
        "source",
        "files",
        "rows",
        "rejected"
    )?;
    for (k, (rows, rej, files)) in per {
        out!("{k:<24} {files:>8} {rows:>12} {rej:>10}")?;
    }
    Ok(())
}

/// Partitions and rows of every published table.
pub fn print_tables(tables: &[TableCount]) -> Result<()> {
    out!("{:<28} {:>11} {:>12}", "table", "partitions", "rows")?;
    for t in tables {
        out!("{:<28} {:>11} {:>12}", t.table, t.partitions, t.rows)?;
    }
    Ok(())
}
