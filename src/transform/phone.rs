//! Phone numbers: E.164 normalisation with default region ES, number types, voice channels.

use phonenumber::country::Id as Country;
use phonenumber::{Mode, Type};

/// The E.164 form (`+34612345678`) of a number written any Spanish way (`612 34 56 78`,
/// `0034612345678`, `+34612345678`, WhatsApp's `34612345678`); `None` for `anonymous`, empty,
/// short internal extensions and invalid numbers.
pub fn e164(raw: &str) -> Option<String> {
    parsed(raw).map(|n| n.format().mode(Mode::E164).to_string())
}

fn parsed(raw: &str) -> Option<phonenumber::PhoneNumber> {
    let t = raw.trim();
    let digits = t.bytes().filter(|b| b.is_ascii_digit()).count();
    // Extensions (2 to 6 digits) and service codes are not customers.
    if digits < 7 {
        return None;
    }
    let valid = |s: &str| {
        phonenumber::parse(Some(Country::ES), s)
            .ok()
            .filter(phonenumber::is_valid)
    };
    valid(t).or_else(|| {
        // WhatsApp ids and some trunks write the country code without `+` or `00`.
        if t.bytes().all(|b| b.is_ascii_digit()) && t.len() > 9 {
            valid(&format!("+{t}"))
        } else {
            None
        }
    })
}

/// The number's type in snake_case (`fixed_line`, `mobile`, `toll_free`, `shared_cost`,
/// `premium_rate`, `voip`, `personal_number`, `uan`, ...), `None` when the number is not valid.
pub fn number_type(raw: &str) -> Option<&'static str> {
    let n = parsed(raw)?;
    Some(match n.number_type(&phonenumber::metadata::DATABASE) {
        Type::FixedLine => "fixed_line",
        Type::Mobile => "mobile",
        Type::FixedLineOrMobile => "fixed_line_or_mobile",
        Type::TollFree => "toll_free",
        Type::PremiumRate => "premium_rate",
        Type::SharedCost => "shared_cost",
        Type::PersonalNumber => "personal_number",
        Type::Voip => "voip",
        Type::Pager => "pager",
        Type::Uan => "uan",
        Type::Voicemail => "voicemail",
        _ => "unknown",
    })
}

/// The voice channel of a dialled DID: `voice_geographic`, `voice_mobile`, `voice_tollfree`,
/// `voice_shared_cost`, `voice_premium`, or `voice_other` for anything else (invalid included).
pub fn voice_channel(did: &str) -> &'static str {
    match number_type(did) {
        Some("fixed_line") => "voice_geographic",
        Some("mobile") => "voice_mobile",
        Some("toll_free") => "voice_tollfree",
        Some("shared_cost") => "voice_shared_cost",
        Some("premium_rate") => "voice_premium",
        _ => "voice_other",
    }
}
