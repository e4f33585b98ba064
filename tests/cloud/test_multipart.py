"""Large objects are written as multipart uploads (object_store's BufWriter switches to multipart
beyond its capacity: 10 MB in the generator's sink) and read back intact.

One landing day with enough calls that Master.csv exceeds 10 MB is generated straight to S3 and
to Azure. On S3 the ETag of a multipart object is `"<md5 of the part md5s>-<parts>"` (moto
computes it like S3); on Azure a multipart upload is a list of committed blocks. Every object
must be byte-identical to the same generation on local disk (the generator is deterministic).
"""

import hashlib
import re

from conftest import azure_env, base_env, download_azure, download_s3, fresh, kpi_etl, make_bucket, make_container, note, s3_env, tree_bytes

DAY = "2026-10-19"
BIG_CALLS = 24000  # about 18 MB of Master.csv and 13 MB of WhatsApp webhooks
CAPACITY = 10 * 1024 * 1024
MASTER = f"pbx/cdr/dt={DAY}/Master.csv"


def generate_local(tmp_root):
    out = fresh(tmp_root, "big-local")
    kpi_etl("generate", "--out", out, "--from", DAY, "--to", DAY, "--calls-per-day", BIG_CALLS, "--seed", 3, env=base_env())
    files = tree_bytes(out)
    assert len(files[MASTER]) > CAPACITY, f"{MASTER} is only {len(files[MASTER])} bytes: raise BIG_CALLS above the 10 MB capacity"
    return files


def test_big_objects_go_to_s3_as_multipart_uploads(servers, s3, tmp_root):
    expected = generate_local(tmp_root)
    bucket = make_bucket(s3, "kpi-raw")
    kpi_etl("generate", "--out", f"s3://{bucket}/big", "--from", DAY, "--to", DAY, "--calls-per-day", BIG_CALLS, "--seed", 3, env=s3_env(servers.s3_endpoint))

    parts = {}
    for rel, body in expected.items():
        head = s3.head_object(Bucket=bucket, Key=f"big/{rel}")
        assert head["ContentLength"] == len(body), rel
        m = re.fullmatch(r'"([0-9a-f]{32})(?:-(\d+))?"', head["ETag"])
        assert m, f"{rel}: unexpected ETag {head['ETag']}"
        parts[rel] = int(m.group(2) or 0)
        if len(body) <= CAPACITY:
            assert parts[rel] == 0 and m.group(1) == hashlib.md5(body).hexdigest(), f"{rel} ({len(body)} bytes) should be a single PUT, ETag {head['ETag']}"
        else:
            want = -(-len(body) // CAPACITY)
            assert parts[rel] == want, f"{rel} ({len(body)} bytes) should be a multipart upload of {want} parts, ETag {head['ETag']}"
    note(f"S3 multipart: {', '.join(f'{k} {len(expected[k])} B in {n} parts' for k, n in parts.items() if n)}")

    got = tree_bytes(download_s3(s3, bucket, "big", fresh(tmp_root, "big-s3")))
    assert sorted(got) == sorted(expected)
    assert [k for k in expected if got[k] != expected[k]] == [], "objects read back from S3 differ from the local generation"


def test_big_objects_go_to_azure_as_block_lists(servers, blob_service, tmp_root):
    expected = generate_local(tmp_root)
    container = make_container(blob_service, "kpi-raw")
    kpi_etl("generate", "--out", f"az://{container}/big", "--from", DAY, "--to", DAY, "--calls-per-day", BIG_CALLS, "--seed", 3, env=azure_env(servers.azurite_url))

    cc = blob_service.get_container_client(container)
    blocks = {}
    for rel, body in expected.items():
        committed, _ = cc.get_blob_client(f"big/{rel}").get_block_list("committed")
        blocks[rel] = len(committed)
        if len(body) > CAPACITY:
            assert len(committed) >= 2, f"{rel} ({len(body)} bytes) was not uploaded in blocks: {len(committed)} committed blocks"
            assert sum(b.size for b in committed) == len(body)
    note(f"Azure block lists: {', '.join(f'{k} {len(expected[k])} B in {n} blocks' for k, n in blocks.items() if n)}")

    got = tree_bytes(download_azure(blob_service, container, "big", fresh(tmp_root, "big-az")))
    assert sorted(got) == sorted(expected)
    assert [k for k in expected if got[k] != expected[k]] == [], "objects read back from Azure differ from the local generation"
