//! Model unit cases: every case of the repository's pipeline passes, and the runner reports a
//! wrong expectation as a failure with a row diff, and a badly written case as an error naming
//! its file.

use std::path::Path;

use kpi_etl::config::{PipelineConfig, PipelineFile};
use kpi_etl::transform::cases::{CaseOutcome, CaseRunner};

use crate::common::pipeline;

async fn run_all(config: &PipelineConfig, models: &[String]) -> Vec<CaseOutcome> {
    let runner = CaseRunner::new(config, chrono_tz::Europe::Madrid)
        .await
        .unwrap();
    let mut out = Vec::new();
    for case in runner.cases(models).unwrap() {
        out.push(runner.run(&case).await.unwrap());
    }
    out
}

fn show(o: &CaseOutcome) -> String {
    format!(
        "{}: {} ({})\n  error: {:?}\n  missing: {:#?}\n  unexpected: {:#?}",
        o.model, o.case, o.file, o.error, o.missing, o.unexpected
    )
}

#[tokio::test]
async fn every_case_of_the_pipeline_passes() {
    let config = PipelineConfig::load(&pipeline()).unwrap();
    let outcomes = run_all(&config, &[]).await;
    let failed: Vec<String> = outcomes.iter().filter(|o| !o.passed()).map(show).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(outcomes.len() >= 40, "{} cases", outcomes.len());
    // Every mart and the tricky facts have cases.
    for model in [
        "kpi_sales_daily",
        "kpi_agent_touch_daily",
        "kpi_target_attainment",
        "kpi_customers_monthly",
        "kpi_contact_center_daily",
        "int_call_handlers",
        "int_calls",
        "fact_call",
        "int_conversations",
        "int_lead_first_contact",
        "bridge_agent_touch",
    ] {
        assert!(
            outcomes.iter().filter(|o| o.model == model).count() >= 1,
            "{model} has cases"
        );
    }
}

#[tokio::test]
async fn the_embedded_pipeline_carries_the_same_cases() {
    let on_disk = PipelineConfig::load(&pipeline()).unwrap();
    let embedded = PipelineConfig::embedded().unwrap();
    let names = |c: &PipelineConfig| -> Vec<String> {
        c.files.iter().map(|f| f.relative.clone()).collect()
    };
    assert_eq!(names(&on_disk), names(&embedded));
    assert!(
        embedded
            .files
            .iter()
            .all(|f| f.shown.starts_with("embedded:"))
    );
}

/// The repository's pipeline with `model`'s cases replaced by `cases`.
fn with_cases(model_relative: &str, cases: &str) -> PipelineConfig {
    let mut config = PipelineConfig::load(&pipeline()).unwrap();
    let cases_rel = model_relative.replace(".sql", ".cases.toml");
    config.files.retain(|f| f.relative != cases_rel);
    config.files.push(PipelineFile {
        shown: format!("test:{cases_rel}"),
        relative: cases_rel,
        text: cases.to_string(),
    });
    config
}

const WON: &str = r#"
[[case]]
name = "one won opportunity"
[case.given]
__partitions = [{ dt = 2026-10-20 }]
fact_opportunity = [
  { opportunity_id = "006A", agent_id = "005X", first_contact_channel = "voice_mobile", created_at = "2026-10-01T10:00:00Z", close_date = 2026-10-20, is_won = true, is_closed = true, amount = "100.00" },
]
[case.expect]
rows = [{ dt = 2026-10-20, agent_id = "005X", opportunities_won = WON, won_amount = "100.00" }]
"#;

#[tokio::test]
async fn a_wrong_expectation_fails_with_the_rows_that_differ() {
    let right = with_cases("marts/kpi_sales_daily.sql", &WON.replace("WON", "1"));
    let outcomes = run_all(&right, &["kpi_sales_daily".into()]).await;
    assert!(
        outcomes.len() == 1 && outcomes[0].passed(),
        "{}",
        show(&outcomes[0])
    );

    let wrong = with_cases("marts/kpi_sales_daily.sql", &WON.replace("WON", "2"));
    let o = &run_all(&wrong, &["kpi_sales_daily".into()]).await[0];
    assert!(!o.passed());
    assert_eq!(
        o.missing,
        vec!["agent_id=005X, dt=2026-10-20, opportunities_won=2, won_amount=100.00"]
    );
    assert_eq!(
        o.unexpected,
        vec!["agent_id=005X, dt=2026-10-20, opportunities_won=1, won_amount=100.00"]
    );
}

#[tokio::test]
async fn duplicated_rows_count() {
    // Two identical expected rows where the model gives one: a failure, not a pass.
    let doubled = WON.replace(
        "rows = [{ dt = 2026-10-20, agent_id = \"005X\", opportunities_won = WON, won_amount = \"100.00\" }]",
        "rows = [{ dt = 2026-10-20, agent_id = \"005X\" }, { dt = 2026-10-20, agent_id = \"005X\" }]",
    );
    let config = with_cases("marts/kpi_sales_daily.sql", &doubled);
    let o = &run_all(&config, &["kpi_sales_daily".into()]).await[0];
    assert_eq!(o.missing, vec!["agent_id=005X, dt=2026-10-20"]);
    assert!(o.unexpected.is_empty());
}

async fn setup_error(cases: &str) -> String {
    let config = with_cases("marts/kpi_sales_daily.sql", cases);
    let runner = CaseRunner::new(&config, chrono_tz::Europe::Madrid)
        .await
        .unwrap();
    let listed = runner.cases(&["kpi_sales_daily".into()]);
    let err = match listed {
        Err(e) => e,
        Ok(cases) => runner.run(&cases[0]).await.unwrap_err(),
    };
    assert_eq!(err.exit_code(), 2, "a bad case is a configuration error");
    kpi_etl::error::describe(&err)
}

#[tokio::test]
async fn badly_written_cases_are_errors_naming_the_file_and_the_problem() {
    let unknown_table = WON
        .replace("WON", "1")
        .replace("fact_opportunity = [", "fact_opportunities = [");
    let e = setup_error(&unknown_table).await;
    assert!(
        e.contains("test:marts/kpi_sales_daily.cases.toml") && e.contains("fact_opportunities"),
        "{e}"
    );
    let unknown_column = WON.replace("WON", "1").replace("is_won =", "won =");
    let e = setup_error(&unknown_column).await;
    assert!(e.contains("no column won"), "{e}");
    let bad_value = WON
        .replace("WON", "1")
        .replace("\"100.00\" }", "\"a lot\" }");
    let e = setup_error(&bad_value).await;
    assert!(e.contains("amount"), "{e}");
    let no_such_output = WON.replace("opportunities_won = WON", "wins = 1");
    let e = setup_error(&no_such_output).await;
    assert!(e.contains("no column wins"), "{e}");
    let e = setup_error("[[case]]\nname = 'x'\n").await;
    assert!(e.contains("invalid unit cases"), "{e}");
}

#[tokio::test]
async fn a_model_reading_the_run_date_needs_a_landing_date() {
    let mut config = PipelineConfig::load(&pipeline()).unwrap();
    let rel = "intermediate/int_landing_dates.cases.toml";
    config.files.retain(|f| f.relative != rel);
    config.files.push(PipelineFile {
        shown: format!("test:{rel}"),
        relative: rel.into(),
        text: "[[case]]\nname = 'no date'\n[case.expect]\nrows = []\n".into(),
    });
    let runner = CaseRunner::new(&config, chrono_tz::Europe::Madrid)
        .await
        .unwrap();
    let cases = runner.cases(&["int_landing_dates".into()]).unwrap();
    let e = kpi_etl::error::describe(&runner.run(&cases[0]).await.unwrap_err());
    assert!(e.contains("landing_date"), "{e}");
    assert!(Path::new(&pipeline()).exists());
}
