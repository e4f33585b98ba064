/* kpi-etl
materialized = "table"
unique_key = ["queue_key"]
description = """One row per queue name seen in queue_log, the CDR (Queue application) or WhatsApp
replies, plus unknown (key -1). queue_key is derived from the name, so it never changes."""
tests = [
    { unique = ["queue_key"] },
]
*/
WITH names AS (
    SELECT queue_name FROM stg_queue_log__changed
    UNION SELECT queue_name FROM stg_cdr__changed
    UNION SELECT queue_name FROM stg_whatsapp_statuses__changed
)
SELECT surrogate_key(queue_name) AS queue_key, queue_name
FROM names
WHERE queue_name IS NOT NULL AND queue_name <> '' AND queue_name <> 'NONE'
UNION ALL
SELECT -1, 'unknown'
