"""Reading a warehouse folder (local, or downloaded from S3 / Azurite) and comparing two of them.

A warehouse written to an object store must be the warehouse written to local disk: the same
object paths, the same rows in every table, the same run artifacts. Only what must differ is
normalised away:

- run ids (`<landing date>_<UTC timestamp of the start>`) name the `_runs/<run_id>/` folders and
  appear in `_SUCCESS`: folders are compared by landing date, ids are dropped;
- start/finish times and elapsed milliseconds of runs and models;
- the raw and warehouse URLs as the user wrote them (`/tmp/.../raw` vs `s3://bucket/raw`): they
  are in `run_results.json` (arguments, inputs, rejects) and in two kinds of table columns, the
  lineage column `source_file` of the staging tables and `file` of `rejects`. Both URLs are
  replaced by `<raw>` / `<warehouse>` before comparing, so the relative part still has to match.

Nothing else is excluded: every other column of every table is compared row for row (as a
multiset, ignoring row order and the order of files).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import json
import math
import re
from pathlib import Path

import pyarrow.parquet as pq

RUN_ID = re.compile(r"^(\d{4}-\d{2}-\d{2})_\d{8}T\d{9}Z$")
VOLATILE_KEYS = {"run_id", "started_at", "finished_at", "elapsed_ms"}


def files(root: Path) -> list[str]:
    """Every file below root, as sorted `/`-separated relative paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def tables(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def runs(root: Path) -> dict[str, str]:
    """landing date -> run id, for every folder of `_runs/` (one run per landing date expected)."""
    out: dict[str, str] = {}
    runs_dir = root / "_runs"
    if not runs_dir.is_dir():
        return out
    for d in sorted(runs_dir.iterdir()):
        m = RUN_ID.match(d.name)
        assert m, f"unexpected run folder name {d}"
        assert m.group(1) not in out, f"two runs of landing date {m.group(1)} in {runs_dir}"
        out[m.group(1)] = d.name
    return out


def normalised_paths(root: Path) -> list[str]:
    out = []
    for rel in files(root):
        parts = rel.split("/")
        if parts[0] == "_runs" and len(parts) > 1:
            m = RUN_ID.match(parts[1])
            parts[1] = f"<run of {m.group(1)}>" if m else parts[1]
        out.append("/".join(parts))
    return sorted(out)


class Normaliser:
    """Replaces the raw and warehouse URLs in strings, rounds floats, makes values hashable."""

    def __init__(self, raw: str, warehouse: str):
        self.raw = raw.rstrip("/")
        self.warehouse = warehouse.rstrip("/")

    def text(self, s: str) -> str:
        return s.replace(self.raw, "<raw>").replace(self.warehouse, "<warehouse>")

    def value(self, v):
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, float):
            return "NaN" if math.isnan(v) else round(v, 9)
        if isinstance(v, (list, tuple)):
            return tuple(self.value(x) for x in v)
        if isinstance(v, dict):
            return tuple(sorted((k, self.value(x)) for k, x in v.items()))
        if v is None or isinstance(v, (int, bool, bytes, decimal.Decimal, datetime.date, datetime.datetime, datetime.time, datetime.timedelta)):
            return v
        return repr(v)

    def json(self, v):
        """A JSON document with the volatile keys dropped and the URLs replaced."""
        if isinstance(v, dict):
            return {k: self.json(x) for k, x in v.items() if k not in VOLATILE_KEYS}
        if isinstance(v, list):
            return [self.json(x) for x in v]
        if isinstance(v, str):
            return self.text(v)
        return v


def read_table(root: Path, table: str, norm: Normaliser, drop: tuple[str, ...] = ()) -> tuple[list[str], collections.Counter]:
    """(column names with types, multiset of normalised rows) of one table, partition columns
    taken from the hive folder names."""
    schema_seen: list[str] | None = None
    rows: collections.Counter = collections.Counter()
    for f in sorted((root / table).rglob("*.parquet")):
        rel = f.relative_to(root / table).parts[:-1]
        part_cols = [p.split("=", 1) for p in rel if "=" in p]
        t = pq.read_table(f)
        names = [n for n in t.column_names if n not in drop]
        schema = [f"{n}:{t.schema.field(n).type}" for n in names] + [f"{k}:partition" for k, _ in part_cols]
        if schema_seen is None:
            schema_seen = schema
        assert schema == schema_seen, f"{table}: {f} has schema {schema}, other files {schema_seen}"
        cols = [t.column(n).to_pylist() for n in names]
        extra = tuple(v for _, v in part_cols)
        for i in range(t.num_rows):
            rows[tuple(norm.value(c[i]) for c in cols) + extra] += 1
    return schema_seen or [], rows


def check_layout(root: Path, label: str) -> list[str]:
    """What must hold of any warehouse after a successful backfill, whatever the store."""
    problems = []
    paths = files(root)
    if not paths:
        return [f"{label}: the warehouse is empty"]
    staged = [p for p in paths if p.startswith("_staging/")]
    if staged:
        problems.append(f"{label}: {len(staged)} objects left under _staging/, e.g. {staged[:3]}")
    if "_SUCCESS" not in paths:
        problems.append(f"{label}: no _SUCCESS marker at the warehouse root")
    run_ids = runs(root)
    if not run_ids:
        problems.append(f"{label}: no run artifacts under _runs/")
    for date, run_id in run_ids.items():
        for name in ("run_results.json", "manifest.json"):
            if f"_runs/{run_id}/{name}" not in paths:
                problems.append(f"{label}: _runs/{run_id}/{name} is missing")
        rr = root / "_runs" / run_id / "run_results.json"
        if rr.is_file():
            doc = json.loads(rr.read_text())
            if doc.get("status") != "success" or doc.get("run_id") != run_id or doc.get("landing_date") != date:
                problems.append(f"{label}: {rr.relative_to(root)} says status={doc.get('status')} run_id={doc.get('run_id')} landing_date={doc.get('landing_date')}")
    if "_SUCCESS" in paths and run_ids:
        marker = json.loads((root / "_SUCCESS").read_text())
        last = run_ids[max(run_ids)]
        if marker.get("run_id") != last:
            problems.append(f"{label}: _SUCCESS names run {marker.get('run_id')}, the last run is {last}")
    # Per-table markers, if the binary writes any, must sit directly in a table folder.
    for p in paths:
        if p.endswith("_SUCCESS") and p != "_SUCCESS":
            parts = p.split("/")
            if len(parts) != 2 or parts[0].startswith("_"):
                problems.append(f"{label}: marker {p} is not at the root nor directly in a table folder")
    for t in tables(root):
        if not any(p.startswith(f"{t}/") and p.endswith(".parquet") for p in paths):
            problems.append(f"{label}: table folder {t}/ holds no Parquet file")
    return problems


def compare(a: Path, a_raw: str, a_wh: str, b: Path, b_raw: str, b_wh: str, *, labels=("local", "remote"), drop: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Every difference between two warehouses that is not a legitimate one (see the module doc)."""
    la, lb = labels
    na, nb = Normaliser(a_raw, a_wh), Normaliser(b_raw, b_wh)
    problems = check_layout(a, la) + check_layout(b, lb)

    pa, pb = normalised_paths(a), normalised_paths(b)
    if pa != pb:
        only_a = sorted(set(pa) - set(pb))
        only_b = sorted(set(pb) - set(pa))
        problems.append(f"object paths differ: only in {la}: {only_a[:10]} ({len(only_a)}); only in {lb}: {only_b[:10]} ({len(only_b)})")

    ta, tb = tables(a), tables(b)
    if ta != tb:
        problems.append(f"tables differ: {la} {ta}, {lb} {tb}")
    for t in sorted(set(ta) & set(tb)):
        d = (drop or {}).get(t, ())
        sa, ra = read_table(a, t, na, d)
        sb, rb = read_table(b, t, nb, d)
        if sa != sb:
            problems.append(f"{t}: schemas differ: {la} {sa}, {lb} {sb}")
            continue
        if ra != rb:
            only_a = list((ra - rb).elements())
            only_b = list((rb - ra).elements())
            problems.append(
                f"{t}: {sum(ra.values())} rows in {la}, {sum(rb.values())} in {lb}; "
                f"{len(only_a)} only in {la}, e.g. {only_a[:2]}; {len(only_b)} only in {lb}, e.g. {only_b[:2]}"
            )

    runs_a, runs_b = runs(a), runs(b)
    if sorted(runs_a) != sorted(runs_b):
        problems.append(f"runs of different landing dates: {la} {sorted(runs_a)}, {lb} {sorted(runs_b)}")
    for date in sorted(set(runs_a) & set(runs_b)):
        for name in ("run_results.json", "manifest.json"):
            fa, fb = a / "_runs" / runs_a[date] / name, b / "_runs" / runs_b[date] / name
            if not (fa.is_file() and fb.is_file()):
                continue
            ja, jb = na.json(json.loads(fa.read_text())), nb.json(json.loads(fb.read_text()))
            if ja != jb:
                problems.append(f"_runs/<{date}>/{name} differs: {_first_difference(ja, jb)}")
    if (a / "_SUCCESS").is_file() and (b / "_SUCCESS").is_file():
        ma, mb = na.json(json.loads((a / "_SUCCESS").read_text())), nb.json(json.loads((b / "_SUCCESS").read_text()))
        if ma != mb:
            problems.append(f"_SUCCESS differs: {_first_difference(ma, mb)}")
    return problems


def _first_difference(x, y, where="$") -> str:
    if type(x) is not type(y):
        return f"{where}: {x!r} != {y!r}"
    if isinstance(x, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                return f"{where}.{k}: present on one side only"
            if x[k] != y[k]:
                return _first_difference(x[k], y[k], f"{where}.{k}")
    if isinstance(x, list):
        if len(x) != len(y):
            return f"{where}: {len(x)} items != {len(y)} items"
        for i, (p, q) in enumerate(zip(x, y)):
            if p != q:
                return _first_difference(p, q, f"{where}[{i}]")
    return f"{where}: {str(x)[:300]!r} != {str(y)[:300]!r}"
