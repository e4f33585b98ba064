/* kpi-etl
materialized = "table"
unique_key = ["quota_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every ForecastingQuota (latest version by LastModifiedDate): one quota
of one owner for the month starting at start_date."""
tests = [
    { reconcile = "raw_crm_forecasting_quota" },
    { unique = ["quota_id"] },
]
*/
SELECT
    id AS quota_id,
    quota_owner_id,
    start_date,
    quota_amount,
    last_modified_at,
    source_file,
    source_line,
    landed_on
FROM raw_crm_forecasting_quota
