/* kpi-etl
materialized = "table"
strategy = "replace"
description = """The first-contact channel of every current, non-deleted lead: the channel of the earliest
interaction with its Phone or MobilePhone at or before its CreatedDate (ties: channel name
ascending), `unknown` when there is none."""
*/
WITH leads AS (
    SELECT lead_id, created_at, phone_hash, mobile_phone_hash FROM stg_crm_leads WHERE NOT is_deleted
),
phones AS (
    SELECT lead_id, created_at, phone_hash FROM leads WHERE phone_hash IS NOT NULL
    UNION SELECT lead_id, created_at, mobile_phone_hash FROM leads WHERE mobile_phone_hash IS NOT NULL
),
ranked AS (
    SELECT p.lead_id, f.channel,
           ROW_NUMBER() OVER (PARTITION BY p.lead_id ORDER BY f.first_at, f.channel) AS n
    FROM phones AS p
    JOIN int_phone_first_contact AS f ON f.phone_hash = p.phone_hash
    WHERE f.first_at <= p.created_at
)
SELECT l.lead_id, COALESCE(r.channel, 'unknown') AS first_contact_channel
FROM leads AS l
LEFT JOIN ranked AS r ON r.lead_id = l.lead_id AND r.n = 1
