//! `kpi-etl generate`: a deterministic simulator of a Spanish contact centre that writes a raw
//! landing zone in exactly the layout of `raw-contract.md`.
//!
//! The simulated company ([`world`]) has agents with PBX extensions, four queues, business DIDs of
//! every Spanish number type and a customer population. Every landing date is produced by three
//! generators run in order:
//!
//! 1. [`pbx`] simulates the day's calls and writes Asterisk `cdr_csv` rows ([`cdr`]) and
//!    `queue_log` lines ([`queue_log`]);
//! 2. [`whatsapp`] simulates WhatsApp Cloud API conversations and writes webhook envelopes;
//! 3. [`crm`] turns first contacts into Salesforce Leads and plays their lifecycle (conversion,
//!    Account, Opportunity, Order, later edits and deletions), written by [`crm_csv`].
//!
//! Every file is deliberately dirty in the ways real exports are: the hazards are documented where
//! they are created and the malformed ones live in [`hazards`]. Output is byte-identical for the
//! same options and seed: every random stream is a ChaCha8 generator derived from
//! (seed, day, purpose) ([`rng`]), nothing depends on hash-map order or on the wall clock.
//! Memory is bounded per day: rows stream into object-store writers in chunks ([`sink`]) and only
//! the rows that land on a later day ([`state`]) are carried over.

pub mod cdr;
pub mod clock;
pub mod crm;
pub mod crm_csv;
pub mod crm_records;
pub mod error;
pub mod hazards;
pub mod pbx;
pub mod phone;
pub mod queue_log;
pub mod rng;
pub mod sfid;
pub mod sink;
pub mod state;
pub mod whatsapp;
pub mod world;

use std::sync::Arc;

pub use error::{Error, Result};

use object_store::ObjectStore;
use object_store::path::Path;

/// Options of `kpi-etl generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// First landing date.
    pub from: chrono::NaiveDate,
    /// Last landing date (inclusive).
    pub to: chrono::NaiveDate,
    /// Calls simulated per day (default 2000 in the CLI); WhatsApp conversations are a fifth of it
    /// and the customer population twice it.
    pub calls_per_day: u64,
    /// Seed of every random stream: same seed and options give byte-identical files.
    pub seed: u64,
    /// Business timezone, Europe/Madrid by default: CDR wall-clock times and every partition day
    /// are local days of this zone.
    pub timezone: chrono_tz::Tz,
}

/// What every generator of one day reads: where to write, the simulated company, the day.
#[derive(Clone, Copy)]
pub struct Day<'a> {
    /// The store written to.
    pub store: &'a Arc<dyn ObjectStore>,
    /// The landing zone's prefix in it.
    pub root: &'a Path,
    /// The simulated company.
    pub world: &'a world::World,
    /// The day's local clock.
    pub clock: &'a clock::DayClock,
    /// Days since `from` (seeds the day's random streams).
    pub index: i64,
    /// The options.
    pub opts: &'a GenerateOptions,
}

/// What was written, for the summary line.
#[derive(Debug, Clone, Default)]
pub struct GenerateSummary {
    /// Files written (including empty header-only CRM extracts).
    pub files: u64,
    /// Bytes written to the store (compressed size for `.gz` files).
    pub bytes: u64,
    /// Well-formed CDR rows written, duplicates included.
    pub cdr_rows: u64,
    /// Well-formed queue_log lines written, duplicates included.
    pub queue_log_rows: u64,
    /// Well-formed WhatsApp webhook envelopes written, duplicates included.
    pub whatsapp_envelopes: u64,
    /// Salesforce data rows written over all objects (every version of every record).
    pub crm_rows: u64,
    /// Deliberately malformed rows/lines written (CDR, queue_log, WhatsApp); a loader should
    /// reject exactly these.
    pub malformed_rows: u64,
}

impl GenerateSummary {
    /// Accounts for one finished file of `bytes` bytes.
    pub(crate) fn add_file(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }
}

/// Writes a raw landing zone under `root` (a prefix inside `store`) in exactly the layout of
/// raw-contract.md: `<root>/pbx/cdr/dt=YYYY-MM-DD/...`, `<root>/pbx/queue_log/dt=.../...`,
/// `<root>/pbx/whatsapp/dt=.../...`, `<root>/crm/<Object>/dt=.../...`.
///
/// Days are generated one after the other; rows that belong to a later landing date (calls
/// crossing midnight, late webhooks, CRM edits weeks later) are carried in memory until that
/// date and discarded if it lies after `opts.to` (they have "not landed yet").
pub async fn generate(
    store: Arc<dyn ObjectStore>,
    root: &Path,
    opts: &GenerateOptions,
) -> crate::Result<GenerateSummary> {
    if opts.from > opts.to {
        return Err(Error::Options(format!(
            "--from {} is after --to {}",
            opts.from, opts.to
        )));
    }
    let world = world::World::new(opts);
    let mut summary = GenerateSummary::default();
    let mut carry = state::Carry::new(world.customers.len());
    let mut crm = crm::Crm::new(&world, opts);
    crm.seed_initial(&world);

    let mut day = opts.from;
    let mut day_index: i64 = 0;
    loop {
        let clock = clock::DayClock::new(opts.timezone, day);
        let mut seeds = Vec::new();
        let today = Day {
            store: &store,
            root,
            world: &world,
            clock: &clock,
            index: day_index,
            opts,
        };
        pbx::write_day(&today, &mut carry, &mut seeds, &mut summary)
            .await
            .map_err(|e| Error::Day {
                day,
                what: "PBX",
                source: Box::new(e),
            })?;
        whatsapp::write_day(&today, &mut carry, &mut seeds, &mut summary)
            .await
            .map_err(|e| Error::Day {
                day,
                what: "WhatsApp",
                source: Box::new(e),
            })?;
        crm.absorb(&world, &clock, &seeds, &mut carry);
        crm.write_day(&store, root, &clock, day_index, &mut summary)
            .await
            .map_err(|e| Error::Day {
                day,
                what: "CRM",
                source: Box::new(e),
            })?;
        tracing::debug!(%day, files = summary.files, bytes = summary.bytes, "generated day");
        if day >= opts.to {
            break;
        }
        day = day
            .succ_opt()
            .ok_or_else(|| Error::Options(format!("no date after {day}")))?;
        day_index += 1;
    }
    tracing::info!(
        files = summary.files,
        bytes = summary.bytes,
        cdr_rows = summary.cdr_rows,
        queue_log_rows = summary.queue_log_rows,
        whatsapp_envelopes = summary.whatsapp_envelopes,
        crm_rows = summary.crm_rows,
        malformed_rows = summary.malformed_rows,
        "raw landing zone generated"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    fn opts(seed: u64) -> GenerateOptions {
        GenerateOptions {
            from: chrono::NaiveDate::from_ymd_opt(2026, 10, 24).unwrap(),
            to: chrono::NaiveDate::from_ymd_opt(2026, 10, 26).unwrap(),
            calls_per_day: 200,
            seed,
            timezone: chrono_tz::Europe::Madrid,
        }
    }

    async fn snapshot(seed: u64) -> (GenerateSummary, Vec<(String, Vec<u8>)>) {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let root = Path::from("raw");
        let s = generate(store.clone(), &root, &opts(seed)).await.unwrap();
        let mut metas: Vec<_> = store.list(Some(&root)).try_collect().await.unwrap();
        metas.sort_by(|a, b| a.location.cmp(&b.location));
        let mut out = Vec::new();
        for m in metas {
            let bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
            out.push((m.location.to_string(), bytes.to_vec()));
        }
        (s, out)
    }

    #[tokio::test]
    async fn same_seed_same_bytes() {
        let (s1, a) = snapshot(7).await;
        let (_, b) = snapshot(7).await;
        assert!(s1.cdr_rows > 0 && s1.crm_rows > 0 && s1.whatsapp_envelopes > 0);
        assert_eq!(a.len(), b.len());
        assert!(a == b, "same seed must give identical files");
        let (_, c) = snapshot(8).await;
        assert!(a != c, "another seed must give other files");
        assert!(
            a.iter()
                .any(|(p, _)| p.ends_with("dt=2026-10-25/Master.csv"))
        );
    }

    #[tokio::test]
    async fn from_after_to_is_refused() {
        let mut o = opts(1);
        std::mem::swap(&mut o.from, &mut o.to);
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let e = generate(store, &Path::from("raw"), &o).await.unwrap_err();
        assert!(e.to_string().contains("is after"), "{e}");
    }
}
