//! The whole pipeline on a generated landing zone with every hazard of the raw contract.

use std::path::Path;

use kpi_etl::run::backfill;
use kpi_etl::storage::Location;
use kpi_etl::transform::runner::NoProgress;
use kpi_etl_generate::{GenerateOptions, generate};

use crate::common::{d, query, settings};

async fn landing(
    raw: &Path,
    from: &str,
    to: &str,
    calls: u64,
) -> kpi_etl_generate::GenerateSummary {
    let loc = Location::open(&raw.to_string_lossy()).unwrap();
    let opts = GenerateOptions {
        from: d(from),
        to: d(to),
        calls_per_day: calls,
        seed: 11,
        timezone: chrono_tz::Europe::Madrid,
    };
    generate(loc.store.clone(), &loc.prefix, &opts)
        .await
        .unwrap()
}

#[tokio::test]
async fn exactly_the_malformed_rows_are_rejected_and_every_table_is_unique_on_its_key() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let generated = landing(raw.path(), "2026-10-24", "2026-10-26", 300).await;
    let runs = backfill(
        &settings(raw.path(), wh.path()),
        d("2026-10-24"),
        d("2026-10-26"),
        &NoProgress,
    )
    .await
    .unwrap();
    let rejected: u64 = runs.iter().map(|r| r.rejects).sum();
    assert_eq!(
        rejected, generated.malformed_rows,
        "every malformed row, and only those, is rejected"
    );
    let read: u64 = runs
        .iter()
        .flat_map(|r| &r.sources)
        .filter(|s| s.source == "cdr")
        .map(|s| s.rows)
        .sum();
    assert_eq!(
        read, generated.cdr_rows,
        "every well-formed CDR row is read"
    );
    let rejects = query(wh.path(), "rejects", Some("dt"), "SELECT COUNT(*) FROM t").await;
    assert_eq!(rejects, vec![generated.malformed_rows.to_string()]);

    for (table, partition, key) in [
        ("stg_cdr", Some("dt"), "uniqueid, \"sequence\""),
        ("stg_whatsapp_messages", Some("dt"), "message_id"),
        ("stg_whatsapp_statuses", Some("dt"), "message_id, status"),
        ("stg_crm_leads", None, "lead_id"),
        ("stg_crm_opportunities", None, "opportunity_id"),
        ("stg_crm_users", None, "user_id"),
    ] {
        let dups = query(
            wh.path(),
            table,
            partition,
            &format!(
                "SELECT COUNT(*) FROM (SELECT {key} FROM t GROUP BY {key} HAVING COUNT(*) > 1)"
            ),
        )
        .await;
        assert_eq!(dups, vec!["0"], "{table} is unique on ({key})");
        let rows = query(wh.path(), table, partition, "SELECT COUNT(*) FROM t").await;
        assert_ne!(rows, vec!["0"], "{table} has rows");
    }
    // Duplicated webhooks and CDR rows were landed, and removed.
    let raw_cdr = generated.cdr_rows;
    let staged = query(wh.path(), "stg_cdr", Some("dt"), "SELECT COUNT(*) FROM t").await[0]
        .parse::<u64>()
        .unwrap();
    assert!(
        staged < raw_cdr,
        "duplicates removed: {staged} staged of {raw_cdr} read"
    );
}

#[tokio::test]
async fn the_dst_day_calls_land_at_their_true_instants_and_local_dates() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    landing(raw.path(), "2026-10-25", "2026-10-25", 1500).await;
    backfill(
        &settings(raw.path(), wh.path()),
        d("2026-10-25"),
        d("2026-10-25"),
        &NoProgress,
    )
    .await
    .unwrap();
    // A call starts when its first channel was created: the epoch of its primary uniqueid.
    let off = query(
        wh.path(),
        "stg_cdr",
        Some("dt"),
        "SELECT COUNT(*) FROM (SELECT uniqueid, MIN(to_unixtime(started_at)) AS s, \
         MIN(CAST(regexp_match(uniqueid, '([0-9]+)\\.[0-9]+$')[1] AS BIGINT)) AS e \
         FROM t WHERE is_primary GROUP BY uniqueid) WHERE abs(s - e) > 1",
    )
    .await;
    assert_eq!(
        off,
        vec!["0"],
        "every start converted with the right offset"
    );
    // Both occurrences of 02:00-03:00 local hold calls: 00:00-01:00Z (CEST) and 01:00-02:00Z (CET).
    let hours = query(wh.path(), "stg_cdr", Some("dt"),
        "SELECT date_part('hour', started_at) AS h, COUNT(*) > 0 FROM t WHERE started_at >= TIMESTAMP '2026-10-25T00:00:00Z' AND started_at < TIMESTAMP '2026-10-25T02:00:00Z' GROUP BY h").await;
    assert_eq!(hours, vec!["0 | true", "1 | true"], "{hours:?}");
    // Every call lands on its local start date: 2026-10-25 runs from 22:00Z to 23:00Z next day.
    let wrong = query(wh.path(), "stg_cdr", Some("dt"),
        "SELECT COUNT(*) FROM t WHERE dt = DATE '2026-10-25' AND (started_at < TIMESTAMP '2026-10-24T22:00:00Z' OR started_at >= TIMESTAMP '2026-10-25T23:00:00Z')").await;
    assert_eq!(wrong, vec!["0"]);
}
