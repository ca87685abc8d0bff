"""Naming rules: SageMaker's limits (errors) apart from the team convention (warnings)."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.conftest import builtin_rules, find_step, rule_ids


def naming_module():
    rule = next(rule for rule in builtin_rules() if rule.id == "NM001")
    return sys.modules[rule.function.__module__]


def test_reference_is_clean_for_naming_recorded_fields_and_security(reference, check):
    assert check(reference, select=["NM", "RF", "SC"]) == []


# -- pipeline name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["daily_demand_forecast", "-daily-forecast", "daily.forecast", "a" * 257],
)
def test_pipeline_name_over_sagemaker_limit(reference, check, name):
    findings = check(reference, select=["NM001", "NM002"], name=name)
    assert [f.rule for f in findings] == ["NM001"]
    assert "SageMaker's limit" in findings[0].message
    assert (name if len(name) < 50 else "257 characters") in findings[0].message
    assert findings[0].location.pointer == ""
    assert findings[0].severity == "error"


def test_pipeline_name_off_convention(reference, check):
    findings = check(reference, select=["NM"], name="DailyDemandForecast")
    assert [f.rule for f in findings] == ["NM002"]
    assert "'DailyDemandForecast'" in findings[0].message
    assert "team convention: kebab-case" in findings[0].message
    assert findings[0].severity == "warning"


def test_pipeline_name_over_convention_length(reference, check):
    name = "daily-" + "x" * 80
    findings = check(reference, select=["NM"], name=name)
    assert [f.rule for f in findings] == ["NM002"]
    assert "team convention's limit of 82" in findings[0].message


def test_pipeline_name_convention_is_the_policys(reference, check):
    policy = {"naming": {"pipeline": {"pattern": "^[A-Z][A-Za-z]+$", "description": "Pascal"}}}
    assert check(reference, select=["NM"], policy=policy, name="DailyForecast") == []
    assert rule_ids(check(reference, select=["NM"], policy=policy)) == {"NM002"}


# -- step names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "name", "pointer"),
    [
        ("Train", "Train model", "/Steps/2/Name"),
        ("Train", "Train.v2", "/Steps/2/Name"),
        ("Predict", "P" * 65, "/Steps/4/Arguments/IfSteps/0/Name"),
        ("EvaluationFailed", "Failed!", "/Steps/4/Arguments/ElseSteps/0/Name"),
    ],
)
def test_step_name_over_sagemaker_limit(reference, check, step, name, pointer):
    find_step(reference, step)["Name"] = name
    findings = check(reference, select=["NM003", "NM004"])
    assert [f.rule for f in findings] == ["NM003"]
    assert "SageMaker's limit" in findings[0].message
    assert findings[0].location.pointer == pointer


@pytest.mark.parametrize("name", ["pre_proc", "preProc", "Pre-Proc", "pre_proc-RegisterModel"])
def test_step_name_off_convention(reference, check, name):
    find_step(reference, "PreProc")["Name"] = name
    findings = check(reference, select=["NM"])
    assert [f.rule for f in findings] == ["NM004"]
    assert "team convention: PascalCase" in findings[0].message
    assert name.removesuffix("-RegisterModel") in findings[0].message
    assert findings[0].location.pointer == "/Steps/1/Name"
    assert findings[0].severity == "warning"


@pytest.mark.parametrize("suffix", ["-RegisterModel", "-CreateModel", "-RepackModel-0"])
def test_sdk_model_step_suffixes_are_not_the_authors(reference, check, suffix):
    find_step(reference, "PreProc")["Name"] = "PreProc" + suffix
    assert check(reference, select=["NM"]) == []


# -- parameter names --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["execution.date", "Execution Date", "E" * 65, ""])
def test_parameter_name_over_sagemaker_limit(reference, check, name):
    reference["Parameters"][0]["Name"] = name
    findings = check(reference, select=["NM005", "NM006"])
    assert [f.rule for f in findings] == ["NM005"]
    assert "SageMaker's limit" in findings[0].message
    assert findings[0].location.pointer == "/Parameters/0/Name"


def test_parameter_name_off_convention(reference, check):
    reference["Parameters"][1]["Name"] = "input_data_uri"
    findings = check(reference, select=["NM"])
    assert [f.rule for f in findings] == ["NM006"]
    assert "'input_data_uri'" in findings[0].message
    assert "team convention: PascalCase" in findings[0].message
    assert findings[0].location.pointer == "/Parameters/1/Name"


# -- experiment and trial names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ExperimentName", "demand_forecast"),
        ("ExperimentName", "-demand"),
        ("TrialName", "t" * 121),
    ],
)
def test_literal_experiment_names_over_sagemaker_limit(reference, check, field, value):
    reference["PipelineExperimentConfig"][field] = value
    findings = check(reference, select=["NM007", "NM008"])
    assert [f.rule for f in findings] == ["NM007"]
    assert field in findings[0].message
    assert "SageMaker's limit" in findings[0].message
    assert findings[0].location.pointer == f"/PipelineExperimentConfig/{field}"


def test_join_experiment_name_with_bad_literal(reference, check):
    reference["PipelineExperimentConfig"]["ExperimentName"] = {
        "Std:Join": {"On": "_", "Values": [{"Get": "Execution.PipelineName"}, "v2"]}
    }
    findings = check(reference, select=["NM007"])
    assert [f.rule for f in findings] == ["NM007"]
    assert "'_'" in findings[0].message
    assert findings[0].location.pointer == "/PipelineExperimentConfig/ExperimentName/Std:Join/On"


def test_join_experiment_name_with_valid_literals(reference, check):
    reference["PipelineExperimentConfig"]["ExperimentName"] = {
        "Std:Join": {"On": "-", "Values": [{"Get": "Execution.PipelineName"}, "v2"]}
    }
    assert check(reference, select=["NM"]) == []


def test_literal_experiment_name_off_convention(reference, check):
    reference["PipelineExperimentConfig"]["ExperimentName"] = "DemandForecast"
    policy = {"naming": {"experiment": {"pattern": "^[a-z0-9-]+$", "description": "lowercase"}}}
    findings = check(reference, select=["NM"], policy=policy)
    assert [f.rule for f in findings] == ["NM008"]
    assert "team convention: lowercase" in findings[0].message
    assert findings[0].location.pointer == "/PipelineExperimentConfig/ExperimentName"


# -- the checks agree with SageMaker's published patterns --------------------------------

SAMPLED = st.text(alphabet=st.sampled_from("aZ09-_. /é\n"), min_size=0, max_size=140)
NAME_CHARS = SAMPLED | st.text(min_size=0, max_size=5)


@settings(max_examples=300, deadline=None)
@given(NAME_CHARS)
def test_step_and_parameter_limits_agree_with_the_schema(name):
    module = naming_module()
    valid = re.fullmatch(r"[A-Za-z0-9\-_]{1,64}", name) is not None
    assert (module.limit_problem("step", name) is None) == valid
    assert (module.limit_problem("parameter", name) is None) == valid


@settings(max_examples=300, deadline=None)
@given(NAME_CHARS)
def test_experiment_and_pipeline_limits_agree_with_the_api(name):
    module = naming_module()
    experiment = re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}", name) is not None
    pipeline = re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", name) is not None
    assert (module.limit_problem("experiment", name) is None) == experiment
    assert (module.limit_problem("trial", name) is None) == experiment
    assert (module.limit_problem("pipeline", name) is None) == pipeline


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=st.sampled_from("Ab9-_ ."), min_size=1, max_size=70))
def test_step_rules_through_the_engine(name):
    from tests.rules.conftest import reference_definition, run_check

    definition = reference_definition()
    definition["Steps"][0]["Name"] = name
    ids = rule_ids(run_check(definition, select=["NM003", "NM004"]))
    if re.fullmatch(r"[A-Za-z0-9\-_]{1,64}", name) is None:
        assert ids == {"NM003"}
    else:
        assert "NM003" not in ids
        assert ("NM004" in ids) == (re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) is None)


@pytest.mark.parametrize("name", ["Daily_Forecast", "DailyForecast"])
def test_a_described_pipeline_name_finding_points_at_pipeline_name(tmp_path, capsys, name):
    import json

    from mlops_guard.cli import main

    (tmp_path / "described.json").write_text(
        json.dumps(
            {
                "PipelineArn": f"arn:aws:sagemaker:eu-west-1:111122223333:pipeline/{name}",
                "PipelineName": name,
                "PipelineDefinition": json.dumps({"Version": "2020-12-01", "Steps": []}),
            },
            indent=2,
        )
    )
    args = ["check", str(tmp_path / "described.json"), "--select", "NM", "--fail-on", "info"]
    assert main([*args, "--format", "json", "--no-cache"]) == 1
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["rule"] in ("NM001", "NM002")
    assert (finding["location"]["pointer"], finding["location"]["line"]) == ("/PipelineName", 3)
