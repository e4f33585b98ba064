/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT dt FROM stg_queue_log__changed
UNION SELECT CAST(dt - INTERVAL '1 day' AS DATE) FROM stg_queue_log__changed
UNION SELECT dt FROM stg_queue_log__previous
UNION SELECT dt FROM int_calls__changed UNION SELECT dt FROM int_calls__previous
-- Re-point the rows of every agent version that changed tonight (a User landing late, an
-- extension change or a deactivation landing late, an inferred agent retired).
UNION SELECT dt FROM this WHERE agent_key IN (
    SELECT agent_key FROM dim_agent__changed UNION SELECT agent_key FROM dim_agent__previous
    UNION SELECT surrogate_key('ext:' || extension) FROM dim_agent__changed WHERE NOT is_inferred
    UNION SELECT surrogate_key('ext:' || extension) FROM dim_agent__previous WHERE NOT is_inferred
)
"""
description = """One row per call entering a queue (every ENTERQUEUE; a call may enter several queues or the
same one twice); dt is the local date of the ENTERQUEUE. Its outcome is the first terminal event
after it for the same call and queue, before any later ENTERQUEUE of that call to that queue:
CONNECT answered (wait = holdtime), ABANDON abandoned (wait = waittime), EXITWITHTIMEOUT,
EXITEMPTY or EXITWITHKEY timeout (terminal_event says which; wait = the waittime it reports),
none unknown (a PBX restart: wait NULL).
talk_s is the calltime of the COMPLETECALLER, COMPLETEAGENT or transfer that ends it. channel is
the DID channel of the CDR call whose linkedid is the callid (unknown without one)."""
tests = [
    { not_null = ["queue_key", "agent_key"] },
    { relationships = { column = "queue_key", to = "dim_queue", field = "queue_key" } },
    { relationships = { column = "agent_key", to = "dim_agent", field = "agent_key" } },
    { accepted_values = { column = "outcome", values = ["answered", "abandoned", "timeout", "unknown"] } },
]
*/
WITH events AS (
    SELECT * FROM stg_queue_log
    WHERE call_id <> 'NONE'
      AND (dt IN (SELECT dt FROM __partitions) OR dt IN (SELECT CAST(dt + INTERVAL '1 day' AS DATE) FROM __partitions))
),
enters AS (
    SELECT
        call_id,
        queue_name,
        event_time AS entered_at,
        LEAD(event_time) OVER (PARTITION BY call_id, queue_name ORDER BY event_time, source_line) AS next_entered_at
    FROM events
    WHERE event = 'ENTERQUEUE'
),
terminal AS (
    SELECT * FROM (
        SELECT
            e.call_id, e.queue_name, e.entered_at,
            t.event AS terminal_event, t.event_time AS ended_at, t.wait_s, t.agent_extension,
            ROW_NUMBER() OVER (PARTITION BY e.call_id, e.queue_name, e.entered_at ORDER BY t.event_time, t.source_line) AS n
        FROM enters AS e
        JOIN events AS t
            ON t.call_id = e.call_id AND t.queue_name = e.queue_name
            AND t.event IN ('CONNECT', 'ABANDON', 'EXITWITHTIMEOUT', 'EXITEMPTY', 'EXITWITHKEY')
            AND t.event_time >= e.entered_at
            AND (e.next_entered_at IS NULL OR t.event_time < e.next_entered_at)
    ) AS ranked
    WHERE n = 1
),
completion AS (
    SELECT * FROM (
        SELECT
            e.call_id, e.queue_name, e.entered_at, c.talk_s,
            ROW_NUMBER() OVER (PARTITION BY e.call_id, e.queue_name, e.entered_at ORDER BY c.event_time, c.source_line) AS n
        FROM enters AS e
        JOIN events AS c
            ON c.call_id = e.call_id AND c.queue_name = e.queue_name
            AND c.event IN ('COMPLETECALLER', 'COMPLETEAGENT', 'BLINDTRANSFER', 'ATTENDEDTRANSFER')
            AND c.event_time >= e.entered_at
            AND (e.next_entered_at IS NULL OR c.event_time < e.next_entered_at)
    ) AS ranked
    WHERE n = 1
),
calls AS (
    SELECT call_id, channel FROM int_calls
    WHERE dt IN (SELECT dt FROM __partitions) OR dt IN (SELECT CAST(dt - INTERVAL '1 day' AS DATE) FROM __partitions)
)
SELECT
    e.call_id,
    COALESCE(q.queue_key, -1) AS queue_key,
    e.queue_name,
    COALESCE(c.channel, 'unknown') AS channel,
    e.entered_at,
    CASE t.terminal_event
        WHEN 'CONNECT' THEN 'answered'
        WHEN 'ABANDON' THEN 'abandoned'
        WHEN 'EXITWITHTIMEOUT' THEN 'timeout'
        WHEN 'EXITEMPTY' THEN 'timeout'
        WHEN 'EXITWITHKEY' THEN 'timeout'
        ELSE 'unknown'
    END AS outcome,
    t.terminal_event,
    t.ended_at,
    t.wait_s,
    CASE WHEN t.terminal_event = 'CONNECT' THEN COALESCE(x.talk_s, 0) END AS talk_s,
    CASE
        WHEN t.terminal_event <> 'CONNECT' OR t.agent_extension IS NULL THEN -1
        ELSE COALESCE(u.agent_key, surrogate_key('ext:' || t.agent_extension))
    END AS agent_key,
    local_date(e.entered_at) AS dt
FROM enters AS e
LEFT JOIN terminal AS t USING (call_id, queue_name, entered_at)
LEFT JOIN completion AS x USING (call_id, queue_name, entered_at)
LEFT JOIN calls AS c ON c.call_id = e.call_id
LEFT JOIN dim_queue AS q ON q.queue_name = e.queue_name
LEFT JOIN dim_agent AS u
    ON NOT u.is_inferred
    AND u.extension = t.agent_extension
    AND t.ended_at >= u.valid_from
    AND t.ended_at < u.valid_to
WHERE local_date(e.entered_at) IN (SELECT dt FROM __partitions)
