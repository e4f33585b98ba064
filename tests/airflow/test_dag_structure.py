"""The DAG file imports cleanly in a real DagBag, and its shape is the one docs/airflow.md describes."""

from __future__ import annotations

import datetime as dt
import warnings
from types import SimpleNamespace

import pendulum
import pytest

from conftest import DAG_ID, DAGS

MARTS = {
    "kpi_sales_daily",
    "kpi_agent_touch_daily",
    "kpi_target_attainment",
    "kpi_customers_monthly",
    "kpi_contact_center_daily",
}


def test_dagbag_imports_the_dag_without_errors_or_warnings():
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert bag.captured_warnings == {}
    ours = [w for w in caught if "kpi_etl_nightly" in str(w.filename)]
    assert ours == [], [str(w.message) for w in ours]
    assert DAG_ID in bag.dag_ids


def test_the_dag_serializes_as_the_scheduler_stores_it(dag):
    from airflow.serialization.serialized_objects import DagSerialization

    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert set(scheduler_dag.task_ids) == set(dag.task_ids)


def test_tasks_and_dependencies(dag):
    assert set(dag.task_ids) == {"run", "summary", "bigquery_enabled", "bigquery_sql", "bigquery_refresh"}
    down = {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}
    assert down == {
        "run": {"summary"},
        "summary": {"bigquery_enabled"},
        "bigquery_enabled": {"bigquery_sql"},
        "bigquery_sql": {"bigquery_refresh"},
        "bigquery_refresh": set(),
    }
    types = {t.task_id: type(t).__name__ for t in dag.tasks}
    assert types["run"] == "BashOperator"
    assert types["bigquery_enabled"] == "_ShortCircuitDecoratedOperator"
    from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

    assert isinstance(dag.get_task("bigquery_refresh"), BigQueryInsertJobOperator)


def test_schedule_is_a_cron_trigger_at_0230_madrid(dag):
    from airflow.sdk import CronTriggerTimetable

    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "30 2 * * *"
    tz = dag.timetable.timezone
    assert getattr(tz, "name", tz) == "Europe/Madrid"
    assert dag.max_active_runs == 1
    assert dag.catchup is False


def test_run_task_skip_xcom_backfill_and_retry_settings(dag):
    run = dag.get_task("run")
    assert list(run.skip_on_exit_code) == [4]
    assert run.do_xcom_push is True
    assert run.depends_on_past is True
    assert run.max_active_tis_per_dag == 1
    # env is None: the worker's whole environment (KPI_ETL_PII_KEY) reaches the binary.
    assert run.env is None and run.append_env is True
    assert run.retries == 3
    assert run.retry_delay == dt.timedelta(minutes=5)
    assert run.retry_exponential_backoff
    assert run.max_retry_delay == dt.timedelta(hours=1)
    assert "--log-format json --summary json" in run.bash_command
    refresh = dag.get_task("bigquery_refresh")
    assert refresh.retries == 3 and refresh.retry_exponential_backoff
    assert "location" in refresh.template_fields and "gcp_conn_id" in refresh.template_fields


def test_mart_assets_are_the_outlets_of_summary(dag):
    from airflow.sdk import Asset

    outlets = dag.get_task("summary").outlets
    assert all(isinstance(a, Asset) for a in outlets)
    assert {a.name for a in outlets} == {f"kpi_etl.{m}" for m in MARTS}
    assert {a.uri for a in outlets} == {f"x-kpi-etl://warehouse/{m}" for m in MARTS}


def test_params_and_their_defaults(dag):
    params = dag.params.dump()
    assert params == {
        "landing_date": None,
        "test_mode": False,
        "bq_mode": "auto",
        "bq_location": None,
    }
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError):
        dag.params.get_param("landing_date").resolve("2026-13-45")
    with pytest.raises(ParamValidationError):
        dag.params.get_param("bq_mode").resolve("drop_everything")


def test_landing_date_is_the_previous_madrid_day(dag):
    landing = dag.user_defined_macros["kpi_landing_date"]

    def at(iso, params=None):
        when = pendulum.parse(iso)
        return landing(SimpleNamespace(logical_date=when, run_after=when), params or {})

    assert at("2026-10-26T01:30:00Z") == "2026-10-25"  # 02:30 CET, the day after the DST change
    assert at("2026-03-29T01:30:00Z") == "2026-03-28"  # 03:30 CEST: 02:30 did not exist
    assert at("2026-10-20T22:30:00Z") == "2026-10-20"  # 00:30 on the 21st in Madrid, not UTC
    assert at("2026-10-21T00:30:00Z", {"landing_date": "2026-10-01"}) == "2026-10-01"
    # A manual run without a logical date falls back to its run_after.
    no_logical = SimpleNamespace(logical_date=None, run_after=pendulum.parse("2026-10-21T05:00:00Z"))
    assert landing(no_logical, {}) == "2026-10-20"
