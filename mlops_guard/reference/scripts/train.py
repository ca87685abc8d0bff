"""Train: fit the scikit-learn regressor on the training split (SageMaker training contract).

This is the training code of the pinned reference image (``image/Dockerfile`` copies it to
``/opt/ml/code/train.py``). It reads the ``train`` channel, the hyperparameters SageMaker
writes to ``hyperparameters.json`` (all values are strings) and saves ``model.pkl`` to the
model dir, which SageMaker packs into ``model.tar.gz``. Training metrics are printed as
``train-metric <name>=<value>`` lines: the step's MetricDefinitions capture them.

Paths follow the SageMaker conventions and can be moved by the usual variables:
``SM_CHANNEL_TRAIN``, ``SM_MODEL_DIR``, ``SM_INPUT_CONFIG_DIR``.
"""

from __future__ import annotations

import datetime
import json
import os
import pickle
import re
import sys

STEP = "Train"
TARGET = "applications"
HYPERPARAMETER_TYPES = {
    "n_estimators": int,
    "max_depth": int,
    "learning_rate": float,
    "subsample": float,
    "random_state": int,
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
def read_hyperparameters(config_dir: str) -> dict:
    path = require_file(config_dir, "hyperparameters.json")
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    unknown = sorted(set(raw) - set(HYPERPARAMETER_TYPES))
    if unknown:
        raise StepInputError(f"unknown hyperparameters {unknown} in {path}")
    try:
        return {
            key: HYPERPARAMETER_TYPES[key](json.loads(str(value))) for key, value in raw.items()
        }
    except (TypeError, ValueError) as error:
        raise StepInputError(f"bad hyperparameter in {path}: {error}") from None


def feature_columns(frame) -> list[str]:
    return [column for column in frame.columns if column not in ("date", TARGET)]


def main() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import GradientBoostingRegressor

    channel = os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    config_dir = os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config")
    hyperparameters = read_hyperparameters(config_dir)
    frame = pd.read_csv(require_file(channel, "train.csv"), dtype={"date": str})
    features = feature_columns(frame)
    model = GradientBoostingRegressor(**hyperparameters)
    model.fit(frame[features].to_numpy(), frame[TARGET].to_numpy())
    fitted = model.predict(frame[features].to_numpy())
    actual = frame[TARGET].to_numpy()
    print(f"train-metric mape={float(np.mean(np.abs(fitted - actual) / actual)):.6f}")
    print(f"train-metric rmse={float(np.sqrt(np.mean((fitted - actual) ** 2))):.6f}")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.pkl"), "wb") as handle:
        pickle.dump({"model": model, "features": features, "target": TARGET}, handle, protocol=5)
    print(f"{STEP}: fitted on {len(frame)} rows, {len(features)} features")


if __name__ == "__main__":
    run(main)
