/* kpi-etl
materialized = "table"
strategy = "replace"
description = """SCD type 2 over the versions of each Salesforce Account: one row per version, valid from
its LastModifiedDate (the first version from the beginning of time) to the next version's.
first_contact_channel is the account's: the channel of the earliest interaction with any of its
phones at or before its CreatedDate (ties: channel name ascending), `unknown` when there is
none. customer_key is derived from (Id, version time), so it never changes; unknown is -1."""
tests = [
    { unique = ["customer_key"] },
    { not_null = ["customer_key", "account_id", "first_contact_channel"] },
    { relationships = { column = "first_contact_channel", to = "dim_channel", field = "channel" } },
]
*/
-- Validity runs from 1900-01-01 to 9999-12-31 (microsecond timestamps: nanoseconds stop in 2262).
WITH versions AS (
    SELECT
        v.*,
        ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY last_modified_at) AS version_no,
        LEAD(last_modified_at) OVER (PARTITION BY account_id ORDER BY last_modified_at) AS next_at
    FROM stg_crm_account_versions AS v
),
first_contact AS (
    SELECT account_id, channel FROM (
        SELECT
            a.account_id,
            f.channel,
            ROW_NUMBER() OVER (PARTITION BY a.account_id ORDER BY f.first_at, f.channel) AS n
        FROM stg_crm_accounts AS a
        JOIN int_account_phones AS p ON p.account_id = a.account_id
        JOIN int_phone_first_contact AS f ON f.phone_hash = p.phone_hash
        WHERE f.first_at <= a.created_at
    ) AS ranked
    WHERE n = 1
)
SELECT
    surrogate_key(v.account_id, CAST(v.last_modified_at AS VARCHAR)) AS customer_key,
    v.account_id,
    v.name,
    v.industry,
    v.billing_city,
    v.owner_id AS owner_agent_id,
    COALESCE(fc.channel, 'unknown') AS first_contact_channel,
    CASE WHEN v.version_no = 1 THEN arrow_cast('1900-01-01T00:00:00Z', 'Timestamp(µs, "UTC")') ELSE v.last_modified_at END AS valid_from,
    COALESCE(v.next_at, arrow_cast('9999-12-31T00:00:00Z', 'Timestamp(µs, "UTC")')) AS valid_to,
    v.next_at IS NULL AS is_current,
    v.is_deleted
FROM versions AS v
LEFT JOIN first_contact AS fc ON fc.account_id = v.account_id
UNION ALL
SELECT
    -1, 'unknown', 'Unknown customer', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'unknown',
    arrow_cast('1900-01-01T00:00:00Z', 'Timestamp(µs, "UTC")'), arrow_cast('9999-12-31T00:00:00Z', 'Timestamp(µs, "UTC")'), true, false
