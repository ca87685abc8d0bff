"""The shared analysis of a definition: the one walk every rule reads from must agree
with the plain, slow way of asking the same questions."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_guard.definition import Definition, Step
from mlops_guard.pointer import resolve
from tests.rules.conftest import REFERENCE_PATH

REFERENCE = json.loads(REFERENCE_PATH.read_text())


def containers(node, pointer=""):
    """Every object and array with its pointer: the slow way."""
    yield pointer, node
    if isinstance(node, dict):
        for key, child in node.items():
            if isinstance(child, dict | list):
                token = key.replace("~", "~0").replace("/", "~1")
                yield from containers(child, f"{pointer}/{token}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            if isinstance(child, dict | list):
                yield from containers(child, f"{pointer}/{index}")


ALL_POINTERS = [pointer for pointer, _ in containers(REFERENCE)]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_POINTERS))
def test_references_under_a_pointer_are_those_below_it(pointer):
    definition = Definition(REFERENCE)
    every = definition.references
    expected = [r for r in every if r.pointer == pointer or r.pointer.startswith(pointer + "/")]
    assert definition.references_under(pointer) == expected


def test_every_reference_points_at_its_get_expression():
    definition = Definition(REFERENCE)
    assert len(definition.references) > 20
    for reference in definition.references:
        assert resolve(REFERENCE, reference.pointer) == {"Get": reference.path}
        if reference.kind == "Parameters":
            assert reference.parameter_name == reference.path.split(".", 1)[1]
        if reference.kind == "Steps":
            assert reference.path.startswith(f"Steps.{reference.step_name}")


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["Environment", "HyperParameters", "ProcessingInputs", "Outputs", "Values"]),
    st.text(alphabet="ab/~", min_size=1, max_size=4),
)
def test_nodes_under_a_key_match_the_slow_walk(key, odd_key):
    """Indexed keys and others alike, with keys that need escaping in pointers."""
    document = json.loads(json.dumps(REFERENCE))
    document["Steps"][0]["Arguments"][odd_key] = {key: {"A": "1"}}
    definition = Definition(document)
    expected = [
        (pointer, node)
        for pointer, node in containers(document)
        if pointer and _last_key(pointer) == key
    ]
    assert definition.nodes_under_key(key) == expected
    for pointer, node in expected:
        assert resolve(document, pointer) is node


def _last_key(pointer: str) -> str:
    token = pointer.rsplit("/", 1)[1]
    return token.replace("~1", "/").replace("~0", "~")


def test_step_at_finds_the_innermost_step():
    definition = Definition(REFERENCE)
    for step in definition.steps:
        assert definition.step_at(step.pointer) is step
        assert definition.step_at(step.arguments_pointer + "/X/0") is step
    assert definition.step_at("/Parameters/0") is None
    assert definition.step_at("/Steps") is None


# -- step shapes ---------------------------------------------------------------------------


def _one_step(step: dict) -> Definition:
    return Definition({"Version": "2020-12-01", "Steps": [step]})


def test_tuning_steps_run_and_write_through_every_training_job_definition():
    job = {
        "AlgorithmSpecification": {"TrainingImage": "img:1"},
        "OutputDataConfig": {"S3OutputPath": "s3://b/single"},
    }
    second = {**job, "DefinitionName": "xgb", "OutputDataConfig": {"S3OutputPath": "s3://b/xgb"}}
    definition = _one_step(
        {
            "Name": "Tune",
            "Type": "Tuning",
            "Arguments": {"TrainingJobDefinition": job, "TrainingJobDefinitions": [second]},
        }
    )
    step = definition.steps[0]
    assert [(j.kind, j.pointer) for j in step.jobs] == [
        ("training", "/Steps/0/Arguments/TrainingJobDefinition"),
        ("training", "/Steps/0/Arguments/TrainingJobDefinitions/0"),
    ]
    assert [(o.kind, o.name, o.value) for o in definition.outputs] == [
        ("tuning", "model", "s3://b/single"),
        ("tuning", "xgb", "s3://b/xgb"),
    ]
    assert [value for _, value in step.images] == ["img:1", "img:1"]


def test_check_steps_are_processing_jobs_with_outputs():
    for step_type in ("QualityCheck", "ClarifyCheck"):
        arguments = {
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": "report", "S3Output": {"S3Uri": "s3://b/r"}}]
            }
        }
        definition = _one_step({"Name": "C", "Type": step_type, "Arguments": arguments})
        assert [j.kind for j in definition.steps[0].jobs] == ["processing"]
        assert [(o.kind, o.name) for o in definition.outputs] == [("processing", "report")]


def test_automl_output_is_an_output_kind():
    arguments = {
        "OutputDataConfig": {"S3OutputPath": "s3://b/"},
        "InputDataConfig": [
            {"ChannelType": "training", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/in"}}}
        ],
    }
    definition = _one_step({"Name": "A", "Type": "AutoML", "Arguments": arguments})
    assert [(o.kind, o.pointer) for o in definition.outputs] == [
        ("automl", "/Steps/0/Arguments/OutputDataConfig/S3OutputPath")
    ]
    assert definition.steps[0].jobs[0].inputs == [
        (
            "training",
            "/Steps/0/Arguments/InputDataConfig/0/DataSource/S3DataSource/S3Uri",
            "s3://b/in",
        )
    ]


def test_images_include_rule_evaluators_and_registered_containers():
    training = _one_step(
        {
            "Name": "T",
            "Type": "Training",
            "Arguments": {
                "AlgorithmSpecification": {"TrainingImage": "train:1"},
                "DebugRuleConfigurations": [{"RuleEvaluatorImage": "debug:1"}],
                "ProfilerRuleConfigurations": [{"RuleEvaluatorImage": "profiler:1"}],
            },
        }
    )
    assert [v for _, v in training.steps[0].images] == ["train:1", "debug:1", "profiler:1"]
    register = _one_step(
        {
            "Name": "R",
            "Type": "RegisterModel",
            "Arguments": {"InferenceSpecification": {"Containers": [{"Image": "serve:1"}]}},
        }
    )
    assert register.steps[0].images == [
        ("/Steps/0/Arguments/InferenceSpecification/Containers/0/Image", "serve:1")
    ]
    assert register.steps[0].jobs == []


def test_reference_outputs_are_unchanged_by_the_step_shapes():
    definition = Definition(REFERENCE)
    assert [(o.step.name, o.kind, o.name) for o in definition.outputs] == [
        ("Extract", "processing", "history"),
        ("PreProc", "processing", "train"),
        ("PreProc", "processing", "holdout"),
        ("PreProc", "processing", "inference"),
        ("Train", "training", "model"),
        ("TrainEvaluation", "processing", "evaluation"),
        ("Predict", "processing", "predictions"),
        ("PostProc", "processing", "predictions"),
    ]


def _training(channels=(), entrypoint=None, name="Job", display=None) -> Step:
    arguments = {"InputDataConfig": [{"ChannelName": channel} for channel in channels]}
    if entrypoint is not None:
        arguments["AlgorithmSpecification"] = {"ContainerEntrypoint": entrypoint}
    raw = {"Name": name, "Type": "Training", "Arguments": arguments}
    if display is not None:
        raw["DisplayName"] = display
    return Step(name, "Training", "/Steps/0", raw)


def test_step_kinds_of_training_steps():
    bootstrap = "sagemaker_remote_function_bootstrap"
    driver = ["/bin/bash", f"/opt/ml/input/data/{bootstrap}/job_driver.sh"]
    notebook = "sagemaker_headless_execution_pipelinestep"
    assert _training(["train"]).sdk_runner is None
    assert _training([bootstrap]).sdk_runner == "function"
    assert _training(entrypoint=driver).sdk_runner == "function"
    assert _training([notebook]).sdk_runner == "notebook"
    assert _training(entrypoint=["amazon_sagemaker_scheduler"]).sdk_runner == "notebook"
    processing = Step(
        "P", "Processing", "/Steps/0", {"InputDataConfig": [{"ChannelName": bootstrap}]}
    )
    assert processing.sdk_runner is None


def test_steps_that_train():
    bootstrap = ["sagemaker_remote_function_bootstrap"]
    assert _training(["train"], name="Anything").trains
    assert Step("T", "Tuning", "/Steps/0", {}).trains
    assert not Step("P", "Processing", "/Steps/0", {}).trains
    assert _training(bootstrap, name="TrainModel").trains
    assert _training(bootstrap, name="s", display="pipelines.steps.training.train").trains
    assert _training(bootstrap, name="fit_xgb").trains
    assert _training(bootstrap, name="Tune").trains
    assert not _training(bootstrap, name="PrepareFeatures", display="steps.prep.prepare").trains
    assert not _training(bootstrap, name="TunnelData").trains
    assert _training(bootstrap, name="RegisterModel", display="a.b.c").name_words == [
        "register", "model", "a", "b", "c",
    ]  # fmt: skip
