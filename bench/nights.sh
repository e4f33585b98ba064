#!/usr/bin/env bash
# A night's cost against history: generate DAYS landing dates at CALLS calls/day, run every night
# in order, then one full refresh over them, and print the wall time of each night (from its
# run_results.json) and of the refresh.
#
#   bash bench/nights.sh [CALLS] [DAYS]        # defaults: 20000 calls/day, 30 days
#
# Needs the release binary (cargo build --release); KPI_ETL_BIN overrides it. Work files go to
# BENCH_DIR (default target/bench-nights), removed first.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-20000}"
DAYS="${2:-30}"
BIN="${KPI_ETL_BIN:-target/release/kpi-etl}"
DIR="${BENCH_DIR:-target/bench-nights}"
FROM=2026-10-05
TO=$(date -u -d "$FROM + $((DAYS - 1)) days" +%F)
export KPI_ETL_PII_KEY=bench-key-0123456789 KPI_ETL_LOG=warn

rm -rf "$DIR" && mkdir -p "$DIR"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $BIN"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
start=$(ms)
"$BIN" generate --out "$DIR/raw" --from "$FROM" --to "$TO" --calls-per-day "$CALLS" >/dev/null
echo "generated $FROM..$TO at $CALLS calls/day in $(( $(ms) - start )) ms ($(du -sh "$DIR/raw" | cut -f1))"

d="$FROM"
while [[ "$d" < "$TO" || "$d" == "$TO" ]]; do
  "$BIN" run --date "$d" --raw "$DIR/raw" --warehouse "$DIR/nightly" >/dev/null
  d=$(date -u -d "$d + 1 day" +%F)
done

start=$(ms)
"$BIN" backfill --full-refresh --from "$FROM" --to "$TO" --raw "$DIR/raw" --warehouse "$DIR/refresh" >/dev/null
refresh=$(( $(ms) - start ))

python3 - "$DIR/nightly/_runs" "$refresh" <<'PY'
import json, pathlib, sys
runs = sorted(pathlib.Path(sys.argv[1]).glob("*/run_results.json"))
nights = [json.loads(p.read_text()) for p in runs]
nights.sort(key=lambda r: r["landing_date"])
print(f"{'night':>5} {'landing':>10} {'wall s':>8} {'rows read':>10}")
for i, r in enumerate(nights, 1):
    rows = sum(f["rows"] for f in r["inputs"])
    print(f"{i:>5} {r['landing_date']:>10} {r['elapsed_ms'] / 1000:>8.1f} {rows:>10}")
total = sum(r["elapsed_ms"] for r in nights) / 1000
print(f"nights summed: {total:.1f} s; full refresh: {int(sys.argv[2]) / 1000:.1f} s")
if len(nights) >= 2:
    print(f"night {len(nights)} / night 2: {nights[-1]['elapsed_ms'] / nights[1]['elapsed_ms']:.2f}")
PY
