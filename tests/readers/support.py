"""Helpers of the readers check: running the binary, finding the published tables, and the
types the warehouse contract (../shared/spec/warehouse.md, "Layout and types") allows."""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("KPI_ETL_BIN", "")
FIRST, LAST = "2026-10-24", "2026-10-26"
PARTITION_DIR = re.compile(r"^(dt|month)=(\d{4}-\d{2}-\d{2})$")


def kpi_etl(*args, check=True, env=None):
    """Runs the binary from the repo root and returns the CompletedProcess."""
    full_env = dict(os.environ, KPI_ETL_PIPELINE=str(ROOT / "pipelines" / "nightly.toml"))
    for inherited in ("KPI_ETL_WAREHOUSE", "KPI_ETL_RAW", "KPI_ETL_LOG_FORMAT"):
        full_env.pop(inherited, None)
    full_env.update(env or {})
    done = subprocess.run(
        [BINARY, *map(str, args)], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600
    )
    if check:
        assert done.returncode == 0, (
            f"kpi-etl {' '.join(map(str, args))} exited {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done


def parse_query_table(stdout: str) -> list[dict]:
    """The rows of `kpi-etl query`'s output, an ASCII table:

        +----+
        | n  |
        +----+
        | 31 |
        +----+
    """
    lines = [l for l in stdout.splitlines() if l.startswith("|")]
    assert lines, f"no table in the query output:\n{stdout}"
    cells = [[c.strip() for c in l.strip().strip("|").split("|")] for l in lines]
    header, rows = cells[0], cells[1:]
    return [dict(zip(header, r)) for r in rows]


@dataclass(frozen=True)
class Table:
    name: str
    path: Path
    partition: str | None  # "dt", "month", or None for a whole table

    @property
    def glob(self) -> str:
        return f"{self.path}/**/*.parquet"

    def files(self) -> list[Path]:
        return sorted(self.path.rglob("*.parquet"))


def discover(root: Path) -> dict[str, Table]:
    """The published tables: folders of the warehouse root not starting with `_` that hold at
    least one Parquet file (what BigQuery external tables are created for)."""
    tables = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files = sorted(d.rglob("*.parquet"))
        if not files:
            continue
        keys = {m.group(1) for f in files if (m := PARTITION_DIR.match(f.parent.name))}
        assert len(keys) <= 1, f"{d.name}: several partition keys {keys}"
        tables[d.name] = Table(d.name, d, keys.pop() if keys else None)
    return tables


# --- What warehouse.md allows -----------------------------------------------------------------
# "timestamps as Parquet TIMESTAMP(MICROS, UTC-adjusted) (never nanoseconds, never INT96); dates
# as DATE (Date32); money as DECIMAL(18,2); counts as INT64 (no unsigned); ratios as DOUBLE;
# text as UTF-8 strings; booleans as BOOLEAN", plus lists of those.

# Kinds of column, and how each reader must type them.
TEXT, INT, RATIO, BOOL, DATE, TIMESTAMP, MONEY = "text", "int", "ratio", "bool", "date", "timestamp", "money"

DUCKDB_TYPE = {
    TEXT: "VARCHAR",
    INT: "BIGINT",
    RATIO: "DOUBLE",
    BOOL: "BOOLEAN",
    DATE: "DATE",
    TIMESTAMP: "TIMESTAMP WITH TIME ZONE",  # UTC-adjusted instants
    MONEY: "DECIMAL(18,2)",
}
ARROW_TYPE = {
    TEXT: "string",
    INT: "int64",
    RATIO: "double",
    BOOL: "bool",
    DATE: "date32[day]",
    TIMESTAMP: "timestamp[us, tz=UTC]",
    MONEY: "decimal128(18, 2)",
}

# Column kinds implied by names the contract uses across tables: surrogate keys and date_key are
# integers, `*_at` and SCD2 validity bounds are instants, `*_date` / `date` / `month_start` are
# dates, `amount` columns are money, `is_*` flags are booleans. First match wins.
NAME_RULES = [
    (re.compile(r"(^|_)key$"), INT),
    (re.compile(r"_at$|^valid_(from|to)$"), TIMESTAMP),
    (re.compile(r"(^|_)date$|^month_start$"), DATE),
    (re.compile(r"(^|_)amount(_|$)"), MONEY),
    (re.compile(r"^is_"), BOOL),
]

# The KPI marts' columns, exactly (a public interface), with their kinds as warehouse.md defines
# them: counts INT64, sums of Amount money, ratios DOUBLE, target_met a boolean.
MARTS = {
    "kpi_sales_daily": ("dt", {
        "channel": TEXT, "agent_id": TEXT,
        "leads_created": INT, "leads_converted": INT, "opportunities_created": INT,
        "opportunities_won": INT, "won_amount": MONEY, "opportunities_lost": INT, "win_rate": RATIO,
        "orders": INT, "order_amount": MONEY, "average_order_value": RATIO,
    }),
    "kpi_agent_touch_daily": ("dt", {
        "agent_id": TEXT,
        "opportunities_won_touched": INT, "won_amount_touched": MONEY, "won_amount_credited": MONEY,
        "orders_touched": INT, "order_amount_touched": MONEY, "order_amount_credited": MONEY,
    }),
    "kpi_target_attainment": ("dt", {
        "agent_id": TEXT,
        "quota_amount": MONEY, "won_amount_mtd": MONEY, "attainment": RATIO, "target_met": BOOL,
    }),
    "kpi_customers_monthly": ("month", {
        "channel": TEXT, "agent_id": TEXT,
        "active_customers": INT, "orders": INT, "order_amount": MONEY,
        "orders_per_customer": RATIO, "value_per_customer": RATIO,
        "prior_customers": INT, "retained_customers": INT, "retention_rate": RATIO,
    }),
    "kpi_contact_center_daily": ("dt", {
        "channel": TEXT, "queue": TEXT,
        "offered": INT, "answered": INT, "abandoned": INT, "unanswered_other": INT,
        "answered_within_sl": INT, "service_level": RATIO,
        "wait_answered_s": INT, "avg_wait_answered_s": RATIO, "talk_s": INT, "avg_talk_s": RATIO,
    }),
}

# The manifest's type names (Arrow's Display) for each kind.
MANIFEST_TYPE = {
    TEXT: "Utf8",
    INT: "Int64",
    RATIO: "Float64",
    BOOL: "Boolean",
    DATE: "Date32",
    TIMESTAMP: 'Timestamp(µs, "UTC")',
    MONEY: "Decimal128(18, 2)",
}


def kind_by_name(column: str) -> str | None:
    for pattern, kind in NAME_RULES:
        if pattern.search(column):
            return kind
    return None
