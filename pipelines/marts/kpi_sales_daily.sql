/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
SELECT dt FROM fact_lead__changed UNION SELECT dt FROM fact_lead__previous
UNION SELECT converted_date FROM fact_lead__changed UNION SELECT converted_date FROM fact_lead__previous
UNION SELECT local_date(created_at) FROM fact_opportunity__changed
UNION SELECT local_date(created_at) FROM fact_opportunity__previous
UNION SELECT close_date FROM fact_opportunity__changed UNION SELECT close_date FROM fact_opportunity__previous
UNION SELECT dt FROM fact_order__changed UNION SELECT dt FROM fact_order__previous
"""
description = """Sales KPIs per local day, first-contact channel and owner (agent_id = OwnerId of the record
counted). leads_created: leads created that day; leads_converted: leads with IsConverted and
ConvertedDate that day; opportunities_created: created that day; opportunities_won / won_amount:
IsWon with CloseDate that day (a NULL Amount counts 0); opportunities_lost: IsClosed, not IsWon,
CloseDate that day; win_rate = won / (won + lost); orders / order_amount: Status Activated with
EffectiveDate that day; average_order_value = order_amount / orders. A ratio over zero is NULL;
a row exists only where a count is non-zero. Deleted records count nowhere."""
tests = [
    { unique = ["dt", "channel", "agent_id"] },
    { relationships = { column = "channel", to = "dim_channel", field = "channel" } },
]
*/
WITH days AS (
    SELECT dt FROM __partitions
),
counted AS (
    SELECT dt, first_contact_channel AS channel, agent_id,
           1 AS leads_created, 0 AS leads_converted, 0 AS opportunities_created,
           0 AS opportunities_won, CAST(0 AS DECIMAL(18, 2)) AS won_amount, 0 AS opportunities_lost,
           0 AS orders, CAST(0 AS DECIMAL(18, 2)) AS order_amount
    FROM fact_lead WHERE dt IN (SELECT dt FROM days)
    UNION ALL
    SELECT converted_date, first_contact_channel, agent_id, 0, 1, 0, 0, 0, 0, 0, 0
    FROM fact_lead WHERE is_converted AND converted_date IN (SELECT dt FROM days)
    UNION ALL
    SELECT local_date(created_at), first_contact_channel, agent_id, 0, 0, 1, 0, 0, 0, 0, 0
    FROM fact_opportunity WHERE local_date(created_at) IN (SELECT dt FROM days)
    UNION ALL
    SELECT close_date, first_contact_channel, agent_id, 0, 0, 0,
           CASE WHEN is_won THEN 1 ELSE 0 END,
           CASE WHEN is_won THEN COALESCE(amount, 0) ELSE 0 END,
           CASE WHEN is_closed AND NOT is_won THEN 1 ELSE 0 END,
           0, 0
    FROM fact_opportunity WHERE (is_won OR is_closed) AND close_date IN (SELECT dt FROM days)
    UNION ALL
    SELECT dt, first_contact_channel, agent_id, 0, 0, 0, 0, 0, 0, 1, COALESCE(amount, 0)
    FROM fact_order WHERE status = 'Activated' AND dt IN (SELECT dt FROM days)
),
totals AS (
    SELECT
        dt,
        channel,
        COALESCE(agent_id, 'unknown') AS agent_id,
        CAST(SUM(leads_created) AS BIGINT) AS leads_created,
        CAST(SUM(leads_converted) AS BIGINT) AS leads_converted,
        CAST(SUM(opportunities_created) AS BIGINT) AS opportunities_created,
        CAST(SUM(opportunities_won) AS BIGINT) AS opportunities_won,
        CAST(SUM(won_amount) AS DECIMAL(18, 2)) AS won_amount,
        CAST(SUM(opportunities_lost) AS BIGINT) AS opportunities_lost,
        CAST(SUM(orders) AS BIGINT) AS orders,
        CAST(SUM(order_amount) AS DECIMAL(18, 2)) AS order_amount
    FROM counted
    GROUP BY dt, channel, COALESCE(agent_id, 'unknown')
)
SELECT
    channel,
    agent_id,
    leads_created,
    leads_converted,
    opportunities_created,
    opportunities_won,
    won_amount,
    opportunities_lost,
    CASE WHEN opportunities_won + opportunities_lost = 0 THEN NULL
         ELSE CAST(opportunities_won AS DOUBLE) / CAST(opportunities_won + opportunities_lost AS DOUBLE) END AS win_rate,
    orders,
    order_amount,
    CASE WHEN orders = 0 THEN NULL ELSE CAST(order_amount AS DOUBLE) / CAST(orders AS DOUBLE) END AS average_order_value,
    dt
FROM totals
WHERE leads_created + leads_converted + opportunities_created + opportunities_won + opportunities_lost + orders > 0
