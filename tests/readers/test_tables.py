"""Every published table read back by the readers SQL users and BigQuery stand for: DuckDB
(`read_parquet(..., hive_partitioning = true)`) and pyarrow (`pyarrow.dataset`, hive
partitioning). They must see the same rows as the binary itself, the partition column as a DATE,
and only the Parquet types warehouse.md ("Layout and types") allows."""

import datetime as dt
import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from support import (
    ARROW_TYPE, DUCKDB_TYPE, MANIFEST_TYPE, MARTS, PARTITION_DIR,
    kind_by_name, kpi_etl, parse_query_table,
)

ALLOWED_DUCKDB = set(DUCKDB_TYPE.values())
ALLOWED_ARROW = set(ARROW_TYPE.values())
ARROW_TO_MANIFEST = {ARROW_TYPE[k]: MANIFEST_TYPE[k] for k in ARROW_TYPE}


def duck_relation(table) -> str:
    return f"read_parquet('{table.glob}', hive_partitioning = true)"


def arrow_dataset(table, typed=False) -> ds.Dataset:
    """`partitioning='hive'` as a user would write it; `typed` declares the partition column a
    date32 (pyarrow infers only integers and strings from folder names)."""
    partitioning = "hive"
    if typed and table.partition:
        partitioning = ds.partitioning(pa.schema([(table.partition, pa.date32())]), flavor="hive")
    return ds.dataset(str(table.path), format="parquet", partitioning=partitioning)


def fail_on(problems):
    assert not problems, "\n".join(problems)


# --- Layout -------------------------------------------------------------------------------------


def test_the_warehouse_root_holds_only_tables_and_underscore_entries(warehouse):
    known = set(warehouse.manifest) | {"rejects"}
    problems = []
    for entry in sorted(warehouse.root.iterdir()):
        if entry.name.startswith("_"):
            continue
        if not entry.is_dir():
            problems.append(f"{entry.name}: a file at the warehouse root")
        elif entry.name not in known:
            problems.append(f"{entry.name}: a folder that is no model's output nor rejects")
    assert (warehouse.root / "_SUCCESS").is_file(), "no _SUCCESS after a successful backfill"
    fail_on(problems)


def test_table_folders_hold_only_parquet_in_hive_partitions(warehouse):
    """BigQuery's external tables read `<table>/*`: any other object under a table (a temp file,
    a marker) would be read as Parquet and fail the query."""
    problems = []
    for t in warehouse.tables.values():
        entries = sorted(t.path.iterdir())
        files = [e for e in entries if e.is_file()]
        dirs = [e for e in entries if e.is_dir()]
        if files and dirs:
            problems.append(f"{t.name}: both files and folders at the top")
        for f in files:
            if f.suffix != ".parquet" or f.name.startswith((".", "_")):
                problems.append(f"{t.name}/{f.name}: not a Parquet file")
        for d in dirs:
            m = PARTITION_DIR.match(d.name)
            if not m or m.group(1) != t.partition:
                problems.append(f"{t.name}/{d.name}: not a {t.partition}=YYYY-MM-DD partition")
                continue
            day = dt.date.fromisoformat(m.group(2))
            if m.group(1) == "month" and day.day != 1:
                problems.append(f"{t.name}/{d.name}: a month partition not on the first day")
            for f in d.iterdir():
                if not f.is_file() or f.suffix != ".parquet" or f.name.startswith((".", "_")):
                    problems.append(f"{t.name}/{d.name}/{f.name}: not a Parquet file")
        if t.name in warehouse.manifest:
            declared = warehouse.manifest[t.name]["partition_column"]
            if declared != t.partition:
                problems.append(f"{t.name}: partitioned by {t.partition} on disk, {declared} in the manifest")
    fail_on(problems)


def test_the_partition_column_is_not_repeated_inside_the_files(warehouse):
    problems = [
        f"{f.relative_to(warehouse.root)} holds a {t.partition} column"
        for t in warehouse.tables.values() if t.partition
        for f in t.files() if t.partition in pq.read_schema(f).names
    ]
    fail_on(problems)


# --- Rows ---------------------------------------------------------------------------------------


def binary_counts(warehouse) -> dict:
    sql = " UNION ALL ".join(
        f"SELECT '{name}' AS t, COUNT(*) AS n FROM {name}" for name in sorted(warehouse.tables)
    )
    out = kpi_etl("query", "--warehouse", warehouse.root, sql).stdout
    return {r["t"]: int(r["n"]) for r in parse_query_table(out)}


def test_duckdb_pyarrow_and_the_binary_count_the_same_rows(warehouse, duck):
    by_binary = binary_counts(warehouse)
    problems = []
    for name, t in warehouse.tables.items():
        n_duck = duck.execute(f"SELECT COUNT(*) FROM {duck_relation(t)}").fetchone()[0]
        data = arrow_dataset(t)
        n_arrow, n_read = data.count_rows(), data.to_table().num_rows
        n_files = sum(pq.ParquetFile(f).metadata.num_rows for f in t.files())
        counts = {"duckdb": n_duck, "pyarrow": n_arrow, "pyarrow read": n_read,
                  "footers": n_files, "kpi-etl query": by_binary.get(name)}
        if len(set(counts.values())) != 1:
            problems.append(f"{name}: {counts}")
    assert set(by_binary) == set(warehouse.tables), "kpi-etl query does not see the same tables"
    fail_on(problems)
    assert any(by_binary[m] > 0 for m in MARTS if m in by_binary), "every mart is empty"


def sortable(row):
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in row)


def test_duckdb_and_pyarrow_read_the_same_values(warehouse, duck):
    problems = []
    for name, t in warehouse.tables.items():
        from_arrow = arrow_dataset(t, typed=True).to_table()
        columns = from_arrow.column_names
        cols = ", ".join(f'"{c}"' for c in columns)
        from_duck = duck.execute(f"SELECT {cols} FROM {duck_relation(t)}").fetchall()
        a = sorted((tuple(r[c] for c in columns) for r in from_arrow.to_pylist()), key=sortable)
        b = sorted(from_duck, key=sortable)
        if a != b:
            diff = next(((x, y) for x, y in zip(a, b) if x != y), None)
            problems.append(f"{name}: readers disagree, first difference {diff}")
    fail_on(problems)


def test_the_partition_column_reads_as_a_date(warehouse, duck):
    problems = []
    for name, t in warehouse.tables.items():
        if not t.partition:
            continue
        on_disk = {dt.date.fromisoformat(PARTITION_DIR.match(d.name).group(2))
                   for d in t.path.iterdir() if d.is_dir()}
        key = t.partition
        duck_type = duck.execute(f'SELECT DISTINCT typeof("{key}") FROM {duck_relation(t)}').fetchall()
        if duck_type not in ([("DATE",)], []):
            problems.append(f"{name}.{key}: DuckDB reads {duck_type}")
        duck_values = {r[0] for r in duck.execute(f'SELECT DISTINCT "{key}" FROM {duck_relation(t)}').fetchall()}
        data = arrow_dataset(t, typed=True)
        arrow_type = data.schema.field(key).type
        if arrow_type != pa.date32():
            problems.append(f"{name}.{key}: pyarrow reads {arrow_type}")
        arrow_values = set(data.to_table(columns=[key]).column(key).unique().to_pylist())
        # Folders of files without rows yield no values.
        nonempty = {dt.date.fromisoformat(PARTITION_DIR.match(f.parent.name).group(2))
                    for f in t.files() if pq.ParquetFile(f).metadata.num_rows}
        if not (duck_values == arrow_values == nonempty) or not nonempty <= on_disk:
            problems.append(f"{name}.{key}: DuckDB {sorted(duck_values)}, pyarrow {sorted(arrow_values)}, "
                            f"folders with rows {sorted(nonempty)}")
        # Declared as in the docs, pyarrow's bare 'hive' gives the folder text: an ISO date.
        bare = arrow_dataset(t).to_table(columns=[key]).column(key).unique().to_pylist()
        if {dt.date.fromisoformat(str(v)) if not isinstance(v, dt.date) else v for v in bare} != nonempty:
            problems.append(f"{name}.{key}: pyarrow 'hive' reads {bare}")
    fail_on(problems)


# --- Types --------------------------------------------------------------------------------------


def parquet_column_problem(col) -> str | None:
    """Why a Parquet leaf column is outside warehouse.md's types, or None."""
    logical = col.logical_type.to_json()
    physical = col.physical_type
    if physical == "INT96":
        return "INT96 timestamp"
    kind = col.logical_type.type
    if kind == "TIMESTAMP":
        if '"timeUnit":"microseconds"' not in logical:
            return f"timestamp not in microseconds: {logical}"
        if '"isAdjustedToUTC":true' not in logical:
            return f"timestamp not UTC-adjusted: {logical}"
        return None if physical == "INT64" else f"timestamp stored as {physical}"
    if kind == "DECIMAL":
        return None if (col.precision, col.scale) == (18, 2) else f"DECIMAL({col.precision},{col.scale})"
    if kind == "DATE":
        return None if physical == "INT32" else f"date stored as {physical}"
    if kind == "STRING":
        return None if physical == "BYTE_ARRAY" else f"string stored as {physical}"
    if kind == "INT":
        if '"isSigned":false' in logical:
            return f"unsigned integer {logical}"
        return None if physical == "INT64" else f"{physical} integer {logical}"
    if kind == "NONE":
        if physical in ("INT64", "DOUBLE", "BOOLEAN"):
            return None
        return f"{physical} without a logical type (INT32 / FLOAT / binary are not in the contract)"
    return f"{physical} {logical}"


def test_parquet_footers_use_only_bigquery_safe_types(warehouse):
    problems = []
    for t in warehouse.tables.values():
        for f in t.files():
            meta = pq.ParquetFile(f).metadata
            for i in range(meta.num_columns):
                col = meta.schema.column(i)
                if (why := parquet_column_problem(col)) is not None:
                    problems.append(f"{f.relative_to(warehouse.root)}: {col.path}: {why}")
    fail_on(problems)


def arrow_type_ok(t: pa.DataType) -> bool:
    if pa.types.is_list(t):  # lists of the scalar types (not large lists, not nested lists)
        return str(t.value_type) in ALLOWED_ARROW
    return str(t) in ALLOWED_ARROW


def test_arrow_schemas_hold_no_dictionary_large_view_or_unsigned_types(warehouse):
    """The Arrow schema stored in each footer (what pyarrow and DataFusion read back): only the
    contract's types; no dictionary, large_string, string_view, unsigned, nanosecond or naive
    timestamp leaks through. Every file of a table has one schema."""
    problems = []
    for t in warehouse.tables.values():
        schemas = {f: pq.read_schema(f) for f in t.files()}
        first = next(iter(schemas.values()))
        for f, schema in schemas.items():
            if not schema.equals(first):
                problems.append(f"{f.relative_to(warehouse.root)}: schema differs from the table's first file")
            for field in schema:
                if not arrow_type_ok(field.type):
                    problems.append(f"{t.name}.{field.name}: Arrow type {field.type}")
    fail_on(problems)


def test_duckdb_types_are_the_contracts(warehouse, duck):
    problems = []
    for t in warehouse.tables.values():
        for name, typ, *_ in duck.execute(f"DESCRIBE SELECT * FROM {duck_relation(t)}").fetchall():
            ok = typ in ALLOWED_DUCKDB or (typ.endswith("[]") and typ[:-2] in ALLOWED_DUCKDB)
            if not ok:
                problems.append(f"{t.name}.{name}: DuckDB type {typ}")
    fail_on(problems)


def test_money_timestamps_dates_keys_and_flags_have_their_contract_types(warehouse, duck):
    """Columns named like the contract's money (`amount`), instants (`*_at`, `valid_from/to`),
    dates (`*_date`), surrogate keys (`*_key`) and flags (`is_*`) have the type warehouse.md
    gives them in both readers: DECIMAL(18,2), TIMESTAMP WITH TIME ZONE / timestamp[us, UTC],
    DATE, BIGINT, BOOLEAN."""
    problems, checked = [], set()
    for t in warehouse.tables.values():
        arrow_schema = arrow_dataset(t, typed=True).schema
        described = duck.execute(f"DESCRIBE SELECT * FROM {duck_relation(t)}").fetchall()
        for name, typ, *_ in described:
            kind = kind_by_name(name)
            if kind is None:
                continue
            checked.add(kind)
            if typ != DUCKDB_TYPE[kind]:
                problems.append(f"{t.name}.{name}: DuckDB {typ}, expected {DUCKDB_TYPE[kind]} ({kind})")
            arrow = str(arrow_schema.field(name).type)
            if arrow != ARROW_TYPE[kind]:
                problems.append(f"{t.name}.{name}: pyarrow {arrow}, expected {ARROW_TYPE[kind]} ({kind})")
    fail_on(problems)
    assert {"money", "timestamp", "date", "int", "bool"} <= checked, f"only {checked} were checked"


def test_money_reads_exactly_as_cents(warehouse, duck):
    """DECIMAL(18,2) money comes back as exact decimals, not floats, in both readers."""
    t = warehouse.tables["kpi_target_attainment"]
    (value,) = duck.execute(f"SELECT quota_amount FROM {duck_relation(t)} LIMIT 1").fetchone()
    assert isinstance(value, Decimal) and value.as_tuple().exponent == -2, value
    arrow_value = arrow_dataset(t).to_table(columns=["quota_amount"]).column(0)[0].as_py()
    assert isinstance(arrow_value, Decimal) and arrow_value.as_tuple().exponent == -2, arrow_value


def test_timestamps_are_utc_instants(warehouse, duck):
    """A UTC-adjusted timestamp is an instant: both readers give an aware datetime, the same one."""
    t = warehouse.tables["stg_cdr"]
    (d,) = duck.execute(f"SELECT started_at FROM {duck_relation(t)} ORDER BY started_at LIMIT 1").fetchone()
    a = min(v for v in arrow_dataset(t).to_table(columns=["started_at"]).column(0).to_pylist() if v)
    assert d.tzinfo is not None and a.tzinfo is not None
    assert d == a and d.utcoffset() == dt.timedelta(0)


# --- The marts' public columns --------------------------------------------------------------------


def test_mart_files_have_exactly_the_contract_columns_and_types(warehouse, duck):
    problems, seen = [], 0
    for mart, (key, columns) in MARTS.items():
        t = warehouse.tables.get(mart)
        if t is None:  # no rows in this small warehouse: checked through the manifest below
            continue
        seen += 1
        if t.partition != key:
            problems.append(f"{mart}: partitioned by {t.partition}, contract says {key}")
        expected = dict(columns, **{key: "date"})
        described = {n: typ for n, typ, *_ in duck.execute(f"DESCRIBE SELECT * FROM {duck_relation(t)}").fetchall()}
        arrow = {f.name: str(f.type) for f in arrow_dataset(t, typed=True).schema}
        if set(described) != set(expected):
            problems.append(f"{mart}: DuckDB columns {sorted(described)} != contract {sorted(expected)}")
        if set(arrow) != set(expected):
            problems.append(f"{mart}: pyarrow columns {sorted(arrow)} != contract {sorted(expected)}")
        for c, kind in expected.items():
            if c in described and described[c] != DUCKDB_TYPE[kind]:
                problems.append(f"{mart}.{c}: DuckDB {described[c]}, contract {DUCKDB_TYPE[kind]} ({kind})")
            if c in arrow and arrow[c] != ARROW_TYPE[kind]:
                problems.append(f"{mart}.{c}: pyarrow {arrow[c]}, contract {ARROW_TYPE[kind]} ({kind})")
    fail_on(problems)
    assert seen >= 3, "fewer than three marts have rows in the test warehouse"


def test_every_mart_model_declares_the_contract_schema(warehouse):
    """The manifest covers marts without rows too (they have no files, hence no table to read)."""
    problems = []
    for mart, (key, columns) in MARTS.items():
        model = warehouse.manifest.get(mart)
        if model is None:
            problems.append(f"{mart}: no model in the manifest")
            continue
        if model["partition_column"] != key:
            problems.append(f"{mart}: partition column {model['partition_column']}, contract {key}")
        declared = {c["name"]: c["type"] for c in model["schema"]}
        expected = {c: MANIFEST_TYPE[k] for c, k in dict(columns, **{key: "date"}).items()}
        if declared != expected:
            diff = {c: (declared.get(c), expected.get(c)) for c in set(declared) | set(expected)
                    if declared.get(c) != expected.get(c)}
            problems.append(f"{mart}: (manifest, contract) differ on {diff}")
    fail_on(problems)


def test_the_manifest_schema_is_what_the_files_hold(warehouse):
    problems = []
    for name, t in warehouse.tables.items():
        model = warehouse.manifest.get(name)
        if model is None:
            continue
        declared = [(c["name"], c["type"]) for c in model["schema"] if c["name"] != t.partition]
        schema = pq.read_schema(t.files()[0])
        stored = [(f.name, ARROW_TO_MANIFEST.get(str(f.type), str(f.type))) for f in schema]
        if declared != stored:
            problems.append(f"{name}: manifest {declared} != files {stored}")
    fail_on(problems)
