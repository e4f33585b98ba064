//! End to end on hand-made landing zones: staging, event-date partitions, the DST day, rejects,
//! idempotent re-runs, CRM current state, atomic failure.

use std::path::Path;

use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use kpi_etl::run::run_date;
use kpi_etl::transform::runner::NoProgress;

use crate::common::{d, files_below, gzip, put, query, settings};

/// A CDR row: inbound call from 612345678 to the toll-free DID, answered on extension 201.
fn cdr(uniqueid: &str, seq: u32, start: &str, duration: u32, billsec: u32) -> String {
    format!(
        "\"\",\"0034612345678\",\"900123456\",\"from-trunk\",\"\"\"Cliente\"\" <612345678>\",\"PJSIP/trunk-movistar-0000001c\",\"PJSIP/201-0000002a\",\"Queue\",\"ventas,t,,,300\",\"{start}\",\"{start}\",\"{start}\",{duration},{billsec},\"ANSWERED\",\"DOCUMENTATION\",\"{uniqueid}\",\"\",\"\",\"{uniqueid}\",{seq}\n"
    )
}

/// Epoch seconds of a UTC time.
fn epoch(utc: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

fn landing_day1(raw: &Path) {
    let mut f = String::new();
    // 02:30 local on the DST day, twice: once in CEST (00:30Z), once in CET (01:30Z).
    f += &cdr(
        &format!("{}.1", epoch("2026-10-25 00:30:00")),
        1,
        "2026-10-25 02:30:00",
        100,
        40,
    );
    f += &cdr(
        &format!("{}.2", epoch("2026-10-25 01:30:00")),
        1,
        "2026-10-25 02:30:00",
        100,
        40,
    );
    // A call that started before midnight of the 24th (local), landed with the 25th.
    f += &cdr(
        &format!("{}.3", epoch("2026-10-24 21:59:00")),
        1,
        "2026-10-24 23:59:00",
        120,
        60,
    );
    // The same row twice (overlapping exports) and one malformed row.
    f += &cdr(
        &format!("{}.4", epoch("2026-10-25 09:00:00")),
        1,
        "2026-10-25 10:00:00",
        30,
        10,
    );
    f += &cdr(
        &format!("{}.4", epoch("2026-10-25 09:00:00")),
        1,
        "2026-10-25 10:00:00",
        30,
        10,
    );
    f += "\"broken\",\"row\"\n";
    put(raw, "pbx/cdr/dt=2026-10-25/Master.csv", &f);
    put(
        raw,
        "crm/Opportunity/dt=2026-10-25/Opportunity.csv",
        "Id,AccountId,Name,StageName,Amount,CloseDate,IsClosed,IsWon,OwnerId,CreatedDate,LastModifiedDate,IsDeleted\n\
         006Ec00000AieKG,001Ec00000FzlUd,Deal,Prospecting,1000.00,2026-11-30,false,false,005Ec000004oBPN,2026-10-25T08:00:00.000Z,2026-10-25T08:00:00.000Z,false\n",
    );
}

fn landing_day2(raw: &Path) {
    let mut f = String::new();
    // A late duplicate of day 1's row, and a new call.
    f += &cdr(
        &format!("{}.4", epoch("2026-10-25 09:00:00")),
        1,
        "2026-10-25 10:00:00",
        30,
        10,
    );
    f += &cdr(
        &format!("{}.5", epoch("2026-10-26 09:00:00")),
        1,
        "2026-10-26 10:00:00",
        30,
        10,
    );
    put(
        raw,
        "pbx/cdr/dt=2026-10-26/Master.csv.gz",
        gzip(f.as_bytes()),
    );
    // The opportunity is won and edited the next day (15-character Id this time).
    put(
        raw,
        "crm/Opportunity/dt=2026-10-26/Opportunity.csv",
        "\u{feff}LastModifiedDate,Id,AccountId,StageName,Amount,CloseDate,IsClosed,IsWon,OwnerId,CreatedDate,IsDeleted\n\
         2026-10-26T12:00:00.000+0000,006Ec00000AieKG,001Ec00000FzlUd,Closed Won,1500.50,2026-10-26,1,1,005Ec000004oBPN,2026-10-25T08:00:00.000Z,0\n",
    );
}

async fn stg_cdr(wh: &Path) -> Vec<String> {
    query(wh, "stg_cdr", Some("dt"), "SELECT CAST(dt AS VARCHAR), uniqueid, CAST(started_at AS VARCHAR), CAST(answered_at AS VARCHAR), CAST(ended_at AS VARCHAR), did_e164, did_channel, dstchannel_extension, queue_name FROM t").await
}

#[tokio::test]
async fn a_night_stages_rows_into_their_event_dates() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    landing_day1(raw.path());
    let summary = run_date(
        &settings(raw.path(), wh.path()),
        d("2026-10-25"),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(summary.rejects, 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("no queue_log files")),
        "{:?}",
        summary.warnings
    );
    let rows = stg_cdr(wh.path()).await;
    let e = |s: &str| epoch(s).to_string();
    assert_eq!(
        rows,
        vec![
            format!(
                "2026-10-24 | {}.3 | 2026-10-24T21:59:00Z | 2026-10-24T22:00:00Z | 2026-10-24T22:01:00Z | +34900123456 | voice_tollfree | 201 | ventas",
                e("2026-10-24 21:59:00")
            ),
            format!(
                "2026-10-25 | {}.1 | 2026-10-25T00:30:00Z | 2026-10-25T00:31:00Z | 2026-10-25T00:31:40Z | +34900123456 | voice_tollfree | 201 | ventas",
                e("2026-10-25 00:30:00")
            ),
            format!(
                "2026-10-25 | {}.2 | 2026-10-25T01:30:00Z | 2026-10-25T01:31:00Z | 2026-10-25T01:31:40Z | +34900123456 | voice_tollfree | 201 | ventas",
                e("2026-10-25 01:30:00")
            ),
            format!(
                "2026-10-25 | {}.4 | 2026-10-25T09:00:00Z | 2026-10-25T09:00:20Z | 2026-10-25T09:00:30Z | +34900123456 | voice_tollfree | 201 | ventas",
                e("2026-10-25 09:00:00")
            ),
        ]
    );
    // The caller's number is never published in clear.
    let hashes = query(
        wh.path(),
        "stg_cdr",
        Some("dt"),
        "SELECT DISTINCT src_phone_hash FROM t",
    )
    .await;
    assert_eq!(hashes.len(), 1);
    assert_eq!(
        hashes[0],
        kpi_etl::transform::functions::keyed_hash(b"test-key", "+34612345678")
    );
    let files = files_below(wh.path());
    assert!(
        files.contains(&"stg_cdr/dt=2026-10-24/part-00000.parquet".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"rejects/dt=2026-10-25/part-00000.parquet".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"stg_crm_opportunities/part-00000.parquet".to_string()),
        "{files:?}"
    );
    assert!(files.contains(&"_SUCCESS".to_string()));
    assert!(
        !files.iter().any(|f| f.starts_with("_staging")),
        "staging is cleaned: {files:?}"
    );
    let marker = std::fs::read_to_string(wh.path().join("_SUCCESS")).unwrap();
    assert!(marker.contains(&summary.run_id), "{marker}");
    let rejects = query(
        wh.path(),
        "rejects",
        Some("dt"),
        "SELECT source, line, reason FROM t",
    )
    .await;
    assert_eq!(rejects, vec!["cdr | 6 | expected 21 columns, found 2"]);
}

#[tokio::test]
async fn parquet_types_are_the_ones_bigquery_reads() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    landing_day1(raw.path());
    run_date(
        &settings(raw.path(), wh.path()),
        d("2026-10-25"),
        &NoProgress,
    )
    .await
    .unwrap();
    let check = |rel: &str| {
        let file = std::fs::File::open(wh.path().join(rel)).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let mut seen = Vec::new();
        for c in schema.columns() {
            let p = c.self_type().get_basic_info();
            assert_ne!(
                c.name(),
                "dt",
                "{rel}: the partition column is not repeated in the file"
            );
            let logical = format!("{:?}", p.logical_type_ref());
            assert!(!logical.contains("NANOS"), "{rel}.{}: {logical}", c.name());
            assert!(
                !logical.contains("is_signed: false"),
                "{rel}.{}: {logical}",
                c.name()
            );
            assert_ne!(
                c.physical_type(),
                datafusion::parquet::basic::Type::INT96,
                "{rel}.{}",
                c.name()
            );
            seen.push((c.name().to_string(), logical, c.physical_type()));
        }
        let rg = reader.metadata().row_group(0);
        assert!(matches!(
            rg.column(0).compression(),
            datafusion::parquet::basic::Compression::ZSTD(_)
        ));
        seen
    };
    let cdr = check("stg_cdr/dt=2026-10-25/part-00000.parquet");
    let started = cdr.iter().find(|(n, _, _)| n == "started_at").unwrap();
    assert!(
        started
            .1
            .contains("is_adjusted_to_u_t_c: true, unit: MICROS"),
        "{started:?}"
    );
    let opp = check("stg_crm_opportunities/part-00000.parquet");
    let amount = opp.iter().find(|(n, _, _)| n == "amount").unwrap();
    assert!(amount.1.contains("scale: 2, precision: 18"), "{amount:?}");
    let close = opp.iter().find(|(n, _, _)| n == "close_date").unwrap();
    assert!(close.1.contains("Date"), "{close:?}");
}

#[tokio::test]
async fn a_rerun_writes_the_same_rows_and_nights_equal_a_backfill() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    landing_day1(raw.path());
    landing_day2(raw.path());
    let s = settings(raw.path(), wh.path());
    run_date(&s, d("2026-10-25"), &NoProgress).await.unwrap();
    let first = stg_cdr(wh.path()).await;
    run_date(&s, d("2026-10-25"), &NoProgress).await.unwrap();
    assert_eq!(
        stg_cdr(wh.path()).await,
        first,
        "re-running a night changes nothing"
    );
    run_date(&s, d("2026-10-26"), &NoProgress).await.unwrap();
    let after = stg_cdr(wh.path()).await;
    assert_eq!(
        after.len(),
        first.len() + 1,
        "the late duplicate is not counted twice: {after:?}"
    );
    let opp = query(wh.path(), "stg_crm_opportunities", None, "SELECT opportunity_id, stage_name, CAST(amount AS VARCHAR), CAST(close_date AS VARCHAR), is_won, CAST(landed_on AS VARCHAR) FROM t").await;
    assert_eq!(
        opp,
        vec!["006Ec00000AieKGIAZ | Closed Won | 1500.50 | 2026-10-26 | true | 2026-10-26"]
    );
    // A second warehouse built by a backfill of the same two nights holds the same rows.
    let wh2 = tempfile::tempdir().unwrap();
    kpi_etl::run::backfill(
        &settings(raw.path(), wh2.path()),
        d("2026-10-25"),
        d("2026-10-26"),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(stg_cdr(wh2.path()).await, after);
}

#[tokio::test]
async fn a_failed_run_leaves_the_published_warehouse_untouched() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    landing_day1(raw.path());
    let s = settings(raw.path(), wh.path());
    run_date(&s, d("2026-10-25"), &NoProgress).await.unwrap();
    // Run artifacts (`_runs/`) record every attempt; everything else is published data.
    let snapshot = |p: &Path| {
        files_below(p)
            .into_iter()
            .filter(|f| !f.starts_with("_runs/"))
            .map(|f| (std::fs::read(p.join(&f)).unwrap(), f))
            .collect::<Vec<_>>()
    };
    let before = snapshot(wh.path());
    // The next night's CDR is named .gz but is not gzip.
    put(
        raw.path(),
        "pbx/cdr/dt=2026-10-26/Master.csv.gz",
        cdr("1800000000.1", 1, "2026-10-26 10:00:00", 1, 1),
    );
    let err = format!(
        "{:#}",
        run_date(&s, d("2026-10-26"), &NoProgress)
            .await
            .unwrap_err()
    );
    assert!(err.contains("pbx/cdr/dt=2026-10-26/Master.csv.gz"), "{err}");
    assert_eq!(
        snapshot(wh.path()),
        before,
        "nothing published, staging cleaned"
    );
}
