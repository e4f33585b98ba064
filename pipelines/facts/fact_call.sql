/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
WITH changed_phones AS (
    SELECT phone_hash FROM int_account_phones__changed
    UNION SELECT phone_hash FROM int_account_phones__previous
    UNION SELECT p.phone_hash FROM int_account_phones AS p JOIN dim_customer__changed AS c ON c.account_id = p.account_id
    UNION SELECT p.phone_hash FROM int_account_phones AS p JOIN dim_customer__previous AS c ON c.account_id = p.account_id
)
SELECT dt FROM int_calls__changed UNION SELECT dt FROM int_calls__previous
UNION SELECT dt FROM int_call_handlers__changed UNION SELECT dt FROM int_call_handlers__previous
-- Re-point the calls whose customer_key now resolves to another version: those of a phone
-- whose account, or account version, changed tonight (a late Account, a lead converted into
-- one, an edit that moves a version's validity), and only on the days where the key differs.
UNION SELECT t.dt FROM this AS t
LEFT JOIN (
    SELECT phone_hash, MIN(account_id) AS account_id FROM int_account_phones
    WHERE phone_hash IN (SELECT phone_hash FROM changed_phones) GROUP BY phone_hash
) AS a ON a.phone_hash = t.customer_phone_hash
LEFT JOIN dim_customer AS dc
    ON dc.account_id = a.account_id AND t.started_at >= dc.valid_from AND t.started_at < dc.valid_to
WHERE t.customer_phone_hash IN (SELECT phone_hash FROM changed_phones)
  AND t.customer_key <> COALESCE(dc.customer_key, -1)
"""
description = """One row per call (linkedid); dt is the local date of its start. agent_key is the first
agent who answered it; answered is true when an agent answered a leg; talk_s sums billsec over
the answered agent legs only. customer_key is the version, valid at the call's start, of the
account whose phones include the customer's number (the lowest Id if several do). The number
itself is kept only as a keyed hash. No key is ever NULL: -1 is the unknown member."""
tests = [
    { unique = ["call_id"] },
    { not_null = ["customer_key", "agent_key", "queue_key"] },
    { relationships = { column = "agent_key", to = "dim_agent", field = "agent_key" } },
    { relationships = { column = "customer_key", to = "dim_customer", field = "customer_key" } },
    { relationships = { column = "queue_key", to = "dim_queue", field = "queue_key" } },
    { relationships = { column = "channel", to = "dim_channel", field = "channel" } },
    { accepted_values = { column = "direction", values = ["inbound", "outbound", "internal", "other", "unknown"] } },
]
*/
WITH calls AS (
    SELECT * FROM int_calls WHERE dt IN (SELECT dt FROM __partitions)
),
handlers AS (
    SELECT * FROM int_call_handlers WHERE dt IN (SELECT dt FROM __partitions)
),
first_handler AS (
    SELECT call_id, agent_key FROM (
        SELECT h.*, ROW_NUMBER() OVER (PARTITION BY call_id ORDER BY answered_at, uniqueid, "sequence") AS n
        FROM handlers AS h
    ) AS f
    WHERE n = 1
),
talk AS (
    SELECT call_id, SUM(talk_s) AS talk_s FROM handlers GROUP BY call_id
),
account AS (
    SELECT phone_hash, MIN(account_id) AS account_id FROM int_account_phones GROUP BY phone_hash
)
SELECT
    c.call_id,
    c.started_at,
    c.ended_at,
    c.direction,
    c.did_e164,
    c.channel,
    COALESCE(dc.customer_key, -1) AS customer_key,
    COALESCE(fh.agent_key, -1) AS agent_key,
    COALESCE(q.queue_key, -1) AS queue_key,
    fh.call_id IS NOT NULL AS answered,
    CAST(COALESCE(t.talk_s, 0) AS BIGINT) AS talk_s,
    c.legs,
    c.is_interaction,
    c.customer_phone_hash,
    c.dt
FROM calls AS c
LEFT JOIN first_handler AS fh ON fh.call_id = c.call_id
LEFT JOIN talk AS t ON t.call_id = c.call_id
LEFT JOIN dim_queue AS q ON q.queue_name = c.queue_name
LEFT JOIN account AS a ON a.phone_hash = c.customer_phone_hash
LEFT JOIN dim_customer AS dc
    ON dc.account_id = a.account_id
    AND c.started_at >= dc.valid_from
    AND c.started_at < dc.valid_to
