/* kpi-etl
materialized = "table"
unique_key = ["user_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce User (the agents): its latest version by
LastModifiedDate over every landed partition. Ids in 18-character form."""
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
