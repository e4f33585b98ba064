//! What the warehouse's readers get: BigQuery DDL that matches the written Parquet, every table
//! read back with DataFusion, and spreadsheet exports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::common::{files_below, pipeline};

/// A warehouse of three generated days (the DST change included), built once for this module.
fn warehouse() -> &'static Path {
    static WH: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, wh) = WH.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        let wh = dir.path().join("wh");
        let (code, text) = kpi_etl(&[
            "generate",
            "--from",
            "2026-10-24",
            "--to",
            "2026-10-26",
            "--calls-per-day",
            "250",
            "--seed",
            "11",
            "--out",
            raw.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{text}");
        let (code, text) = kpi_etl(&[
            "backfill",
            "--from",
            "2026-10-24",
            "--to",
            "2026-10-26",
            "--raw",
            raw.to_str().unwrap(),
            "--warehouse",
            wh.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{text}");
        (dir, wh)
    });
    wh
}

/// Runs the binary; returns its exit code and stdout (stderr appended after a marker).
fn kpi_etl(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi-etl"))
        .env("KPI_ETL_PII_KEY", "test-key")
        .env_remove("KPI_ETL_WAREHOUSE")
        .arg("--pipeline")
        .arg(pipeline())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), text)
}

/// Every table folder of the warehouse, with its partition key and its Parquet files.
fn tables(wh: &Path) -> BTreeMap<String, (Option<String>, Vec<PathBuf>)> {
    let mut out: BTreeMap<String, (Option<String>, Vec<PathBuf>)> = BTreeMap::new();
    for rel in files_below(wh) {
        let parts: Vec<&str> = rel.split('/').collect();
        if parts[0].starts_with('_') || !rel.ends_with(".parquet") {
            continue;
        }
        let e = out.entry(parts[0].to_string()).or_default();
        if parts.len() == 3 {
            e.0 = parts[1].split_once('=').map(|(k, _)| k.to_string());
        }
        e.1.push(wh.join(&rel));
    }
    out
}

/// The Arrow schema of a Parquet file, read with the parquet crate alone.
fn parquet_fields(file: &Path) -> Vec<Arc<Field>> {
    let f = std::fs::File::open(file).unwrap();
    let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    b.schema().fields().iter().cloned().collect()
}

/// Rows of a Parquet file, from its footer.
fn parquet_rows(file: &Path) -> i64 {
    let f = std::fs::File::open(file).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .metadata()
        .file_metadata()
        .num_rows()
}

/// The types the warehouse contract allows (warehouse.md, "Layout and types") and their
/// BigQuery names.
fn contract_bigquery_type(dt: &DataType) -> Option<String> {
    Some(match dt {
        DataType::Utf8 => "STRING".into(),
        DataType::Boolean => "BOOL".into(),
        DataType::Int64 => "INT64".into(),
        DataType::Float64 => "FLOAT64".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
            "TIMESTAMP".into()
        }
        DataType::Decimal128(18, 2) => "NUMERIC".into(),
        DataType::List(f) => format!("ARRAY<{}>", contract_bigquery_type(f.data_type())?),
        _ => return None,
    })
}

/// One parsed `CREATE OR REPLACE EXTERNAL TABLE` statement.
#[derive(Debug, Default)]
struct Ddl {
    columns: Vec<(String, String)>,
    partition: Option<(String, String)>,
    options: BTreeMap<String, String>,
    connection: Option<String>,
}

/// Parses the statements printed by `bigquery-ddl`, by table name.
fn parse_ddl(sql: &str, project: &str, dataset: &str) -> BTreeMap<String, Ddl> {
    let head = format!("CREATE OR REPLACE EXTERNAL TABLE `{project}.{dataset}.");
    let mut out = BTreeMap::new();
    for stmt in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        let rest = stmt.strip_prefix(&head).unwrap_or_else(|| panic!("{stmt}"));
        let (name, body) = rest.split_once("` (\n").unwrap();
        let mut ddl = Ddl::default();
        let mut section = "columns";
        for line in body.lines() {
            let line = line.trim().trim_end_matches(',');
            match line {
                ")" => section = "",
                "WITH PARTITION COLUMNS (" => section = "partition",
                "OPTIONS (" => section = "options",
                l if l.starts_with("WITH CONNECTION ") => {
                    ddl.connection = Some(l["WITH CONNECTION ".len()..].trim_matches('`').into())
                }
                l if section == "columns" || section == "partition" => {
                    let (c, t) = l.split_once(' ').unwrap();
                    let pair = (c.trim_matches('`').to_string(), t.to_string());
                    if section == "columns" {
                        ddl.columns.push(pair);
                    } else {
                        ddl.partition = Some(pair);
                    }
                }
                l if section == "options" => {
                    let (k, v) = l.split_once(" = ").unwrap();
                    ddl.options.insert(k.into(), v.into());
                }
                l => panic!("unexpected line {l:?} in {stmt}"),
            }
        }
        out.insert(name.to_string(), ddl);
    }
    out
}

/// `kpi-etl bigquery-ddl --project acme-dwh --dataset kpi --warehouse <the module's warehouse>`
/// plus `extra`.
fn bigquery_ddl(extra: &[&str]) -> (i32, String) {
    let wh = warehouse().to_str().unwrap();
    let base = [
        "bigquery-ddl",
        "--project",
        "acme-dwh",
        "--dataset",
        "kpi",
        "--warehouse",
        wh,
    ];
    kpi_etl(&[&base[..], extra].concat())
}

#[test]
fn bigquery_ddl_matches_the_written_parquet_of_every_table() {
    let wh = warehouse();
    let (code, sql) = bigquery_ddl(&["--uri-prefix", "gs://acme-lake/kpi/"]);
    assert_eq!(code, 0, "{sql}");
    let sql = sql.split("\n--- stderr ---").next().unwrap();
    let ddl = parse_ddl(sql, "acme-dwh", "kpi");
    let tables = tables(wh);
    assert_eq!(
        ddl.keys().collect::<Vec<_>>(),
        tables.keys().collect::<Vec<_>>(),
        "one statement per published table"
    );
    for must in [
        "fact_call",
        "kpi_sales_daily",
        "kpi_contact_center_daily",
        "dim_agent",
    ] {
        assert!(ddl.contains_key(must), "{must} missing");
    }
    for (name, (key, files)) in &tables {
        let d = &ddl[name];
        // Columns: exactly the file's, in order, each with the BigQuery type of its Parquet type,
        // and every type within the contract.
        let expected: Vec<(String, String)> = parquet_fields(&files[0])
            .iter()
            .map(|f| {
                let t = contract_bigquery_type(f.data_type()).unwrap_or_else(|| {
                    panic!(
                        "{name}.{}: {} is outside the contract",
                        f.name(),
                        f.data_type()
                    )
                });
                (f.name().clone(), t)
            })
            .collect();
        assert_eq!(d.columns, expected, "{name}");
        for other in &files[1..] {
            assert_eq!(
                parquet_fields(other),
                parquet_fields(&files[0]),
                "{}",
                other.display()
            );
        }
        let location = format!("'gs://acme-lake/kpi/{name}'");
        assert_eq!(d.options["format"], "'PARQUET'");
        assert_eq!(
            d.options["uris"],
            format!("['gs://acme-lake/kpi/{name}/*']")
        );
        assert_eq!(
            d.options["decimal_target_types"],
            "['NUMERIC', 'BIGNUMERIC']"
        );
        assert!(d.connection.is_none());
        match key {
            Some(k) => {
                assert_eq!(d.partition, Some((k.clone(), "DATE".to_string())), "{name}");
                assert_eq!(d.options["hive_partition_uri_prefix"], location);
                let filter = if name.starts_with("fact_") {
                    "TRUE"
                } else {
                    "FALSE"
                };
                assert_eq!(d.options["require_hive_partition_filter"], filter, "{name}");
                assert!(!d.columns.iter().any(|(c, _)| c == k), "{name}: {k} twice");
            }
            None => {
                assert_eq!(d.partition, None, "{name}");
                assert!(!d.options.contains_key("hive_partition_uri_prefix"));
            }
        }
    }
    assert_eq!(
        ddl["fact_sales_target"].partition,
        Some(("month".into(), "DATE".into()))
    );
    assert!(ddl["kpi_sales_daily"].options["description"].contains("win_rate"));
    assert!(
        ddl["fact_call"]
            .columns
            .iter()
            .any(|(_, t)| t == "TIMESTAMP")
    );
}

#[test]
fn bigquery_ddl_for_biglake_tables_and_their_cache_refresh() {
    let biglake = [
        "--uri-prefix",
        "gs://acme-lake/kpi",
        "--connection",
        "acme-dwh.eu.lake",
    ];
    let (code, sql) = bigquery_ddl(&biglake);
    assert_eq!(code, 0, "{sql}");
    let ddl = parse_ddl(
        sql.split("\n--- stderr ---").next().unwrap(),
        "acme-dwh",
        "kpi",
    );
    for (name, d) in &ddl {
        assert_eq!(d.connection.as_deref(), Some("acme-dwh.eu.lake"), "{name}");
        assert_eq!(d.options["metadata_cache_mode"], "'MANUAL'", "{name}");
        assert_eq!(d.options["max_staleness"], "INTERVAL 1 DAY", "{name}");
    }
    let (code, calls) = bigquery_ddl(&[&biglake[..], &["--refresh"]].concat());
    assert_eq!(code, 0, "{calls}");
    let calls: Vec<&str> = calls.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(calls.len(), ddl.len());
    assert!(
        calls.contains(&"CALL BQ.REFRESH_EXTERNAL_METADATA_CACHE('acme-dwh.kpi.kpi_sales_daily');")
    );
}

#[test]
fn bigquery_ddl_needs_a_uri_bigquery_can_read() {
    let (code, text) = bigquery_ddl(&[]);
    assert_ne!(code, 0);
    assert!(text.contains("--uri-prefix gs://"), "{text}");
}

#[tokio::test]
async fn datafusion_reads_every_table_with_its_rows_and_types() {
    let wh = warehouse();
    for (name, (key, files)) in tables(wh) {
        let ctx = SessionContext::new();
        let mut opts = ParquetReadOptions::default();
        let cols = key
            .iter()
            .map(|k| (k.clone(), DataType::Date32))
            .collect::<Vec<_>>();
        opts = opts.table_partition_cols(cols);
        ctx.register_parquet("t", wh.join(&name).to_str().unwrap(), opts)
            .await
            .unwrap();
        let df = ctx.sql("SELECT * FROM t").await.unwrap();
        let schema = df.schema().as_arrow().clone();
        let rows: i64 = files.iter().map(|f| parquet_rows(f)).sum();
        assert_eq!(df.count().await.unwrap() as i64, rows, "{name}");
        for f in schema.fields() {
            if Some(f.name()) == key.as_ref() {
                assert_eq!(f.data_type(), &DataType::Date32, "{name}.{}", f.name());
                continue;
            }
            // DataFusion may read strings as views; the file type is what the contract governs.
            let file_type = parquet_fields(&files[0])
                .into_iter()
                .find(|x| x.name() == f.name())
                .unwrap_or_else(|| panic!("{name}.{} not in the file", f.name()));
            assert!(
                contract_bigquery_type(file_type.data_type()).is_some(),
                "{name}.{}: {}",
                f.name(),
                file_type.data_type()
            );
        }
        if let Some(k) = &key {
            // The partition value read back is the folder's date.
            let sql = format!("SELECT COUNT(*) FROM t WHERE \"{k}\" IS NULL");
            let nulls = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let text = datafusion::arrow::util::pretty::pretty_format_batches(&nulls).unwrap();
            assert!(text.to_string().contains("| 0 "), "{name}: {text}");
        }
    }
}

/// `kpi-etl export` of 2026-10-24..25 of a table.
fn export(wh: &Path, table: &str, format: &str, out: &Path) -> (i32, String) {
    kpi_etl(&[
        "export",
        "--warehouse",
        wh.to_str().unwrap(),
        "--table",
        table,
        "--from",
        "2026-10-24",
        "--to",
        "2026-10-25",
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
    ])
}

#[tokio::test]
async fn export_writes_exactly_the_rows_of_the_range() {
    let wh = warehouse();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cc.csv");
    let (code, text) = export(wh, "kpi_contact_center_daily", "csv", &csv);
    assert_eq!(code, 0, "{text}");
    let expected: Vec<String> = crate::common::sql_rows(
        wh,
        "SELECT dt, channel, queue, offered FROM kpi_contact_center_daily \
         WHERE dt BETWEEN DATE '2026-10-24' AND DATE '2026-10-25'",
        ",",
        false,
    )
    .await;
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[0], "dt");
    let idx = |c: &str| header.iter().position(|h| h == c).unwrap();
    let mut got: Vec<String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            format!(
                "{},{},{},{}",
                &r[idx("dt")],
                &r[idx("channel")],
                &r[idx("queue")],
                &r[idx("offered")]
            )
        })
        .collect();
    got.sort();
    assert!(!got.is_empty());
    assert_eq!(got, expected);
    assert!(
        text.contains(&format!("wrote {} rows", got.len())),
        "{text}"
    );

    let xlsx = dir.path().join("cc.xlsx");
    let (code, text) = export(wh, "kpi_contact_center_daily", "xlsx", &xlsx);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("wrote {} rows", got.len())),
        "{text}"
    );
    assert_eq!(
        &std::fs::read(&xlsx).unwrap()[..2],
        b"PK",
        "an xlsx is a zip file"
    );

    let (code, text) = export(wh, "kpi_nope", "csv", &dir.path().join("x.csv"));
    assert_ne!(code, 0);
    assert!(text.contains("no published table kpi_nope"), "{text}");
    assert!(!dir.path().join("x.csv").exists());
}
