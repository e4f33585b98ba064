//! The binary as Airflow and scripts call it: exit codes and messages.

use std::process::Command;

use crate::common::{output, pipeline, put};

fn kpi_etl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kpi-etl"));
    c.env_remove("KPI_ETL_PII_KEY")
        .env_remove("KPI_ETL_RAW")
        .env_remove("KPI_ETL_WAREHOUSE");
    c.arg("--pipeline").arg(pipeline());
    c
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in ["run", "backfill", "generate", "demo"] {
        let (code, text) = output(kpi_etl().args([cmd, "--help"]));
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("Example: kpi-etl"), "{cmd}: {text}");
    }
}

#[test]
fn bad_usage_exits_2_and_names_the_problem() {
    let (code, text) = output(kpi_etl().args(["run", "--date", "2026-11-26", "--frobnicate"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--frobnicate"), "{text}");
    let (code, text) = output(kpi_etl().args(["run", "--date", "2026-02-30"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("2026-02-30"), "{text}");
}

#[test]
fn a_run_without_the_pii_key_stops_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = output(
        kpi_etl()
            .args(["run", "--date", "2026-11-26", "--raw"])
            .arg(dir.path())
            .arg("--warehouse")
            .arg(dir.path().join("wh")),
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("KPI_ETL_PII_KEY is not set"), "{text}");
}

#[test]
fn a_missing_raw_root_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let (code, text) = output(
        kpi_etl()
            .env("KPI_ETL_PII_KEY", "k")
            .args(["run", "--date", "2026-11-26", "--raw"])
            .arg(&missing)
            .arg("--warehouse")
            .arg(dir.path().join("wh")),
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&missing.display().to_string()), "{text}");
}

#[test]
fn options_come_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "raw/pbx/queue_log/dt=2026-11-26/queue_log",
        "1795683000|NONE|NONE|NONE|QUEUESTART\n",
    );
    let (code, text) = output(
        kpi_etl()
            .env("KPI_ETL_PII_KEY", "k")
            .env("KPI_ETL_RAW", dir.path().join("raw"))
            .env("KPI_ETL_WAREHOUSE", dir.path().join("wh"))
            .args(["run", "--date", "2026-11-26"]),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("landing 2026-11-26: 1 files, 1 rows read, 0 rejected"),
        "{text}"
    );
    assert!(
        dir.path()
            .join("wh/stg_queue_log/dt=2026-11-26/part-00000.parquet")
            .exists()
    );
}

#[test]
fn report_writes_a_static_page_with_the_three_charts() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let wh = dir.path().join("wh");
    let (code, text) = output(
        kpi_etl()
            .args([
                "generate",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
                "--calls-per-day",
                "150",
                "--out",
            ])
            .arg(&raw),
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = output(
        kpi_etl()
            .env("KPI_ETL_PII_KEY", "k")
            .args([
                "backfill",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
                "--raw",
            ])
            .arg(&raw)
            .arg("--warehouse")
            .arg(&wh),
    );
    assert_eq!(code, 0, "{text}");
    let out = dir.path().join("r.html");
    let (code, text) = output(
        kpi_etl()
            .args([
                "report",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
                "--warehouse",
            ])
            .arg(&wh)
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(code, 0, "{text}");
    let html = std::fs::read_to_string(&out).unwrap();
    for heading in [
        "Conversion by first-contact channel",
        "Target attainment by agent on 2026-11-02",
        "Service level by day",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "two bar charts of conversion, attainment, service level"
    );
    assert!(!html.contains("<script"), "no script: it opens anywhere");
}
