"""The readers check builds one small warehouse with the real binary per session:

    $KPI_ETL_BIN generate --out RAW --from 2026-10-24 --to 2026-10-26 --calls-per-day 150 --seed 3
    KPI_ETL_PII_KEY=test-key $KPI_ETL_BIN backfill --from 2026-10-24 --to 2026-10-26 --raw RAW --warehouse WH

`KPI_ETL_BIN` must be the absolute path of the binary (.ci/steps/readers.sh gets it from .ci/run).
"""

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support import FIRST, LAST, Table, discover, kpi_etl  # noqa: E402


def pytest_configure(config):
    binary = os.environ.get("KPI_ETL_BIN")
    if not binary:
        raise pytest.UsageError(
            "KPI_ETL_BIN is not set: export it as the absolute path of the kpi-etl binary, "
            "e.g. KPI_ETL_BIN=$PWD/target/debug/kpi-etl pytest tests/readers"
        )
    if not os.path.isabs(binary):
        raise pytest.UsageError(f"KPI_ETL_BIN must be an absolute path, not {binary!r}")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise pytest.UsageError(f"KPI_ETL_BIN={binary} is not an executable file (build it first)")


@dataclass(frozen=True)
class Warehouse:
    root: Path
    tables: dict  # name -> Table: every published table (a folder holding Parquet files)
    manifest: dict  # output table -> its model entry in the last run's manifest.json


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Warehouse:
    raw = tmp_path_factory.mktemp("raw")
    wh = tmp_path_factory.mktemp("wh")
    kpi_etl("generate", "--out", raw, "--from", FIRST, "--to", LAST, "--calls-per-day", 150, "--seed", 3)
    kpi_etl(
        "backfill", "--from", FIRST, "--to", LAST, "--raw", raw, "--warehouse", wh,
        env={"KPI_ETL_PII_KEY": "test-key"},
    )
    manifests = sorted((wh / "_runs").glob("*/manifest.json"))
    assert manifests, f"no _runs/*/manifest.json under {wh}"
    manifest = {m["output"]: m for m in json.loads(manifests[-1].read_text())["models"]}
    tables = discover(wh)
    assert tables, f"no table with Parquet files under {wh}"
    return Warehouse(wh, tables, manifest)


@pytest.fixture(scope="session")
def duck():
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()
