/* kpi-etl
materialized = "table"
unique_key = ["account_id", "last_modified_at"]
latest_by = "landed_on DESC, source_file DESC, source_line DESC"
description = """Every version of every Salesforce Account, one row per (Id, LastModifiedDate): the history
dim_customer turns into SCD type 2 rows. The phone appears only as a keyed hash."""
tests = [
    { reconcile = "raw_crm_account" },
    { unique = ["account_id", "last_modified_at"] },
]
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
