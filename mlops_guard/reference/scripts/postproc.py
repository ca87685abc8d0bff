"""PostProc: publish the run date's forecast as a Parquet partition registered in Glue.

Writes ``predictions.parquet`` to the output dir (SageMaker uploads it to the
``.../dt=<date>`` partition given as ``--partition-uri``) and registers that partition in the
Glue table ``--glue-database``.``--glue-table`` (created if missing; a re-run overwrites the
same partition). Outside S3 (a local partition path) there is no catalog to register in.
"""

from __future__ import annotations

import argparse
import contextlib
import os

from step_common import (
    StepInputError,
    parse_execution_date,
    record_trial_component,
    require_file,
    run,
)

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
    run(main, STEP)
