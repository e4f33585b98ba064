//! WhatsApp Business Cloud API webhooks: one envelope per line, flattened to one row per inbound
//! message (`raw_whatsapp_messages`) or one row per outbound status (`raw_whatsapp_statuses`).
//!
//! A line that is not JSON, or not an envelope, is rejected by the message reader only, so that a
//! broken line is counted once although both tables read the file.

use std::io::BufRead;

use datafusion::arrow::datatypes::SchemaRef;
use serde::Deserialize;

use super::columns::{BatchBuilder, Kind, Value, schema_of};
use super::parse;
use super::{FileContext, FormatReader, ReadError, Reject};
use crate::extract::open::FileReader;

/// Which rows of the envelopes a reader emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsAppRows {
    /// `value.messages[]`: inbound customer messages.
    Messages,
    /// `value.statuses[]`: statuses of our outbound messages.
    Statuses,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Option<ChangeValue>,
}

#[derive(Deserialize, Default)]
struct ChangeValue {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    display_phone_number: Option<String>,
    #[serde(default)]
    phone_number_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: Option<String>,
    id: Option<String>,
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: Option<String>,
    status: Option<String>,
    timestamp: Option<String>,
    recipient_id: Option<String>,
    conversation: Option<Conversation>,
    pricing: Option<Pricing>,
    #[serde(default)]
    errors: Vec<ApiError>,
    biz_opaque_callback_data: Option<String>,
}

#[derive(Deserialize)]
struct Conversation {
    id: Option<String>,
    origin: Option<Origin>,
}

#[derive(Deserialize)]
struct Origin {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Pricing {
    category: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    code: Option<i64>,
    title: Option<String>,
}

const MESSAGE_FIELDS: [(&str, Kind); 8] = [
    ("business_number", Kind::Utf8),
    ("phone_number_id", Kind::Utf8),
    ("wa_id", Kind::Utf8),
    ("message_id", Kind::Utf8),
    ("sent_at", Kind::TimestampUtc),
    ("message_type", Kind::Utf8),
    ("source_line", Kind::Int64),
    ("envelope_index", Kind::Int64),
];

const STATUS_FIELDS: [(&str, Kind); 13] = [
    ("business_number", Kind::Utf8),
    ("phone_number_id", Kind::Utf8),
    ("message_id", Kind::Utf8),
    ("status", Kind::Utf8),
    ("status_at", Kind::TimestampUtc),
    ("recipient_id", Kind::Utf8),
    ("conversation_id", Kind::Utf8),
    ("conversation_origin", Kind::Utf8),
    ("pricing_category", Kind::Utf8),
    ("callback_data", Kind::Utf8),
    ("error_code", Kind::Int64),
    ("error_title", Kind::Utf8),
    ("source_line", Kind::Int64),
];

/// Reads webhook JSONL files into one of the two row kinds.
#[derive(Debug)]
pub struct WhatsAppReader {
    rows: WhatsAppRows,
    schema: SchemaRef,
}

impl WhatsAppReader {
    /// A reader emitting `rows`.
    pub fn new(rows: WhatsAppRows) -> Self {
        let schema = match rows {
            WhatsAppRows::Messages => schema_of(&MESSAGE_FIELDS),
            WhatsAppRows::Statuses => schema_of(&STATUS_FIELDS),
        };
        Self { rows, schema }
    }
}

fn text(s: &Option<String>) -> Value {
    match s {
        Some(s) if !s.is_empty() => Value::Str(s.clone()),
        _ => Value::Null,
    }
}

impl FormatReader for WhatsAppReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(
        &self,
        mut input: FileReader,
        ctx: &FileContext,
        emit: &mut dyn FnMut(&mut BatchBuilder) -> Result<(), ReadError>,
    ) -> Result<u64, ReadError> {
        let mut out = BatchBuilder::new(self.schema.clone());
        let mut buf = Vec::with_capacity(4096);
        let (mut line, mut rows) = (0u64, 0u64);
        let reports = self.rows == WhatsAppRows::Messages;
        loop {
            buf.clear();
            let n = input
                .read_until(b'\n', &mut buf)
                .map_err(|e| ctx.io_error(e))?;
            if n == 0 {
                break;
            }
            line += 1;
            let body = buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&buf);
            if body.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let envelope: Envelope = match serde_json::from_slice(body) {
                Ok(e) => e,
                Err(e) => {
                    if reports {
                        let col = format!("json column {}", e.column());
                        ctx.reject(Reject::at(
                            ctx,
                            line,
                            Some(col),
                            format!("broken JSON: {e}"),
                            &buf,
                        ));
                    }
                    continue;
                }
            };
            let mut index = 0i64;
            for change in envelope.entry.iter().flat_map(|e| &e.changes) {
                if change.field != "messages" {
                    continue;
                }
                let Some(value) = &change.value else { continue };
                let md = &value.metadata;
                match self.rows {
                    WhatsAppRows::Messages => {
                        for m in &value.messages {
                            let at = m.timestamp.as_deref().map(parse::epoch_seconds);
                            let (Some(id), Some(from), Some(Ok(at))) = (&m.id, &m.from, at) else {
                                ctx.reject(Reject::at(
                                    ctx,
                                    line,
                                    Some("messages".into()),
                                    "inbound message without a valid id, from or timestamp".into(),
                                    &buf,
                                ));
                                continue;
                            };
                            out.push(&[
                                text(&md.display_phone_number),
                                text(&md.phone_number_id),
                                Value::Str(from.clone()),
                                Value::Str(id.clone()),
                                at,
                                text(&m.kind),
                                Value::Int(line as i64),
                                Value::Int(index),
                            ]);
                            index += 1;
                            rows += 1;
                        }
                    }
                    WhatsAppRows::Statuses => {
                        for s in &value.statuses {
                            let at = s.timestamp.as_deref().map(parse::epoch_seconds);
                            let (Some(id), Some(status), Some(Ok(at))) = (&s.id, &s.status, at)
                            else {
                                ctx.reject(Reject::at(
                                    ctx,
                                    line,
                                    Some("statuses".into()),
                                    "status without a valid id, status or timestamp".into(),
                                    &buf,
                                ));
                                continue;
                            };
                            let conv = s.conversation.as_ref();
                            let err = s.errors.first();
                            out.push(&[
                                text(&md.display_phone_number),
                                text(&md.phone_number_id),
                                Value::Str(id.clone()),
                                Value::Str(status.clone()),
                                at,
                                text(&s.recipient_id),
                                conv.map(|c| text(&c.id)).unwrap_or(Value::Null),
                                conv.and_then(|c| c.origin.as_ref())
                                    .map(|o| text(&o.kind))
                                    .unwrap_or(Value::Null),
                                s.pricing
                                    .as_ref()
                                    .map(|p| text(&p.category))
                                    .unwrap_or(Value::Null),
                                text(&s.biz_opaque_callback_data),
                                err.and_then(|e| e.code)
                                    .map(Value::Int)
                                    .unwrap_or(Value::Null),
                                err.map(|e| text(&e.title)).unwrap_or(Value::Null),
                                Value::Int(line as i64),
                            ]);
                            rows += 1;
                        }
                    }
                }
            }
            if out.len() >= ctx.batch_size {
                emit(&mut out)?;
            }
        }
        if !out.is_empty() {
            emit(&mut out)?;
        }
        Ok(rows)
    }
}
