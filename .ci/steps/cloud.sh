#!/usr/bin/env bash
# The object-storage check (tests/cloud): an S3 API server (moto, from PyPI) and Azurite's blob
# service (from npm) on 127.0.0.1, each on a free port, started here and stopped by PID on exit
# whatever the tests do. The tests drive the real binary: week-long backfills on S3 and Azure equal
# to the local one, multipart uploads, a partition of 2,500 files, retries through a fault-injecting
# proxy, and no secret in any log, error or object. Nothing leaves the machine: dummy credentials,
# loopback endpoints, metadata endpoints pointed at a closed loopback port.
# Called by .ci/run from the repo root with KPI_ETL_BIN exported (absolute path of the binary).
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${KPI_ETL_BIN:?KPI_ETL_BIN must be the absolute path of the kpi-etl binary}"
step_start=$SECONDS

AZURITE_VERSION=3.35.0 # the 3.35 line runs on Node 20
venv=target/cloud-venv
azurite_dir=target/azurite
logs=target/cloud-logs
mkdir -p "$logs"

# -- Python: moto[server], boto3, azure-storage-blob, pyarrow, pytest (pinned) ------------------
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum tests/cloud/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/cloud/requirements.txt
  echo "$want" >"$stamp"
fi

# -- Azurite from npm ---------------------------------------------------------------------------
azurite_pkg="$azurite_dir/node_modules/azurite/package.json"
have="$(node -p "require('./$azurite_pkg').version" 2>/dev/null || true)"
if [ "$have" != "$AZURITE_VERSION" ]; then
  mkdir -p "$azurite_dir"
  npm install --prefix "$azurite_dir" --no-audit --no-fund --no-save --loglevel=error "azurite@$AZURITE_VERSION" >"$logs/npm-install.log" 2>&1 ||
    { cat "$logs/npm-install.log"; exit 1; }
fi
echo "cloud: Python and Azurite $AZURITE_VERSION ready in $((SECONDS - step_start)) s"

# -- servers -------------------------------------------------------------------------------------
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost # never through a system proxy
free_port() { "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

moto_pid=""
azurite_pid=""
stop_servers() {
  for pid in $moto_pid $azurite_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until url answers HTTP (any status), or fails naming the log.
wait_http() {
  local name=$1 url=$2 pid=$3 log=$4
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "cloud: $name exited during start-up; its log ($log):" >&2
      cat "$log" >&2
      return 1
    fi
    if "$venv/bin/python" - "$url" <<'EOF' 2>/dev/null; then
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
EOF
      return 0
    fi
    sleep 0.1
  done
  echo "cloud: $name does not answer at $url after 30 s; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

s3_port="$(free_port)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$logs/moto.log" 2>&1 &
moto_pid=$!

azurite_port="$(free_port)"
"$azurite_dir/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$azurite_port" \
  --inMemoryPersistence --skipApiVersionCheck --loose --disableTelemetry >"$logs/azurite.log" 2>&1 &
azurite_pid=$!

wait_http moto "http://127.0.0.1:$s3_port/" "$moto_pid" "$logs/moto.log"
wait_http azurite "http://127.0.0.1:$azurite_port/devstoreaccount1?comp=list" "$azurite_pid" "$logs/azurite.log"
echo "cloud: moto on 127.0.0.1:$s3_port (pid $moto_pid), Azurite on 127.0.0.1:$azurite_port (pid $azurite_pid), logs in $logs/"

# -- the tests -----------------------------------------------------------------------------------
export KPI_ETL_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
export KPI_ETL_TEST_AZURITE_URL="http://127.0.0.1:$azurite_port"
# Whatever a test forgets, S3 and Azure clients here only know the local servers.
export AWS_ACCESS_KEY_ID=kpi-etl-test AWS_SECRET_ACCESS_KEY=kpi-etl-test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="$KPI_ETL_TEST_S3_ENDPOINT" AWS_ENDPOINT="$KPI_ETL_TEST_S3_ENDPOINT" AWS_ALLOW_HTTP=true
export AWS_EC2_METADATA_DISABLED=true AWS_METADATA_ENDPOINT=http://127.0.0.1:9
export AZURE_STORAGE_USE_EMULATOR=true AZURITE_BLOB_STORAGE_URL="$KPI_ETL_TEST_AZURITE_URL"

rc=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=12 tests/cloud || rc=$?
echo "cloud: step finished in $((SECONDS - step_start)) s (pytest exit $rc)"
exit "$rc"
