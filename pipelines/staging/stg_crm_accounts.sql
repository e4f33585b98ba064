/* kpi-etl
materialized = "table"
unique_key = ["account_id"]
latest_by = "last_modified_at DESC, landed_on DESC, source_file DESC, source_line DESC"
description = """Current state of every Salesforce Account (latest version by LastModifiedDate, the night's
new versions merged in), deleted ones included with is_deleted = true so that a deletion reaches
every table. The phone appears only as a keyed hash of its E.164 form."""
tests = [
    { unique = ["account_id"] },
]
*/
SELECT * FROM stg_crm_account_versions__changed
