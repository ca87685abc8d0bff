"""Local runs of the reference pipeline: outputs, metadata, idempotence, failures."""

from __future__ import annotations

import io
import json
import re
import tarfile

import pytest

from tests.reference.conftest import (
    RUN_DATE,
    cli,
    interrupted_run,
    relocated,
    snapshot,
)

pytestmark = pytest.mark.slow

EXPECTED_FILES = {
    "_metadata/dt=2026-11-22/metadata.json",
    "extract/history/dt=2026-11-22/history.csv",
    "preproc/train/dt=2026-11-22/train.csv",
    "preproc/holdout/dt=2026-11-22/holdout.csv",
    "preproc/inference/dt=2026-11-22/inference.csv",
    "train/model/dt=2026-11-22/pipelines-execution-{id}-Train/output/model.tar.gz",
    "train-evaluation/evaluation/dt=2026-11-22/evaluation.json",
    "predict/predictions/dt=2026-11-22/predictions.csv",
    "postproc/predictions/dt=2026-11-22/predictions.parquet",
}


def expected_files(execution_id: str) -> set[str]:
    return {
        name.replace("{id}", execution_id.removeprefix("execution-")) for name in EXPECTED_FILES
    }


def metadata_of(root) -> dict:
    return json.loads((root / f"_metadata/dt={RUN_DATE}/metadata.json").read_text())


def test_clean_run_layout_and_results(clean_local_run):
    metadata = metadata_of(clean_local_run)
    trial = metadata["experiments"][0]["trials"][0]
    assert re.fullmatch(r"execution-[a-z0-9]{12}", trial["name"])
    assert set(snapshot(clean_local_run)) == expected_files(trial["name"])
    report = json.loads(
        (clean_local_run / f"train-evaluation/evaluation/dt={RUN_DATE}/evaluation.json").read_text()
    )
    assert set(report["metrics"]) == {"mape", "rmse"}
    assert 0 < report["metrics"]["mape"]["value"] < 0.1, (
        "the reference model must be well below 0.2"
    )
    import pyarrow.parquet as pq

    table = pq.read_table(
        clean_local_run / f"postproc/predictions/dt={RUN_DATE}/predictions.parquet"
    )
    assert table.column("prediction_date").to_pylist() == [RUN_DATE]
    assert 50 < table.column("applications_forecast").to_pylist()[0] < 5000
    model = next(clean_local_run.glob("train/model/dt=*/*/output/model.tar.gz")).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(model), mode="r:gz") as tar:
        assert tar.getnames() == ["model.pkl"]


def test_metadata_export(clean_local_run):
    metadata = metadata_of(clean_local_run)
    assert metadata["format"] == "mlops-guard-metadata" and metadata["version"] == 1
    (experiment,) = metadata["experiments"]
    assert experiment["name"] == "daily-demand-forecast"
    (trial,) = experiment["trials"]
    assert trial["pipeline_execution_arn"] == (
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/daily-demand-forecast/execution/"
        + trial["name"]
    )
    components = {c["display_name"]: c for c in trial["components"]}
    assert list(components) == [
        "Extract",
        "PreProc",
        "Train",
        "TrainEvaluation",
        "Predict",
        "PostProc",
    ]
    for name, component in components.items():
        parameters = component["parameters"]
        assert component["status"] == "Completed"
        assert (
            component["start_time"].startswith(f"{RUN_DATE}T")
            and component["end_time"] > component["start_time"]
        )
        assert parameters["ExecutionDate"] == RUN_DATE
        assert re.search(r"@sha256:[0-9a-f]{64}$", parameters["image_uri"])
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", parameters["code_version"]), name
        assert f"dt={RUN_DATE}" in parameters["data_version"], name
        assert parameters["instance_type"] == "ml.m5.large" and parameters["note"]
        assert component["pipeline_execution_arn"] == trial["pipeline_execution_arn"]
        for artifact in component["output_artifacts"].values():
            assert f"dt={RUN_DATE}" in artifact["uri"]
    train, evaluation = components["Train"], components["TrainEvaluation"]
    assert (
        train["parameters"]["hp.random_state"] == 42
        and train["parameters"]["hp.n_estimators"] == 300
    )
    report = json.loads(
        (clean_local_run / f"train-evaluation/evaluation/dt={RUN_DATE}/evaluation.json").read_text()
    )
    for component in (train, evaluation):
        assert set(component["metrics"]) == {"mape", "rmse"}
        for metric in component["metrics"].values():
            assert metric["count"] == len(metric["series"]) == 1
            assert metric["last"] == metric["min"] == metric["max"] == metric["avg"]
    assert evaluation["metrics"]["mape"]["last"] == report["metrics"]["mape"]["value"]
    assert train["metrics"]["mape"]["last"] < evaluation["metrics"]["mape"]["last"]


def test_interrupted_run_then_rerun_equals_clean_run(clean_local_run, tmp_path):
    output = tmp_path / "out"
    printed = interrupted_run("--date", RUN_DATE, "--output", str(output), hold_step="PreProc")
    assert "[Extract] done" in printed
    partial = snapshot(output)
    assert f"preproc/train/.dt={RUN_DATE}.partial/train.csv" in partial, sorted(partial)
    assert not any(name.startswith("preproc/train/dt=") for name in partial)
    assert not any(name.startswith("_metadata") for name in partial)

    result = cli("run", "--date", RUN_DATE, "--output", str(output), "--quiet")
    assert result.returncode == 0, result.stderr
    assert snapshot(output) == relocated(
        snapshot(clean_local_run), str(clean_local_run), str(output)
    )


def test_failed_evaluation_publishes_nothing(tmp_path):
    output = tmp_path / "out"
    result = cli("run", "--date", RUN_DATE, "--output", str(output), "--bad-model")
    assert result.returncode == 1, result.stdout + result.stderr
    reason = result.stderr.strip()
    assert len(reason.splitlines()) == 1
    match = re.search(r"metrics\.mape\.value = ([0-9.]+) <= threshold 0\.2: fails", reason)
    assert match and float(match.group(1)) > 0.2, reason
    assert "[Predict]" not in result.stdout
    files = snapshot(output)
    assert not any(name.startswith(("predict/", "postproc/")) for name in files)
    assert f"train-evaluation/evaluation/dt={RUN_DATE}/evaluation.json" in files
    trial = json.loads(files[f"_metadata/dt={RUN_DATE}/metadata.json"])["experiments"][0]["trials"][
        0
    ]
    train = next(c for c in trial["components"] if c["display_name"] == "Train")
    assert train["parameters"]["hp.n_estimators"] == 1


@pytest.mark.parametrize("date", ["2026-02-30", "2026-1-5", "tomorrow"])
def test_malformed_date(tmp_path, date):
    result = cli("run", "--date", date, "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: malformed date {date!r}: " + (
        "not a calendar date" if date == "2026-02-30" else "expected YYYY-MM-DD"
    )
    assert not (tmp_path / "out").exists()


def test_missing_input(tmp_path):
    source = tmp_path / "exports"
    (source / "dt=2026-11-21").mkdir(parents=True)  # yesterday's export only
    (source / "dt=2026-11-21" / "history.csv").write_text("date,applications\n")
    output = tmp_path / "out"
    result = cli("run", "--date", RUN_DATE, "--output", str(output), "--input", str(source))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0] == f"error: Extract: missing input: no CSV files in {source}/dt={RUN_DATE}"
    assert snapshot(output) == {}


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cli("run", "--date", RUN_DATE, "--output", str(blocker / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: output {blocker}/out is not writable: Not a directory"
    assert "Traceback" not in result.stderr
