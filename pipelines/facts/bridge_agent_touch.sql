/* kpi-etl
materialized = "table"
strategy = "replace"
description = """One row per (won opportunity or activated order, touching agent): every agent who handled
an interaction with one of its phones whose local date is on or before its CloseDate /
EffectiveDate. weight = 1 / number of touching agents, so the weights of a subject sum to 1.
Phones of an opportunity: those of the leads converted into it plus its account's; of an order:
its opportunity's if it has one, else its account's."""
tests = [
    { unique = ["subject_type", "subject_id", "agent_id"] },
    { name = "weights of a subject sum to 1", sql = "SELECT subject_type, subject_id, SUM(weight) AS total FROM this GROUP BY subject_type, subject_id HAVING abs(SUM(weight) - 1.0) > 1e-9" },
]
*/
WITH opportunity_phones AS (
    SELECT l.converted_opportunity_id AS opportunity_id, l.phone_hash
    FROM stg_crm_leads AS l WHERE NOT l.is_deleted AND l.converted_opportunity_id IS NOT NULL AND l.phone_hash IS NOT NULL
    UNION
    SELECT l.converted_opportunity_id, l.mobile_phone_hash
    FROM stg_crm_leads AS l WHERE NOT l.is_deleted AND l.converted_opportunity_id IS NOT NULL AND l.mobile_phone_hash IS NOT NULL
    UNION
    SELECT o.opportunity_id, p.phone_hash
    FROM stg_crm_opportunities AS o JOIN int_account_phones AS p ON p.account_id = o.account_id
    WHERE NOT o.is_deleted
),
subjects AS (
    SELECT 'opportunity' AS subject_type, o.opportunity_id AS subject_id, o.close_date AS subject_date, p.phone_hash
    FROM stg_crm_opportunities AS o
    JOIN opportunity_phones AS p ON p.opportunity_id = o.opportunity_id
    WHERE NOT o.is_deleted AND o.is_won
    UNION
    SELECT 'order', r.order_id, r.effective_date, p.phone_hash
    FROM stg_crm_orders AS r
    JOIN stg_crm_opportunities AS o ON o.opportunity_id = r.opportunity_id AND NOT o.is_deleted
    JOIN opportunity_phones AS p ON p.opportunity_id = r.opportunity_id
    WHERE NOT r.is_deleted AND r.status = 'Activated'
    UNION
    SELECT 'order', r.order_id, r.effective_date, p.phone_hash
    FROM stg_crm_orders AS r
    JOIN int_account_phones AS p ON p.account_id = r.account_id
    WHERE NOT r.is_deleted AND r.status = 'Activated'
      AND (r.opportunity_id IS NULL OR r.opportunity_id NOT IN (SELECT opportunity_id FROM stg_crm_opportunities WHERE NOT is_deleted))
),
touching AS (
    SELECT DISTINCT s.subject_type, s.subject_id, t.agent_id
    FROM subjects AS s
    JOIN int_phone_agent_touches AS t ON t.phone_hash = s.phone_hash AND t.first_touch_date <= s.subject_date
)
SELECT
    subject_type,
    subject_id,
    agent_id,
    1.0 / CAST(COUNT(*) OVER (PARTITION BY subject_type, subject_id) AS DOUBLE) AS weight
FROM touching
