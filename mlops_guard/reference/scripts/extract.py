"""Extract: pull the daily history of new subscription applications up to the run date.

Writes ``history.csv`` (``date,applications``) with every day from ``--days`` days before
``--execution-date`` to the day before it. Sources (``--source``):

* ``synthetic://<name>``: the deterministic synthetic series (trend, weekly and yearly
  seasonality, noise seeded by the date), generated here; nothing is downloaded.
* ``athena://<database>/<table>?workgroup=<wg>&output=s3://...``: an Athena query via boto3.
* a local path or ``s3://`` prefix of daily exports: ``<source>/dt=<date>/*.csv``.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import time
import urllib.parse

if __package__:  # imported as part of the package (by reference/data.py)
    from .step_common import StepInputError, parse_execution_date, record_trial_component, run
else:  # run as a script: in the image, and by the local runner
    from step_common import StepInputError, parse_execution_date, record_trial_component, run

STEP = "Extract"

SERIES_EPOCH = datetime.date(2020, 1, 1)
SERIES_SEED = 20201122
#: Monday .. Sunday: applications drop sharply at weekends.
WEEKLY_FACTORS = (1.06, 1.10, 1.08, 1.02, 0.94, 0.46, 0.34)
MIN_DAYS = 120


def synthetic_applications(day: datetime.date) -> int:
    """The synthetic count for one day: the same value whatever the run date."""
    import numpy as np

    t = (day - SERIES_EPOCH).days
    level = max(50.0, 400.0 + 0.3 * t)
    yearly = 1.0 + 0.08 * math.sin(2.0 * math.pi * day.timetuple().tm_yday / 365.25)
    rng = np.random.default_rng([SERIES_SEED, day.toordinal()])
    noise = 1.0 + 0.04 * float(rng.standard_normal())
    return round(level * WEEKLY_FACTORS[day.weekday()] * yearly * noise)


def synthetic_history(execution_date: datetime.date, days: int):
    """``days`` daily points ending the day before ``execution_date``."""
    import pandas as pd

    dates = [execution_date - datetime.timedelta(days=n) for n in range(days, 0, -1)]
    counts = [synthetic_applications(d) for d in dates]
    return pd.DataFrame({"date": [d.isoformat() for d in dates], "applications": counts})


def athena_history(source: str, execution_date: datetime.date, days: int):
    """Run the day's query on Athena (boto3) and return its rows."""
    import boto3
    import pandas as pd

    parsed = urllib.parse.urlparse(source)
    options = dict(urllib.parse.parse_qsl(parsed.query))
    database, table = parsed.netloc, parsed.path.strip("/")
    if not database or not table:
        raise StepInputError(f"athena source must be athena://<database>/<table>: {source}")
    start = execution_date - datetime.timedelta(days=days)
    query = (
        f'SELECT CAST("date" AS varchar) AS "date", applications FROM "{database}"."{table}" '
        f"WHERE \"date\" >= DATE '{start.isoformat()}' "
        f"AND \"date\" < DATE '{execution_date.isoformat()}' ORDER BY 1"
    )
    athena = boto3.client("athena")
    request = {"QueryString": query, "WorkGroup": options.get("workgroup", "primary")}
    if "output" in options:
        request["ResultConfiguration"] = {"OutputLocation": options["output"]}
    query_id = athena.start_query_execution(**request)["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(2)
    if status["State"] != "SUCCEEDED":
        reason = status.get("StateChangeReason")
        raise RuntimeError(f"Athena query {query_id} {status['State']}: {reason}")
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        for row in page["ResultSet"]["Rows"]:
            rows.append([cell.get("VarCharValue") for cell in row["Data"]])
    frame = pd.DataFrame(rows[1:], columns=["date", "applications"])
    frame["applications"] = frame["applications"].astype("int64")
    return frame


def export_history(source: str, execution_date: datetime.date, days: int):
    """Read the CSV files of the export partition ``<source>/dt=<date>/``."""
    import io

    import pandas as pd

    partition = f"{source.rstrip('/')}/dt={execution_date.isoformat()}"
    blobs = []
    if partition.startswith("s3://"):
        import boto3

        bucket, _, prefix = partition[5:].partition("/")
        s3 = boto3.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
        try:
            keys = sorted(o["Key"] for p in pages for o in p.get("Contents", []))
        except s3.exceptions.NoSuchBucket:
            keys = []
        keys = [key for key in keys if key.endswith(".csv")]
        blobs = [s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys]
    elif os.path.isdir(partition):
        for name in sorted(os.listdir(partition)):
            if name.endswith(".csv"):
                with open(os.path.join(partition, name), "rb") as handle:
                    blobs.append(handle.read())
    if not blobs:
        raise StepInputError(f"missing input: no CSV files in {partition}")
    frame = pd.concat([pd.read_csv(io.BytesIO(blob), dtype={"date": str}) for blob in blobs])
    missing = {"date", "applications"} - set(frame.columns)
    if missing:
        raise StepInputError(f"bad input: {partition} lacks columns {sorted(missing)}")
    start = (execution_date - datetime.timedelta(days=days)).isoformat()
    frame = frame[(frame["date"] >= start) & (frame["date"] < execution_date.isoformat())]
    return frame[["date", "applications"]].drop_duplicates("date").sort_values("date")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    scheme = urllib.parse.urlparse(args.source).scheme
    if scheme == "synthetic":
        history = synthetic_history(execution_date, args.days)
    elif scheme == "athena":
        history = athena_history(args.source, execution_date, args.days)
    else:
        history = export_history(args.source, execution_date, args.days)
    if len(history) < MIN_DAYS:
        raise StepInputError(
            f"bad input: {len(history)} days of history in {args.source}, need {MIN_DAYS}"
        )
    os.makedirs(args.output_dir, exist_ok=True)
    history.to_csv(os.path.join(args.output_dir, "history.csv"), index=False)
    print(f"{STEP}: {len(history)} days {history['date'].iloc[0]}..{history['date'].iloc[-1]}")
    record_trial_component(
        {
            "ExecutionDate": execution_date.isoformat(),
            "data_version": f"{args.source.rstrip('/')}/dt={execution_date.isoformat()}",
            "note": "Extract: the daily history up to the run date",
        }
    )


if __name__ == "__main__":
    run(main, STEP)
