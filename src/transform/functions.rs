//! SQL functions the models use, registered on every session:
//!
//! | function | result |
//! |---|---|
//! | `phone_e164(text)` | E.164 number or NULL (see [`super::phone::e164`]) |
//! | `phone_type(text)` | the number's type, e.g. `mobile`, `toll_free`, or NULL |
//! | `voice_channel(text)` | channel of a dialled DID: `voice_geographic`, ... `voice_other` |
//! | `pii_hash(text)` | keyed hash (HMAC-SHA256, hex) of a personal value such as a phone number |
//! | `mask_pii(text)` | free text with phone-like digit runs and e-mail addresses masked ([`crate::pii`]) |
//! | `local_to_utc(wall_clock, epoch_hint)` | UTC instant of a local wall-clock time in the business timezone |
//! | `local_date(instant)` | the business-timezone calendar date of a UTC instant |
//! | `add_seconds(instant, n)` | the instant `n` seconds later (NULL if either is NULL) |
//! | `surrogate_key(v1, v2, ...)` | a stable positive BIGINT for a natural key (first 63 bits of SHA-256 of the values) |

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, Int64Array, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::phone;

/// Registers every function on `ctx`, bound to the business timezone and the PII key.
pub fn register(ctx: &SessionContext, tz: Tz, pii_key: &[u8]) {
    let text_fns: [(&'static str, TextFn); 4] = [
        ("mask_pii", TextFn::Mask),
        ("phone_e164", TextFn::E164),
        ("phone_type", TextFn::Type),
        ("voice_channel", TextFn::Channel),
    ];
    for (name, f) in text_fns {
        ctx.register_udf(ScalarUDF::from(TextUdf::new(name, f)));
    }
    ctx.register_udf(ScalarUDF::from(TextUdf::new(
        "pii_hash",
        TextFn::Hash(pii_key.to_vec()),
    )));
    ctx.register_udf(ScalarUDF::from(LocalToUtc::new(tz)));
    ctx.register_udf(ScalarUDF::from(LocalDate::new(tz)));
    ctx.register_udf(ScalarUDF::from(AddSeconds::new()));
    ctx.register_udf(ScalarUDF::from(SurrogateKey::new()));
}

/// Text-to-text functions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TextFn {
    E164,
    Type,
    Channel,
    Hash(Vec<u8>),
    Mask,
}

impl TextFn {
    fn apply(&self, s: &str) -> Option<String> {
        match self {
            TextFn::E164 => phone::e164(s),
            TextFn::Type => phone::number_type(s).map(str::to_string),
            TextFn::Channel => Some(phone::voice_channel(s).to_string()),
            TextFn::Hash(key) => Some(keyed_hash(key, s)),
            TextFn::Mask => Some(crate::pii::mask(s)),
        }
    }
}

/// HMAC-SHA256 of `value` under `key`, as lower-case hex.
pub fn keyed_hash(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TextUdf {
    name: &'static str,
    f: TextFn,
    signature: Signature,
}

impl TextUdf {
    fn new(name: &'static str, f: TextFn) -> Self {
        Self {
            name,
            f,
            signature: Signature::string(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TextUdf {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let input = cast(&arrays[0], &DataType::Utf8)?;
        let input = input.as_string::<i32>();
        // Numbers repeat (DIDs, frequent callers): parse each distinct value once per batch.
        let mut seen: HashMap<&str, Option<String>> = HashMap::new();
        let mut out = StringBuilder::with_capacity(input.len(), input.len() * 16);
        for v in input.iter() {
            match v {
                None => out.append_null(),
                Some(s) => {
                    let r = seen.entry(s).or_insert_with(|| self.f.apply(s));
                    out.append_option(r.as_deref());
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

/// `local_to_utc(wall_clock, epoch_hint)`.
///
/// A wall-clock time that occurs twice (the autumn change) takes the offset whose instant is
/// nearest to `epoch_hint` (Unix seconds, e.g. from the Asterisk uniqueid); without a hint, the
/// earlier instant. A time that does not exist (the spring gap) is read with the offset in force
/// before the gap.
#[derive(Debug, PartialEq, Eq, Hash)]
struct LocalToUtc {
    tz: Tz,
    signature: Signature,
}

impl LocalToUtc {
    fn new(tz: Tz) -> Self {
        Self {
            tz,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// Resolves a local wall-clock time in `tz` to a UTC instant in microseconds (see
/// `local_to_utc`).
pub fn resolve_local(tz: Tz, wall: NaiveDateTime, hint_secs: Option<i64>) -> i64 {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.timestamp_micros(),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.timestamp_micros(), b.timestamp_micros());
            let (early, late) = (a.min(b), a.max(b));
            match hint_secs {
                Some(h) if (late - h * 1_000_000).abs() < (early - h * 1_000_000).abs() => late,
                _ => early,
            }
        }
        LocalResult::None => {
            let before = wall - chrono::Duration::hours(3);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    t.naive_local() - t.naive_utc()
                }
                LocalResult::None => chrono::Duration::zero(),
            };
            (wall - offset).and_utc().timestamp_micros()
        }
    }
}

impl ScalarUDFImpl for LocalToUtc {
    fn name(&self) -> &str {
        "local_to_utc"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let wall = cast(
            &arrays[0],
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?;
        let wall = wall.as_primitive::<TimestampMicrosecondType>();
        let hint = cast(&arrays[1], &DataType::Int64)?;
        let Some(hint) = hint.as_any().downcast_ref::<Int64Array>() else {
            return exec_err!("local_to_utc: the hint must be Unix seconds");
        };
        let mut out = TimestampMicrosecondBuilder::with_capacity(wall.len());
        for i in 0..wall.len() {
            if wall.is_null(i) {
                out.append_null();
                continue;
            }
            let Some(naive) = chrono::DateTime::from_timestamp_micros(wall.value(i)) else {
                out.append_null();
                continue;
            };
            let h = (!hint.is_null(i)).then(|| hint.value(i));
            out.append_value(resolve_local(self.tz, naive.naive_utc(), h));
        }
        Ok(ColumnarValue::Array(Arc::new(
            out.finish().with_timezone("UTC"),
        )))
    }
}

/// `local_date(instant)`: the calendar date of a UTC instant in the business timezone.
#[derive(Debug, PartialEq, Eq, Hash)]
struct LocalDate {
    tz: Tz,
    signature: Signature,
}

impl LocalDate {
    fn new(tz: Tz) -> Self {
        Self {
            tz,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for LocalDate {
    fn name(&self) -> &str {
        "local_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let ts = cast(
            &arrays[0],
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let mut out = Date32Builder::with_capacity(ts.len());
        for v in ts.iter() {
            match v.and_then(chrono::DateTime::from_timestamp_micros) {
                Some(t) => {
                    let d = t.with_timezone(&self.tz).date_naive();
                    out.append_value((d - epoch).num_days() as i32);
                }
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `add_seconds(instant, n)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct AddSeconds {
    signature: Signature,
}

impl AddSeconds {
    fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for AddSeconds {
    fn name(&self) -> &str {
        "add_seconds"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let ts = cast(
            &arrays[0],
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let n = cast(&arrays[1], &DataType::Int64)?;
        let Some(n) = n.as_any().downcast_ref::<Int64Array>() else {
            return exec_err!("add_seconds: n must be an integer");
        };
        let out: datafusion::arrow::array::TimestampMicrosecondArray = ts
            .iter()
            .zip(n.iter())
            .map(|(t, n)| Some(t? + n? * 1_000_000))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out.with_timezone("UTC"))))
    }
}

/// `surrogate_key(v1, v2, ...)`: a dimension key derived from the natural key alone, so that a
/// re-run or a later night never renumbers an existing row. Values are cast to text, joined
/// with a unit separator (NULL as an empty marker), hashed with SHA-256, and the first 63 bits
/// taken as a positive BIGINT (collisions are negligible below billions of rows).
#[derive(Debug, PartialEq, Eq, Hash)]
struct SurrogateKey {
    signature: Signature,
}

impl SurrogateKey {
    fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

/// The surrogate key of a natural key given as text parts (`None` for NULL).
pub fn surrogate_key(parts: &[Option<&str>]) -> i64 {
    use sha2::Digest;
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0x1f]);
        }
        match p {
            Some(v) => h.update(v.as_bytes()),
            None => h.update([0x00]),
        }
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) >> 1) as i64
}

impl ScalarUDFImpl for SurrogateKey {
    fn name(&self) -> &str {
        "surrogate_key"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let texts = arrays
            .iter()
            .map(|a| cast(a, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let texts: Vec<_> = texts.iter().map(|a| a.as_string::<i32>()).collect();
        let out: Int64Array = (0..args.number_rows)
            .map(|i| {
                let parts: Vec<Option<&str>> = texts
                    .iter()
                    .map(|t| (!t.is_null(i)).then(|| t.value(i)))
                    .collect();
                Some(surrogate_key(&parts))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
