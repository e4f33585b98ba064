//! One day of telephony: plans the day's calls, simulates each one and writes its Asterisk CDR
//! rows and queue_log lines.
//!
//! Hazards created here (see the contract): several CDR rows per call sharing `linkedid` (one per
//! ring-all member attempt, per transfer leg, a music-on-hold row `ANSWERED` without agent on
//! unanswered calls, a voicemail leg); callers in three number formats, `anonymous` and foreign
//! numbers; DIDs in three formats; Latin-1 caller names; `uniqueid` with and without the
//! `pbx1-` system name; calls in both occurrences of the repeated DST hour; calls crossing
//! midnight (their rows land in the next day's file, their queue_log lines split across days);
//! a second, gzip-compressed CDR file whose first rows repeat the last rows of `Master.csv`;
//! rows repeated in the next day's partition; calls that enter two queues (EXITWITHKEY), attended
//! and blind
//! transfers, ENTERQUEUE without terminal event and without CDR (PBX restart), queue start-up and
//! pause lines, outbound, internal and survey (neither inbound nor outbound) calls.

use std::fmt::Display;

use rand::Rng;

use super::cdr::{self, CdrRow, Corruption};
use super::clock::{DayClock, LocalClock};
use super::crm::LeadSeed;
use super::hazards;
use super::phone;
use super::queue_log::{self, AgentStyle};
use super::rng::{self, SimRng, chance, exp_secs, weighted};
use super::sink::{FileSink, join};
use super::state::{Bitset, Carry, Spill};
use super::world::{VOICE_QUEUES, World};
use super::{Day, GenerateSummary};

/// Why a call is on the plan.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Ordinary traffic: direction drawn at random.
    Random,
    /// An inbound call late in the evening with a long conversation, crossing midnight.
    LateNight,
    /// An outbound follow-up of a lead by an agent.
    Followup { cust: u64, agent: usize },
}

/// A call to simulate.
#[derive(Debug, Clone, Copy)]
struct Planned {
    at: i64,
    kind: Kind,
}

/// What happens to a caller in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QOutcome {
    Answered,
    Abandoned,
    Timeout,
    Key,
    Empty,
    Lost,
}

/// The caller's (Party A) side of an inbound call.
struct Caller {
    uid: String,
    trunk: String,
    src: String,
    dst: String,
    ctx: &'static str,
    clid_name: Vec<u8>,
    clid_num: String,
    accountcode: &'static str,
    amaflags: &'static str,
    userfield: &'static str,
    start: i64,
    cust: Option<u64>,
}

/// The member who answered.
struct Answer {
    ext: u32,
    agent: Option<usize>,
    uid: String,
    chan: String,
    at: i64,
    wait: i64,
    row_start: i64,
    style: AgentStyle,
}

/// Result of one passage through a queue.
struct Attempt {
    exit: i64,
    answered: Option<Answer>,
    outcome: QOutcome,
}

/// Free-text userfields, some with commas and quotes.
const USERFIELDS: [&str; 4] = [
    "vip",
    "campaña=otoño, \"bono\"",
    "nota: cliente; llamar",
    "x",
];
/// Carriers of the SIP trunks.
const CARRIERS: [&str; 3] = ["movistar", "vodafone", "orange"];

/// Simulates calls of one day into CDR rows and queue_log lines.
struct Gen<'a> {
    world: &'a World,
    clock: &'a DayClock,
    rng: SimRng,
    lc: LocalClock,
    uid_seq: u64,
    chan_seq: u32,
    cdr_seq: u64,
    pbx1: bool,
    /// Rows of the current call.
    rows: Vec<u8>,
    rows_n: u64,
    call_end: i64,
    /// queue_log lines of today produced by the current call.
    q: Vec<u8>,
    q_n: u64,
    late_cdr: Spill,
    late_q: Spill,
    seen: &'a mut Bitset,
    seeds: &'a mut Vec<LeadSeed>,
}

impl<'a> Gen<'a> {
    fn new(
        world: &'a World,
        clock: &'a DayClock,
        mut rng: SimRng,
        seen: &'a mut Bitset,
        seeds: &'a mut Vec<LeadSeed>,
    ) -> Gen<'a> {
        let uid_seq = rng.random_range(0..5000);
        let chan_seq = rng.random_range(0..0x1000);
        Gen {
            world,
            clock,
            rng,
            lc: LocalClock::new(world.tz),
            uid_seq,
            chan_seq,
            cdr_seq: 0,
            pbx1: false,
            rows: Vec::with_capacity(4096),
            rows_n: 0,
            call_end: 0,
            q: Vec::with_capacity(4096),
            q_n: 0,
            late_cdr: Spill::default(),
            late_q: Spill::default(),
            seen,
            seeds,
        }
    }

    /// A new channel uniqueid created at `epoch`.
    fn new_uid(&mut self, epoch: i64) -> String {
        self.uid_seq += 1;
        if self.pbx1 {
            format!("pbx1-{epoch}.{}", self.uid_seq)
        } else {
            format!("{epoch}.{}", self.uid_seq)
        }
    }

    /// A new channel name `PJSIP/<endpoint>-<hex>`.
    fn new_chan(&mut self, endpoint: impl Display) -> String {
        self.chan_seq = self.chan_seq.wrapping_add(1);
        format!("PJSIP/{endpoint}-{:08x}", self.chan_seq)
    }

    /// Appends one queue_log line, to today's buffer or to the partition of its own day.
    fn ql(
        &mut self,
        epoch: i64,
        callid: &str,
        queue: &str,
        agent: &str,
        event: &str,
        data: &[&dyn Display],
    ) {
        if epoch < self.clock.end {
            let start = self.q.len();
            queue_log::line(&mut self.q, epoch, callid, queue, agent, event, data);
            self.q_n += 1;
            if self.rng.random_bool(0.001) {
                // The same line logged twice (natural key: the whole line).
                self.q.extend_from_within(start..);
                self.q_n += 1;
            }
        } else {
            let mut line = Vec::with_capacity(96);
            queue_log::line(&mut line, epoch, callid, queue, agent, event, data);
            self.late_q.push(self.clock.landing(epoch), &line, 1);
        }
    }

    /// Appends one CDR row of the current call.
    fn push_row(&mut self, row: &CdrRow<'_>) {
        cdr::encode(row, &mut self.lc, &mut self.rows, Corruption::None);
        self.rows_n += 1;
        self.call_end = self.call_end.max(row.end);
    }

    /// Appends a row whose Party A is the inbound caller.
    #[allow(clippy::too_many_arguments)]
    fn in_row(
        &mut self,
        c: &Caller,
        dstchannel: &str,
        lastapp: &str,
        lastdata: &str,
        start: i64,
        answer: Option<i64>,
        end: i64,
        disposition: &str,
    ) {
        self.cdr_seq += 1;
        let row = CdrRow {
            accountcode: c.accountcode,
            src: &c.src,
            dst: &c.dst,
            dcontext: c.ctx,
            clid_name: &c.clid_name,
            clid_num: &c.clid_num,
            channel: &c.trunk,
            dstchannel,
            lastapp,
            lastdata,
            start,
            answer,
            end,
            disposition,
            amaflags: c.amaflags,
            uniqueid: &c.uid,
            userfield: c.userfield,
            linkedid: &c.uid,
            sequence: self.cdr_seq,
        };
        self.push_row(&row);
    }

    /// Records a contact with customer `cust`; a first contact may become a Lead.
    fn contact(&mut self, cust: Option<u64>, at: i64, owner: Option<usize>, lead_p: f64) {
        let Some(c) = cust else { return };
        if self.seen.test_and_set(c) {
            return;
        }
        if chance(&mut self.rng, lead_p) {
            let at = at + self.rng.random_range(120..1800);
            self.seeds.push(LeadSeed {
                cust: c,
                at,
                owner,
                source: "Phone Inquiry",
            });
        }
    }

    /// Simulates one planned call into `rows`/`q`.
    fn call(&mut self, p: Planned) {
        self.rows.clear();
        self.rows_n = 0;
        self.call_end = p.at;
        self.pbx1 = self.rng.random_bool(0.2);
        match p.kind {
            Kind::Followup { cust, agent } => self.outbound(p.at, Some(agent), Some(cust)),
            Kind::LateNight => self.inbound(p.at, true),
            Kind::Random => match weighted(&mut self.rng, &[700, 30, 220, 40, 10]) {
                0 => self.inbound(p.at, false),
                1 => self.inbound_direct(p.at),
                2 => self.outbound(p.at, None, None),
                3 => self.internal(p.at),
                _ => self.survey(p.at),
            },
        }
    }

    /// Caller-ID name of customer `c`: the number again, a UTF-8 name or a Latin-1 name.
    fn clid_name(&mut self, c: u64, num: &str) -> Vec<u8> {
        let name = self.world.customers.full_name(c);
        match self.rng.random_range(0..10u32) {
            0..3 => num.as_bytes().to_vec(),
            3..6 => name
                .chars()
                .map(|ch| {
                    if (ch as u32) < 256 {
                        ch as u32 as u8
                    } else {
                        b'?'
                    }
                })
                .collect(),
            _ => name.into_bytes(),
        }
    }

    /// A new inbound caller dialling `dst` at `t`.
    fn new_caller(&mut self, t: i64, dst: String, ctx: &'static str) -> Caller {
        let r = self.rng.random_range(0..100u32);
        let (src, clid_name, cust) = if r < 3 {
            ("anonymous".to_string(), b"Anonymous".to_vec(), None)
        } else if r < 4 {
            let n = format!("+4477009{:05}", self.rng.random_range(0..100_000u32));
            let name = n.as_bytes().to_vec();
            (n, name, None)
        } else {
            let c = self.world.customers.pick(&mut self.rng);
            let src = phone::trunk_format(&mut self.rng, self.world.customers.national(c));
            let name = self.clid_name(c, &src);
            (src, name, Some(c))
        };
        let uid = self.new_uid(t);
        let carrier = rng::pick(&mut self.rng, &CARRIERS);
        let trunk = self.new_chan(format_args!("trunk-{carrier}"));
        let accountcode = if self.rng.random_bool(0.15) {
            "cliente-es"
        } else {
            ""
        };
        let amaflags = if self.rng.random_bool(0.1) {
            "BILLING"
        } else {
            "DOCUMENTATION"
        };
        let userfield = if self.rng.random_bool(0.1) {
            rng::pick(&mut self.rng, &USERFIELDS)
        } else {
            ""
        };
        Caller {
            uid,
            trunk,
            clid_num: src.clone(),
            src,
            dst,
            ctx,
            clid_name,
            accountcode,
            amaflags,
            userfield,
            start: t,
            cust,
        }
    }

    /// An inbound context drawn 60/25/15.
    fn inbound_ctx(&mut self) -> &'static str {
        ["from-trunk", "from-pstn", "ext-did"][weighted(&mut self.rng, &[60, 25, 15])]
    }

    /// An inbound call through the DID's queue.
    fn inbound(&mut self, t: i64, late: bool) {
        let did = self.world.pick_did(&mut self.rng);
        let dst = phone::did_format(&mut self.rng, did.national);
        let ctx = self.inbound_ctx();
        let c = self.new_caller(t, dst, ctx);
        let outcome = if late {
            QOutcome::Answered
        } else {
            use QOutcome::*;
            [Answered, Abandoned, Timeout, Key, Empty, Lost]
                [weighted(&mut self.rng, &[840, 95, 20, 15, 15, 5])]
        };
        let enter = t + self.rng.random_range(2..12);
        let pos = self.rng.random_range(1..4u32);
        let mut q = did.queue;
        let mut att = self.queue_attempt(&c, q, enter, outcome, pos, true);
        if outcome == QOutcome::Key {
            // The caller pressed a key: into another queue, or the same one again.
            q = if self.rng.random_bool(0.3) {
                q
            } else {
                (q + 1) % VOICE_QUEUES
            };
            let o2 = if self.rng.random_bool(0.8) {
                QOutcome::Answered
            } else {
                QOutcome::Abandoned
            };
            att = self.queue_attempt(&c, q, att.exit + 2, o2, 1, false);
        }
        if outcome == QOutcome::Lost {
            return;
        }
        let mut owner = None;
        match att.answered.take() {
            Some(a) => {
                owner = a.agent;
                self.answered(&c, q, a, pos, late);
            }
            None if att.outcome == QOutcome::Timeout => {
                let lastdata = format!("{}@default,u", 200 + q as u32 * 10);
                let end = att.exit + self.rng.random_range(8..60);
                self.in_row(
                    &c,
                    "",
                    "VoiceMail",
                    &lastdata,
                    att.exit,
                    Some(att.exit),
                    end,
                    "ANSWERED",
                );
            }
            None => {}
        }
        let end = self.call_end;
        self.contact(
            c.cust,
            end,
            owner,
            if owner.is_some() { 0.12 } else { 0.04 },
        );
    }

    /// One passage of caller `c` through queue `q`: ring-all cycles of 15 s ring + 5 s retry.
    fn queue_attempt(
        &mut self,
        c: &Caller,
        q: usize,
        enter: i64,
        outcome: QOutcome,
        pos: u32,
        first: bool,
    ) -> Attempt {
        let queue = &self.world.queues[q];
        let (qname, timeout) = (queue.name, queue.timeout);
        let lastdata = format!("{qname},t,,,{timeout}");
        let style = AgentStyle::random(&mut self.rng);
        let lost = outcome == QOutcome::Lost;
        self.ql(
            enter,
            &c.uid,
            qname,
            "NONE",
            "ENTERQUEUE",
            &[&"", &c.clid_num, &pos],
        );
        let k = [1usize, 1, 1, 2, 2, 3][self.rng.random_range(0..6)];
        let members = if outcome == QOutcome::Empty {
            Vec::new()
        } else {
            self.world.available(q, enter, k, &mut self.rng)
        };
        if members.is_empty() {
            let exit = enter + 1;
            if !lost {
                self.ql(exit, &c.uid, qname, "NONE", "EXITEMPTY", &[&pos, &pos, &1]);
                let st = if first { c.start } else { enter };
                self.in_row(c, "", "Queue", &lastdata, st, None, exit, "NO ANSWER");
            }
            return Attempt {
                exit,
                answered: None,
                outcome: QOutcome::Empty,
            };
        }
        let w = match outcome {
            QOutcome::Answered => exp_secs(&mut self.rng, 18.0 + 12.0 * q as f64, 1, timeout - 20),
            QOutcome::Abandoned => exp_secs(&mut self.rng, 35.0, 3, timeout - 6),
            QOutcome::Timeout => timeout,
            QOutcome::Key => self.rng.random_range(5..40),
            _ => self.rng.random_range(5..60),
        };
        let full = w / 20;
        let mut rem = w % 20;
        if outcome == QOutcome::Answered && (rem == 0 || rem > 14) {
            rem = self.rng.random_range(1..15);
        }
        let w = full * 20 + rem;
        for cyc in 0..full {
            let cs = enter + cyc * 20;
            for &(ext, _) in &members {
                let chan = self.new_chan(ext);
                if !lost {
                    let st = if first && cyc == 0 { c.start } else { cs };
                    self.in_row(c, &chan, "Queue", &lastdata, st, None, cs + 15, "NO ANSWER");
                }
                let agent = style.name(ext);
                self.ql(cs + 15, &c.uid, qname, &agent, "RINGNOANSWER", &[&15000]);
            }
        }
        let cs = enter + full * 20;
        let exit = enter + w;
        let st = if first && full == 0 { c.start } else { cs };
        let mut answered = None;
        if outcome == QOutcome::Answered {
            let who = self.rng.random_range(0..members.len());
            for (i, &(ext, agent)) in members.iter().enumerate() {
                let chan = self.new_chan(ext);
                if i == who {
                    let uid = self.new_uid(cs);
                    answered = Some(Answer {
                        ext,
                        agent,
                        uid,
                        chan,
                        at: exit,
                        wait: w,
                        row_start: st,
                        style,
                    });
                } else {
                    self.in_row(c, &chan, "Queue", &lastdata, st, None, exit, "NO ANSWER");
                }
            }
            if let Some(a) = &answered {
                let agent = style.name(a.ext);
                self.ql(exit, &c.uid, qname, &agent, "CONNECT", &[&w, &a.uid, &rem]);
            }
        } else {
            if !lost && rem > 0 && rem <= 15 {
                for &(ext, _) in &members {
                    let chan = self.new_chan(ext);
                    self.in_row(c, &chan, "Queue", &lastdata, st, None, exit, "NO ANSWER");
                }
            }
            if !lost {
                // The queue answered the caller's channel for music on hold: a row ANSWERED
                // with no agent (hazard: must not count as answered, billsec is not talk).
                let moh = self.rng.random_bool(0.5);
                let st = if first { c.start } else { enter };
                let disp = if moh { "ANSWERED" } else { "NO ANSWER" };
                self.in_row(
                    c,
                    "",
                    "Queue",
                    &lastdata,
                    st,
                    moh.then_some(enter),
                    exit,
                    disp,
                );
            }
            match outcome {
                QOutcome::Abandoned => {
                    self.ql(exit, &c.uid, qname, "NONE", "ABANDON", &[&pos, &pos, &w])
                }
                QOutcome::Timeout => self.ql(
                    exit,
                    &c.uid,
                    qname,
                    "NONE",
                    "EXITWITHTIMEOUT",
                    &[&pos, &pos, &w],
                ),
                QOutcome::Key => self.ql(
                    exit,
                    &c.uid,
                    qname,
                    "NONE",
                    "EXITWITHKEY",
                    &[&2, &pos, &pos, &w],
                ),
                _ => {}
            }
        }
        Attempt {
            exit,
            answered,
            outcome,
        }
    }

    /// The conversation after member `a` answered: completion or blind transfer.
    fn answered(&mut self, c: &Caller, q: usize, a: Answer, pos: u32, late: bool) {
        let queue = &self.world.queues[q];
        let (qname, timeout) = (queue.name, queue.timeout);
        let lastdata = format!("{qname},t,,,{timeout}");
        let agent_name = a.style.name(a.ext);
        let talk = if late {
            self.rng.random_range(900..2400)
        } else {
            exp_secs(&mut self.rng, 170.0, 8, 3600)
        };
        let end = a.at + talk;
        let target = if talk > 60 && self.rng.random_bool(0.08) {
            self.world
                .pick_agent(&mut self.rng, a.at)
                .filter(|&(_, e)| e != a.ext)
        } else {
            None
        };
        let Some((_, ext2)) = target else {
            self.in_row(
                c,
                &a.chan,
                "Queue",
                &lastdata,
                a.row_start,
                Some(a.at),
                end,
                "ANSWERED",
            );
            let ev = if self.rng.random_bool(0.55) {
                "COMPLETECALLER"
            } else {
                "COMPLETEAGENT"
            };
            self.ql(end, &c.uid, qname, &agent_name, ev, &[&a.wait, &talk, &pos]);
            return;
        };
        let tx = a.at + self.rng.random_range(20..talk - 10);
        self.in_row(
            c,
            &a.chan,
            "Queue",
            &lastdata,
            a.row_start,
            Some(a.at),
            tx,
            "ANSWERED",
        );
        if tx % 3 == 0 {
            // Hazard: an attended transfer (Asterisk 12+: method, bridge, holdtime, calltime,
            // original position).
            self.ql(
                tx,
                &c.uid,
                qname,
                &agent_name,
                "ATTENDEDTRANSFER",
                &[&"BRIDGE", &c.uid, &a.wait, &(tx - a.at), &pos],
            );
        } else {
            self.ql(
                tx,
                &c.uid,
                qname,
                &agent_name,
                "BLINDTRANSFER",
                &[&ext2, &"from-internal", &a.wait, &(tx - a.at), &pos],
            );
        }
        let ring2 = self.rng.random_range(3..12);
        let end2 = tx + ring2 + exp_secs(&mut self.rng, 150.0, 10, 3600);
        let chan2 = self.new_chan(ext2);
        let src = a.ext.to_string();
        let dst = ext2.to_string();
        let lastdata2 = format!("PJSIP/{ext2},30,tT");
        let name = match a.agent {
            Some(i) => self.world.agents[i].full_name(),
            None => format!("Ext {}", a.ext),
        };
        self.cdr_seq += 1;
        let row = CdrRow {
            accountcode: "",
            src: &src,
            dst: &dst,
            dcontext: "from-internal",
            clid_name: name.as_bytes(),
            clid_num: &src,
            channel: &a.chan,
            dstchannel: &chan2,
            lastapp: "Dial",
            lastdata: &lastdata2,
            start: tx,
            answer: Some(tx + ring2),
            end: end2,
            disposition: "ANSWERED",
            amaflags: c.amaflags,
            uniqueid: &a.uid,
            userfield: "",
            linkedid: &c.uid,
            sequence: self.cdr_seq,
        };
        self.push_row(&row);
    }

    /// An inbound call routed straight to an extension that is busy or fails (no queue).
    fn inbound_direct(&mut self, t: i64) {
        let did = self.world.pick_did(&mut self.rng);
        let dst = phone::did_format(&mut self.rng, did.national);
        let ctx = self.inbound_ctx();
        let c = self.new_caller(t, dst, ctx);
        let ext = self
            .world
            .pick_agent(&mut self.rng, t)
            .map(|(_, e)| e)
            .unwrap_or(230);
        let lastdata = format!("PJSIP/{ext},20");
        match weighted(&mut self.rng, &[50, 20, 20, 10]) {
            0 => {
                let chan = self.new_chan(ext);
                self.in_row(&c, &chan, "Dial", &lastdata, t, None, t + 3, "BUSY");
            }
            1 => {
                let chan = self.new_chan(ext);
                self.in_row(&c, &chan, "Dial", &lastdata, t, None, t + 20, "NO ANSWER");
            }
            2 => self.in_row(&c, "", "Hangup", "", t, None, t + 1, "FAILED"),
            _ => self.in_row(&c, "", "Dial", &lastdata, t, None, t + 2, "CONGESTION"),
        }
        self.contact(c.cust, t, None, 0.03);
    }

    /// An agent calls a customer (random, or a lead follow-up).
    fn outbound(&mut self, t: i64, agent: Option<usize>, cust: Option<u64>) {
        let chosen = agent.and_then(|a| self.world.agents[a].ext_at(t).map(|e| (a, e)));
        let Some((a, ext)) = chosen.or_else(|| self.world.pick_agent(&mut self.rng, t)) else {
            return;
        };
        let cust = cust.unwrap_or_else(|| self.world.customers.pick(&mut self.rng));
        let dst = phone::trunk_format(&mut self.rng, self.world.customers.national(cust));
        let uid = self.new_uid(t);
        let chan = self.new_chan(ext);
        let carrier = rng::pick(&mut self.rng, &CARRIERS);
        let trunk = self.new_chan(format_args!("trunk-{carrier}"));
        let lastdata = format!("PJSIP/{dst}@trunk-{carrier},60,T");
        let ring = self.rng.random_range(3..25);
        let (disp, answer, end, dstchannel) = match weighted(&mut self.rng, &[62, 23, 10, 5]) {
            0 => {
                let talk = exp_secs(&mut self.rng, 140.0, 5, 3600);
                ("ANSWERED", Some(t + ring), t + ring + talk, trunk.as_str())
            }
            1 => ("NO ANSWER", None, t + 30, trunk.as_str()),
            2 => ("BUSY", None, t + 4, trunk.as_str()),
            _ => ("FAILED", None, t + 1, ""),
        };
        let src = ext.to_string();
        let name = self.world.agents[a].full_name();
        self.cdr_seq += 1;
        let row = CdrRow {
            accountcode: "",
            src: &src,
            dst: &dst,
            dcontext: "from-internal",
            clid_name: name.as_bytes(),
            clid_num: &src,
            channel: &chan,
            dstchannel,
            lastapp: "Dial",
            lastdata: &lastdata,
            start: t,
            answer,
            end,
            disposition: disp,
            amaflags: "DOCUMENTATION",
            uniqueid: &uid,
            userfield: "",
            linkedid: &uid,
            sequence: self.cdr_seq,
        };
        self.push_row(&row);
        self.contact(Some(cust), end, Some(a), 0.0);
    }

    /// An extension calls another extension (not a customer interaction).
    fn internal(&mut self, t: i64) {
        let Some((a, e1)) = self.world.pick_agent(&mut self.rng, t) else {
            return;
        };
        let Some((_, e2)) = self
            .world
            .pick_agent(&mut self.rng, t)
            .filter(|&(_, e)| e != e1)
        else {
            return;
        };
        let uid = self.new_uid(t);
        let chan = self.new_chan(e1);
        let chan2 = self.new_chan(e2);
        let lastdata = format!("PJSIP/{e2},30");
        let ring = self.rng.random_range(2..15);
        let (disp, answer, end) = match weighted(&mut self.rng, &[70, 20, 10]) {
            0 => (
                "ANSWERED",
                Some(t + ring),
                t + ring + exp_secs(&mut self.rng, 90.0, 5, 1800),
            ),
            1 => ("NO ANSWER", None, t + 30),
            _ => ("BUSY", None, t + 2),
        };
        let src = e1.to_string();
        let dst = e2.to_string();
        let name = self.world.agents[a].full_name();
        self.cdr_seq += 1;
        let row = CdrRow {
            accountcode: "",
            src: &src,
            dst: &dst,
            dcontext: "from-internal",
            clid_name: name.as_bytes(),
            clid_num: &src,
            channel: &chan,
            dstchannel: &chan2,
            lastapp: "Dial",
            lastdata: &lastdata,
            start: t,
            answer,
            end,
            disposition: disp,
            amaflags: "DOCUMENTATION",
            uniqueid: &uid,
            userfield: "",
            linkedid: &uid,
            sequence: self.cdr_seq,
        };
        self.push_row(&row);
    }

    /// A customer reaches the satisfaction survey context (neither inbound nor outbound).
    fn survey(&mut self, t: i64) {
        let c = self.new_caller(t, "s".to_string(), "ivr-encuesta");
        let end = t + self.rng.random_range(15..70);
        self.in_row(
            &c,
            "",
            "Playback",
            "encuesta/gracias",
            t,
            Some(t),
            end,
            "ANSWERED",
        );
    }
}

/// The day's calls in start order: sampled traffic, extra calls in both occurrences of a
/// repeated DST hour, late-evening calls crossing midnight and the follow-ups planned by the CRM.
fn plan_day(clock: &DayClock, calls: usize, rng: &mut SimRng, carry: &mut Carry) -> Vec<Planned> {
    let mut plan = Vec::with_capacity(calls + 64);
    for _ in 0..calls {
        plan.push(Planned {
            at: clock.sample(rng),
            kind: Kind::Random,
        });
    }
    if calls > 0 {
        let extra = 3 + calls / 2000;
        for c in clock.chunks.iter().filter(|c| c.repeated) {
            for _ in 0..extra {
                plan.push(Planned {
                    at: c.start + rng.random_range(0..c.len.max(1)),
                    kind: Kind::Random,
                });
            }
        }
        for _ in 0..(2 + calls / 5000) {
            plan.push(Planned {
                at: clock.end - rng.random_range(60..1200),
                kind: Kind::LateNight,
            });
        }
    }
    while let Some(e) = carry.outbound.first_entry() {
        if *e.key() > clock.date {
            break;
        }
        for (at, cust, agent) in e.remove() {
            plan.push(Planned {
                at,
                kind: Kind::Followup { cust, agent },
            });
        }
    }
    plan.sort_by_key(|p| p.at);
    plan
}

/// Queue start-up lines (QUEUESTART, ADDMEMBER) and a few pauses; returns the line count.
fn preamble(world: &World, clock: &DayClock, rng: &mut SimRng, out: &mut Vec<u8>) -> u64 {
    let mut n = 0;
    let t0 = clock.at_local(7 * 3600 + rng.random_range(0..600));
    queue_log::line(out, t0, "NONE", "NONE", "NONE", "QUEUESTART", &[&""]);
    n += 1;
    for q in &world.queues {
        for &m in &q.members {
            if let Some((ext, _)) = world.member_at(m, t0) {
                let agent = format!("PJSIP/{ext}");
                queue_log::line(out, t0 + 1, "NONE", q.name, &agent, "ADDMEMBER", &[&""]);
                n += 1;
            }
        }
    }
    for _ in 0..3 {
        if let Some((_, ext)) = world.pick_agent(rng, t0) {
            let t = clock.at_local(rng.random_range(11 * 3600..16 * 3600));
            let agent = format!("PJSIP/{ext}");
            let reason = rng::pick(rng, &["Descanso", "Comida", "Formación"]);
            queue_log::line(out, t, "NONE", "ventas", &agent, "PAUSE", &[&reason]);
            let back = t + rng.random_range(300..1800);
            queue_log::line(out, back, "NONE", "ventas", &agent, "UNPAUSE", &[&""]);
            n += 2;
        }
    }
    n
}

/// Writes `pbx/cdr/dt=D/` and `pbx/queue_log/dt=D/` for the day of `clock`, and queues the
/// rows that land later in `carry`. Lead candidates (first contacts) are appended to `seeds`.
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
    let mut hz = rng::stream(opts.seed, day_index, rng::HAZARDS ^ 0x10);
    let mut plan_rng = rng::stream(opts.seed, day_index, rng::PBX ^ 0x10);
    let dt = format!("dt={}", clock.date.format("%Y-%m-%d"));
    let plan = plan_day(clock, opts.calls_per_day as usize, &mut plan_rng, carry);

    let two_files = plan.len() >= 20 && hz.random_bool(0.35);
    let q_name = if hz.random_bool(0.3) {
        "queue_log.gz"
    } else {
        "queue_log"
    };
    let mut cdr1 = FileSink::new(store, join(root, &["pbx", "cdr", &dt, "Master.csv"]));
    let mut cdr2 = two_files
        .then(|| FileSink::new(store, join(root, &["pbx", "cdr", &dt, "Master-2.csv.gz"])));
    let mut qlog = FileSink::new(store, join(root, &["pbx", "queue_log", &dt, q_name]));
    let (mut cdr_rows, mut q_rows, mut malformed) = (0u64, 0u64, 0u64);

    let late = carry.cdr.take_until(clock.date);
    cdr1.buf.extend_from_slice(&late.bytes);
    cdr_rows += late.rows;
    let late = carry.queue_log.take_until(clock.date);
    qlog.buf.extend_from_slice(&late.bytes);
    q_rows += late.rows;
    q_rows += preamble(world, clock, &mut hz, &mut qlog.buf);

    // Log rotation: calls from `rotate_at` go to the second file, which starts with a copy of
    // the last rows of the first one.
    let rotate_at = if two_files {
        plan.len() * 4 / 5
    } else {
        usize::MAX
    };
    let overlap_from = rotate_at.saturating_sub(5);
    let bad = hazards::positions(
        &mut hz,
        plan.len(),
        hazards::malformed_cdr_per_day(opts.calls_per_day),
    );
    let bad_q = hazards::positions(&mut hz, plan.len(), if plan.is_empty() { 0 } else { 2 });
    let (mut bi, mut bqi) = (0, 0);
    let next_day = clock.date.succ_opt();

    let mut g = Gen::new(
        world,
        clock,
        rng::stream(opts.seed, day_index, rng::PBX),
        &mut carry.seen,
        seeds,
    );
    for (i, p) in plan.iter().enumerate() {
        while bi < bad.len() && bad[bi] == i {
            hazards::malformed_cdr(&mut hz, &mut g.lc, clock, bi, &mut cdr1.buf);
            malformed += 1;
            bi += 1;
        }
        while bqi < bad_q.len() && bad_q[bqi] == i {
            hazards::malformed_queue_log(&mut hz, clock, bqi, &mut qlog.buf);
            malformed += 1;
            bqi += 1;
        }
        g.call(*p);
        qlog.buf.extend_from_slice(&g.q);
        q_rows += g.q_n;
        g.q.clear();
        g.q_n = 0;
        if g.rows_n > 0 {
            if g.call_end >= clock.end {
                // Written at hangup, after midnight: the next day's file.
                let d = clock.landing(g.call_end);
                g.late_cdr.push(d, &g.rows, g.rows_n);
            } else {
                let target = match cdr2.as_mut() {
                    Some(s) if i >= rotate_at => s,
                    _ => &mut cdr1,
                };
                target.buf.extend_from_slice(&g.rows);
                cdr_rows += g.rows_n;
                if let Some(s) = cdr2.as_mut()
                    && i >= overlap_from
                    && i < rotate_at
                {
                    s.buf.extend_from_slice(&g.rows);
                    cdr_rows += g.rows_n;
                }
            }
            if let Some(d) = next_day
                && hz.random_bool(0.002)
            {
                // Re-exported the next day.
                g.late_cdr.push(d, &g.rows, g.rows_n);
            }
        }
        if i % 64 == 63 {
            cdr1.flush_if_full().await?;
            if let Some(s) = cdr2.as_mut() {
                s.flush_if_full().await?;
            }
            qlog.flush_if_full().await?;
        }
    }
    while bi < bad.len() {
        hazards::malformed_cdr(&mut hz, &mut g.lc, clock, bi, &mut cdr1.buf);
        malformed += 1;
        bi += 1;
    }
    while bqi < bad_q.len() {
        hazards::malformed_queue_log(&mut hz, clock, bqi, &mut qlog.buf);
        malformed += 1;
        bqi += 1;
    }
    let late_cdr = std::mem::take(&mut g.late_cdr);
    let late_q = std::mem::take(&mut g.late_q);
    drop(g);
    carry.cdr.merge(late_cdr);
    carry.queue_log.merge(late_q);

    summary.add_file(cdr1.finish().await?);
    if let Some(s) = cdr2 {
        summary.add_file(s.finish().await?);
    }
    summary.add_file(qlog.finish().await?);
    summary.cdr_rows += cdr_rows;
    summary.queue_log_rows += q_rows;
    summary.malformed_rows += malformed;
    Ok(())
}
