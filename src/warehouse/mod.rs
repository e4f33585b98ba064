//! Reading the published warehouse: which tables it holds, their schemas as written in the
//! Parquet footers, their row counts, and a DataFusion session with every table registered.
//! The one place that knows how a published table is laid out for readers; `query`, `report`,
//! `export`, `docs` and `bigquery-ddl` all read through it.

mod footer;

use std::sync::Arc;

use chrono_tz::Tz;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use object_store::ObjectMeta;
use object_store::path::Path;
use serde::Serialize;

use crate::error::{Context, Error, Result};
use crate::load::listing::listing_table;
use crate::storage::Location;

pub use footer::file_schema;

/// One published table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Table name (its folder under the warehouse root).
    pub name: String,
    /// The hive partition key (`dt`, `month`), or `None` for a whole table.
    pub partition: Option<String>,
    /// The columns of its Parquet files (the partition column is not in the files).
    pub file_schema: SchemaRef,
}

/// A published table's size.
#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    /// Table name.
    pub table: String,
    /// Partition folders (0 for an unpartitioned table).
    pub partitions: usize,
    /// Rows in all its files.
    pub rows: u64,
}

/// A published warehouse, opened for reading.
#[derive(Debug, Clone)]
pub struct Warehouse {
    loc: Location,
}

impl Warehouse {
    /// Opens the warehouse at `url`, which must exist.
    pub fn open(url: &str) -> Result<Self> {
        Ok(Self {
            loc: Location::open_existing(url)?,
        })
    }

    /// A warehouse at an open location.
    pub fn at(loc: Location) -> Self {
        Self { loc }
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// The tables (folders not starting with `_`) holding at least one Parquet file, in name
    /// order, each with its file schema.
    pub async fn tables(&self) -> Result<Vec<Table>> {
        let wh = &self.loc;
        let root = wh
            .store
            .list_with_delimiter(Some(&wh.prefix))
            .await
            .with_context(|| format!("cannot list {}", wh.display))?;
        let mut out = Vec::new();
        for dir in root.common_prefixes {
            let Some(name) = dir.filename().map(str::to_string) else {
                continue;
            };
            if name.starts_with('_') {
                continue;
            }
            if let Some(t) = self.table(&name).await? {
                out.push(t);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One table by name, or `None` when the warehouse holds no Parquet file of it.
    pub async fn table(&self, name: &str) -> Result<Option<Table>> {
        let Some((partition, file)) = self.first_file(&self.loc.child(name)).await? else {
            return Ok(None);
        };
        Ok(Some(Table {
            name: name.to_string(),
            partition,
            file_schema: file_schema(&self.loc, &file).await?,
        }))
    }

    /// One table by name; an error naming the warehouse when it is not there.
    pub async fn require(&self, name: &str) -> Result<Table> {
        self.table(name).await?.ok_or_else(|| {
            Error::Usage(format!(
                "no published table {name} in {} (run the pipeline first)",
                self.loc.display
            ))
        })
    }

    /// A session that reads the warehouse, with kpi-etl's SQL functions (`local_date`, ...)
    /// in business timezone `tz` and no table registered yet.
    pub fn empty_session(&self, tz: Tz) -> SessionContext {
        let ctx = SessionContext::new();
        ctx.register_object_store(&self.loc.store_url, self.loc.store.clone());
        crate::transform::functions::register(&ctx, tz, b"");
        ctx
    }

    /// Registers `table` in `ctx` under its name, partition column included (last).
    pub async fn register(&self, ctx: &SessionContext, table: &Table) -> Result<()> {
        let provider = listing_table(
            &ctx.state(),
            &self.loc,
            &self.loc.child(&table.name),
            table.partition.as_deref(),
            Some(table.file_schema.clone()),
        )
        .await?;
        ctx.register_table(table.name.as_str(), Arc::new(provider))?;
        Ok(())
    }

    /// A session with every published table registered under its name.
    pub async fn session(&self, tz: Tz) -> Result<(SessionContext, Vec<Table>)> {
        let ctx = self.empty_session(tz);
        let tables = self.tables().await?;
        for t in &tables {
            self.register(&ctx, t).await?;
        }
        Ok((ctx, tables))
    }

    /// The partitions and rows of every published table.
    pub async fn counts(&self) -> Result<Vec<TableCount>> {
        let (ctx, tables) = self.session(chrono_tz::UTC).await?;
        let mut out = Vec::new();
        for t in tables {
            let partitions = match &t.partition {
                Some(_) => self
                    .loc
                    .store
                    .list_with_delimiter(Some(&self.loc.child(&t.name)))
                    .await?
                    .common_prefixes
                    .len(),
                None => 0,
            };
            let rows = ctx.table(t.name.as_str()).await?.count().await? as u64;
            out.push(TableCount {
                table: t.name,
                partitions,
                rows,
            });
        }
        Ok(out)
    }

    /// The first Parquet file of a table folder, and the partition key when it sits in a
    /// `key=value` folder.
    async fn first_file(&self, dir: &Path) -> Result<Option<(Option<String>, ObjectMeta)>> {
        let wh = &self.loc;
        let listing = wh
            .store
            .list_with_delimiter(Some(dir))
            .await
            .with_context(|| format!("cannot list {}", wh.show(dir)))?;
        if let Some(f) = listing.objects.into_iter().find(is_parquet) {
            return Ok(Some((None, f)));
        }
        for part in listing.common_prefixes {
            let Some((key, _)) = part.filename().and_then(|n| n.split_once('=')) else {
                continue;
            };
            let key = key.to_string();
            let files = wh
                .store
                .list_with_delimiter(Some(&part))
                .await
                .with_context(|| format!("cannot list {}", wh.show(&part)))?;
            if let Some(f) = files.objects.into_iter().find(is_parquet) {
                return Ok(Some((Some(key), f)));
            }
        }
        Ok(None)
    }
}

fn is_parquet(m: &ObjectMeta) -> bool {
    m.location.extension() == Some("parquet")
}
