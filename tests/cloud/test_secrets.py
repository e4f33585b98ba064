"""Credentials come only from each cloud's standard environment variables and never leak.

Every run of these tests already has recognisable canary values in AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN and KPI_ETL_PII_KEY, and `conftest.kpi_etl` fails any run that prints one.
Here the binary is made as talkative as it gets (KPI_ETL_LOG=debug, JSON and text logs), is run
into failures (a missing bucket, a wrong Azure key), and every object it wrote is searched too.
"""

import base64
import json
import re

import pytest

from conftest import (
    CANARIES,
    FIRST,
    assert_no_problems,
    azure_env,
    download_s3,
    fresh,
    kpi_etl,
    make_container,
    s3_env,
    secrets_in_tree,
)
import warehouse

AZURE_KEY_CANARY_TEXT = b"kpi-etl-canary-azure-account-key-0123456789abcdef"
AZURE_KEY_CANARY = base64.b64encode(AZURE_KEY_CANARY_TEXT).decode()


def leaks_in(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [c for c in (*CANARIES, *extra) if c in text]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_debug_logs_and_artifacts_hold_no_secret(log_format, servers, s3, s3_landing, warehouse_bucket, tmp_root):
    prefix = f"secrets-{log_format}"
    env = s3_env(servers.s3_endpoint, KPI_ETL_LOG="debug")
    r = kpi_etl("--log-format", log_format, "run", "--date", FIRST, "--raw", s3_landing, "--warehouse", f"s3://{warehouse_bucket}/{prefix}", env=env)
    lines = r.stderr.splitlines()
    print(f"{log_format} debug log: {len(lines)} lines, {len(r.stderr)} bytes")
    assert len(lines) > 50, f"expected a talkative debug log, got:\n{r.stderr[-3000:]}"
    if log_format == "json":
        bad = [line for line in lines if not line.startswith("{")]
        assert not bad, f"non-JSON log lines: {bad[:5]}"
        levels = {json.loads(line).get("level") for line in lines}
        assert "DEBUG" in levels, f"no DEBUG line in the log (levels {levels})"
    else:
        plain = (re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines)  # the text format is coloured
        assert any(" DEBUG " in line for line in plain), "no DEBUG line in the log"
    assert not leaks_in(r.stdout + r.stderr)

    got = download_s3(s3, warehouse_bucket, prefix, fresh(tmp_root, prefix))
    assert_no_problems(warehouse.check_layout(got, "s3"), "the run's warehouse")
    assert not secrets_in_tree(got), f"a secret was written to the warehouse: {secrets_in_tree(got)}"


@pytest.mark.parametrize("log_format", ["json", "text"])
@pytest.mark.parametrize("which", ["warehouse", "raw"])
def test_a_missing_bucket_fails_without_leaking(which, log_format, servers, s3_landing, warehouse_bucket):
    missing = "s3://kpi-etl-no-such-bucket/prefix"
    raw = missing if which == "raw" else s3_landing
    wh = missing if which == "warehouse" else f"s3://{warehouse_bucket}/secrets-missing-raw-{log_format}"
    r = kpi_etl(
        "--log-format", log_format, "run", "--date", FIRST, "--raw", raw, "--warehouse", wh,
        env=s3_env(servers.s3_endpoint, KPI_ETL_LOG="debug"), expect=None, timeout=300,
    )
    assert r.returncode == 1, f"expected exit 1: {r.describe()}"
    assert "kpi-etl-no-such-bucket" in r.stderr, f"the error does not name the missing bucket: {r.describe()}"
    assert not leaks_in(r.stdout + r.stderr)


def test_a_wrong_azure_key_fails_without_leaking(servers, blob_service):
    container = make_container(blob_service, "kpi-warehouse")
    env = azure_env(servers.azurite_url, AZURE_STORAGE_ACCOUNT_KEY=AZURE_KEY_CANARY, KPI_ETL_LOG="debug")
    r = kpi_etl(
        "--log-format", "json", "generate", "--out", f"az://{container}/secrets-wrong-key", "--from", FIRST, "--to", FIRST, "--calls-per-day", 10,
        env=env, expect=None, timeout=300,
    )
    assert r.returncode != 0, f"Azurite accepted a wrong account key: {r.describe()}"
    assert f"az://{container}/secrets-wrong-key" in r.stderr or "secrets-wrong-key" in r.stderr, f"the error does not name the URL: {r.describe()}"
    assert not leaks_in(r.stdout + r.stderr, (AZURE_KEY_CANARY, AZURE_KEY_CANARY_TEXT.decode())), r.describe()
