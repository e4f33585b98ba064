/* kpi-etl
materialized = "table"
unique_key = ["opportunity_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce Opportunity (latest version by LastModifiedDate),
deleted ones included with is_deleted = true. Amount is DECIMAL(18,2)."""
tests = [
    { reconcile = "raw_crm_opportunity" },
    { unique = ["opportunity_id"] },
]
*/
SELECT
    id AS opportunity_id,
    account_id,
    name,
    stage_name,
    amount,
    close_date,
    COALESCE(is_closed, false) AS is_closed,
    COALESCE(is_won, false) AS is_won,
    lead_source,
    owner_id,
    created_at,
    last_modified_at,
    COALESCE(is_deleted, false) AS is_deleted,
    source_file,
    source_line,
    landed_on
FROM raw_crm_opportunity
