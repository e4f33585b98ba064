"""`kpi-etl export`: one published table's rows whose partition column (dt / month) is within
--from..--to, the partition column included, as CSV or XLSX for spreadsheet users:

    kpi-etl export --warehouse WH --table T --from YYYY-MM-DD --to YYYY-MM-DD --format csv|xlsx --out FILE

A table without partitions is exported whole (the range is ignored). The expected rows come from
DuckDB over the Parquet, not from the binary."""

import csv
import datetime as dt
from decimal import Decimal

import pytest

from support import MARTS, kpi_etl

FROM, TO = "2026-10-24", "2026-10-25"
KEY = ("dt", "channel", "agent_id")  # the grain of kpi_sales_daily
_, SALES_COLUMNS = MARTS["kpi_sales_daily"]


@pytest.fixture(scope="module")
def has_export():
    done = kpi_etl("export", "--help", check=False)
    if done.returncode != 0:
        pytest.fail(
            "this kpi-etl has no `export` command yet (`kpi-etl export --help` exited "
            f"{done.returncode}: {done.stderr.strip().splitlines()[0] if done.stderr.strip() else ''})",
            pytrace=False,
        )


def export(warehouse, out, table, start, end, fmt, check=True):
    return kpi_etl(
        "export", "--warehouse", warehouse.root, "--table", table, "--from", start, "--to", end,
        "--format", fmt, "--out", out, check=check,
    )


def expected_rows(warehouse, duck, table="kpi_sales_daily", start=FROM, end=TO):
    t = warehouse.tables[table]
    where = f"WHERE {t.partition} BETWEEN DATE '{start}' AND DATE '{end}'" if t.partition else ""
    cur = duck.execute(f"SELECT * FROM read_parquet('{t.glob}', hive_partitioning = true) {where}")
    names = [d[0] for d in cur.description]
    return names, [dict(zip(names, r)) for r in cur.fetchall()]


def by_key(rows):
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in KEY))


@pytest.fixture(scope="module")
def sales_csv(has_export, warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "sales.csv"
    export(warehouse, out, "kpi_sales_daily", FROM, TO, "csv")
    with out.open(newline="", encoding="utf-8-sig") as f:  # a BOM for Excel is welcome
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, r)) for r in reader if r]
    return header, rows


@pytest.fixture(scope="module")
def sales_xlsx(has_export, warehouse, tmp_path_factory):
    import openpyxl

    out = tmp_path_factory.mktemp("export") / "sales.xlsx"
    export(warehouse, out, "kpi_sales_daily", FROM, TO, "xlsx")
    book = openpyxl.load_workbook(out)
    sheet = book.worksheets[0]
    values = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    header, rows = list(values[0]), values[1:]
    return header, [dict(zip(header, r)) for r in rows]


def test_the_test_warehouse_has_sales_rows_on_both_days(warehouse, duck):
    _, rows = expected_rows(warehouse, duck)
    assert {r["dt"] for r in rows} == {dt.date(2026, 10, 24), dt.date(2026, 10, 25)}, (
        "the generated data no longer has kpi_sales_daily rows on both exported days"
    )


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_header_names_every_column_with_the_partition_column(sales_csv, warehouse, duck):
    header, _ = sales_csv
    names, _ = expected_rows(warehouse, duck)
    assert len(header) == len(set(header)), f"duplicate columns {header}"
    assert set(header) == set(names) == set(SALES_COLUMNS) | {"dt"}


def test_csv_holds_exactly_the_rows_of_the_range(sales_csv, warehouse, duck):
    _, got = sales_csv
    _, want = expected_rows(warehouse, duck)
    assert len(got) == len(want)
    assert {r["dt"] for r in got} == {FROM, TO}, "dates as YYYY-MM-DD, only the requested days"
    for g, w in zip(by_key(got), by_key(want)):
        assert (g["dt"], g["channel"], g["agent_id"]) == (str(w["dt"]), w["channel"], w["agent_id"])
        for c in ("leads_created", "opportunities_won", "orders"):
            assert int(g[c]) == w[c], (c, g, w)
        for c in ("won_amount", "order_amount"):
            assert Decimal(g[c]) == w[c], (c, g, w)
        if w["win_rate"] is None:
            assert g["win_rate"] == "", f"NULL as an empty field, got {g['win_rate']!r}"
        else:
            assert float(g["win_rate"]) == pytest.approx(w["win_rate"])


def test_csv_of_a_table_without_partitions_ignores_the_range(has_export, warehouse, duck, tmp_path):
    out = tmp_path / "dim_channel.csv"
    export(warehouse, out, "dim_channel", FROM, TO, "csv")
    with out.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    _, want = expected_rows(warehouse, duck, "dim_channel")
    assert len(rows) == len(want) > 0
    assert sorted(r["channel"] for r in rows) == sorted(w["channel"] for w in want)


def test_csv_of_a_monthly_table_has_its_month_column(has_export, warehouse, duck, tmp_path):
    out = tmp_path / "targets.csv"
    export(warehouse, out, "fact_sales_target", "2026-10-01", "2026-10-31", "csv")
    with out.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    _, want = expected_rows(warehouse, duck, "fact_sales_target", "2026-10-01", "2026-10-31")
    assert len(rows) == len(want) > 0
    assert {r["month"] for r in rows} == {"2026-10-01"}


# --- XLSX -----------------------------------------------------------------------------------------


def test_xlsx_header_row_names_every_column(sales_xlsx, warehouse, duck):
    header, _ = sales_xlsx
    names, _ = expected_rows(warehouse, duck)
    assert all(isinstance(h, str) for h in header), header
    assert len(header) == len(set(header)) and set(header) == set(names)


def test_xlsx_holds_exactly_the_rows_of_the_range_as_typed_cells(sales_xlsx, warehouse, duck):
    """Numbers are numbers (not text), dates are dates, NULL is an empty cell."""
    _, got = sales_xlsx
    _, want = expected_rows(warehouse, duck)
    assert len(got) == len(want)

    def day(v):
        assert isinstance(v, (dt.datetime, dt.date)), f"dt should be a date cell, got {v!r}"
        return v.date() if isinstance(v, dt.datetime) else v

    got = sorted(got, key=lambda r: (day(r["dt"]), r["channel"], r["agent_id"]))
    want = sorted(want, key=lambda r: (r["dt"], r["channel"], r["agent_id"]))
    for g, w in zip(got, want):
        assert (day(g["dt"]), g["channel"], g["agent_id"]) == (w["dt"], w["channel"], w["agent_id"])
        for c, kind in SALES_COLUMNS.items():
            v = g[c]
            if w[c] is None:
                assert v is None, f"{c}: NULL should be an empty cell, got {v!r}"
            elif kind == "text":
                assert v == w[c], (c, v, w[c])
            else:
                assert isinstance(v, (int, float)) and not isinstance(v, bool), f"{c}: {v!r} is not a number"
                if kind == "int":
                    assert v == w[c], (c, v, w[c])
                elif kind == "money":
                    assert Decimal(str(v)).quantize(Decimal("0.01")) == w[c], (c, v, w[c])
                else:
                    assert v == pytest.approx(w[c]), (c, v, w[c])


# --- Errors ---------------------------------------------------------------------------------------


def test_an_unknown_table_is_an_error_naming_it(has_export, warehouse, tmp_path):
    done = export(warehouse, tmp_path / "x.csv", "no_such_table", FROM, TO, "csv", check=False)
    assert done.returncode != 0
    assert "no_such_table" in done.stderr + done.stdout, done.stderr
