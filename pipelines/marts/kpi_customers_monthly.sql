/* kpi-etl
materialized = "monthly"
strategy = "replace"
partitions = """
WITH touched AS (
    SELECT CAST(date_trunc('month', dt) AS DATE) AS m FROM fact_order__changed
    UNION SELECT CAST(date_trunc('month', dt) AS DATE) FROM fact_order__previous
    UNION SELECT CAST(date_trunc('month', o.dt) AS DATE) FROM fact_order AS o
        JOIN dim_customer__changed AS c ON c.account_id = o.account_id
    UNION SELECT CAST(date_trunc('month', o.dt) AS DATE) FROM fact_order AS o
        JOIN dim_customer__previous AS c ON c.account_id = o.account_id
)
SELECT m FROM touched
UNION SELECT CAST(m + INTERVAL '1 month' AS DATE) FROM touched
-- The horizon's month once it has begun (its prior customers), until it holds rows.
UNION SELECT h FROM (
    SELECT CAST(date_trunc('month', MAX(landing_date)) AS DATE) AS h FROM int_landing_dates
) AS horizon
WHERE h NOT IN (SELECT DISTINCT "month" FROM this)
"""
description = """Per month, account first-contact channel and account owner (agent_id = the account's
OwnerId): active_customers, accounts with at least one activated order with EffectiveDate in the
month; orders and order_amount, those orders (orders without an account are left out);
orders_per_customer and value_per_customer, per active customer; prior_customers, accounts with
an activated order in the previous month; retained_customers, those of them active this month;
retention_rate = retained / prior. An account's channel and owner are its current ones. Months
run up to the warehouse's horizon (the latest landing date processed, int_landing_dates): no row
for a month that has not begun."""
tests = [
    { unique = ["month", "channel", "agent_id"] },
]
*/
WITH months AS (
    SELECT "month" FROM __partitions
    WHERE "month" <= (SELECT CAST(date_trunc('month', MAX(landing_date)) AS DATE) FROM int_landing_dates)
),
accounts AS (
    SELECT account_id, first_contact_channel AS channel, COALESCE(owner_agent_id, 'unknown') AS agent_id
    FROM dim_customer
    WHERE is_current AND NOT is_deleted AND customer_key <> -1
),
per_account AS (
    SELECT account_id, CAST(date_trunc('month', dt) AS DATE) AS "month",
           COUNT(*) AS orders, SUM(COALESCE(amount, 0)) AS order_amount
    FROM fact_order
    WHERE status = 'Activated' AND account_id IS NOT NULL
      AND dt >= CAST((SELECT MIN("month") FROM months) - INTERVAL '1 month' AS DATE)
    GROUP BY account_id, CAST(date_trunc('month', dt) AS DATE)
),
this_month AS (
    SELECT * FROM per_account WHERE "month" IN (SELECT "month" FROM months)
),
prior AS (
    SELECT account_id, CAST("month" + INTERVAL '1 month' AS DATE) AS "month"
    FROM per_account
    WHERE CAST("month" + INTERVAL '1 month' AS DATE) IN (SELECT "month" FROM months)
),
combined AS (
    SELECT
        COALESCE(t.account_id, p.account_id) AS account_id,
        COALESCE(t."month", p."month") AS "month",
        COALESCE(t.orders, 0) AS orders,
        COALESCE(t.order_amount, 0) AS order_amount,
        CASE WHEN t.account_id IS NOT NULL THEN 1 ELSE 0 END AS active,
        CASE WHEN p.account_id IS NOT NULL THEN 1 ELSE 0 END AS was_prior
    FROM this_month AS t
    FULL OUTER JOIN prior AS p ON p.account_id = t.account_id AND p."month" = t."month"
),
totals AS (
    SELECT
        c."month",
        a.channel,
        a.agent_id,
        CAST(SUM(c.active) AS BIGINT) AS active_customers,
        CAST(SUM(c.orders) AS BIGINT) AS orders,
        CAST(SUM(c.order_amount) AS DECIMAL(18, 2)) AS order_amount,
        CAST(SUM(c.was_prior) AS BIGINT) AS prior_customers,
        CAST(SUM(c.active * c.was_prior) AS BIGINT) AS retained_customers
    FROM combined AS c
    JOIN accounts AS a ON a.account_id = c.account_id
    GROUP BY c."month", a.channel, a.agent_id
)
SELECT
    channel,
    agent_id,
    active_customers,
    orders,
    order_amount,
    CASE WHEN active_customers = 0 THEN NULL ELSE CAST(orders AS DOUBLE) / CAST(active_customers AS DOUBLE) END AS orders_per_customer,
    CASE WHEN active_customers = 0 THEN NULL ELSE CAST(order_amount AS DOUBLE) / CAST(active_customers AS DOUBLE) END AS value_per_customer,
    prior_customers,
    retained_customers,
    CASE WHEN prior_customers = 0 THEN NULL ELSE CAST(retained_customers AS DOUBLE) / CAST(prior_customers AS DOUBLE) END AS retention_rate,
    "month"
FROM totals
WHERE active_customers + orders + prior_customers + retained_customers > 0
