//! Personal data: what must never reach the warehouse in clear.
//!
//! Customer phone numbers and WhatsApp ids are replaced by a keyed hash of their E.164 form
//! (SQL `pii_hash`, see [`crate::transform::functions`]). Free-text fields that may carry a
//! number (Asterisk `lastdata` of a Dial, `userfield`, queue_log data fields) and the raw text of
//! rejected rows are masked: every run of seven or more digits (optionally after `+`) becomes
//! `[phone]` and every e-mail address `[email]`. A rejected row stays traceable through its file
//! and line in the access-controlled raw zone.

use std::sync::LazyLock;

use regex::Regex;

static PHONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\+?\d{7,}").expect("valid regex"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").expect("valid regex")
});

/// `text` with phone-like digit runs and e-mail addresses masked.
pub fn mask(text: &str) -> String {
    let t = EMAIL.replace_all(text, "[email]");
    PHONE.replace_all(&t, "[phone]").into_owned()
}
