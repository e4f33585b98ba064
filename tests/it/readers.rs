//! The raw readers on real formats: the shared fixtures and hand-written files with every quirk
//! of the raw contract.

use std::path::Path;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use kpi_etl::config::PipelineConfig;
use kpi_etl::extract::{self, RejectSink};
use kpi_etl::storage::Location;

use crate::common::{d, fixtures, gzip, pipeline, put};

/// Reads source `name` landed on `date` under `raw` with `sql` over its table `t`.
async fn read(
    raw: &Path,
    name: &str,
    date: &str,
    sql: &str,
) -> anyhow::Result<(Vec<RecordBatch>, RejectSink)> {
    let config = PipelineConfig::load(&pipeline())?;
    let sources = extract::sources(&config)?;
    let source = sources
        .iter()
        .find(|s| s.name == name)
        .expect("known source");
    let loc = Location::open(&raw.to_string_lossy())?;
    let landing = extract::list_landing(&loc, source, d(date)).await?;
    let ctx = SessionContext::new();
    let sink = RejectSink::new();
    let files: Vec<_> = landing.files.iter().map(|f| (f.clone(), d(date))).collect();
    extract::register_raw_table(&ctx, &loc, source, &files, &sink, 3)?;
    let sql = sql.replace(" t", &format!(" {}", source.table));
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(kpi_etl::Error::from)?
        .collect()
        .await
        .map_err(kpi_etl::Error::from)?;
    Ok((batches, sink))
}

fn text(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

fn count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

const SALESFORCE: [(&str, &str); 3] = [
    ("Lead", "crm_lead"),
    ("Opportunity", "crm_opportunity"),
    ("Account", "crm_account"),
];

#[tokio::test]
async fn salesforce_fixtures_load_whole() {
    let dir = tempfile::tempdir().unwrap();
    for (object, source) in SALESFORCE {
        let bytes =
            std::fs::read(fixtures().join(format!("salesforce-data-cloud-workshop/{object}.csv")))
                .unwrap();
        assert!(bytes.starts_with(b"\xef\xbb\xbf"), "the fixture has a BOM");
        put(
            dir.path(),
            &format!("crm/{object}/dt=2024-01-22/{object}.csv"),
            &bytes,
        );
        let mut rdr = csv::Reader::from_reader(&bytes[..]);
        let expected = rdr.records().count();
        let (batches, sink) = read(dir.path(), source, "2024-01-22", "SELECT * FROM t")
            .await
            .unwrap();
        assert_eq!(count(&batches), expected, "{object}: every record read");
        assert!(sink.rejects().is_empty(), "{object}: {:?}", sink.rejects());
    }
    let (b, _) = read(
        dir.path(),
        "crm_opportunity",
        "2024-01-22",
        "SELECT id, amount, close_date, is_won, created_at FROM t WHERE id = '006Ec00000AieKGIAZ'",
    )
    .await
    .unwrap();
    let out = text(&b);
    assert!(out.contains("1651993.36"), "{out}");
    assert!(out.contains("2023-06-17"), "{out}");
    assert!(out.contains("true"), "{out}");
    assert!(out.contains("2024-01-22T16:14:25Z"), "{out}");
}

#[tokio::test]
async fn salesforce_quirks_bom_order_extra_columns_multiline_ids_booleans() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "\u{feff}Extra__c,LastModifiedDate,Amount,Id,StageName,CloseDate,IsWon,IsClosed,CreatedDate,Description,OwnerId,IsDeleted\r\n\
        x,2026-11-26T09:15:02.000Z,100.5,006Ec00000AieKG,Closed Won,2026-11-26,TRUE,1,2026-11-20T08:00:00.000+0000,\"line one, with comma\nline \"\"two\"\"\",005Ec000004oBPN,\r\n\
        y,2026-11-26T10:00:00.000+0000,,006Ec00000AieKHIAZ,Prospecting,2026-12-01,false,0,2026-11-21T08:00:00.000Z,,005Ec000004oBPNIA2,false\r\n";
    put(
        dir.path(),
        "crm/Opportunity/dt=2026-11-26/export.csv.gz",
        gzip(csv.as_bytes()),
    );
    let (b, sink) = read(dir.path(), "crm_opportunity", "2026-11-26",
        "SELECT id, owner_id, amount, is_won, is_closed, is_deleted, source_line FROM t ORDER BY id").await.unwrap();
    assert!(sink.rejects().is_empty(), "{:?}", sink.rejects());
    let out = text(&b).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("| 006Ec00000AieKGIAZ | 005Ec000004oBPNIA2 | 100.50 | true | true | | 2 |"),
        "{out}"
    );
    assert!(
        out.contains("| 006Ec00000AieKHIAZ | 005Ec000004oBPNIA2 | | false | false | false | 4 |"),
        "{out}"
    );
}

#[tokio::test]
async fn salesforce_missing_required_column_names_column_and_file() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "crm/Opportunity/dt=2026-11-26/opps.csv",
        "Id,StageName,LastModifiedDate,CreatedDate\n006Ec00000AieKGIAZ,Won,2026-11-26T09:15:02.000Z,2026-11-26T09:15:02.000Z\n",
    );
    let err = read(
        dir.path(),
        "crm_opportunity",
        "2026-11-26",
        "SELECT * FROM t",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("opps.csv"), "{err}");
    assert!(err.contains("CloseDate"), "{err}");
}

#[tokio::test]
async fn salesforce_bad_values_are_rejected_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "Id,QuotaOwnerId,StartDate,QuotaAmount,LastModifiedDate\n\
        0J9000000000001,005Ec000004oBPN,2026-11-01,5000,2026-11-01T00:00:00Z\n\
        0J9000000000002,005Ec000004oBPN,2026-11-01,lots,2026-11-01T00:00:00Z\n\
        0J9000000000003,005Ec000004oBPN,01/11/2026,5000,2026-11-01T00:00:00Z\n\
        0J9000000000004,005Ec000004oBPN\n";
    put(dir.path(), "crm/ForecastingQuota/dt=2026-11-01/q.csv", csv);
    let (b, sink) = read(
        dir.path(),
        "crm_forecasting_quota",
        "2026-11-01",
        "SELECT * FROM t",
    )
    .await
    .unwrap();
    assert_eq!(count(&b), 1);
    let rejects = sink.rejects();
    assert_eq!(rejects.len(), 3, "{rejects:?}");
    assert_eq!(
        (rejects[0].line, rejects[0].column.as_deref()),
        (3, Some("QuotaAmount"))
    );
    assert_eq!(
        (rejects[1].line, rejects[1].column.as_deref()),
        (4, Some("StartDate"))
    );
    assert_eq!(rejects[2].line, 5);
    assert!(
        rejects[2].reason.contains("expected 5 columns, found 2"),
        "{}",
        rejects[2].reason
    );
    assert!(
        rejects
            .iter()
            .all(|r| r.file.ends_with("crm/ForecastingQuota/dt=2026-11-01/q.csv"))
    );
}

/// A Master.csv row in the default 21-column layout.
fn cdr_row(
    clid: &[u8],
    uniqueid: &str,
    linkedid: &str,
    seq: u32,
    start: &str,
    billsec: &str,
) -> Vec<u8> {
    let mut row = b"\"\",\"612345678\",\"900123456\",\"from-trunk\",\"".to_vec();
    row.extend_from_slice(clid);
    row.extend_from_slice(format!(
        "\",\"PJSIP/trunk-movistar-0000001c\",\"PJSIP/201-0000002a\",\"Queue\",\"ventas,t,,,300\",\"{start}\",\"{start}\",\"{start}\",60,{billsec},\"ANSWERED\",\"DOCUMENTATION\",\"{uniqueid}\",\"\",\"\",\"{linkedid}\",{seq}\n"
    ).as_bytes());
    row
}

#[tokio::test]
async fn cdr_reads_quoted_fields_invalid_utf8_and_rejects_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = Vec::new();
    file.extend(cdr_row(
        b"\"\"Mu\xf1oz\"\" <612345678>",
        "1795683600.17",
        "1795683600.17",
        1,
        "2026-11-26 10:00:00",
        "50",
    ));
    file.extend(cdr_row(
        b"\"\"Ana, \"\"la jefa\"\"\"\" <612345678>",
        "pbx1-1795683600.18",
        "1795683600.17",
        2,
        "2026-11-26 10:00:00",
        "0",
    ));
    file.extend(cdr_row(
        b"x",
        "1795683600.19",
        "1795683600.17",
        3,
        "2026-13-45 99:00:00",
        "0",
    ));
    file.extend(cdr_row(
        b"x",
        "1795683600.20",
        "1795683600.17",
        4,
        "2026-11-26 10:00:00",
        "abc",
    ));
    file.extend(b"\"too\",\"few\",\"columns\"\n");
    put(dir.path(), "pbx/cdr/dt=2026-11-26/Master.csv", &file);
    let (b, sink) = read(dir.path(), "cdr", "2026-11-26", "SELECT clid, uniqueid, uniqueid_epoch, linkedid, \"sequence\", billsec, source_line FROM t ORDER BY \"sequence\"").await.unwrap();
    let out = text(&b);
    assert_eq!(count(&b), 2, "{out}");
    assert!(
        out.contains("\"Mu\u{fffd}oz\" <612345678>"),
        "invalid UTF-8 is replaced, not fatal: {out}"
    );
    assert!(out.contains("\"Ana, \"la jefa\"\" <612345678>"), "{out}");
    assert!(out.contains("pbx1-1795683600.18 | 1795683600"), "{out}");
    let rejects = sink.rejects();
    assert_eq!(rejects.len(), 3, "{rejects:?}");
    assert_eq!(
        (rejects[0].line, rejects[0].column.as_deref()),
        (3, Some("start"))
    );
    assert_eq!(
        (rejects[1].line, rejects[1].column.as_deref()),
        (4, Some("billsec"))
    );
    assert_eq!(rejects[2].line, 5);
    assert!(rejects[2].reason.contains("expected 21 columns, found 3"));
}

#[tokio::test]
async fn cdr_plain_and_gzip_files_of_one_partition_are_both_read() {
    let dir = tempfile::tempdir().unwrap();
    let a = cdr_row(
        b"a",
        "1795683600.1",
        "1795683600.1",
        1,
        "2026-11-26 10:00:00",
        "5",
    );
    let b = cdr_row(
        b"b",
        "1795683700.2",
        "1795683700.2",
        1,
        "2026-11-26 10:01:40",
        "5",
    );
    put(dir.path(), "pbx/cdr/dt=2026-11-26/Master.csv", &a);
    put(
        dir.path(),
        "pbx/cdr/dt=2026-11-26/Master-2.csv.gz",
        gzip(&b),
    );
    put(dir.path(), "pbx/cdr/dt=2026-11-26/_SUCCESS", b"");
    let (batches, _) = read(dir.path(), "cdr", "2026-11-26", "SELECT uniqueid FROM t")
        .await
        .unwrap();
    assert_eq!(count(&batches), 2);
}

#[tokio::test]
async fn a_file_named_gz_that_is_not_gzip_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "pbx/cdr/dt=2026-11-26/Master.csv.gz",
        b"\"plain\",\"text\"\n",
    );
    let err = read(dir.path(), "cdr", "2026-11-26", "SELECT * FROM t")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("pbx/cdr/dt=2026-11-26/Master.csv.gz"), "{err}");
    assert!(err.contains("gzip"), "{err}");
}

#[tokio::test]
async fn a_binary_file_named_csv_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // A gzip stream saved without the .gz suffix: binary, not CSV.
    put(
        dir.path(),
        "pbx/cdr/dt=2026-11-26/Master.csv",
        gzip(&[0u8; 64]),
    );
    let err = read(dir.path(), "cdr", "2026-11-26", "SELECT * FROM t")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pbx/cdr/dt=2026-11-26/Master.csv: binary data"),
        "{err}"
    );
    put(
        dir.path(),
        "crm/Lead/dt=2026-11-26/Lead.csv",
        b"PK\x03\x04\x00\x00zipped",
    );
    let err = read(dir.path(), "crm_lead", "2026-11-26", "SELECT * FROM t")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("crm/Lead/dt=2026-11-26/Lead.csv: binary data"),
        "{err}"
    );
}

#[tokio::test]
async fn a_truncated_gzip_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    for i in 0..200 {
        data.extend(cdr_row(
            b"x",
            &format!("1795683600.{i}"),
            "1795683600.0",
            i,
            "2026-11-26 10:00:00",
            "5",
        ));
    }
    let gz = gzip(&data);
    put(
        dir.path(),
        "pbx/cdr/dt=2026-11-26/Master.csv.gz",
        &gz[..gz.len() / 2],
    );
    let err = read(dir.path(), "cdr", "2026-11-26", "SELECT * FROM t")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Master.csv.gz"), "{err}");
    assert!(err.contains("truncated"), "{err}");
}

#[tokio::test]
async fn cdr_column_layout_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    // The 18-column layout without newcdrcolumns (no peeraccount, linkedid, sequence).
    put(
        dir.path(),
        "pbx/cdr/dt=2026-11-26/Master.csv",
        "\"\",\"612345678\",\"900123456\",\"from-trunk\",\"\"\"A\"\" <1>\",\"PJSIP/trunk-1\",\"\",\"Hangup\",\"\",\"2026-11-26 10:00:00\",,\"2026-11-26 10:00:30\",30,0,\"NO ANSWER\",\"DOCUMENTATION\",\"1795683600.5\",\"\"\n",
    );
    let cfg_path = dir.path().join("pipe.toml");
    std::fs::write(&cfg_path, format!(
        "[pipeline]\nmodels = \"{}\"\n[cdr]\ncolumns = [\"accountcode\",\"src\",\"dst\",\"dcontext\",\"clid\",\"channel\",\"dstchannel\",\"lastapp\",\"lastdata\",\"start\",\"answer\",\"end\",\"duration\",\"billsec\",\"disposition\",\"amaflags\",\"uniqueid\",\"userfield\"]\n",
        pipeline().parent().unwrap().display())).unwrap();
    let config = PipelineConfig::load(&cfg_path).unwrap();
    let sources = extract::sources(&config).unwrap();
    let source = sources.iter().find(|s| s.name == "cdr").unwrap();
    let loc = Location::open(&dir.path().to_string_lossy()).unwrap();
    let landing = extract::list_landing(&loc, source, d("2026-11-26"))
        .await
        .unwrap();
    let ctx = SessionContext::new();
    let sink = RejectSink::new();
    let files: Vec<_> = landing
        .files
        .iter()
        .map(|f| (f.clone(), d("2026-11-26")))
        .collect();
    extract::register_raw_table(&ctx, &loc, source, &files, &sink, 100).unwrap();
    let b = ctx
        .sql("SELECT linkedid, answer, \"sequence\" FROM raw_cdr")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(sink.rejects().is_empty(), "{:?}", sink.rejects());
    let out = text(&b);
    assert!(
        out.contains("| 1795683600.5 |        |          |"),
        "linkedid falls back to uniqueid: {out}"
    );
}

#[tokio::test]
async fn queue_log_variable_fields_and_bad_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let log = "1795683600|1795683600.17|ventas|NONE|ENTERQUEUE||612345678|1\n\
        1795683610|1795683600.17|ventas|PJSIP/202|RINGNOANSWER|15000\n\
        1795683612|1795683600.17|ventas|PJSIP/201|CONNECT|12|1795683612.20|2\n\
        1795683912|1795683600.17|ventas|PJSIP/201|COMPLETECALLER|12|300|1\n\
        1795683000|NONE|NONE|NONE|QUEUESTART\n\
        1795683000|NONE|ventas|PJSIP/201|ADDMEMBER|\n\
        1795683700|1795683700.1|ventas|NONE|ABANDON|1|1|x\n\
        notanepoch|1795683700.1|ventas|NONE|ENTERQUEUE||612345678|1\n\
        1795683700|too|few\n";
    put(dir.path(), "pbx/queue_log/dt=2026-11-26/queue_log", log);
    let (b, sink) = read(
        dir.path(),
        "queue_log",
        "2026-11-26",
        "SELECT event, data1, data2, data3, data4 FROM t",
    )
    .await
    .unwrap();
    assert_eq!(count(&b), 6, "{}", text(&b));
    let rejects = sink.rejects();
    assert_eq!(
        rejects
            .iter()
            .map(|r| (r.line, r.column.clone().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            (7, "data3".to_string()),
            (8, "epoch".to_string()),
            (9, "event".to_string())
        ]
    );
}

/// The fixture's webhook payloads, one envelope per line, as a landing JSONL file, with the
/// number of inbound messages and of statuses they hold.
fn fixture_jsonl(name: &str) -> (String, usize, usize) {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join(format!("whatsapp-pywa-webhooks/{name}"))).unwrap(),
    )
    .unwrap();
    let envelopes: Vec<&serde_json::Value> = json.as_object().unwrap().values().collect();
    let (mut messages, mut statuses) = (0, 0);
    for e in &envelopes {
        for entry in e["entry"].as_array().unwrap() {
            for change in entry["changes"].as_array().unwrap() {
                messages += change["value"]["messages"].as_array().map_or(0, Vec::len);
                statuses += change["value"]["statuses"].as_array().map_or(0, Vec::len);
            }
        }
    }
    let lines: Vec<String> = envelopes
        .iter()
        .map(|v| serde_json::to_string(v).unwrap())
        .collect();
    (lines.join("\n") + "\n", messages, statuses)
}

#[tokio::test]
async fn whatsapp_fixture_webhooks_flatten_to_messages_and_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let (messages, n_messages, _) = fixture_jsonl("message.json");
    let (statuses, _, n_statuses) = fixture_jsonl("message_status.json");
    assert!(n_messages > 10 && n_statuses >= 5);
    put(dir.path(), "pbx/whatsapp/dt=2023-10-11/a.jsonl", &messages);
    put(
        dir.path(),
        "pbx/whatsapp/dt=2023-10-11/b.jsonl.gz",
        gzip(format!("{statuses}{{broken json\n").as_bytes()),
    );
    let (m, sink) = read(dir.path(), "whatsapp", "2023-10-11", "SELECT business_number, wa_id, message_id, message_type FROM t WHERE sent_at = TIMESTAMP '2023-10-11T16:53:43Z'").await.unwrap();
    assert_eq!(
        text(&m)
            .lines()
            .nth(3)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        "| 972123456789 | 972987654321 | wamid.xyzxyz | text |",
        "timestamp strings are Unix seconds"
    );
    let (all, _) = read(dir.path(), "whatsapp", "2023-10-11", "SELECT * FROM t")
        .await
        .unwrap();
    assert_eq!(count(&all), n_messages, "one row per inbound message");
    assert_eq!(
        sink.rejects().len(),
        1,
        "the broken line is rejected once: {:?}",
        sink.rejects()
    );
    assert!(sink.rejects()[0].file.ends_with("b.jsonl.gz"));
    let (s, sink) = read(
        dir.path(),
        "whatsapp_status",
        "2023-10-11",
        "SELECT status, recipient_id, callback_data, error_code FROM t",
    )
    .await
    .unwrap();
    assert_eq!(count(&s), n_statuses, "one row per status");
    assert!(
        sink.rejects().is_empty(),
        "the statuses reader does not count the broken line again"
    );
    let out = text(&s);
    for st in ["sent", "delivered", "read", "failed"] {
        assert!(out.contains(&format!("| {st} ")), "{st}: {out}");
    }
}

#[tokio::test]
async fn a_missing_partition_is_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let (b, sink) = read(dir.path(), "cdr", "2026-11-26", "SELECT * FROM t")
        .await
        .unwrap();
    assert_eq!(count(&b), 0);
    assert!(sink.files().is_empty());
}

#[tokio::test]
async fn rejected_rows_keep_no_phone_number_or_email_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "crm/Lead/dt=2026-11-26/Lead.csv",
        "Id,Phone,Email,CreatedDate,LastModifiedDate\n00Q000000000001,+34 612345678,ana@example.com,yesterday,2026-11-26T10:00:00Z\n",
    );
    let (_, sink) = read(dir.path(), "crm_lead", "2026-11-26", "SELECT * FROM t")
        .await
        .unwrap();
    let r = &sink.rejects()[0];
    assert_eq!((r.line, r.column.as_deref()), (2, Some("CreatedDate")));
    assert!(
        !r.raw.contains("612345678") && !r.raw.contains("ana@example.com"),
        "{}",
        r.raw
    );
    assert!(
        r.raw.contains("[phone]") && r.raw.contains("[email]"),
        "{}",
        r.raw
    );
}
