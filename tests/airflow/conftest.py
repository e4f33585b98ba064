"""Real Airflow 3 around dags/kpi_etl_nightly.py: a throwaway AIRFLOW_HOME per test session.

The environment is set here, at import time, before any test module imports Airflow (Airflow
reads its configuration when it is first imported): a temporary AIRFLOW_HOME with its SQLite
metadata database, the repository's dags/ as DAGS_FOLDER, no example DAGs. The database is
migrated once per session with Airflow's own `airflow db migrate`, run in this process.

The kpi-etl binary comes from KPI_ETL_BIN (an absolute path, e.g. $PWD/target/debug/kpi-etl):
the tests that run it fail with a clear message when it is not set.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
DAG_ID = "kpi_etl_nightly"

_HOME = Path(tempfile.mkdtemp(prefix="kpi-etl-airflow-home-"))
# Nothing from an Airflow installation of the machine may leak in.
for _key in [k for k in os.environ if k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_"))]:
    del os.environ[_key]
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_HOME / "logs"),
        # The binary refuses to run without its PII key; in production it comes from the
        # worker's environment (docs/airflow.md). A test value, never a real key.
        "KPI_ETL_PII_KEY": "airflow-dag-tests-not-a-secret",
    }
)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_HOME, ignore_errors=True)


def airflow_cli(*argv: str) -> str:
    """Runs an `airflow ...` command with Airflow's own CLI parser, in this process; its stdout."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(list(argv))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args.func(args)
    return out.getvalue()


@pytest.fixture(scope="session")
def airflow_db():
    """The migrated metadata database, with the DAG parsed into it (as the DAG processor does)."""
    airflow_cli("db", "migrate")
    airflow_cli("dags", "reserialize")
    return _HOME


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="session")
def dag(dagbag):
    assert not dagbag.import_errors, dagbag.import_errors
    return dagbag.dags[DAG_ID]


@pytest.fixture(scope="session")
def kpi_etl_bin() -> str:
    path = os.environ.get("KPI_ETL_BIN")
    if not path:
        pytest.fail(
            "KPI_ETL_BIN is not set: export KPI_ETL_BIN=/absolute/path/to/kpi-etl "
            "(e.g. KPI_ETL_BIN=$PWD/target/debug/kpi-etl after cargo build)",
            pytrace=False,
        )
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        pytest.fail(f"KPI_ETL_BIN={path} is not an executable file", pytrace=False)
    return path
