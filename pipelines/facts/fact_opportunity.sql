/* kpi-etl
materialized = "table"
strategy = "replace"
description = """Accumulating snapshot: one row per opportunity in its current state (deleted ones count
nowhere). first_contact_channel is that of the earliest-created lead converted into it, else its
account's, else unknown. customer_key and agent_key are the versions valid at its creation.
days_to_close counts from its local creation date to CloseDate, for closed ones."""
tests = [
    { unique = ["opportunity_id"] },
    { not_null = ["customer_key", "agent_key"] },
    { relationships = { column = "customer_key", to = "dim_customer", field = "customer_key" } },
]
*/
WITH converted AS (
    SELECT converted_opportunity_id AS opportunity_id, lead_id, first_contact_channel FROM (
        SELECT l.converted_opportunity_id, l.lead_id, fc.first_contact_channel,
               ROW_NUMBER() OVER (PARTITION BY l.converted_opportunity_id ORDER BY l.created_at, l.lead_id) AS n
        FROM stg_crm_leads AS l
        JOIN int_lead_first_contact AS fc ON fc.lead_id = l.lead_id
        WHERE NOT l.is_deleted AND l.converted_opportunity_id IS NOT NULL
    ) AS ranked
    WHERE n = 1
),
account_channel AS (
    SELECT account_id, first_contact_channel FROM dim_customer WHERE is_current
)
SELECT
    o.opportunity_id,
    COALESCE(c.customer_key, -1) AS customer_key,
    COALESCE(a.agent_key, -1) AS agent_key,
    o.owner_id AS agent_id,
    o.account_id,
    CAST(date_format(local_date(o.created_at), '%Y%m%d') AS BIGINT) AS created_date_key,
    COALESCE(CAST(date_format(o.close_date, '%Y%m%d') AS BIGINT), -1) AS close_date_key,
    o.created_at,
    o.close_date,
    o.stage_name AS stage,
    o.is_closed,
    o.is_won,
    o.amount,
    COALESCE(cv.first_contact_channel, ac.first_contact_channel, 'unknown') AS first_contact_channel,
    cv.lead_id AS converted_lead_id,
    CASE WHEN o.is_closed THEN CAST(o.close_date - local_date(o.created_at) AS BIGINT) END AS days_to_close
FROM stg_crm_opportunities AS o
LEFT JOIN converted AS cv ON cv.opportunity_id = o.opportunity_id
LEFT JOIN account_channel AS ac ON ac.account_id = o.account_id
LEFT JOIN dim_customer AS c
    ON c.account_id = o.account_id AND o.created_at >= c.valid_from AND o.created_at < c.valid_to
LEFT JOIN dim_agent AS a
    ON a.agent_id = o.owner_id AND o.created_at >= a.valid_from AND o.created_at < a.valid_to
WHERE NOT o.is_deleted
