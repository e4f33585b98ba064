//! The CRM simulation: Salesforce Users and ForecastingQuotas at the start, then a Lead for
//! some first contacts (created minutes after a customer's first call or WhatsApp message,
//! with the number typed in another format) and the lead's whole lifecycle, planned at
//! creation and written on the landing date of each version's `LastModifiedDate`.
//!
//! Hazards created here: incremental extracts (one row per version, several versions of one
//! record in one file), leads owned by a queue (`00G...`), conversions (Account + Opportunity,
//! ConvertedAccountId/ConvertedOpportunityId/ConvertedDate), opportunities closed won or lost
//! days later, CloseDate moved on a later day (the opportunity changes KPI partition), amounts
//! changed, accounts renamed, leads and opportunities deleted later (`IsDeleted`), Orders going
//! Draft -> Activated (or Cancelled), renewal orders without opportunity a month later, a
//! user's Extension changed and a user deactivated mid-period, quotas edited mid-month and
//! one owner with two quotas for the same month. Late-arriving records: a User missing from
//! the first full extract that lands three days in, the extension change landing two days and
//! the deactivation one day after they happened, Leads landing two days after the first
//! contact they follow, Accounts landing two days after the conversion that names them; Accounts and activated Orders deleted later. The first partition is a full extract of Users
//! and quotas whose `LastModifiedDate` may precede it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;
use object_store::ObjectStore;
use object_store::path::Path;
use rand::Rng;

use super::clock::{DayClock, local_date, local_instant, local_midnight};
use super::crm_csv::{style, write_object};
use super::crm_records::{AccountRec, LeadRec, OppRec, OrderRec, QuotaRec, UserRec};
use super::phone;
use super::rng::{self, SimRng, pick};
use super::sfid::{IdGen, SfId};
use super::state::Carry;
use super::world::{N_AGENTS, World};
use super::{GenerateOptions, GenerateSummary};

/// A first contact that becomes a Lead: customer, creation instant, handling agent (None:
/// the lead goes to the lead queue) and LeadSource.
#[derive(Debug, Clone, Copy)]
pub struct LeadSeed {
    /// Customer index.
    pub cust: u64,
    /// Lead CreatedDate (UTC epoch).
    pub at: i64,
    /// Agent (index into `World::agents`) who handled the contact.
    pub owner: Option<usize>,
    /// LeadSource.
    pub source: &'static str,
}

/// Record versions landing on one date.
#[derive(Debug, Default)]
struct DayBatch {
    users: Vec<UserRec>,
    accounts: Vec<AccountRec>,
    leads: Vec<LeadRec>,
    opps: Vec<OppRec>,
    orders: Vec<OrderRec>,
    quotas: Vec<QuotaRec>,
}

const DAY: i64 = 86_400;
const INDUSTRIES: [&str; 6] = [
    "Telecomunicaciones",
    "Retail",
    "Hostelería",
    "Servicios",
    "Sanidad",
    "Educación",
];
const CITIES: [&str; 8] = [
    "Madrid",
    "Barcelona",
    "Valencia",
    "Sevilla",
    "Bilbao",
    "A Coruña",
    "Málaga",
    "Zaragoza",
];
const PRODUCTS: [&str; 5] = [
    "Fibra 600Mb",
    "Fibra 1Gb + Móvil",
    "Centralita Virtual",
    "Pack Empresa, 5 líneas",
    "Móvil Ilimitado",
];
const COMPANY_A: [&str; 6] = [
    "Talleres",
    "Distribuciones",
    "Clínica",
    "Asesoría",
    "Panadería",
    "Construcciones",
];
const COMPANY_B: [&str; 6] = [
    "Martínez",
    "del Norte",
    "Ibérica",
    "Hermanos Peña",
    "Sol",
    "Muñoz e Hijos",
];
const DESCRIPTIONS: [&str; 4] = [
    "Cliente interesado en \"Fibra 1Gb\", llamar por la tarde.",
    "Pide presupuesto:\n- 3 líneas móviles\n- centralita, \"urgente\"",
    "Viene de la campaña de otoño; dice que \"ya es cliente\", revisar",
    "Contactar por WhatsApp, no por email",
];

/// Lower-case ASCII of a Spanish name, for e-mail addresses.
fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'Á' => 'a',
                'é' | 'É' => 'e',
                'í' | 'Í' => 'i',
                'ó' | 'Ó' => 'o',
                'ú' | 'Ú' | 'ü' => 'u',
                'ñ' | 'Ñ' => 'n',
                ' ' => '.',
                c => c.to_ascii_lowercase(),
            };
            c.is_ascii_alphanumeric()
                .then_some(c)
                .or((c == '.').then_some('.'))
        })
        .collect()
}

/// A Description: mostly empty, sometimes with commas, quotes and newlines.
fn description(r: &mut SimRng) -> String {
    if r.random_bool(0.6) {
        String::new()
    } else {
        pick(r, &DESCRIPTIONS).to_string()
    }
}

/// The CRM: Id generators and the versions waiting for their landing date.
pub struct Crm {
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
    seed: u64,
    calls_per_day: u64,
    pending: BTreeMap<NaiveDate, DayBatch>,
    lead_ids: IdGen,
    account_ids: IdGen,
    opp_ids: IdGen,
    order_ids: IdGen,
    quota_ids: IdGen,
    order_no: u64,
}

impl Crm {
    /// An empty CRM for the run.
    pub fn new(world: &World, opts: &GenerateOptions) -> Crm {
        let s = world.seed;
        Crm {
            tz: opts.timezone,
            from: opts.from,
            to: opts.to,
            seed: opts.seed,
            calls_per_day: opts.calls_per_day,
            pending: BTreeMap::new(),
            lead_ids: IdGen::new("00Q", rng::hash2(s, 11)),
            account_ids: IdGen::new("001", rng::hash2(s, 12)),
            opp_ids: IdGen::new("006", rng::hash2(s, 13)),
            order_ids: IdGen::new("801", rng::hash2(s, 14)),
            quota_ids: IdGen::new("0J9", rng::hash2(s, 15)),
            order_no: 100 + rng::hash2(s, 16) % 1000,
        }
    }

    /// The batch of the landing date of a version modified at `t`; None after the last date
    /// (not landed yet). Versions older than the first date land in the first partition. A
    /// version that lands late is pushed with the instant it lands at instead (`push_*_at`).
    fn batch(&mut self, t: i64) -> Option<&mut DayBatch> {
        let d = local_date(self.tz, t);
        if d > self.to {
            return None;
        }
        Some(self.pending.entry(d.max(self.from)).or_default())
    }

    fn push_user(&mut self, r: UserRec) {
        let at = r.modified;
        self.push_user_at(r, at);
    }
    /// A User version that lands at `landed` (late: after its LastModifiedDate's day).
    fn push_user_at(&mut self, r: UserRec, landed: i64) {
        if let Some(b) = self.batch(landed) {
            b.users.push(r);
        }
    }
    fn push_account(&mut self, r: AccountRec) {
        let at = r.modified;
        self.push_account_at(r, at);
    }
    /// An Account version that lands at `landed`.
    fn push_account_at(&mut self, r: AccountRec, landed: i64) {
        if let Some(b) = self.batch(landed) {
            b.accounts.push(r);
        }
    }
    fn push_lead(&mut self, r: LeadRec) {
        let at = r.modified;
        self.push_lead_at(r, at);
    }
    /// A Lead version that lands at `landed`.
    fn push_lead_at(&mut self, r: LeadRec, landed: i64) {
        if let Some(b) = self.batch(landed) {
            b.leads.push(r);
        }
    }
    fn push_opp(&mut self, r: OppRec) {
        if let Some(b) = self.batch(r.modified) {
            b.opps.push(r);
        }
    }
    fn push_order(&mut self, r: OrderRec) {
        if let Some(b) = self.batch(r.modified) {
            b.orders.push(r);
        }
    }
    fn push_quota(&mut self, r: QuotaRec) {
        if let Some(b) = self.batch(r.modified) {
            b.quotas.push(r);
        }
    }

    /// Users (full extract on the first date, then the extension change and the departure)
    /// and the monthly quotas of every agent.
    pub fn seed_initial(&mut self, world: &World) {
        let mut r = rng::stream(self.seed, -1, rng::CRM);
        let from_mid = local_midnight(self.tz, self.from);
        for (i, a) in world.agents.iter().enumerate() {
            let i = i as i64;
            let created = from_mid - DAY * (400 - 7 * i);
            let base = UserRec {
                id: a.id,
                first: a.first.to_string(),
                last: a.last.to_string(),
                email: format!("{}.{}@contactcentre.example", ascii(a.first), ascii(a.last)),
                ext: a.ext,
                dept: a.dept.to_string(),
                title: a.title.to_string(),
                active: true,
                manager: a.manager.map(|m| world.agents[m].id),
                created,
                modified: from_mid - DAY * (3 + i % 20) - r.random_range(0..3600),
            };
            let mut cur = base.clone();
            if i == 4 {
                // Hazard: a user missing from the first full extract, whose record (created long
                // ago) lands three days in, after the calls and chats it answered.
                self.push_user_at(base, from_mid + 3 * DAY + 9 * 3600);
            } else {
                self.push_user(base);
            }
            if let Some((t, e)) = a.ext_change {
                cur.ext = Some(e);
                cur.modified = t;
                // Hazard: the extension change lands two days after it happened.
                self.push_user_at(cur.clone(), t + 2 * DAY);
            }
            if let Some(t) = a.left_at {
                cur.active = false;
                cur.modified = t;
                // Hazard: the deactivation lands a day late.
                self.push_user_at(cur, t + DAY);
            }
        }
        let mut month = self.from.with_day(1).unwrap_or(self.from);
        let mut first_month = true;
        while month <= self.to {
            for (a, agent) in world.agents.iter().take(N_AGENTS).enumerate() {
                let created = from_mid + 7 * 3600 + 13 * a as i64;
                let q = QuotaRec {
                    id: self.quota_ids.next_id(),
                    owner: agent.id,
                    start: month,
                    amount: r.random_range(10..41) * 50_000,
                    created,
                    modified: created,
                };
                let mut edited = q.clone();
                self.push_quota(q);
                let mid = month.with_day(15).unwrap_or(month);
                if a % 5 == 0 && mid > self.from && mid <= self.to {
                    edited.amount += r.random_range(-4..5i64) * 50_000 + 100_000;
                    edited.modified = local_instant(self.tz, mid, 9 * 3600 + 1800 + a as i64);
                    self.push_quota(edited);
                }
            }
            if first_month {
                // Hazard: a second quota for the same owner and month (to be summed).
                let created = from_mid + 8 * 3600;
                let id = self.quota_ids.next_id();
                self.push_quota(QuotaRec {
                    id,
                    owner: world.agents[0].id,
                    start: month,
                    amount: 150_000,
                    created,
                    modified: created,
                });
                first_month = false;
            }
            month = match month.checked_add_months(chrono::Months::new(1)) {
                Some(m) => m,
                None => break,
            };
        }
    }

    /// Creates the leads of the day: one per seed plus a few web leads without contact.
    pub fn absorb(
        &mut self,
        world: &World,
        clock: &DayClock,
        seeds: &[LeadSeed],
        carry: &mut Carry,
    ) {
        let day = (clock.date - self.from).num_days();
        let mut r = rng::stream(self.seed, day, rng::CRM);
        for s in seeds {
            self.spawn_lead(world, &mut r, *s, carry);
        }
        if self.calls_per_day > 0 {
            for _ in 0..(1 + self.calls_per_day / 400) {
                let cust = world.customers.pick(&mut r);
                let at = clock.sample(&mut r);
                self.spawn_lead(
                    world,
                    &mut r,
                    LeadSeed {
                        cust,
                        at,
                        owner: None,
                        source: "Web",
                    },
                    carry,
                );
            }
        }
    }

    /// A lead and its planned future.
    fn spawn_lead(&mut self, world: &World, r: &mut SimRng, s: LeadSeed, carry: &mut Carry) {
        let pop = &world.customers;
        let n = pop.national(s.cust);
        let owner = match s.owner {
            Some(a) if r.random_bool(0.9) => world.agents[a].id,
            _ => world.lead_queue,
        };
        let seller = s.owner.unwrap_or_else(|| r.random_range(0..8));
        let first = pop.first_name(s.cust).to_string();
        let last = pop.last_name(s.cust).to_string();
        let company = if r.random_bool(0.4) {
            format!("{} {}", pick(r, &COMPANY_A), pick(r, &COMPANY_B))
        } else {
            format!("{first} {last}")
        };
        let typed = phone::crm_format(r, n);
        let (phone_f, mobile_f) = if pop.is_mobile(s.cust) {
            match r.random_range(0..10u32) {
                0..6 => (String::new(), typed),
                6..9 => (typed, String::new()),
                _ => (phone::crm_format(r, n), typed),
            }
        } else {
            (typed, String::new())
        };
        let email = format!(
            "{}.{}{}@example.com",
            ascii(&first),
            ascii(&last),
            s.cust % 1000
        );
        let mut cur = LeadRec {
            id: self.lead_ids.next_id(),
            first,
            last,
            company: company.clone(),
            phone: phone_f,
            mobile: mobile_f,
            email,
            source: s.source,
            status: "Open - Not Contacted",
            owner,
            converted: false,
            converted_date: None,
            converted_account: None,
            converted_opportunity: None,
            description: description(r),
            created: s.at,
            modified: s.at,
            deleted: false,
        };
        if cur.id.key() % 100 < 10 {
            // Hazard: the Lead's first record lands two days after the first contact it follows.
            self.push_lead_at(cur.clone(), s.at + 2 * DAY);
        } else {
            self.push_lead(cur.clone());
        }
        let mut t = s.at;
        if r.random_bool(0.5) {
            t += r.random_range(3600..2 * DAY);
            cur.status = "Working - Contacted";
            cur.modified = t;
            self.push_lead(cur.clone());
        }
        if r.random_bool(0.5) {
            // An agent calls the lead back one to three days later.
            let d = local_date(self.tz, t + r.random_range(DAY..3 * DAY));
            if d <= self.to {
                let at = local_instant(self.tz, d, r.random_range(9 * 3600..19 * 3600));
                carry
                    .outbound
                    .entry(d)
                    .or_default()
                    .push((at, s.cust, seller));
            }
        }
        if r.random_bool(0.45) {
            self.convert(world, r, cur, t, seller, company, n);
        } else {
            if r.random_bool(0.3) {
                t += r.random_range(DAY..7 * DAY);
                cur.status = "Closed - Not Converted";
                cur.modified = t;
                self.push_lead(cur.clone());
            }
            if r.random_bool(0.06) {
                t += r.random_range(3600..10 * DAY);
                cur.deleted = true;
                cur.modified = t;
                self.push_lead(cur);
            }
        }
    }

    /// Converts `lead` into an Account and an Opportunity and plays the opportunity out.
    #[allow(clippy::too_many_arguments)]
    fn convert(
        &mut self,
        world: &World,
        r: &mut SimRng,
        mut lead: LeadRec,
        t: i64,
        seller: usize,
        company: String,
        n: u64,
    ) {
        let t_conv = t + r.random_range(1800..4 * DAY);
        let conv_date = local_date(self.tz, t_conv);
        let owner = world.agents[seller].id;
        let planned = r.random_range(20_000..2_500_000i64);
        let mut acc = AccountRec {
            id: self.account_ids.next_id(),
            name: company.clone(),
            phone: phone::crm_format(r, n),
            industry: pick(r, &INDUSTRIES),
            city: pick(r, &CITIES),
            owner,
            description: description(r),
            created: t_conv,
            modified: t_conv,
            deleted: false,
        };
        if acc.id.key() % 100 < 15 {
            // Hazard: the Account lands two days after the lead conversion that names it (and
            // after the calls of its phone).
            self.push_account_at(acc.clone(), t_conv + 2 * DAY);
        } else {
            self.push_account(acc.clone());
        }
        let mut opp = OppRec {
            id: self.opp_ids.next_id(),
            account: acc.id,
            name: format!("{company} - {}", pick(r, &PRODUCTS)),
            stage: "Prospecting",
            amount: r.random_bool(0.5).then_some(planned),
            probability: 10,
            close: conv_date + Duration::days(r.random_range(14..45)),
            closed: false,
            won: false,
            source: lead.source,
            owner,
            description: description(r),
            created: t_conv,
            modified: t_conv,
            deleted: false,
        };
        self.push_opp(opp.clone());
        lead.converted = true;
        lead.status = "Closed - Converted";
        lead.converted_date = Some(conv_date);
        lead.converted_account = Some(acc.id);
        lead.converted_opportunity = Some(opp.id);
        lead.modified = t_conv;
        self.push_lead(lead);

        let mut t2 = t_conv;
        if r.random_bool(0.4) {
            t2 += r.random_range(3600..5 * DAY);
            opp.stage = "Negotiation/Review";
            opp.probability = 75;
            opp.amount = Some(planned);
            opp.modified = t2;
            self.push_opp(opp.clone());
        }
        let fate = r.random_range(0..10u32);
        if fate < 8 {
            let won = fate < 5;
            let t_close = t2 + r.random_range(3600..15 * DAY);
            opp.stage = if won { "Closed Won" } else { "Closed Lost" };
            opp.closed = true;
            opp.won = won;
            opp.probability = if won { 100 } else { 0 };
            if won || r.random_bool(0.5) {
                opp.amount = Some(opp.amount.unwrap_or(planned));
            }
            opp.close = local_date(self.tz, t_close);
            opp.modified = t_close;
            self.push_opp(opp.clone());
            if won {
                let amount = opp.amount.unwrap_or(planned);
                self.orders(r, acc.id, Some(opp.id), owner, amount, t_close);
                if r.random_bool(0.12) {
                    // CloseDate (and sometimes Amount) corrected days later.
                    let shift = r.random_range(1..6i64) * if r.random_bool(0.5) { 1 } else { -1 };
                    opp.close += Duration::days(shift);
                    if r.random_bool(0.3) {
                        opp.amount = Some(amount + amount / 10);
                    }
                    opp.modified += r.random_range(DAY..10 * DAY);
                    self.push_opp(opp.clone());
                }
                if r.random_bool(0.03) {
                    opp.deleted = true;
                    opp.modified += r.random_range(2 * DAY..12 * DAY);
                    self.push_opp(opp.clone());
                }
            }
        }
        if r.random_bool(0.05) {
            acc.name = format!("{} S.L.", acc.name);
            acc.modified = t_conv + r.random_range(2 * DAY..20 * DAY);
            self.push_account(acc.clone());
        }
        if acc.id.key() % 100 >= 97 {
            // Hazard: an Account deleted later (its orders and calls lose their customer).
            acc.deleted = true;
            acc.modified = t_conv + 3 * DAY + (acc.id.key() % 7) as i64 * DAY;
            self.push_account(acc);
        }
    }

    /// The order of a won opportunity (Draft, then Activated or Cancelled) and sometimes a
    /// renewal order without opportunity a month later.
    fn orders(
        &mut self,
        r: &mut SimRng,
        account: SfId,
        opp: Option<SfId>,
        owner: SfId,
        amount: i64,
        t_close: i64,
    ) {
        let t_o = t_close + r.random_range(600..7200);
        let t_act = t_o + r.random_range(60..3 * DAY);
        self.order_no += 1;
        let mut ord = OrderRec {
            id: self.order_ids.next_id(),
            number: self.order_no,
            account,
            opportunity: opp,
            owner,
            status: "Draft",
            effective: local_date(self.tz, t_act),
            total: if r.random_bool(0.9) {
                amount
            } else {
                amount * 9 / 10
            },
            created: t_o,
            modified: t_o,
            deleted: false,
        };
        self.push_order(ord.clone());
        let activated = !r.random_bool(0.06);
        ord.status = if activated { "Activated" } else { "Cancelled" };
        ord.modified = t_act;
        self.push_order(ord.clone());
        if activated && ord.id.key() % 100 < 3 {
            // Hazard: an activated Order deleted days later (it counts nowhere any more).
            ord.deleted = true;
            ord.modified = t_act + 2 * DAY + (ord.id.key() % 5) as i64 * DAY;
            self.push_order(ord);
        }
        if activated && opp.is_some() && r.random_bool(0.3) {
            let t_r = t_act + r.random_range(28 * DAY..35 * DAY);
            self.order_no += 1;
            let mut renewal = OrderRec {
                id: self.order_ids.next_id(),
                number: self.order_no,
                account,
                opportunity: None,
                owner,
                status: "Draft",
                effective: local_date(self.tz, t_r + 600),
                total: (amount / 4).max(1),
                created: t_r,
                modified: t_r,
                deleted: false,
            };
            self.push_order(renewal.clone());
            renewal.status = "Activated";
            renewal.modified = t_r + 600;
            self.push_order(renewal);
        }
    }

    /// Writes the six extracts of the day of `clock` (header-only when nothing changed).
    pub async fn write_day(
        &mut self,
        store: &Arc<dyn ObjectStore>,
        root: &Path,
        clock: &DayClock,
        day_index: i64,
        summary: &mut GenerateSummary,
    ) -> crate::Result<()> {
        let mut b = DayBatch::default();
        while let Some(e) = self.pending.first_entry() {
            if *e.key() > clock.date {
                break;
            }
            let x = e.remove();
            b.users.extend(x.users);
            b.accounts.extend(x.accounts);
            b.leads.extend(x.leads);
            b.opps.extend(x.opps);
            b.orders.extend(x.orders);
            b.quotas.extend(x.quotas);
        }
        let dt = clock.date.format("%Y-%m-%d").to_string();
        let mut r = rng::stream(self.seed, day_index, rng::HAZARDS ^ 0x40);
        let n = (b.users.len()
            + b.accounts.len()
            + b.leads.len()
            + b.opps.len()
            + b.orders.len()
            + b.quotas.len()) as u64;
        summary.add_file(write_object(store, root, &dt, &b.users, &style(&mut r)).await?);
        summary.add_file(write_object(store, root, &dt, &b.accounts, &style(&mut r)).await?);
        summary.add_file(write_object(store, root, &dt, &b.leads, &style(&mut r)).await?);
        summary.add_file(write_object(store, root, &dt, &b.opps, &style(&mut r)).await?);
        summary.add_file(write_object(store, root, &dt, &b.orders, &style(&mut r)).await?);
        summary.add_file(write_object(store, root, &dt, &b.quotas, &style(&mut r)).await?);
        summary.crm_rows += n;
        Ok(())
    }
}
