#!/usr/bin/env bash
# The readers check: a warehouse built by the binary is read back with DuckDB and pyarrow (row
# counts, partition column types, BigQuery-safe Parquet types per warehouse.md) and the export
# command's CSV/XLSX files are opened as a spreadsheet user would.
# Called by .ci/run from the repo root with KPI_ETL_BIN exported (absolute path of the binary).
set -euo pipefail

: "${KPI_ETL_BIN:?KPI_ETL_BIN must be the absolute path of the kpi-etl binary}"

venv=target/readers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/readers/requirements.txt
"$venv/bin/python" -m pytest -q tests/readers
