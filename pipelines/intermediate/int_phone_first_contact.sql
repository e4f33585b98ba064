/* kpi-etl
materialized = "table"
unique_key = ["phone_hash"]
latest_by = "first_at, channel"
description = """For every customer phone (keyed hash), its first interaction ever: time and channel
(ties at the same instant: channel name ascending). The earliest interaction of a record's
phones at or before a reference time is the earliest of these first interactions when that is
at or before the reference time, and none otherwise; so this small table answers every
first-contact question. Interactions only ever add earlier candidates, so merging keeps the
earliest."""
*/
SELECT customer_phone_hash AS phone_hash, started_at AS first_at, channel
FROM int_calls__changed
WHERE is_interaction AND customer_phone_hash IS NOT NULL
UNION ALL
SELECT customer_phone_hash, started_at, 'whatsapp'
FROM int_conversations__changed
WHERE customer_phone_hash IS NOT NULL
