"""Which landing date a run processes, as Airflow itself renders and schedules it.

`airflow tasks render` (Airflow's CLI, run in this process) renders the `run` task's command for
a logical date: the template, its macro and the Variables are Airflow's, nothing is re-implemented
here. `airflow backfill create --dry-run` lists the runs a backfill creates: the recipe of
docs/airflow.md must give exactly one run per landing date, across both DST changes.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pendulum
import pytest

from conftest import DAG_ID, airflow_cli


def rendered_command(logical_date: str) -> str:
    out = airflow_cli("tasks", "render", DAG_ID, "run", logical_date)
    commands = [line for line in out.splitlines() if " run --date " in line]
    assert len(commands) == 1, out
    return commands[0]


@pytest.mark.parametrize(
    ("logical_date", "landing_date"),
    [
        # The night after the autumn DST change (2026-10-25, 03:00 CEST -> 02:00 CET).
        ("2026-10-26T02:30:00+01:00", "2026-10-25"),
        # An ordinary summer night.
        ("2026-07-15T02:30:00+02:00", "2026-07-14"),
        # The spring DST night: 02:30 does not exist, the cron fires at 03:30 CEST.
        ("2026-03-29T03:30:00+02:00", "2026-03-28"),
        # A manual run at 00:30 in Madrid is 22:30 UTC the day before: the date is Madrid's.
        ("2026-10-21T00:30:00+02:00", "2026-10-20"),
    ],
)
def test_run_command_renders_the_previous_madrid_day(airflow_db, logical_date, landing_date):
    command = rendered_command(logical_date)
    assert f" run --date {landing_date} " in command
    assert re.findall(r"--date (\S+)", command) == [landing_date]


def test_run_command_with_variables(airflow_db, monkeypatch):
    # Variables from the environment (AIRFLOW_VAR_*), one of Airflow's Variable backends.
    monkeypatch.setenv("AIRFLOW_VAR_KPI_ETL_BINARY", "/opt/kpi-etl/bin/kpi-etl")
    monkeypatch.setenv("AIRFLOW_VAR_KPI_ETL_RAW", "/data/raw zone")
    monkeypatch.setenv("AIRFLOW_VAR_KPI_ETL_WAREHOUSE", "gs://acme-dwh/kpi")
    assert rendered_command("2026-10-26T02:30:00+01:00") == (
        "/opt/kpi-etl/bin/kpi-etl run --date 2026-10-25 --raw '/data/raw zone' "
        "--warehouse gs://acme-dwh/kpi --timezone Europe/Madrid --log-format json --summary json"
        " > summary.json; status=$?; tail -n 1 summary.json; exit $status"
    )


def test_run_command_without_variables_leaves_raw_and_warehouse_to_the_environment(airflow_db):
    command = rendered_command("2026-10-26T02:30:00+01:00")
    assert command.startswith("kpi-etl run --date 2026-10-25 --timezone Europe/Madrid ")
    assert "--raw" not in command and "--warehouse" not in command


def backfill_dry_run(from_date: str, to_date: str) -> list[pendulum.DateTime]:
    out = airflow_cli(
        "backfill", "create", "--dag-id", DAG_ID,
        "--from-date", from_date, "--to-date", to_date,
        "--reprocess-behavior", "completed", "--max-active-runs", "1", "--dry-run",
    )  # fmt: skip
    assert "Runs to be attempted:" in out, out
    table = out.split("Runs to be attempted:", 1)[1]
    return [pendulum.parse(d) for d in re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00)", table, re.M)]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2025-03-27", "2025-03-31"),  # spring DST change on 2025-03-30
        ("2025-10-23", "2025-10-27"),  # autumn DST change on 2025-10-26
    ],
)
def test_backfill_recipe_runs_each_landing_date_once_in_order(airflow_db, dag, first, last):
    """docs/airflow.md: --from-date <first + 1 day> --to-date <last + 1 day>T23:59:59."""
    day = pendulum.duration(days=1)
    from_date = (pendulum.parse(first) + day).to_date_string()
    to_date = (pendulum.parse(last) + day).to_date_string() + "T23:59:59"
    logical_dates = backfill_dry_run(from_date, to_date)
    assert logical_dates == sorted(logical_dates)
    landing = dag.user_defined_macros["kpi_landing_date"]
    landing_dates = [landing(SimpleNamespace(logical_date=d, run_after=d), {}) for d in logical_dates]
    expected = [d.to_date_string() for d in pendulum.interval(pendulum.parse(first), pendulum.parse(last)).range("days")]
    assert landing_dates == expected
    # Each run fires at 02:30 Madrid time, or 03:30 on the night 02:30 does not exist.
    local_times = {d.in_timezone("Europe/Madrid").strftime("%H:%M") for d in logical_dates}
    assert local_times <= {"02:30", "03:30"}
