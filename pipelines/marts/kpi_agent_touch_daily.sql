/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT o.close_date FROM fact_opportunity AS o JOIN bridge_agent_touch__changed AS b
    ON b.subject_type = 'opportunity' AND b.subject_id = o.opportunity_id
UNION SELECT o.close_date FROM fact_opportunity AS o JOIN bridge_agent_touch__previous AS b
    ON b.subject_type = 'opportunity' AND b.subject_id = o.opportunity_id
UNION SELECT r.dt FROM fact_order AS r JOIN bridge_agent_touch__changed AS b
    ON b.subject_type = 'order' AND b.subject_id = r.order_id
UNION SELECT r.dt FROM fact_order AS r JOIN bridge_agent_touch__previous AS b
    ON b.subject_type = 'order' AND b.subject_id = r.order_id
UNION SELECT close_date FROM fact_opportunity__changed UNION SELECT close_date FROM fact_opportunity__previous
UNION SELECT dt FROM fact_order__changed UNION SELECT dt FROM fact_order__previous
"""
description = """Per local day and touching agent: the opportunities won that day (CloseDate) and the orders
activated that day (EffectiveDate) the agent touched (bridge_agent_touch), their full amounts,
and the agent's credited share (amount x weight). Credited shares are allotted in cents, the
remainder cents going to the first agents by agent_id, so that summed over the agents of a
subject they equal its amount exactly."""
tests = [
    { unique = ["dt", "agent_id"] },
    { name = "credited never exceeds touched", sql = "SELECT * FROM this WHERE won_amount_credited > won_amount_touched OR order_amount_credited > order_amount_touched" },
]
*/
WITH subjects AS (
    SELECT 'opportunity' AS subject_type, opportunity_id AS subject_id, close_date AS dt, COALESCE(amount, 0) AS amount
    FROM fact_opportunity
    WHERE is_won AND close_date IN (SELECT dt FROM __partitions)
    UNION ALL
    SELECT 'order', order_id, dt, COALESCE(amount, 0)
    FROM fact_order
    WHERE status = 'Activated' AND dt IN (SELECT dt FROM __partitions)
),
touches AS (
    SELECT
        s.subject_type,
        s.subject_id,
        s.dt,
        s.amount,
        b.agent_id,
        COUNT(*) OVER (PARTITION BY s.subject_type, s.subject_id) AS agents,
        ROW_NUMBER() OVER (PARTITION BY s.subject_type, s.subject_id ORDER BY b.agent_id) AS k,
        CAST(s.amount * 100 AS BIGINT) AS cents
    FROM subjects AS s
    JOIN bridge_agent_touch AS b ON b.subject_type = s.subject_type AND b.subject_id = s.subject_id
),
credited AS (
    SELECT *, cents / agents + CASE WHEN k <= cents % agents THEN 1 ELSE 0 END AS credited_cents
    FROM touches
)
SELECT
    agent_id,
    CAST(SUM(CASE WHEN subject_type = 'opportunity' THEN 1 ELSE 0 END) AS BIGINT) AS opportunities_won_touched,
    CAST(SUM(CASE WHEN subject_type = 'opportunity' THEN amount ELSE 0 END) AS DECIMAL(18, 2)) AS won_amount_touched,
    CAST(CAST(SUM(CASE WHEN subject_type = 'opportunity' THEN credited_cents ELSE 0 END) AS DECIMAL(20, 0)) / 100 AS DECIMAL(18, 2)) AS won_amount_credited,
    CAST(SUM(CASE WHEN subject_type = 'order' THEN 1 ELSE 0 END) AS BIGINT) AS orders_touched,
    CAST(SUM(CASE WHEN subject_type = 'order' THEN amount ELSE 0 END) AS DECIMAL(18, 2)) AS order_amount_touched,
    CAST(CAST(SUM(CASE WHEN subject_type = 'order' THEN credited_cents ELSE 0 END) AS DECIMAL(20, 0)) / 100 AS DECIMAL(18, 2)) AS order_amount_credited,
    dt
FROM credited
GROUP BY dt, agent_id
