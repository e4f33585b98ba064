/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT dt FROM int_calls__changed UNION SELECT dt FROM int_calls__previous
-- Re-resolve the legs answered on an extension whose users changed tonight (a User landing late,
-- an extension change or a deactivation landing late).
UNION SELECT dt FROM this WHERE extension IN (
    SELECT extension FROM dim_agent__changed WHERE NOT is_inferred
    UNION SELECT extension FROM dim_agent__previous WHERE NOT is_inferred
)
"""
description = """One row per answered agent leg of a call: a CDR row with disposition ANSWERED on an agent
extension (dstchannel, or channel for outbound calls). The extension maps to the user who had
it at answer time (dim_agent), else to the inferred agent ext:<extension>. talk_s is the leg's
billsec; a call's talk time is the sum over its handler legs, never over all rows. dt is the
call's date."""
*/
WITH calls AS (
    SELECT call_id, direction, customer_phone_hash, is_interaction, dt
    FROM int_calls
    WHERE dt IN (SELECT dt FROM __partitions)
),
legs AS (
    SELECT * FROM stg_cdr
    WHERE dt IN (SELECT dt FROM __partitions)
       OR dt IN (SELECT CAST(dt + INTERVAL '1 day' AS DATE) FROM __partitions)
),
answered AS (
    SELECT
        l.call_id,
        l.uniqueid,
        l."sequence",
        CASE WHEN c.direction = 'outbound' THEN l.channel_extension ELSE l.dstchannel_extension END AS extension,
        l.answered_at,
        l.billsec_s,
        c.customer_phone_hash,
        c.is_interaction,
        c.dt
    FROM legs AS l
    JOIN calls AS c ON c.call_id = l.call_id
    WHERE l.disposition = 'ANSWERED' AND l.answered_at IS NOT NULL
)
SELECT
    a.call_id,
    a.uniqueid,
    a."sequence",
    a.extension,
    COALESCE(u.agent_id, 'ext:' || a.extension) AS agent_id,
    COALESCE(u.agent_key, surrogate_key('ext:' || a.extension)) AS agent_key,
    a.answered_at,
    a.billsec_s AS talk_s,
    a.customer_phone_hash,
    a.is_interaction,
    a.dt
FROM answered AS a
LEFT JOIN dim_agent AS u
    ON NOT u.is_inferred
    AND u.extension = a.extension
    AND a.answered_at >= u.valid_from
    AND a.answered_at < u.valid_to
WHERE a.extension IS NOT NULL
