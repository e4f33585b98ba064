//! Salesforce record Ids. Ids are 15 case-sensitive characters plus a 3-character case
//! checksum; exports mix both forms (hazard: the same record appears as `001Ec00000FzlUd` in one
//! file and `001Ec00000FzlUdIAJ` in another, and must be compared in the 18-character form).

/// Base-62 alphabet used for the generated record number part of an Id.
const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 62^6, the size of the 6-character record number space.
const SPACE: u64 = 56_800_235_584;

/// A Salesforce Id, stored as its 15-character case-sensitive body.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SfId([u8; 15]);

impl SfId {
    /// Parses a 15- or 18-character Id (the checksum of an 18-character one is not verified).
    pub fn parse(s: &str) -> Option<SfId> {
        let b = s.as_bytes();
        if (b.len() != 15 && b.len() != 18) || !b.iter().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let mut body = [0u8; 15];
        body.copy_from_slice(&b[..15]);
        Some(SfId(body))
    }

    /// The 15-character form.
    pub fn id15(&self) -> String {
        self.0.iter().map(|&c| c as char).collect()
    }

    /// The 18-character form: the body plus Salesforce's case checksum. Computed here on its
    /// own, not by the pipeline's reader, so that the generator is an independent oracle: each
    /// 5-character chunk gives one character of `A..Z0..5`, bit `i` set when character `i` of
    /// the chunk is an upper-case letter.
    pub fn id18(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
        let mut out = self.id15();
        for chunk in self.0.chunks(5) {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |n, (i, _)| n | (1 << i));
            out.push(ALPHABET[bits] as char);
        }
        out
    }

    /// A stable numeric key of the Id, for deterministic per-record decisions.
    pub fn key(&self) -> u64 {
        self.0.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
            (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
        })
    }
}

/// Sequential Id generator for one object type: `<key prefix><pod>0000<6 base-62 chars>`. The
/// record number walks a scrambled but bijective sequence so Ids mix upper and lower case
/// (making the checksum matter) and never repeat.
#[derive(Debug, Clone)]
pub struct IdGen {
    prefix: [u8; 3],
    pod: [u8; 2],
    offset: u64,
    n: u64,
}

impl IdGen {
    /// A generator for the 3-character key prefix (`005` User, `001` Account, `00Q` Lead,
    /// `006` Opportunity, `801` Order, `0J9` ForecastingQuota, `00G` queue), offset by `seed`.
    pub fn new(prefix: &str, seed: u64) -> IdGen {
        let p = prefix.as_bytes();
        IdGen {
            prefix: [p[0], p[1], p[2]],
            pod: *b"Ec",
            offset: seed % SPACE,
            n: 0,
        }
    }

    /// The next unused Id.
    pub fn next_id(&mut self) -> SfId {
        // 1_000_003 is coprime with 62^6 = 2^6 * 31^6, so the walk is a bijection.
        let mut v = (self.offset + self.n.wrapping_mul(1_000_003)) % SPACE;
        self.n += 1;
        let mut body = [b'0'; 15];
        body[..3].copy_from_slice(&self.prefix);
        body[3..5].copy_from_slice(&self.pod);
        for i in (9..15).rev() {
            body[i] = B62[(v % 62) as usize];
            v /= 62;
        }
        SfId(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_salesforce() {
        // Ids whose 18-character forms were read off real Salesforce exports.
        let id = SfId::parse("001Ec00000FzlUd").unwrap();
        assert_eq!(id.id18(), "001Ec00000FzlUdIAJ");
        for full in ["005Ec000004o8yHIAQ", "00QEc00000BBaeXMAT"] {
            assert_eq!(SfId::parse(&full[..15]).unwrap().id18(), full);
        }
    }

    #[test]
    fn generator_is_unique_and_consistent() {
        let mut g = IdGen::new("006", 42);
        let a = g.next_id();
        let b = g.next_id();
        assert_ne!(a, b);
        assert_eq!(a.id15().len(), 15);
        assert_eq!(SfId::parse(&a.id18()).unwrap(), a);
    }
}
