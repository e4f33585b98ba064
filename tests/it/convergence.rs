//! Incremental correctness, the quick version: after the nightly runs of six generated days,
//! in order, or with two dates swapped and two re-run, every table equals a full refresh over
//! all landed data, row for row (surrogate keys included: they are stable).
//!
//! The property test on a whole generated month, with the independent check of the marts
//! against the same warehouses, is `tests/independent/test_marts.py` (run by `.ci/run`).

use std::path::Path;

use chrono::NaiveDate;
use kpi_etl::run::{full_refresh, run_date};
use kpi_etl::storage::Location;
use kpi_etl::transform::runner::NoProgress;
use kpi_etl::warehouse::Warehouse;
use kpi_etl_generate::{GenerateOptions, generate};

use crate::common::{d, settings, sql_rows};

// Six days across the DST change (2026-10-25).
const FROM: &str = "2026-10-22";
const TO: &str = "2026-10-27";

async fn landing(raw: &Path) {
    let loc = Location::open(&raw.to_string_lossy()).unwrap();
    let opts = GenerateOptions {
        from: d(FROM),
        to: d(TO),
        calls_per_day: 40,
        seed: 5,
        timezone: chrono_tz::Europe::Madrid,
    };
    generate(loc.store.clone(), &loc.prefix, &opts)
        .await
        .unwrap();
}

fn days() -> Vec<NaiveDate> {
    d(FROM).iter_days().take_while(|x| *x <= d(TO)).collect()
}

/// Every table as sorted text rows, by name.
async fn tables(wh: &Path) -> Vec<(String, Vec<String>)> {
    let (_, tables) = Warehouse::open(&wh.to_string_lossy())
        .unwrap()
        .session(chrono_tz::Europe::Madrid)
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let rows = sql_rows(wh, &format!("SELECT * FROM \"{}\"", t.name), " | ", false).await;
        out.push((t.name, rows));
    }
    out
}

/// The first difference between two warehouses, table by table.
fn differences(a: &[(String, Vec<String>)], b: &[(String, Vec<String>)]) -> Vec<String> {
    let names = |w: &[(String, Vec<String>)]| w.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(a) != names(b) {
        return vec![format!("tables differ: {:?} vs {:?}", names(a), names(b))];
    }
    let mut out = Vec::new();
    for ((name, ra), (_, rb)) in a.iter().zip(b) {
        if ra != rb {
            let only_a: Vec<&String> = ra.iter().filter(|r| !rb.contains(r)).take(2).collect();
            let only_b: Vec<&String> = rb.iter().filter(|r| !ra.contains(r)).take(2).collect();
            out.push(format!(
                "{name}: {} vs {} rows; only in the first: {only_a:#?}; only in the second: {only_b:#?}",
                ra.len(),
                rb.len()
            ));
        }
    }
    out
}

/// Runs the nights of `order` one after the other into `wh`.
async fn nights(raw: &Path, wh: &Path, order: &[NaiveDate]) {
    let s = settings(raw, wh);
    for day in order {
        run_date(&s, *day, &NoProgress)
            .await
            .unwrap_or_else(|e| panic!("night {day}: {}", kpi_etl::error::describe(&e)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nightly_runs_in_any_order_equal_a_full_refresh() {
    let raw = tempfile::tempdir().unwrap();
    landing(raw.path()).await;
    let (in_order, shuffled, refreshed) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    // (a) Every night in order. (b) Two nights swapped, and two dates run again later.
    // (c) One pass over everything.
    let mut order = days();
    order.swap(2, 3);
    order.insert(5, order[1]);
    order.push(order[3]);
    let refresh_settings = settings(raw.path(), refreshed.path());
    let all = days();
    let (_, _, summary) = tokio::join!(
        nights(raw.path(), in_order.path(), &all),
        nights(raw.path(), shuffled.path(), &order),
        full_refresh(&refresh_settings, d(FROM), d(TO), &NoProgress),
    );
    assert!(summary.unwrap().full_refresh);

    let (a, b, c) = (
        tables(in_order.path()).await,
        tables(shuffled.path()).await,
        tables(refreshed.path()).await,
    );
    assert!(a.len() > 30, "{} tables", a.len());
    for (name, rows) in &a {
        assert!(
            !rows.is_empty() || name == "rejects",
            "{name} is empty on six generated days"
        );
    }
    let ac = differences(&a, &c);
    let ab = differences(&a, &b);
    assert!(
        ac.is_empty() && ab.is_empty(),
        "in order vs full refresh:\n{}\n\nin order vs shuffled:\n{}",
        ac.join("\n"),
        ab.join("\n")
    );
}

#[tokio::test]
async fn a_full_refresh_replaces_what_the_warehouse_held() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    landing(raw.path()).await;
    let s = settings(raw.path(), wh.path());
    run_date(&s, d("2026-10-22"), &NoProgress).await.unwrap();
    // A partition no model produces from this landing zone (left by an older pipeline).
    let stale = wh.path().join("stg_cdr/dt=1999-01-01");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::copy(
        wh.path().join("stg_cdr/dt=2026-10-22/part-00000.parquet"),
        stale.join("part-00000.parquet"),
    )
    .unwrap();
    full_refresh(&s, d("2026-10-22"), d("2026-10-23"), &NoProgress)
        .await
        .unwrap();
    assert!(!stale.join("part-00000.parquet").exists());
    let days = sql_rows(
        wh.path(),
        "SELECT DISTINCT CAST(dt AS VARCHAR) FROM rejects",
        "",
        false,
    )
    .await;
    assert_eq!(
        days,
        vec!["2026-10-22", "2026-10-23"],
        "a rejects partition per landing date"
    );
    let landed = sql_rows(
        wh.path(),
        "SELECT CAST(landing_date AS VARCHAR) FROM int_landing_dates",
        "",
        false,
    )
    .await;
    assert_eq!(landed, vec!["2026-10-22", "2026-10-23"]);
}
