//! Phone numbers: every Spanish format to one E.164 number, and DID types to channels.

use kpi_etl::transform::phone::{e164, number_type, voice_channel};

#[test]
fn every_spanish_format_is_one_number() {
    for raw in [
        "612 34 56 78",
        "612345678",
        "0034612345678",
        "+34612345678",
        "34612345678",
        "+34 612-34-56-78",
    ] {
        assert_eq!(e164(raw).as_deref(), Some("+34612345678"), "{raw}");
    }
}

#[test]
fn extensions_anonymous_and_garbage_match_nothing() {
    for raw in ["201", "2001", "anonymous", "", "  ", "12345", "abc"] {
        assert_eq!(e164(raw), None, "{raw}");
    }
}

#[test]
fn did_types_give_voice_channels() {
    assert_eq!(voice_channel("+34911234567"), "voice_geographic");
    assert_eq!(voice_channel("931234567"), "voice_geographic");
    assert_eq!(voice_channel("612000111"), "voice_mobile");
    assert_eq!(voice_channel("900123456"), "voice_tollfree");
    assert_eq!(voice_channel("800123456"), "voice_tollfree");
    assert_eq!(voice_channel("901123456"), "voice_shared_cost");
    assert_eq!(voice_channel("902123456"), "voice_shared_cost");
    assert_eq!(voice_channel("806123456"), "voice_premium");
    assert_eq!(voice_channel("807123456"), "voice_premium");
    assert_eq!(voice_channel("anonymous"), "voice_other");
    assert_eq!(number_type("+34612345678"), Some("mobile"));
}
