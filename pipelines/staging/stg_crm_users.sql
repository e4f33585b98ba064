/* kpi-etl
materialized = "table"
unique_key = ["user_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce User (the agents): its latest version by
LastModifiedDate over every landed partition (the night's new versions merged in). Ids in
18-character form."""
tests = [
    { unique = ["user_id"] },
]
*/
SELECT * FROM stg_crm_user_versions__changed
