"""Audit tests start from what the reference pipeline really records, and mutate it.

``reference_exports`` runs the reference pipeline locally for three consecutive dates
(once per session) and holds its ``_metadata`` directory: three export files, one per
execution, in the store format. ``compliant_store`` is those merged into one store plus a
deployed pipeline set up as the operations rules want (the reference definition, a
schedule passing the run date, a failure notification, successful executions): every
audit rule is silent on it, and each test changes one thing.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops_guard import engine
from mlops_guard.audit.read_store import read_files
from mlops_guard.audit.store_targets import build_targets
from mlops_guard.metadata.model import Execution, Notification, Pipeline, Schedule
from mlops_guard.selection import Selection
from tests.rules.conftest import builtin_rules, policy_with

ROOT = Path(__file__).resolve().parents[2]
DATES = ("2026-11-20", "2026-11-21", "2026-11-22")
PIPELINE = "daily-demand-forecast"
PIPELINE_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{PIPELINE}"
STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
TOPIC = "arn:aws:sns:us-east-1:123456789012:pipeline-alerts"
REFERENCE_RUN = (sys.executable, "-m", "mlops_guard", "reference", "run")


def reference_definition() -> dict:
    return json.loads((ROOT / "mlops_guard" / "reference" / "definition.json").read_text())


@pytest.fixture(scope="session")
def reference_exports(tmp_path_factory) -> Path:
    """The ``_metadata`` directory of three real local reference runs."""
    output = tmp_path_factory.mktemp("reference-runs")
    processes = [
        subprocess.Popen(
            [*REFERENCE_RUN, "--date", day, "--output", str(output), "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in DATES
    ]
    for process in processes:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out
    return output / "_metadata"


def deployed_pipeline(executions: list[str]) -> Pipeline:
    """The reference pipeline as deployed the way OP101-OP104 want it."""
    start = datetime(2026, 11, 20, tzinfo=UTC)
    return Pipeline(
        name=PIPELINE,
        arn=PIPELINE_ARN,
        definition=reference_definition(),
        schedules=[
            Schedule(
                kind="scheduler",
                name="daily-demand-forecast-daily",
                expression="cron(0 5 * * ? *)",
                state="ENABLED",
                passes_parameters={"ExecutionDate": "<aws.scheduler.scheduled-time>"},
            )
        ],
        notifications=[
            Notification(
                rule_name="daily-demand-forecast-failed",
                event_pattern={
                    "source": ["aws.sagemaker"],
                    "detail-type": [STATUS_CHANGE],
                    "detail": {"currentPipelineExecutionStatus": ["Failed"]},
                },
                targets=[TOPIC],
            )
        ],
        executions=[
            Execution(
                arn=arn,
                status="Succeeded",
                start_time=start + timedelta(days=index),
                parameters={"ExecutionDate": DATES[index]},
            )
            for index, arn in enumerate(executions)
        ],
    )


@pytest.fixture
def compliant_store(reference_exports):
    store, _label = read_files([str(reference_exports)])
    store = store.model_copy(deep=True)
    arns = [trial.pipeline_execution_arn for trial in store.experiments[0].trials]
    store.pipelines = [deployed_pipeline(sorted(arns))]
    return store


def audit_findings(store, select=None, policy: dict | None = None, label="metadata.json"):
    """Findings of the selected audit rules (default: all) on ``store``, via the engine."""
    settings = policy_with(policy)
    selection = Selection.from_policy(settings, select=select)
    return engine.run(build_targets(store, label), builtin_rules(), settings, selection).findings


def rule_ids(findings) -> list[str]:
    return [finding.rule for finding in findings]


def component(store, step: str, trial_index: int = -1):
    """The run of ``step`` in a trial (default: the latest execution)."""
    trial = sorted(store.experiments[0].trials, key=lambda t: t.components[0].start_time)[
        trial_index
    ]
    return next(c for c in trial.components if c.display_name == step)


def latest_trial(store):
    return sorted(store.experiments[0].trials, key=lambda t: t.components[0].start_time)[-1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()
