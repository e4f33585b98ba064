//! Printing run summaries for people (stdout); logs go to stderr.

use std::collections::BTreeMap;

use kpi_etl::run::RunSummary;

/// One run: one line, plus its warnings.
pub fn print_run(s: &RunSummary) {
    let rows: u64 = s.sources.iter().map(|x| x.rows).sum();
    let files: usize = s.sources.iter().map(|x| x.files).sum();
    println!(
        "run {} landing {}: {} files, {} rows read, {} rejected, {} tables published in {:.1}s",
        s.run_id, s.landing_date, files, rows, s.rejects, s.published.len(), s.millis as f64 / 1000.0
    );
    for w in &s.warnings {
        println!("  warning: {w}");
    }
}

/// Totals over several runs: rows and rejects per source.
pub fn print_totals(runs: &[RunSummary]) {
    let mut per: BTreeMap<&str, (u64, u64, usize)> = BTreeMap::new();
    for r in runs {
        for s in &r.sources {
            let e = per.entry(s.source.as_str()).or_default();
            e.0 += s.rows;
            e.1 += s.rejected;
            e.2 += s.files;
        }
    }
    println!("{:<24} {:>8} {:>12} {:>10}", "source", "files", "rows", "rejected");
    for (k, (rows, rej, files)) in per {
        println!("{k:<24} {files:>8} {rows:>12} {rej:>10}");
    }
}

/// Rows in each published table after the last run (partitions rewritten by the runs).
pub fn print_tables(runs: &[RunSummary]) {
    let mut per: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for r in runs {
        for t in &r.published {
            let parts = per.entry(t.table.as_str()).or_default();
            let each = if t.partitions.is_empty() { 0 } else { t.rows / t.partitions.len().max(1) as u64 };
            let _ = each;
            for p in &t.partitions {
                parts.insert(p.as_str(), 0);
            }
            if t.partitions.len() == 1 {
                parts.insert(t.partitions[0].as_str(), t.rows);
            }
        }
    }
    println!("{:<28} {:>11}", "table", "partitions");
    for (t, parts) in per {
        println!("{t:<28} {:>11}", parts.len());
    }
}
