//! Model unit cases, in the spirit of dbt's unit tests: for one model, given rows for the
//! tables it reads, the rows it must produce. They run without a warehouse, a landing zone or
//! any file: every input is an in-memory table of the schema the pipeline compiles for it.
//!
//! A model `marts/kpi_sales_daily.sql` keeps its cases beside it in
//! `marts/kpi_sales_daily.cases.toml`:
//!
//! ```toml
//! [[case]]
//! name = "a won opportunity counts on its close date"
//! landing_date = 2026-10-20          # the run's date (`pipeline_run`), when the model reads it
//!
//! [case.given]                        # rows of any table the model reads; others are empty
//! fact_opportunity = [
//!   { opportunity_id = "006A", close_date = 2026-10-20, is_won = true, amount = "100.00" },
//! ]
//! __partitions = [{ dt = 2026-10-20 }]   # optional: else the model's partitions query runs
//!
//! [case.expect]
//! rows = [
//!   { dt = 2026-10-20, opportunities_won = 1, won_amount = "100.00" },
//! ]
//! ```
//!
//! Rules:
//! - `given` may name the pipeline's sources (`raw_cdr`, ...), models, their `__changed` and
//!   `__previous` tables, the run tables (`pipeline_run`, `pipeline_contexts`,
//!   `pipeline_service_levels`, which otherwise hold the pipeline file's settings), `this` (the
//!   model's own published table) and `__partitions`. A column left out of a given row is NULL.
//! - `expect.rows` name the columns compared: every expected row names the same columns, and
//!   the columns left out are not compared. Rows compare as a multiset (order does not matter,
//!   duplicates do).
//! - Values are written as TOML values or strings and converted to the column's type as SQL's
//!   `CAST` would: dates `2026-10-20`, timestamps in UTC `2026-10-20T08:00:00Z`, money as
//!   `"12.50"`. The string `"NULL"` is SQL NULL. Floating-point values compare to 6 decimals.
//! - Personal data is hashed with the key `unit-case-key` and local dates use Europe/Madrid,
//!   unless the case runner is given others.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Deserialize;

use super::compile::{self, Compiled};
use super::model::Model;
use super::run_tables::{self, RUN_TABLE};
use super::runner::{distinct_dates, register_dates};
use crate::config::{PipelineConfig, PipelineFile};
use crate::error::{Context, Error, Result};

/// The key personal data is hashed with in unit cases.
pub const CASE_PII_KEY: &[u8] = b"unit-case-key";

/// The text that stands for SQL NULL in given and expected rows.
pub const NULL: &str = "NULL";

/// A cases file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    #[serde(rename = "case", default)]
    cases: Vec<CaseSpec>,
}

/// One case as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    landing_date: Option<toml::value::Datetime>,
    #[serde(default)]
    given: BTreeMap<String, Vec<toml::Table>>,
    expect: ExpectSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSpec {
    rows: Vec<toml::Table>,
}

/// A case of one model, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// The model it tests.
    pub model: String,
    /// Its name.
    pub name: String,
    /// What it shows, if written.
    pub description: String,
    /// The cases file.
    pub file: String,
    spec: CaseSpec,
}

/// How a case went.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The model.
    pub model: String,
    /// The case's name.
    pub case: String,
    /// The cases file.
    pub file: String,
    /// Expected rows the model did not produce, as `column=value, ...`.
    pub missing: Vec<String>,
    /// Rows the model produced that were not expected.
    pub unexpected: Vec<String>,
    /// The model failed to run on the given rows.
    pub error: Option<String>,
}

impl CaseOutcome {
    /// True when the model produced exactly the expected rows.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.missing.is_empty() && self.unexpected.is_empty()
    }
}

/// Runs model unit cases.
pub struct CaseRunner<'a> {
    config: &'a PipelineConfig,
    compiled: Vec<Compiled>,
    /// Every table a case may give rows for, with its schema.
    schemas: BTreeMap<String, SchemaRef>,
    tz: Tz,
}

impl<'a> CaseRunner<'a> {
    /// Compiles the pipeline (a model that does not compile is an error) to learn the schema of
    /// every table a case may give.
    pub async fn new(config: &'a PipelineConfig, tz: Tz) -> Result<Self> {
        let ctx = case_session(tz);
        let compiled = compile::compile(config, &ctx).await?;
        let mut schemas: BTreeMap<String, SchemaRef> =
            compile::source_tables(config)?.into_iter().collect();
        for c in &compiled {
            for suffix in ["", "__changed", "__previous"] {
                schemas.insert(format!("{}{suffix}", c.model.name), c.schema.clone());
            }
        }
        Ok(Self {
            config,
            compiled,
            schemas,
            tz,
        })
    }

    /// The cases of the models named in `models` (all models when empty), in run order. A
    /// name that is not a model is an error; so is a cases file that does not parse.
    pub fn cases(&self, models: &[String]) -> Result<Vec<Case>> {
        for name in models {
            if !self.compiled.iter().any(|c| &c.model.name == name) {
                return Err(Error::Usage(format!("no model named {name}")));
            }
        }
        let mut out = Vec::new();
        for c in &self.compiled {
            if !models.is_empty() && !models.contains(&c.model.name) {
                continue;
            }
            let Some(file) = self.cases_file_of(&c.model) else {
                continue;
            };
            let parsed: CasesFile = toml::from_str(&file.text)
                .map_err(|e| Error::config_caused(&file.shown, "invalid unit cases", e))?;
            let mut names = BTreeSet::new();
            for spec in parsed.cases {
                if !names.insert(spec.name.clone()) {
                    return Err(Error::config(
                        &file.shown,
                        format!("two cases are named {:?}", spec.name),
                    ));
                }
                out.push(Case {
                    model: c.model.name.clone(),
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    file: file.shown.clone(),
                    spec,
                });
            }
        }
        Ok(out)
    }

    fn cases_file_of(&self, m: &Model) -> Option<&'a PipelineFile> {
        let model_file = self.config.model_files().find(|f| f.shown == m.file)?;
        self.config.cases_file(model_file)
    }

    /// Runs one case. A case that cannot be set up (a given table the model cannot read, a
    /// column that does not exist, a value of the wrong type) is an error naming the file; a
    /// model that fails on the given rows is a failed case.
    pub async fn run(&self, case: &Case) -> Result<CaseOutcome> {
        let c = self
            .compiled
            .iter()
            .find(|c| c.model.name == case.model)
            .context("the case's model is compiled")?;
        let m = &c.model;
        let ctx = case_session(self.tz);
        let at = |what: String| format!("{}: case {:?}: {what}", case.file, case.name);
        self.register_inputs(&ctx, c, case)
            .map_err(|e| Error::config_caused(&case.file, format!("case {:?}", case.name), e))?;
        let mut outcome = CaseOutcome {
            model: case.model.clone(),
            case: case.name.clone(),
            file: case.file.clone(),
            missing: vec![],
            unexpected: vec![],
            error: None,
        };
        let batches = match self.execute(&ctx, m, case).await {
            Ok(b) => b,
            Err(e) => {
                outcome.error = Some(crate::error::describe(&e));
                return Ok(outcome);
            }
        };
        let (expected, actual) = compare_rows(&case.spec.expect.rows, &batches, &c.schema)
            .map_err(|e| Error::config(&case.file, at(e)))?;
        outcome.missing = multiset_minus(&expected, &actual);
        outcome.unexpected = multiset_minus(&actual, &expected);
        Ok(outcome)
    }

    /// Registers every table the model may read: the given rows, or an empty table.
    fn register_inputs(&self, ctx: &SessionContext, c: &Compiled, case: &Case) -> Result<()> {
        let m = &c.model;
        let partition = m.config.materialized.partition_column();
        let mut schemas = self.schemas.clone();
        schemas.insert("this".into(), c.schema.clone());
        if let Some(p) = partition {
            schemas.insert(
                "__partitions".into(),
                Arc::new(Schema::new(vec![Field::new(p, DataType::Date32, false)])),
            );
        }
        for name in case.spec.given.keys() {
            if !schemas.contains_key(name) {
                return Err(Error::Usage(format!(
                    "given table {name} is neither a source, a model, a run table, `this` nor `__partitions` of {}",
                    m.name
                )));
            }
        }
        let landing = match &case.spec.landing_date {
            Some(d) => Some(
                d.to_string()
                    .parse::<NaiveDate>()
                    .map_err(|e| Error::Usage(format!("landing_date {d}: {e}")))?,
            ),
            None => None,
        };
        if m.reads.contains(RUN_TABLE)
            && landing.is_none()
            && !case.spec.given.contains_key(RUN_TABLE)
        {
            return Err(Error::Usage(format!(
                "{} reads {RUN_TABLE}: give the case a landing_date",
                m.name
            )));
        }
        let defaults: BTreeMap<&str, RecordBatch> = run_tables::batches(
            self.config,
            &[landing.unwrap_or(NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date"))],
        )?
        .into_iter()
        .collect();
        for (name, schema) in &schemas {
            let schema = &nullable(schema);
            let batch = match (case.spec.given.get(name), defaults.get(name.as_str())) {
                (Some(rows), _) => {
                    rows_batch(schema, rows).with_context(|| format!("given {name}"))?
                }
                (None, Some(b)) => b.clone(),
                (None, None) => RecordBatch::new_empty(schema.clone()),
            };
            let table = MemTable::try_new(schema.clone(), vec![vec![batch]])?;
            ctx.register_table(name.as_str(), Arc::new(table))?;
        }
        Ok(())
    }

    /// The model's rows: its partitions query first (unless `__partitions` is given), then the
    /// model itself.
    async fn execute(
        &self,
        ctx: &SessionContext,
        m: &Model,
        case: &Case,
    ) -> Result<Vec<RecordBatch>> {
        if let (Some(sql), Some(p)) = (
            &m.config.partitions,
            m.config.materialized.partition_column(),
        ) && !case.spec.given.contains_key("__partitions")
        {
            let days = distinct_dates(ctx, sql)
                .await
                .context("the partitions query")?;
            register_dates(ctx, "__partitions", p, &days)?;
        }
        let planned = super::partitions::inline(ctx, ctx.sql(&m.sql).await?).await?;
        Ok(planned.collect().await?)
    }
}

/// A session for cases: kpi-etl's functions, nothing else.
fn case_session(tz: Tz) -> SessionContext {
    let ctx = SessionContext::new();
    super::functions::register(&ctx, tz, CASE_PII_KEY);
    ctx
}

/// A TOML value as the text SQL would cast; `None` for NULL.
fn cell_text(v: &toml::Value) -> std::result::Result<Option<String>, String> {
    Ok(match v {
        toml::Value::String(s) if s == NULL => None,
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        other => return Err(format!("a cell holds a value, not {other}")),
    })
}

/// Converts a column of texts to `dt` as SQL's CAST would, failing on a value that does not
/// convert.
fn cast_texts(texts: Vec<Option<String>>, dt: &DataType) -> std::result::Result<ArrayRef, String> {
    let strings: ArrayRef = Arc::new(StringArray::from(texts));
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(&strings, dt, &options).map_err(|e| format!("as {dt}: {e}"))
}

/// The given rows of one table as a batch of its schema.
fn rows_batch(schema: &SchemaRef, rows: &[toml::Table]) -> Result<RecordBatch> {
    for (i, row) in rows.iter().enumerate() {
        for col in row.keys() {
            if schema.field_with_name(col).is_err() {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Err(Error::Usage(format!(
                    "row {}: no column {col} (the columns are {})",
                    i + 1,
                    names.join(", ")
                )));
            }
        }
    }
    let mut columns = Vec::new();
    for f in schema.fields() {
        let texts = rows
            .iter()
            .enumerate()
            .map(|(i, r)| match r.get(f.name()) {
                Some(v) => {
                    cell_text(v).map_err(|e| format!("row {} column {}: {e}", i + 1, f.name()))
                }
                None => Ok(None),
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::Usage)?;
        let array = cast_texts(texts, f.data_type())
            .map_err(|e| Error::Usage(format!("column {}: {e}", f.name())))?;
        columns.push(array);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// `schema` with every column nullable: a given row may leave any column out.
fn nullable(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ))
}

/// The expected and actual rows as texts over the columns the expected rows name.
fn compare_rows(
    expected: &[toml::Table],
    batches: &[RecordBatch],
    schema: &SchemaRef,
) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let columns: Vec<String> = match expected.first() {
        Some(r) => r.keys().cloned().collect(),
        None => schema.fields().iter().map(|f| f.name().clone()).collect(),
    };
    for (i, r) in expected.iter().enumerate() {
        let keys: Vec<String> = r.keys().cloned().collect();
        if keys != columns {
            return Err(format!(
                "expected row {} names columns {}, the first row {}: every expected row names the same columns",
                i + 1,
                keys.join(", "),
                columns.join(", ")
            ));
        }
    }
    let mut actual = Vec::new();
    for b in batches {
        let mut cells: Vec<Vec<String>> = Vec::new();
        for c in &columns {
            let idx = b
                .schema()
                .index_of(c)
                .map_err(|_| format!("the model has no column {c} (an expected row names it)"))?;
            cells.push(format_column(b.column(idx))?);
        }
        actual.extend(rows_of(&columns, &cells, b.num_rows()));
    }
    let mut wanted = Vec::new();
    let types: Vec<DataType> = columns
        .iter()
        .map(|c| {
            schema
                .field_with_name(c)
                .map(|f| f.data_type().clone())
                .map_err(|_| format!("the model has no column {c} (an expected row names it)"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut cells: Vec<Vec<String>> = Vec::new();
    for (c, dt) in columns.iter().zip(&types) {
        let texts = expected
            .iter()
            .enumerate()
            .map(|(i, r)| {
                cell_text(&r[c]).map_err(|e| format!("expected row {} column {c}: {e}", i + 1))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let array = cast_texts(texts, dt).map_err(|e| format!("expected column {c}: {e}"))?;
        cells.push(format_column(&array)?);
    }
    wanted.extend(rows_of(&columns, &cells, expected.len()));
    Ok((wanted, actual))
}

/// `n` rows as `column=value, ...`, from the texts of each column.
fn rows_of(columns: &[String], cells: &[Vec<String>], n: usize) -> Vec<String> {
    (0..n)
        .map(|row| {
            columns
                .iter()
                .zip(cells)
                .map(|(c, values)| format!("{c}={}", values[row]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// Every value of a column as text; floating point to 6 decimals, NULL as `NULL`.
fn format_column(a: &ArrayRef) -> std::result::Result<Vec<String>, String> {
    if matches!(a.data_type(), DataType::Float32 | DataType::Float64) {
        let f = cast_with_options(a, &DataType::Float64, &CastOptions::default())
            .map_err(|e| e.to_string())?;
        let f = f.as_primitive::<Float64Type>();
        return Ok((0..f.len())
            .map(|i| {
                if f.is_null(i) {
                    NULL.to_string()
                } else {
                    let v = f.value(i);
                    let s = format!("{v:.6}");
                    if s == "-0.000000" {
                        "0.000000".into()
                    } else {
                        s
                    }
                }
            })
            .collect());
    }
    let options = FormatOptions::default().with_null(NULL);
    let fmt = ArrayFormatter::try_new(a.as_ref(), &options).map_err(|e| e.to_string())?;
    Ok((0..a.len()).map(|i| fmt.value(i).to_string()).collect())
}

/// The rows of `a` left after taking away one occurrence of each row of `b`.
fn multiset_minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in b {
        *counts.entry(r).or_default() += 1;
    }
    let mut out = Vec::new();
    for r in a {
        match counts.get_mut(r.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(r.clone()),
        }
    }
    out.sort();
    out
}
