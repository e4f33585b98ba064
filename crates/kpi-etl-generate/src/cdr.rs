//! Encoder of Asterisk `cdr_csv` rows (Master.csv), 21 columns with `loguniqueid`,
//! `loguserfield` and `newcdrcolumns`: every string field double-quoted with `""` escaping,
//! integers bare, an unanswered `answer` a bare empty field, times as local wall clock.
//!
//! Rows are raw bytes, not `String`: caller-ID names may be Latin-1 (hazard: `Mu\xf1oz` is not
//! valid UTF-8). [`Corruption`] produces the deliberately malformed variants.

use std::io::Write;

use super::clock::LocalClock;

/// One CDR row, borrowing its text from the caller.
#[derive(Debug, Clone, Copy)]
pub struct CdrRow<'a> {
    /// accountcode.
    pub accountcode: &'a str,
    /// src (ANI).
    pub src: &'a str,
    /// dst.
    pub dst: &'a str,
    /// dcontext.
    pub dcontext: &'a str,
    /// Caller-ID name as raw bytes (may be Latin-1).
    pub clid_name: &'a [u8],
    /// Caller-ID number.
    pub clid_num: &'a str,
    /// Party A channel.
    pub channel: &'a str,
    /// Party B channel.
    pub dstchannel: &'a str,
    /// lastapp.
    pub lastapp: &'a str,
    /// lastdata.
    pub lastdata: &'a str,
    /// UTC epoch of the start.
    pub start: i64,
    /// UTC epoch of the answer, if answered.
    pub answer: Option<i64>,
    /// UTC epoch of the end.
    pub end: i64,
    /// disposition.
    pub disposition: &'a str,
    /// amaflags.
    pub amaflags: &'a str,
    /// uniqueid of Party A.
    pub uniqueid: &'a str,
    /// userfield (free text, may contain commas and quotes).
    pub userfield: &'a str,
    /// linkedid shared by every row of the call.
    pub linkedid: &'a str,
    /// sequence.
    pub sequence: u64,
}

/// How to damage a row on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// A well-formed row.
    None,
    /// `start` is `2026-13-45 99:00:00`.
    BadStart,
    /// `billsec` is `abc`.
    BadBillsec,
    /// The last three columns are missing (18 columns).
    MissingColumns,
    /// One column too many (22 columns).
    ExtraColumn,
}

/// Appends `bytes` quoted, doubling embedded quotes.
fn quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    esc(out, bytes);
    out.push(b'"');
}

/// Appends `bytes` doubling embedded quotes.
fn esc(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
}

/// Appends one encoded row (with its newline) to `out`.
pub fn encode(row: &CdrRow<'_>, lc: &mut LocalClock, out: &mut Vec<u8>, corruption: Corruption) {
    let begin = out.len();
    for f in [row.accountcode, row.src, row.dst, row.dcontext] {
        quoted(out, f.as_bytes());
        out.push(b',');
    }
    // clid: "Name" <number>, itself quoted as a CSV field.
    out.extend_from_slice(b"\"\"\"");
    esc(out, row.clid_name);
    out.extend_from_slice(b"\"\" <");
    esc(out, row.clid_num.as_bytes());
    out.extend_from_slice(b">\",");
    for f in [row.channel, row.dstchannel, row.lastapp, row.lastdata] {
        quoted(out, f.as_bytes());
        out.push(b',');
    }
    if corruption == Corruption::BadStart {
        out.extend_from_slice(b"\"2026-13-45 99:00:00\"");
    } else {
        out.push(b'"');
        lc.write(out, row.start);
        out.push(b'"');
    }
    out.push(b',');
    if let Some(a) = row.answer {
        out.push(b'"');
        lc.write(out, a);
        out.push(b'"');
    }
    out.push(b',');
    out.push(b'"');
    lc.write(out, row.end);
    out.push(b'"');
    let duration = (row.end - row.start).max(0);
    let billsec = row.answer.map(|a| (row.end - a).max(0)).unwrap_or(0);
    if corruption == Corruption::BadBillsec {
        let _ = write!(out, ",{duration},abc,");
    } else {
        let _ = write!(out, ",{duration},{billsec},");
    }
    for f in [
        row.disposition,
        row.amaflags,
        row.uniqueid,
        row.userfield,
        "",
        row.linkedid,
    ] {
        quoted(out, f.as_bytes());
        out.push(b',');
    }
    let _ = write!(out, "{}", row.sequence);
    match corruption {
        Corruption::MissingColumns => {
            // The last three fields (peeraccount, linkedid, sequence) contain no comma.
            let mut cut = out.len();
            for _ in 0..3 {
                if let Some(p) = out[begin..cut].iter().rposition(|&b| b == b',') {
                    cut = begin + p;
                }
            }
            out.truncate(cut);
        }
        Corruption::ExtraColumn => out.extend_from_slice(b",\"extra\""),
        _ => {}
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::LocalClock;

    #[test]
    fn encodes_contract_layout() {
        let mut lc = LocalClock::new(chrono_tz::Europe::Madrid);
        let row = CdrRow {
            accountcode: "",
            src: "612345678",
            dst: "900123456",
            dcontext: "from-trunk",
            clid_name: b"Jos\xe9 \"Pepe\"",
            clid_num: "612345678",
            channel: "PJSIP/trunk-movistar-0000001c",
            dstchannel: "PJSIP/201-0000002a",
            lastapp: "Queue",
            lastdata: "ventas,t,,,120",
            start: 1_795_684_502,
            answer: None,
            end: 1_795_684_512,
            disposition: "NO ANSWER",
            amaflags: "DOCUMENTATION",
            uniqueid: "1795684502.17",
            userfield: "",
            linkedid: "1795684502.17",
            sequence: 3,
        };
        let mut out = Vec::new();
        encode(&row, &mut lc, &mut out, Corruption::None);
        let expected: &[u8] = b"\"\",\"612345678\",\"900123456\",\"from-trunk\",\"\"\"Jos\xe9 \"\"Pepe\"\"\"\" <612345678>\",\"PJSIP/trunk-movistar-0000001c\",\"PJSIP/201-0000002a\",\"Queue\",\"ventas,t,,,120\",\"2026-11-26 10:15:02\",,\"2026-11-26 10:15:12\",10,0,\"NO ANSWER\",\"DOCUMENTATION\",\"1795684502.17\",\"\",\"\",\"1795684502.17\",3\n";
        assert_eq!(out, expected);
    }
}
