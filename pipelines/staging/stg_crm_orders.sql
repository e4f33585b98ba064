/* kpi-etl
materialized = "table"
unique_key = ["order_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce Order (latest version by LastModifiedDate), deleted ones
included with is_deleted = true. Status is Draft, Activated or Cancelled."""
tests = [
    { reconcile = "raw_crm_order" },
    { unique = ["order_id"] },
    { accepted_values = { column = "status", values = ["Draft", "Activated", "Cancelled"] }, severity = "warn" },
]
*/
SELECT
    id AS order_id,
    order_number,
    account_id,
    opportunity_id,
    owner_id,
    status,
    effective_date,
    total_amount,
    created_at,
    last_modified_at,
    COALESCE(is_deleted, false) AS is_deleted,
    source_file,
    source_line,
    landed_on
FROM raw_crm_order
