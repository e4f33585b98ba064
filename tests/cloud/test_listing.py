"""Listing copes with a landing partition of thousands of files.

One day's Master.csv is split into 2,500 CDR files in the same S3 partition (names the CDR reader
accepts: `*.csv`, none hidden). S3's ListObjectsV2 answers at most 1,000 keys a page, so the run
has to follow continuation tokens: the requests go through a transparent proxy that counts them.
The run must read every file and stage exactly the rows of the same day unsplit on local disk.
Peak memory and thread count of both runs are printed.
"""

import json
from pathlib import Path

from conftest import assert_no_problems, base_env, download_s3, fresh, kpi_etl, make_bucket, note, record_time, s3_env, upload_s3
from faultproxy import FaultProxy
import warehouse

DAY = "2026-10-19"
N_FILES = 2500
LINEAGE = ("source_file", "source_line")
CALLS = 1000  # about 2,900 CDR rows, so that every one of the 2,500 files holds a row or two


def run_results(root: Path) -> dict:
    runs = warehouse.runs(root)
    assert list(runs) == [DAY], runs
    return json.loads((root / "_runs" / runs[DAY] / "run_results.json").read_text())


def test_a_partition_of_thousands_of_files_is_listed_and_read_whole(servers, s3, tmp_root):
    raw = fresh(tmp_root, "split-landing")
    kpi_etl("generate", "--out", raw, "--from", DAY, "--to", DAY, "--calls-per-day", CALLS, "--seed", 5, env=base_env())
    cdr_dir = raw / "pbx" / "cdr" / f"dt={DAY}"
    cdr_files = sorted(p.name for p in cdr_dir.iterdir())
    assert cdr_files == ["Master.csv"], f"expected one CDR file that day, found {cdr_files}"

    # Reference: the unsplit day, on local disk.
    local_wh = fresh(tmp_root, "split-local-wh")
    ref = kpi_etl("run", "--date", DAY, "--raw", raw, "--warehouse", local_wh, env=base_env(), measure=True)

    # The same day on S3 with Master.csv cut into N_FILES files, in order, every line kept whole.
    lines = (cdr_dir / "Master.csv").read_bytes().splitlines(keepends=True)
    assert len(lines) >= N_FILES, f"only {len(lines)} CDR rows: raise CALLS"
    (cdr_dir / "Master.csv").unlink()
    for i in range(N_FILES):
        chunk = lines[i * len(lines) // N_FILES : (i + 1) * len(lines) // N_FILES]
        (cdr_dir / f"Master-{i:05d}.csv").write_bytes(b"".join(chunk))
    bucket = make_bucket(s3, "kpi-raw")
    uploaded = upload_s3(s3, raw, bucket, "split")
    assert uploaded >= N_FILES

    wh_bucket = make_bucket(s3, "kpi-warehouse")
    with FaultProxy("127.0.0.1", servers.s3_port, lambda n, m, t: "forward") as proxy:
        split = kpi_etl(
            "run", "--date", DAY, "--raw", f"s3://{bucket}/split", "--warehouse", f"s3://{wh_bucket}/split",
            env=s3_env(proxy.url), measure=True, timeout=900,
        )
    record_time(f"run of one day with {N_FILES} CDR files on S3", split.elapsed)
    note(
        f"unsplit local run: {ref.elapsed:.1f} s, peak RSS {ref.peak_rss_mb:.0f} MB, {ref.peak_threads} threads; "
        f"{N_FILES}-file S3 run: {split.elapsed:.1f} s, peak RSS {split.peak_rss_mb:.0f} MB, {split.peak_threads} threads"
    )

    cdr_lists = [t for _, a, m, t in proxy.log if m == "GET" and "list-type=2" in t and "pbx%2Fcdr%2Fdt%3D" + DAY in t]
    assert len(cdr_lists) >= -(-N_FILES // 1000), f"the CDR partition was listed in {len(cdr_lists)} requests: {cdr_lists}"
    assert sum("continuation-token=" in t for t in cdr_lists) >= 2, f"no continuation token was followed: {cdr_lists}"

    got = download_s3(s3, wh_bucket, "split", fresh(tmp_root, "split-s3-wh"))
    assert_no_problems(warehouse.check_layout(got, "s3"), "the split run's warehouse")
    a, b = run_results(local_wh), run_results(got)
    cdr_inputs = [i for i in b["inputs"] if i["source"] == "cdr"]
    assert len(cdr_inputs) == N_FILES, f"the run read {len(cdr_inputs)} of the {N_FILES} CDR files"
    assert sum(i["rows"] for i in cdr_inputs) == sum(i["rows"] for i in a["inputs"] if i["source"] == "cdr")
    assert b["rejects"].get("cdr", {}).get("count") == a["rejects"].get("cdr", {}).get("count")
    staged = lambda rr: {m["model"]: (m["new_rows"], m["rows_written"]) for m in rr["models"]}  # noqa: E731
    assert staged(b) == staged(a), "rows per model differ between the split and the unsplit run"

    # Row for row, stg_cdr is the same apart from which file (and line of it) each row came from.
    na, nb = warehouse.Normaliser(str(raw), str(local_wh)), warehouse.Normaliser(f"s3://{bucket}/split", f"s3://{wh_bucket}/split")
    sa, ra = warehouse.read_table(local_wh, "stg_cdr", na, drop=LINEAGE)
    sb, rb = warehouse.read_table(got, "stg_cdr", nb, drop=LINEAGE)
    assert sa == sb and ra == rb, f"stg_cdr differs: {sum(ra.values())} rows unsplit, {sum(rb.values())} split"
