//! What every command leaves behind and how it ends: nothing under `$TMPDIR`, the embedded
//! pipeline read from memory and named as such, an editable copy from `init`, a closed pipe as
//! a normal end, model unit cases from the command line.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{files_below, output, pipeline};

/// The binary run in `cwd` (where no `pipelines/` exists, so the embedded pipeline runs unless
/// `--pipeline` is given) with `TMPDIR` pointing at `tmp`.
fn kpi_etl(cwd: &Path, tmp: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kpi-etl"));
    c.current_dir(cwd)
        .env("TMPDIR", tmp)
        .env("KPI_ETL_PII_KEY", "hygiene-test-key")
        .env_remove("KPI_ETL_RAW")
        .env_remove("KPI_ETL_WAREHOUSE")
        .env_remove("KPI_ETL_PIPELINE");
    c
}

fn ok(c: &mut Command) -> String {
    let (code, text) = output(c);
    assert_eq!(code, 0, "{c:?}: {text}");
    text
}

#[test]
fn no_command_writes_under_tmpdir() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (w, t) = (work.path(), tmp.path());
    let stays_empty = |after: &str| {
        let left = files_below(t);
        assert!(left.is_empty(), "{after} left {left:?} under TMPDIR");
        assert_eq!(
            std::fs::read_dir(t).unwrap().count(),
            0,
            "{after}: folders left"
        );
    };
    let commands: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec![
            "generate",
            "--out",
            "raw",
            "--from",
            "2026-10-24",
            "--to",
            "2026-10-26",
            "--calls-per-day",
            "40",
        ],
        vec![
            "run",
            "--raw",
            "raw",
            "--warehouse",
            "wh",
            "--date",
            "2026-10-24",
        ],
        vec![
            "backfill",
            "--raw",
            "raw",
            "--warehouse",
            "wh",
            "--from",
            "2026-10-25",
            "--to",
            "2026-10-26",
        ],
        vec!["validate"],
        vec!["test", "kpi_sales_daily"],
        vec!["explain", "fact_call"],
        vec!["docs", "--out", "docs"],
        vec!["init", "copy"],
        vec![
            "query",
            "--warehouse",
            "wh",
            "SELECT COUNT(*) FROM fact_call",
        ],
        vec![
            "report",
            "--warehouse",
            "wh",
            "--from",
            "2026-10-24",
            "--to",
            "2026-10-26",
            "--out",
            "r.html",
        ],
        vec![
            "bigquery-ddl",
            "--warehouse",
            "wh",
            "--project",
            "p",
            "--dataset",
            "d",
            "--uri-prefix",
            "gs://b/kpi",
        ],
        vec![
            "export",
            "--warehouse",
            "wh",
            "--table",
            "kpi_sales_daily",
            "--from",
            "2026-10-24",
            "--to",
            "2026-10-26",
            "--format",
            "xlsx",
            "--out",
            "k.xlsx",
        ],
        vec!["demo", "--calls-per-day", "30", "--dir", "demo"],
    ];
    for args in &commands {
        ok(kpi_etl(w, t).args(args));
        stays_empty(&args.join(" "));
    }
    // A failed run too (no input for the date: exit 4).
    let (code, text) = output(kpi_etl(w, t).args([
        "run",
        "--raw",
        "raw",
        "--warehouse",
        "wh",
        "--date",
        "2026-12-24",
    ]));
    assert_eq!(code, 4, "{text}");
    stays_empty("a run without input");
}

#[test]
fn the_embedded_pipeline_runs_from_memory_and_is_named_so() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (w, t) = (work.path(), tmp.path());
    ok(kpi_etl(w, t).args([
        "generate",
        "--out",
        "raw",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-02",
        "--calls-per-day",
        "30",
    ]));
    ok(kpi_etl(w, t).args([
        "run",
        "--raw",
        "raw",
        "--warehouse",
        "wh",
        "--date",
        "2026-11-02",
    ]));
    let runs: Vec<PathBuf> = std::fs::read_dir(w.join("wh/_runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].join("run_results.json")).unwrap()).unwrap();
    assert_eq!(results["arguments"]["pipeline"], "embedded:nightly.toml");
    assert_eq!(results["status"], "success");
    assert_eq!(results["models"][0]["materialized"], "daily");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runs[0].join("manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"embedded:staging/stg_cdr.sql"), "{files:?}");
    assert!(
        files.iter().all(|f| f.starts_with("embedded:")),
        "{files:?}"
    );
    // The docs name the embedded files too, and nothing pretends pipelines/ exists.
    ok(kpi_etl(w, t).args(["docs", "--out", "docs"]));
    let dictionary = std::fs::read_to_string(w.join("docs/data-dictionary.md")).unwrap();
    assert!(
        dictionary.contains("embedded:marts/kpi_sales_daily.sql"),
        "{dictionary}"
    );
    assert!(!w.join("pipelines").exists());
    let validate = ok(kpi_etl(w, t).args(["validate"]));
    assert!(
        validate.starts_with("embedded:nightly.toml: "),
        "{validate}"
    );
}

#[test]
fn init_writes_an_editable_copy_that_runs_in_its_place() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (w, t) = (work.path(), tmp.path());
    ok(kpi_etl(w, t).args(["init", "mine"]));
    let written = files_below(&w.join("mine"));
    let repo = files_below(pipeline().parent().unwrap());
    assert_eq!(written, repo, "the copy holds every file of pipelines/");
    // An edit of the copy is what runs: a broken model is reported with its path.
    let model = w.join("mine/marts/kpi_sales_daily.sql");
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(&model, text.replace("SUM(orders)", "SUM(no_such_column)")).unwrap();
    let (code, out) = output(kpi_etl(w, t).args(["--pipeline", "mine/nightly.toml", "validate"]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("mine/marts/kpi_sales_daily.sql"), "{out}");
    // A second init into the same folder refuses to overwrite it.
    let (code, out) = output(kpi_etl(w, t).args(["init", "mine"]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("exists already"), "{out}");
}

/// Starts `args`, reads one line of its output, closes the pipe, and returns the exit code and
/// what it wrote to stderr.
fn closed_after_one_line(cwd: &Path, tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let mut child = kpi_etl(cwd, tmp)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        reader.read_line(&mut first).unwrap();
    } // the read end is closed here, like `head -1` exiting
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), first, err)
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (w, t) = (work.path(), tmp.path());
    std::fs::create_dir(w.join("wh")).unwrap();
    // Far more than a pipe holds (64 KiB), so the writes after the close must fail.
    let (code, first, err) = closed_after_one_line(
        w,
        t,
        &[
            "query",
            "--warehouse",
            "wh",
            "SELECT value, value * 2 AS twice FROM generate_series(1, 200000)",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""), "first line: {first}");
    assert!(first.starts_with('+'), "{first}");
    for args in [vec!["validate"], vec!["explain", "fact_call"], vec!["test"]] {
        let (code, first, err) = closed_after_one_line(w, t, &args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}: {first}");
        assert!(!first.is_empty(), "{args:?}");
    }
}

#[test]
fn test_runs_the_model_cases_and_fails_on_a_wrong_one() {
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (w, t) = (work.path(), tmp.path());
    let all = ok(kpi_etl(w, t).args(["test"]));
    let last = all.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 40, "{last}");
    assert!(all.lines().filter(|l| l.starts_with("PASS ")).count() == passed);

    // A copy with one expectation changed fails, naming the case and the rows.
    ok(kpi_etl(w, t).args(["init", "p"]));
    let cases = w.join("p/marts/kpi_sales_daily.cases.toml");
    let text = std::fs::read_to_string(&cases).unwrap();
    assert!(text.contains("opportunities_lost = 1,"));
    std::fs::write(
        &cases,
        text.replacen("opportunities_lost = 1,", "opportunities_lost = 7,", 1),
    )
    .unwrap();
    let (code, out) =
        output(kpi_etl(w, t).args(["--pipeline", "p/nightly.toml", "test", "kpi_sales_daily"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL kpi_sales_daily: "), "{out}");
    assert!(
        out.contains("- expected, not produced: ") && out.contains("opportunities_lost=7"),
        "{out}"
    );
    assert!(
        out.contains("+ produced, not expected: ") && out.contains("opportunities_lost=1"),
        "{out}"
    );
    assert!(out.contains(" passed, 1 failed"), "{out}");
    // An unknown model is a usage error.
    let (code, out) = output(kpi_etl(w, t).args(["test", "no_such_model"]));
    assert_eq!(code, 2, "{out}");
}
