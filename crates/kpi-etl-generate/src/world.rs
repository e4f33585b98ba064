//! The simulated company: CRM users (agents with PBX extensions, a manager and a back-office
//! user without extension), queues, business DIDs and the customer population.
//!
//! Hazards created here: one agent's extension changes mid-period (extension -> user mapping
//! is time-dependent), one agent leaves (deactivated, removed from queues), extension 230 rings
//! in `soporte` but belongs to no CRM user (agent `ext:230`), DIDs cover every Spanish number
//! type (geographic, mobile, toll-free, shared cost, premium), customer names carry accents.

use chrono::NaiveDate;
use chrono_tz::Tz;
use rand::Rng;

use super::GenerateOptions;
use super::clock;
use super::phone;
use super::rng::{self, SimRng, hash2};
use super::sfid::{IdGen, SfId};

/// A CRM user; agents have a PBX extension.
#[derive(Debug, Clone)]
pub struct Agent {
    /// 18-character-capable User Id (`005...`).
    pub id: SfId,
    /// First name.
    pub first: &'static str,
    /// Last name.
    pub last: &'static str,
    /// Department.
    pub dept: &'static str,
    /// Job title.
    pub title: &'static str,
    /// Extension at the start of the period (None: not a phone user).
    pub ext: Option<u32>,
    /// (UTC instant, new extension): the extension changes then.
    pub ext_change: Option<(i64, u32)>,
    /// UTC instant at which the user is deactivated and leaves the queues.
    pub left_at: Option<i64>,
    /// Index of the manager in `World::agents`.
    pub manager: Option<usize>,
}

impl Agent {
    /// The extension in use at `t`, None when the user has none or has left.
    pub fn ext_at(&self, t: i64) -> Option<u32> {
        if self.left_at.is_some_and(|l| t >= l) {
            return None;
        }
        match self.ext_change {
            Some((c, e)) if t >= c => Some(e),
            _ => self.ext,
        }
    }

    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

/// A queue member: a CRM agent or a bare extension unknown to the CRM.
#[derive(Debug, Clone, Copy)]
pub enum Member {
    /// Index into `World::agents`.
    Agent(usize),
    /// An extension with no CRM user.
    Ext(u32),
}

/// An Asterisk queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Queue name (`ventas`, `soporte`, `retencion`, `whatsapp`).
    pub name: &'static str,
    /// Static members.
    pub members: Vec<Member>,
    /// Queue timeout in seconds (also the last argument of `lastdata`).
    pub timeout: i64,
}

/// A business number customers dial.
#[derive(Debug, Clone, Copy)]
pub struct Did {
    /// National significant number.
    pub national: &'static str,
    /// Voice queue the DID routes to.
    pub queue: usize,
    /// Relative traffic.
    pub weight: u32,
}

/// Voice queue indices (WhatsApp is the last queue).
pub const VOICE_QUEUES: usize = 3;
/// Index of the `whatsapp` queue.
pub const WA_QUEUE: usize = 3;

const AGENTS: [(&str, &str); 20] = [
    ("Lucía", "García"),
    ("Hugo", "Fernández"),
    ("Martina", "González"),
    ("Mateo", "Rodríguez"),
    ("Sofía", "López"),
    ("Leo", "Martínez"),
    ("Julia", "Sánchez"),
    ("Daniel", "Pérez"),
    ("Paula", "Gómez"),
    ("Pablo", "Martín"),
    ("Valeria", "Jiménez"),
    ("Álvaro", "Ruiz"),
    ("Emma", "Hernández"),
    ("Manuel", "Díaz"),
    ("Carmen", "Moreno"),
    ("Adrián", "Muñoz"),
    ("Noa", "Álvarez"),
    ("Javier", "Romero"),
    ("Irene", "Navarro"),
    ("Sergio", "Ibáñez"),
];

/// Customer first names (some with accents, which become Latin-1 bytes in some CDR `clid`s).
pub const FIRST: [&str; 24] = [
    "José",
    "María",
    "Antonio",
    "Carmen",
    "Juan",
    "Ana",
    "Francisco",
    "Isabel",
    "Jesús",
    "Laura",
    "Ramón",
    "Cristina",
    "Andrés",
    "Marta",
    "Raúl",
    "Pilar",
    "Íñigo",
    "Nerea",
    "Óscar",
    "Rocío",
    "Pedro",
    "Elena",
    "Luis",
    "Begoña",
];

/// Customer last names.
pub const LAST: [&str; 24] = [
    "Muñoz", "García", "Peña", "Núñez", "López", "Sáez", "Castaño", "Ruiz", "Ortega", "Rubio",
    "Molina", "Delgado", "Castro", "Ortiz", "Marín", "Sanz", "Iglesias", "Nuñez", "Medina",
    "Garrido", "Cortés", "Lozano", "Guerrero", "Cano",
];

/// Business numbers a customer number must never equal.
const RESERVED: [u64; 4] = [911_234_567, 931_234_567, 612_000_111, 911_234_599];

/// The customer population: numbers and names are pure functions of the index, so millions
/// of customers cost no memory.
#[derive(Debug, Clone)]
pub struct Population {
    n: u64,
    salt: u64,
}

impl Population {
    /// Number of customers.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when the population is empty (never: at least 1000 customers).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// A customer index; low indices call far more often (repeat callers).
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let u: f64 = rng.random::<f64>();
        ((u * u * self.n as f64) as u64).min(self.n - 1)
    }

    /// A customer with a mobile number (WhatsApp users).
    pub fn pick_mobile<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let mut c = self.pick(rng);
        for _ in 0..8 {
            if self.is_mobile(c) {
                break;
            }
            c = (c + 1) % self.n;
        }
        c
    }

    /// True when customer `i` has a mobile number.
    pub fn is_mobile(&self, i: u64) -> bool {
        hash2(self.salt, i) % 100 < 75
    }

    /// National number of customer `i`: a bijective scramble of the index, so numbers are
    /// unique.
    pub fn national(&self, i: u64) -> u64 {
        let h = hash2(self.salt, i);
        let n = if h % 100 < 75 {
            600_000_000 + (i.wrapping_mul(2_654_435_761) + (self.salt % 100_000_000)) % 100_000_000
        } else {
            let prefix = [91u64, 93, 96, 95][((h >> 8) % 4) as usize];
            prefix * 10_000_000
                + (i.wrapping_mul(2_654_435_761) + (self.salt % 10_000_000)) % 10_000_000
        };
        if RESERVED.contains(&n) { n + 1 } else { n }
    }

    /// First name of customer `i`.
    pub fn first_name(&self, i: u64) -> &'static str {
        FIRST[(hash2(self.salt ^ 1, i) % FIRST.len() as u64) as usize]
    }

    /// Last name of customer `i`.
    pub fn last_name(&self, i: u64) -> &'static str {
        LAST[(hash2(self.salt ^ 2, i) % LAST.len() as u64) as usize]
    }

    /// "First Last" of customer `i`.
    pub fn full_name(&self, i: u64) -> String {
        format!("{} {}", self.first_name(i), self.last_name(i))
    }
}

/// Everything static about the simulated company.
#[derive(Debug, Clone)]
pub struct World {
    /// Business timezone.
    pub tz: Tz,
    /// Seed of the run.
    pub seed: u64,
    /// First landing date.
    pub from: NaiveDate,
    /// Last landing date.
    pub to: NaiveDate,
    /// Calls per day.
    pub calls_per_day: u64,
    /// CRM users: 20 agents (0..20), the manager (20), a back-office user without extension (21).
    pub agents: Vec<Agent>,
    /// A lead queue (`00G...`) that owns unassigned leads.
    pub lead_queue: SfId,
    /// Queues: ventas, soporte, retencion, whatsapp.
    pub queues: Vec<Queue>,
    /// Business DIDs.
    pub dids: Vec<Did>,
    /// Customers.
    pub customers: Population,
    /// WhatsApp business line, E.164 digits without `+`.
    pub wa_display: &'static str,
    /// WhatsApp phone number id.
    pub wa_phone_id: &'static str,
    /// WhatsApp business account id (envelope `entry[].id`).
    pub waba_id: &'static str,
}

/// Number of agents that take calls.
pub const N_AGENTS: usize = 20;

impl World {
    /// Builds the company for the options.
    pub fn new(opts: &GenerateOptions) -> World {
        let mut r: SimRng = rng::stream(opts.seed, -1, rng::WORLD);
        let tz = opts.timezone;
        let span = (opts.to - opts.from).num_days().max(0);
        let mid = opts.from + chrono::Duration::days(span / 2);
        let late = opts.from + chrono::Duration::days((span * 3) / 4);
        let change_at = clock::local_instant(tz, mid, 10 * 3600 + r.random_range(0..1800));
        let left_at = (span >= 3)
            .then(|| clock::local_instant(tz, late, 18 * 3600 + r.random_range(0..1800)));

        let mut ids = IdGen::new("005", r.random::<u64>());
        let mut agents: Vec<Agent> = AGENTS
            .iter()
            .enumerate()
            .map(|(i, &(first, last))| Agent {
                id: ids.next_id(),
                first,
                last,
                dept: match i {
                    0..8 => "Ventas",
                    8..16 => "Soporte",
                    _ => "Retención",
                },
                title: "Agente",
                ext: Some(201 + i as u32),
                ext_change: None,
                left_at: None,
                manager: Some(N_AGENTS),
            })
            .collect();
        // Hazard: agent 207 moves to extension 221 mid-period.
        agents[6].ext_change = Some((change_at, 221));
        // Hazard: agent 220 leaves the company late in the period.
        agents[19].left_at = left_at;
        agents.push(Agent {
            id: ids.next_id(),
            first: "Beatriz",
            last: "Herrera",
            dept: "Dirección",
            title: "Jefa de plataforma",
            ext: None,
            ext_change: None,
            left_at: None,
            manager: None,
        });
        agents.push(Agent {
            id: ids.next_id(),
            first: "Integración",
            last: "Sistemas",
            dept: "IT",
            title: "Usuario de integración",
            ext: None,
            ext_change: None,
            left_at: None,
            manager: Some(N_AGENTS),
        });
        let lead_queue = IdGen::new("00G", r.random::<u64>()).next_id();

        let ag = |range: std::ops::Range<usize>| range.map(Member::Agent).collect::<Vec<_>>();
        let mut soporte = ag(8..16);
        soporte.push(Member::Ext(230));
        let mut retencion = ag(16..20);
        retencion.extend([Member::Agent(0), Member::Agent(1)]);
        let queues = vec![
            Queue {
                name: "ventas",
                members: ag(0..8),
                timeout: 120,
            },
            Queue {
                name: "soporte",
                members: soporte,
                timeout: 120,
            },
            Queue {
                name: "retencion",
                members: retencion,
                timeout: 90,
            },
            Queue {
                name: "whatsapp",
                members: [2, 3, 4, 9, 10, 6].into_iter().map(Member::Agent).collect(),
                timeout: 300,
            },
        ];
        let dids = vec![
            Did {
                national: "911234567",
                queue: 0,
                weight: 20,
            },
            Did {
                national: "931234567",
                queue: 1,
                weight: 12,
            },
            Did {
                national: "612000111",
                queue: 0,
                weight: 5,
            },
            Did {
                national: "900123456",
                queue: 0,
                weight: 25,
            },
            Did {
                national: "800123456",
                queue: 1,
                weight: 8,
            },
            Did {
                national: "901123456",
                queue: 1,
                weight: 8,
            },
            Did {
                national: "902123456",
                queue: 2,
                weight: 10,
            },
            Did {
                national: "806123456",
                queue: 2,
                weight: 3,
            },
            Did {
                national: "807123456",
                queue: 1,
                weight: 3,
            },
        ];
        World {
            tz,
            seed: opts.seed,
            from: opts.from,
            to: opts.to,
            calls_per_day: opts.calls_per_day,
            agents,
            lead_queue,
            queues,
            dids,
            customers: Population {
                n: (opts.calls_per_day.saturating_mul(2)).max(1000),
                salt: r.random::<u64>(),
            },
            wa_display: "34911234599",
            wa_phone_id: "318273645501928",
            waba_id: "102938475610293",
        }
    }

    /// A DID drawn by traffic weight.
    pub fn pick_did<R: Rng + ?Sized>(&self, rng: &mut R) -> Did {
        let w: Vec<u32> = self.dids.iter().map(|d| d.weight).collect();
        self.dids[rng::weighted(rng, &w)]
    }

    /// Extension and agent of member `m` at `t`, None when it is not logged in.
    pub fn member_at(&self, m: Member, t: i64) -> Option<(u32, Option<usize>)> {
        match m {
            Member::Agent(a) => self.agents[a].ext_at(t).map(|e| (e, Some(a))),
            Member::Ext(e) => Some((e, None)),
        }
    }

    /// Up to `k` distinct members of queue `q` available at `t`, in random order.
    pub fn available<R: Rng + ?Sized>(
        &self,
        q: usize,
        t: i64,
        k: usize,
        rng: &mut R,
    ) -> Vec<(u32, Option<usize>)> {
        let mut all: Vec<(u32, Option<usize>)> = self.queues[q]
            .members
            .iter()
            .filter_map(|&m| self.member_at(m, t))
            .collect();
        let k = k.min(all.len());
        for i in 0..k {
            let j = rng.random_range(i..all.len());
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }

    /// A random agent (0..20) that has an extension at `t`, with that extension.
    pub fn pick_agent<R: Rng + ?Sized>(&self, rng: &mut R, t: i64) -> Option<(usize, u32)> {
        for _ in 0..16 {
            let a = rng.random_range(0..N_AGENTS);
            if let Some(e) = self.agents[a].ext_at(t) {
                return Some((a, e));
            }
        }
        None
    }

    /// National number of customer `i` as text.
    pub fn customer_number(&self, i: u64) -> String {
        phone::national(self.customers.national(i))
    }
}
