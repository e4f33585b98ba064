/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT effective_date FROM stg_crm_orders__changed
UNION SELECT effective_date FROM stg_crm_orders__previous
UNION SELECT o.effective_date FROM stg_crm_orders AS o
    JOIN fact_opportunity__changed AS f ON f.opportunity_id = o.opportunity_id
UNION SELECT o.effective_date FROM stg_crm_orders AS o
    JOIN fact_opportunity__previous AS f ON f.opportunity_id = o.opportunity_id
"""
description = """One row per order in its current state (deleted ones count nowhere); dt is its
EffectiveDate. first_contact_channel is its opportunity's, else its account's, else unknown."""
tests = [
    { unique = ["order_id"] },
    { not_null = ["customer_key", "agent_key"] },
]
*/
SELECT
    o.order_id,
    o.order_number,
    COALESCE(c.customer_key, -1) AS customer_key,
    o.account_id,
    o.opportunity_id,
    COALESCE(a.agent_key, -1) AS agent_key,
    o.owner_id AS agent_id,
    o.status,
    o.total_amount AS amount,
    COALESCE(f.first_contact_channel, dc.first_contact_channel, 'unknown') AS first_contact_channel,
    o.effective_date AS dt
FROM stg_crm_orders AS o
LEFT JOIN fact_opportunity AS f ON f.opportunity_id = o.opportunity_id
LEFT JOIN dim_customer AS dc ON dc.account_id = o.account_id AND dc.is_current
LEFT JOIN dim_customer AS c
    ON c.account_id = o.account_id
    AND arrow_cast(o.effective_date, 'Timestamp(µs, "UTC")') >= c.valid_from AND arrow_cast(o.effective_date, 'Timestamp(µs, "UTC")') < c.valid_to
LEFT JOIN dim_agent AS a
    ON a.agent_id = o.owner_id
    AND arrow_cast(o.effective_date, 'Timestamp(µs, "UTC")') >= a.valid_from AND arrow_cast(o.effective_date, 'Timestamp(µs, "UTC")') < a.valid_to
WHERE NOT o.is_deleted AND o.effective_date IN (SELECT dt FROM __partitions)
