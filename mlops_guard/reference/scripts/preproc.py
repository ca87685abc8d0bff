"""PreProc: time-series features for the daily applications series.

Reads ``history.csv`` (``date,applications``, every day up to the day before the run date),
adds lags (1, 7, 14, 28 days), rolling means of the previous 7 and 28 days and calendar
features, and writes three splits: ``train/train.csv`` (all but the last 28 observed days),
``holdout/holdout.csv`` (those 28 days) and ``inference/inference.csv`` (the run date, whose
features only use days before it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys

STEP = "PreProc"
HOLDOUT_DAYS = 28
LAGS = (1, 7, 14, 28)
WINDOWS = (7, 28)

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
def build_features(history, execution_date: datetime.date):
    """Features for every day of ``history`` plus the run date (target unknown)."""
    import pandas as pd

    frame = history[["date", "applications"]].sort_values("date").reset_index(drop=True)
    last = execution_date - datetime.timedelta(days=1)
    expected = [(last - datetime.timedelta(days=n)).isoformat() for n in range(len(frame))][::-1]
    if frame["date"].tolist() != expected:
        raise StepInputError(
            "bad input: history must have one row per day ending "
            f"{execution_date - datetime.timedelta(days=1)}"
        )
    target = pd.DataFrame({"date": [pd.Timestamp(execution_date)], "applications": [float("nan")]})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    frame = pd.concat([frame, target], ignore_index=True)
    frame["applications"] = frame["applications"].astype("float64")
    series = frame["applications"]
    for lag in LAGS:
        frame[f"lag_{lag}"] = series.shift(lag)
    for window in WINDOWS:
        frame[f"rolling_mean_{window}"] = series.shift(1).rolling(window).mean()
    frame["day_of_week"] = frame["date"].dt.day_of_week
    frame["is_weekend"] = (frame["day_of_week"] >= 5).astype("int64")
    frame["month"] = frame["date"].dt.month
    frame["day_of_year"] = frame["date"].dt.day_of_year
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    return frame.iloc[max(LAGS + WINDOWS) :].reset_index(drop=True)


def write(frame, directory: str, name: str) -> None:
    os.makedirs(directory, exist_ok=True)
    frame.to_csv(os.path.join(directory, name), index=False)


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--input-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    history = pd.read_csv(require_file(args.input_dir, "history.csv"), dtype={"date": str})
    features = build_features(history, execution_date)
    observed, inference = features.iloc[:-1], features.iloc[-1:]
    if len(observed) <= HOLDOUT_DAYS * 2:
        raise StepInputError(f"bad input: {len(observed)} usable days, need {HOLDOUT_DAYS * 2}")
    write(observed.iloc[:-HOLDOUT_DAYS], os.path.join(args.output_dir, "train"), "train.csv")
    write(observed.iloc[-HOLDOUT_DAYS:], os.path.join(args.output_dir, "holdout"), "holdout.csv")
    write(inference, os.path.join(args.output_dir, "inference"), "inference.csv")
    print(f"{STEP}: {len(observed) - HOLDOUT_DAYS} train, {HOLDOUT_DAYS} holdout rows")
    record_trial_component(
        {"ExecutionDate": execution_date.isoformat(), "note": "PreProc: features and splits"}
    )


if __name__ == "__main__":
    run(main)
