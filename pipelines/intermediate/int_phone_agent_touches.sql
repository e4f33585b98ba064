/* kpi-etl
materialized = "table"
unique_key = ["phone_hash", "agent_id"]
latest_by = "first_touch_date"
description = """For every customer phone (keyed hash) and agent, the first local date the agent handled an
interaction with it: answered a leg of a call with it, or sent an agent message to it on
WhatsApp (dated by that message). An agent touched a record by a date when this first date is on
or before it, so this small table answers every touching-agents question; merging keeps the
earliest date."""
*/
SELECT customer_phone_hash AS phone_hash, agent_id, MIN(dt) AS first_touch_date
FROM int_call_handlers__changed
WHERE is_interaction AND customer_phone_hash IS NOT NULL
GROUP BY customer_phone_hash, agent_id
UNION ALL
SELECT s.customer_phone_hash, COALESCE(u.agent_id, 'ext:' || s.agent_extension), MIN(s.dt)
FROM stg_whatsapp_statuses__changed AS s
LEFT JOIN dim_agent AS u
    ON NOT u.is_inferred AND u.extension = s.agent_extension
    AND s.status_at >= u.valid_from AND s.status_at < u.valid_to
WHERE s.status = 'sent' AND s.agent_extension IS NOT NULL AND s.customer_phone_hash IS NOT NULL
GROUP BY s.customer_phone_hash, COALESCE(u.agent_id, 'ext:' || s.agent_extension)
