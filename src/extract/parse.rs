//! Field parsers shared by the readers. Each returns a [`Value`] or a short reason.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::columns::Value;

/// Parses an Asterisk wall-clock time `YYYY-MM-DD HH:MM:SS` into microseconds (no zone).
pub fn local_datetime(s: &str) -> Result<Value, String> {
    if s.is_empty() {
        return Ok(Value::Null);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map(|t| Value::Micros(t.and_utc().timestamp_micros()))
        .map_err(|_| format!("not a YYYY-MM-DD HH:MM:SS time: {s:?}"))
}

/// Parses a bare integer; empty is null.
pub fn integer(s: &str) -> Result<Value, String> {
    if s.is_empty() {
        return Ok(Value::Null);
    }
    s.trim()
        .parse::<i64>()
        .map(Value::Int)
        .map_err(|_| format!("not an integer: {s:?}"))
}

/// Parses Unix seconds (an integer, possibly in a JSON string) into a UTC instant.
pub fn epoch_seconds(s: &str) -> Result<Value, String> {
    let secs = s
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("not Unix seconds: {s:?}"))?;
    DateTime::from_timestamp(secs, 0)
        .map(|t| Value::Micros(t.timestamp_micros()))
        .ok_or_else(|| format!("Unix seconds out of range: {s:?}"))
}

/// Parses a Salesforce boolean: `true`/`false`, `1`/`0`, any case; empty is null.
pub fn boolean(s: &str) -> Result<Value, String> {
    match s.trim() {
        "" => Ok(Value::Null),
        t if t.eq_ignore_ascii_case("true") || t == "1" => Ok(Value::Bool(true)),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Ok(Value::Bool(false)),
        t => Err(format!("not a boolean: {t:?}")),
    }
}

/// Parses a Salesforce UTC datetime: `2026-11-26T09:15:02.000Z` or `...000+0000`
/// (milliseconds optional); empty is null.
pub fn sf_datetime(s: &str) -> Result<Value, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    let parsed = if let Some(naive) = t.strip_suffix('Z') {
        NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
    } else {
        DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z").map(|d| d.to_utc())
    };
    parsed
        .map(|d| Value::Micros(d.timestamp_micros()))
        .map_err(|_| format!("not a Salesforce datetime: {t:?}"))
}

/// Parses a date `YYYY-MM-DD`; empty is null.
pub fn date(s: &str) -> Result<Value, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|d| Value::Date(days_since_epoch(d)))
        .map_err(|_| format!("not a YYYY-MM-DD date: {t:?}"))
}

/// Days from 1970-01-01 to `d`, as Arrow's Date32 counts them.
pub fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Parses an amount with at most two decimals (`1124741.15`, `-3`, `12.5`) exactly into cents.
pub fn money(s: &str) -> Result<Value, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    let bad = || format!("not an amount with at most 2 decimals: {t:?}");
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // Exports write trailing zeros beyond cents (`12.500`); anything else would lose money.
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 || int.len() > 16 {
        return Err(bad());
    }
    let units: i128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let cents: i128 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let v = units * 100 + cents;
    Ok(Value::Cents(if neg { -v } else { v }))
}

/// Turns a Salesforce Id into its 18-character, case-safe form; empty is null.
///
/// The 3-character suffix encodes, for each 5-character chunk of the 15-character Id, which
/// characters are upper-case letters.
pub fn sf_id(s: &str) -> Result<Value, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    sf_id18(t).map(Value::Str)
}

/// The 18-character form of a 15- or 18-character Salesforce Id.
pub fn sf_id18(id: &str) -> Result<String, String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("not a Salesforce Id: {id:?}"));
    }
    match id.len() {
        18 => Ok(id.to_string()),
        15 => {
            const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
            let mut out = String::with_capacity(18);
            out.push_str(id);
            for chunk in id.as_bytes().chunks(5) {
                let mut n = 0usize;
                for (i, b) in chunk.iter().enumerate() {
                    if b.is_ascii_uppercase() {
                        n |= 1 << i;
                    }
                }
                out.push(ALPHABET[n] as char);
            }
            Ok(out)
        }
        n => Err(format!(
            "a Salesforce Id has 15 or 18 characters, not {n}: {id:?}"
        )),
    }
}
