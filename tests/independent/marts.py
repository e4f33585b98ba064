"""An independent computation of the five KPI marts, straight from the raw landing zone.

It shares nothing with the Rust pipeline: the raw formats are parsed here with Python's csv,
json and gzip modules, local Asterisk times are converted with zoneinfo, phone numbers are
normalised with the `phonenumbers` library, and the marts are plain SQL run by DuckDB over the
tables this script builds in one pass over all landed data (no incremental logic at all).
The definitions are those of ../shared/spec/raw-contract.md and warehouse.md.

Usage as a library: `compute(raw_root, last_date, tz, thresholds)` returns a DuckDB connection
holding the tables kpi_sales_daily, kpi_agent_touch_daily, kpi_target_attainment,
kpi_customers_monthly and kpi_contact_center_daily.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import phonenumbers

UTC = dt.timezone.utc
CDR_COLUMNS = [
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "uniqueid", "userfield", "peeraccount", "linkedid", "sequence",
]
INBOUND = {"from-trunk", "from-pstn", "ext-did"}
OUTBOUND = {"from-internal"}
EXTENSION = re.compile(r"^[A-Za-z0-9_]+/([0-9]{2,6})-[0-9a-fA-F]+$")


# ---------------------------------------------------------------------------------------------
# Reading the landing zone


def landing_dirs(root: Path, source: str, last: dt.date):
    """(landing date, file) of every file of a source landed up to `last`, in date and name order."""
    base = root / source
    if not base.exists():
        return
    for part in sorted(base.iterdir()):
        if not part.name.startswith("dt="):
            continue
        day = dt.date.fromisoformat(part.name[3:])
        if day > last:
            continue
        for f in sorted(part.iterdir()):
            if f.name.startswith(("_", ".")):
                continue
            yield day, f


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def text_lines(path: Path):
    return read_bytes(path).decode("utf-8", errors="replace").splitlines()


# ---------------------------------------------------------------------------------------------
# Values


def e164(raw: str | None) -> str | None:
    if raw is None:
        return None
    t = raw.strip()
    if sum(c.isdigit() for c in t) < 7:
        return None
    for candidate in [t] + (["+" + t] if t.isdigit() and len(t) > 9 else []):
        try:
            n = phonenumbers.parse(candidate, "ES")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
    return None


def voice_channel(did: str) -> str:
    n = e164(did)
    if n is None:
        return "voice_other"
    t = phonenumbers.number_type(phonenumbers.parse(n, None))
    return {
        phonenumbers.PhoneNumberType.FIXED_LINE: "voice_geographic",
        phonenumbers.PhoneNumberType.MOBILE: "voice_mobile",
        phonenumbers.PhoneNumberType.TOLL_FREE: "voice_tollfree",
        phonenumbers.PhoneNumberType.SHARED_COST: "voice_shared_cost",
        phonenumbers.PhoneNumberType.PREMIUM_RATE: "voice_premium",
    }.get(t, "voice_other")


def sf_id18(s: str) -> str:
    s = s.strip()
    if len(s) == 18:
        return s
    if len(s) != 15 or not s.isalnum():
        raise ValueError(s)
    suffix = ""
    for i in range(3):
        chunk = s[i * 5:(i + 1) * 5]
        n = sum(1 << k for k, c in enumerate(chunk) if "A" <= c <= "Z")
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[n]
    return s + suffix


def sf_bool(s: str):
    t = s.strip().lower()
    if t == "":
        return None
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise ValueError(s)


def sf_datetime(s: str):
    t = s.strip()
    if not t:
        return None
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", t):
        t = t[:-2] + ":" + t[-2:]
    return dt.datetime.fromisoformat(t).astimezone(UTC)


def sf_date(s: str):
    t = s.strip()
    return dt.date.fromisoformat(t) if t else None


def sf_money(s: str):
    t = s.strip()
    if not t:
        return None
    if not re.fullmatch(r"[+-]?\d*(\.\d*)?", t) or t in ("", "+", "-", "."):
        raise ValueError(s)
    d = Decimal(t)
    if d != d.quantize(Decimal("0.01")):
        raise ValueError(s)
    return d.quantize(Decimal("0.01"))


def to_utc(local: dt.datetime, tz: ZoneInfo, hint: int | None) -> dt.datetime:
    """A wall-clock time as a UTC instant: in a repeated hour, the occurrence nearest the hint
    (the earlier one without a hint); in a skipped hour, read with the offset in force before."""
    a = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if a.astimezone(tz).replace(tzinfo=None) != local:
        before = (local - dt.timedelta(hours=3)).replace(tzinfo=tz)
        return (local - before.utcoffset()).replace(tzinfo=UTC)
    if a == b:
        return a
    early, late = min(a, b), max(a, b)
    if hint is not None and abs(late.timestamp() - hint) < abs(early.timestamp() - hint):
        return late
    return early


# ---------------------------------------------------------------------------------------------
# Sources


def read_cdr(root: Path, last: dt.date, tz: ZoneInfo):
    rows = {}
    for landed, f in landing_dirs(root, "pbx/cdr", last):
        if not (f.name.endswith(".csv") or f.name.endswith(".csv.gz")):
            continue
        text = read_bytes(f).decode("utf-8", errors="replace")
        for rec in csv.reader(io.StringIO(text)):
            if not rec or rec == [""]:
                continue
            if len(rec) != len(CDR_COLUMNS):
                continue
            r = dict(zip(CDR_COLUMNS, rec))
            try:
                start = dt.datetime.strptime(r["start"], "%Y-%m-%d %H:%M:%S")
                dt.datetime.strptime(r["end"], "%Y-%m-%d %H:%M:%S")
                if r["answer"]:
                    dt.datetime.strptime(r["answer"], "%Y-%m-%d %H:%M:%S")
                duration, billsec = int(r["duration"]), int(r["billsec"])
                seq = int(r["sequence"]) if r["sequence"] else 0
            except ValueError:
                continue
            if not r["uniqueid"]:
                continue
            key = (r["uniqueid"], seq)
            if key in rows:
                continue  # the first landed copy
            m = re.match(r"^(?:.*-)?(\d+)\.", r["uniqueid"])
            hint = int(m.group(1)) if m else None
            started = to_utc(start, tz, hint)
            ended = started + dt.timedelta(seconds=duration)
            rows[key] = dict(
                r,
                sequence=seq,
                started_at=started,
                ended_at=ended,
                answered_at=(ended - dt.timedelta(seconds=billsec)) if r["answer"] else None,
                billsec=billsec,
                linkedid=r["linkedid"] or r["uniqueid"],
            )
    return list(rows.values())


NUMERIC = {
    "ENTERQUEUE": [3], "CONNECT": [1, 3], "COMPLETECALLER": [1, 2, 3], "COMPLETEAGENT": [1, 2, 3],
    "BLINDTRANSFER": [3, 4], "ATTENDEDTRANSFER": [3, 4], "ABANDON": [1, 2, 3],
    "EXITWITHTIMEOUT": [1, 2, 3], "EXITEMPTY": [1, 2, 3], "EXITWITHKEY": [2, 3, 4], "RINGNOANSWER": [1],
}


def read_queue_log(root: Path, last: dt.date):
    seen = set()
    out = []
    for _, f in landing_dirs(root, "pbx/queue_log", last):
        for n, line in enumerate(text_lines(f), 1):
            if not line.strip():
                continue
            p = line.split("|")
            if len(p) < 5 or len(p) > 10:
                continue
            try:
                epoch = int(p[0].strip())
            except ValueError:
                continue
            p = p + [None] * (10 - len(p))
            if any(p[4 + d] not in (None, "") and not re.fullmatch(r"[+-]?\d+", p[4 + d]) for d in NUMERIC.get(p[4], [])):
                continue
            data = list(p[5:10])
            if p[4] == "ENTERQUEUE":
                data[1] = None  # the caller id is not part of the identity
            key = (epoch, p[1], p[2], p[3], p[4], *data)
            if key in seen:
                continue
            seen.add(key)
            out.append(dict(at=dt.datetime.fromtimestamp(epoch, UTC), callid=p[1], queue=p[2], agent=p[3], event=p[4],
                            data=p[5:10], line=n, file=str(f)))
    return out


def read_whatsapp(root: Path, last: dt.date):
    messages, statuses = {}, {}
    for _, f in landing_dirs(root, "pbx/whatsapp", last):
        if not any(f.name.endswith(e) for e in (".jsonl", ".json", ".jsonl.gz", ".json.gz")):
            continue
        for line in text_lines(f):
            if not line.strip():
                continue
            try:
                env = json.loads(line.lstrip("\ufeff"))
            except json.JSONDecodeError:
                continue
            for entry in env.get("entry") or []:
                for ch in entry.get("changes") or []:
                    if ch.get("field") != "messages":
                        continue
                    v = ch.get("value") or {}
                    business = e164((v.get("metadata") or {}).get("display_phone_number") or "")
                    for m in v.get("messages") or []:
                        try:
                            at = dt.datetime.fromtimestamp(int(m["timestamp"]), UTC)
                        except (KeyError, ValueError, TypeError):
                            continue
                        if m.get("id") and m.get("from") and m["id"] not in messages:
                            messages[m["id"]] = dict(id=m["id"], at=at, customer=e164(m["from"]), business=business)
                    for s in v.get("statuses") or []:
                        try:
                            at = dt.datetime.fromtimestamp(int(s["timestamp"]), UTC)
                        except (KeyError, ValueError, TypeError):
                            continue
                        key = (s.get("id"), s.get("status"))
                        if key[0] and key[1] and key not in statuses:
                            cb = s.get("biz_opaque_callback_data") or ""
                            agent = re.search(r"(?:^|;)agent=([^;]*)", cb)
                            queue = re.search(r"(?:^|;)queue=([^;]*)", cb)
                            statuses[key] = dict(id=key[0], status=key[1], at=at, customer=e164(s.get("recipient_id") or ""),
                                                 business=business, agent=agent.group(1) if agent else None,
                                                 queue=queue.group(1) if queue else None)
    return list(messages.values()), list(statuses.values())


SF = {
    "User": {"Id": sf_id18, "Extension": str, "LastModifiedDate": sf_datetime},
    "Account": {"Id": sf_id18, "Phone": str, "OwnerId": sf_id18, "CreatedDate": sf_datetime,
                "LastModifiedDate": sf_datetime, "IsDeleted": sf_bool},
    "Lead": {"Id": sf_id18, "Phone": str, "MobilePhone": str, "OwnerId": sf_id18, "IsConverted": sf_bool,
             "ConvertedDate": sf_date, "ConvertedAccountId": sf_id18, "ConvertedOpportunityId": sf_id18,
             "CreatedDate": sf_datetime, "LastModifiedDate": sf_datetime, "IsDeleted": sf_bool},
    "Opportunity": {"Id": sf_id18, "AccountId": sf_id18, "Amount": sf_money, "CloseDate": sf_date,
                    "IsClosed": sf_bool, "IsWon": sf_bool, "OwnerId": sf_id18, "CreatedDate": sf_datetime,
                    "LastModifiedDate": sf_datetime, "IsDeleted": sf_bool},
    "Order": {"Id": sf_id18, "AccountId": sf_id18, "OpportunityId": sf_id18, "OwnerId": sf_id18, "Status": str,
              "EffectiveDate": sf_date, "TotalAmount": sf_money, "LastModifiedDate": sf_datetime,
              "IsDeleted": sf_bool},
    "ForecastingQuota": {"Id": sf_id18, "QuotaOwnerId": sf_id18, "StartDate": sf_date, "QuotaAmount": sf_money,
                         "LastModifiedDate": sf_datetime},
}
# Every column a reader rejects a row for when unparseable: all of the above (the rows the Rust
# pipeline rejects are the same rows: a field it reads that does not parse).
ALL_READ = {
    "User": ["Name", "Email", "Department", "IsActive", "ManagerId"],
    "Account": ["Name", "Industry", "BillingCity"],
    "Lead": ["FirstName", "LastName", "Company", "Email", "LeadSource", "Status"],
    "Opportunity": ["Name", "StageName", "LeadSource"],
    "Order": ["OrderNumber", "CreatedDate"],
    "ForecastingQuota": [],
}
EXTRA_PARSERS = {"IsActive": sf_bool, "ManagerId": sf_id18, "CreatedDate": sf_datetime}
# Columns a row cannot do without (an empty one rejects the row).
REQUIRED = {
    "User": ["Id", "LastModifiedDate"],
    "Account": ["Id", "CreatedDate", "LastModifiedDate"],
    "Lead": ["Id", "CreatedDate", "LastModifiedDate"],
    "Opportunity": ["Id", "CloseDate", "CreatedDate", "LastModifiedDate"],
    "Order": ["Id", "Status", "EffectiveDate", "LastModifiedDate"],
    "ForecastingQuota": ["Id", "QuotaOwnerId", "StartDate", "QuotaAmount", "LastModifiedDate"],
}


def read_salesforce(root: Path, last: dt.date, obj: str):
    """Every version of the object's records: (record dict, landing date, file, line)."""
    versions = []
    for landed, f in landing_dirs(root, f"crm/{obj}", last):
        text = read_bytes(f).decode("utf-8", errors="replace").lstrip("\ufeff")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            continue
        index = {h.strip().lower(): i for i, h in enumerate(header)}
        for rec in reader:
            start_line = reader.line_num - sum(v.count("\n") for v in rec)
            if len(rec) != len(header):
                continue
            r, ok = {}, True
            for col, parse in list(SF[obj].items()) + [(c, EXTRA_PARSERS.get(c, str)) for c in ALL_READ[obj]]:
                i = index.get(col.lower())
                raw = rec[i] if i is not None else ""
                try:
                    value = parse(raw) if raw.strip() or parse is str else None
                except (ValueError, InvalidOperation):
                    ok = False
                    break
                r[col] = (value if value != "" else None) if parse is str else value
            if ok and all(r.get(c) is not None for c in REQUIRED[obj]):
                versions.append((r, landed, str(f), start_line))
    return versions


def current(versions):
    """The latest version of each record: LastModifiedDate, then landing date, file and line."""
    best = {}
    for r, landed, f, line in versions:
        key = (r["LastModifiedDate"], landed, f, line)
        if r["Id"] not in best or key > best[r["Id"]][0]:
            best[r["Id"]] = (key, r)
    return [r for _, r in best.values()]


# ---------------------------------------------------------------------------------------------
# The computation


def compute(root: Path, last: dt.date, tz_name: str = "Europe/Madrid", voice_sl: int = 20, messaging_sl: int = 300):
    tz = ZoneInfo(tz_name)
    local = lambda t: t.astimezone(tz).date()  # noqa: E731

    # Agents: every version of every user, and the extension owner at a time.
    user_versions = sorted({(r["Id"], r["LastModifiedDate"]): r for r, *_ in read_salesforce(root, last, "User")}.values(),
                           key=lambda r: (r["Id"], r["LastModifiedDate"]))
    by_user = {}
    for r in user_versions:
        by_user.setdefault(r["Id"], []).append(r)
    intervals = []
    for uid, vs in by_user.items():
        for i, v in enumerate(vs):
            lo = None if i == 0 else v["LastModifiedDate"]
            hi = vs[i + 1]["LastModifiedDate"] if i + 1 < len(vs) else None
            ext = (v.get("Extension") or "").strip() or None
            intervals.append((ext, lo, hi, uid))

    def agent_of(ext, at):
        for e, lo, hi, uid in sorted(intervals, key=lambda x: x[3]):
            if e == ext and (lo is None or at >= lo) and (hi is None or at < hi):
                return uid
        return f"ext:{ext}"

    # Calls.
    cdr = read_cdr(root, last, tz)
    calls = {}
    for r in cdr:
        calls.setdefault(r["linkedid"], []).append(r)
    call_rows, handlers = [], []
    for cid, legs in calls.items():
        start = min(l["started_at"] for l in legs)
        primary = sorted([l for l in legs if l["uniqueid"] == l["linkedid"]], key=lambda l: (l["started_at"], l["sequence"]))
        p = primary[0] if primary else None
        ctx = None if p is None else ("inbound" if p["dcontext"] in INBOUND else "outbound" if p["dcontext"] in OUTBOUND else "other")
        dst_ext = p is not None and re.fullmatch(r"[0-9]{2,6}", p["dst"]) is not None
        direction = ("unknown" if p is None else "inbound" if ctx == "inbound" else
                     ("internal" if dst_ext else "outbound") if ctx == "outbound" else "other")
        channel = voice_channel(p["dst"]) if direction == "inbound" else "voice_outbound" if direction == "outbound" else "unknown"
        phone = None
        if direction == "inbound" and not re.fullmatch(r"[0-9]{2,6}", p["src"]):
            phone = e164(p["src"])
        if direction == "outbound":
            phone = e164(p["dst"])
        call_rows.append(dict(call_id=cid, start=start, direction=direction, channel=channel, phone=phone))
        for l in legs:
            if l["disposition"] != "ANSWERED" or l["answered_at"] is None:
                continue
            m = EXTENSION.match(l["channel"] if direction == "outbound" else l["dstchannel"])
            if m:
                handlers.append(dict(call_id=cid, agent=agent_of(m.group(1), l["answered_at"]), phone=phone,
                                     date=local(start), interaction=direction in ("inbound", "outbound")))

    # Conversations: 24-hour silences split them.
    messages, statuses = read_whatsapp(root, last)
    stream = {}
    for m in messages:
        stream.setdefault((m["customer"], m["business"]), []).append((m["at"], m["id"], "in", None, None))
    for s in statuses:
        if s["status"] == "sent":
            stream.setdefault((s["customer"], s["business"]), []).append((s["at"], s["id"], "out", s["agent"], s["queue"]))
    conversations, wa_touches = [], []
    for (customer, business), items in stream.items():
        items.sort(key=lambda x: (x[0], x[1]))
        sessions, cur, prev = [], None, None
        for it in items:
            if prev is None or (it[0] - prev).total_seconds() >= 86400:
                cur = []
                sessions.append(cur)
            cur.append(it)
            prev = it[0]
        for ses in sessions:
            first_in = next((x[0] for x in ses if x[2] == "in"), None)
            reply = next((x for x in ses if x[2] == "out" and x[3] is not None and first_in is not None and x[0] >= first_in), None)
            conversations.append(dict(start=ses[0][0], phone=customer, has_inbound=first_in is not None,
                                      answered=reply is not None,
                                      wait=int((reply[0] - first_in).total_seconds()) if reply else None,
                                      queue=(reply[4] if reply and reply[4] else "(unassigned)")))
            for x in ses:
                if x[2] == "out" and x[3] is not None and customer is not None:
                    wa_touches.append(dict(phone=customer, agent=agent_of(x[3], x[0]), date=local(ses[0][0])))

    # Interactions of a phone.
    interactions = {}
    for c in call_rows:
        if c["direction"] in ("inbound", "outbound") and c["phone"]:
            interactions.setdefault(c["phone"], []).append((c["start"], c["channel"]))
    for c in conversations:
        if c["phone"]:
            interactions.setdefault(c["phone"], []).append((c["start"], "whatsapp"))

    def first_contact(phones, ref):
        cands = [(t, ch) for p in phones if p for (t, ch) in interactions.get(p, []) if t <= ref]
        return min(cands)[1] if cands else "unknown"

    touches = {}
    for h in handlers:
        if h["interaction"] and h["phone"]:
            touches.setdefault(h["phone"], []).append((h["date"], h["agent"]))
    for t in wa_touches:
        touches.setdefault(t["phone"], []).append((t["date"], t["agent"]))

    # CRM current state.
    live = lambda rows: [r for r in rows if not r.get("IsDeleted")]  # noqa: E731
    accounts = {r["Id"]: r for r in live(current(read_salesforce(root, last, "Account")))}
    leads = live(current(read_salesforce(root, last, "Lead")))
    opps = {r["Id"]: r for r in live(current(read_salesforce(root, last, "Opportunity")))}
    orders = live(current(read_salesforce(root, last, "Order")))
    quotas = current(read_salesforce(root, last, "ForecastingQuota"))

    lead_phones = {l["Id"]: [e164(l.get("Phone")), e164(l.get("MobilePhone"))] for l in leads}
    account_phones = {a: [e164(r.get("Phone"))] for a, r in accounts.items()}
    for l in leads:
        if l.get("IsConverted") and l.get("ConvertedAccountId") in accounts:
            account_phones[l["ConvertedAccountId"]] += lead_phones[l["Id"]]
    lead_channel = {l["Id"]: first_contact(lead_phones[l["Id"]], l["CreatedDate"]) for l in leads}
    account_channel = {a: first_contact(account_phones[a], r["CreatedDate"]) for a, r in accounts.items()}
    opp_phones, opp_channel = {}, {}
    for o in opps.values():
        converted = sorted([l for l in leads if l.get("ConvertedOpportunityId") == o["Id"]], key=lambda l: (l["CreatedDate"], l["Id"]))
        opp_phones[o["Id"]] = [p for l in converted for p in lead_phones[l["Id"]]] + account_phones.get(o.get("AccountId"), [])
        opp_channel[o["Id"]] = (lead_channel[converted[0]["Id"]] if converted else
                                account_channel.get(o.get("AccountId"), "unknown"))

    def order_channel(r):
        if r.get("OpportunityId") in opps:
            return opp_channel[r["OpportunityId"]]
        return account_channel.get(r.get("AccountId"), "unknown")

    def touching(phones, day):
        return sorted({a for p in phones if p for (d, a) in touches.get(p, []) if d <= day})

    # Tables for DuckDB.
    con = duckdb.connect()
    con.execute("CREATE TABLE sales (dt DATE, channel VARCHAR, agent_id VARCHAR, lc INT, lv INT, oc INT, ow INT, wa DECIMAL(18,2), ol INT, o INT, oa DECIMAL(18,2))")
    sales = []
    for l in leads:
        sales.append((local(l["CreatedDate"]), lead_channel[l["Id"]], l.get("OwnerId") or "unknown", 1, 0, 0, 0, 0, 0, 0, 0))
        if l.get("IsConverted") and l.get("ConvertedDate"):
            sales.append((l["ConvertedDate"], lead_channel[l["Id"]], l.get("OwnerId") or "unknown", 0, 1, 0, 0, 0, 0, 0, 0))
    for o in opps.values():
        owner = o.get("OwnerId") or "unknown"
        sales.append((local(o["CreatedDate"]), opp_channel[o["Id"]], owner, 0, 0, 1, 0, 0, 0, 0, 0))
        if o.get("IsWon"):
            sales.append((o["CloseDate"], opp_channel[o["Id"]], owner, 0, 0, 0, 1, o.get("Amount") or 0, 0, 0, 0))
        elif o.get("IsClosed"):
            sales.append((o["CloseDate"], opp_channel[o["Id"]], owner, 0, 0, 0, 0, 0, 1, 0, 0))
    for r in orders:
        if r.get("Status") == "Activated":
            sales.append((r["EffectiveDate"], order_channel(r), r.get("OwnerId") or "unknown", 0, 0, 0, 0, 0, 0, 1, r.get("TotalAmount") or 0))
    con.executemany("INSERT INTO sales VALUES (?,?,?,?,?,?,?,?,?,?,?)", sales)
    con.execute("""
        CREATE TABLE kpi_sales_daily AS
        SELECT dt, channel, agent_id, SUM(lc) AS leads_created, SUM(lv) AS leads_converted,
               SUM(oc) AS opportunities_created, SUM(ow) AS opportunities_won, SUM(wa) AS won_amount,
               SUM(ol) AS opportunities_lost,
               CASE WHEN SUM(ow) + SUM(ol) = 0 THEN NULL ELSE SUM(ow) / (SUM(ow) + SUM(ol)) END AS win_rate,
               SUM(o) AS orders, SUM(oa) AS order_amount,
               CASE WHEN SUM(o) = 0 THEN NULL ELSE CAST(SUM(oa) AS DOUBLE) / SUM(o) END AS average_order_value
        FROM sales GROUP BY dt, channel, agent_id
        HAVING SUM(lc) + SUM(lv) + SUM(oc) + SUM(ow) + SUM(ol) + SUM(o) > 0""")

    # Agent touches: credited in cents, remainders to the first agents by id.
    con.execute("CREATE TABLE touch (kind VARCHAR, id VARCHAR, dt DATE, amount DECIMAL(18,2), agent_id VARCHAR)")
    touch_rows = []
    for o in opps.values():
        if o.get("IsWon"):
            for a in touching(opp_phones[o["Id"]], o["CloseDate"]):
                touch_rows.append(("opportunity", o["Id"], o["CloseDate"], o.get("Amount") or 0, a))
    for r in orders:
        if r.get("Status") != "Activated":
            continue
        phones = opp_phones[r["OpportunityId"]] if r.get("OpportunityId") in opps else account_phones.get(r.get("AccountId"), [])
        for a in touching(phones, r["EffectiveDate"]):
            touch_rows.append(("order", r["Id"], r["EffectiveDate"], r.get("TotalAmount") or 0, a))
    if touch_rows:
        con.executemany("INSERT INTO touch VALUES (?,?,?,?,?)", touch_rows)
    con.execute("""
        CREATE TABLE kpi_agent_touch_daily AS
        WITH t AS (
            SELECT *, COUNT(*) OVER (PARTITION BY kind, id) AS n,
                   ROW_NUMBER() OVER (PARTITION BY kind, id ORDER BY agent_id) AS k,
                   CAST(amount * 100 AS BIGINT) AS cents FROM touch),
        c AS (SELECT *, cents // n + CASE WHEN k <= cents % n THEN 1 ELSE 0 END AS credited FROM t)
        SELECT dt, agent_id,
               SUM(CASE WHEN kind = 'opportunity' THEN 1 ELSE 0 END) AS opportunities_won_touched,
               SUM(CASE WHEN kind = 'opportunity' THEN amount ELSE 0 END) AS won_amount_touched,
               CAST(SUM(CASE WHEN kind = 'opportunity' THEN credited ELSE 0 END) / 100 AS DECIMAL(18,2)) AS won_amount_credited,
               SUM(CASE WHEN kind = 'order' THEN 1 ELSE 0 END) AS orders_touched,
               SUM(CASE WHEN kind = 'order' THEN amount ELSE 0 END) AS order_amount_touched,
               CAST(SUM(CASE WHEN kind = 'order' THEN credited ELSE 0 END) / 100 AS DECIMAL(18,2)) AS order_amount_credited
        FROM c GROUP BY dt, agent_id""")

    # Target attainment: every day of a quota month up to the last landing date.
    con.execute("CREATE TABLE quota (agent_id VARCHAR, month DATE, amount DECIMAL(18,2))")
    if quotas:
        con.executemany("INSERT INTO quota VALUES (?,?,?)", [(q["QuotaOwnerId"], q["StartDate"], q["QuotaAmount"]) for q in quotas])
    con.execute("CREATE TABLE won (agent_id VARCHAR, close_date DATE, amount DECIMAL(18,2))")
    won = [(o.get("OwnerId"), o["CloseDate"], o.get("Amount") or 0) for o in opps.values() if o.get("IsWon")]
    if won:
        con.executemany("INSERT INTO won VALUES (?,?,?)", won)
    con.execute(f"""
        CREATE TABLE kpi_target_attainment AS
        WITH q AS (SELECT agent_id, month, SUM(amount) AS quota_amount FROM quota GROUP BY 1, 2),
        days AS (
            SELECT q.*, CAST(d AS DATE) AS dt FROM q,
            generate_series(q.month, LEAST(q.month + INTERVAL 1 MONTH - INTERVAL 1 DAY, DATE '{last}'), INTERVAL 1 DAY) AS g(d)),
        m AS (
            SELECT d.dt, d.agent_id, d.quota_amount, COALESCE(SUM(w.amount), 0) AS won_amount_mtd
            FROM days d LEFT JOIN won w ON w.agent_id = d.agent_id AND w.close_date BETWEEN d.month AND d.dt
            GROUP BY 1, 2, 3)
        SELECT dt, agent_id, quota_amount, won_amount_mtd,
               CASE WHEN quota_amount = 0 THEN NULL ELSE CAST(won_amount_mtd AS DOUBLE) / CAST(quota_amount AS DOUBLE) END AS attainment,
               CASE WHEN quota_amount = 0 THEN NULL ELSE CAST(won_amount_mtd AS DOUBLE) / CAST(quota_amount AS DOUBLE) >= 1 END AS target_met
        FROM m""")

    # Customers per month.
    con.execute("CREATE TABLE acct (account_id VARCHAR, channel VARCHAR, agent_id VARCHAR)")
    if accounts:
        con.executemany("INSERT INTO acct VALUES (?,?,?)", [(a, account_channel[a], r.get("OwnerId") or "unknown") for a, r in accounts.items()])
    con.execute("CREATE TABLE ord (account_id VARCHAR, month DATE, amount DECIMAL(18,2))")
    ords = [(r["AccountId"], r["EffectiveDate"].replace(day=1), r.get("TotalAmount") or 0) for r in orders
            if r.get("Status") == "Activated" and r.get("AccountId")]
    if ords:
        con.executemany("INSERT INTO ord VALUES (?,?,?)", ords)
    con.execute(f"""
        CREATE TABLE kpi_customers_monthly AS
        WITH per AS (SELECT account_id, month, COUNT(*) AS orders, SUM(amount) AS amount FROM ord GROUP BY 1, 2),
        prior AS (SELECT account_id, CAST(month + INTERVAL 1 MONTH AS DATE) AS month FROM per),
        c AS (
            SELECT COALESCE(p.account_id, r.account_id) AS account_id, COALESCE(p.month, r.month) AS month,
                   COALESCE(p.orders, 0) AS orders, COALESCE(p.amount, 0) AS amount,
                   CASE WHEN p.account_id IS NULL THEN 0 ELSE 1 END AS active,
                   CASE WHEN r.account_id IS NULL THEN 0 ELSE 1 END AS was_prior
            FROM per p FULL OUTER JOIN prior r ON r.account_id = p.account_id AND r.month = p.month),
        t AS (
            SELECT c.month, a.channel, a.agent_id, SUM(active) AS active_customers, SUM(orders) AS orders,
                   SUM(amount) AS order_amount, SUM(was_prior) AS prior_customers, SUM(active * was_prior) AS retained_customers
            FROM c JOIN acct a USING (account_id) GROUP BY 1, 2, 3)
        SELECT month, channel, agent_id, active_customers, orders, order_amount,
               CASE WHEN active_customers = 0 THEN NULL ELSE orders / active_customers END AS orders_per_customer,
               CASE WHEN active_customers = 0 THEN NULL ELSE CAST(order_amount AS DOUBLE) / active_customers END AS value_per_customer,
               prior_customers, retained_customers,
               CASE WHEN prior_customers = 0 THEN NULL ELSE retained_customers / prior_customers END AS retention_rate
        FROM t WHERE active_customers + orders + prior_customers + retained_customers > 0
          -- Months run up to the last landing date's month: none that has not begun.
          AND month <= DATE_TRUNC('month', DATE '{last}')""")

    # Contact centre.
    ql = read_queue_log(root, last)
    by_call_queue = {}
    for e in ql:
        if e["callid"] != "NONE":
            by_call_queue.setdefault((e["callid"], e["queue"]), []).append(e)
    channel_of = {c["call_id"]: c["channel"] for c in call_rows}
    contacts = []
    for (cid, queue), events in by_call_queue.items():
        events.sort(key=lambda e: (e["at"], e["file"], e["line"]))
        enters = [e for e in events if e["event"] == "ENTERQUEUE"]
        for i, en in enumerate(enters):
            nxt = enters[i + 1]["at"] if i + 1 < len(enters) else None
            window = [e for e in events if e["at"] >= en["at"] and (nxt is None or e["at"] < nxt)]
            term = next((e for e in window if e["event"] in ("CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY")), None)
            done = next((e for e in window if e["event"] in ("COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER")), None)
            outcome = "unknown" if term is None else {"CONNECT": "answered", "ABANDON": "abandoned"}.get(term["event"], "timeout")
            wait = None
            if term is not None and term["event"] == "CONNECT":
                wait = int(term["data"][0]) if term["data"][0] else None
            elif term is not None and term["event"] == "ABANDON":
                wait = int(term["data"][2]) if term["data"][2] else None
            talk = None
            if outcome == "answered":
                talk = 0
                if done is not None:
                    field = done["data"][1] if done["event"].startswith("COMPLETE") else done["data"][3]
                    talk = int(field) if field else 0
            contacts.append((local(en["at"]), channel_of.get(cid, "unknown"), queue or "unknown", "voice", outcome, wait, talk))
    for c in conversations:
        if c["has_inbound"]:
            contacts.append((local(c["start"]), "whatsapp", c["queue"], "messaging",
                             "answered" if c["answered"] else "abandoned", c["wait"], None))
    con.execute("CREATE TABLE contacts (dt DATE, channel VARCHAR, queue VARCHAR, grp VARCHAR, outcome VARCHAR, wait BIGINT, talk BIGINT)")
    if contacts:
        con.executemany("INSERT INTO contacts VALUES (?,?,?,?,?,?,?)", contacts)
    con.execute(f"""
        CREATE TABLE kpi_contact_center_daily AS
        WITH t AS (
            SELECT dt, channel, queue, MIN(grp) AS grp, COUNT(*) AS offered,
                   SUM(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) AS answered,
                   SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS abandoned,
                   SUM(CASE WHEN outcome NOT IN ('answered', 'abandoned') THEN 1 ELSE 0 END) AS unanswered_other,
                   SUM(CASE WHEN outcome = 'answered' AND wait <= CASE WHEN grp = 'voice' THEN {voice_sl} ELSE {messaging_sl} END THEN 1 ELSE 0 END) AS answered_within_sl,
                   COALESCE(SUM(CASE WHEN outcome = 'answered' THEN wait END), 0) AS wait_answered_s,
                   SUM(CASE WHEN outcome = 'answered' THEN talk END) AS talk
            FROM contacts GROUP BY 1, 2, 3)
        SELECT dt, channel, queue, offered, answered, abandoned, unanswered_other, answered_within_sl,
               CAST(answered_within_sl AS DOUBLE) / offered AS service_level,
               wait_answered_s,
               CASE WHEN answered = 0 THEN NULL ELSE CAST(wait_answered_s AS DOUBLE) / answered END AS avg_wait_answered_s,
               CASE WHEN grp = 'voice' THEN COALESCE(talk, 0) END AS talk_s,
               CASE WHEN grp = 'voice' AND answered > 0 THEN CAST(COALESCE(talk, 0) AS DOUBLE) / answered END AS avg_talk_s
        FROM t""")
    return con


# The columns compared, per mart, in the warehouse's names.
MARTS = {
    "kpi_sales_daily": ("dt", ["dt", "channel", "agent_id", "leads_created", "leads_converted", "opportunities_created",
                               "opportunities_won", "won_amount", "opportunities_lost", "win_rate", "orders",
                               "order_amount", "average_order_value"]),
    "kpi_agent_touch_daily": ("dt", ["dt", "agent_id", "opportunities_won_touched", "won_amount_touched",
                                     "won_amount_credited", "orders_touched", "order_amount_touched",
                                     "order_amount_credited"]),
    "kpi_target_attainment": ("dt", ["dt", "agent_id", "quota_amount", "won_amount_mtd", "attainment", "target_met"]),
    "kpi_customers_monthly": ("month", ["month", "channel", "agent_id", "active_customers", "orders", "order_amount",
                                        "orders_per_customer", "value_per_customer", "prior_customers",
                                        "retained_customers", "retention_rate"]),
    "kpi_contact_center_daily": ("dt", ["dt", "channel", "queue", "offered", "answered", "abandoned", "unanswered_other",
                                        "answered_within_sl", "service_level", "wait_answered_s", "avg_wait_answered_s",
                                        "talk_s", "avg_talk_s"]),
}


def normalise(row):
    out = []
    for v in row:
        if isinstance(v, float):
            v = round(v, 9)
        elif isinstance(v, Decimal):
            v = str(v.quantize(Decimal("0.01")))
        elif isinstance(v, (dt.date, dt.datetime)):
            v = v.isoformat()[:10]
        elif isinstance(v, int) and not isinstance(v, bool):
            v = int(v)
        out.append(v)
    return tuple(out)


def rows_of(con, sql):
    return sorted((normalise(r) for r in con.execute(sql).fetchall()), key=repr)


def compare(expected_con, warehouse: Path):
    """Differences between the independent marts and the warehouse's, per mart (empty: equal)."""
    wh = duckdb.connect()
    diffs = {}
    for mart, (part, cols) in MARTS.items():
        files = os.path.join(str(warehouse), mart, "*", "*.parquet")
        select = ", ".join(f'"{c}"' for c in cols)
        got = rows_of(wh, f"SELECT {select} FROM read_parquet('{files}', hive_partitioning = true, hive_types = {{'{part}': DATE}})")
        want = rows_of(expected_con, f"SELECT {select} FROM {mart}")
        if got != want:
            g, w = set(got), set(want)
            diffs[mart] = dict(missing=sorted(w - g, key=repr)[:5], unexpected=sorted(g - w, key=repr)[:5],
                               counts=(len(want), len(got)))
    return diffs
