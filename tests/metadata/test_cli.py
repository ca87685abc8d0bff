"""``mlops-guard export`` as the main CLI calls it: exit codes, one-line errors, files."""

from __future__ import annotations

import json

import pytest

from mlops_guard.metadata import load_store
from mlops_guard.metadata.cli import main_export


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: SOURCE"),
        (["sagemaker"], "the following arguments are required: -o/--output"),
        (["mlflow", "-o", "x.json"], "required: --tracking-uri"),
        (["sagemaker", "--since", "last week", "-o", "x.json"], "not an ISO date"),
        (["dynamo", "-o", "x.json"], "invalid choice: 'dynamo'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv, expected, capsys):
    assert main_export(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlops-guard: error: ")
    assert expected in err
    assert err.count("\n") == 1


def test_help_exits_0(capsys):
    assert main_export(["--help"]) == 0
    assert "mlops-guard export" in capsys.readouterr().out


@pytest.mark.slow
def test_exports_sagemaker_to_a_file(sagemaker_account, tmp_path, capsys):
    output = tmp_path / "export.json"
    code = main_export(
        ["sagemaker", "--region", "us-east-1", "--experiment-prefix", "", "-o", str(output)]
    )
    assert code == 0
    store = load_store(output)
    assert [e.name for e in store.experiments] == ["churn-model", "fraud-model"]
    assert store.pipelines[0].name == "churn-pipeline"
    assert json.loads(output.read_text())["format"] == "mlops-guard-metadata"
    assert "warning: not readable: sagemaker-metrics:BatchGetMetrics" in capsys.readouterr().err


@pytest.mark.slow
def test_source_failure_is_exit_2_without_traceback(moto_server, tmp_path, capsys):
    code = main_export(["sagemaker", "--profile", "no-such-profile", "-o", str(tmp_path / "x")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("mlops-guard: error: sagemaker: ")
    assert "Traceback" not in err


def test_exports_mlflow_as_yaml(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    output = tmp_path / "export.yaml"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()  # a new, empty tracking database
    assert main_export(["mlflow", "--tracking-uri", uri, "-o", str(output)]) == 0
    assert [e.name for e in load_store(output).experiments] == ["Default"]


def test_export_never_creates_the_store_it_reads(tmp_path, capsys):
    pytest.importorskip("mlflow")
    output = tmp_path / "export.yaml"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main_export(["mlflow", "--tracking-uri", uri, "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlops-guard: error: ") and "no such MLflow database" in err
    assert list(tmp_path.iterdir()) == []
