//! A model: one SQL file named after the table it builds, with its settings in a header comment.
//!
//! ```sql
//! /* kpi-etl
//! materialized = "daily"            # daily (partitions on dt) | monthly (on month) | table
//! strategy = "merge"                # merge new rows into the partitions they touch | replace them
//!                                   # | delete_insert: replace the rows of the keys they hold
//! unique_key = ["uniqueid", "sequence"]
//! latest_by = "landed_on DESC, source_file DESC, source_line DESC"
//! description = "One row per CDR row."
//! */
//! SELECT ...
//! ```
//!
//! Dependencies are not declared by hand: they are the tables the SQL reads, as DataFusion's
//! parser resolves them, so they cannot drift from the query.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use serde::{Deserialize, Serialize};

use crate::config::PipelineFile;
use crate::error::{Error, Result};

/// How a model's table is laid out in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Materialized {
    /// Event-date partitions `dt=YYYY-MM-DD`.
    Daily,
    /// Month partitions `month=YYYY-MM-01`.
    Monthly,
    /// One unpartitioned table.
    Table,
}

impl Materialized {
    /// The name used in model headers and artifacts.
    pub fn as_str(self) -> &'static str {
        match self {
            Materialized::Daily => "daily",
            Materialized::Monthly => "monthly",
            Materialized::Table => "table",
        }
    }

    /// The partition column, if any.
    pub fn partition_column(self) -> Option<&'static str> {
        match self {
            Materialized::Daily => Some("dt"),
            Materialized::Monthly => Some("month"),
            Materialized::Table => None,
        }
    }
}

/// How a night's rows combine with what the table already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Union with the existing rows of the touched partitions (or the whole table) and keep one
    /// row per `unique_key`, the first by `latest_by`.
    #[default]
    Merge,
    /// The model's rows are the whole new content of the partitions they touch.
    Replace,
    /// The model's rows are the whole new content of the `unique_key` values they hold: every
    /// published row with one of those values goes, the night's rows come in (dbt's
    /// `delete+insert`). For an index recomputed per key, where a key may lose rows.
    DeleteInsert,
}

impl Strategy {
    /// The name used in model headers and artifacts.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Merge => "merge",
            Strategy::Replace => "replace",
            Strategy::DeleteInsert => "delete_insert",
        }
    }
}

impl std::fmt::Display for Materialized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header settings of a model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Layout in the warehouse.
    pub materialized: Materialized,
    /// Merge or replace.
    #[serde(default)]
    pub strategy: Strategy,
    /// Columns identifying a row (`merge`), or the group of rows replaced together
    /// (`delete_insert`).
    #[serde(default)]
    pub unique_key: Vec<String>,
    /// SQL ORDER BY list choosing the row kept among those sharing a key; `__source_rank` is 0
    /// for the night's rows and 1 for the warehouse's. Default: the night's rows win.
    #[serde(default)]
    pub latest_by: Option<String>,
    /// For `replace`: a query returning the partition dates to rebuild (see the runner).
    #[serde(default)]
    pub partitions: Option<String>,
    /// What the table holds.
    #[serde(default)]
    pub description: String,
    /// Data tests run on the night's rows before publishing (see [`crate::checks`]).
    #[serde(default)]
    pub tests: Vec<crate::checks::DataTest>,
}

/// One SQL model.
#[derive(Debug, Clone)]
pub struct Model {
    /// Table name (the file name without `.sql`).
    pub name: String,
    /// The file, as people see it (a path, or `embedded:<path>`).
    pub file: String,
    /// Its folder in the pipeline (`staging`, `dims`, `facts`, `marts`, ...), if any.
    pub layer: Option<String>,
    /// The SQL text (header included; it is a comment).
    pub sql: String,
    /// Header settings.
    pub config: ModelConfig,
    /// Tables the SQL reads.
    pub reads: BTreeSet<String>,
    /// The `<model>__changed` and `<model>__previous` tables it reads (its own SQL or its
    /// `partitions` query), by full name.
    pub reads_changes: BTreeSet<String>,
}

impl Model {
    /// Parses a model from its file.
    pub fn parse(file: &PipelineFile) -> Result<Self> {
        let shown = file.shown.as_str();
        let sql = file.text.as_str();
        let name = file
            .relative
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_suffix(".sql"))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::config(shown, "not a model file name"))?
            .to_string();
        let header = sql
            .trim_start()
            .strip_prefix("/* kpi-etl")
            .and_then(|rest| rest.split_once("*/"))
            .map(|(h, _)| h)
            .ok_or_else(|| Error::config(shown, "the model has no `/* kpi-etl ... */` header"))?;
        let config: ModelConfig = toml::from_str(header)
            .map_err(|e| Error::config_caused(shown, "invalid model header", e))?;
        for t in &config.tests {
            t.validate()
                .map_err(|e| Error::config(shown, format!("invalid data test: {e}")))?;
        }
        if config.strategy != Strategy::Replace && config.unique_key.is_empty() {
            return Err(Error::config(
                shown,
                format!("strategy {} needs a unique_key", config.strategy),
            ));
        }
        let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
            .map_err(|e| Error::config_caused(shown, "SQL syntax error", e))?;
        if statements.len() != 1 {
            return Err(Error::config(
                shown,
                "a model is exactly one SELECT statement",
            ));
        }
        let mut reads = referenced_tables(sql)
            .map_err(|e| Error::config_caused(shown, "cannot resolve the tables it reads", e))?;
        if let Some(p) = &config.partitions {
            reads.extend(
                referenced_tables(p)
                    .map_err(|e| Error::config_caused(shown, "invalid partitions query", e))?,
            );
        }
        let reads_changes = reads
            .iter()
            .filter(|r| r.ends_with("__changed") || r.ends_with("__previous"))
            .cloned()
            .collect();
        // `x__changed` and `x__previous` are produced by model `x`; `__partitions` and `this`
        // (the model's own published table) by the runner.
        let reads = reads
            .into_iter()
            .filter(|r| r != "__partitions" && r != "this")
            .map(|r| {
                r.strip_suffix("__changed")
                    .or_else(|| r.strip_suffix("__previous"))
                    .map(str::to_string)
                    .unwrap_or(r)
            })
            .collect();
        Ok(Self {
            name,
            file: shown.to_string(),
            layer: file.layer().map(str::to_string),
            sql: sql.to_string(),
            config,
            reads,
            reads_changes,
        })
    }

    /// The model as it appears in messages: `name (file)`.
    pub fn label(&self) -> String {
        format!("model {} ({})", self.name, self.file)
    }
}

/// The tables a query reads (CTE names excluded).
fn referenced_tables(sql: &str) -> datafusion::error::Result<BTreeSet<String>> {
    let ctx = datafusion::prelude::SessionContext::new();
    let state = ctx.state();
    let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
    let stmt = statements
        .pop_front()
        .ok_or_else(|| datafusion::error::DataFusionError::Plan("empty SQL".into()))?;
    let refs = state.resolve_table_references(&stmt)?;
    // Table functions (generate_series, range, ...) are not tables.
    let functions = state.table_functions();
    Ok(refs
        .iter()
        .map(|r| r.table().to_string())
        .filter(|t| !functions.contains_key(t))
        .collect())
}

/// Parses every SQL model of the pipeline's files.
pub fn load_models<'a>(files: impl IntoIterator<Item = &'a PipelineFile>) -> Result<Vec<Model>> {
    let mut models = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for f in files {
        let m = Model::parse(f)?;
        if let Some(prev) = seen.insert(m.name.clone(), m.file.clone()) {
            return Err(Error::config(
                &m.file,
                format!(
                    "two models build the table {}: {prev} and {}",
                    m.name, m.file
                ),
            ));
        }
        models.push(m);
    }
    if models.is_empty() {
        return Err(Error::Usage("the pipeline has no SQL model".into()));
    }
    Ok(models)
}

/// Orders models so that each comes after the models it reads. A table that is neither a model
/// nor a known source is an error naming both; so is a cycle, named in full.
pub fn dependency_order(models: &[Model], sources: &BTreeSet<String>) -> Result<Vec<Model>> {
    let by_name: BTreeMap<&str, &Model> = models.iter().map(|m| (m.name.as_str(), m)).collect();
    for m in models {
        for r in &m.reads {
            if !by_name.contains_key(r.as_str()) && !sources.contains(r) {
                return Err(Error::config(
                    &m.file,
                    format!(
                        "model {} reads {r}, which is neither a model nor a source",
                        m.name
                    ),
                ));
            }
        }
    }
    let mut order = Vec::new();
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 visiting, 2 done
    fn visit<'a>(
        name: &'a str,
        by_name: &BTreeMap<&'a str, &'a Model>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        order: &mut Vec<Model>,
    ) -> Result<()> {
        match state.get(name) {
            Some(2) => return Ok(()),
            Some(1) => {
                let start = stack.iter().position(|s| *s == name).unwrap_or(0);
                let mut cycle: Vec<&str> = stack[start..].to_vec();
                cycle.push(name);
                return Err(Error::config(
                    &by_name[name].file,
                    format!("the models form a cycle: {}", cycle.join(" -> ")),
                ));
            }
            _ => {}
        }
        let m = by_name[name];
        state.insert(name, 1);
        stack.push(name);
        for r in &m.reads {
            if by_name.contains_key(r.as_str()) {
                visit(r.as_str(), by_name, state, stack, order)?;
            }
        }
        stack.pop();
        state.insert(name, 2);
        order.push(m.clone());
        Ok(())
    }
    let mut stack = Vec::new();
    for m in models {
        visit(
            m.name.as_str(),
            &by_name,
            &mut state,
            &mut stack,
            &mut order,
        )?;
    }
    Ok(order)
}
