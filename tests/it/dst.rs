//! Local Asterisk times to UTC on the autumn DST change (2026-10-25 in Madrid, when 02:00-03:00
//! happens twice).

use chrono::NaiveDateTime;
use chrono_tz::Europe::Madrid;
use kpi_etl::transform::functions::resolve_local;

fn wall(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn utc(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[test]
fn repeated_hour_is_resolved_by_the_uniqueid_epoch() {
    let t = wall("2026-10-25 02:30:00");
    // 02:30 CEST (+02:00) = 00:30 UTC; 02:30 CET (+01:00) = 01:30 UTC.
    let first = chrono::NaiveDate::from_ymd_opt(2026, 10, 25)
        .unwrap()
        .and_hms_opt(0, 30, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let second = first + 3600;
    assert_eq!(
        utc(resolve_local(Madrid, t, Some(first))),
        "2026-10-25 00:30:00"
    );
    assert_eq!(
        utc(resolve_local(Madrid, t, Some(second))),
        "2026-10-25 01:30:00"
    );
    // A hint a few seconds off (channel created just before the row's start) still decides.
    assert_eq!(
        utc(resolve_local(Madrid, t, Some(second - 5))),
        "2026-10-25 01:30:00"
    );
}

#[test]
fn repeated_hour_without_epoch_takes_the_earlier_offset() {
    assert_eq!(
        utc(resolve_local(Madrid, wall("2026-10-25 02:30:00"), None)),
        "2026-10-25 00:30:00"
    );
}

#[test]
fn ordinary_times_and_the_spring_gap() {
    assert_eq!(
        utc(resolve_local(Madrid, wall("2026-10-25 12:00:00"), None)),
        "2026-10-25 11:00:00"
    );
    assert_eq!(
        utc(resolve_local(Madrid, wall("2026-10-24 12:00:00"), None)),
        "2026-10-24 10:00:00"
    );
    // 2026-03-29 02:30 does not exist in Madrid: read with the offset before the gap (+01:00).
    assert_eq!(
        utc(resolve_local(Madrid, wall("2026-03-29 02:30:00"), None)),
        "2026-03-29 01:30:00"
    );
}
