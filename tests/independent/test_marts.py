"""The models and the independent computation agree on every row of every mart, on 17 generated
days holding the DST change and a month boundary, after a sequence of nightly runs and after a
full refresh (one pass over every landing date)."""

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import marts  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("KPI_ETL_BIN", ROOT / "target" / "debug" / "kpi-etl"))
FIRST, LAST = date(2026, 10, 18), date(2026, 11, 3)
CALLS = int(os.environ.get("KPI_ETL_TEST_CALLS", "250"))


def kpi_etl(*args):
    env = dict(os.environ, KPI_ETL_PII_KEY="independent-check", KPI_ETL_PIPELINE=str(ROOT / "pipelines" / "nightly.toml"))
    done = subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    assert BINARY.exists(), f"build the binary first ({BINARY})"
    raw = tmp_path_factory.mktemp("raw")
    kpi_etl("generate", "--out", str(raw), "--from", str(FIRST), "--to", str(LAST), "--calls-per-day", str(CALLS), "--seed", "17")
    return raw


@pytest.fixture(scope="module")
def expected(landing):
    return marts.compute(landing, LAST)


def assert_same(expected, warehouse):
    diffs = marts.compare(expected, warehouse)
    assert not diffs, "\n".join(f"{m}: {d}" for m, d in diffs.items())
    for mart in marts.MARTS:
        assert expected.execute(f"SELECT COUNT(*) FROM {mart}").fetchone()[0] > 0, f"{mart} is empty"


def test_nightly_runs_equal_the_independent_marts(landing, expected, tmp_path):
    warehouse = tmp_path / "nightly"
    day = FIRST
    while day <= LAST:
        kpi_etl("run", "--date", str(day), "--raw", str(landing), "--warehouse", str(warehouse))
        day += timedelta(days=1)
    assert_same(expected, warehouse)


def test_a_full_refresh_equals_the_independent_marts(landing, expected, tmp_path):
    # `backfill` runs the nights in order, as the test above does; `--full-refresh` is the one
    # pass over every landing date, the oracle the nightly runs must converge to.
    warehouse = tmp_path / "full-refresh"
    kpi_etl("backfill", "--full-refresh", "--from", str(FIRST), "--to", str(LAST),
            "--raw", str(landing), "--warehouse", str(warehouse))
    assert_same(expected, warehouse)
