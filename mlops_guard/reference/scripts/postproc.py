"""PostProc: publish the run date's forecast as a Parquet partition registered in Glue.

Writes ``predictions.parquet`` to the output dir (SageMaker uploads it to the
``.../dt=<date>`` partition given as ``--partition-uri``) and registers that partition in the
Glue table ``--glue-database``.``--glue-table`` (created if missing; a re-run overwrites the
same partition). Outside S3 (a local partition path) there is no catalog to register in.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import sys

STEP = "PostProc"
COLUMNS = [
    {"Name": "prediction_date", "Type": "string"},
    {"Name": "applications_forecast", "Type": "double"},
]
PARQUET_FORMAT = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}

# --- shared step helpers: keep identical in every step script (a test checks) -------------
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PROCESSING_JOB_CONFIG = "/opt/ml/config/processingjobconfig.json"


class StepInputError(Exception):
    """Bad input (argument, data or location): the step exits 2 with a one-line message."""


def parse_execution_date(value: str) -> datetime.date:
    """The run date, strictly ``YYYY-MM-DD``."""
    if not DATE_RE.match(value or ""):
        raise StepInputError(f"malformed ExecutionDate {value!r}: expected YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise StepInputError(f"malformed ExecutionDate {value!r}: not a calendar date") from None


def require_file(directory: str, name: str) -> str:
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise StepInputError(f"missing input: {path}")
    return path


def load_model(model_dir: str) -> dict:
    """The pickled model: ``model.pkl``, or inside SageMaker's ``model.tar.gz``."""
    import pickle
    import tarfile

    archive = os.path.join(model_dir, "model.tar.gz")
    if os.path.isfile(archive):
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and os.path.basename(member.name) == "model.pkl":
                    return pickle.load(tar.extractfile(member))
        raise StepInputError(f"missing input: no model.pkl in {archive}")
    with open(require_file(model_dir, "model.pkl"), "rb") as handle:
        return pickle.load(handle)


def record_trial_component(parameters: dict, metrics: dict | None = None) -> None:
    """On SageMaker, add parameters and metrics to this job's trial component.

    Best effort: metadata must never fail the step. Outside SageMaker (no job config)
    nothing happens; the local runner records the same metadata itself.
    """
    if not os.path.isfile(PROCESSING_JOB_CONFIG):
        return
    try:
        import boto3

        with open(PROCESSING_JOB_CONFIG, encoding="utf-8") as handle:
            job = json.load(handle)
        component = f"{job['ProcessingJobName']}-aws-processing-job"
        values = {
            key: {"NumberValue": value}
            if isinstance(value, int | float)
            else {"StringValue": str(value)}
            for key, value in parameters.items()
        }
        boto3.client("sagemaker").update_trial_component(
            TrialComponentName=component, Parameters=values
        )
        if metrics:
            now = datetime.datetime.now(datetime.UTC)
            boto3.client("sagemaker-metrics").batch_put_metrics(
                TrialComponentName=component,
                MetricData=[
                    {"MetricName": key, "Timestamp": now, "Step": 0, "Value": float(value)}
                    for key, value in metrics.items()
                ],
            )
    except Exception as error:  # never fail the step because of metadata
        print(f"warning: trial component metadata not recorded: {error}", file=sys.stderr)


def run(main) -> None:
    """Run ``main``; bad input exits 2 with one line on stderr, no traceback."""
    try:
        main()
    except StepInputError as error:
        print(f"{STEP}: error: {error}", file=sys.stderr)
        sys.exit(2)


# --- end of shared step helpers ------------------------------------------------------------
def register_partition(database: str, table: str, partition_uri: str, day: str) -> None:
    """Create database and table if missing, then create or overwrite the ``dt`` partition."""
    import boto3

    glue = boto3.client("glue")
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": database})
    table_location = partition_uri.rsplit("/", 1)[0] + "/"
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_table(
            DatabaseName=database,
            TableInput={
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                "StorageDescriptor": {
                    "Columns": COLUMNS,
                    "Location": table_location,
                    **PARQUET_FORMAT,
                },
            },
        )
    partition = {
        "Values": [day],
        "StorageDescriptor": {
            "Columns": COLUMNS,
            "Location": partition_uri + "/",
            **PARQUET_FORMAT,
        },
    }
    try:
        glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=[day])
    except glue.exceptions.EntityNotFoundException:
        glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=partition)
    else:
        glue.update_partition(
            DatabaseName=database,
            TableName=table,
            PartitionValueList=[day],
            PartitionInput=partition,
        )
    print(f"{STEP}: registered {database}.{table} dt={day} -> {partition_uri}/")


def main() -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--input-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--partition-uri", required=True)
    parser.add_argument("--glue-database", required=True)
    parser.add_argument("--glue-table", required=True)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    day = execution_date.isoformat()
    partition_uri = args.partition_uri.rstrip("/")
    if not partition_uri.endswith(f"/dt={day}"):
        raise StepInputError(f"bad partition {args.partition_uri!r}: must end with /dt={day}")
    rows = pd.read_csv(require_file(args.input_dir, "predictions.csv"), dtype={"date": str})
    if rows["date"].tolist() != [day]:
        raise StepInputError(f"bad input: predictions {rows['date'].tolist()} are not for {day}")
    table = pa.table(
        {
            "prediction_date": pa.array(rows["date"].tolist(), pa.string()),
            "applications_forecast": pa.array(rows["applications_forecast"].tolist(), pa.float64()),
        }
    )
    os.makedirs(args.output_dir, exist_ok=True)
    pq.write_table(table, os.path.join(args.output_dir, "predictions.parquet"))
    if partition_uri.startswith("s3://"):
        register_partition(args.glue_database, args.glue_table, partition_uri, day)
    else:
        print(f"{STEP}: {partition_uri} is not on S3: no Glue partition to register")
    record_trial_component(
        {
            "ExecutionDate": day,
            "data_version": partition_uri,
            "note": "PostProc: publish the forecast partition",
        }
    )


if __name__ == "__main__":
    run(main)
