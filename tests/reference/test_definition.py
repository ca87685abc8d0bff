"""The committed reference definition: structure and conventions of the default policy."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard.reference import DEFINITION_PATH, load_definition
from mlops_guard.reference.graph import iter_steps

SCRIPTS = Path(DEFINITION_PATH).parent / "scripts"
PER_EXECUTION = (
    "Execution.PipelineExecutionId",
    "Execution.StartDateTime",
    "Execution.CurrentDateTime",
)


@pytest.fixture(scope="module")
def definition() -> dict:
    return load_definition()


@pytest.fixture(scope="module")
def steps(definition) -> dict:
    return {step.name: step for step in iter_steps(definition)}


def refs(value) -> list[str]:
    """Every ``Get`` reference inside ``value``."""
    if isinstance(value, dict):
        found = [value["Get"]] if isinstance(value.get("Get"), str) else []
        return found + [ref for item in value.values() for ref in refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in refs(item)]
    return []


def is_dt_partition(uri) -> bool:
    """A Join whose last value is ``Join("", ["dt=", ExecutionDate])``."""
    join = uri.get("Std:Join") if isinstance(uri, dict) else None
    if not join or join["On"] != "/":
        return False
    last = join["Values"][-1]
    return isinstance(last, dict) and last.get("Std:Join") == {
        "On": "",
        "Values": ["dt=", {"Get": "Parameters.ExecutionDate"}],
    }


def output_locations(steps) -> dict[str, object]:
    found = {}
    for step in steps.values():
        arguments = step.body.get("Arguments", {})
        for output in arguments.get("ProcessingOutputConfig", {}).get("Outputs", []):
            found[f"{step.name}.{output['OutputName']}"] = output["S3Output"]["S3Uri"]
        if step.type == "Training":
            found[f"{step.name}.model"] = arguments["OutputDataConfig"]["S3OutputPath"]
    return found


def test_loads_without_the_sdk():
    code = (
        "import sys; sys.modules['sagemaker'] = None; sys.modules['pandas'] = None\n"
        "from mlops_guard.reference import load_definition, graph\n"
        "d = load_definition(); print(len(graph.topological_order(d)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8"


def test_steps_types_and_branches(steps):
    assert {name: step.type for name, step in steps.items()} == {
        "Extract": "Processing",
        "PreProc": "Processing",
        "Train": "Training",
        "TrainEvaluation": "Processing",
        "CheckEvaluation": "Condition",
        "Predict": "Processing",
        "PostProc": "Processing",
        "EvaluationFailed": "Fail",
    }
    assert steps["Predict"].branch == ("CheckEvaluation", "if")
    assert steps["PostProc"].branch == ("CheckEvaluation", "if")
    assert steps["EvaluationFailed"].branch == ("CheckEvaluation", "else")
    assert steps["PostProc"].body["DependsOn"] == ["Predict"]
    for name in steps:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]{1,63}", name)


def test_parameters_named_and_all_used(definition):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert set(parameters) == {
        "ExecutionDate",
        "InputDataUri",
        "OutputBaseUri",
        "ProcessingInstanceType",
        "TrainingInstanceType",
    }
    assert parameters["ExecutionDate"]["Type"] == "String"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", parameters["ExecutionDate"]["DefaultValue"])
    used = set(refs(definition["Steps"]))
    for name in parameters:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)
        assert f"Parameters.{name}" in used, f"{name} is declared but never used"


def test_experiment_config(definition):
    assert definition["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }


def test_every_output_is_a_dt_partition_of_its_own(steps):
    locations = output_locations(steps)
    assert set(locations) == {
        "Extract.history",
        "PreProc.train",
        "PreProc.holdout",
        "PreProc.inference",
        "Train.model",
        "TrainEvaluation.evaluation",
        "Predict.predictions",
        "PostProc.predictions",
    }
    prefixes = []
    for name, uri in locations.items():
        assert is_dt_partition(uri), name
        assert not set(refs(uri)) & set(PER_EXECUTION), name
        values = uri["Std:Join"]["Values"]
        assert values[0] == {"Get": "Parameters.OutputBaseUri"}, name
        prefixes.append(values[1])
        step = name.split(".")[0].lower()
        assert values[1].replace("-", "").startswith(step), (name, values[1])
    assert len(set(prefixes)) == len(prefixes), "two outputs share a prefix"
    # The partition the Glue table gets is the PostProc output itself.
    arguments = steps["PostProc"].body["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--partition-uri") + 1] == locations["PostProc.predictions"]


def test_inputs_are_step_outputs_or_code(steps):
    for step in steps.values():
        arguments = step.body.get("Arguments", {})
        sources = [i["S3Input"]["S3Uri"] for i in arguments.get("ProcessingInputs", [])]
        sources += [
            c["DataSource"]["S3DataSource"]["S3Uri"] for c in arguments.get("InputDataConfig", [])
        ]
        for uri in sources:
            if isinstance(uri, str):
                assert re.search(r"/code/[0-9a-f]{64}/\w+\.py$", uri), (step.name, uri)
            else:
                assert uri["Get"].startswith("Steps."), (step.name, uri)


def test_images_pinned_and_code_content_hashed(steps):
    images = set()
    for step in steps.values():
        arguments = step.body.get("Arguments", {})
        image = arguments.get("AppSpecification", {}).get("ImageUri") or arguments.get(
            "AlgorithmSpecification", {}
        ).get("TrainingImage")
        if step.type in ("Processing", "Training"):
            assert re.search(r":[\w.-]+@sha256:[0-9a-f]{64}$", image), step.name
            images.add(image)
        for item in arguments.get("ProcessingInputs", []):
            if item["InputName"] == "code":
                match = re.search(r"/code/([0-9a-f]{64})/(\w+\.py)$", item["S3Input"]["S3Uri"])
                script = SCRIPTS / match.group(2)
                # The SDK hashes the relative path it was given and the content.
                expected = hashlib.sha256(
                    f"scripts/{script.name}".encode() + script.read_bytes()
                ).hexdigest()
                assert match.group(1) == expected, f"{script.name} changed: re-render"
    assert len(images) == 1


def test_training_step(steps):
    arguments = steps["Train"].body["Arguments"]
    hyperparameters = arguments["HyperParameters"]
    assert hyperparameters["random_state"] == "42"
    assert {"n_estimators", "max_depth", "learning_rate"} <= set(hyperparameters)
    metrics = {
        m["Name"]: m["Regex"] for m in arguments["AlgorithmSpecification"]["MetricDefinitions"]
    }
    assert set(metrics) == {"mape", "rmse"}
    assert re.search(metrics["mape"], "train-metric mape=0.0412").group(1) == "0.0412"
    assert arguments["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.PreProc.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }


def test_evaluation_gate(steps):
    evaluation = steps["TrainEvaluation"].body
    assert evaluation["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    assert [
        o["OutputName"] for o in evaluation["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    ] == ["evaluation"]
    assert steps["CheckEvaluation"].body["Arguments"]["Conditions"] == [
        {
            "Type": "LessThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.TrainEvaluation.PropertyFiles.EvaluationReport"},
                    "Path": "metrics.mape.value",
                }
            },
            "RightValue": 0.2,
        }
    ]
    assert steps["EvaluationFailed"].body["Arguments"]["ErrorMessage"]


def test_no_secrets_in_environment_or_arguments(definition):
    text = json.dumps(definition).lower()
    for word in ("password", "secret", "aws_access_key", "token"):
        assert word not in text
