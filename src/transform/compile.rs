//! Compiling the pipeline without running it: every model's SQL (and its partitions query) is
//! planned by DataFusion over empty inputs of the right schemas, in dependency order. This is what
//! `kpi-etl validate`, `explain` and `docs` stand on: a SQL error, a missing column or a type
//! mismatch is reported with the model's file before any data is read.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::model::{self, Model};
use crate::config::PipelineConfig;
use crate::error::{Context, Error, Result};
use crate::extract;

/// A model as compiled: its place in the order and the schema of its table.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The model.
    pub model: Model,
    /// The table's columns as published (partition column last), with warehouse types.
    pub schema: SchemaRef,
}

/// Everything a run registers besides the models: raw tables and the run's own tables.
pub fn source_tables(config: &PipelineConfig) -> Result<Vec<(String, SchemaRef)>> {
    let mut out: Vec<(String, SchemaRef)> = extract::sources(config)?
        .iter()
        .map(|s| (s.table.clone(), extract::raw_schema(s)))
        .collect();
    for (name, schema) in super::run_tables::schemas() {
        out.push((name.to_string(), schema));
    }
    Ok(out)
}

fn register_empty(ctx: &SessionContext, name: &str, schema: SchemaRef) -> Result<()> {
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
    Ok(())
}

/// Plans every model of `config` in dependency order over empty inputs.
pub async fn compile(config: &PipelineConfig, ctx: &SessionContext) -> Result<Vec<Compiled>> {
    let sources = source_tables(config)?;
    for (name, schema) in &sources {
        register_empty(ctx, name, schema.clone())?;
    }
    let names: BTreeSet<String> = sources.iter().map(|(n, _)| n.clone()).collect();
    if config.model_files().next().is_none() {
        return Err(Error::config(
            &config.origin,
            format!(
                "no SQL model found in its models folder ({})",
                config.pipeline.models
            ),
        ));
    }
    let models = model::load_models(config.model_files())?;
    let ordered = model::dependency_order(&models, &names)?;
    let mut out = Vec::new();
    for m in ordered {
        let schema = compile_one(ctx, &m).await.map_err(|e| match e {
            Error::Config { .. } => e,
            other => {
                Error::config_caused(&m.file, format!("model {} does not compile", m.name), other)
            }
        })?;
        out.push(Compiled { model: m, schema });
    }
    Ok(out)
}

async fn compile_one(ctx: &SessionContext, m: &Model) -> Result<SchemaRef> {
    let partition = m.config.materialized.partition_column();
    if let Some(p) = partition {
        let dates = Arc::new(Schema::new(vec![Field::new(p, DataType::Date32, false)]));
        register_empty(ctx, "__partitions", dates)?;
    }
    let planned = ctx.sql(&m.sql).await.context("the model's query")?;
    let plan_schema: SchemaRef = Arc::new(planned.schema().as_arrow().clone());
    let file_schema = crate::load::types::warehouse_schema(&m.name, &plan_schema, partition)?;
    let mut fields: Vec<Field> = file_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    if let Some(p) = partition {
        if plan_schema.field_with_name(p).is_err() {
            return Err(Error::config(
                &m.file,
                format!("a {} model must have a column {p}", m.config.materialized),
            ));
        }
        fields.push(Field::new(p, DataType::Date32, true));
    }
    let table_schema = Arc::new(Schema::new(fields));
    register_empty(ctx, "this", table_schema.clone())?;
    if let Some(sql) = &m.config.partitions {
        ctx.sql(sql).await.context("the partitions query")?;
    }
    for key in &m.config.unique_key {
        if table_schema.field_with_name(key).is_err() {
            return Err(Error::config(
                &m.file,
                format!("unique_key column {key} is not a column of the model"),
            ));
        }
    }
    for suffix in ["", "__changed", "__previous"] {
        register_empty(ctx, &format!("{}{suffix}", m.name), table_schema.clone())?;
    }
    Ok(table_schema)
}

/// The DataFusion plans (logical and physical) of model `name`, over empty inputs.
pub async fn explain(config: &PipelineConfig, ctx: &SessionContext, name: &str) -> Result<String> {
    let compiled = compile(config, ctx).await?;
    let Some(c) = compiled.iter().find(|c| c.model.name == name) else {
        let names: Vec<&str> = compiled.iter().map(|c| c.model.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "no model named {name}; the models are: {}",
            names.join(", ")
        )));
    };
    if let Some(p) = c.model.config.materialized.partition_column() {
        register_empty(
            ctx,
            "__partitions",
            Arc::new(Schema::new(vec![Field::new(p, DataType::Date32, false)])),
        )?;
    }
    register_empty(ctx, "this", c.schema.clone())?;
    let batches = ctx
        .sql(&format!("EXPLAIN VERBOSE {}", strip_header(&c.model.sql)))
        .await?
        .collect()
        .await?;
    let mut out = format!("-- {} ({})\n", c.model.name, c.model.file);
    for b in &batches {
        let kinds = b
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>();
        let plans = b
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>();
        if let (Some(kinds), Some(plans)) = (kinds, plans) {
            for i in 0..b.num_rows() {
                let kind = kinds.value(i);
                if kind == "logical_plan" || kind == "physical_plan" {
                    out.push_str(&format!("\n{kind}:\n{}\n", plans.value(i)));
                }
            }
        }
    }
    Ok(out)
}

/// The SQL of a model without its header comment.
pub fn strip_header(sql: &str) -> &str {
    match sql
        .trim_start()
        .strip_prefix("/* kpi-etl")
        .and_then(|r| r.split_once("*/"))
    {
        Some((_, body)) => body,
        None => sql,
    }
}

/// Compiles the pipeline in a session of its own, with kpi-etl's functions in timezone `tz`
/// (what `validate` and `docs` need).
pub async fn compile_alone(config: &PipelineConfig, tz: chrono_tz::Tz) -> Result<Vec<Compiled>> {
    let ctx = SessionContext::new();
    super::functions::register(&ctx, tz, b"compile");
    compile(config, &ctx).await
}
