"""Nightly kpi-etl run for the previous day (Airflow 3).

Runs `kpi-etl run --date <previous day>` at 02:30 Europe/Madrid. Settings come from Airflow
Variables (`kpi_etl_raw`, `kpi_etl_warehouse`, `kpi_etl_binary`); the PII key from the
environment of the worker (`KPI_ETL_PII_KEY`).
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="kpi_etl_nightly",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Madrid"),
    catchup=False,
    max_active_runs=1,
    tags=["kpi-etl"],
) as dag:
    # With a cron schedule, Airflow 3's logical date is the run's own start (02:30 of day D),
    # so the landing date to process is the day before it: {{ macros.ds_add(ds, -1) }}.
    BashOperator(
        task_id="run",
        bash_command=(
            "{{ var.value.get('kpi_etl_binary', 'kpi-etl') }} run "
            "--date {{ macros.ds_add(ds, -1) }} "
            "--raw {{ var.value.kpi_etl_raw }} --warehouse {{ var.value.kpi_etl_warehouse }} "
            "--log-format json"
        ),
    )
