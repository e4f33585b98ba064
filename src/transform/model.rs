//! A model: one SQL file named after the table it builds, with its settings in a header comment.
//!
//! ```sql
//! /* kpi-etl
//! materialized = "daily"            # daily (partitions on dt) | monthly (on month) | table
//! strategy = "merge"                # merge new rows into the partitions they touch | replace them
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
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use serde::Deserialize;

/// How a model's table is laid out in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Materialized {
    /// Event-date partitions `dt=YYYY-MM-DD`.
    Daily,
    /// Month partitions `month=YYYY-MM-01`.
    Monthly,
    /// One unpartitioned table.
    Table,
}

impl Materialized {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Union with the existing rows of the touched partitions (or the whole table) and keep one
    /// row per `unique_key`, the first by `latest_by`.
    #[default]
    Merge,
    /// The model's rows are the whole new content of the partitions they touch.
    Replace,
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
    /// Columns identifying a row, for `merge`.
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
    /// The file.
    pub path: PathBuf,
    /// The SQL text (header included; it is a comment).
    pub sql: String,
    /// Header settings.
    pub config: ModelConfig,
    /// Tables the SQL reads.
    pub reads: BTreeSet<String>,
}

impl Model {
    /// Parses a model from its file name and text.
    pub fn parse(path: &Path, sql: &str) -> Result<Self> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .with_context(|| format!("{}: not a model file name", path.display()))?
            .to_string();
        let header = sql
            .trim_start()
            .strip_prefix("/* kpi-etl")
            .and_then(|rest| rest.split_once("*/"))
            .map(|(h, _)| h)
            .with_context(|| {
                format!(
                    "{}: the model has no `/* kpi-etl ... */` header",
                    path.display()
                )
            })?;
        let config: ModelConfig = toml::from_str(header)
            .with_context(|| format!("{}: invalid model header", path.display()))?;
        for t in &config.tests {
            t.validate()
                .with_context(|| format!("{}: invalid data test", path.display()))?;
        }
        if config.strategy == Strategy::Merge && config.unique_key.is_empty() {
            bail!("{}: strategy merge needs a unique_key", path.display());
        }
        let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})
            .with_context(|| format!("{}: SQL syntax error", path.display()))?;
        if statements.len() != 1 {
            bail!(
                "{}: a model is exactly one SELECT statement",
                path.display()
            );
        }
        let mut reads = referenced_tables(sql)
            .with_context(|| format!("{}: cannot resolve the tables it reads", path.display()))?;
        if let Some(p) = &config.partitions {
            reads.extend(
                referenced_tables(p)
                    .with_context(|| format!("{}: invalid partitions query", path.display()))?,
            );
        }
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
            path: path.to_path_buf(),
            sql: sql.to_string(),
            config,
            reads,
        })
    }
}

/// The tables a query reads (CTE names excluded).
fn referenced_tables(sql: &str) -> Result<BTreeSet<String>> {
    let ctx = datafusion::prelude::SessionContext::new();
    let state = ctx.state();
    let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
    let stmt = statements.pop_front().context("empty SQL")?;
    let refs = state.resolve_table_references(&stmt)?;
    // Table functions (generate_series, range, ...) are not tables.
    let functions = state.table_functions();
    Ok(refs
        .iter()
        .map(|r| r.table().to_string())
        .filter(|t| !functions.contains_key(t))
        .collect())
}

/// Loads every `*.sql` file below `dir` (any depth: `staging/`, `marts/`, ...).
pub fn load_models(dir: &Path) -> Result<Vec<Model>> {
    let mut files = Vec::new();
    collect_sql(dir, &mut files)
        .with_context(|| format!("cannot read the models folder {}", dir.display()))?;
    files.sort();
    let mut models = Vec::new();
    let mut seen = BTreeMap::new();
    for f in files {
        let sql =
            std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let m = Model::parse(&f, &sql)?;
        if let Some(prev) = seen.insert(m.name.clone(), f.clone()) {
            bail!(
                "two models build the table {}: {} and {}",
                m.name,
                prev.display(),
                f.display()
            );
        }
        models.push(m);
    }
    if models.is_empty() {
        bail!("no SQL model found in {}", dir.display());
    }
    Ok(models)
}

fn collect_sql(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_sql(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
    Ok(())
}

/// Orders models so that each comes after the models it reads. A table that is neither a model
/// nor a known source is an error naming both; so is a cycle, named in full.
pub fn dependency_order(models: &[Model], sources: &BTreeSet<String>) -> Result<Vec<Model>> {
    let by_name: BTreeMap<&str, &Model> = models.iter().map(|m| (m.name.as_str(), m)).collect();
    for m in models {
        for r in &m.reads {
            if !by_name.contains_key(r.as_str()) && !sources.contains(r) {
                bail!(
                    "model {} ({}) reads {}, which is neither a model nor a source",
                    m.name,
                    m.path.display(),
                    r
                );
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
                bail!("the models form a cycle: {}", cycle.join(" -> "));
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
