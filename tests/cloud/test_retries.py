"""Transient storage failures are retried with backoff, and a store that keeps failing ends the run
with exit code 1 in a bounded time, with an error naming the URL.

The binary talks to moto through `faultproxy.FaultProxy`, which decides per request (the n-th
request of each HTTP method) to forward it, reset the connection (RST), close it without an
answer, answer a raw 503 or 500, stall longer than the request timeout, answer slowly, or cut a
download in the middle. The retry settings are small so that the tests are quick:
KPI_ETL_STORAGE_TIMEOUT=2s per attempt, KPI_ETL_STORAGE_CONNECT_TIMEOUT=1s, and a retry budget
of KPI_ETL_STORAGE_RETRY_TIMEOUT / KPI_ETL_STORAGE_MAX_RETRIES per request.
"""

import socket
import time

import pytest

from conftest import FIRST, assert_no_problems, base_env, download_s3, fresh, kpi_etl, record_time, s3_env
from faultproxy import FaultProxy
import warehouse

SECOND = "2026-10-23"
TIMEOUT_S = 2
TUNING = dict(
    KPI_ETL_STORAGE_TIMEOUT=f"{TIMEOUT_S}s",
    KPI_ETL_STORAGE_CONNECT_TIMEOUT="1s",
    KPI_ETL_STORAGE_RETRY_TIMEOUT="20s",
    KPI_ETL_STORAGE_MAX_RETRIES="6",
    KPI_ETL_LOG="warn,object_store=info",  # object_store logs each retry at info
)
STALL_S = 3 * TIMEOUT_S


def plan_reads_and_writes(n: int, method: str, target: str) -> str:
    """Faults on GET, HEAD and PUT (lists, downloads, uploads, copies, multipart parts)."""
    if method not in ("GET", "HEAD", "PUT"):
        return "forward"
    early = {1: "reset", 2: "503", 3: "stall", 4: "500", 5: "close", 8: "slow"}
    if n in early:
        return early[n]
    is_download = method == "GET" and "list-type=" not in target and "delimiter=" not in target
    if is_download and n % 97 == 0:
        return "cut"
    if n % 60 == 0:
        return "reset"
    if n % 60 == 30:
        return "503"
    if n == 150:
        return "stall"
    return "forward"


def plan_deletes(n: int, method: str, target: str) -> str:
    """Faults on POST and DELETE only (S3 DeleteObjects, which a rename ends with; multipart
    create/complete; aborts)."""
    if method not in ("POST", "DELETE"):
        return "forward"
    return {1: "reset", 2: "503", 3: "stall", 4: "close", 5: "500"}.get(n, "forward")


@pytest.fixture(scope="module")
def local_two_days(local_landing, tmp_root):
    wh = fresh(tmp_root, "local-2-days")
    kpi_etl("backfill", "--from", FIRST, "--to", SECOND, "--raw", local_landing, "--warehouse", wh, env=base_env())
    return wh


@pytest.fixture(scope="module")
def local_one_day(local_landing, tmp_root):
    wh = fresh(tmp_root, "local-1-day")
    kpi_etl("run", "--date", FIRST, "--raw", local_landing, "--warehouse", wh, env=base_env())
    return wh


def faults_seen(proxy: FaultProxy, methods: tuple[str, ...], actions: tuple[str, ...]) -> list[str]:
    return [f"{a} {m}" for a in actions for m in methods if proxy.stats[f"{a} {m}"] == 0]


def test_transient_failures_of_reads_and_writes_are_retried(servers, s3, s3_landing, warehouse_bucket, local_landing, local_two_days, tmp_root):
    prefix = "retried-reads-writes"
    with FaultProxy("127.0.0.1", servers.s3_port, plan_reads_and_writes, stall_s=STALL_S) as proxy:
        r = kpi_etl(
            "backfill", "--from", FIRST, "--to", SECOND, "--raw", s3_landing, "--warehouse", f"s3://{warehouse_bucket}/{prefix}",
            env=s3_env(proxy.url, **TUNING), expect=None,
        )
    record_time("2-day backfill, S3 through the fault proxy (reads/writes)", r.elapsed)
    print(f"proxy: {dict(proxy.stats)}; proxy errors: {proxy.errors[:5]}")
    assert r.returncode == 0, f"the backfill did not survive transient failures ({dict(proxy.stats)}): {r.describe()}"
    missing = faults_seen(proxy, ("GET", "PUT"), ("reset", "503", "500", "stall", "close", "slow")) + faults_seen(proxy, ("GET",), ("cut",))
    assert not missing, f"the proxy never injected {missing}: {dict(proxy.stats)}"
    assert "retry" in r.stderr.lower() or "retrying" in r.stderr.lower(), f"no retry was logged:\n{r.stderr[-3000:]}"

    got = download_s3(s3, warehouse_bucket, prefix, fresh(tmp_root, prefix))
    problems = warehouse.compare(local_two_days, str(local_landing), str(local_two_days), got, s3_landing, f"s3://{warehouse_bucket}/{prefix}", labels=("local", "s3 via proxy"))
    assert_no_problems(problems, "the backfill through the fault proxy differs from the local one")


def test_transient_failures_of_deletes_are_retried(servers, s3, s3_landing, warehouse_bucket, local_landing, local_one_day, tmp_root):
    """Publishing copies each staged file into place; the staging area is then removed with
    deletes (on S3: DeleteObjects, a POST, which object_store does not retry on a reset
    connection). A reset or a stall there is as transient as anywhere else: the run succeeds and
    leaves nothing under _staging/."""
    prefix = "retried-deletes"
    with FaultProxy("127.0.0.1", servers.s3_port, plan_deletes, stall_s=STALL_S) as proxy:
        r = kpi_etl(
            "run", "--date", FIRST, "--raw", s3_landing, "--warehouse", f"s3://{warehouse_bucket}/{prefix}",
            env=s3_env(proxy.url, **TUNING), expect=None,
        )
    print(f"proxy: {dict(proxy.stats)}; proxy errors: {proxy.errors[:5]}")
    assert r.returncode == 0, (
        f"the run did not survive transient failures of deletes ({dict(proxy.stats)}): {r.describe()}\n"
        f"--- what the failed run left in the warehouse\n{left_behind(s3, warehouse_bucket, prefix)}"
    )
    missing = faults_seen(proxy, ("POST",), ("reset", "503", "stall", "close", "500"))
    assert not missing, f"the proxy never injected {missing}: {dict(proxy.stats)}"

    got = download_s3(s3, warehouse_bucket, prefix, fresh(tmp_root, prefix))
    problems = warehouse.compare(local_one_day, str(local_landing), str(local_one_day), got, s3_landing, f"s3://{warehouse_bucket}/{prefix}", labels=("local", "s3 via proxy"))
    assert_no_problems(problems, "the run through the fault proxy differs from the local one")


def left_behind(s3, bucket: str, prefix: str) -> str:
    keys = [o["Key"][len(prefix) + 1 :] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/") for o in page.get("Contents", [])]
    staged = [k for k in keys if k.startswith("_staging/")]
    runs = [k for k in keys if k.startswith("_runs/")]
    published = [k for k in keys if not k.startswith(("_staging/", "_runs/"))]
    return f"published (outside _staging/ and _runs/): {published}\nunder _staging/: {len(staged)} objects\nunder _runs/: {runs}"


FAIL_TUNING = dict(
    KPI_ETL_STORAGE_TIMEOUT=f"{TIMEOUT_S}s",
    KPI_ETL_STORAGE_CONNECT_TIMEOUT="1s",
    KPI_ETL_STORAGE_RETRY_TIMEOUT="5s",
    KPI_ETL_STORAGE_MAX_RETRIES="3",
)
# Each failing request gives up after its retry budget (plus the attempt running when the budget
# runs out, and one backoff); a failed run makes at most a few such requests in sequence
# (listing the first source, then writing its run artifacts).
FAIL_BOUND_S = 3 * (5 + TIMEOUT_S + 2) + 10


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode", ["503", "reset", "stall", "refused"])
def test_a_store_that_keeps_failing_fails_the_run_in_bounded_time(mode, servers, s3_landing, warehouse_bucket):
    wh = f"s3://{warehouse_bucket}/always-{mode}"
    start = time.monotonic()
    if mode == "refused":
        proxy = None
        r = kpi_etl("run", "--date", FIRST, "--raw", s3_landing, "--warehouse", wh, env=s3_env(f"http://127.0.0.1:{closed_port()}", **FAIL_TUNING), expect=None, timeout=120)
    else:
        with FaultProxy("127.0.0.1", servers.s3_port, lambda n, m, t: mode, stall_s=30) as proxy:
            r = kpi_etl("run", "--date", FIRST, "--raw", s3_landing, "--warehouse", wh, env=s3_env(proxy.url, **FAIL_TUNING), expect=None, timeout=120)
    elapsed = time.monotonic() - start
    print(f"always {mode}: exit {r.returncode} after {elapsed:.1f} s; proxy {dict(proxy.stats) if proxy else '-'}")
    assert r.returncode == 1, f"expected exit 1: {r.describe()}"
    assert elapsed < FAIL_BOUND_S, f"the failing run took {elapsed:.1f} s (bound {FAIL_BOUND_S} s): {r.describe()}"
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors, f"no `error:` line: {r.describe()}"
    assert s3_landing in errors[-1] or wh in errors[-1], f"the error names neither the raw nor the warehouse URL: {errors[-1]}"
    if proxy is not None:
        assert sum(v for k, v in proxy.stats.items() if " " not in k) > 1, f"the request was not retried: {dict(proxy.stats)}"
