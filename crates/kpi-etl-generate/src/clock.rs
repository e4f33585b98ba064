//! Local time. Asterisk writes wall-clock times of the PBX zone without offset (hazard: on the
//! autumn DST day the hour 02:00-03:00 happens twice and only the `uniqueid` epoch tells them
//! apart; on the spring day an hour is missing). Every partition is a local calendar day.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use rand::Rng;
use std::io::Write;

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Relative call/message volume per local hour of the day (a contact-centre profile with a
/// trickle of night traffic, so the repeated DST hour and midnight both see activity).
pub const HOUR_WEIGHT: [f64; 24] = [
    0.4, 0.25, 0.2, 0.15, 0.15, 0.2, 0.5, 1.5, 5.0, 9.0, 10.0, 10.0, 9.0, 7.0, 7.0, 8.5, 9.0, 8.5,
    7.0, 5.0, 3.0, 2.0, 1.2, 0.8,
];

/// UTC offset (seconds) of `tz` at the instant `epoch`.
pub fn offset_at(tz: Tz, epoch: i64) -> i64 {
    let utc = DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .naive_utc();
    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() as i64
}

/// Local calendar date in `tz` of the instant `epoch`.
pub fn local_date(tz: Tz, epoch: i64) -> NaiveDate {
    let local = epoch + offset_at(tz, epoch);
    days_to_date(local.div_euclid(86_400))
}

/// Date of a day number counted from 1970-01-01.
fn days_to_date(days: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((days + UNIX_EPOCH_DAYS_FROM_CE) as i32)
        .unwrap_or_default()
}

/// The UTC instant at which the local day `date` begins (the earlier instant if midnight is
/// ambiguous, the first existing instant if midnight is skipped).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> i64 {
    local_instant(tz, date, 0)
}

/// The UTC instant of local `date` + `secs` seconds of wall clock, earliest offset when
/// ambiguous, shifted forward by an hour when the wall-clock time does not exist.
pub fn local_instant(tz: Tz, date: NaiveDate, secs: i64) -> i64 {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default() + chrono::Duration::seconds(secs);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(a, _) => a.timestamp(),
        LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or_else(|| naive.and_utc().timestamp()),
    }
}

/// One stretch of a local day during which the offset is constant, at most an hour long.
#[derive(Debug, Clone, Copy)]
pub struct Chunk {
    /// UTC epoch of the chunk start.
    pub start: i64,
    /// Length in seconds.
    pub len: i64,
    /// Local wall-clock hour of the chunk.
    pub local_hour: u32,
    /// The local hour occurs twice this day (DST fall-back).
    pub repeated: bool,
}

/// The UTC extent of one local day and a sampler of event instants following [`HOUR_WEIGHT`].
#[derive(Debug, Clone)]
pub struct DayClock {
    /// Business timezone.
    pub tz: Tz,
    /// The local date.
    pub date: NaiveDate,
    /// UTC epoch of local midnight.
    pub start: i64,
    /// UTC epoch of the next local midnight (exclusive end).
    pub end: i64,
    /// The day cut into hour chunks (23, 24 or 25 of them).
    pub chunks: Vec<Chunk>,
    cumulative: Vec<f64>,
}

impl DayClock {
    /// The clock of local `date` in `tz`.
    pub fn new(tz: Tz, date: NaiveDate) -> DayClock {
        let start = local_midnight(tz, date);
        let next = date.succ_opt().unwrap_or(date);
        let end = local_midnight(tz, next).max(start + 3600);
        let mut chunks = Vec::with_capacity(25);
        let mut t = start;
        while t < end {
            let off = offset_at(tz, t);
            // Cut at the next local hour boundary (handles half-hour offsets too).
            let into_hour = (t + off).rem_euclid(3600);
            let len = (3600 - into_hour).min(end - t);
            let local_hour = ((t + off).rem_euclid(86_400) / 3600) as u32;
            chunks.push(Chunk {
                start: t,
                len,
                local_hour,
                repeated: false,
            });
            t += len;
        }
        let hours: Vec<u32> = chunks.iter().map(|c| c.local_hour).collect();
        for c in chunks.iter_mut() {
            c.repeated = hours.iter().filter(|&&h| h == c.local_hour).count() > 1;
        }
        let mut acc = 0.0;
        let cumulative = chunks
            .iter()
            .map(|c| {
                acc += HOUR_WEIGHT[c.local_hour as usize % 24] * c.len as f64 / 3600.0;
                acc
            })
            .collect();
        DayClock {
            tz,
            date,
            start,
            end,
            chunks,
            cumulative,
        }
    }

    /// A random instant of the day following the hourly profile.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> i64 {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let u = rng.random::<f64>() * total;
        let i = self
            .cumulative
            .partition_point(|&c| c <= u)
            .min(self.chunks.len() - 1);
        let c = self.chunks[i];
        c.start + rng.random_range(0..c.len.max(1))
    }

    /// The UTC instant of local wall-clock `secs` after midnight of this day.
    pub fn at_local(&self, secs: i64) -> i64 {
        local_instant(self.tz, self.date, secs)
    }

    /// True when `epoch` falls in this local day.
    pub fn contains(&self, epoch: i64) -> bool {
        epoch >= self.start && epoch < self.end
    }

    /// Landing date of an event at `epoch` that happens today or later.
    pub fn landing(&self, epoch: i64) -> NaiveDate {
        if epoch < self.end {
            self.date
        } else {
            local_date(self.tz, epoch)
        }
    }
}

/// Formats UTC epochs as local `YYYY-MM-DD HH:MM:SS`, caching the zone offset per quarter hour
/// (every real DST transition falls on a quarter-hour boundary), so formatting millions of CDR
/// times costs no time-zone lookups.
#[derive(Debug, Clone)]
pub struct LocalClock {
    tz: Tz,
    bucket: i64,
    offset: i64,
}

impl LocalClock {
    /// A formatter for `tz`.
    pub fn new(tz: Tz) -> LocalClock {
        LocalClock {
            tz,
            bucket: i64::MIN,
            offset: 0,
        }
    }

    /// Offset in seconds at `epoch`.
    pub fn offset(&mut self, epoch: i64) -> i64 {
        let b = epoch.div_euclid(900);
        if b != self.bucket {
            self.bucket = b;
            self.offset = offset_at(self.tz, epoch);
        }
        self.offset
    }

    /// Appends the local wall-clock time of `epoch` to `out`.
    pub fn write(&mut self, out: &mut Vec<u8>, epoch: i64) {
        let local = epoch + self.offset(epoch);
        let d = days_to_date(local.div_euclid(86_400));
        let s = local.rem_euclid(86_400);
        let _ = write!(
            out,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            d.year(),
            d.month(),
            d.day(),
            s / 3600,
            (s / 60) % 60,
            s % 60
        );
    }
}

/// UTC `YYYY-MM-DDTHH:MM:SS` of an epoch (Salesforce datetimes add `.000Z` or `.000+0000`).
pub fn utc_iso(epoch: i64) -> String {
    let t = DateTime::from_timestamp(epoch, 0).unwrap_or_default();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_back_day_has_a_repeated_hour() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let c = DayClock::new(chrono_tz::Europe::Madrid, d);
        assert_eq!(c.end - c.start, 25 * 3600);
        assert_eq!(c.chunks.iter().filter(|c| c.repeated).count(), 2);
        let mut lc = LocalClock::new(chrono_tz::Europe::Madrid);
        let rep: Vec<_> = c.chunks.iter().filter(|c| c.repeated).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        lc.write(&mut a, rep[0].start + 60);
        lc.write(&mut b, rep[1].start + 60);
        assert_eq!(a, b"2026-10-25 02:01:00");
        assert_eq!(a, b);
    }
}
