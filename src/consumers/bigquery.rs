//! BigQuery external tables over the published warehouse, as DDL generated from the real schemas.
//!
//! One `CREATE OR REPLACE EXTERNAL TABLE` per published table: the columns and types of its
//! Parquet files, its hive partition column (`dt` or `month`, a DATE) under
//! `WITH PARTITION COLUMNS`, `hive_partition_uri_prefix`, a required partition filter on facts
//! (the big tables; a query without a date range would read them whole), and
//! `decimal_target_types` so that DECIMAL(18,2) money reads as NUMERIC. With a connection the
//! tables are BigLake tables with a manually refreshed metadata cache, and [`refresh_statement`]
//! is what the nightly job runs after publishing.

use crate::error::{Error, Result};
use datafusion::arrow::datatypes::{DataType, TimeUnit};

use crate::warehouse::Table as PublishedTable;

/// Where the tables go and how they read the files.
#[derive(Debug, Clone)]
pub struct DdlOptions {
    /// Google Cloud project of the dataset.
    pub project: String,
    /// BigQuery dataset.
    pub dataset: String,
    /// The warehouse root as BigQuery reads it (`gs://bucket/prefix`).
    pub uri_prefix: String,
    /// A BigLake connection (`project.region.connection`): BigLake tables with a metadata cache.
    pub connection: Option<String>,
    /// How stale the BigLake metadata cache may be, as a BigQuery interval literal body.
    pub max_staleness: String,
}

/// What a table is, for BigQuery.
#[derive(Debug, Clone)]
pub struct ExternalTable<'a> {
    /// The published table.
    pub table: &'a PublishedTable,
    /// A fact table: queries must filter on the partition column.
    pub is_fact: bool,
    /// The model's description, if the table is built by a model.
    pub description: Option<&'a str>,
}

/// The BigQuery type of a warehouse column. Only the types of the warehouse contract are
/// accepted ("Layout and types" in warehouse.md); anything else is an error naming the column,
/// because BigQuery would read it differently or not at all.
pub fn bigquery_type(table: &str, column: &str, dt: &DataType) -> Result<String> {
    Ok(match dt {
        DataType::Utf8 => "STRING".into(),
        DataType::Boolean => "BOOL".into(),
        DataType::Int64 => "INT64".into(),
        DataType::Float64 => "FLOAT64".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => "TIMESTAMP".into(),
        DataType::Decimal128(p, s) if *s >= 0 && *s <= 9 && (*p as i16 - *s as i16) <= 29 => {
            "NUMERIC".into()
        }
        DataType::List(f) if !matches!(f.data_type(), DataType::List(_)) => {
            format!("ARRAY<{}>", bigquery_type(table, column, f.data_type())?)
        }
        other => {
            return Err(Error::Invalid(format!(
                "{table}.{column}: Parquet type {other} is outside what BigQuery reads without \
                 surprises (warehouse.md)"
            )));
        }
    })
}

/// `CREATE OR REPLACE EXTERNAL TABLE` for one table.
pub fn create_statement(t: &ExternalTable<'_>, o: &DdlOptions) -> Result<String> {
    let name = &t.table.name;
    let mut columns = Vec::new();
    for f in t.table.file_schema.fields() {
        columns.push(format!(
            "  {} {}",
            quote_ident(f.name()),
            bigquery_type(name, f.name(), f.data_type())?
        ));
    }
    let location = format!("{}/{name}", o.uri_prefix.trim_end_matches('/'));
    let mut sql = format!(
        "CREATE OR REPLACE EXTERNAL TABLE `{}.{}.{name}` (\n{}\n)\n",
        o.project,
        o.dataset,
        columns.join(",\n")
    );
    if let Some(c) = &o.connection {
        sql.push_str(&format!("WITH CONNECTION `{c}`\n"));
    }
    let mut options = vec![
        "format = 'PARQUET'".to_string(),
        format!("uris = [{}]", quote_str(&format!("{location}/*"))),
    ];
    if let Some(key) = &t.table.partition {
        sql.push_str(&format!(
            "WITH PARTITION COLUMNS (\n  {} DATE\n)\n",
            quote_ident(key)
        ));
        options.push(format!(
            "hive_partition_uri_prefix = {}",
            quote_str(&location)
        ));
        options.push(format!(
            "require_hive_partition_filter = {}",
            if t.is_fact { "TRUE" } else { "FALSE" }
        ));
    }
    options.push("decimal_target_types = ['NUMERIC', 'BIGNUMERIC']".into());
    if o.connection.is_some() {
        options.push("metadata_cache_mode = 'MANUAL'".into());
        options.push(format!("max_staleness = INTERVAL {}", o.max_staleness));
    }
    if let Some(d) = t.description.filter(|d| !d.trim().is_empty()) {
        let one_line = d.split_whitespace().collect::<Vec<_>>().join(" ");
        options.push(format!("description = {}", quote_str(&one_line)));
    }
    sql.push_str(&format!("OPTIONS (\n  {}\n);\n", options.join(",\n  ")));
    Ok(sql)
}

/// The statement that refreshes a BigLake table's metadata cache after a run published files.
pub fn refresh_statement(table: &str, o: &DdlOptions) -> String {
    format!(
        "CALL BQ.REFRESH_EXTERNAL_METADATA_CACHE('{}.{}.{table}');\n",
        o.project, o.dataset
    )
}

/// GoogleSQL's reserved keywords: a column with such a name must be backquoted.
const RESERVED: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "ASSERT_ROWS_MODIFIED",
    "AT",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "COLLATE",
    "CONTAINS",
    "CREATE",
    "CROSS",
    "CUBE",
    "CURRENT",
    "DEFAULT",
    "DEFINE",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "ENUM",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FETCH",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "GROUPING",
    "GROUPS",
    "HASH",
    "HAVING",
    "IF",
    "IGNORE",
    "IN",
    "INNER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LOOKUP",
    "MERGE",
    "NATURAL",
    "NEW",
    "NO",
    "NOT",
    "NULL",
    "NULLS",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "PROTO",
    "QUALIFY",
    "RANGE",
    "RECURSIVE",
    "RESPECT",
    "RIGHT",
    "ROLLUP",
    "ROWS",
    "SELECT",
    "SET",
    "SOME",
    "STRUCT",
    "TABLESAMPLE",
    "THEN",
    "TO",
    "TREAT",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UNNEST",
    "USING",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// A column name as a BigQuery identifier: backquoted unless it is a plain word that is not
/// reserved.
fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name.to_ascii_uppercase().as_str());
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "\\`"))
    }
}

/// A BigQuery string literal.
fn quote_str(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('\'', "\\'")
        .replace('\n', "\\n");
    format!("'{escaped}'")
}
