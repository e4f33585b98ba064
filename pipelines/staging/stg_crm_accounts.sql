/* kpi-etl
materialized = "table"
unique_key = ["account_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce Account (latest version by LastModifiedDate), deleted
ones included with is_deleted = true so that a deletion reaches every table. The phone appears
only as a keyed hash of its E.164 form."""
*/
SELECT
    id AS account_id,
    name,
    pii_hash(phone_e164(phone)) AS phone_hash,
    phone_type(phone) AS phone_type,
    industry,
    billing_city,
    owner_id,
    created_at,
    last_modified_at,
    COALESCE(is_deleted, false) AS is_deleted,
    source_file,
    source_line,
    landed_on
FROM raw_crm_account
