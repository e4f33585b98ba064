//! The star schema: grains, keys, SCD2 versions, call grouping, conversations, first contact,
//! unknown members (nightly runs converging to a full refresh: `convergence.rs`).

use std::path::Path;

use datafusion::arrow::datatypes::DataType;
use kpi_etl::run::{backfill, run_date};
use kpi_etl::storage::Location;
use kpi_etl::transform::runner::NoProgress;
use kpi_etl::warehouse::Warehouse;
use kpi_etl_generate::{GenerateOptions, generate};

use crate::common::{d, put, settings};

/// Runs `sql` over the whole warehouse (every table registered) and returns sorted text rows.
async fn sql(wh: &Path, sql: &str) -> Vec<String> {
    crate::common::sql_rows(wh, sql, " | ", true).await
}

async fn generated(raw: &Path, from: &str, to: &str, calls: u64) {
    let loc = Location::open(&raw.to_string_lossy()).unwrap();
    let opts = GenerateOptions {
        from: d(from),
        to: d(to),
        calls_per_day: calls,
        seed: 5,
        timezone: chrono_tz::Europe::Madrid,
    };
    generate(loc.store.clone(), &loc.prefix, &opts)
        .await
        .unwrap();
}

const FACT_KEYS: [(&str, &str, &str, &str); 11] = [
    ("fact_call", "agent_key", "dim_agent", "agent_key"),
    ("fact_call", "customer_key", "dim_customer", "customer_key"),
    ("fact_call", "queue_key", "dim_queue", "queue_key"),
    ("fact_queue_call", "queue_key", "dim_queue", "queue_key"),
    ("fact_queue_call", "agent_key", "dim_agent", "agent_key"),
    ("fact_conversation", "agent_key", "dim_agent", "agent_key"),
    (
        "fact_conversation",
        "customer_key",
        "dim_customer",
        "customer_key",
    ),
    ("fact_conversation", "queue_key", "dim_queue", "queue_key"),
    ("fact_lead", "agent_key", "dim_agent", "agent_key"),
    (
        "fact_opportunity",
        "customer_key",
        "dim_customer",
        "customer_key",
    ),
    ("fact_order", "customer_key", "dim_customer", "customer_key"),
];

#[tokio::test]
async fn grains_keys_and_scd2_versions_hold_on_generated_data() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    generated(raw.path(), "2026-10-19", "2026-10-25", 500).await;
    backfill(
        &settings(raw.path(), wh.path()),
        d("2026-10-19"),
        d("2026-10-25"),
        &NoProgress,
    )
    .await
    .unwrap();
    let w = wh.path();
    for (table, grain) in [
        ("fact_call", "call_id"),
        ("fact_conversation", "conversation_id"),
        ("fact_queue_call", "call_id, queue_key, entered_at"),
        ("fact_lead", "lead_id"),
        ("fact_opportunity", "opportunity_id"),
        ("fact_order", "order_id"),
        ("fact_sales_target", "quota_id"),
        ("bridge_agent_touch", "subject_type, subject_id, agent_id"),
        ("dim_agent", "agent_key"),
        ("dim_customer", "customer_key"),
        ("dim_queue", "queue_key"),
        ("dim_date", "date_key"),
        ("dim_channel", "channel"),
    ] {
        let dups = sql(w, &format!("SELECT COUNT(*) FROM (SELECT {grain} FROM {table} GROUP BY {grain} HAVING COUNT(*) > 1)")).await;
        assert_eq!(dups, vec!["0"], "{table} is unique on ({grain})");
        let n = sql(w, &format!("SELECT COUNT(*) > 0 FROM {table}")).await;
        assert_eq!(n, vec!["true"], "{table} has rows");
    }
    for (fact, col, dim, key) in FACT_KEYS {
        let orphans = sql(w, &format!("SELECT COUNT(*) FROM {fact} f WHERE f.{col} IS NULL OR NOT EXISTS (SELECT 1 FROM {dim} d WHERE d.{key} = f.{col})")).await;
        assert_eq!(orphans, vec!["0"], "{fact}.{col} exists in {dim}");
    }
    for (dim, key) in [
        ("dim_agent", "agent_key"),
        ("dim_customer", "customer_key"),
        ("dim_queue", "queue_key"),
        ("dim_date", "date_key"),
        ("dim_channel", "channel_key"),
    ] {
        assert_eq!(
            sql(w, &format!("SELECT COUNT(*) FROM {dim} WHERE {key} = -1")).await,
            vec!["1"],
            "{dim} has the unknown member"
        );
    }
    for (dim, id) in [("dim_agent", "agent_id"), ("dim_customer", "account_id")] {
        let overlaps = sql(w, &format!(
            "SELECT COUNT(*) FROM {dim} a JOIN {dim} b ON a.{id} = b.{id} AND a.valid_from < b.valid_from AND b.valid_from < a.valid_to")).await;
        assert_eq!(overlaps, vec!["0"], "{dim}: versions never overlap");
        let current = sql(w, &format!("SELECT COUNT(*) FROM (SELECT {id} FROM {dim} GROUP BY {id} HAVING SUM(CASE WHEN is_current THEN 1 ELSE 0 END) <> 1)")).await;
        assert_eq!(current, vec!["0"], "{dim}: exactly one current version");
    }
    let versions = sql(w, "SELECT COUNT(*) > 0 FROM (SELECT agent_id FROM dim_agent GROUP BY agent_id HAVING COUNT(*) > 1)").await;
    assert_eq!(
        versions,
        vec!["true"],
        "the generator's extension change makes a second version"
    );
    let weights = sql(w, "SELECT COUNT(*) FROM (SELECT subject_id FROM bridge_agent_touch GROUP BY subject_type, subject_id HAVING abs(SUM(weight) - 1.0) > 1e-9)").await;
    assert_eq!(weights, vec!["0"], "weights of a subject sum to 1");
    // No raw phone number or WhatsApp id anywhere: every hash column is 64 hex characters.
    let (ctx, tables) = Warehouse::open(&w.to_string_lossy())
        .unwrap()
        .session(chrono_tz::Europe::Madrid)
        .await
        .unwrap();
    for t in tables {
        let schema = ctx.table(t.name.as_str()).await.unwrap().schema().clone();
        for f in schema.fields() {
            if f.name().ends_with("_hash") && f.data_type() == &DataType::Utf8 {
                let bad = sql(w, &format!("SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL AND NOT regexp_like({}, '^[0-9a-f]{{64}}$')", t.name, f.name(), f.name())).await;
                assert_eq!(
                    bad,
                    vec!["0"],
                    "{}.{} holds only keyed hashes",
                    t.name,
                    f.name()
                );
            }
        }
    }
}

/// One CDR row of a call (linkedid 1795683600.1) to the toll-free DID.
struct Leg<'a> {
    uniqueid: &'a str,
    seq: u32,
    ctx: &'a str,
    channel: &'a str,
    dstchannel: &'a str,
    start: &'a str,
    answer: &'a str,
    billsec: u32,
    disposition: &'a str,
}

/// The Master.csv line of a leg.
fn leg(l: Leg) -> String {
    let Leg {
        uniqueid,
        seq,
        ctx,
        channel,
        dstchannel,
        start,
        answer,
        billsec,
        disposition,
    } = l;
    let answer_field = if answer.is_empty() {
        String::new()
    } else {
        format!("\"{answer}\"")
    };
    format!(
        "\"\",\"612345678\",\"900123456\",\"{ctx}\",\"\"\"C\"\" <612345678>\",\"{channel}\",\"{dstchannel}\",\"Queue\",\"ventas,t,,,300\",\"{start}\",{answer_field},\"2026-11-26 10:10:00\",{},{billsec},\"{disposition}\",\"DOCUMENTATION\",\"{uniqueid}\",\"\",\"\",\"1795683600.1\",{seq}\n",
        600
    )
}

fn users_csv() -> String {
    let mut s =
        String::from("Id,Name,Email,Extension,Department,IsActive,ManagerId,LastModifiedDate\n");
    for (i, ext) in ["201", "202", "203", "204"].iter().enumerate() {
        s += &format!(
            "005000000000A0{i},Agent {ext},a{ext}@example.com,{ext},Ventas,true,,2026-01-01T00:00:00.000Z\n"
        );
    }
    s
}

#[tokio::test]
async fn ring_all_and_transfer_give_the_answering_agents_and_their_talk_time() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let mut cdr = String::new();
    // Ring-all: 201 and 203 do not answer, 202 answers after 20 s and talks 100 s.
    cdr += &leg(Leg {
        uniqueid: "1795683600.1",
        seq: 1,
        ctx: "from-trunk",
        channel: "PJSIP/trunk-1",
        dstchannel: "PJSIP/201-0001",
        start: "2026-11-26 10:00:00",
        answer: "",
        billsec: 0,
        disposition: "NO ANSWER",
    });
    cdr += &leg(Leg {
        uniqueid: "1795683600.1",
        seq: 2,
        ctx: "from-trunk",
        channel: "PJSIP/trunk-1",
        dstchannel: "PJSIP/202-0002",
        start: "2026-11-26 10:00:00",
        answer: "2026-11-26 10:00:20",
        billsec: 100,
        disposition: "ANSWERED",
    });
    cdr += &leg(Leg {
        uniqueid: "1795683600.1",
        seq: 3,
        ctx: "from-trunk",
        channel: "PJSIP/trunk-1",
        dstchannel: "PJSIP/203-0003",
        start: "2026-11-26 10:00:00",
        answer: "",
        billsec: 0,
        disposition: "NO ANSWER",
    });
    // 202 transfers to 204, who talks 50 s on a leg whose Party A is 202's channel.
    cdr += &leg(Leg {
        uniqueid: "1795683720.7",
        seq: 1,
        ctx: "from-internal",
        channel: "PJSIP/202-0002",
        dstchannel: "PJSIP/204-0004",
        start: "2026-11-26 10:02:00",
        answer: "2026-11-26 10:02:05",
        billsec: 50,
        disposition: "ANSWERED",
    });
    // The queue's own answer (hold music) is not an agent.
    cdr += &leg(Leg {
        uniqueid: "1795683600.1",
        seq: 4,
        ctx: "from-trunk",
        channel: "PJSIP/trunk-1",
        dstchannel: "",
        start: "2026-11-26 10:00:00",
        answer: "2026-11-26 10:00:01",
        billsec: 599,
        disposition: "ANSWERED",
    });
    put(raw.path(), "pbx/cdr/dt=2026-11-26/Master.csv", &cdr);
    put(raw.path(), "crm/User/dt=2026-11-26/User.csv", users_csv());
    run_date(
        &settings(raw.path(), wh.path()),
        d("2026-11-26"),
        &NoProgress,
    )
    .await
    .unwrap();
    let w = wh.path();
    let call = sql(w, "SELECT f.call_id, f.direction, f.channel, f.answered, f.talk_s, f.legs, a.name FROM fact_call f JOIN dim_agent a ON a.agent_key = f.agent_key").await;
    assert_eq!(
        call,
        vec!["1795683600.1 | inbound | voice_tollfree | true | 150 | 5 | Agent 202"]
    );
    let handlers = sql(w, "SELECT h.agent_id, h.talk_s FROM int_call_handlers h").await;
    assert_eq!(
        handlers,
        vec!["005000000000A01AAE | 100", "005000000000A03AAE | 50"]
    );
}

/// A WhatsApp inbound message envelope.
fn inbound(id: &str, from: &str, ts: i64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"34911234599","phone_number_id":"1"}},"messages":[{{"from":"{from}","id":"{id}","timestamp":"{ts}","type":"text","text":{{"body":"hola"}}}}]}}}}]}}]}}"#
    ) + "\n"
}

/// A WhatsApp status envelope of an agent-sent message.
fn sent(id: &str, to: &str, ts: i64, agent: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"34911234599","phone_number_id":"1"}},"statuses":[{{"id":"{id}","status":"sent","timestamp":"{ts}","recipient_id":"{to}","biz_opaque_callback_data":"agent={agent};queue=whatsapp"}}]}}}}]}}]}}"#
    ) + "\n"
}

#[tokio::test]
async fn a_conversation_splits_exactly_at_24_hours_of_silence() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let t0 = 1_795_683_600; // 2026-11-26 09:00Z
    let mut f = String::new();
    f += &inbound("wamid.a", "34612345678", t0);
    f += &sent("wamid.b", "34612345678", t0 + 30, "201");
    f += &inbound("wamid.c", "34612345678", t0 + 30 + 86_399); // 23:59:59 later: same conversation
    f += &inbound("wamid.d", "34612345678", t0 + 30 + 86_399 + 86_400); // exactly 24 h later: a new one
    put(raw.path(), "pbx/whatsapp/dt=2026-11-26/w.jsonl", &f);
    put(raw.path(), "crm/User/dt=2026-11-26/User.csv", users_csv());
    run_date(
        &settings(raw.path(), wh.path()),
        d("2026-11-26"),
        &NoProgress,
    )
    .await
    .unwrap();
    let rows = sql(wh.path(), "SELECT conversation_id, answered, wait_s, inbound_messages, outbound_messages, CAST(dt AS VARCHAR) FROM fact_conversation").await;
    assert_eq!(
        rows,
        vec![
            "wamid.a | true | 30 | 2 | 1 | 2026-11-26",
            "wamid.d | false | 1 | 0 | 2026-11-28", // no wait: never answered
        ]
    );
}

#[tokio::test]
async fn first_contact_is_the_earliest_interaction_up_to_creation() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    // 611111111: WhatsApp at 09:00Z, then a call at 09:30Z; its lead is created at 10:00Z.
    // 622222222: a call at 11:00Z, after its lead was created at 10:00Z.
    // 633333333: no interaction at all.
    let call = |src: &str, uid: &str, start: &str| {
        format!(
            "\"\",\"{src}\",\"900123456\",\"from-trunk\",\"\",\"PJSIP/trunk-1\",\"PJSIP/201-1\",\"Queue\",\"ventas\",\"{start}\",\"{start}\",\"{start}\",10,5,\"ANSWERED\",\"DOCUMENTATION\",\"{uid}\",\"\",\"\",\"{uid}\",1\n"
        )
    };
    let mut cdr = call("611111111", "1795685400.1", "2026-11-26 10:30:00");
    cdr += &call("622222222", "1795690800.2", "2026-11-26 12:00:00");
    put(raw.path(), "pbx/cdr/dt=2026-11-26/Master.csv", &cdr);
    put(
        raw.path(),
        "pbx/whatsapp/dt=2026-11-26/w.jsonl",
        inbound("wamid.x", "34611111111", 1_795_683_600),
    );
    put(
        raw.path(),
        "crm/Lead/dt=2026-11-26/Lead.csv",
        "Id,Phone,MobilePhone,OwnerId,CreatedDate,LastModifiedDate,IsDeleted\n\
         00Q000000000001,,611 11 11 11,005000000000A00,2026-11-26T10:00:00.000Z,2026-11-26T10:00:00.000Z,false\n\
         00Q000000000002,+34622222222,,005000000000A00,2026-11-26T10:00:00.000Z,2026-11-26T10:00:00.000Z,false\n\
         00Q000000000003,633333333,,005000000000A00,2026-11-26T10:00:00.000Z,2026-11-26T10:00:00.000Z,false\n",
    );
    run_date(
        &settings(raw.path(), wh.path()),
        d("2026-11-26"),
        &NoProgress,
    )
    .await
    .unwrap();
    let rows = sql(
        wh.path(),
        "SELECT lead_id, first_contact_channel FROM fact_lead",
    )
    .await;
    assert_eq!(
        rows,
        vec![
            "00Q000000000001EAA | whatsapp",
            "00Q000000000002EAA | unknown",
            "00Q000000000003EAA | unknown",
        ]
    );
}
