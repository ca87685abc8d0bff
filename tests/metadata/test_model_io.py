"""The export format: loading, precise errors, deterministic dumps, the committed schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from mlops_guard.metadata import MetadataInputError, MetadataStore, dump_store, load_store
from mlops_guard.metadata.schema import SCHEMA_PATH, json_schema, schema_text

EXECUTION = "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/1"
EXPORT = {
    "format": "mlops-guard-metadata",
    "version": 1,
    "experiments": [
        {
            "name": "churn",
            "display_name": "Churn",
            "description": None,
            "tags": {"team": "growth"},
            "trials": [
                {
                    "name": "exec-0",
                    "display_name": None,
                    "tags": {},
                    "pipeline_execution_arn": None,
                },
                {
                    "name": "exec-1",
                    "display_name": "Execution 1",
                    "tags": {},
                    "pipeline_execution_arn": EXECUTION,
                    "components": [
                        {
                            "name": "train",
                            "display_name": "Train",
                            "description": "training job",
                            "status": "Completed",
                            "source_arn": "arn:aws:sagemaker:us-east-1:1:training-job/t",
                            "start_time": "2024-05-01T08:00:00Z",
                            "end_time": "2024-05-01T08:30:00+00:00",
                            "tags": {"owner": "ml"},
                            "parameters": {"lr": 0.1, "epochs": 10, "algo": "xgb", "early": True},
                            "metrics": {
                                "mape": {
                                    "last": 0.1,
                                    "min": 0.1,
                                    "max": 0.3,
                                    "avg": 0.2,
                                    "count": 2,
                                    "series": [
                                        {"step": 0, "timestamp": None, "value": 0.3},
                                        {
                                            "step": 1,
                                            "timestamp": "2024-05-01T08:10:00Z",
                                            "value": 0.1,
                                        },
                                    ],
                                }
                            },
                            "input_artifacts": {
                                "train": {"uri": "s3://d/t.csv", "media_type": "text/csv"}
                            },
                            "output_artifacts": {"model": {"uri": "s3://m/model.tar.gz"}},
                            "pipeline_execution_arn": None,
                        }
                    ],
                },
            ],
        }
    ],
    "pipelines": [
        {
            "name": "p",
            "arn": "arn:aws:sagemaker:us-east-1:1:pipeline/p",
            "definition": {"Version": "2020-12-01", "Steps": []},
            "tags": {},
            "schedules": [
                {
                    "kind": "scheduler",
                    "name": "weekly",
                    "expression": "rate(7 days)",
                    "state": "ENABLED",
                    "passes_parameters": {"InputData": "s3://d"},
                }
            ],
            "notifications": [
                {
                    "rule_name": "failed",
                    "event_pattern": {"source": ["aws.sagemaker"]},
                    "targets": [],
                }
            ],
            "executions": [
                {
                    "arn": EXECUTION,
                    "status": "Failed",
                    "start_time": "2024-05-01T08:00:00Z",
                    "end_time": None,
                    "failure_reason": "step Train failed",
                    "parameters": {"InputData": "s3://d"},
                }
            ],
        }
    ],
}


def _write(tmp_path, document, name="export.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _component(document):
    return document["experiments"][0]["trials"][1]["components"][0]


def test_loads_the_documented_format(tmp_path):
    store = load_store(_write(tmp_path, EXPORT))
    component = store.experiments[0].trials[1].components[0]
    assert component.parameters == {"lr": 0.1, "epochs": 10, "algo": "xgb", "early": True}
    assert type(component.parameters["epochs"]) is int
    assert component.start_time == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert component.metrics["mape"].series[1].step == 1
    assert store.pipelines[0].schedules[0].kind == "scheduler"
    assert store.unreadable == []


def test_optional_fields_may_be_missing_or_null(tmp_path):
    document = {
        "format": "mlops-guard-metadata",
        "version": 1,
        "experiments": [{"name": "e", "tags": None, "trials": [{"name": "t", "components": None}]}],
    }
    store = load_store(_write(tmp_path, document))
    assert store.experiments[0].tags == {}
    assert store.pipelines == []


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            lambda c: c["metrics"]["mape"].update(count=2.5),
            "/metrics/mape/count",
            "expected an integer",
        ),
        (
            lambda c: c["metrics"]["mape"].update(count="2"),
            "/metrics/mape/count",
            "expected an integer",
        ),
        (lambda c: c.update(paramters={}), "/paramters", "unknown key"),
        (lambda c: c.update(parameters={"lr": [1]}), "/parameters/lr", "expected a string, number"),
        (lambda c: c.update(start_time="yesterday"), "/start_time", "ISO 8601"),
        (lambda c: c.pop("name"), "/name", "missing required key"),
        (
            lambda c: c["output_artifacts"].update(m={"url": "s3://x"}),
            "/output_artifacts/m/uri",
            "missing",
        ),
        (lambda c: c["tags"].update(owner=1), "/tags/owner", "expected a string"),
    ],
)
def test_errors_name_the_file_and_pointer(tmp_path, change, where, message):
    document = json.loads(json.dumps(EXPORT))
    change(_component(document))
    path = _write(tmp_path, document)
    with pytest.raises(MetadataInputError) as caught:
        load_store(path)
    prefix = f"{path}: /experiments/0/trials/1/components/0{where}: "
    assert str(caught.value).startswith(prefix), str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "line 1, column 2: invalid JSON"),
        ("[]", "expected an object at the top level"),
        ('{"format": "other"}', "/format: not an mlops-guard metadata export"),
        ('{"format": "mlops-guard-metadata", "version": 3}', "/version: expected 1 or 2"),
        (
            '{"format": "mlops-guard-metadata", "pipelines": [{"name": "p", "schedules": '
            '[{"kind": "cron", "name": "s"}]}]}',
            "/pipelines/0/schedules/0/kind: expected",
        ),
    ],
)
def test_document_level_errors(tmp_path, text, message):
    path = tmp_path / "export.json"
    path.write_text(text)
    with pytest.raises(MetadataInputError) as caught:
        load_store(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_unreadable_files_are_input_errors(tmp_path):
    with pytest.raises(MetadataInputError, match="cannot read"):
        load_store(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(MetadataInputError, match="not UTF-8"):
        load_store(binary)
    bad_yaml = tmp_path / "export.yaml"
    bad_yaml.write_text("a: [1,\n")
    with pytest.raises(MetadataInputError, match=r"export\.yaml: line .*invalid YAML"):
        load_store(bad_yaml)


def test_yaml_and_json_dumps_round_trip_and_are_deterministic(tmp_path):
    store = load_store(_write(tmp_path, EXPORT))
    for name in ("out.json", "out.yaml"):
        dump_store(store, tmp_path / name)
        first = (tmp_path / name).read_bytes()
        assert load_store(tmp_path / name) == store
        dump_store(load_store(tmp_path / name), tmp_path / name)
        assert (tmp_path / name).read_bytes() == first
    assert json.loads((tmp_path / "out.json").read_text())["experiments"][0]["name"] == "churn"


def test_committed_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text() == schema_text(), "run: python -m mlops_guard.metadata.schema"


def test_schema_accepts_what_the_model_dumps(tmp_path):
    store = load_store(_write(tmp_path, EXPORT))
    jsonschema.Draft202012Validator(json_schema()).validate(store.model_dump(mode="json"))
    bad = store.model_dump(mode="json")
    bad["experiments"][0]["typo"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json_schema()).validate(bad)


def test_model_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, mlops_guard.metadata, mlops_guard.metadata.model, "
        "mlops_guard.metadata.sources;"
        "heavy = {'boto3', 'botocore', 'mlflow', 'pandas'} & set(sys.modules); print(sorted(heavy))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


def test_default_store_is_empty_and_versioned():
    store = MetadataStore()
    assert (store.format, store.version, store.experiments) == ("mlops-guard-metadata", 2, [])


def test_export_rejects_unknown_sources_and_options(tmp_path):
    from mlops_guard.metadata.sources import export

    with pytest.raises(MetadataInputError, match="unknown metadata source 'dynamo'"):
        export("dynamo")
    with pytest.raises(MetadataInputError, match="unexpected keyword argument 'region'"):
        export("file", path=tmp_path / "x.json", region="us-east-1")
    path = _write(tmp_path, EXPORT)
    assert export("file", path=path) == load_store(path)
