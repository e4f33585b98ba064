"""The DAG executed for real with `dag.test()`, the real kpi-etl binary and a generated landing zone.

Two nights in logical-date order (2026-10-20 and 2026-10-21 at 02:30 Madrid, processing the 19th
and the 20th), then a night whose previous day has no input at all (exit code 4: skipped, not
failed). Variables point at temporary folders and the binary; test_mode=True skips every Google
task, so nothing leaves this machine.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pendulum
import pyarrow.dataset as ds
import pytest

from conftest import DAG_ID

MARTS = [
    "kpi_sales_daily",
    "kpi_agent_touch_daily",
    "kpi_target_attainment",
    "kpi_customers_monthly",
    "kpi_contact_center_daily",
]


def madrid(*args):
    return pendulum.datetime(*args, tz="Europe/Madrid")


@pytest.fixture(scope="module")
def landing_zone(kpi_etl_bin, tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    subprocess.run(
        [kpi_etl_bin, "generate", "--out", str(raw), "--from", "2026-10-19", "--to", "2026-10-20",
         "--calls-per-day", "200", "--seed", "7"],
        check=True,
    )  # fmt: skip
    return raw


@pytest.fixture(scope="module")
def variables(airflow_db, kpi_etl_bin, landing_zone, tmp_path_factory):
    """The Airflow Variables of a deployment, in the metadata database."""
    from airflow.models.variable import Variable

    values = {
        "kpi_etl_binary": kpi_etl_bin,
        "kpi_etl_raw": str(landing_zone),
        "kpi_etl_warehouse": str(tmp_path_factory.mktemp("warehouse")),
    }
    for key, value in values.items():
        Variable.set(key, value)
    yield values
    for key in values:
        Variable.delete(key)


@pytest.fixture(scope="module")
def nights(dag, variables):
    """The nights of 2026-10-20 and 2026-10-21, run one after the other, as the scheduler would."""
    runs = {}
    for logical_date in (madrid(2026, 10, 20, 2, 30), madrid(2026, 10, 21, 2, 30)):
        runs[logical_date.to_date_string()] = dag.test(logical_date=logical_date, run_conf={"test_mode": True})
    return runs


def states(dag_run) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def xcom(dag_run, task_id) -> list:
    """The task's return_value XComs as stored (a BashOperator's line is a str, a dict a dict)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=DAG_ID, task_ids=task_id, key="return_value")
        ).all()
        return [r.value for r in rows]


def query(kpi_etl_bin, warehouse, sql) -> str:
    out = subprocess.run(
        [kpi_etl_bin, "query", "--warehouse", warehouse, sql], check=True, capture_output=True, text=True
    )
    return out.stdout


def test_each_night_runs_and_skips_the_bigquery_tasks(nights):
    for night, dag_run in nights.items():
        assert str(dag_run.state) == "success", night
        assert states(dag_run) == {
            "run": "success",
            "summary": "success",
            "bigquery_enabled": "success",
            "bigquery_sql": "skipped",
            "bigquery_refresh": "skipped",
        }, night


def test_the_run_summary_is_in_xcom(nights):
    for night, landing_date in (("2026-10-20", "2026-10-19"), ("2026-10-21", "2026-10-20")):
        dag_run = nights[night]
        [line] = xcom(dag_run, "run")  # BashOperator: the last line of the output
        assert isinstance(line, str)
        summary = json.loads(line)
        assert summary["landing_date"] == landing_date
        assert {s["source"] for s in summary["sources"]} >= {"cdr", "queue_log", "whatsapp"}
        assert {p["table"] for p in summary["published"]} >= set(MARTS)
        [parsed] = xcom(dag_run, "summary")
        assert parsed == summary


def test_the_mart_assets_are_emitted_with_the_landing_date(nights):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dag_run = nights["2026-10-21"]
    with create_session() as session:
        events = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_run_id == dag_run.run_id)
        ).all()
    assert sorted(name for name, _ in events) == sorted(f"kpi_etl.{m}" for m in MARTS)
    assert {extra["landing_date"] for _, extra in events} == {"2026-10-20"}


def test_the_warehouse_has_the_nights_partitions(nights, variables, kpi_etl_bin):
    warehouse = Path(variables["kpi_etl_warehouse"])
    for table in ("kpi_contact_center_daily", "kpi_sales_daily"):
        data = ds.dataset(warehouse / table, format="parquet", partitioning="hive").to_table()
        days = {str(d) for d in data.column("dt").to_pylist()}
        assert "2026-10-20" in days, table
    # Every mart partition the 20th's summary lists is in the warehouse.
    [line] = xcom(nights["2026-10-21"], "run")
    for published in json.loads(line)["published"]:
        for partition in published["partitions"]:
            assert (warehouse / published["table"] / partition).is_dir(), published
    pyarrow_rows = ds.dataset(warehouse / "kpi_contact_center_daily" / "dt=2026-10-20", format="parquet").count_rows()
    assert pyarrow_rows > 0
    counted = query(
        kpi_etl_bin, str(warehouse), "SELECT COUNT(*) AS n FROM kpi_contact_center_daily WHERE dt = DATE '2026-10-20'"
    )
    assert re.search(rf"\b{pyarrow_rows}\b", counted), counted
    # The nights ran in order: the 19th, then the 20th, which is the last published.
    results = [json.loads(p.read_text()) for p in warehouse.glob("_runs/*/run_results.json")]
    order = [r["landing_date"] for r in sorted(results, key=lambda r: r["started_at"]) if r["status"] == "success"]
    assert order == ["2026-10-19", "2026-10-20"]
    assert json.loads((warehouse / "_SUCCESS").read_text())["landing_date"] == "2026-10-20"


def test_a_night_without_input_is_skipped_not_failed(nights, dag):
    dag_run = dag.test(logical_date=madrid(2026, 12, 1, 2, 30), run_conf={"test_mode": True})
    assert str(dag_run.state) == "success"
    assert states(dag_run) == {
        "run": "skipped",
        "summary": "skipped",
        "bigquery_enabled": "skipped",
        "bigquery_sql": "skipped",
        "bigquery_refresh": "skipped",
    }
    assert xcom(dag_run, "run") == []


def test_bigquery_script_from_the_real_binary_reaches_the_insert_job(nights, dag, variables, monkeypatch):
    """test_mode=False: the gate opens, `bigquery_sql` runs `kpi-etl bigquery-ddl` on the
    warehouse of the nights above, and `bigquery_refresh` (BigQueryInsertJobOperator) receives its
    script with the templated settings. Its `execute`, the only method that would call Google, is
    replaced by a recorder here (and its connection id does not exist): nothing leaves the machine.
    `run` and `summary` are marked success by dag.test: this run tests the BigQuery half only."""
    from airflow.models.variable import Variable
    from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

    sent = {}

    def record_instead_of_calling_bigquery(self, context):
        sent.update(
            configuration=self.configuration,
            project_id=self.project_id,
            location=self.location,
            gcp_conn_id=self.gcp_conn_id,
        )
        return "job-not-submitted"

    monkeypatch.setattr(BigQueryInsertJobOperator, "execute", record_instead_of_calling_bigquery)
    settings = {
        "kpi_etl_bq_project": "acme-dwh",
        "kpi_etl_bq_dataset": "kpi",
        "kpi_etl_bq_uri_prefix": "gs://acme-dwh-bucket/kpi",
        "kpi_etl_bq_connection": "acme-dwh.eu.kpi-lake",
        "kpi_etl_gcp_conn_id": "kpi_etl_tests_no_such_connection",
    }
    for key, value in settings.items():
        Variable.set(key, value)
    try:
        dag_run = dag.test(
            logical_date=madrid(2026, 10, 22, 2, 30),
            run_conf={"test_mode": False, "bq_mode": "create_and_refresh", "bq_location": "EU"},
            mark_success_pattern=r"^(run|summary)$",
        )
    finally:
        for key in settings:
            Variable.delete(key)
    assert states(dag_run) == {
        "run": "success",
        "summary": "success",
        "bigquery_enabled": "success",
        "bigquery_sql": "success",
        "bigquery_refresh": "success",
    }
    [script] = xcom(dag_run, "bigquery_sql")
    for mart in MARTS:
        if (Path(variables["kpi_etl_warehouse"]) / mart).is_dir():  # the published ones
            assert f"CREATE OR REPLACE EXTERNAL TABLE `acme-dwh.kpi.{mart}`" in script
            assert f"CALL BQ.REFRESH_EXTERNAL_METADATA_CACHE('acme-dwh.kpi.{mart}');" in script
    assert "WITH CONNECTION `acme-dwh.eu.kpi-lake`" in script
    assert "'gs://acme-dwh-bucket/kpi/kpi_contact_center_daily/*'" in script
    assert script.index("CREATE OR REPLACE") < script.index("CALL BQ.REFRESH")
    assert sent == {
        "configuration": {"query": {"query": script, "useLegacySql": False}},
        "project_id": "acme-dwh",
        "location": "EU",
        "gcp_conn_id": "kpi_etl_tests_no_such_connection",
    }


def test_a_deployment_without_bigquery_skips_the_bigquery_tasks(nights, dag, variables):
    from airflow.models.variable import Variable

    Variable.set("kpi_etl_bq_enabled", "false")
    try:
        dag_run = dag.test(
            logical_date=madrid(2026, 10, 23, 2, 30),
            run_conf={"test_mode": False},
            mark_success_pattern=r"^(run|summary)$",
        )
    finally:
        Variable.delete("kpi_etl_bq_enabled")
    assert states(dag_run)["bigquery_enabled"] == "success"
    assert states(dag_run)["bigquery_sql"] == states(dag_run)["bigquery_refresh"] == "skipped"
