"""Every loader, fed mutated and garbage documents through ``mlops-guard check``: exit 0 or
1, or exit 2 with exactly one line on stderr, never a traceback, within a time bound.

Each document starts from a real one (the reference definition, or the realistic
templates built around it in ``tests/integrations/templates.py``) and has values at random
places replaced by random JSON, or lines of its text replaced by YAML/HCL fragments, so
most examples stay close enough to the real shape to reach deep into the loader.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard.cli import main
from mlops_guard.errors import TOOL_ERROR_HINT
from tests.engine.test_loaders import all_pointers, json_values
from tests.engine.test_robustness import replace
from tests.integrations.templates import cdk_json, cfn_yaml, terraform, terraform_plan
from tests.rules.conftest import reference_definition

REFERENCE = reference_definition()
SECONDS = 20
"""Per example; a hang or blow-up is orders of magnitude above it."""

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def mutate(document, mutations):
    """A copy of ``document`` with each ``(pointer, value)`` applied where it applies."""
    document = json.loads(json.dumps(document))
    pointers = [p for p in all_pointers(document) if p]
    for choice, value in mutations:
        if not pointers:
            break
        pointer = pointers[choice % len(pointers)]
        try:
            replace(document, pointer, value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return document


def mutate_lines(text: str, edits) -> str:
    lines = text.splitlines()
    for choice, fragment in edits:
        index = choice % max(len(lines), 1)
        if fragment is None:
            lines[index : index + 1] = []
        else:
            indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())] if lines else ""
            lines[index : index + 1] = [indent + fragment]
    return "\n".join(lines) + "\n"


mutations = st.lists(st.tuples(st.integers(0, 10**6), json_values), min_size=1, max_size=3)
YAML_FRAGMENTS = [
    "Tags: 1",
    "Tags: [1, {Key: 2}]",
    "Properties: 5",
    "Type: AWS::SageMaker::Pipeline",
    "Resources: []",
    "a: &x [*x]",
    "b: *undefined",
    "c: !Sub [1, 2, 3]",
    "d: !GetAtt",
    "e: !Foo {x: y}",
    "PipelineDefinitionBody: !Join ['', [!Ref Nope, '{']]",
    "ScheduleExpression:",
    'EventPattern: {"detail-type": 7, detail: {currentPipelineExecutionStatus: 5}}',
    "- - - -",
    "{{{{",
    "'unterminated",
    "x: " + "[" * 200 + "]" * 200,
]
HCL_FRAGMENTS = [
    "tags = 5",
    'pipeline_definition = "${var.nope}"',
    'pipeline_definition = file("/dev/null")',
    'pipeline_definition = jsonencode({Version = 1, Steps = "x"})',
    'pipeline_definition = "{\\"Steps\\": 5}"',
    "schedule_expression = [1]",
    "event_pattern = 7",
    "}",
    "{",
    'resource "aws_sagemaker_pipeline" "x" {}',
    "x = " + "[" * 200 + "]" * 200,
]
yaml_edits = st.lists(
    st.tuples(st.integers(0, 10**6), st.one_of(st.none(), st.sampled_from(YAML_FRAGMENTS))),
    min_size=1,
    max_size=3,
)
hcl_edits = st.lists(
    st.tuples(st.integers(0, 10**6), st.one_of(st.none(), st.sampled_from(HCL_FRAGMENTS))),
    min_size=1,
    max_size=3,
)


def assert_checked_or_one_line(capsys, *args: str) -> None:
    started = time.perf_counter()
    code = main(["check", "--no-cache", *args])
    elapsed = time.perf_counter() - started
    captured = capsys.readouterr()
    assert elapsed < SECONDS, f"{elapsed:.1f} s"
    assert "Traceback" not in captured.err, captured.err
    if code == 2:
        assert captured.err.count("\n") == 1, captured.err
        assert captured.err.startswith("mlops-guard: error: "), captured.err
        # An input error, not a crash turned into one line by the CLI's top-level guard:
        assert not captured.err.rstrip().endswith(TOOL_ERROR_HINT), captured.err
    else:
        assert code in (0, 1), (code, captured.err)


@FUZZ
@given(mutations)
def test_definition_json(tmp_path_factory, capsys, changes):
    path = tmp_path_factory.mktemp("fuzz") / "pipeline.json"
    path.write_text(json.dumps(mutate(REFERENCE, changes)))
    assert_checked_or_one_line(capsys, str(path))


@FUZZ
@given(mutations, json_values, json_values)
def test_describe_pipeline_wrapper(tmp_path_factory, capsys, changes, tags, role):
    wrapper = {
        "PipelineName": "daily-demand-forecast",
        "PipelineDefinition": json.dumps(mutate(REFERENCE, changes)),
        "Tags": tags,
        "RoleArn": role,
    }
    path = tmp_path_factory.mktemp("fuzz") / "described.json"
    path.write_text(json.dumps(mutate(wrapper, changes[:1])))
    assert_checked_or_one_line(capsys, str(path))


CDK_TEMPLATE = json.loads(cdk_json(REFERENCE))


@FUZZ
@given(mutations)
def test_cloudformation_json(tmp_path_factory, capsys, changes):
    path = tmp_path_factory.mktemp("fuzz") / "stack.template.json"
    path.write_text(json.dumps(mutate(CDK_TEMPLATE, changes)))
    assert_checked_or_one_line(capsys, str(path))


CFN_YAML = cfn_yaml(REFERENCE)


@FUZZ
@given(yaml_edits)
def test_cloudformation_yaml(tmp_path_factory, capsys, edits):
    path = tmp_path_factory.mktemp("fuzz") / "pipeline.yaml"
    path.write_text(mutate_lines(CFN_YAML, edits))
    assert_checked_or_one_line(capsys, str(path))


TF_TEXT = terraform(REFERENCE)


@FUZZ
@given(hcl_edits)
def test_terraform_files(tmp_path_factory, capsys, edits):
    pytest.importorskip("hcl2", reason="Terraform files need the 'terraform' extra")
    path = tmp_path_factory.mktemp("fuzz") / "main.tf"
    path.write_text(mutate_lines(TF_TEXT, edits))
    assert_checked_or_one_line(capsys, str(path))


PLAN = json.loads(terraform_plan(REFERENCE))


@FUZZ
@given(mutations)
def test_terraform_plan_json(tmp_path_factory, capsys, changes):
    path = tmp_path_factory.mktemp("fuzz") / "plan.json"
    path.write_text(json.dumps(mutate(PLAN, changes)))
    assert_checked_or_one_line(capsys, str(path))


BASELINE = {
    "version": 1,
    "findings": [
        {
            "fingerprint": "0" * 16,
            "rule": "ST001",
            "file": "pipeline.json",
            "target": "pipeline",
            "subject": "Train",
            "message": "m",
        }
    ],
}


@FUZZ
@given(st.one_of(mutations.map(lambda changes: mutate(BASELINE, changes)), json_values))
def test_baselines(tmp_path_factory, capsys, document):
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "pipeline.json").write_text(json.dumps(REFERENCE))
    (directory / "baseline.json").write_text(json.dumps(document))
    assert_checked_or_one_line(
        capsys, str(directory / "pipeline.json"), "--baseline", str(directory / "baseline.json")
    )
