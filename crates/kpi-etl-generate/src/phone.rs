//! Phone number spellings. The same Spanish number reaches the data in many formats (hazard:
//! `612345678`, `+34612345678`, `0034612345678` from the trunk; `612 34 56 78`, `+34 612 345 678`
//! typed into Salesforce; `34612345678` as a WhatsApp `wa_id`): the pipeline must normalise them
//! all to one E.164 number. Numbers are carried as their 9-digit national significant number.

use rand::Rng;

/// The 9-digit national number as text.
pub fn national(n: u64) -> String {
    format!("{n:09}")
}

/// True for a Spanish mobile national number (6xx, 7[1-4]x).
pub fn is_mobile(n: u64) -> bool {
    let first = n / 100_000_000;
    first == 6 || (first == 7 && (1..=4).contains(&((n / 10_000_000) % 10)))
}

/// The number as a trunk delivers it in a CDR `src`/`dst`: national, `+34...` or `0034...`.
pub fn trunk_format<R: Rng + ?Sized>(rng: &mut R, n: u64) -> String {
    match rng.random_range(0..20u32) {
        0..=9 => format!("{n:09}"),
        10..=15 => format!("+34{n:09}"),
        _ => format!("0034{n:09}"),
    }
}

/// The number as a person typed it into a CRM field.
pub fn crm_format<R: Rng + ?Sized>(rng: &mut R, n: u64) -> String {
    let s = format!("{n:09}");
    match rng.random_range(0..6u32) {
        0 | 5 => spaced(&s),
        1 => format!("+34{s}"),
        2 => format!("0034{s}"),
        3 => s,
        _ => format!("+34 {} {} {}", &s[0..3], &s[3..6], &s[6..9]),
    }
}

/// National spacing: `612 34 56 78` for mobiles, `91 123 45 67` for fixed lines.
fn spaced(s: &str) -> String {
    if s.starts_with('6') || s.starts_with('7') {
        format!("{} {} {} {}", &s[0..3], &s[3..5], &s[5..7], &s[7..9])
    } else {
        format!("{} {} {} {}", &s[0..2], &s[2..5], &s[5..7], &s[7..9])
    }
}

/// WhatsApp `wa_id`: country code and number, digits only, no `+`.
pub fn wa_id(n: u64) -> String {
    format!("34{n:09}")
}

/// A business DID as the trunk delivers it in `dst`: national, `+34...` or `0034...`.
pub fn did_format<R: Rng + ?Sized>(rng: &mut R, national: &str) -> String {
    match rng.random_range(0..10u32) {
        0..=5 => national.to_string(),
        6..=8 => format!("+34{national}"),
        _ => format!("0034{national}"),
    }
}
