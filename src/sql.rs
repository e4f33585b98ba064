//! SQL text: quoting identifiers and literals, and lists of dates. The bottom layer every SQL
//! builder of the crate shares, so that quoting is done one way only.

use chrono::NaiveDate;

/// Quotes an identifier: `a"b` becomes `"a""b"`.
pub fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// Quotes a string literal: `it's` becomes `'it''s'`.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The date `days` days after 1970-01-01 (Arrow's `Date32`).
pub fn date_of_days(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(i64::from(days))
}

/// A `DATE 'YYYY-MM-DD'` literal of a `Date32` value.
pub fn date_literal(days: i32) -> String {
    format!("DATE '{}'", date_of_days(days).format("%Y-%m-%d"))
}

/// `<expr> IN (DATE '...', ...)`, or `FALSE` for no dates.
pub fn in_dates(expr: &str, days: &[i32]) -> String {
    if days.is_empty() {
        return "FALSE".to_string();
    }
    let list: Vec<String> = days.iter().map(|d| date_literal(*d)).collect();
    format!("{expr} IN ({})", list.join(", "))
}
