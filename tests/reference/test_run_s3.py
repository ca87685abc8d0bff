"""Runs against S3 and Glue (a real moto server on 127.0.0.1): idempotent daily partitions."""

from __future__ import annotations

import pytest

from tests.aws_server import FAKE_CREDENTIALS
from tests.reference.conftest import (
    NEXT_DATE,
    RUN_DATE,
    cli,
    interrupted_run,
    relocated,
    s3_snapshot,
    snapshot,
)

pytestmark = pytest.mark.slow

BUCKET = "reference-output"
PREFIX = "team/forecast"
BASE = f"s3://{BUCKET}/{PREFIX}"
DATABASE, TABLE = "mlops_guard_reference", "daily_demand_forecast"


@pytest.fixture(scope="module")
def aws(_moto_server_process):
    """One moto server state for the whole sequence of runs of this module."""
    _moto_server_process.reset()
    env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": _moto_server_process.endpoint_url}
    s3 = _moto_server_process.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return env, s3, _moto_server_process.client("glue")


def partitions(glue) -> dict[str, str]:
    found = glue.get_partitions(DatabaseName=DATABASE, TableName=TABLE)["Partitions"]
    return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in found}


def run(env, date: str) -> None:
    result = cli("run", "--date", date, "--output", BASE, "--quiet", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def first_run(aws):
    """An interrupted run (killed while publishing PreProc), then a complete re-run."""
    env, s3, _ = aws
    interrupted_run("--date", RUN_DATE, "--output", BASE, hold_step="PreProc", env=env)
    partial = s3_snapshot(s3, BUCKET, PREFIX + "/")
    assert "preproc/train/dt=2026-11-22/train.csv" in partial
    assert "preproc/holdout/dt=2026-11-22/holdout.csv" not in partial
    run(env, RUN_DATE)
    return s3_snapshot(s3, BUCKET, PREFIX + "/")


def test_interrupted_then_rerun_equals_a_clean_local_run(first_run, clean_local_run):
    local = relocated(snapshot(clean_local_run), str(clean_local_run), BASE)
    assert first_run == local


def test_partition_registered_in_glue(aws, first_run):
    _, _, glue = aws
    assert partitions(glue) == {RUN_DATE: f"{BASE}/postproc/predictions/dt={RUN_DATE}/"}
    table = glue.get_table(DatabaseName=DATABASE, Name=TABLE)["Table"]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == f"{BASE}/postproc/predictions/"


def test_same_date_twice_is_byte_identical(aws, first_run):
    env, s3, glue = aws
    run(env, RUN_DATE)
    assert s3_snapshot(s3, BUCKET, PREFIX + "/") == first_run
    assert list(partitions(glue)) == [RUN_DATE]


def test_next_date_adds_one_partition_and_leaves_the_first(aws, first_run):
    env, s3, glue = aws
    run(env, NEXT_DATE)
    after = s3_snapshot(s3, BUCKET, PREFIX + "/")
    assert {k: v for k, v in after.items() if f"dt={RUN_DATE}" in k} == first_run
    new = set(after) - set(first_run)
    assert new and all(f"/dt={NEXT_DATE}/" in key for key in new)
    assert partitions(glue) == {
        RUN_DATE: f"{BASE}/postproc/predictions/dt={RUN_DATE}/",
        NEXT_DATE: f"{BASE}/postproc/predictions/dt={NEXT_DATE}/",
    }


def test_missing_bucket_is_bad_input(aws):
    env, _, _ = aws
    result = cli("run", "--date", RUN_DATE, "--output", "s3://no-such-bucket/x", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: output s3://no-such-bucket/x is not writable"
    )
