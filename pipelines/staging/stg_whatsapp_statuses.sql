/* kpi-etl
materialized = "daily"
unique_key = ["message_id", "status"]
latest_by = "landed_on, source_file, source_line"
description = """One row per status of an outbound WhatsApp message (sent, delivered, read, failed),
deduplicated on (message id, status). The sending agent's extension and queue come from
biz_opaque_callback_data (`agent=<extension>;queue=<name>`), absent for automated sends.
dt is the local date of the status."""
tests = [
    { reconcile = "raw_whatsapp_statuses" },
    { unique = ["message_id", "status"] },
    { accepted_values = { column = "status", values = ["sent", "delivered", "read", "failed", "deleted", "played"] }, severity = "warn" },
]
*/
SELECT
    message_id,
    status,
    status_at,
    phone_e164(business_number) AS business_number,
    pii_hash(phone_e164(recipient_id)) AS customer_phone_hash,
    conversation_id,
    conversation_origin,
    pricing_category,
    regexp_match(callback_data, '(?:^|;)agent=([^;]*)')[1] AS agent_extension,
    regexp_match(callback_data, '(?:^|;)queue=([^;]*)')[1] AS queue_name,
    error_code,
    error_title,
    source_file,
    source_line,
    landed_on,
    local_date(status_at) AS dt
FROM raw_whatsapp_statuses
