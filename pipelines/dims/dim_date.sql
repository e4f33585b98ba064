/* kpi-etl
materialized = "table"
strategy = "replace"
description = """One row per calendar date from 2000-01-01 to 2039-12-31 (every date the data can hold),
plus the unknown date (date_key -1). date_key is YYYYMMDD; day_of_week is ISO (Monday 1 ..
Sunday 7); iso_week is the ISO week number."""
tests = [
    { unique = ["date_key"] },
]
*/
WITH days AS (
    -- Days since 1970-01-01: 10957 is 2000-01-01, 25567 is 2039-12-31.
    SELECT arrow_cast(CAST(value AS INT), 'Date32') AS d FROM generate_series(10957, 25567)
)
SELECT
    CAST(date_part('year', d) * 10000 + date_part('month', d) * 100 + date_part('day', d) AS BIGINT) AS date_key,
    d AS "date",
    CAST(date_part('year', d) AS BIGINT) AS "year",
    CAST(date_part('quarter', d) AS BIGINT) AS quarter,
    CAST(date_part('month', d) AS BIGINT) AS "month",
    CAST(date_part('day', d) AS BIGINT) AS day_of_month,
    CAST(date_part('week', d) AS BIGINT) AS iso_week,
    CAST(CASE WHEN date_part('dow', d) = 0 THEN 7 ELSE date_part('dow', d) END AS BIGINT) AS day_of_week,
    date_part('dow', d) IN (0, 6) AS is_weekend,
    CAST(date_trunc('month', d) AS DATE) AS month_start
FROM days
UNION ALL
SELECT -1, CAST(NULL AS DATE), NULL, NULL, NULL, NULL, NULL, NULL, NULL, CAST(NULL AS DATE)
