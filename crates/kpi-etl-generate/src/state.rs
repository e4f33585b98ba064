//! State carried from one generated day to the next: who has already been in contact (so a
//! Lead is created only after a customer's first contact), rows that land on a later date
//! (hazard: a call crossing midnight is written to the next day's CDR file, a webhook is
//! re-delivered the next day, a status arrives hours late) and contacts scheduled for later
//! days (outbound follow-up calls, customers writing again on WhatsApp).

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// One bit per customer.
#[derive(Debug, Clone)]
pub struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    /// `n` cleared bits.
    pub fn new(n: u64) -> Bitset {
        Bitset {
            words: vec![0; (n as usize).div_ceil(64)],
        }
    }

    /// Sets bit `i`; returns whether it was already set.
    pub fn test_and_set(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        match self.words.get_mut(w) {
            Some(word) => {
                let was = *word & (1 << b) != 0;
                *word |= 1 << b;
                was
            }
            None => true,
        }
    }
}

/// Bytes (complete rows or lines) waiting for a later landing date, with their row count.
#[derive(Debug, Default)]
pub struct SpillBuf {
    /// Encoded rows, newline-terminated.
    pub bytes: Vec<u8>,
    /// Number of well-formed rows in `bytes`.
    pub rows: u64,
}

/// Rows per future landing date for one source.
#[derive(Debug, Default)]
pub struct Spill {
    map: BTreeMap<NaiveDate, SpillBuf>,
}

impl Spill {
    /// Queues `bytes` (holding `rows` rows) for landing date `date`.
    pub fn push(&mut self, date: NaiveDate, bytes: &[u8], rows: u64) {
        let e = self.map.entry(date).or_default();
        e.bytes.extend_from_slice(bytes);
        e.rows += rows;
    }

    /// Moves every entry of `other` into `self`, after what is already queued.
    pub fn merge(&mut self, other: Spill) {
        for (date, buf) in other.map {
            self.push(date, &buf.bytes, buf.rows);
        }
    }

    /// Removes and returns what waits for `date` (and anything older, which cannot happen
    /// but must not be lost).
    pub fn take_until(&mut self, date: NaiveDate) -> SpillBuf {
        let mut out = SpillBuf::default();
        while let Some(entry) = self.map.first_entry() {
            if *entry.key() > date {
                break;
            }
            let b = entry.remove();
            out.bytes.extend_from_slice(&b.bytes);
            out.rows += b.rows;
        }
        out
    }
}

/// An outbound follow-up call planned by the CRM: (UTC start, customer index, agent index).
pub type Followup = (i64, u64, usize);

/// Everything that outlives one day.
#[derive(Debug)]
pub struct Carry {
    /// Customers already seen on any channel.
    pub seen: Bitset,
    /// Late CDR rows per landing date.
    pub cdr: Spill,
    /// Late queue_log lines per landing date.
    pub queue_log: Spill,
    /// Late or re-delivered webhook envelopes per landing date.
    pub whatsapp: Spill,
    /// Outbound follow-up calls per local date.
    pub outbound: BTreeMap<NaiveDate, Vec<Followup>>,
    /// Customers writing again on WhatsApp: (UTC instant, customer index) per local date.
    pub wa_returns: BTreeMap<NaiveDate, Vec<(i64, u64)>>,
}

impl Carry {
    /// Fresh state for a population of `customers`.
    pub fn new(customers: u64) -> Carry {
        Carry {
            seen: Bitset::new(customers),
            cdr: Spill::default(),
            queue_log: Spill::default(),
            whatsapp: Spill::default(),
            outbound: BTreeMap::new(),
            wa_returns: BTreeMap::new(),
        }
    }
}
