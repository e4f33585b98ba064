/* kpi-etl
materialized = "table"
unique_key = ["landing_date"]
description = """Every landing date the warehouse has processed, one row each. The latest of them is the
warehouse's horizon: the date models run up to (attainment days, months that have begun), so that
a re-run of a past date, or dates processed out of order, leave the same warehouse as the dates
processed in order."""
tests = [
    { unique = ["landing_date"] },
    { not_null = ["landing_date"] },
]
*/
SELECT landing_date FROM pipeline_run
