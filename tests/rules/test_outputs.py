"""Each idempotent-output rule fires on one minimal mutation of the reference, and only then."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.corpus import CORPUS, CORPUS_FILES, needs_corpus
from tests.rules.conftest import builtin_rules, find_step, reference_definition, run_check

TRAIN_OUTPUT = "/Steps/2/Arguments/OutputDataConfig/S3OutputPath"
POSTPROC_OUTPUT = (
    "/Steps/4/Arguments/IfSteps/1/Arguments/ProcessingOutputConfig/Outputs/0/S3Output/S3Uri"
)
RUN_DATE = {"Get": "Parameters.ExecutionDate"}


def rules_module(rule_id: str):
    """The loaded module of a rule, for its helper functions."""
    found = next(rule for rule in builtin_rules() if rule.id == rule_id)
    return sys.modules[found.function.__module__]


def train_values(definition: dict) -> list:
    """``[{OutputBaseUri}, "train/model", Join(dt=, ExecutionDate)]`` of Train's output."""
    path = find_step(definition, "Train")["Arguments"]["OutputDataConfig"]["S3OutputPath"]
    return path["Std:Join"]["Values"]


def only(findings, rule_id: str):
    assert [f.rule for f in findings] == [rule_id], [f.message for f in findings]
    return findings[0]


def test_reference_is_clean(reference, check):
    assert check(reference, select=["IO", "ET"]) == []


def test_reference_layout_is_what_these_tests_mutate(reference):
    assert train_values(reference)[1] == "train/model"
    assert train_values(reference)[2]["Std:Join"]["Values"] == ["dt=", RUN_DATE]
    assert reference["Parameters"][0]["Name"] == "ExecutionDate"


# IO001 -------------------------------------------------------------------------------------


def test_missing_run_date_parameter(reference, check):
    reference["Parameters"][0]["Name"] = "RunDate"
    finding = only(check(reference, select=["IO001"]), "IO001")
    assert "'ExecutionDate'" in finding.message and "'RunDate'" in finding.message
    assert finding.location.pointer == "/Parameters"


def test_run_date_parameter_named_by_policy(reference, check):
    finding = only(
        check(
            reference,
            select=["IO001"],
            policy={"idempotent_outputs": {"run_date_parameter": "Day"}},
        ),
        "IO001",
    )
    assert "'Day'" in finding.message


def test_run_date_parameter_wrong_type(reference, check):
    reference["Parameters"][0]["Type"] = "Integer"
    finding = only(check(reference, select=["IO001"]), "IO001")
    assert "'Integer'" in finding.message
    assert finding.location.pointer == "/Parameters/0/Type"


@pytest.mark.parametrize("default", ["2026/11/22", "20261122", "", "yesterday", 20261122])
def test_run_date_default_format(reference, check, default):
    reference["Parameters"][0]["DefaultValue"] = default
    finding = only(check(reference, select=["IO001"]), "IO001")
    assert repr(default) in finding.message
    assert finding.location.pointer == "/Parameters/0/DefaultValue"


def test_run_date_without_default(reference, check):
    del reference["Parameters"][0]["DefaultValue"]
    finding = only(check(reference, select=["IO001"]), "IO001")
    assert "no default" in finding.message
    assert finding.location.pointer == "/Parameters/0"


# IO002 -------------------------------------------------------------------------------------


def test_output_without_partition(reference, check):
    train_values(reference).pop()
    finding = only(check(reference, select=["IO002"]), "IO002")
    assert "'Train'" in finding.message and "dt={Parameters.ExecutionDate}" in finding.message
    assert finding.location.pointer == TRAIN_OUTPUT
    assert finding.subject == "Train"


def test_literal_partition_never_changes(reference, check):
    train_values(reference)[2] = "dt=2024-01-01"
    finding = only(check(reference, select=["IO002"]), "IO002")
    assert "'dt=2024-01-01' is a literal" in finding.message
    assert finding.location.pointer == TRAIN_OUTPUT + "/Std:Join/Values/2"


def test_partition_on_another_parameter(reference, check):
    train_values(reference)[2]["Std:Join"]["Values"][1] = {"Get": "Parameters.InputDataUri"}
    finding = only(check(reference, select=["IO002"]), "IO002")
    assert (
        "dt={Parameters.InputDataUri}" in finding.message and "not the run date" in finding.message
    )


@pytest.mark.parametrize("prefix", ["date=", "xdt=", "dt-", ""])
def test_run_date_not_as_partition_segment(reference, check, prefix):
    train_values(reference)[2]["Std:Join"]["Values"][0] = prefix
    finding = only(check(reference, select=["IO002"]), "IO002")
    assert "not as a path segment" in finding.message


def test_whole_parameter_output_judged_by_default(reference, check):
    find_step(reference, "Train")["Arguments"]["OutputDataConfig"]["S3OutputPath"] = {
        "Get": "Parameters.OutputBaseUri"
    }
    finding = only(check(reference, select=["IO002"]), "IO002")
    assert "judged by its default 's3://" in finding.message
    assert finding.location.pointer == TRAIN_OUTPUT


def test_exempt_steps_are_skipped(reference, check):
    train_values(reference).pop()
    policy = {"idempotent_outputs": {"exempt_steps": ["Tra*"]}}
    assert check(reference, select=["IO002"], policy=policy) == []


def test_output_kinds_limit_the_outputs(reference, check):
    train_values(reference).pop()
    policy = {"idempotent_outputs": {"output_kinds": ["processing"]}}
    assert check(reference, select=["IO"], policy=policy) == []


def test_extra_outputs_are_checked(reference, check):
    policy = {
        "idempotent_outputs": {
            "extra_outputs": {"Processing": ["/AppSpecification/ContainerArguments/7"]}
        }
    }
    assert check(reference, select=["IO"], policy=policy) == []
    arguments = find_step(reference, "PostProc")["Arguments"]["AppSpecification"]
    arguments["ContainerArguments"][7]["Std:Join"]["Values"].pop()
    finding = only(check(reference, select=["IO"], policy=policy), "IO002")
    assert "'/AppSpecification/ContainerArguments/7' of step 'PostProc'" in finding.message
    assert finding.location.pointer.endswith(
        "/IfSteps/1/Arguments/AppSpecification/ContainerArguments/7"
    )


_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.=", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    segments=st.lists(_SEGMENT, min_size=1, max_size=6),
    position=st.integers(min_value=0, max_value=6),
    with_partition=st.booleans(),
    trailing_slash=st.booleans(),
)
def test_partition_segment_detection(segments, position, with_partition, trailing_slash):
    module = rules_module("IO002")
    wanted = "dt={Parameters.ExecutionDate}"
    parts = ["s3://bucket", *segments]
    if with_partition:
        parts.insert(min(1 + position, len(parts)), wanted)
    uri = "/".join(parts) + ("/" if trailing_slash else "")
    problem = module.partition_problem(uri, "dt", "ExecutionDate")
    assert (problem is None) == with_partition
    # glued to a neighbouring segment, it is no partition
    glued = uri.replace("/" + wanted, "-" + wanted) if with_partition else uri + "x"
    assert module.partition_problem(glued, "dt", "ExecutionDate") is not None


@settings(max_examples=30, deadline=None)
@given(prefix=st.lists(_SEGMENT, min_size=1, max_size=3), with_partition=st.booleans())
def test_partition_detection_through_the_engine(prefix, with_partition):
    definition = reference_definition()
    values = train_values(definition)
    values[1] = "/".join(prefix)
    if not with_partition:
        values.pop()
    findings = run_check(definition, select=["IO002"])
    assert bool(findings) != with_partition


# IO003 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable",
    [
        "Execution.PipelineExecutionId",
        "Execution.PipelineExecutionArn",
        "Execution.StartDateTime",
        "Execution.CurrentDateTime",
    ],
)
def test_forbidden_execution_variable(reference, check, variable):
    train_values(reference).insert(2, {"Get": variable})
    finding = only(check(reference, select=["IO003"]), "IO003")
    assert variable in finding.message and "'Train'" in finding.message
    assert finding.location.pointer == TRAIN_OUTPUT + "/Std:Join/Values/2"


def test_pipeline_name_is_stable(reference, check):
    train_values(reference).insert(1, {"Get": "Execution.PipelineName"})
    assert check(reference, select=["IO003"]) == []


@pytest.mark.parametrize(
    "variable", ["Execution.TrainingJobName", "Steps.Extract.ProcessingJobName"]
)
def test_generated_job_name(reference, check, variable):
    train_values(reference).insert(2, {"Get": variable})
    finding = only(check(reference, select=["IO003"]), "IO003")
    assert variable in finding.message and "job name" in finding.message


@pytest.mark.parametrize(
    ("literal", "volatile"),
    [
        ("script-eval-2026-11-23-07-24-33-718/model", "2026-11-23-07-24-33-718"),
        ("pipeline11-23-07-25-37/model", "11-23-07-25-37"),
        ("train/1795418799/model", "1795418799"),
        ("train/1795418799123/model", "1795418799123"),
    ],
)
def test_render_time_literal(reference, check, literal, volatile):
    train_values(reference)[1] = literal
    finding = only(check(reference, select=["IO003"]), "IO003")
    assert repr(volatile) in finding.message
    assert finding.location.pointer == TRAIN_OUTPUT + "/Std:Join/Values/1"


@pytest.mark.parametrize(
    "literal", ["train/2026-11-23/model", "train/v2/model", "123456789012/model", "a1795418799b"]
)
def test_stable_literals_pass(reference, check, literal):
    train_values(reference)[1] = literal
    assert check(reference, select=["IO003"]) == []


def test_render_time_parameter_default(reference, check):
    reference["Parameters"][2]["DefaultValue"] = "s3://bucket/run-2026-11-23-07-24-33-718"
    findings = check(reference, select=["IO003"])
    assert findings and {f.rule for f in findings} == {"IO003"}
    assert all("default of parameter 'OutputBaseUri'" in f.message for f in findings)
    assert TRAIN_OUTPUT + "/Std:Join/Values/0" in {f.location.pointer for f in findings}


def test_forbidden_variables_come_from_policy(reference, check):
    train_values(reference).insert(2, {"Get": "Execution.PipelineExecutionId"})
    policy = {"idempotent_outputs": {"forbidden_variables": []}}
    assert check(reference, select=["IO003"], policy=policy) == []


# IO004 -------------------------------------------------------------------------------------


def test_two_steps_write_the_same_location(reference, check):
    postproc = find_step(reference, "PostProc")["Arguments"]["ProcessingOutputConfig"]
    postproc["Outputs"][0]["S3Output"]["S3Uri"]["Std:Join"]["Values"][1] = "predict/predictions"
    finding = only(check(reference, select=["IO004"]), "IO004")
    assert "'PostProc'" in finding.message and "the same location as" in finding.message
    assert "step 'Predict'" in finding.message
    assert finding.location.pointer == POSTPROC_OUTPUT


def test_location_inside_another_by_default(reference, check):
    find_step(reference, "Train")["Arguments"]["OutputDataConfig"]["S3OutputPath"] = {
        "Get": "Parameters.OutputBaseUri"
    }
    findings = check(reference, select=["IO004"])
    by_pointer = {f.location.pointer: f for f in findings}
    assert "a prefix of the location of output 'history' of step 'Extract'" in (
        by_pointer[TRAIN_OUTPUT].message
    )
    assert "by the parameters' defaults" in by_pointer[TRAIN_OUTPUT].message
    evaluation = by_pointer["/Steps/3/Arguments/ProcessingOutputConfig/Outputs/0/S3Output/S3Uri"]
    assert "inside the location of output 'model' of step 'Train'" in evaluation.message


def test_prefixes_compare_whole_segments(reference, check):
    evaluation = find_step(reference, "TrainEvaluation")["Arguments"]["ProcessingOutputConfig"]
    uri = evaluation["Outputs"][0]["S3Output"]["S3Uri"]["Std:Join"]["Values"]
    uri[1] = "train/model-evaluation"  # shares the text "train/model", not a segment
    train_values(reference).pop()  # Train: <base>/train/model, a string prefix of it
    assert check(reference, select=["IO004"]) == []


# the real-world corpus ---------------------------------------------------------------------


def corpus_findings(stem: str, select: list[str]) -> list:
    path = CORPUS / f"{stem}.json"
    return run_check(json.loads(path.read_text(encoding="utf-8")), select=select, name=stem)


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_corpus_checks_without_crash(path):
    findings = corpus_findings(path.stem, ["IO"])
    crashed = [f.message for f in findings if "crashed" in f.message or f.extra.get("crashed")]
    assert crashed == []
    assert {f.rule for f in findings} <= {"IO001", "IO002", "IO003", "IO004"}


@needs_corpus
def test_corpus_render_epoch_in_output():
    """mammo-train builds its prefix from ``int(time.time())`` at render time."""
    findings = corpus_findings("mammo-train", ["IO003"])
    first = "/Steps/0/Arguments/ProcessingOutputConfig/Outputs/0/S3Output/S3Uri"
    assert any(f.location.pointer == first and "'1795418799'" in f.message for f in findings)


@needs_corpus
def test_corpus_outputs_sharing_one_location():
    """The HPO example sends train, validation and test to one and the same prefix."""
    findings = corpus_findings("ase-hyperparameter-tuning", ["IO004"])
    assert [f.subject for f in findings] == ["PreprocessAbaloneDataForHPO"] * 2
    assert all("the same location as output 'train'" in f.message for f in findings)


@needs_corpus
def test_corpus_execution_id_and_render_timestamp():
    findings = corpus_findings("ase-lambda_step", ["IO003"])
    messages = [f.message for f in findings if f.subject == "PreprocessAbaloneData"]
    assert sum("depends on Execution.PipelineExecutionId" in m for m in messages) == 3
    assert sum("'11-23-07-25-37'" in m for m in messages) == 3


def test_an_automl_output_is_judged_like_the_others(reference, check):
    """The default policy's output kinds include AutoML's: a job writing to a fixed
    location is reported like a training job would be."""
    reference["Steps"].append(
        {
            "Name": "AutoPilot",
            "Type": "AutoML",
            "Arguments": {
                "AutoMLJobConfig": {},
                "InputDataConfig": [
                    {
                        "DataSource": {
                            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}
                        }
                    }
                ],
                "OutputDataConfig": {"S3OutputPath": "s3://b/automl/"},
                "RoleArn": "arn:aws:iam::111122223333:role/r",
            },
        }
    )
    findings = check(reference, select=["IO002"])
    assert [f.location.pointer for f in findings] == [
        f"/Steps/{len(reference['Steps']) - 1}/Arguments/OutputDataConfig/S3OutputPath"
    ]
