/* kpi-etl
materialized = "daily"
unique_key = ["event_time", "call_id", "queue_name", "agent", "event", "data1", "data2", "data3", "data4", "data5"]
latest_by = "landed_on, source_file, source_line"
description = """One row per Asterisk queue_log event, deduplicated on the whole line. dt is the local
date of the event. The caller id of ENTERQUEUE (personal data) is not kept; the seconds each
event reports are typed: wait_s, talk_s, ring_ms."""
tests = [
    { reconcile = "raw_queue_log" },
    { not_null = ["event_time", "event"] },
]
*/
SELECT
    event_time,
    callid AS call_id,
    queuename AS queue_name,
    agent,
    regexp_match(agent, '^(?:[A-Za-z]+/)?([0-9]{2,6})$')[1] AS agent_extension,
    event,
    data1,
    CASE WHEN event = 'ENTERQUEUE' THEN NULL ELSE data2 END AS data2,
    data3,
    data4,
    data5,
    CAST(CASE
        WHEN event IN ('CONNECT', 'COMPLETECALLER', 'COMPLETEAGENT') THEN data1
        WHEN event IN ('ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY', 'BLINDTRANSFER', 'ATTENDEDTRANSFER') THEN data3
        WHEN event = 'EXITWITHKEY' THEN data4
    END AS BIGINT) AS wait_s,
    CAST(CASE
        WHEN event IN ('COMPLETECALLER', 'COMPLETEAGENT') THEN data2
        WHEN event IN ('BLINDTRANSFER', 'ATTENDEDTRANSFER') THEN data4
    END AS BIGINT) AS talk_s,
    CAST(CASE WHEN event = 'RINGNOANSWER' THEN data1 END AS BIGINT) AS ring_ms,
    source_file,
    source_line,
    landed_on,
    local_date(event_time) AS dt
FROM raw_queue_log
