"""Fixtures of the object-storage tests: the binary, the S3 (moto) and Azure (Azurite) servers that
.ci/steps/cloud.sh started, a generated landing zone and the local backfill every store is
compared with.

Nothing here may reach a real cloud: every run of the binary gets an environment built from
scratch for one store (dummy or canary credentials, a loopback endpoint), with the AWS, Azure and
Google variables of the calling shell removed and every metadata endpoint pointed at a closed
loopback port.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("KPI_ETL_BIN") or ROOT / "target" / "debug" / "kpi-etl")
PIPELINE = ROOT / "pipelines" / "nightly.toml"

FIRST, LAST = "2026-10-22", "2026-10-25"  # four days ending with the autumn DST change (2026-10-25)
CALLS = int(os.environ.get("KPI_ETL_TEST_CALLS", "150"))
SEED = 11

# Recognisable secrets: they must never appear in a log line, an error or an object written.
_TAG = secrets.token_hex(4)
PII_KEY = f"kpi-etl-canary-pii-{_TAG}"  # the same key for every run, so that warehouses compare
AWS_SECRET = f"kpi-etl-canary-aws-secret-{_TAG}"
AWS_TOKEN = f"kpi-etl-canary-aws-token-{_TAG}"
CANARIES = [PII_KEY, AWS_SECRET, AWS_TOKEN]

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

# A closed port on the loopback: where every cloud metadata / token endpoint is pointed.
NOWHERE = "http://127.0.0.1:9"

TIMINGS: dict[str, float] = {}
NOTES: list[str] = []
_timings_lock = threading.Lock()

# Also for boto3 and azure-storage-blob in this process: no metadata lookups, no profile files.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def record_time(label: str, seconds: float) -> None:
    with _timings_lock:
        TIMINGS[label] = seconds
    print(f"\n[cloud timing] {label}: {seconds:.1f} s", flush=True)


def note(text: str) -> None:
    NOTES.append(text)
    print(f"\n[cloud] {text}", flush=True)


def pytest_terminal_summary(terminalreporter):
    if TIMINGS or NOTES:
        terminalreporter.section("object-storage figures")
        for label, secs in TIMINGS.items():
            terminalreporter.write_line(f"{label:<58} {secs:7.1f} s")
        for n in NOTES:
            terminalreporter.write_line(n)


# -- servers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    s3_endpoint: str  # http://127.0.0.1:PORT of moto
    azurite_url: str  # http://127.0.0.1:PORT of azurite-blob (no account in the path)

    @property
    def s3_port(self) -> int:
        return int(self.s3_endpoint.rsplit(":", 1)[1].strip("/"))


@pytest.fixture(scope="session")
def servers() -> Servers:
    missing = [v for v in ("KPI_ETL_TEST_S3_ENDPOINT", "KPI_ETL_TEST_AZURITE_URL") if not os.environ.get(v)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: these tests need the S3 server (moto) and Azurite that "
            "`.ci/steps/cloud.sh` starts; run `KPI_ETL_BIN=$PWD/target/debug/kpi-etl bash .ci/steps/cloud.sh`",
            pytrace=False,
        )
    if not BINARY.is_file():
        pytest.fail(f"the kpi-etl binary {BINARY} does not exist (set KPI_ETL_BIN or build it)", pytrace=False)
    s = Servers(os.environ["KPI_ETL_TEST_S3_ENDPOINT"].rstrip("/"), os.environ["KPI_ETL_TEST_AZURITE_URL"].rstrip("/"))
    for url in (s.s3_endpoint, s.azurite_url):
        host, port = url.split("//", 1)[1].split(":")
        assert host in ("127.0.0.1", "localhost"), f"{url}: the test servers must be on the loopback"
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            pytest.fail(f"nothing answers at {url} ({e}): is the server cloud.sh started still running?", pytrace=False)
    return s


@pytest.fixture(scope="session")
def s3(servers):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=servers.s3_endpoint,
        aws_access_key_id="kpi-etl-test",
        aws_secret_access_key="kpi-etl-test",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}, max_pool_connections=16),
    )


@pytest.fixture(scope="session")
def blob_service(servers):
    from azure.storage.blob import BlobServiceClient

    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={servers.azurite_url}/{AZURITE_ACCOUNT};"
    )
    return BlobServiceClient.from_connection_string(conn)


def make_bucket(s3, name: str) -> str:
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    return name


def make_container(blob_service, name: str) -> str:
    from azure.core.exceptions import ResourceExistsError

    try:
        blob_service.create_container(name)
    except ResourceExistsError:
        pass
    return name


# -- the binary ----------------------------------------------------------------------------


def base_env(**extra: str) -> dict[str, str]:
    """The calling environment without any cloud or kpi-etl setting, plus the test's own."""
    drop = ("AWS_", "AZURE_", "AZURITE_", "GOOGLE_", "GCE_", "KPI_ETL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k not in ("SERVICE_ACCOUNT", "IDENTITY_ENDPOINT", "MSI_ENDPOINT")}
    env.update(
        KPI_ETL_PII_KEY=PII_KEY,
        KPI_ETL_PIPELINE=str(PIPELINE),
        # Should credentials ever be missing, no lookup may leave the machine.
        AWS_METADATA_ENDPOINT=NOWHERE,
        AWS_EC2_METADATA_DISABLED="true",
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
        AZURE_MSI_ENDPOINT=NOWHERE + "/metadata/identity/oauth2/token",
        # reqwest honours the system proxy variables: the local servers are reached directly.
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def s3_env(endpoint: str, **extra: str) -> dict[str, str]:
    return base_env(
        AWS_ACCESS_KEY_ID="kpi-etl-test",
        AWS_SECRET_ACCESS_KEY=AWS_SECRET,
        AWS_SESSION_TOKEN=AWS_TOKEN,
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_ENDPOINT=endpoint,
        AWS_ALLOW_HTTP="true",
        AWS_VIRTUAL_HOSTED_STYLE_REQUEST="false",
        **extra,
    )


def azure_env(azurite_url: str, **extra: str) -> dict[str, str]:
    return base_env(AZURE_STORAGE_USE_EMULATOR="true", AZURITE_BLOB_STORAGE_URL=azurite_url, **extra)


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed: float
    peak_rss_mb: float = 0.0
    peak_threads: int = 0

    def describe(self) -> str:
        return f"`kpi-etl {' '.join(self.args)}` exited {self.returncode} after {self.elapsed:.1f} s\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-6000:]}"


def kpi_etl(*args: str, env: dict[str, str], expect: int | None = 0, timeout: float = 900, measure: bool = False) -> Result:
    """Runs the binary; checks its exit code (unless expect is None) and that no canary secret
    appears in what it printed."""
    args = [str(a) for a in args]
    start = time.monotonic()
    proc = subprocess.Popen([str(BINARY), *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    peak = {"rss": 0.0, "threads": 0}
    stop = threading.Event()

    def sample():
        status = Path(f"/proc/{proc.pid}/status")
        while not stop.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak["rss"] = max(peak["rss"], int(line.split()[1]) / 1024)
                    elif line.startswith("Threads:"):
                        peak["threads"] = max(peak["threads"], int(line.split()[1]))
            except (OSError, ValueError):
                pass
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True) if measure else None
    if sampler:
        sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"`kpi-etl {' '.join(args)}` still running after {timeout} s; stderr:\n{err[-4000:]}", pytrace=False)
    finally:
        stop.set()
        if sampler:
            sampler.join()
    r = Result(args, proc.returncode, out, err, time.monotonic() - start, peak["rss"], peak["threads"])
    leaked = [c for c in CANARIES if c in out or c in err]
    assert not leaked, f"a secret ({leaked}) appears in the output of {r.describe()}"
    if expect is not None:
        assert r.returncode == expect, f"expected exit {expect}: {r.describe()}"
    return r


# -- copying trees to and from the stores ----------------------------------------------------


def upload_s3(s3, local: Path, bucket: str, prefix: str) -> int:
    paths = [p for p in sorted(local.rglob("*")) if p.is_file()]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: s3.upload_file(str(p), bucket, f"{prefix}/{p.relative_to(local).as_posix()}"), paths))
    return len(paths)


def download_s3(s3, bucket: str, prefix: str, dest: Path) -> Path:
    prefix = prefix.strip("/") + "/"
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]

    def get(key):
        p = dest / key[len(prefix):]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, keys))
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def upload_azure(blob_service, local: Path, container: str, prefix: str) -> int:
    cc = blob_service.get_container_client(container)
    paths = [p for p in sorted(local.rglob("*")) if p.is_file()]
    for p in paths:
        with p.open("rb") as f:
            cc.upload_blob(f"{prefix}/{p.relative_to(local).as_posix()}", f, overwrite=True)
    return len(paths)


def download_azure(blob_service, container: str, prefix: str, dest: Path) -> Path:
    cc = blob_service.get_container_client(container)
    prefix = prefix.strip("/") + "/"
    for b in cc.list_blobs(name_starts_with=prefix):
        p = dest / b.name[len(prefix):]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(cc.download_blob(b.name).readall())
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def secrets_in_tree(root: Path) -> list[str]:
    """`path: canary` for every canary secret found in the bytes of a file below root."""
    found = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            found += [f"{p.relative_to(root)}: {c}" for c in CANARIES if c.encode() in data]
    return found


def assert_no_problems(problems: list[str], what: str) -> None:
    assert not problems, f"{what}:\n" + "\n".join(f"- {p[:800]}" for p in problems[:25])


# -- shared data -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_landing(tmp_path_factory, servers) -> Path:
    raw = tmp_path_factory.mktemp("landing") / "raw"
    kpi_etl("generate", "--out", raw, "--from", FIRST, "--to", LAST, "--calls-per-day", CALLS, "--seed", SEED, env=base_env())
    return raw


@pytest.fixture(scope="session")
def local_backfill(tmp_path_factory, local_landing) -> Path:
    """The reference: the week's backfill on the local filesystem."""
    wh = tmp_path_factory.mktemp("local") / "warehouse"
    r = kpi_etl("backfill", "--from", FIRST, "--to", LAST, "--raw", local_landing, "--warehouse", wh, env=base_env())
    record_time(f"4-day backfill, local filesystem ({CALLS} calls/day)", r.elapsed)
    return wh


@pytest.fixture(scope="session")
def s3_landing(s3, local_landing) -> str:
    """The generated landing zone uploaded with boto3; its s3:// URL."""
    bucket = make_bucket(s3, "kpi-raw")
    n = upload_s3(s3, local_landing, bucket, "landing")
    assert n > 0
    return f"s3://{bucket}/landing"


@pytest.fixture(scope="session")
def warehouse_bucket(s3) -> str:
    return make_bucket(s3, "kpi-warehouse")


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("work")


def fresh(tmp_root: Path, name: str) -> Path:
    p = tmp_root / name
    if p.exists():
        shutil.rmtree(p)
    return p
