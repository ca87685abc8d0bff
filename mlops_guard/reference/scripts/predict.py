"""Predict: forecast the applications of the run date with the trained model.

Writes ``predictions.csv`` (``date,applications_forecast``) for the run date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys

STEP = "Predict"

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
def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--inference-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    bundle = load_model(args.model_dir)
    rows = pd.read_csv(require_file(args.inference_dir, "inference.csv"), dtype={"date": str})
    if rows["date"].tolist() != [execution_date.isoformat()]:
        raise StepInputError(
            f"bad input: inference rows {rows['date'].tolist()} are not for {execution_date}"
        )
    forecast = bundle["model"].predict(rows[bundle["features"]].to_numpy())
    predictions = pd.DataFrame({"date": rows["date"], "applications_forecast": forecast.round(3)})
    os.makedirs(args.output_dir, exist_ok=True)
    predictions.to_csv(os.path.join(args.output_dir, "predictions.csv"), index=False)
    print(f"{STEP}: {execution_date} forecast {float(forecast[0]):.1f} applications")
    record_trial_component(
        {"ExecutionDate": execution_date.isoformat(), "note": "Predict: run-date forecast"}
    )


if __name__ == "__main__":
    run(main)
