"""Putting what the reference pipeline produced into a moto account, through boto3.

The reference runs' own output tree (three dates, every step's ``dt=`` partition, the
evaluation reports) is uploaded to the bucket its ``OutputBaseUri`` names; a Glue table
is created over the predictions with a partition per date; and the model package group
gets the versions a registering pipeline would create: approved ones with the run's
evaluation report as ``ModelQuality.Statistics`` and the execution as ``GeneratedBy``,
one pending and one rejected. Each test then changes one thing.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.audit.conftest import DATES, PIPELINE, reference_definition

BUCKET = "mlops-guard-reference-123456789012"
BASE = f"s3://{BUCKET}/{PIPELINE}/"
DATABASE = "forecasting"
TABLE = "predictions"
TABLE_PREFIX = f"{PIPELINE}/predict/predictions/"
GROUP = PIPELINE
CONTAINER = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/forecast:1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def _output_base() -> str:
    for parameter in reference_definition()["Parameters"]:
        if parameter["Name"] == "OutputBaseUri":
            return parameter["DefaultValue"]
    raise AssertionError("the reference declares OutputBaseUri")


def upload_outputs(moto_server, output_tree: Path) -> None:
    """The reference runs' outputs (not their ``_metadata``) at ``OutputBaseUri``."""
    assert _output_base() == BASE.rstrip("/")
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for path in sorted(output_tree.rglob("*")):
        relative = path.relative_to(output_tree).as_posix()
        if path.is_file() and not relative.startswith("_metadata/"):
            s3.put_object(Bucket=BUCKET, Key=f"{PIPELINE}/{relative}", Body=path.read_bytes())


def create_table(moto_server, dates=DATES, locations: dict | None = None) -> None:
    """A Glue table over the Predict step's output, a partition per date."""
    glue = moto_server.client("glue")
    glue.create_database(DatabaseInput={"Name": DATABASE})
    location = f"s3://{BUCKET}/{TABLE_PREFIX}"
    glue.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": TABLE,
            "StorageDescriptor": {
                "Location": location,
                "Columns": [{"Name": "prediction", "Type": "double"}],
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        },
    )
    for day in dates:
        where = (locations or {}).get(day, f"{location}dt={day}/")
        glue.create_partition(
            DatabaseName=DATABASE,
            TableName=TABLE,
            PartitionInput={"Values": [day], "StorageDescriptor": {"Location": where}},
        )


def execution_arns(moto_server) -> dict[str, str]:
    """Run date -> execution ARN of the deployed reference pipeline."""
    sagemaker = moto_server.client("sagemaker")
    found = {}
    for summary in sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]:
        arn = summary["PipelineExecutionArn"]
        parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
        values = {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}
        found[values["ExecutionDate"]] = arn
    return found


def report_uri(day: str) -> str:
    return f"{BASE}train-evaluation/evaluation/dt={day}/evaluation.json"


def register(
    moto_server,
    *,
    status: str = "Approved",
    report: str | None = None,
    generated_by: str | None = None,
    description: str | None = "evaluation gate passed",
) -> str:
    """One model package version, as a RegisterModel step (or a person) creates it."""
    sagemaker = moto_server.client("sagemaker")
    options: dict = {"InferenceSpecification": CONTAINER}
    if report:
        options["ModelMetrics"] = {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report}}
        }
    if generated_by:
        options["MetadataProperties"] = {"GeneratedBy": generated_by}
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval", **options
    )["ModelPackageArn"]
    if status != "PendingManualApproval":
        update = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
        if description:
            update["ApprovalDescription"] = description
        sagemaker.update_model_package(**update)
    return arn


def register_versions(moto_server) -> list[str]:
    """What a registering pipeline leaves: each day's model, the first and last approved,
    the middle one rejected, and one more pending."""
    sagemaker = moto_server.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    executions = execution_arns(moto_server)
    statuses = ("Approved", "Rejected", "Approved")
    arns = [
        register(moto_server, status=status, report=report_uri(day), generated_by=executions[day])
        for day, status in zip(DATES, statuses, strict=True)
    ]
    arns.append(register(moto_server, status="PendingManualApproval", report=report_uri(DATES[-1])))
    return arns


def put_report(moto_server, key: str, document: dict) -> str:
    moto_server.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document))
    return f"s3://{BUCKET}/{key}"
