/* kpi-etl
materialized = "table"
unique_key = ["user_id", "last_modified_at"]
latest_by = "landed_on DESC, source_file DESC, source_line DESC"
description = """Every version of every Salesforce User, one row per (Id, LastModifiedDate): the history
dim_agent turns into SCD type 2 rows."""
tests = [
    { reconcile = "raw_crm_user" },
    { unique = ["user_id", "last_modified_at"] },
]
*/
SELECT
    id AS user_id,
    name,
    email,
    NULLIF(trim(extension), '') AS extension,
    department,
    COALESCE(is_active, true) AS is_active,
    manager_id,
    last_modified_at,
    source_file,
    source_line,
    landed_on
FROM raw_crm_user
