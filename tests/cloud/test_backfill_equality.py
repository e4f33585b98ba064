"""A week's backfill on S3 and on Azure Blob Storage publishes exactly what the same backfill
publishes on the local filesystem: the same objects, the same rows in every table, the same run
artifacts and markers, and nothing left under `_staging/`.

S3: the landing zone is generated locally and uploaded with boto3 (the binary only reads).
Azure: the binary generates the landing zone straight into the container (its writes are
checked byte for byte against the local generation), then reads it back.
"""

from conftest import (
    FIRST,
    LAST,
    CALLS,
    SEED,
    assert_no_problems,
    azure_env,
    download_azure,
    download_s3,
    fresh,
    kpi_etl,
    make_container,
    record_time,
    s3_env,
    secrets_in_tree,
    tree_bytes,
)
import warehouse


def test_s3_backfill_equals_the_local_one(servers, s3, s3_landing, warehouse_bucket, local_landing, local_backfill, tmp_root):
    wh_url = f"s3://{warehouse_bucket}/equality"
    r = kpi_etl("backfill", "--from", FIRST, "--to", LAST, "--raw", s3_landing, "--warehouse", wh_url, env=s3_env(servers.s3_endpoint))
    record_time(f"4-day backfill, S3 (moto) ({CALLS} calls/day)", r.elapsed)

    got = download_s3(s3, warehouse_bucket, "equality", fresh(tmp_root, "s3-equality"))
    problems = warehouse.compare(local_backfill, str(local_landing), str(local_backfill), got, s3_landing, wh_url, labels=("local", "s3"))
    assert_no_problems(problems, "the S3 warehouse differs from the local one")
    assert not secrets_in_tree(got), f"a secret was written to the warehouse: {secrets_in_tree(got)}"


def test_azure_backfill_equals_the_local_one(servers, blob_service, local_landing, local_backfill, tmp_root):
    raw_container = make_container(blob_service, "kpi-raw")
    wh_container = make_container(blob_service, "kpi-warehouse")
    env = azure_env(servers.azurite_url)

    raw_url = f"az://{raw_container}/landing"
    kpi_etl("generate", "--out", raw_url, "--from", FIRST, "--to", LAST, "--calls-per-day", CALLS, "--seed", SEED, env=env)
    written = tree_bytes(download_azure(blob_service, raw_container, "landing", fresh(tmp_root, "az-landing")))
    expected = tree_bytes(local_landing)
    assert sorted(written) == sorted(expected), "the generator wrote other objects to Azure than to disk"
    differ = [k for k in expected if written[k] != expected[k]]
    assert not differ, f"objects the generator wrote to Azure differ from the local files: {differ}"

    wh_url = f"az://{wh_container}/equality"
    r = kpi_etl("backfill", "--from", FIRST, "--to", LAST, "--raw", raw_url, "--warehouse", wh_url, env=env)
    record_time(f"4-day backfill, Azure (Azurite) ({CALLS} calls/day)", r.elapsed)

    got = download_azure(blob_service, wh_container, "equality", fresh(tmp_root, "az-equality"))
    problems = warehouse.compare(local_backfill, str(local_landing), str(local_backfill), got, raw_url, wh_url, labels=("local", "azure"))
    assert_no_problems(problems, "the Azure warehouse differs from the local one")
    assert not secrets_in_tree(got), f"a secret was written to the warehouse: {secrets_in_tree(got)}"
