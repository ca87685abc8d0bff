"""Benchmark: auditing what pipelines produced, on a moto server (not a test).

Populates a moto account with N deployed pipelines (default 100), each with D daily
executions (default 30) and the ``dt=`` partition each wrote in S3, a Glue table per
pipeline with a partition per day, and model package groups holding P versions (default
500: 80 % approved with an evaluation report in S3, the rest pending or rejected). Then:

* wall time of ``mlops-guard audit sagemaker`` (reading, every rule, the JSON report)
  against a bare, sequential boto3 loop reading the same data (the pipelines, their
  executions' parameters, the output listings and partition checks, the Glue partitions,
  the approved packages and their reports): target <= 2x;
* the API calls the audit makes, per operation, against a bound computed from the
  account's size (what the source reads is bounded by the data, never by a bucket);
* peak memory of the audit command run in a child process (VmHWM): target < 300 MB.

    python benchmarks/bench_produced.py [--pipelines 100] [--days 30] [--packages 500]

Results (2 cores shared with other work; moto 5.2.5; 100 pipelines x 30 days, 500
packages): bare loop 97.3 s (7,212 calls, sequential), audit 51.3 s (7,419 calls, 8
concurrent; the extra calls are the operations rules' tags and triggers): 0.53x; peak RSS
97.9 MB; every bounded operation at or under its bound (ListObjectsV2 2,100 = 100
prefixes + 2,000 partition checks). The 100 RF001 findings are the bench definition's
(it sets no experiment config), not the produced-output rules'.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_audit  # puts the project root on sys.path (through bench_audit_fetch)

from tests.aws_server import FAKE_CREDENTIALS, start_moto_server

BUCKET = "bench-outputs"
REPORTS = "bench-reports"
ROLE = "arn:aws:iam::123456789012:role/bench"
DATABASE = "bench"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/score@sha256:" + "0" * 64
GROUPS = 10
EXECUTIONS_READ = 20  # the source reads the 20 most recent executions of a pipeline
POLICY = """\
extends: default
operations: {require_schedule: false, require_failure_notification: false}
evaluation_thresholds:
  thresholds: [{metric: mape, direction: lower_is_better, value: 0.2}]
"""


def _definition(index: int) -> dict:
    location = {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Parameters.OutputBaseUri"},
                "scores",
                {"Std:Join": {"On": "", "Values": ["dt=", {"Get": "Parameters.ExecutionDate"}]}},
            ],
        }
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "ExecutionDate", "Type": "String", "DefaultValue": "2026-01-01"},
            {
                "Name": "OutputBaseUri",
                "Type": "String",
                "DefaultValue": f"s3://{BUCKET}/p{index:03d}",
            },
        ],
        "Steps": [
            {
                "Name": "Score",
                "Type": "Processing",
                "Arguments": {
                    "ProcessingResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                            "VolumeSizeInGB": 30,
                        }
                    },
                    "AppSpecification": {"ImageUri": IMAGE},
                    "RoleArn": ROLE,
                    "ProcessingOutputConfig": {
                        "Outputs": [
                            {
                                "OutputName": "scores",
                                "S3Output": {
                                    "S3Uri": location,
                                    "LocalPath": "/opt/ml/processing/output",
                                    "S3UploadMode": "EndOfJob",
                                },
                            }
                        ]
                    },
                },
            }
        ],
    }


def days(count: int) -> list[str]:
    first = date(2026, 1, 1)
    return [(first + timedelta(days=offset)).isoformat() for offset in range(count)]


def populate(server, pipelines: int, day_count: int, packages: int, workers: int) -> None:
    sagemaker, s3, glue = server.client("sagemaker"), server.client("s3"), server.client("glue")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=REPORTS)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    dates = days(day_count)

    def pipeline(index: int) -> None:
        name = f"bench-pipeline-{index:03d}"
        sagemaker.create_pipeline(
            PipelineName=name, PipelineDefinition=json.dumps(_definition(index)), RoleArn=ROLE
        )
        base = f"p{index:03d}/scores/"
        glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": f"scores_{index:03d}",
                "StorageDescriptor": {"Location": f"s3://{BUCKET}/{base}"},
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            },
        )
        for day in dates:
            sagemaker.start_pipeline_execution(
                PipelineName=name, PipelineParameters=[{"Name": "ExecutionDate", "Value": day}]
            )
            s3.put_object(Bucket=BUCKET, Key=f"{base}dt={day}/part-0.csv", Body=b"id,score\n")
        for start in range(0, len(dates), 100):
            glue.batch_create_partition(
                DatabaseName=DATABASE,
                TableName=f"scores_{index:03d}",
                PartitionInputList=[
                    {
                        "Values": [day],
                        "StorageDescriptor": {"Location": f"s3://{BUCKET}/{base}dt={day}/"},
                    }
                    for day in dates[start : start + 100]
                ],
            )

    for group in range(GROUPS):
        sagemaker.create_model_package_group(ModelPackageGroupName=f"bench-model-{group}")

    def package(index: int) -> None:
        group = f"bench-model-{index % GROUPS}"
        kind = index % 10  # 8 approved, 1 pending, 1 rejected in 10
        options: dict = {
            "InferenceSpecification": {
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "MetadataProperties": {
                "GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/"
                f"bench-pipeline-{index % pipelines:03d}/execution/x{index:05d}"
            },
        }
        if kind < 8:
            key = f"{group}/{index}/evaluation.json"
            report = {"metrics": {"mape": {"value": 0.1 + (index % 7) / 100}}}
            s3.put_object(Bucket=REPORTS, Key=key, Body=json.dumps(report).encode())
            options["ModelMetrics"] = {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"s3://{REPORTS}/{key}",
                    }
                }
            }
        status = "Approved" if kind < 8 else "PendingManualApproval" if kind == 8 else "Rejected"
        sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus=status, **options
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(pipeline, range(pipelines)))
        list(pool.map(package, range(packages)))


def bare_loop(server) -> int:
    """The same data, read with plain sequential boto3 calls: the yardstick."""
    sagemaker, s3, glue = server.client("sagemaker"), server.client("s3"), server.client("glue")
    names, calls = _pipeline_names(sagemaker)
    for name in names:
        sagemaker.describe_pipeline(PipelineName=name)
        executions = sagemaker.list_pipeline_executions(
            PipelineName=name,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=EXECUTIONS_READ,
        )["PipelineExecutionSummaries"][:EXECUTIONS_READ]  # moto ignores MaxResults here
        calls += 2
        for execution in executions:
            arn = execution["PipelineExecutionArn"]
            sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
            parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
            day = next(p["Value"] for p in parameters["PipelineParameters"])
            calls += 2
            index = name.rsplit("-", 1)[-1]
            s3.list_objects_v2(Bucket=BUCKET, Prefix=f"p{index}/scores/dt={day}/", MaxKeys=10)
            calls += 1
        index = name.rsplit("-", 1)[-1]
        s3.list_objects_v2(Bucket=BUCKET, Prefix=f"p{index}/scores/", Delimiter="/")
        glue.get_partitions(DatabaseName=DATABASE, TableName=f"scores_{index}")
        calls += 2
    glue.get_tables(DatabaseName=DATABASE)
    calls += 1
    for group in sagemaker.list_model_package_groups(MaxResults=100)[
        "ModelPackageGroupSummaryList"
    ]:
        token = None
        while True:
            page = sagemaker.list_model_packages(
                ModelPackageGroupName=group["ModelPackageGroupName"],
                MaxResults=100,
                **({"NextToken": token} if token else {}),
            )
            calls += 1
            for summary in page["ModelPackageSummaryList"]:
                if summary["ModelApprovalStatus"] != "Approved":
                    continue
                described = sagemaker.describe_model_package(
                    ModelPackageName=summary["ModelPackageArn"]
                )
                uri = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
                bucket, key = uri[5:].split("/", 1)
                json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                calls += 2
            token = page.get("NextToken")
            if not token:
                break
    return calls


def _pipeline_names(sagemaker) -> tuple[list[str], int]:
    names, token, calls = [], None, 0
    while True:
        page = sagemaker.list_pipelines(MaxResults=100, **({"NextToken": token} if token else {}))
        calls += 1
        names += [p["PipelineName"] for p in page["PipelineSummaries"]]
        token = page.get("NextToken")
        if not token:
            return names, calls


def counted_audit(args: list[str]) -> tuple[float, dict, Counter]:
    import boto3

    from mlops_guard.audit import cli

    session = boto3.Session()
    calls: Counter = Counter()
    session.events.register(
        "before-call",
        lambda model, **_: calls.update([f"{model.service_model.service_name}:{model.name}"]),
    )
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli.main(args, boto_session=session)
    elapsed = time.perf_counter() - start
    if code not in (0, 1):
        raise SystemExit(f"audit failed with exit code {code}")
    return elapsed, json.loads(out.getvalue()), calls


def bounds(pipelines: int, day_count: int, packages: int) -> dict[str, int]:
    """Most calls the audit may make per operation on this account."""
    read = min(EXECUTIONS_READ, day_count)
    approved = sum(1 for index in range(packages) if index % 10 < 8)
    per_group = math.ceil(packages / GROUPS)
    return {
        "s3:ListObjectsV2": pipelines * (math.ceil(day_count / 1000) + read),
        "s3:GetObject": approved,
        "sagemaker:DescribeModelPackage": approved,
        "sagemaker:ListModelPackages": GROUPS * math.ceil(per_group / 100),
        "glue:GetPartitions": pipelines * math.ceil(day_count / 100 + 1),
        "sagemaker:DescribePipelineExecution": pipelines * read,
        "sagemaker:ListPipelineParametersForExecution": pipelines * read,
    }


def child_peak_rss(args: list[str], endpoint: str) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as scratch:
        peak_file = Path(scratch) / "peak-kb"
        done = subprocess.run(
            [sys.executable, "-c", bench_audit.PEAK_RSS_PROBE, str(peak_file), "audit", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
        )
        if done.returncode not in (0, 1):
            raise SystemExit(done.stderr)
        return int(peak_file.read_text()) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument("--populate-workers", type=int, default=8)
    options = parser.parse_args()

    server = start_moto_server()
    try:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        print(
            f"populating {options.pipelines} pipelines x {options.days} days, "
            f"{options.packages} model packages ...",
            flush=True,
        )
        started = time.perf_counter()
        populate(
            server, options.pipelines, options.days, options.packages, options.populate_workers
        )
        print(f"populated in {time.perf_counter() - started:.0f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-produced-") as scratch:
            policy = Path(scratch) / "policy.yaml"
            policy.write_text(POLICY)
            args = ["sagemaker", "--policy", str(policy), "--format", "json"]
            bare_start = time.perf_counter()
            bare_calls = bare_loop(server)
            bare_time = time.perf_counter() - bare_start
            audit_time, report, calls = counted_audit(args)
            rss = child_peak_rss(args, server.endpoint_url)

        limits = bounds(options.pipelines, options.days, options.packages)
        by_rule = Counter(finding["rule"] for finding in report["findings"])
        print(f"findings:                {sum(by_rule.values())} {dict(sorted(by_rule.items()))}")
        print(f"bare boto3 loop:         {bare_time:8.2f} s ({bare_calls} calls, sequential)")
        print(
            f"mlops-guard audit:       {audit_time:8.2f} s ({sum(calls.values())} calls; "
            "reading and every rule)"
        )
        print(f"wall time ratio:         {audit_time / bare_time:8.2f}x (target <= 2x)")
        print(f"audit command peak RSS:  {rss:8.1f} MB (child process; target < 300 MB)")
        print("calls by operation (bound):")
        within = True
        for operation, count in sorted(calls.items()):
            limit = limits.get(operation)
            mark = "" if limit is None else f"  (<= {limit})"
            if limit is not None and count > limit:
                within, mark = False, mark + " EXCEEDED"
            print(f"  {operation:48s} {count:6d}{mark}")
        ok = (
            audit_time <= 2 * bare_time
            and rss < 300
            and within
            and not any(f["rule"] == "MG005" for f in report["findings"])
        )
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
