//! Extract: the raw sources of the landing zone, exposed to DataFusion as tables.
//!
//! Each source is a folder of landing partitions (`<raw>/<dir>/dt=YYYY-MM-DD/`) read by one
//! [`FormatReader`]. A run registers, for its landing date only, one streaming table per source
//! (`raw_cdr`, `raw_queue_log`, `raw_whatsapp_messages`, `raw_whatsapp_statuses`,
//! `raw_crm_<object>`), with one DataFusion partition per file: files are parsed on blocking
//! threads and streamed in batches, never loaded whole. Every raw table carries the lineage
//! columns `source_file`, `source_line` and `landed_on`.

pub mod cdr;
pub mod columns;
pub mod open;
pub mod parse;
pub mod queue_log;
pub mod rejects;
pub mod salesforce;
pub mod whatsapp;

use std::fmt::Debug;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Date32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::ObjectMeta;

pub use crate::error::ReadError;
pub use rejects::{FileStats, Reject, RejectSink};

use crate::config::PipelineConfig;
use crate::error::{Context, Error, Result};
use crate::storage::Location;
use columns::BatchBuilder;
use open::FileReader;
use salesforce::SfObject;
use whatsapp::WhatsAppRows;

/// What a reader knows about the file it is reading.
#[derive(Debug, Clone)]
pub struct FileContext {
    /// Source name (`cdr`, `queue_log`, `whatsapp`, `crm_lead`, ...).
    pub source: String,
    /// The file, as shown to people.
    pub file: String,
    /// Where malformed rows go.
    pub sink: RejectSink,
    /// Rows per emitted batch.
    pub batch_size: usize,
    /// The landing date of the file (the `dt=` partition it landed in).
    pub landed_on: NaiveDate,
}

impl FileContext {
    /// Records a malformed row.
    pub fn reject(&self, r: Reject) {
        self.sink.reject(r);
    }

    /// A read error of the underlying stream (bad gzip, broken connection) as a file error.
    pub fn io_error(&self, e: std::io::Error) -> ReadError {
        let msg = e.to_string();
        // Errors from the gzip layer already name the file.
        let reason = match msg.strip_prefix(&format!("{}: ", self.file)) {
            Some(rest) => rest.to_string(),
            None => msg,
        };
        ReadError::Unreadable {
            file: self.file.clone(),
            reason,
        }
    }

    /// Fails when a record holds a NUL byte: the file is binary, not CSV text.
    pub fn check_text(&self, record: &csv::ByteRecord) -> Result<(), ReadError> {
        if record.as_slice().contains(&0) {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            return Err(ReadError::Binary {
                file: self.file.clone(),
                line,
            });
        }
        Ok(())
    }

    /// A CSV-level failure (I/O or undecodable stream) as a file error.
    pub fn csv_error(&self, e: csv::Error) -> ReadError {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => self.io_error(io),
            other => ReadError::Unreadable {
                file: self.file.clone(),
                reason: format!("not a readable CSV file: {other:?}"),
            },
        }
    }
}

impl Reject {
    /// A reject of the row starting at `line` of the context's file.
    pub fn at(
        ctx: &FileContext,
        line: u64,
        column: Option<String>,
        reason: String,
        raw: &[u8],
    ) -> Reject {
        Reject {
            source: ctx.source.clone(),
            file: ctx.file.clone(),
            landed_on: ctx.landed_on,
            line,
            column,
            reason,
            raw: rejects::excerpt(raw),
        }
    }
}

/// A file format: parses one whole file into batches of its schema.
pub trait FormatReader: Debug + Send + Sync + 'static {
    /// The schema of the rows it emits (without the lineage columns added per file).
    fn schema(&self) -> SchemaRef;

    /// Parses `input`, calling `emit` whenever a batch is full and once at the end, and
    /// reporting malformed rows to the context's sink. Returns the number of rows emitted.
    fn read(
        &self,
        input: FileReader,
        ctx: &FileContext,
        emit: &mut dyn FnMut(&mut BatchBuilder) -> Result<(), ReadError>,
    ) -> Result<u64, ReadError>;
}

/// One raw source of the landing zone.
#[derive(Debug, Clone)]
pub struct Source {
    /// Short name used in rejects and summaries.
    pub name: String,
    /// The DataFusion table it is registered as.
    pub table: String,
    /// Folder under the raw root, e.g. `pbx/cdr` or `crm/Lead`.
    pub dir: String,
    /// File name endings accepted (after removing `.gz`); empty accepts any name.
    pub extensions: Vec<&'static str>,
    /// The parser.
    pub reader: Arc<dyn FormatReader>,
}

/// The raw sources of the pipeline, configured by `config`.
pub fn sources(config: &PipelineConfig) -> Result<Vec<Source>> {
    let cdr = cdr::CdrReader::new(&config.cdr.columns)
        .map_err(|e| Error::config(&config.origin, format!("[cdr] columns: {e}")))?;
    let mut out = vec![
        Source {
            name: "cdr".into(),
            table: "raw_cdr".into(),
            dir: "pbx/cdr".into(),
            extensions: vec![".csv"],
            reader: Arc::new(cdr),
        },
        Source {
            name: "queue_log".into(),
            table: "raw_queue_log".into(),
            dir: "pbx/queue_log".into(),
            extensions: vec![],
            reader: Arc::new(queue_log::QueueLogReader::default()),
        },
        Source {
            name: "whatsapp".into(),
            table: "raw_whatsapp_messages".into(),
            dir: "pbx/whatsapp".into(),
            extensions: vec![".jsonl", ".json"],
            reader: Arc::new(whatsapp::WhatsAppReader::new(WhatsAppRows::Messages)),
        },
        Source {
            name: "whatsapp_status".into(),
            table: "raw_whatsapp_statuses".into(),
            dir: "pbx/whatsapp".into(),
            extensions: vec![".jsonl", ".json"],
            reader: Arc::new(whatsapp::WhatsAppReader::new(WhatsAppRows::Statuses)),
        },
    ];
    for object in SfObject::ALL {
        out.push(Source {
            name: format!("crm_{}", object.table_suffix()),
            table: format!("raw_crm_{}", object.table_suffix()),
            dir: format!("crm/{}", object.api_name()),
            extensions: vec![".csv"],
            reader: Arc::new(salesforce::SalesforceReader::new(object)),
        });
    }
    Ok(out)
}

/// What a run found in one source's landing partition.
#[derive(Debug, Clone)]
pub struct Landing {
    /// Source name.
    pub source: String,
    /// The partition folder, as shown to people.
    pub partition: String,
    /// Files that will be read.
    pub files: Vec<ObjectMeta>,
    /// Files present but ignored (wrong extension, hidden).
    pub ignored: Vec<String>,
}

/// Lists the files of `source` landed on `date`, sorted by name.
pub async fn list_landing(raw: &Location, source: &Source, date: NaiveDate) -> Result<Landing> {
    let dir = raw.child(&format!("{}/dt={}", source.dir, date.format("%Y-%m-%d")));
    let mut metas: Vec<ObjectMeta> = raw
        .store
        .list(Some(&dir))
        .try_collect()
        .await
        .with_context(|| format!("cannot list {}", raw.show(&dir)))?;
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    for m in metas {
        let name = m.location.filename().unwrap_or_default();
        let base = name.strip_suffix(".gz").unwrap_or(name);
        let hidden = name.starts_with('_') || name.starts_with('.');
        let accepted =
            source.extensions.is_empty() || source.extensions.iter().any(|e| base.ends_with(e));
        if hidden || !accepted {
            ignored.push(raw.show(&m.location));
        } else {
            files.push(m);
        }
    }
    Ok(Landing {
        source: source.name.clone(),
        partition: raw.show(&dir),
        files,
        ignored,
    })
}

/// The schema of a source's raw table: the reader's columns plus `source_file` and `landed_on`.
pub fn raw_schema(source: &Source) -> SchemaRef {
    let mut fields: Vec<Field> = source
        .reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("source_file", DataType::Utf8, false));
    fields.push(Field::new("landed_on", DataType::Date32, false));
    Arc::new(Schema::new(fields))
}

/// Registers `source`'s landed files, each with its landing date, as the streaming table
/// `source.table` (one DataFusion partition per file).
pub fn register_raw_table(
    ctx: &SessionContext,
    raw: &Location,
    source: &Source,
    files: &[(ObjectMeta, NaiveDate)],
    sink: &RejectSink,
    batch_size: usize,
) -> Result<()> {
    let schema = raw_schema(source);
    let partitions: Vec<Arc<dyn PartitionStream>> = files
        .iter()
        .map(|(meta, date)| {
            Arc::new(FilePartition {
                schema: schema.clone(),
                raw: raw.clone(),
                meta: meta.clone(),
                reader: source.reader.clone(),
                landed_on: *date,
                ctx: FileContext {
                    source: source.name.clone(),
                    file: raw.show(&meta.location),
                    sink: sink.clone(),
                    batch_size,
                    landed_on: *date,
                },
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let table = StreamingTable::try_new(schema, partitions)?;
    ctx.deregister_table(source.table.as_str())?;
    ctx.register_table(source.table.as_str(), Arc::new(table))?;
    Ok(())
}

/// One landed file as a DataFusion partition.
#[derive(Debug)]
struct FilePartition {
    schema: SchemaRef,
    raw: Location,
    meta: ObjectMeta,
    reader: Arc<dyn FormatReader>,
    landed_on: NaiveDate,
    ctx: FileContext,
}

impl PartitionStream for FilePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _task: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let tx = builder.tx();
        let store = self.raw.store.clone();
        let meta = self.meta.clone();
        let reader = self.reader.clone();
        let ctx = self.ctx.clone();
        let schema = self.schema.clone();
        let landed = parse::days_since_epoch(self.landed_on);
        builder.spawn(async move {
            let input = open::open(store.as_ref(), &meta, &ctx.file)
                .await
                .map_err(external)?;
            let bytes = meta.size;
            let done = tokio::task::spawn_blocking(move || -> Result<(), ReadError> {
                let mut emit = |b: &mut BatchBuilder| -> Result<(), ReadError> {
                    let batch = with_lineage(&schema, b.finish(), &ctx.file, landed);
                    // A closed channel means the query was cancelled: stop quietly.
                    let _ = tx.blocking_send(Ok(batch));
                    Ok(())
                };
                let rows = reader.read(input.into_reader(), &ctx, &mut emit)?;
                ctx.sink.file_done(&ctx.source, &ctx.file, bytes, rows);
                Ok(())
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
            done.map_err(external)
        });
        builder.build()
    }
}

fn with_lineage(schema: &SchemaRef, batch: RecordBatch, file: &str, landed: i32) -> RecordBatch {
    let n = batch.num_rows();
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    cols.push(Arc::new(StringArray::from(vec![file; n])));
    cols.push(Arc::new(Date32Array::from(vec![landed; n])));
    RecordBatch::try_new(schema.clone(), cols).expect("lineage columns match the raw schema")
}

/// Wraps a read error for DataFusion; converting DataFusion's error into [`crate::error::Error`]
/// unwraps it again, so that people read the file's name and not the engine's.
pub fn external(e: ReadError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}
