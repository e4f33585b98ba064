//! One day of WhatsApp Business Cloud API webhooks, `pbx/whatsapp/dt=D/webhooks.jsonl[.gz]`,
//! one envelope per line exactly as Meta posts it (inbound `messages[]`, outbound `statuses[]`).
//!
//! Hazards created here: conversations are not labelled (they must be derived from 24-hour
//! silences: customers write again a few hours later, the same conversation, or more than a day
//! later, a new one); `timestamp` is a string; agent and queue only in
//! `biz_opaque_callback_data` (absent for automated template sends); business-initiated
//! templates never answered; failed sends with `errors`; sent/delivered/read statuses, sometimes
//! delivered and read batched in one envelope; read receipts the next morning and webhooks
//! re-delivered hours late (landing in a later partition); the same envelope delivered twice
//! in one file or again in the next day's file; image and audio messages; a truncated JSON line.

use chrono::NaiveDate;
use rand::Rng;
use serde_json::{Value, json};

use super::clock::{DayClock, local_date};
use super::crm::LeadSeed;
use super::hazards;
use super::phone;
use super::rng::{self, SimRng, exp_secs, hash2, pick};
use super::sink::{FileSink, join};
use super::state::{Bitset, Carry, Spill};
use super::world::{WA_QUEUE, World};
use super::{Day, GenerateSummary};

/// Customer texts (UTF-8 with accents, emoji and quotes).
const TEXTS: [&str; 8] = [
    "Hola, quería información sobre la fibra",
    "¿Podéis llamarme? Tengo un problema con la factura",
    "Buenos días 👋",
    "Quiero darme de baja",
    "El router no funciona desde ayer",
    "¿Cuánto cuesta añadir una línea móvil?",
    "Gracias!",
    "Vale, perfecto \"👍\"",
];

/// What starts a planned session.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The customer writes first.
    Customer,
    /// An automated template (marketing/utility) without agent.
    Template,
    /// An agent starts the conversation (template with callback data), no inbound.
    AgentPush,
}

/// Simulates WhatsApp traffic into envelope lines.
struct WaGen<'a> {
    world: &'a World,
    clock: &'a DayClock,
    rng: SimRng,
    day_index: i64,
    seq: u64,
    /// The last serialised envelope (newline-terminated).
    line: Vec<u8>,
    today: Vec<u8>,
    today_n: u64,
    late: Spill,
    returns: Vec<(NaiveDate, i64, u64)>,
    same_day: Vec<(i64, u64)>,
    seen: &'a mut Bitset,
    seeds: &'a mut Vec<LeadSeed>,
}

impl<'a> WaGen<'a> {
    /// A fresh `wamid.` message id, unique over the run.
    fn new_wamid(&mut self) -> String {
        self.seq += 1;
        let h = hash2(self.world.seed, ((self.day_index as u64) << 32) | self.seq) as u32;
        format!(
            "wamid.HBgLMzQ{:04X}{:08X}{h:08X}FQIAERgS",
            self.day_index, self.seq
        )
    }

    /// A fresh 32-hex-digit conversation id.
    fn new_conv_id(&mut self) -> String {
        self.seq += 1;
        let k = ((self.day_index as u64) << 32) | self.seq;
        format!(
            "{:016x}{:016x}",
            hash2(self.world.seed ^ 7, k),
            hash2(self.world.seed ^ 9, k)
        )
    }

    /// Wraps a `value` object in the webhook envelope.
    fn envelope(&self, value: Value) -> Value {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": self.world.waba_id,
                "changes": [{"value": value, "field": "messages"}]
            }]
        })
    }

    /// Metadata of the business line.
    fn metadata(&self) -> Value {
        json!({"display_phone_number": self.world.wa_display, "phone_number_id": self.world.wa_phone_id})
    }

    /// Serialises `v` and routes it to the partition of its delivery time, with occasional
    /// late re-delivery and duplicates.
    fn emit(&mut self, at: i64, v: &Value) {
        self.line.clear();
        let _ = serde_json::to_writer(&mut self.line, v);
        self.line.push(b'\n');
        let delay = if self.rng.random_bool(0.02) {
            self.rng.random_range(3600..20 * 3600)
        } else {
            0
        };
        self.route(at + delay);
        if self.rng.random_bool(0.01) {
            let again = at + delay + self.rng.random_range(1..300);
            self.route(again);
        }
        if self.rng.random_bool(0.003) {
            let d = self.clock.landing(at + delay).max(self.clock.date);
            if let Some(next) = d.succ_opt() {
                self.late.push(next, &self.line, 1);
            }
        }
    }

    /// Appends the current line to the partition of instant `land`.
    fn route(&mut self, land: i64) {
        if land < self.clock.end {
            self.today.extend_from_slice(&self.line);
            self.today_n += 1;
        } else {
            self.late.push(self.clock.landing(land), &self.line, 1);
        }
    }

    /// An inbound customer message at `t`.
    fn inbound(&mut self, t: i64, wa: &str, name: &str) {
        let wamid = self.new_wamid();
        let (typ, content) = match self.rng.random_range(0..20u32) {
            0..2 => (
                "image",
                json!({"caption": "Foto de la factura", "mime_type": "image/jpeg",
                       "sha256": format!("{:016x}", hash2(self.seq, 1)), "id": format!("{}", 1_000_000_000 + self.seq)}),
            ),
            2 => (
                "audio",
                json!({"mime_type": "audio/ogg; codecs=opus", "sha256": format!("{:016x}", hash2(self.seq, 2)),
                       "id": format!("{}", 2_000_000_000 + self.seq), "voice": true}),
            ),
            _ => ("text", json!({"body": pick(&mut self.rng, &TEXTS)})),
        };
        let mut m = json!({"from": wa, "id": wamid, "timestamp": t.to_string(), "type": typ});
        m[typ] = content;
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": self.metadata(),
            "contacts": [{"profile": {"name": name}, "wa_id": wa}],
            "messages": [m]
        });
        let env = self.envelope(value);
        self.emit(t, &env);
    }

    /// One status object.
    fn status(
        wamid: &str,
        status: &str,
        ts: i64,
        wa: &str,
        conv: Option<(&str, &str)>,
        biz: Option<&str>,
    ) -> Value {
        let mut s =
            json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": wa});
        if let Some((cid, origin)) = conv {
            let mut c = json!({"id": cid, "origin": {"type": origin}});
            if status == "sent" {
                c["expiration_timestamp"] = json!((ts + 86_400).to_string());
            }
            s["conversation"] = c;
            s["pricing"] = json!({"billable": true, "pricing_model": "CBP", "category": origin});
        }
        if let Some(b) = biz {
            s["biz_opaque_callback_data"] = json!(b);
        }
        s
    }

    /// Emits an envelope carrying `statuses`, delivered at `at`.
    fn statuses(&mut self, at: i64, statuses: Vec<Value>) {
        let value = json!({"messaging_product": "whatsapp", "metadata": self.metadata(), "statuses": statuses});
        let env = self.envelope(value);
        self.emit(at, &env);
    }

    /// An outbound message sent at `t` and its status webhooks.
    fn outbound(
        &mut self,
        t: i64,
        wa: &str,
        conv: &str,
        origin: &str,
        biz: Option<&str>,
        failed: bool,
    ) {
        let wamid = self.new_wamid();
        if failed {
            let mut s = Self::status(&wamid, "failed", t + 1, wa, None, biz);
            s["errors"] = json!([{
                "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
            }]);
            self.statuses(t + 1, vec![s]);
            return;
        }
        let sent = Self::status(&wamid, "sent", t, wa, Some((conv, origin)), biz);
        self.statuses(t, vec![sent]);
        if !self.rng.random_bool(0.95) {
            return;
        }
        let dlv = t + self.rng.random_range(1..6);
        let delivered = Self::status(&wamid, "delivered", dlv, wa, Some((conv, origin)), biz);
        if !self.rng.random_bool(0.75) {
            self.statuses(dlv, vec![delivered]);
            return;
        }
        let rd = dlv + exp_secs(&mut self.rng, 600.0, 2, 40_000);
        let read = Self::status(&wamid, "read", rd, wa, Some((conv, origin)), biz);
        if rd - dlv < 10 && self.rng.random_bool(0.3) {
            self.statuses(rd, vec![delivered, read]);
        } else {
            self.statuses(dlv, vec![delivered]);
            self.statuses(rd, vec![read]);
        }
    }

    /// Records a customer contact; a first contact may become a Lead.
    fn contact(&mut self, cust: u64, at: i64, owner: Option<usize>) {
        if self.seen.test_and_set(cust) {
            return;
        }
        if self.rng.random_bool(0.15) {
            let at = at + self.rng.random_range(180..2400);
            self.seeds.push(LeadSeed {
                cust,
                at,
                owner,
                source: "WhatsApp",
            });
        }
    }

    /// The customer writes at `t0`; an agent usually answers, a few rounds follow.
    fn customer_session(&mut self, t0: i64, cust: u64) {
        let pop = &self.world.customers;
        let wa = phone::wa_id(pop.national(cust));
        let name = pop.full_name(cust);
        let conv = self.new_conv_id();
        self.inbound(t0, &wa, &name);
        let agent = if self.rng.random_bool(0.85) {
            self.world
                .available(WA_QUEUE, t0, 1, &mut self.rng)
                .first()
                .copied()
        } else {
            None
        };
        let mut last = t0;
        if let Some((ext, _)) = agent {
            let queue = if self.rng.random_bool(0.07) {
                "soporte"
            } else {
                "whatsapp"
            };
            let biz = format!("agent={ext};queue={queue}");
            let rounds = self.rng.random_range(1..=3u32);
            let mut reply = t0 + exp_secs(&mut self.rng, 150.0, 8, 4 * 3600);
            for round in 0..rounds {
                self.outbound(reply, &wa, &conv, "service", Some(&biz), false);
                last = reply;
                if round + 1 == rounds || !self.rng.random_bool(0.6) {
                    break;
                }
                let again = reply + self.rng.random_range(20..900);
                self.inbound(again, &wa, &name);
                last = again;
                reply = again + exp_secs(&mut self.rng, 60.0, 5, 1800);
            }
        }
        self.contact(cust, t0, agent.and_then(|a| a.1));
        if self.rng.random_bool(0.15) {
            // The customer writes again: within 24 h (same conversation) or after (a new one).
            let gap = if self.rng.random_bool(0.5) {
                self.rng.random_range(3600..20 * 3600)
            } else {
                self.rng.random_range(25 * 3600..60 * 3600)
            };
            let at = last + gap;
            let d = local_date(self.world.tz, at);
            if d == self.clock.date {
                self.same_day.push((at, cust));
            } else if d <= self.world.to {
                self.returns.push((d, at, cust));
            }
        }
    }

    /// An automated template; sometimes the customer answers hours later.
    fn template(&mut self, t: i64, cust: u64) {
        let wa = phone::wa_id(self.world.customers.national(cust));
        let conv = self.new_conv_id();
        let origin = if self.rng.random_bool(0.5) {
            "marketing"
        } else {
            "utility"
        };
        let failed = self.rng.random_bool(0.05);
        self.outbound(t, &wa, &conv, origin, None, failed);
        if !failed && self.rng.random_bool(0.2) {
            let at = t + self.rng.random_range(600..20_000);
            if self.clock.contains(at) {
                self.customer_session(at, cust);
            } else if local_date(self.world.tz, at) <= self.world.to {
                self.returns.push((local_date(self.world.tz, at), at, cust));
            }
        }
    }

    /// An agent writes first (no inbound message: not an offered contact).
    fn agent_push(&mut self, t: i64, cust: u64) {
        let Some((ext, _)) = self
            .world
            .available(WA_QUEUE, t, 1, &mut self.rng)
            .first()
            .copied()
        else {
            return;
        };
        let wa = phone::wa_id(self.world.customers.national(cust));
        let conv = self.new_conv_id();
        let biz = format!("agent={ext};queue=whatsapp");
        self.outbound(t, &wa, &conv, "utility", Some(&biz), false);
    }
}

/// Writes `pbx/whatsapp/dt=D/` for the day of `clock` and queues late envelopes in `carry`.
pub async fn write_day(
    day: &Day<'_>,
    carry: &mut Carry,
    seeds: &mut Vec<LeadSeed>,
    summary: &mut GenerateSummary,
) -> crate::Result<()> {
    let Day {
        store,
        root,
        world,
        clock,
        index: day_index,
        opts,
    } = *day;
    let mut hz = rng::stream(opts.seed, day_index, rng::HAZARDS ^ 0x20);
    let mut r = rng::stream(opts.seed, day_index, rng::WHATSAPP);
    let dt = format!("dt={}", clock.date.format("%Y-%m-%d"));
    let name = if hz.random_bool(0.3) {
        "webhooks.jsonl.gz"
    } else {
        "webhooks.jsonl"
    };
    let mut sink = FileSink::new(store, join(root, &["pbx", "whatsapp", &dt, name]));
    let late = carry.whatsapp.take_until(clock.date);
    sink.buf.extend_from_slice(&late.bytes);
    let mut envelopes = late.rows;
    let mut malformed = 0u64;

    let n = (opts.calls_per_day / 5) as usize;
    let mut plan: Vec<(i64, Kind, u64)> = Vec::with_capacity(n + 16);
    for _ in 0..n {
        let at = clock.sample(&mut r);
        let kind = match rng::weighted(&mut r, &[80, 12, 8]) {
            0 => Kind::Customer,
            1 => Kind::Template,
            _ => Kind::AgentPush,
        };
        plan.push((at, kind, world.customers.pick_mobile(&mut r)));
    }
    while let Some(e) = carry.wa_returns.first_entry() {
        if *e.key() > clock.date {
            break;
        }
        for (at, cust) in e.remove() {
            plan.push((at, Kind::Customer, cust));
        }
    }
    plan.sort_by_key(|p| p.0);
    let n_broken = if plan.is_empty() {
        0
    } else {
        1 + hz.random_range(0..2)
    };
    let broken = hazards::positions(&mut hz, plan.len(), n_broken);
    let mut bi = 0;

    let mut g = WaGen {
        world,
        clock,
        rng: r,
        day_index,
        seq: 0,
        line: Vec::with_capacity(2048),
        today: Vec::with_capacity(1 << 16),
        today_n: 0,
        late: Spill::default(),
        returns: Vec::new(),
        same_day: Vec::new(),
        seen: &mut carry.seen,
        seeds,
    };
    let mut i = 0usize;
    loop {
        let (at, kind, cust) = if i < plan.len() {
            plan[i]
        } else if let Some((at, cust)) = g.same_day.pop() {
            (at, Kind::Customer, cust)
        } else {
            break;
        };
        match kind {
            Kind::Customer => g.customer_session(at, cust),
            Kind::Template => g.template(at, cust),
            Kind::AgentPush => g.agent_push(at, cust),
        }
        sink.buf.extend_from_slice(&g.today);
        envelopes += g.today_n;
        g.today.clear();
        g.today_n = 0;
        while bi < broken.len() && broken[bi] <= i && !g.line.is_empty() {
            hazards::broken_json(&g.line, &mut sink.buf);
            malformed += 1;
            bi += 1;
        }
        if i % 64 == 63 {
            sink.flush_if_full().await?;
        }
        i += 1;
    }
    while bi < broken.len() && !g.line.is_empty() {
        hazards::broken_json(&g.line, &mut sink.buf);
        malformed += 1;
        bi += 1;
    }
    let late = std::mem::take(&mut g.late);
    let returns = std::mem::take(&mut g.returns);
    drop(g);
    carry.whatsapp.merge(late);
    for (d, at, cust) in returns {
        carry.wa_returns.entry(d).or_default().push((at, cust));
    }
    summary.add_file(sink.finish().await?);
    summary.whatsapp_envelopes += envelopes;
    summary.malformed_rows += malformed;
    Ok(())
}
