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
SELECT dt FROM int_conversations__changed UNION SELECT dt FROM int_conversations__previous
-- Re-point the conversations whose customer_key now resolves to another version: those of a phone
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
-- Re-point the conversations of every agent version that changed tonight (a User landing late, an
-- extension change or a deactivation landing late, an inferred agent retired).
UNION SELECT dt FROM this WHERE agent_key IN (
    SELECT agent_key FROM dim_agent__changed UNION SELECT agent_key FROM dim_agent__previous
    UNION SELECT surrogate_key('ext:' || extension) FROM dim_agent__changed WHERE NOT is_inferred
    UNION SELECT surrogate_key('ext:' || extension) FROM dim_agent__previous WHERE NOT is_inferred
)
"""
description = """One row per WhatsApp conversation (see int_conversations); dt is the local date of its
first message. agent_key and queue_key are those of the first agent reply (the agent: the user
who had the extension at reply time, else ext:<extension>); customer_key as in fact_call."""
tests = [
    { unique = ["conversation_id"] },
    { not_null = ["customer_key", "agent_key", "queue_key"] },
    { relationships = { column = "agent_key", to = "dim_agent", field = "agent_key" } },
    { relationships = { column = "customer_key", to = "dim_customer", field = "customer_key" } },
]
*/
WITH conversations AS (
    SELECT * FROM int_conversations WHERE dt IN (SELECT dt FROM __partitions)
),
account AS (
    SELECT phone_hash, MIN(account_id) AS account_id FROM int_account_phones GROUP BY phone_hash
)
SELECT
    c.conversation_id,
    c.started_at,
    c.business_number,
    COALESCE(dc.customer_key, -1) AS customer_key,
    COALESCE(q.queue_key, -1) AS queue_key,
    CASE
        WHEN c.agent_extension IS NULL THEN -1
        ELSE COALESCE(u.agent_key, surrogate_key('ext:' || c.agent_extension))
    END AS agent_key,
    c.answered,
    c.wait_s,
    c.inbound_messages,
    c.outbound_messages,
    c.first_inbound_at,
    c.replied_at,
    c.customer_phone_hash,
    c.dt
FROM conversations AS c
LEFT JOIN dim_queue AS q ON q.queue_name = c.queue_name
LEFT JOIN dim_agent AS u
    ON NOT u.is_inferred
    AND u.extension = c.agent_extension
    AND c.replied_at >= u.valid_from
    AND c.replied_at < u.valid_to
LEFT JOIN account AS a ON a.phone_hash = c.customer_phone_hash
LEFT JOIN dim_customer AS dc
    ON dc.account_id = a.account_id
    AND c.started_at >= dc.valid_from
    AND c.started_at < dc.valid_to
