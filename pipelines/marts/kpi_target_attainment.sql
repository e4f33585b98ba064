/* kpi-etl
materialized = "daily"
strategy = "replace"
partitions = """
WITH changed_months AS (
    SELECT "month" AS m FROM fact_sales_target__changed
    UNION SELECT "month" FROM fact_sales_target__previous
    UNION SELECT CAST(date_trunc('month', close_date) AS DATE) FROM fact_opportunity__changed WHERE is_won
    UNION SELECT CAST(date_trunc('month', close_date) AS DATE) FROM fact_opportunity__previous WHERE is_won
),
quota_days AS (
    SELECT "date" AS d, month_start FROM dim_date
    WHERE month_start IN (SELECT "month" FROM fact_sales_target)
      AND "date" <= (SELECT MAX(landing_date) FROM int_landing_dates)
)
-- Every day of a month whose quotas or won opportunities changed, and every quota day not
-- published yet (today, or days no night ran for).
SELECT d FROM quota_days WHERE month_start IN (SELECT m FROM changed_months)
UNION SELECT d FROM quota_days WHERE d NOT IN (SELECT DISTINCT dt FROM this)
UNION SELECT "date" FROM dim_date
WHERE month_start IN (SELECT m FROM changed_months) AND "date" <= (SELECT MAX(landing_date) FROM int_landing_dates)
"""
description = """For every date of a month that has a quota, from the month's first day up to the
warehouse's horizon (the latest landing date processed, int_landing_dates) or the month's end, and every agent with a quota for that month (ForecastingQuota
current state, StartDate = the month's first day; several quotas of one owner are summed), one
row, even on days when nothing was won: quota_amount; won_amount_mtd, the Amount of
opportunities owned by that agent, won, with CloseDate from the month's first day to dt;
attainment = won_amount_mtd / quota_amount; target_met = attainment >= 1. The share of agents
meeting target is AVG(target_met) over a dt."""
tests = [
    { unique = ["dt", "agent_id"] },
]
*/
WITH quotas AS (
    SELECT agent_id, "month", SUM(quota_amount) AS quota_amount
    FROM fact_sales_target
    GROUP BY agent_id, "month"
),
days AS (
    SELECT "date" AS dt, month_start FROM dim_date
    WHERE "date" IN (SELECT dt FROM __partitions) AND "date" <= (SELECT MAX(landing_date) FROM int_landing_dates)
),
grid AS (
    SELECT d.dt, d.month_start, q.agent_id, q.quota_amount
    FROM days AS d
    JOIN quotas AS q ON q."month" = d.month_start
),
mtd AS (
    SELECT g.dt, g.agent_id, g.quota_amount, COALESCE(SUM(COALESCE(o.amount, 0)), 0) AS won
    FROM grid AS g
    LEFT JOIN fact_opportunity AS o
        ON o.agent_id = g.agent_id AND o.is_won
        AND o.close_date >= g.month_start AND o.close_date <= g.dt
    GROUP BY g.dt, g.agent_id, g.quota_amount
)
SELECT
    agent_id,
    CAST(quota_amount AS DECIMAL(18, 2)) AS quota_amount,
    CAST(won AS DECIMAL(18, 2)) AS won_amount_mtd,
    CASE WHEN quota_amount = 0 THEN NULL ELSE CAST(won AS DOUBLE) / CAST(quota_amount AS DOUBLE) END AS attainment,
    CASE WHEN quota_amount = 0 THEN NULL ELSE CAST(won AS DOUBLE) / CAST(quota_amount AS DOUBLE) >= 1.0 END AS target_met,
    dt
FROM mtd
