/* kpi-etl
materialized = "table"
unique_key = ["lead_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce Lead (latest version by LastModifiedDate), deleted ones
included with is_deleted = true. Names and e-mail are not kept; Phone and MobilePhone appear
only as keyed hashes of their E.164 forms. OwnerId may be a queue (00G...)."""
tests = [
    { reconcile = "raw_crm_lead" },
    { unique = ["lead_id"] },
]
*/
SELECT
    id AS lead_id,
    company,
    pii_hash(phone_e164(phone)) AS phone_hash,
    pii_hash(phone_e164(mobile_phone)) AS mobile_phone_hash,
    lead_source,
    status,
    owner_id,
    COALESCE(is_converted, false) AS is_converted,
    converted_date,
    converted_account_id,
    converted_opportunity_id,
    created_at,
    last_modified_at,
    COALESCE(is_deleted, false) AS is_deleted,
    source_file,
    source_line,
    landed_on
FROM raw_crm_lead
