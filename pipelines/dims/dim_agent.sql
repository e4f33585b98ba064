/* kpi-etl
materialized = "table"
unique_key = ["agent_key"]
description = """SCD type 2 over the versions of each CRM User: one row per version, valid from its
LastModifiedDate (the first version from the beginning of time) to the next version's.
Every extension the PBX or WhatsApp ever used has an inferred agent `ext:<extension>`; a fact
points to it only for the events no user version covers (a User landing late re-points them to
the user and leaves the inferred member unused, so the table is the same whatever order the
landing dates ran in). agent_key is derived from (Id, version time), so it never changes. The
unknown agent has key -1."""
tests = [
    { unique = ["agent_key"] },
    { not_null = ["agent_key", "agent_id", "valid_from", "valid_to"] },
]
*/
-- Validity runs from 1900-01-01 to 9999-12-31 (microsecond timestamps: nanoseconds stop in 2262).
WITH versions AS (
    SELECT
        v.*,
        ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY last_modified_at) AS version_no,
        LEAD(last_modified_at) OVER (PARTITION BY user_id ORDER BY last_modified_at) AS next_at
    FROM stg_crm_user_versions AS v
),
users AS (
    SELECT
        surrogate_key(user_id, CAST(last_modified_at AS VARCHAR)) AS agent_key,
        user_id AS agent_id,
        name,
        email,
        extension,
        department,
        is_active,
        CASE WHEN version_no = 1 THEN arrow_cast('1900-01-01T00:00:00Z', 'Timestamp(µs, "UTC")') ELSE last_modified_at END AS valid_from,
        COALESCE(next_at, arrow_cast('9999-12-31T00:00:00Z', 'Timestamp(µs, "UTC")')) AS valid_to,
        next_at IS NULL AS is_current,
        false AS is_inferred
    FROM versions
),
used AS (
    -- Extensions the night's events used, and when.
    SELECT dstchannel_extension AS extension, started_at AS used_at FROM stg_cdr__changed
    UNION ALL SELECT channel_extension, started_at FROM stg_cdr__changed
    UNION ALL SELECT agent_extension, event_time FROM stg_queue_log__changed
    UNION ALL SELECT agent_extension, status_at FROM stg_whatsapp_statuses__changed
),
unmatched AS (
    SELECT DISTINCT extension FROM used WHERE extension IS NOT NULL
)
SELECT * FROM users
UNION ALL
SELECT
    surrogate_key('ext:' || extension), 'ext:' || extension, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
    extension, CAST(NULL AS VARCHAR), true,
    arrow_cast('1900-01-01T00:00:00Z', 'Timestamp(µs, "UTC")'), arrow_cast('9999-12-31T00:00:00Z', 'Timestamp(µs, "UTC")'), true, true
FROM unmatched
UNION ALL
SELECT
    -1, 'unknown', 'Unknown agent', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS BOOLEAN),
    arrow_cast('1900-01-01T00:00:00Z', 'Timestamp(µs, "UTC")'), arrow_cast('9999-12-31T00:00:00Z', 'Timestamp(µs, "UTC")'), true, true
