//! The KPI marts: hand-computed cases and reconciliations on a generated month with the DST change.

use std::path::Path;

use kpi_etl::run::{backfill, run_date};
use kpi_etl::storage::Location;
use kpi_etl::transform::runner::NoProgress;
use kpi_etl_generate::{GenerateOptions, generate};

use crate::common::{d, put, settings};

async fn sql(wh: &Path, sql: &str) -> Vec<String> {
    crate::common::sql_rows(wh, sql, "|", false).await
}

const USERS: &str = "Id,Name,Extension,IsActive,LastModifiedDate\n\
    005000000000A00,Ana,201,true,2026-01-01T00:00:00.000Z\n\
    005000000000B00,Bea,202,true,2026-01-01T00:00:00.000Z\n";

#[tokio::test]
async fn sales_attainment_and_customers_on_a_hand_computed_case() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let r = raw.path();
    put(r, "crm/User/dt=2026-11-02/User.csv", USERS);
    // Lead 1 (Ana) writes on WhatsApp first; lead 2 (Bea) has no interaction.
    put(
        r,
        "pbx/whatsapp/dt=2026-11-02/w.jsonl",
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"metadata":{{"display_phone_number":"34911234599"}},"messages":[{{"from":"34611111111","id":"wamid.1","timestamp":"{}","type":"text"}}]}}}}]}}]}}"#,
            1_793_606_400 // 2026-11-02 08:00Z
        ) + "\n",
    );
    put(
        r,
        "crm/Lead/dt=2026-11-02/Lead.csv",
        "Id,Phone,OwnerId,IsConverted,ConvertedDate,ConvertedAccountId,ConvertedOpportunityId,CreatedDate,LastModifiedDate\n\
         00Q000000000001,611111111,005000000000A00,true,2026-11-02,001000000000001,006000000000001,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z\n\
         00Q000000000002,622222222,005000000000B00,false,,,,2026-11-02T10:00:00Z,2026-11-02T10:00:00Z\n",
    );
    put(
        r,
        "crm/Account/dt=2026-11-02/Account.csv",
        "Id,Name,OwnerId,CreatedDate,LastModifiedDate\n001000000000001,Acme,005000000000A00,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z\n",
    );
    // Two won opportunities of Ana (one with no Amount), one lost of Bea.
    put(
        r,
        "crm/Opportunity/dt=2026-11-02/Opportunity.csv",
        "Id,AccountId,StageName,Amount,CloseDate,IsClosed,IsWon,OwnerId,CreatedDate,LastModifiedDate\n\
         006000000000001,001000000000001,Closed Won,1000.50,2026-11-02,true,true,005000000000A00,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z\n\
         006000000000002,001000000000001,Closed Won,,2026-11-02,true,true,005000000000A00,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z\n\
         006000000000003,,Closed Lost,500,2026-11-02,true,false,005000000000B00,2026-11-02T10:00:00Z,2026-11-02T10:00:00Z\n",
    );
    put(
        r,
        "crm/Order/dt=2026-11-02/Order.csv",
        "Id,OrderNumber,AccountId,OpportunityId,OwnerId,Status,EffectiveDate,TotalAmount,LastModifiedDate\n\
         801000000000001,1,001000000000001,006000000000001,005000000000A00,Activated,2026-11-02,1000.50,2026-11-02T09:00:00Z\n\
         801000000000002,2,001000000000001,,005000000000A00,Draft,2026-11-02,99,2026-11-02T09:00:00Z\n",
    );
    // Ana's quota for November, in two pieces; Bea's too.
    put(
        r,
        "crm/ForecastingQuota/dt=2026-11-02/Q.csv",
        "Id,QuotaOwnerId,StartDate,QuotaAmount,LastModifiedDate\n\
         0J9000000000001,005000000000A00,2026-11-01,600,2026-11-01T00:00:00Z\n\
         0J9000000000002,005000000000A00,2026-11-01,400,2026-11-01T00:00:00Z\n\
         0J9000000000003,005000000000B00,2026-11-01,2000,2026-11-01T00:00:00Z\n",
    );
    let s = settings(r, wh.path());
    run_date(&s, d("2026-11-02"), &NoProgress).await.unwrap();
    let w = wh.path();
    assert_eq!(
        sql(w, "SELECT CAST(dt AS VARCHAR), channel, agent_id, leads_created, leads_converted, opportunities_created, opportunities_won, won_amount, opportunities_lost, win_rate, orders, order_amount, average_order_value FROM kpi_sales_daily").await,
        vec![
            "2026-11-02|unknown|005000000000B00AAE|1|0|1|0|0.00|1|0.0|0|0.00|",
            "2026-11-02|whatsapp|005000000000A00AAE|1|1|2|2|1000.50|0|1.0|1|1000.50|1000.5",
        ]
    );
    assert_eq!(
        sql(w, "SELECT CAST(dt AS VARCHAR), agent_id, quota_amount, won_amount_mtd, attainment, target_met FROM kpi_target_attainment").await,
        vec![
            "2026-11-01|005000000000A00AAE|1000.00|0.00|0.0|false",
            "2026-11-01|005000000000B00AAE|2000.00|0.00|0.0|false",
            "2026-11-02|005000000000A00AAE|1000.00|1000.50|1.0005|true",
            "2026-11-02|005000000000B00AAE|2000.00|0.00|0.0|false",
        ]
    );
    assert_eq!(
        sql(w, "SELECT CAST(\"month\" AS VARCHAR), channel, agent_id, active_customers, orders, order_amount, orders_per_customer, value_per_customer, prior_customers, retained_customers, retention_rate FROM kpi_customers_monthly").await,
        // No row for December: the warehouse's horizon is 2026-11-02, and December has not begun.
        vec!["2026-11-01|whatsapp|005000000000A00AAE|1|1|1000.50|1.0|1000.5|0|0|"]
    );
    // December: the account orders again, so it is a retained customer; a Bea quota edit
    // mid-month changes every day of November.
    put(
        r,
        "crm/Order/dt=2026-12-03/Order.csv",
        "Id,AccountId,OwnerId,Status,EffectiveDate,TotalAmount,LastModifiedDate\n\
         801000000000003,001000000000001,005000000000A00,Activated,2026-12-03,10,2026-12-03T09:00:00Z\n",
    );
    run_date(&s, d("2026-12-03"), &NoProgress).await.unwrap();
    assert_eq!(
        sql(w, "SELECT CAST(\"month\" AS VARCHAR), active_customers, prior_customers, retained_customers, retention_rate FROM kpi_customers_monthly").await,
        // January has not begun on 2026-12-03: no row for it.
        vec!["2026-11-01|1|0|0|", "2026-12-01|1|1|1|1.0"]
    );
    let november_days = sql(
        w,
        "SELECT COUNT(DISTINCT dt) FROM kpi_target_attainment WHERE dt < DATE '2026-12-01'",
    )
    .await;
    assert_eq!(
        november_days,
        vec!["30"],
        "a quota month fills up to its end once the run date passes it"
    );
}

/// A CDR primary row of an inbound call on `did`, answered or not on extension 201.
fn call(uid: &str, did: &str, start: &str, answered: bool) -> String {
    let (disp, bill, answer) = if answered {
        ("ANSWERED", 60, format!("\"{start}\""))
    } else {
        ("NO ANSWER", 0, String::new())
    };
    format!(
        "\"\",\"612345678\",\"{did}\",\"from-trunk\",\"\",\"PJSIP/trunk-1\",\"PJSIP/201-1\",\"Queue\",\"ventas\",\"{start}\",{answer},\"{start}\",90,{bill},\"{disp}\",\"DOCUMENTATION\",\"{uid}\",\"\",\"\",\"{uid}\",1\n"
    )
}

#[tokio::test]
async fn contact_centre_outcomes_waits_and_service_level_on_a_hand_computed_case() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let r = raw.path();
    put(r, "crm/User/dt=2026-11-26/User.csv", USERS);
    let t = 1_795_683_600; // 2026-11-26 09:00Z = 10:00 Madrid
    let mut cdr = call(&format!("{t}.1"), "900123456", "2026-11-26 10:00:00", true);
    cdr += &call(
        &format!("{}.2", t + 100),
        "900123456",
        "2026-11-26 10:01:40",
        true,
    );
    cdr += &call(
        &format!("{}.3", t + 200),
        "900123456",
        "2026-11-26 10:03:20",
        false,
    );
    cdr += &call(
        &format!("{}.4", t + 300),
        "911234567",
        "2026-11-26 10:05:00",
        false,
    );
    put(r, "pbx/cdr/dt=2026-11-26/Master.csv", &cdr);
    let q = |dt: i64, uid: i64, rest: &str| {
        format!("{}|{}.{}|ventas|{rest}\n", t + dt, t + uid, uid / 100 + 1)
    };
    let mut log = String::new();
    log += &q(0, 0, "NONE|ENTERQUEUE||612345678|1");
    log += &q(10, 0, "PJSIP/201|CONNECT|10|1|2");
    log += &q(70, 0, "PJSIP/201|COMPLETECALLER|10|60|1");
    log += &q(100, 100, "NONE|ENTERQUEUE||612345678|1");
    log += &q(130, 100, "PJSIP/201|CONNECT|30|1|2");
    log += &q(190, 100, "PJSIP/201|COMPLETEAGENT|30|45|1");
    log += &q(200, 200, "NONE|ENTERQUEUE||612345678|1");
    log += &q(215, 200, "NONE|ABANDON|1|1|15");
    log += &q(300, 300, "NONE|ENTERQUEUE||612345678|1"); // no terminal event: a PBX restart
    put(r, "pbx/queue_log/dt=2026-11-26/queue_log", &log);
    run_date(&settings(r, wh.path()), d("2026-11-26"), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        sql(wh.path(), "SELECT channel, queue, offered, answered, abandoned, unanswered_other, answered_within_sl, service_level, wait_answered_s, avg_wait_answered_s, talk_s, avg_talk_s FROM kpi_contact_center_daily").await,
        vec![
            "voice_geographic|ventas|1|0|0|1|0|0.0|0||0|",
            "voice_tollfree|ventas|3|2|1|0|1|0.3333333333333333|40|20.0|105|52.5",
        ]
    );
}

async fn month(raw: &Path) {
    let loc = Location::open(&raw.to_string_lossy()).unwrap();
    let opts = GenerateOptions {
        from: d("2026-10-24"),
        to: d("2026-11-02"),
        calls_per_day: 200,
        seed: 3,
        timezone: chrono_tz::Europe::Madrid,
    };
    generate(loc.store.clone(), &loc.prefix, &opts)
        .await
        .unwrap();
}

#[tokio::test]
async fn marts_reconcile_with_the_facts_on_a_generated_month() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    month(raw.path()).await;
    backfill(
        &settings(raw.path(), wh.path()),
        d("2026-10-24"),
        d("2026-11-02"),
        &NoProgress,
    )
    .await
    .unwrap();
    let w = wh.path();
    // Credited amounts summed over agents equal the touched subjects' amounts.
    let credited = sql(w, "SELECT CAST(dt AS VARCHAR), SUM(won_amount_credited), SUM(order_amount_credited) FROM kpi_agent_touch_daily GROUP BY dt").await;
    let touched = sql(w, "SELECT CAST(dt AS VARCHAR), SUM(won), SUM(ord) FROM (
            SELECT o.close_date AS dt, COALESCE(o.amount, 0) AS won, CAST(0 AS DECIMAL(18,2)) AS ord FROM fact_opportunity o
            WHERE o.is_won AND EXISTS (SELECT 1 FROM bridge_agent_touch b WHERE b.subject_type = 'opportunity' AND b.subject_id = o.opportunity_id)
            UNION ALL
            SELECT r.dt, CAST(0 AS DECIMAL(18,2)), COALESCE(r.amount, 0) FROM fact_order r
            WHERE r.status = 'Activated' AND EXISTS (SELECT 1 FROM bridge_agent_touch b WHERE b.subject_type = 'order' AND b.subject_id = r.order_id)
        ) GROUP BY dt").await;
    assert!(!credited.is_empty());
    assert_eq!(credited, touched);
    // Orders in kpi_sales_daily summed over a month equal the activated orders of that month.
    let mart = sql(w, "SELECT date_trunc('month', dt), SUM(orders), SUM(order_amount) FROM kpi_sales_daily GROUP BY 1").await;
    let crm = sql(w, "SELECT date_trunc('month', effective_date), COUNT(*), SUM(COALESCE(total_amount, 0)) FROM stg_crm_orders WHERE status = 'Activated' AND NOT is_deleted GROUP BY 1").await;
    assert_eq!(mart, crm);
    // Offered = answered + abandoned + unanswered_other, on every row.
    let bad = sql(w, "SELECT COUNT(*) FROM kpi_contact_center_daily WHERE offered <> answered + abandoned + unanswered_other").await;
    assert_eq!(bad, vec!["0"]);
    // customers_monthly's orders equal the activated orders with a (live) account.
    let monthly = sql(w, "SELECT CAST(\"month\" AS VARCHAR), SUM(orders) FROM kpi_customers_monthly GROUP BY 1 HAVING SUM(orders) > 0").await;
    let with_account = sql(w, "SELECT CAST(CAST(date_trunc('month', o.effective_date) AS DATE) AS VARCHAR), COUNT(*) FROM stg_crm_orders o
        JOIN stg_crm_accounts a ON a.account_id = o.account_id AND NOT a.is_deleted
        WHERE o.status = 'Activated' AND NOT o.is_deleted GROUP BY 1").await;
    assert_eq!(monthly, with_account);
    // Every ratio is its numerator over its denominator, NULL over zero.
    let ratios = sql(w, "SELECT COUNT(*) FROM kpi_contact_center_daily WHERE
        (offered = 0 AND service_level IS NOT NULL) OR (offered > 0 AND abs(service_level - CAST(answered_within_sl AS DOUBLE) / offered) > 1e-12)
        OR (answered = 0 AND avg_wait_answered_s IS NOT NULL)").await;
    assert_eq!(ratios, vec!["0"]);
    // The DST day has its contacts.
    let dst = sql(
        w,
        "SELECT SUM(offered) > 0 FROM kpi_contact_center_daily WHERE dt = DATE '2026-10-25'",
    )
    .await;
    assert_eq!(dst, vec!["true"]);
}

/// queue_log lines exactly as Asterisk writes them: empty trailing data fields (`ENTERQUEUE||caller|pos`,
/// `QUEUESTART|`), a member added from the CLI, and every terminal event with its own layout.
#[tokio::test]
async fn queue_log_lines_as_asterisk_writes_them_reach_the_queue_facts_with_every_wait() {
    let raw = tempfile::tempdir().unwrap();
    let wh = tempfile::tempdir().unwrap();
    let r = raw.path();
    put(r, "crm/User/dt=2026-11-26/User.csv", USERS);
    let t = 1_795_683_600; // 2026-11-26 09:00Z
    let line = |dt: i64, uid: &str, rest: &str| format!("{}|{uid}|{rest}\n", t + dt);
    let mut log = String::new();
    log += &line(0, "NONE", "NONE|NONE|QUEUESTART|");
    log += &line(1, "CLI", "soporte|PJSIP/201|ADDMEMBER|");
    // Answered after 10 s, 60 s of talk.
    log += &line(10, "1795683610.1", "soporte|NONE|ENTERQUEUE||612345678|1");
    log += &line(
        20,
        "1795683610.1",
        "soporte|PJSIP/201|CONNECT|10|1795683620.2|3",
    );
    log += &line(
        80,
        "1795683610.1",
        "soporte|PJSIP/201|COMPLETECALLER|10|60|1",
    );
    // Abandoned after 15 s: ABANDON|position|origposition|waittime.
    log += &line(100, "1795683700.3", "soporte|NONE|ENTERQUEUE||612345679|1");
    log += &line(115, "1795683700.3", "soporte|NONE|ABANDON|1|1|15");
    // Timed out after 300 s: EXITWITHTIMEOUT|position|origposition|waittime.
    log += &line(200, "1795683800.4", "soporte|NONE|ENTERQUEUE||612345680|1");
    log += &line(500, "1795683800.4", "soporte|NONE|EXITWITHTIMEOUT|1|1|300");
    // Left with a key after 40 s: EXITWITHKEY|key|position|origposition|waittime.
    log += &line(600, "1795684200.5", "soporte|NONE|ENTERQUEUE||612345681|2");
    log += &line(640, "1795684200.5", "soporte|NONE|EXITWITHKEY|5|2|2|40");
    // No member: EXITEMPTY|position|origposition|waittime.
    log += &line(700, "1795684300.6", "soporte|NONE|ENTERQUEUE||612345682|1");
    log += &line(701, "1795684300.6", "soporte|NONE|EXITEMPTY|1|1|1");
    // No terminal event at all (a PBX restart).
    log += &line(800, "1795684400.7", "soporte|NONE|ENTERQUEUE||612345683|1");
    // Only the queue_log landed: no CDR of these calls.
    put(r, "pbx/queue_log/dt=2026-11-26/queue_log", &log);
    run_date(&settings(r, wh.path()), d("2026-11-26"), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        sql(
            wh.path(),
            "SELECT queue_name FROM dim_queue WHERE queue_name <> 'unknown'"
        )
        .await,
        vec!["soporte"],
        "the queue reaches dim_queue"
    );
    assert_eq!(
        sql(wh.path(), "SELECT call_id, outcome, terminal_event, wait_s, talk_s, queue_key <> -1 FROM fact_queue_call").await,
        vec![
            "1795683610.1|answered|CONNECT|10|60|true",
            "1795683700.3|abandoned|ABANDON|15||true",
            "1795683800.4|timeout|EXITWITHTIMEOUT|300||true",
            "1795684200.5|timeout|EXITWITHKEY|40||true",
            "1795684300.6|timeout|EXITEMPTY|1||true",
            "1795684400.7|unknown||||true",
        ]
    );
    assert_eq!(
        sql(wh.path(), "SELECT queue, offered, answered, abandoned, unanswered_other, wait_answered_s, talk_s FROM kpi_contact_center_daily").await,
        vec!["soporte|6|1|1|4|10|60"]
    );
}
