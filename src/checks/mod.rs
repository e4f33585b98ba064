//! Data tests, declared per table in the model's header and run after the models and before
//! anything is published, in the spirit of dbt:
//!
//! ```toml
//! tests = [
//!   { unique = ["call_id"] },
//!   { not_null = ["call_id", "agent_key"] },
//!   { relationships = { column = "agent_key", to = "dim_agent", field = "agent_key" } },
//!   { accepted_values = { column = "direction", values = ["inbound", "outbound"] } },
//!   { reconcile = "raw_cdr" },
//!   { name = "no negative talk", sql = "SELECT * FROM this WHERE talk_s < 0", severity = "warn" },
//! ]
//! ```
//!
//! A test looks at the rows the night wrote (the rebuilt partitions, or the whole table), called
//! `this` in custom SQL; it fails when it finds rows (custom SQL returns the failing rows).
//! `reconcile` checks that the model produced exactly as many rows as the source yielded that
//! night (raw rows = staged rows + rejects + duplicates removed). Severity `error` (the default)
//! fails the run before publishing; `warn` only reports.

use std::sync::Arc;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sql::{literal, quote};

/// How bad a failing test is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the run; nothing is published.
    #[default]
    Error,
    /// Reported only.
    Warn,
}

/// `relationships`: every value of `column` exists in `to.field`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    /// The column of this table.
    pub column: String,
    /// The table it refers to.
    pub to: String,
    /// The referred column.
    pub field: String,
}

/// `accepted_values`: `column` only holds these values (NULL allowed).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptedValues {
    /// The column.
    pub column: String,
    /// Its allowed values.
    pub values: Vec<String>,
}

/// One data test of a model.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DataTest {
    /// A name for reports (default: derived from the test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// These columns together identify a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<Vec<String>>,
    /// These columns are never NULL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_null: Option<Vec<String>>,
    /// A foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationships: Option<Relationship>,
    /// An enumeration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_values: Option<AcceptedValues>,
    /// The raw table whose rows this model must account for one by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<String>,
    /// A query over `this` returning the failing rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// `error` (default) or `warn`.
    #[serde(default)]
    pub severity: Severity,
}

impl DataTest {
    /// A readable name.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        if let Some(c) = &self.unique {
            return format!("unique({})", c.join(", "));
        }
        if let Some(c) = &self.not_null {
            return format!("not_null({})", c.join(", "));
        }
        if let Some(r) = &self.relationships {
            return format!("relationships({} -> {}.{})", r.column, r.to, r.field);
        }
        if let Some(a) = &self.accepted_values {
            return format!("accepted_values({})", a.column);
        }
        if let Some(r) = &self.reconcile {
            return format!("reconcile({r})");
        }
        "custom sql".to_string()
    }

    /// Checks that exactly one kind of test is given.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let kinds = [
            self.unique.is_some(),
            self.not_null.is_some(),
            self.relationships.is_some(),
            self.accepted_values.is_some(),
            self.reconcile.is_some(),
            self.sql.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            1 => Ok(()),
            n => Err(format!(
                "a data test has exactly one of unique, not_null, relationships, accepted_values, reconcile, sql (found {n})"
            )),
        }
    }

    /// The query returning the failing rows of table `this` (not for `reconcile`).
    pub fn failing_rows_sql(&self) -> Option<String> {
        if let Some(cols) = &self.unique {
            let c: Vec<String> = cols.iter().map(|c| quote(c)).collect();
            return Some(format!(
                "SELECT {c}, COUNT(*) AS occurrences FROM this GROUP BY {c} HAVING COUNT(*) > 1",
                c = c.join(", ")
            ));
        }
        if let Some(cols) = &self.not_null {
            let cond: Vec<String> = cols
                .iter()
                .map(|c| format!("{} IS NULL", quote(c)))
                .collect();
            return Some(format!("SELECT * FROM this WHERE {}", cond.join(" OR ")));
        }
        if let Some(r) = &self.relationships {
            return Some(format!(
                "SELECT t.* FROM this AS t WHERE t.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {to} AS d WHERE d.{f} = t.{c})",
                c = quote(&r.column),
                to = quote(&r.to),
                f = quote(&r.field)
            ));
        }
        if let Some(a) = &self.accepted_values {
            let values: Vec<String> = a.values.iter().map(|v| literal(v)).collect();
            return Some(format!(
                "SELECT * FROM this WHERE {c} IS NOT NULL AND {c} NOT IN ({})",
                values.join(", "),
                c = quote(&a.column)
            ));
        }
        self.sql.clone()
    }
}

/// What a data test found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// No failing row.
    Pass,
    /// Failing rows, severity `warn`: reported only.
    Warn,
    /// Failing rows, severity `error`: the run fails.
    Fail,
}

impl TestStatus {
    /// The name used in logs and artifacts.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Pass => "pass",
            TestStatus::Warn => "warn",
            TestStatus::Fail => "fail",
        }
    }
}

impl std::fmt::Display for TestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one data test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// The model (table) tested.
    pub model: String,
    /// The test's name.
    pub test: String,
    /// Its severity.
    pub severity: Severity,
    /// Pass, warn (a failing warn test) or fail (a failing error test).
    pub status: TestStatus,
    /// Rows found failing (for reconcile: the difference in row counts).
    pub failing_rows: u64,
    /// Up to five failing rows, as text.
    pub examples: Vec<String>,
    /// What was checked.
    pub detail: String,
}

impl TestResult {
    /// True when this result fails the run.
    pub fn fails_run(&self) -> bool {
        self.status == TestStatus::Fail
    }
}

/// Runs one test whose `this` is already registered in `ctx`.
pub async fn run_test(
    ctx: &SessionContext,
    model: &str,
    test: &DataTest,
    reconcile: Option<(u64, u64)>,
) -> Result<TestResult> {
    let (failing, examples, detail) = match (&test.reconcile, reconcile) {
        (Some(source), Some((read, produced))) => (
            read.abs_diff(produced),
            vec![],
            format!("{read} rows read from {source}, {produced} rows produced by {model}"),
        ),
        (Some(source), None) => {
            return Err(Error::Usage(format!(
                "reconcile: {source} is not a raw source table"
            )));
        }
        _ => {
            let sql = test.failing_rows_sql().unwrap_or_default();
            let df = ctx.sql(&sql).await?;
            let count = df.clone().count().await? as u64;
            let batches = df.limit(0, Some(5))?.collect().await?;
            let mut examples = Vec::new();
            let options = FormatOptions::default().with_null("NULL");
            for b in &batches {
                let formatters: Vec<ArrayFormatter> = b
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                    .collect::<Result<_, _>>()?;
                for row in 0..b.num_rows() {
                    let cells: Vec<String> = b
                        .schema()
                        .fields()
                        .iter()
                        .zip(&formatters)
                        .map(|(f, fmt)| format!("{}={}", f.name(), fmt.value(row)))
                        .collect();
                    examples.push(cells.join(", "));
                }
            }
            (count, examples, sql)
        }
    };
    let status = match (failing, test.severity) {
        (0, _) => TestStatus::Pass,
        (_, Severity::Warn) => TestStatus::Warn,
        (_, Severity::Error) => TestStatus::Fail,
    };
    Ok(TestResult {
        model: model.to_string(),
        test: test.display_name(),
        severity: test.severity,
        status,
        failing_rows: failing,
        examples,
        detail,
    })
}

/// Registers `table` as `this` for the tests of one model.
pub fn register_this(
    ctx: &SessionContext,
    table: Arc<dyn datafusion::catalog::TableProvider>,
) -> Result<()> {
    ctx.deregister_table("this")?;
    ctx.register_table("this", table)?;
    Ok(())
}
