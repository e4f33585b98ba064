"""Nightly kpi-etl run (Airflow 3): yesterday's raw dumps into the KPI warehouse, then BigQuery.

Every night at 02:30 Europe/Madrid, `kpi-etl run --date <previous local day>` reads that landing
date's raw partitions and publishes the warehouse; the run's JSON summary goes to XCom, the five
KPI mart Assets are emitted, and the BigQuery external tables are created or their metadata cache
refreshed. docs/airflow.md explains deployment, settings, backfills and the Kubernetes variant.

Tasks:  run >> summary >> bigquery_enabled >> bigquery_sql >> bigquery_refresh

Settings (never code edits):
- Airflow Variables, all optional: kpi_etl_binary (default "kpi-etl" on the worker's PATH),
  kpi_etl_raw and kpi_etl_warehouse (when unset, the binary reads the worker's KPI_ETL_RAW and
  KPI_ETL_WAREHOUSE), kpi_etl_pipeline (default: the pipeline embedded in the binary);
  for BigQuery kpi_etl_bq_enabled (default true), kpi_etl_bq_project, kpi_etl_bq_dataset,
  kpi_etl_bq_connection (a BigLake connection PROJECT.REGION.CONNECTION_ID),
  kpi_etl_bq_uri_prefix (the gs:// URL BigQuery reads the warehouse at, when kpi_etl_warehouse
  is another URL) and kpi_etl_gcp_conn_id (default "google_cloud_default").
- Params of a run: landing_date (override), test_mode (skip every Google task), bq_mode,
  bq_location.
- The worker's environment: KPI_ETL_PII_KEY (required by the binary, never an Airflow Variable),
  and the storage credentials of the raw and warehouse URLs (GOOGLE_APPLICATION_CREDENTIALS...).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shlex
import subprocess
import tempfile

import pendulum
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset, CronTriggerTimetable, Param, get_current_context, task

log = logging.getLogger(__name__)

#: The business timezone: the schedule, the landing date and the binary's local dates.
LOCAL_TZ = "Europe/Madrid"

#: Exit code of `kpi-etl run` when no input at all landed for the date: the run is skipped.
EXIT_NO_INPUT = 4

#: The KPI mart tables of ../shared/spec/warehouse.md, one Asset each, emitted by `summary`.
MART_TABLES = (
    "kpi_sales_daily",
    "kpi_agent_touch_daily",
    "kpi_target_attainment",
    "kpi_customers_monthly",
    "kpi_contact_center_daily",
)
MART_ASSETS = {
    table: Asset(name=f"kpi_etl.{table}", uri=f"x-kpi-etl://warehouse/{table}", group="kpi-etl")
    for table in MART_TABLES
}


def kpi_landing_date(dag_run, params) -> str:
    """The landing date a run processes: the day before the run's logical date, in Europe/Madrid.

    The schedule is a CronTriggerTimetable: under Airflow 3 a run's logical date is the moment it
    was triggered (02:30 local on day D) and it has no data interval, so the night of D processes
    D-1. The local date is taken in Europe/Madrid, not UTC: 02:30 local is 00:30 or 01:30 UTC, and
    any other time (a manual run at 00:30 local = 22:30 UTC the day before) would give the wrong
    day in UTC. A run without a logical date (a manual trigger through the API may have none)
    uses its run_after. The `landing_date` Param, when set, wins.
    """
    override = params.get("landing_date") if params else None
    if override:
        return dt.date.fromisoformat(str(override)).isoformat()
    when = dag_run.logical_date or dag_run.run_after
    local_day = pendulum.instance(when).in_timezone(LOCAL_TZ).date()
    return (local_day - dt.timedelta(days=1)).isoformat()


# The command of the `run` task. Variables are read by the templates at run time (no top-level
# Variable.get), quoted for the shell by the `sh` filter. stdout goes to a file in the task's own
# temporary working directory and its last line, the JSON summary, is printed last: BashOperator
# merges stderr (the binary's JSON logs, streamed live to the task log) into the output it reads,
# and pushes the last line to XCom, so the summary must come after every log line. The exit status
# is the binary's: 4 (no input) is mapped to a skip, others to a failure.
RUN_COMMAND = (
    "{{ var.value.get('kpi_etl_binary', 'kpi-etl') | sh }} run"
    " --date {{ kpi_landing_date(dag_run, params) }}"
    "{% if var.value.get('kpi_etl_raw', '') %}"
    " --raw {{ var.value.get('kpi_etl_raw') | sh }}{% endif %}"
    "{% if var.value.get('kpi_etl_warehouse', '') %}"
    " --warehouse {{ var.value.get('kpi_etl_warehouse') | sh }}{% endif %}"
    "{% if var.value.get('kpi_etl_pipeline', '') %}"
    " --pipeline {{ var.value.get('kpi_etl_pipeline') | sh }}{% endif %}"
    f" --timezone {LOCAL_TZ} --log-format json --summary json > summary.json;"
    " status=$?; tail -n 1 summary.json; exit $status"
)


class BigQueryInsertJobTemplatedLocation(BigQueryInsertJobOperator):
    """BigQueryInsertJobOperator whose `location` is templated too (it comes from a Param)."""

    template_fields = (*BigQueryInsertJobOperator.template_fields, "location")

    def execute(self, context):
        self.location = self.location or None  # an empty Param: BigQuery's default location
        return super().execute(context)


with DAG(
    dag_id="kpi_etl_nightly",
    description="kpi-etl: the previous local day's raw dumps into the KPI warehouse, then BigQuery",
    doc_md=__doc__,
    # Airflow 3: a cron string given to `schedule=` would also mean a CronTriggerTimetable; it is
    # spelled out for the timezone and for the reader. The run of day D fires at 02:30 Madrid
    # time with logical_date = that instant (no data interval) and processes the local day D-1
    # (see kpi_landing_date). Across DST it fires once per local day: 2026-03-29 at 03:30 CEST
    # (02:30 does not exist that night), 2026-10-25 at 02:30 CET (the second 02:30).
    schedule=CronTriggerTimetable("30 2 * * *", timezone=LOCAL_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=LOCAL_TZ),
    # A missed night is not run automatically on the next start (that would start a long
    # catch-up after a first deployment): it is backfilled, see docs/airflow.md.
    catchup=False,
    # One night at a time, in logical-date order. Backfills have their own --max-active-runs:
    # the `run` task's depends_on_past and max_active_tis_per_dag keep them in order too.
    max_active_runs=1,
    params={
        "landing_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Landing date override",
            description="YYYY-MM-DD to process instead of the day before the run's logical date.",
        ),
        "test_mode": Param(
            False,
            type="boolean",
            title="Test mode",
            description="Skip every task that talks to Google Cloud (BigQuery).",
        ),
        "bq_mode": Param(
            "auto",
            type="string",
            enum=["auto", "create", "refresh", "create_and_refresh"],
            title="BigQuery statements",
            description=(
                "create: CREATE OR REPLACE EXTERNAL TABLE for every published table; "
                "refresh: refresh the BigLake metadata cache of every table; "
                "auto: refresh when kpi_etl_bq_connection is set (BigLake), else create."
            ),
        ),
        "bq_location": Param(
            None,
            type=["null", "string"],
            title="BigQuery location",
            description="Location of the BigQuery jobs (the dataset's, e.g. EU); null: BigQuery's choice.",
        ),
    },
    default_args={
        "owner": "kpi-etl",
        "retries": 3,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(hours=1),
    },
    user_defined_macros={"kpi_landing_date": kpi_landing_date},
    user_defined_filters={"sh": shlex.quote},
    tags=["kpi-etl"],
) as dag:
    run = BashOperator(
        task_id="run",
        doc_md="`kpi-etl run` for the landing date; exit code 4 (no input) skips the run.",
        bash_command=RUN_COMMAND,
        # Inherit the worker's environment: KPI_ETL_PII_KEY, storage credentials, KPI_ETL_*.
        # (env=None passes os.environ; if env is ever set here, keep append_env=True.)
        env=None,
        append_env=True,
        skip_on_exit_code=EXIT_NO_INPUT,
        do_xcom_push=True,
        # Incremental warehouse: a night must not start before the previous night has finished
        # (success or skipped), also in backfills, and never two at once across runs.
        depends_on_past=True,
        max_active_tis_per_dag=1,
        execution_timeout=dt.timedelta(hours=4),
    )

    @task(outlets=list(MART_ASSETS.values()), retries=0)
    def summary(line: str | dict, landing_date: str) -> dict:
        """Parse the run's JSON summary (its last stdout line), check it, emit the mart Assets.

        BashOperator's XCom is the line (a str); KubernetesPodOperator's (docs/airflow.md) is
        /airflow/xcom/return.json already parsed (a dict).
        """
        try:
            result = line if isinstance(line, dict) else json.loads(line)
        except (TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"the last line of `kpi-etl run` is not its JSON summary: {line!r}") from e
        if not isinstance(result, dict):
            raise ValueError(f"the last line of `kpi-etl run` is not its JSON summary: {line!r}")
        if result.get("landing_date") != landing_date:
            raise ValueError(f"summary of {result.get('landing_date')!r}, expected {landing_date!r}")
        for source in result.get("sources", []):
            log.info("source %s", source)
        for table in result.get("published", []):
            log.info("published %s", table)
        if result.get("warnings"):
            log.warning("warnings: %s", result["warnings"])
        published = {p.get("table"): p for p in result.get("published", []) if isinstance(p, dict)}
        outlet_events = get_current_context()["outlet_events"]
        for table, asset in MART_ASSETS.items():
            extra = {"landing_date": landing_date, "run_id": result.get("run_id")}
            if table in published:
                extra["published"] = published[table]
            outlet_events[asset].extra = extra
        return result

    @task.short_circuit
    def bigquery_enabled(enabled: str) -> bool:
        """Skip the BigQuery tasks in test mode, or where the Variable kpi_etl_bq_enabled is false
        (a deployment without BigQuery): nothing talks to Google then."""
        if get_current_context()["params"]["test_mode"]:
            log.info("test_mode: the BigQuery tasks are skipped")
            return False
        if enabled.strip().lower() in ("false", "no", "off", "0"):
            log.info("kpi_etl_bq_enabled=%s: the BigQuery tasks are skipped", enabled)
            return False
        return True

    @task(retries=0)
    def bigquery_sql(
        binary: str,
        project: str,
        dataset: str,
        warehouse: str,
        uri_prefix: str,
        connection: str,
        pipeline: str,
        mode: str,
    ) -> str:
        """The BigQuery script: what `kpi-etl bigquery-ddl` prints (it reads the warehouse's
        Parquet footers for the schemas; no call to BigQuery here)."""
        if not project or not dataset:
            raise ValueError("set the Variables kpi_etl_bq_project and kpi_etl_bq_dataset")
        if mode == "auto":
            mode = "refresh" if connection else "create"
        if "refresh" in mode and not connection:
            raise ValueError(f"bq_mode={mode} needs a BigLake connection (kpi_etl_bq_connection)")
        command = [binary, "bigquery-ddl", "--project", project, "--dataset", dataset, "--log-format", "json"]
        if warehouse:  # else the worker's KPI_ETL_WAREHOUSE
            command += ["--warehouse", warehouse]
        if uri_prefix:  # where BigQuery reads the warehouse, when not the same URL
            command += ["--uri-prefix", uri_prefix]
        if connection:
            command += ["--connection", connection]
        if pipeline:  # else the pipeline embedded in the binary (table descriptions)
            command += ["--pipeline", pipeline]
        passes = {"create": [[]], "refresh": [["--refresh"]], "create_and_refresh": [[], ["--refresh"]]}
        script = []
        for extra in passes[mode]:
            log.info("running %s", shlex.join(command + extra))
            with tempfile.TemporaryDirectory() as cwd:  # as BashOperator: no stray pipelines/
                out = subprocess.run(command + extra, capture_output=True, text=True, check=False, cwd=cwd)
            if out.stderr:
                log.info("%s", out.stderr.rstrip())
            if out.returncode != 0:
                raise RuntimeError(f"{shlex.join(command + extra)} exited with {out.returncode}")
            # Statements end with ';' (a description may hold one too): BigQuery runs the whole
            # text as one multi-statement script, so it is never split here.
            script.append(out.stdout.strip())
        if not all(script):
            raise RuntimeError("kpi-etl bigquery-ddl printed no statement")
        return "\n\n".join(script) + "\n"

    gate = bigquery_enabled("{{ var.value.get('kpi_etl_bq_enabled', 'true') }}")
    sql = bigquery_sql(
        binary="{{ var.value.get('kpi_etl_binary', 'kpi-etl') }}",
        project="{{ var.value.get('kpi_etl_bq_project', '') }}",
        dataset="{{ var.value.get('kpi_etl_bq_dataset', '') }}",
        warehouse="{{ var.value.get('kpi_etl_warehouse', '') }}",
        uri_prefix="{{ var.value.get('kpi_etl_bq_uri_prefix', '') }}",
        connection="{{ var.value.get('kpi_etl_bq_connection', '') }}",
        pipeline="{{ var.value.get('kpi_etl_pipeline', '') }}",
        mode="{{ params.bq_mode }}",
    )
    refresh = BigQueryInsertJobTemplatedLocation(
        task_id="bigquery_refresh",
        doc_md="Runs the statements of `bigquery_sql` as one BigQuery script.",
        configuration={"query": {"query": sql, "useLegacySql": False}},
        project_id="{{ var.value.get('kpi_etl_bq_project', '') }}",
        location="{{ params.bq_location or '' }}",
        gcp_conn_id="{{ var.value.get('kpi_etl_gcp_conn_id', 'google_cloud_default') }}",
    )

    facts = summary(run.output, "{{ kpi_landing_date(dag_run, params) }}")
    facts >> gate >> sql >> refresh
