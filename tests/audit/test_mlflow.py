"""``mlops-guard audit mlflow`` on a real local MLflow tracking store (sqlite)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytest.importorskip("mlflow")

AUDIT_MLFLOW = (sys.executable, "-m", "mlops_guard", "audit", "mlflow", "--tracking-uri")
POLICY = """\
extends: default
naming:
  experiment_kinds:
    pipeline:  # kinds match in order: keep the default pipeline kind off these experiments
      match: "^(?!debug-|forecast-|Default$)"
    forecast:
      match: "^forecast-"
      production: true
      required_fields: [metrics]
recorded_fields:
  runs:
    metrics: {metrics: [mape]}
"""


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    debug = client.create_experiment(
        "debug-learning-rate", artifact_location=str(tmp_path / "artifacts")
    )
    for rate in ("0.05", "0.1"):
        run = client.create_run(debug, run_name=f"lr-{rate}")
        client.log_param(run.info.run_id, "learning_rate", rate)
        client.set_tag(run.info.run_id, "mlflow.note.content", f"learning rate {rate}")
        client.log_metric(run.info.run_id, "mape", 0.05, step=0)
        client.set_terminated(run.info.run_id)
    forecast = client.create_experiment(
        "forecast-daily", artifact_location=str(tmp_path / "artifacts")
    )
    for index, mape in enumerate((0.05, 0.06, 0.31)):
        run = client.create_run(
            forecast, run_name=f"day-{index}", start_time=1_700_000_000_000 + index
        )
        client.log_metric(run.info.run_id, "mape", mape, step=0)
        client.set_terminated(run.info.run_id)
    return uri


def audit(tmp_path, uri: str, *args: str) -> subprocess.CompletedProcess:
    policy = tmp_path / "mlops-guard.yaml"
    policy.write_text(POLICY)
    return subprocess.run(
        [*AUDIT_MLFLOW, uri, "--policy", str(policy), "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mlflow_experiments_are_audited(tracking_uri, tmp_path):
    done = audit(tmp_path, tracking_uri)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["ET101", "ET103"]
    assert "mape = 0.31" in findings[0]["message"]
    assert findings[0]["location"]["file"] == f"mlflow:{tracking_uri}"


def test_debug_runs_need_their_note(tracking_uri, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name("debug-learning-rate")
    run = client.search_runs([experiment.experiment_id])[0]
    client.delete_tag(run.info.run_id, "mlflow.note.content")
    done = audit(tmp_path, tracking_uri, "--experiment-prefix", "debug-")
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["RF106"]
    assert findings[0]["subject"].startswith(f"debug-learning-rate/{run.info.run_id}")


def test_unreachable_tracking_uri_is_one_line(tmp_path):
    done = audit(tmp_path, "unknown-scheme://nowhere")
    assert done.returncode == 2
    assert done.stderr.startswith("mlops-guard: error:") and done.stderr.count("\n") == 1


def test_what_was_not_read_before_the_timeout_is_mg005(tracking_uri, tmp_path):
    done = audit(tmp_path, tracking_uri, "--timeout", "0.000001")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "the audit does not pass" in done.stderr
    messages = [f["message"] for f in json.loads(done.stdout)["findings"] if f["rule"] == "MG005"]
    assert {m.split(" (")[0] for m in messages} >= {"could not read mlflow:experiment 1"}
    assert all("the --timeout of 1e-06 s had passed" in m for m in messages), messages


def test_a_tracking_server_that_never_answers_is_bounded(silent_port, tmp_path):
    started = time.monotonic()
    done = audit(tmp_path, f"http://127.0.0.1:{silent_port}", "--timeout", "2")
    assert time.monotonic() - started < 60  # MLflow alone retries for many minutes
    assert done.returncode == 2
    assert done.stderr == (
        f"mlops-guard: error: mlflow http://127.0.0.1:{silent_port}: no answer within the "
        "--timeout of 2 s: the store was not read\n"
    )
