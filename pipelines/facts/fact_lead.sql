/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT local_date(created_at) FROM stg_crm_leads__changed
UNION SELECT local_date(created_at) FROM stg_crm_leads__previous
UNION SELECT local_date(l.created_at) FROM stg_crm_leads AS l
    JOIN int_lead_first_contact__changed AS c ON c.lead_id = l.lead_id
UNION SELECT local_date(l.created_at) FROM stg_crm_leads AS l
    JOIN int_lead_first_contact__previous AS c ON c.lead_id = l.lead_id
"""
description = """One row per lead in its current state (deleted leads count nowhere); dt is the local date
of its CreatedDate. agent_key is the owner's version valid at creation (-1 when the owner is a
queue or unknown; agent_id keeps the OwnerId all the same)."""
tests = [
    { unique = ["lead_id"] },
    { not_null = ["agent_key", "first_contact_channel"] },
    { relationships = { column = "first_contact_channel", to = "dim_channel", field = "channel" } },
]
*/
SELECT
    l.lead_id,
    COALESCE(a.agent_key, -1) AS agent_key,
    l.owner_id AS agent_id,
    l.lead_source,
    l.status,
    l.is_converted,
    l.converted_date,
    l.converted_account_id,
    l.converted_opportunity_id,
    fc.first_contact_channel,
    l.created_at,
    local_date(l.created_at) AS dt
FROM stg_crm_leads AS l
JOIN int_lead_first_contact AS fc ON fc.lead_id = l.lead_id
LEFT JOIN dim_agent AS a
    ON a.agent_id = l.owner_id AND l.created_at >= a.valid_from AND l.created_at < a.valid_to
WHERE NOT l.is_deleted AND local_date(l.created_at) IN (SELECT dt FROM __partitions)
