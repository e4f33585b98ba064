/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT dt FROM stg_cdr__changed
UNION SELECT CAST(dt - INTERVAL '1 day' AS DATE) FROM stg_cdr__changed
UNION SELECT dt FROM stg_cdr__previous
UNION SELECT CAST(dt - INTERVAL '1 day' AS DATE) FROM stg_cdr__previous
"""
description = """One row per call: the CDR rows sharing a linkedid. Its start is the earliest row start
(dt is its local date); direction, DID and customer number come from the primary row
(uniqueid = linkedid); its queue is the first queue it entered. A night rebuilds the days its
CDR rows touch and the day before (a call that crossed midnight)."""
tests = [
    { unique = ["call_id"] },
]
*/
WITH legs AS (
    -- A call's rows start on its start day or the next one; the day before is read too, so
    -- that a call started then is seen whole and not mistaken for one starting today.
    SELECT * FROM stg_cdr
    WHERE dt IN (SELECT dt FROM __partitions)
       OR dt IN (SELECT CAST(dt + INTERVAL '1 day' AS DATE) FROM __partitions)
       OR dt IN (SELECT CAST(dt - INTERVAL '1 day' AS DATE) FROM __partitions)
),
calls AS (
    SELECT call_id, MIN(started_at) AS started_at, MAX(ended_at) AS ended_at, COUNT(*) AS legs
    FROM legs
    GROUP BY call_id
),
primary_leg AS (
    SELECT * FROM (
        SELECT l.*, ROW_NUMBER() OVER (PARTITION BY call_id ORDER BY started_at, "sequence") AS n
        FROM legs AS l
        WHERE is_primary
    ) AS p
    WHERE n = 1
),
first_queue AS (
    SELECT call_id, queue_name FROM (
        SELECT call_id, queue_name, ROW_NUMBER() OVER (PARTITION BY call_id ORDER BY started_at, "sequence") AS n
        FROM legs
        WHERE queue_name IS NOT NULL
    ) AS q
    WHERE n = 1
),
directed AS (
    SELECT
        c.*,
        p.did_e164,
        p.did_channel,
        p.src_phone_hash,
        p.dst_phone_hash,
        CASE
            WHEN p.call_id IS NULL THEN 'unknown'   -- the primary row has not landed
            WHEN p.context_direction = 'inbound' THEN 'inbound'
            WHEN p.context_direction = 'outbound' AND p.dst_extension IS NOT NULL THEN 'internal'
            WHEN p.context_direction = 'outbound' THEN 'outbound'
            ELSE 'other'
        END AS direction,
        fq.queue_name
    FROM calls AS c
    LEFT JOIN primary_leg AS p ON p.call_id = c.call_id
    LEFT JOIN first_queue AS fq ON fq.call_id = c.call_id
)
SELECT
    call_id,
    started_at,
    ended_at,
    direction,
    did_e164,
    CASE direction
        WHEN 'inbound' THEN did_channel
        WHEN 'outbound' THEN 'voice_outbound'
        ELSE 'unknown'
    END AS channel,
    CASE direction
        WHEN 'inbound' THEN src_phone_hash
        WHEN 'outbound' THEN dst_phone_hash
    END AS customer_phone_hash,
    direction IN ('inbound', 'outbound') AS is_interaction,
    queue_name,
    legs,
    local_date(started_at) AS dt
FROM directed
WHERE local_date(started_at) IN (SELECT dt FROM __partitions)
