//! Deliberately broken input, one generator per kind. Each day carries a few malformed CDR rows
//! (wrong column count, impossible `start` `2026-13-45 99:00:00`, `billsec` `abc`), a couple of
//! malformed queue_log lines (too few fields, non-numeric epoch) and a broken JSON webhook
//! line. They belong to fabricated calls, so rejecting them changes no real call. Every one is
//! counted in `GenerateSummary::malformed_rows`.

use rand::Rng;

use super::cdr::{self, CdrRow, Corruption};
use super::clock::{DayClock, LocalClock};

/// Malformed CDR rows per day for a volume of `calls_per_day`.
pub fn malformed_cdr_per_day(calls_per_day: u64) -> usize {
    if calls_per_day == 0 {
        0
    } else {
        3 + (calls_per_day / 100_000) as usize
    }
}

/// `k` sorted insertion positions in `0..=n`.
pub fn positions<R: Rng + ?Sized>(rng: &mut R, n: usize, k: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..k).map(|_| rng.random_range(0..=n)).collect();
    v.sort_unstable();
    v
}

/// Appends malformed CDR row number `k` of the day (the kind cycles through every
/// [`Corruption`]).
pub fn malformed_cdr<R: Rng + ?Sized>(
    rng: &mut R,
    lc: &mut LocalClock,
    clock: &DayClock,
    k: usize,
    out: &mut Vec<u8>,
) {
    let start = clock.sample(rng);
    let uid = format!("{start}.{}", 990_000 + k);
    let src = format!("6{:08}", rng.random_range(0..100_000_000u32));
    let corruption = [
        Corruption::BadStart,
        Corruption::MissingColumns,
        Corruption::BadBillsec,
        Corruption::ExtraColumn,
    ][k % 4];
    let row = CdrRow {
        accountcode: "",
        src: &src,
        dst: "900123456",
        dcontext: "from-trunk",
        clid_name: src.as_bytes(),
        clid_num: &src,
        channel: "PJSIP/trunk-movistar-ffffff00",
        dstchannel: "",
        lastapp: "Hangup",
        lastdata: "",
        start,
        answer: None,
        end: start + 4,
        disposition: "FAILED",
        amaflags: "DOCUMENTATION",
        uniqueid: &uid,
        userfield: "",
        linkedid: &uid,
        sequence: 1,
    };
    cdr::encode(&row, lc, out, corruption);
}

/// Appends malformed queue_log line number `k` of the day.
pub fn malformed_queue_log<R: Rng + ?Sized>(
    rng: &mut R,
    clock: &DayClock,
    k: usize,
    out: &mut Vec<u8>,
) {
    let t = clock.sample(rng);
    let line = match k % 3 {
        0 => format!("{t}|{t}.999|ventas\n"),
        1 => format!("x{t}|NONE|soporte|PJSIP/209|PAUSE|\n"),
        _ => "queue_log: write error, partial line|||\n".to_string(),
    };
    out.extend_from_slice(line.as_bytes());
}

/// Appends a truncated copy of a JSON line (a broken webhook line) to `out`.
pub fn broken_json(line: &[u8], out: &mut Vec<u8>) {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let mut cut = (body.len() / 2).max(1).min(body.len());
    // Stay on a UTF-8 boundary: the line is broken JSON, not broken text.
    while cut > 1 && cut < body.len() && (body[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    out.extend_from_slice(&body[..cut]);
    out.push(b'\n');
}
