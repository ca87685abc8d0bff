"""The mlflow source against a real local tracking store written through MlflowClient."""

from __future__ import annotations

import pytest

from mlops_guard.metadata import MetadataInputError
from mlops_guard.metadata.sources import export

pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    """Two experiments; one with a parent run, a nested child and a standalone run."""
    import mlflow
    import pandas as pd
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    churn = client.create_experiment(
        "churn-model", artifact_location=(root / "artifacts").as_uri(), tags={"team": "growth"}
    )
    client.set_experiment_tag(churn, "mlflow.note.content", "Predict churn.")
    client.create_experiment("fraud-model", artifact_location=(root / "fraud").as_uri())

    parent = client.create_run(
        churn, run_name="tuning", tags={"mlflow.source.git.commit": "abc123"}
    )
    parent_id = parent.info.run_id
    client.log_param(parent_id, "search", "grid")
    child = client.create_run(churn, run_name="trial-1", tags={"mlflow.parentRunId": parent_id})
    child_id = child.info.run_id
    client.log_param(child_id, "learning_rate", "0.1")
    for step, value in enumerate([0.4, 0.3, 0.35]):
        client.log_metric(child_id, "mape", value, timestamp=1714550400000 + step, step=step)
    report = root / "report.txt"
    report.write_text("ok")
    client.log_artifact(child_id, str(report))
    dataset = mlflow.data.from_pandas(
        pd.DataFrame({"x": [1, 2]}), source="s3://data/train.csv", name="train"
    )
    client.log_inputs(child_id, [mlflow.entities.DatasetInput(dataset._to_mlflow_entity())])
    client.set_terminated(child_id)
    client.set_terminated(parent_id, status="FAILED")
    standalone = client.create_run(churn, run_name="baseline")
    client.set_terminated(standalone.info.run_id)
    return {
        "uri": uri,
        "parent": parent_id,
        "child": child_id,
        "standalone": standalone.info.run_id,
    }


def test_runs_map_to_trials_of_components(tracking_uri):
    store = export("mlflow", tracking_uri=tracking_uri["uri"], experiment_prefix="churn")

    [churn] = store.experiments
    assert churn.name == "churn-model"
    assert churn.description == "Predict churn."
    assert churn.tags["team"] == "growth"
    trials = {trial.name: trial for trial in churn.trials}
    assert set(trials) == {tracking_uri["parent"], tracking_uri["standalone"]}

    tuning = trials[tracking_uri["parent"]]
    assert tuning.display_name == "tuning"
    assert [c.name for c in tuning.components] == [tracking_uri["parent"], tracking_uri["child"]]
    parent, child = tuning.components
    assert parent.status == "FAILED"
    assert parent.tags["mlflow.source.git.commit"] == "abc123"
    assert parent.parameters == {"search": "grid"}
    assert child.parameters == {"learning_rate": "0.1"}
    mape = child.metrics["mape"]
    assert (mape.last, mape.min, mape.max, mape.count) == (0.35, 0.3, 0.4, 3)
    assert mape.avg == pytest.approx(0.35)
    assert [(p.step, p.value) for p in mape.series] == [(0, 0.4), (1, 0.3), (2, 0.35)]
    assert mape.series[0].timestamp.timestamp() == 1714550400.0
    assert child.output_artifacts["report.txt"].uri.endswith("/report.txt")
    assert child.input_artifacts["train"].uri == "s3://data/train.csv"
    assert child.start_time is not None and child.end_time is not None


def test_all_experiments_without_prefix(tracking_uri):
    store = export("mlflow", tracking_uri=tracking_uri["uri"])
    assert [e.name for e in store.experiments] == ["Default", "churn-model", "fraud-model"]


def test_unreachable_tracking_store_is_an_input_error(tmp_path):
    with pytest.raises(MetadataInputError):
        export("mlflow", tracking_uri="nosuchscheme://nowhere")
