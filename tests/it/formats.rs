//! Field parsers: Salesforce Ids, money, booleans, datetimes.

use kpi_etl::extract::columns::Value;
use kpi_etl::extract::parse;

#[test]
fn salesforce_15_char_ids_get_their_checksum() {
    assert_eq!(
        parse::sf_id18("001Ec00000FzlUd").unwrap(),
        "001Ec00000FzlUdIAJ"
    );
    assert_eq!(
        parse::sf_id18("001Ec00000FzlUdIAJ").unwrap(),
        "001Ec00000FzlUdIAJ"
    );
    assert_eq!(
        parse::sf_id18("005Ec000004oBPN").unwrap(),
        "005Ec000004oBPNIA2"
    );
    assert!(parse::sf_id18("001Ec").is_err());
    assert!(parse::sf_id18("001Ec00000Fz-Ud").is_err());
}

#[test]
fn money_is_parsed_exactly_into_cents() {
    assert_eq!(parse::money("1124741.15").unwrap(), Value::Cents(112474115));
    assert_eq!(parse::money("12.5").unwrap(), Value::Cents(1250));
    assert_eq!(parse::money("-3").unwrap(), Value::Cents(-300));
    assert_eq!(parse::money("12.500").unwrap(), Value::Cents(1250));
    assert_eq!(parse::money("").unwrap(), Value::Null);
    assert!(parse::money("12.345").is_err());
    assert!(parse::money("1e5").is_err());
    assert!(parse::money("abc").is_err());
}

#[test]
fn salesforce_booleans_in_every_style() {
    for t in ["true", "TRUE", "True", "1"] {
        assert_eq!(parse::boolean(t).unwrap(), Value::Bool(true), "{t}");
    }
    for f in ["false", "FALSE", "0"] {
        assert_eq!(parse::boolean(f).unwrap(), Value::Bool(false), "{f}");
    }
    assert_eq!(parse::boolean("").unwrap(), Value::Null);
    assert!(parse::boolean("yes").is_err());
}

#[test]
fn salesforce_datetimes_in_both_styles_are_the_same_instant() {
    let z = parse::sf_datetime("2026-11-26T09:15:02.000Z").unwrap();
    let offset = parse::sf_datetime("2026-11-26T09:15:02.000+0000").unwrap();
    assert_eq!(z, offset);
    assert_eq!(z, Value::Micros(1_795_684_502_000_000));
    assert_eq!(
        parse::sf_datetime("2026-11-26T10:15:02.000+0100").unwrap(),
        z
    );
    assert!(parse::sf_datetime("26/11/2026 09:15").is_err());
}

#[test]
fn asterisk_times_and_uniqueids() {
    assert_eq!(parse::local_datetime("").unwrap(), Value::Null);
    assert!(parse::local_datetime("2026-13-45 99:00:00").is_err());
    assert_eq!(
        kpi_etl::extract::cdr::uniqueid_epoch("1795684502.17"),
        Some(1795684502)
    );
    assert_eq!(
        kpi_etl::extract::cdr::uniqueid_epoch("pbx1-1795684502.17"),
        Some(1795684502)
    );
    assert_eq!(kpi_etl::extract::cdr::uniqueid_epoch("garbage"), None);
}
