/* kpi-etl
materialized = "daily"
unique_key = ["message_id"]
latest_by = "landed_on, source_file, source_line, envelope_index"
description = """One row per inbound WhatsApp message (webhooks are delivered at least once: deduplicated
on the message id, first delivery kept). dt is the local date of the message. The customer's
wa_id appears only as a keyed hash of its E.164 form."""
tests = [
    { reconcile = "raw_whatsapp_messages" },
    { unique = ["message_id"] },
    { not_null = ["sent_at"] },
]
*/
SELECT
    message_id,
    phone_e164(business_number) AS business_number,
    pii_hash(phone_e164(wa_id)) AS customer_phone_hash,
    sent_at,
    message_type,
    source_file,
    source_line,
    envelope_index,
    landed_on,
    local_date(sent_at) AS dt
FROM raw_whatsapp_messages
