"""Each evaluation-threshold rule fires on one minimal mutation of the reference, and only then.

The reference gates ``Predict`` (and ``PostProc``) in ``IfSteps`` of ``CheckEvaluation``:
``metrics.mape.value LessThanOrEqualTo 0.2``, with ``EvaluationFailed`` (Fail) in
``ElseSteps``; the default policy asks ``mape <= 0.2`` (lower is better).
"""

from __future__ import annotations

import operator

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from tests.rules.conftest import find_step, reference_definition, rule_ids, run_check
from tests.rules.test_outputs import CORPUS_FILES, corpus_findings, needs_corpus, rules_module

COMPARISONS = {
    "Equals": operator.eq,
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}
CONDITION = "/Steps/4"
COMPARISON = CONDITION + "/Arguments/Conditions/0"
PREDICT = CONDITION + "/Arguments/IfSteps/0"
MAPE = {
    "Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.TrainEvaluation.PropertyFiles.EvaluationReport"},
        "Path": "metrics.mape.value",
    }
}


def arguments(definition: dict) -> dict:
    return find_step(definition, "CheckEvaluation")["Arguments"]


def comparison(definition: dict) -> dict:
    return arguments(definition)["Conditions"][0]


def compare(kind: str, left, right) -> dict:
    return {"Type": kind, "LeftValue": left, "RightValue": right}


def mape_with(path: str) -> dict:
    return {"Std:JsonGet": {**MAPE["Std:JsonGet"], "Path": path}}


def only(findings, rule_id: str):
    assert [f.rule for f in findings] == [rule_id], [f.message for f in findings]
    return findings[0]


def test_reference_is_clean(reference, check):
    assert check(reference, select=["ET", "IO"]) == []


def test_reference_gate_is_what_these_tests_mutate(reference):
    assert comparison(reference) == compare("LessThanOrEqualTo", MAPE, 0.2)
    assert [s["Name"] for s in arguments(reference)["IfSteps"]] == ["Predict", "PostProc"]
    assert [s["Type"] for s in arguments(reference)["ElseSteps"]] == ["Fail"]


# ET001 -------------------------------------------------------------------------------------


def test_promotion_outside_any_gate(reference, check):
    predict = arguments(reference)["IfSteps"].pop(0)
    reference["Steps"].append(predict)
    finding = only(check(reference, select=["ET001"]), "ET001")
    assert "'Predict'" in finding.message and "no condition step" in finding.message
    assert finding.location.pointer == "/Steps/5"
    assert finding.subject == "Predict"


def test_waiting_for_a_gated_step_is_not_gated(reference, check):
    postproc = arguments(reference)["IfSteps"].pop(1)
    reference["Steps"].append(postproc)
    policy = {"evaluation_thresholds": {"promotion_step_names": ["Post*"]}}
    finding = only(check(reference, select=["ET001"], policy=policy), "ET001")
    assert "'PostProc'" in finding.message and "waits for 'Predict'" in finding.message


def test_gate_without_a_metric(reference, check):
    comparison(reference)["LeftValue"] = {"Get": "Parameters.ProcessingInstanceType"}
    finding = only(check(reference, select=["ET001"]), "ET001")
    assert "IfSteps of 'CheckEvaluation'" in finding.message
    assert "compares no evaluation metric" in finding.message
    assert finding.location.pointer == PREDICT


@pytest.mark.parametrize("kind", ["RegisterModel", "Model", "CreateModel", "Transform"])
def test_promotion_step_types(reference, check, kind):
    step = {"Name": "Promote", "Type": kind, "Arguments": {}}
    reference["Steps"].append(step)
    finding = only(check(reference, select=["ET001"]), "ET001")
    assert f"'Promote' ({kind})" in finding.message


@pytest.mark.parametrize("kind", ["RegisterModel", "Model", "CreateModel", "Transform"])
def test_promotion_step_types_inside_the_gate(reference, check, kind):
    arguments(reference)["IfSteps"].append({"Name": "Promote", "Type": kind, "Arguments": {}})
    assert check(reference, select=["ET"]) == []


def test_gate_through_an_enclosing_condition(reference, check):
    predict = arguments(reference)["IfSteps"].pop(0)
    inner = {
        "Name": "CheckFlag",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [compare("Equals", {"Get": "Parameters.InputDataUri"}, "x")],
            "IfSteps": [],
            "ElseSteps": [predict],
        },
    }
    arguments(reference)["IfSteps"].insert(0, inner)
    assert check(reference, select=["ET"]) == []


def test_steps_gated_by_a_step_property(reference, check):
    comparison(reference)["LeftValue"] = {"Get": "Steps.Train.FinalMetricDataList['mape'].Value"}
    assert check(reference, select=["ET"]) == []


# ET002 -------------------------------------------------------------------------------------


def test_threshold_looser_than_policy(reference, check):
    comparison(reference)["RightValue"] = 0.3
    finding = only(check(reference, select=["ET"]), "ET002")
    for part in ("'CheckEvaluation'", "'Predict'", "mape <= 0.3", "LessThanOrEqualTo", "0.2"):
        assert part in finding.message
    assert finding.location.pointer == COMPARISON + "/RightValue"
    assert finding.subject == "CheckEvaluation"


@pytest.mark.parametrize(("kind", "value"), [("LessThanOrEqualTo", 0.1), ("LessThan", 0.2)])
def test_stricter_thresholds_pass(reference, check, kind, value):
    reference_comparison = comparison(reference)
    reference_comparison["Type"], reference_comparison["RightValue"] = kind, value
    assert check(reference, select=["ET"]) == []


@pytest.mark.parametrize(
    ("kind", "metric_side", "branch", "fires"),
    [
        ("LessThanOrEqualTo", "left", "IfSteps", False),
        ("LessThan", "left", "IfSteps", False),
        ("Equals", "left", "IfSteps", False),
        ("GreaterThan", "left", "IfSteps", True),
        ("GreaterThanOrEqualTo", "left", "IfSteps", True),
        ("GreaterThanOrEqualTo", "right", "IfSteps", False),
        ("GreaterThan", "right", "IfSteps", False),
        ("LessThan", "right", "IfSteps", True),
        ("LessThanOrEqualTo", "right", "IfSteps", True),
        ("GreaterThan", "left", "ElseSteps", False),
        ("GreaterThanOrEqualTo", "left", "ElseSteps", False),
        ("LessThan", "right", "ElseSteps", False),
        ("LessThanOrEqualTo", "left", "ElseSteps", True),
        ("Equals", "left", "ElseSteps", True),
    ],
)
def test_comparison_direction(reference, check, kind, metric_side, branch, fires):
    """The promotion branch must bound mape from above (lower is better)."""
    gate = arguments(reference)
    gate["Conditions"][0] = (
        compare(kind, MAPE, 0.2) if metric_side == "left" else compare(kind, 0.2, MAPE)
    )
    if branch == "ElseSteps":  # promotion in ElseSteps, the Fail step in IfSteps
        gate["IfSteps"], gate["ElseSteps"] = gate["ElseSteps"], gate["IfSteps"]
    findings = check(reference, select=["ET"])
    if not fires:
        assert findings == []
        return
    finding = only(findings, "ET002")
    assert "worse than the policy's mape <= 0.2" in finding.message
    assert f"{branch} of 'CheckEvaluation'" in finding.message and kind in finding.message
    assert finding.location.pointer == COMPARISON


def test_direction_comes_from_the_policy(reference, check):
    policy = {
        "evaluation_thresholds": {
            "thresholds": [{"metric": "mape", "direction": "higher_is_better", "value": 0.2}]
        }
    }
    finding = only(check(reference, select=["ET"], policy=policy), "ET002")
    assert "mape >= 0.2" in finding.message and "higher is better" in finding.message


@pytest.mark.parametrize(("inner", "fires"), [("GreaterThan", False), ("LessThanOrEqualTo", True)])
def test_not_is_followed(reference, check, inner, fires):
    arguments(reference)["Conditions"][0] = {
        "Type": "Not",
        "Condition": compare(inner, MAPE, 0.2),
    }
    assert rule_ids(check(reference, select=["ET"])) == ({"ET002"} if fires else set())


def test_or_with_another_metric_does_not_bound(reference, check):
    rmse = compare("LessThanOrEqualTo", mape_with("metrics.rmse.value"), 10.0)
    arguments(reference)["Conditions"][0] = {
        "Type": "Or",
        "Conditions": [compare("LessThanOrEqualTo", MAPE, 0.2), rmse],
    }
    findings = check(reference, select=["ET002"])
    finding = only(findings, "ET002")
    assert "can run with mape worse" in finding.message
    assert finding.location.pointer == COMPARISON + "/Conditions/0"


@pytest.mark.parametrize(("second", "fires"), [(0.15, False), (0.3, True)])
def test_or_counts_its_loosest_alternative(reference, check, second, fires):
    arguments(reference)["Conditions"][0] = {
        "Type": "Or",
        "Conditions": [compare("LessThan", MAPE, 0.1), compare("LessThanOrEqualTo", MAPE, second)],
    }
    findings = check(reference, select=["ET"])
    if not fires:
        assert findings == []
        return
    finding = only(findings, "ET002")
    assert finding.location.pointer == COMPARISON + "/Conditions/1/RightValue"


def test_conditions_are_anded(reference, check):
    arguments(reference)["Conditions"].insert(0, compare("LessThanOrEqualTo", MAPE, 0.5))
    assert check(reference, select=["ET"]) == []


def test_nested_gates_add_up(reference, check):
    """An outer loose gate is fine when an inner gate is strict enough."""
    comparison(reference)["RightValue"] = 0.5
    predict = arguments(reference)["IfSteps"].pop(0)
    inner = {
        "Name": "CheckStrict",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [compare("LessThanOrEqualTo", MAPE, 0.2)],
            "IfSteps": [predict],
            "ElseSteps": [{"Name": "TooHigh", "Type": "Fail", "Arguments": {}}],
        },
    }
    arguments(reference)["IfSteps"].insert(0, inner)
    assert check(reference, select=["ET"]) == []


def test_threshold_compared_with_another_step_cannot_be_judged(reference, check):
    comparison(reference)["RightValue"] = {"Get": "Steps.Train.FinalMetricDataList['mape'].Value"}
    finding = only(check(reference, select=["ET002"]), "ET002")
    assert "cannot judge" in finding.message and "compares mape with itself" in finding.message


def test_threshold_not_a_number_cannot_be_judged(reference, check):
    comparison(reference)["RightValue"] = "0.2"
    finding = only(check(reference, select=["ET002"]), "ET002")
    assert "cannot judge" in finding.message and "not a number" in finding.message
    assert finding.location.pointer == COMPARISON + "/RightValue"


def test_threshold_applies_by_pipeline_glob(reference, check):
    policy = {
        "evaluation_thresholds": {
            "thresholds": [
                {"metric": "mape", "direction": "lower_is_better", "value": 0.2},
                {
                    "metric": "mape",
                    "direction": "lower_is_better",
                    "value": 0.15,
                    "pipelines": "daily-*",
                },
            ]
        }
    }
    finding = only(check(reference, select=["ET002"], policy=policy), "ET002")
    assert "mape <= 0.15" in finding.message
    assert check(reference, select=["ET002"], policy=policy, name="weekly-forecast") == []


# ET003 -------------------------------------------------------------------------------------


def add_threshold_parameter(definition: dict, default) -> None:
    definition["Parameters"].append(
        {"Name": "MapeThreshold", "Type": "Float", "DefaultValue": default}
    )
    comparison(definition)["RightValue"] = {"Get": "Parameters.MapeThreshold"}


def test_parameter_threshold_is_overridable(reference, check):
    add_threshold_parameter(reference, 0.2)
    finding = only(check(reference, select=["ET"]), "ET003")
    assert finding.severity == "warning"
    assert "'MapeThreshold'" in finding.message and "default 0.2" in finding.message
    assert "metrics.mape.value" in finding.message and "'Predict'" in finding.message
    assert finding.location.pointer == COMPARISON + "/RightValue"


def test_parameter_threshold_is_judged_by_its_default(reference, check):
    add_threshold_parameter(reference, 0.3)
    findings = check(reference, select=["ET"])
    assert rule_ids(findings) == {"ET002", "ET003"}
    loose = next(f for f in findings if f.rule == "ET002")
    assert "mape <= 0.3 (parameter 'MapeThreshold', judged by its default)" in loose.message


# ET004 -------------------------------------------------------------------------------------


def test_gate_without_fail_step(reference, check):
    arguments(reference)["ElseSteps"] = []
    finding = only(check(reference, select=["ET"]), "ET004")
    assert "'CheckEvaluation'" in finding.message and "'Predict'" in finding.message
    assert "ElseSteps has no Fail step" in finding.message
    assert finding.location.pointer == CONDITION + "/Arguments/ElseSteps"


def test_gate_without_else_branch(reference, check):
    del arguments(reference)["ElseSteps"]
    finding = only(check(reference, select=["ET004"]), "ET004")
    assert finding.location.pointer == CONDITION + "/Arguments"


def test_fail_step_not_required(reference, check):
    arguments(reference)["ElseSteps"] = []
    policy = {"evaluation_thresholds": {"require_fail_step": False}}
    assert check(reference, select=["ET"], policy=policy) == []


def test_promotion_in_both_branches(reference, check):
    arguments(reference)["ElseSteps"].append({"Name": "Register", "Type": "RegisterModel"})
    finding = only(check(reference, select=["ET004"]), "ET004")
    assert "both branches" in finding.message and "'Register'" in finding.message
    assert finding.location.pointer == CONDITION


# ET005 / ET006 -----------------------------------------------------------------------------


def test_metric_without_policy_threshold(reference, check):
    comparison(reference)["LeftValue"] = mape_with("metrics.rmse.value")
    finding = only(check(reference, select=["ET005"]), "ET005")
    assert finding.severity == "info"
    assert "metrics.rmse.value" in finding.message and "'daily-demand-forecast'" in finding.message
    assert finding.location.pointer == COMPARISON


NAMED_MAPE = {
    "evaluation_thresholds": {
        "thresholds": [
            {
                "metric": "mape",
                "direction": "lower_is_better",
                "value": 0.2,
                "pipelines": "daily-*",
            }
        ]
    }
}
"""A team's threshold that names the pipelines it applies to."""


def test_policy_metric_not_gated(reference, check):
    comparison(reference)["LeftValue"] = mape_with("metrics.rmse.value")
    finding = only(check(reference, select=["ET006"], policy=NAMED_MAPE), "ET006")
    assert "mape <= 0.2" in finding.message and "metrics.rmse.value only" in finding.message
    assert "'Predict'" in finding.message and "'daily-*'" in finding.message
    assert finding.location.pointer == CONDITION + "/Arguments/Conditions"
    # Another pipeline is not named, so it need not report mape.
    assert check(reference, select=["ET006"], policy=NAMED_MAPE, name="churn-classifier") == []


def test_catch_all_threshold_requires_no_metric(reference, check):
    """The default's threshold is for every pipeline: a classifier gated on accuracy is
    not failed for not reporting mape (ET006), while a gate on mape is still judged."""
    comparison(reference)["LeftValue"] = mape_with("metrics.accuracy.value")
    comparison(reference)["Type"] = "GreaterThanOrEqualTo"
    comparison(reference)["RightValue"] = 0.9
    assert check(reference, select=["ET006", "ET002"]) == []
    loose = reference_definition()
    comparison(loose)["RightValue"] = 0.3
    finding = only(check(loose, select=["ET006", "ET002"]), "ET002")
    assert "mape <= 0.2" in finding.message


def test_metric_names_match_path_segments():
    names = rules_module("ET002").metric_names
    assert "mape" in names("metrics.mape.value")
    assert "mape" in names("FinalMetricDataList['validation:mape'].Value")
    assert "mape" not in names("metrics.smape.value")


# the real-world corpus ---------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_corpus_checks_without_crash(path):
    findings = corpus_findings(path.stem, ["ET"])
    crashed = [f.message for f in findings if "crashed" in f.message or f.extra.get("crashed")]
    assert crashed == []


@needs_corpus
def test_corpus_ungated_promotions():
    findings = corpus_findings("ase-callback_step", ["ET"])
    assert [(f.rule, f.subject) for f in findings] == [
        ("ET001", "TaxiModel-CreateModel"),
        ("ET001", "TaxiTransform"),
    ]


@needs_corpus
def test_corpus_parameter_thresholds():
    found = {
        stem: [f.location.pointer for f in corpus_findings(stem, ["ET003"])]
        for stem in ("ase-selective_execution", "mammo-train", "cpt-gitlab-abalone")
    }
    assert found == {
        "ase-selective_execution": ["/Steps/3/Arguments/Conditions/0/RightValue"],
        "mammo-train": ["/Steps/3/Arguments/Conditions/0/RightValue"],
        "cpt-gitlab-abalone": [],
    }


@needs_corpus
def test_corpus_fail_branches():
    """mammo-train fails in ElseSteps; drift-detection-build's ElseSteps is empty."""
    assert corpus_findings("mammo-train", ["ET004"]) == []
    finding = only(corpus_findings("drift-detection-build", ["ET004"]), "ET004")
    assert finding.location.pointer == "/Steps/4/Arguments/ElseSteps"


# ET002 against brute force -----------------------------------------------------------------

CONSTANTS = [0.1, 0.15, 0.2, 0.25, 0.3]
KINDS = sorted(COMPARISONS)
RMSE = mape_with("metrics.rmse.value")


def member(*values: float) -> dict:
    return {"Type": "In", "QueryValue": MAPE, "Values": list(values)}


def mape_atoms(max_values: int | None = None):
    """Conditions on the mape alone: a comparison with a constant (either side), or
    membership in a list of constants (of at most ``max_values``)."""
    return st.one_of(
        st.builds(
            lambda kind, value, left: (
                compare(kind, MAPE, value) if left else compare(kind, value, MAPE)
            ),
            st.sampled_from(KINDS),
            st.sampled_from(CONSTANTS),
            st.booleans(),
        ),
        st.builds(
            lambda values: member(*values),
            st.lists(st.sampled_from(CONSTANTS), min_size=1, max_size=max_values),
        ),
    )


_mape_atoms = mape_atoms(max_values=3)
_atoms = st.one_of(
    _mape_atoms, st.builds(lambda kind: compare(kind, RMSE, 5.0), st.sampled_from(KINDS))
)
_conditions = st.recursive(
    _atoms,
    lambda children: st.one_of(
        st.builds(lambda child: {"Type": "Not", "Condition": child}, children),
        st.builds(
            lambda items: {"Type": "Or", "Conditions": items},
            st.lists(children, min_size=1, max_size=3),
        ),
    ),
    max_leaves=5,
)


def possible(node, mape: float) -> set[bool]:
    """The truth values a condition can take for this mape; each rmse comparison either."""
    kind = node["Type"]
    if kind == "Not":
        return {not value for value in possible(node["Condition"], mape)}
    if kind == "Or":
        children = [possible(child, mape) for child in node["Conditions"]]
        values = set()
        if any(True in child for child in children):
            values.add(True)
        if all(False in child for child in children):
            values.add(False)
        return values
    if kind == "In":
        return {mape in node["Values"]}
    left, right = node["LeftValue"], node["RightValue"]
    if RMSE in (left, right):
        return {True, False}
    left, right = (mape if left == MAPE else left), (mape if right == MAPE else right)
    return {COMPARISONS[kind](left, right)}


def mentions_mape(node) -> bool:
    return MAPE in (node.get("LeftValue"), node.get("RightValue"), node.get("QueryValue")) or any(
        mentions_mape(child)
        for child in [node.get("Condition") or {}, *node.get("Conditions", [])]
        if child
    )


@settings(max_examples=300, deadline=None)
@given(conditions=st.lists(_conditions, min_size=1, max_size=2), in_else=st.booleans())
def test_gate_judgement_matches_brute_force(conditions, in_else):
    assume(any(mentions_mape(condition) for condition in conditions))
    definition = reference_definition()
    gate = arguments(definition)
    gate["Conditions"] = conditions
    if in_else:
        gate["IfSteps"], gate["ElseSteps"] = gate["ElseSteps"], gate["IfSteps"]
    grid = sorted({*CONSTANTS, *(i / 400 for i in range(401)), -1.0, 2.0})

    def branch_can_run(mape: float) -> bool:
        every = [possible(condition, mape) for condition in conditions]
        can_hold = all(True in values for values in every)
        can_fail = any(False in values for values in every)
        return can_fail if in_else else can_hold

    expected = any(branch_can_run(mape) for mape in grid if mape > 0.2)
    event(f"gate lets mape > 0.2 through: {expected}")
    findings = run_check(definition, select=["ET002"])
    assert bool(findings) == expected, [f.message for f in findings]
