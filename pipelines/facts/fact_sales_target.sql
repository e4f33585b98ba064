/* kpi-etl
materialized = "monthly"
strategy = "replace"
partitions = """
SELECT start_date FROM stg_crm_quotas__changed UNION SELECT start_date FROM stg_crm_quotas__previous
-- Re-point the quotas of every owner whose versions changed tonight.
UNION SELECT start_date FROM stg_crm_quotas WHERE quota_owner_id IN (
    SELECT agent_id FROM dim_agent__changed UNION SELECT agent_id FROM dim_agent__previous
)
"""
description = """One row per quota (ForecastingQuota, current state); month is its StartDate, the first day
of the month it covers. agent_key is the owner's version valid at the month's start."""
tests = [
    { unique = ["quota_id"] },
]
*/
SELECT
    q.quota_id,
    COALESCE(a.agent_key, -1) AS agent_key,
    q.quota_owner_id AS agent_id,
    q.quota_amount,
    q.start_date AS "month"
FROM stg_crm_quotas AS q
LEFT JOIN dim_agent AS a
    ON a.agent_id = q.quota_owner_id
    AND arrow_cast(q.start_date, 'Timestamp(µs, "UTC")') >= a.valid_from AND arrow_cast(q.start_date, 'Timestamp(µs, "UTC")') < a.valid_to
WHERE q.start_date IN (SELECT "month" FROM __partitions)
