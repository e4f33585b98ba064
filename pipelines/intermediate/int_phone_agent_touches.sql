/* kpi-etl
materialized = "table"
strategy = "delete_insert"
unique_key = ["phone_hash"]
description = """For every customer phone (keyed hash) and agent, the first local date the agent handled an
interaction with it: answered a leg of a call with it (dated by the call), or sent an agent message
in a WhatsApp conversation with it (dated by the conversation, its first message). An agent
touched a record by a date when this first date is on or before it, so this small table answers
every touching-agents question. A night recomputes, whole, every phone whose calls' handlers or
conversations changed, or whose agent messages used an extension whose users changed: a User
landing late takes over the touches of its inferred ext: agent."""
tests = [
    { unique = ["phone_hash", "agent_id"] },
    { not_null = ["phone_hash", "agent_id", "first_touch_date"] },
]
*/
WITH changed_extensions AS (
    SELECT extension FROM dim_agent__changed WHERE NOT is_inferred AND extension IS NOT NULL
    UNION SELECT extension FROM dim_agent__previous WHERE NOT is_inferred AND extension IS NOT NULL
),
phones AS (
    SELECT customer_phone_hash AS phone_hash FROM int_call_handlers__changed
    UNION SELECT customer_phone_hash FROM int_call_handlers__previous
    UNION SELECT customer_phone_hash FROM int_conversations__changed
    UNION SELECT customer_phone_hash FROM int_conversations__previous
    UNION SELECT customer_phone_hash FROM stg_whatsapp_statuses
    WHERE status = 'sent' AND agent_extension IN (SELECT extension FROM changed_extensions)
),
calls AS (
    SELECT customer_phone_hash AS phone_hash, agent_id, dt
    FROM int_call_handlers
    WHERE is_interaction AND customer_phone_hash IN (SELECT phone_hash FROM phones)
),
sends AS (
    SELECT
        s.customer_phone_hash AS phone_hash,
        s.business_number,
        s.status_at,
        COALESCE(u.agent_id, 'ext:' || s.agent_extension) AS agent_id
    FROM stg_whatsapp_statuses AS s
    LEFT JOIN dim_agent AS u
        ON NOT u.is_inferred AND u.extension = s.agent_extension
        AND s.status_at >= u.valid_from AND s.status_at < u.valid_to
    WHERE s.status = 'sent' AND s.agent_extension IS NOT NULL
      AND s.customer_phone_hash IN (SELECT phone_hash FROM phones)
),
messages AS (
    SELECT w.phone_hash, w.agent_id, c.dt
    FROM sends AS w
    JOIN int_conversations AS c
        ON c.customer_phone_hash = w.phone_hash AND c.business_number = w.business_number
        AND w.status_at >= c.started_at AND w.status_at <= c.last_message_at
)
SELECT phone_hash, agent_id, MIN(dt) AS first_touch_date
FROM (SELECT * FROM calls UNION ALL SELECT * FROM messages) AS t
WHERE phone_hash IS NOT NULL
GROUP BY phone_hash, agent_id
