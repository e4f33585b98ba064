//! A nightly run that explains itself: exit codes, messages, run artifacts, validate, explain,
//! docs, and no change to published data whatever goes wrong.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{files_below, pipeline, put};

fn kpi_etl(pipeline_file: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kpi-etl"));
    c.env_remove("KPI_ETL_RAW")
        .env_remove("KPI_ETL_WAREHOUSE")
        .env("KPI_ETL_PII_KEY", "test-key");
    c.arg("--pipeline").arg(pipeline_file);
    c
}

fn output(c: &mut Command) -> (i32, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `kpi-etl run --date DATE --raw RAW --warehouse WH` with the pipeline file `pipe`.
fn run_at(pipe: &Path, date: &str, raw: &Path, wh: &Path) -> (i32, String) {
    output(
        kpi_etl(pipe)
            .args(["run", "--date", date, "--raw"])
            .arg(raw)
            .arg("--warehouse")
            .arg(wh),
    )
}

/// A copy of the repository's pipeline folder, to break on purpose.
fn pipeline_copy(dir: &Path) -> PathBuf {
    let src = pipeline().parent().unwrap().to_path_buf();
    for f in files_below(&src) {
        let to = dir.join("pipelines").join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&f), to).unwrap();
    }
    dir.join("pipelines/nightly.toml")
}

/// A landing zone with one CDR row on 2026-11-26.
fn landing(raw: &Path) {
    put(
        raw,
        "pbx/cdr/dt=2026-11-26/Master.csv",
        "\"\",\"612345678\",\"900123456\",\"from-trunk\",\"\",\"PJSIP/trunk-1\",\"PJSIP/201-1\",\"Queue\",\"ventas\",\"2026-11-26 10:00:00\",\"2026-11-26 10:00:05\",\"2026-11-26 10:01:00\",60,55,\"ANSWERED\",\"DOCUMENTATION\",\"1795683600.1\",\"\",\"\",\"1795683600.1\",1\n",
    );
}

/// Every published file with its bytes (run artifacts excluded: they record every attempt).
fn published(wh: &Path) -> Vec<(String, Vec<u8>)> {
    files_below(wh)
        .into_iter()
        .filter(|f| !f.starts_with("_runs/"))
        .map(|f| (f.clone(), std::fs::read(wh.join(&f)).unwrap()))
        .collect()
}

fn run_results(wh: &Path) -> Vec<serde_json::Value> {
    let mut out: Vec<(String, serde_json::Value)> = files_below(wh)
        .into_iter()
        .filter(|f| f.ends_with("run_results.json"))
        .map(|f| {
            (
                f.clone(),
                serde_json::from_slice(&std::fs::read(wh.join(f)).unwrap()).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, v)| v).collect()
}

#[test]
fn a_good_run_writes_run_results_and_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, wh) = (dir.path().join("raw"), dir.path().join("wh"));
    landing(&raw);
    put(
        &raw,
        "pbx/cdr/dt=2026-11-26/Master-2.csv",
        "\"bad\",\"row\"\n",
    );
    let (code, text) = run_at(&pipeline(), "2026-11-26", &raw, &wh);
    assert_eq!(code, 0, "{text}");
    let r = &run_results(&wh)[0];
    assert_eq!(r["status"], "success");
    assert_eq!(r["landing_date"], "2026-11-26");
    let input = r["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["file"].as_str().unwrap().ends_with("Master.csv"))
        .unwrap();
    assert_eq!(
        (
            input["rows"].as_u64(),
            input["bytes"].as_u64().unwrap() > 100
        ),
        (Some(1), true)
    );
    let reject = &r["rejects"]["cdr"];
    assert_eq!(reject["count"], 1);
    assert!(
        reject["examples"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("Master-2.csv")
    );
    assert_eq!(reject["examples"][0]["line"], 1);
    let stg = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "stg_cdr")
        .unwrap();
    assert_eq!(stg["rows_written"], 1);
    assert!(
        r["data_tests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["model"] == "stg_cdr"
                && t["test"] == "reconcile(raw_cdr)"
                && t["status"] == "pass")
    );
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("no queue_log files landed"))
    );
    let manifest_file = files_below(&wh)
        .into_iter()
        .find(|f| f.ends_with("manifest.json"))
        .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join(manifest_file)).unwrap()).unwrap();
    let fact = manifest["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["output"] == "fact_call")
        .unwrap();
    assert!(
        fact["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "int_calls")
    );
    assert!(
        fact["schema"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "agent_key" && c["type"] == "Int64")
    );
}

#[test]
fn a_day_with_no_data_at_all_exits_4_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, wh) = (dir.path().join("raw"), dir.path().join("wh"));
    landing(&raw);
    let (code, text) = run_at(&pipeline(), "2026-11-26", &raw, &wh);
    assert_eq!(code, 0, "{text}");
    let before = published(&wh);
    let (code, text) = run_at(&pipeline(), "2026-11-27", &raw, &wh);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("no input for 2026-11-27"), "{text}");
    assert_eq!(published(&wh), before);
    assert_eq!(run_results(&wh).last().unwrap()["status"], "no_input");
}

#[test]
fn a_model_with_a_sql_error_is_named_by_validate_and_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = pipeline_copy(dir.path());
    let model = dir.path().join("pipelines/facts/fact_call.sql");
    let sql = std::fs::read_to_string(&model)
        .unwrap()
        .replace("c.legs,", "c.legs_typo,");
    std::fs::write(&model, sql).unwrap();
    let (code, text) = output(kpi_etl(&pipe).arg("validate"));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("fact_call.sql") && text.contains("legs_typo"),
        "{text}"
    );
    let (raw, wh) = (dir.path().join("raw"), dir.path().join("wh"));
    landing(&raw);
    let (code, _) = run_at(&pipeline(), "2026-11-26", &raw, &wh);
    assert_eq!(code, 0);
    let before = published(&wh);
    let (code, text) = run_at(&pipe, "2026-11-26", &raw, &wh);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("fact_call.sql"), "{text}");
    assert_eq!(published(&wh), before);
}

#[test]
fn a_failing_data_test_exits_3_names_the_test_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = pipeline_copy(dir.path());
    let model = dir.path().join("pipelines/staging/stg_cdr.sql");
    let sql = std::fs::read_to_string(&model).unwrap().replacen(
        "tests = [\n",
        "tests = [\n    { name = \"calls are shorter than a minute\", sql = \"SELECT * FROM this WHERE duration_s >= 60\" },\n",
        1,
    );
    std::fs::write(&model, sql).unwrap();
    let (raw, wh) = (dir.path().join("raw"), dir.path().join("wh"));
    landing(&raw);
    let (code, text) = run_at(&pipe, "2026-11-26", &raw, &wh);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("calls are shorter than a minute on stg_cdr (1 failing rows)"),
        "{text}"
    );
    assert!(published(&wh).is_empty(), "nothing published");
    let r = &run_results(&wh)[0];
    assert_eq!(r["status"], "data_tests_failed");
    let t = r["data_tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"] == "calls are shorter than a minute")
        .unwrap();
    assert_eq!(
        (t["status"].as_str(), t["failing_rows"].as_u64()),
        (Some("fail"), Some(1))
    );
    assert!(t["examples"][0].as_str().unwrap().contains("duration_s=60"));
}

#[test]
fn bad_input_files_and_credentials_give_one_clear_message_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, wh) = (dir.path().join("raw"), dir.path().join("wh"));
    landing(&raw);
    let run = |raw: &Path, wh: &Path| run_at(&pipeline(), "2026-11-26", raw, wh);
    assert_eq!(run(&raw, &wh).0, 0);
    let before = published(&wh);
    // A truncated gzip.
    put(
        &raw,
        "pbx/queue_log/dt=2026-11-26/queue_log.gz",
        &crate::common::gzip(&[b'x'; 5000])[..20],
    );
    let (code, text) = run(&raw, &wh);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("pbx/queue_log/dt=2026-11-26/queue_log.gz: truncated gzip stream"),
        "{text}"
    );
    std::fs::remove_file(raw.join("pbx/queue_log/dt=2026-11-26/queue_log.gz")).unwrap();
    // A CSV missing a required column.
    put(
        &raw,
        "crm/Order/dt=2026-11-26/Order.csv",
        "Id,Status,LastModifiedDate\n801000000000001,Draft,2026-11-26T00:00:00Z\n",
    );
    let (code, text) = run(&raw, &wh);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(
            "crm/Order/dt=2026-11-26/Order.csv: required column EffectiveDate is missing"
        ),
        "{text}"
    );
    assert_eq!(
        published(&wh),
        before,
        "nothing published by the failed runs"
    );
    // A bad credential for an object store.
    let (code, text) = output(
        kpi_etl(&pipeline())
            .env(
                "GOOGLE_APPLICATION_CREDENTIALS",
                dir.path().join("missing-key.json"),
            )
            .args([
                "run",
                "--date",
                "2026-11-26",
                "--raw",
                "gs://acme-raw/landing",
                "--warehouse",
            ])
            .arg(&wh),
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("gs://acme-raw/landing") && text.contains("missing-key.json"),
        "{text}"
    );
}

#[test]
fn explain_prints_the_plans_and_docs_write_the_dictionary_and_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = output(kpi_etl(&pipeline()).args(["explain", "fact_call"]));
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("logical_plan")
            && text.contains("physical_plan")
            && text.contains("int_calls"),
        "{text}"
    );
    let (code, text) = output(kpi_etl(&pipeline()).args(["explain", "nope"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no model named nope"), "{text}");
    let (code, text) = output(kpi_etl(&pipeline()).args(["docs", "--out"]).arg(dir.path()));
    assert_eq!(code, 0, "{text}");
    let md = std::fs::read_to_string(dir.path().join("data-dictionary.md")).unwrap();
    assert!(md.contains("```mermaid") && md.contains("int_calls --> fact_call"));
    assert!(md.contains("## kpi_sales_daily") && md.contains("| won_amount | Decimal128(18, 2) |"));
    assert!(md.contains("unique(dt, channel, agent_id)"));
    assert!(
        std::fs::read_to_string(dir.path().join("lineage.mmd"))
            .unwrap()
            .starts_with("graph LR")
    );
}
