"""What every step script shares: strict run dates, input errors that exit 2 with one
line, the model file, and best-effort trial-component metadata.

Each step script is uploaded alone (``code=``), so this module is not uploaded with it:
it is baked into the reference image on ``PYTHONPATH`` (see ``image/Dockerfile``), and
its version is the image digest the definition pins. The local runner puts this
directory on ``PYTHONPATH`` the same way. Standard library only, like the scripts.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys

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


def run(main, step: str) -> None:
    """Run ``main``; bad input exits 2 with one line ``<step>: error: ...`` on stderr, no
    traceback."""
    try:
        main()
    except StepInputError as error:
        print(f"{step}: error: {error}", file=sys.stderr)
        sys.exit(2)
