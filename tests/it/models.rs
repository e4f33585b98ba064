//! The model files: headers, dependencies, order, and the errors that name what is wrong.

use std::collections::BTreeSet;
use std::path::Path;

use kpi_etl::config::PipelineFile;
use kpi_etl::transform::model::{Model, dependency_order, load_models};

/// A model file of `text` at `relative` inside a pipeline folder `pipelines/`.
fn file(relative: &str, text: &str) -> PipelineFile {
    PipelineFile {
        shown: format!("pipelines/{relative}"),
        relative: relative.to_string(),
        text: text.to_string(),
    }
}

fn model(name: &str, sql: &str) -> Model {
    let text = format!("/* kpi-etl\nmaterialized = \"table\"\nstrategy = \"replace\"\n*/\n{sql}");
    Model::parse(&file(&format!("{name}.sql"), &text)).unwrap()
}

fn sources() -> BTreeSet<String> {
    ["raw_cdr".to_string()].into_iter().collect()
}

#[test]
fn models_run_after_the_models_they_read() {
    let models = vec![
        model("c", "SELECT * FROM b__changed JOIN a USING (x)"),
        model("b", "WITH t AS (SELECT * FROM a) SELECT * FROM t"),
        model("a", "SELECT * FROM raw_cdr, generate_series(1, 3)"),
    ];
    let order: Vec<String> = dependency_order(&models, &sources())
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(order, vec!["a", "b", "c"]);
    assert_eq!(
        models[1].reads.iter().cloned().collect::<Vec<_>>(),
        vec!["a"],
        "CTE names are not tables"
    );
}

#[test]
fn a_cycle_is_an_error_naming_it() {
    let models = vec![
        model("a", "SELECT * FROM b"),
        model("b", "SELECT * FROM c"),
        model("c", "SELECT * FROM a"),
    ];
    let err = dependency_order(&models, &sources())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cycle") && err.contains("a -> b -> c -> a"),
        "{err}"
    );
}

#[test]
fn a_missing_table_is_an_error_naming_the_model_and_the_table() {
    let models = vec![model("a", "SELECT * FROM raw_cdr JOIN nowhere USING (x)")];
    let err = dependency_order(&models, &sources())
        .unwrap_err()
        .to_string();
    assert!(err.contains("model a") && err.contains("nowhere"), "{err}");
}

#[test]
fn bad_headers_and_sql_are_errors_naming_the_file() {
    let no_header = Model::parse(&file("x.sql", "SELECT 1")).unwrap_err();
    assert!(
        format!("{no_header:#}").contains("pipelines/x.sql"),
        "{no_header:#}"
    );
    let merge_without_key = Model::parse(&file(
        "y.sql",
        "/* kpi-etl\nmaterialized = \"daily\"\n*/\nSELECT 1",
    ))
    .unwrap_err();
    assert!(
        format!("{merge_without_key:#}").contains("unique_key"),
        "{merge_without_key:#}"
    );
    let syntax = Model::parse(&file(
        "z.sql",
        "/* kpi-etl\nmaterialized = \"table\"\nstrategy = \"replace\"\n*/\nSELEC 1",
    ))
    .unwrap_err();
    assert!(
        format!("{syntax:#}").contains("pipelines/z.sql: SQL syntax error"),
        "{syntax:#}"
    );
}

#[test]
fn the_repository_pipeline_loads_and_orders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let config = kpi_etl::config::PipelineConfig::load(&dir.join("nightly.toml")).unwrap();
    let models = load_models(config.model_files()).unwrap();
    let mut sources: BTreeSet<String> = kpi_etl::extract::sources(&config)
        .unwrap()
        .into_iter()
        .map(|s| s.table)
        .collect();
    for t in [
        kpi_etl::transform::run_tables::CONTEXTS_TABLE,
        kpi_etl::transform::run_tables::RUN_TABLE,
        kpi_etl::transform::run_tables::SERVICE_LEVELS_TABLE,
    ] {
        sources.insert(t.to_string());
    }
    let order = dependency_order(&models, &sources).unwrap();
    let pos = |n: &str| order.iter().position(|m| m.name == n).unwrap();
    assert!(pos("stg_cdr") < pos("int_calls") && pos("int_calls") < pos("fact_call"));
    assert!(pos("dim_agent") < pos("fact_call") && pos("dim_customer") < pos("fact_call"));
    for m in &models {
        assert!(
            !m.config.description.is_empty(),
            "{} has a description",
            m.name
        );
    }
}
