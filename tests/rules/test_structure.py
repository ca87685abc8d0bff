"""Each structure rule fires on one minimal mutation of the reference, and only then."""

from __future__ import annotations

import pytest

from tests.rules.conftest import find_step, rule_ids

STRUCTURE = ["ST"]


def test_reference_is_structurally_clean(reference, check):
    assert check(reference, select=STRUCTURE) == []


def test_unknown_step_reference(reference, check):
    predict = find_step(reference, "Predict")
    predict.setdefault("DependsOn", []).append("Trian")
    findings = check(reference, select=["ST001"])
    assert [f.rule for f in findings] == ["ST001"]
    assert "'Trian'" in findings[0].message
    assert findings[0].location.pointer.endswith("/DependsOn/0")


def test_unknown_step_in_property_reference(reference, check):
    condition = find_step(reference, "CheckEvaluation")
    left = condition["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]
    left["PropertyFile"]["Get"] = "Steps.Evaluate.PropertyFiles.EvaluationReport"
    findings = check(reference, select=["ST001"])
    assert rule_ids(findings) == {"ST001"}
    assert "'Evaluate'" in findings[0].message


def test_undeclared_parameter(reference, check):
    reference["Parameters"] = [p for p in reference["Parameters"] if p["Name"] != "ExecutionDate"]
    findings = check(reference, select=["ST002"])
    assert findings and all(f.rule == "ST002" for f in findings)
    assert all("'ExecutionDate'" in f.message for f in findings)


def test_unknown_property_file(reference, check):
    evaluation = find_step(reference, "TrainEvaluation")
    evaluation["PropertyFiles"][0]["PropertyFileName"] = "Report"
    findings = check(reference, select=["ST003"])
    assert rule_ids(findings) == {"ST003"}
    assert "EvaluationReport" in findings[0].message


def test_property_file_on_missing_output(reference, check):
    evaluation = find_step(reference, "TrainEvaluation")
    evaluation["PropertyFiles"][0]["OutputName"] = "metrics"
    findings = check(reference, select=["ST003"])
    assert rule_ids(findings) == {"ST003"}
    assert "'metrics'" in findings[0].message


def test_dependency_cycle(reference, check):
    find_step(reference, "Extract").setdefault("DependsOn", []).append("Train")
    findings = check(reference, select=["ST004"])
    assert rule_ids(findings) == {"ST004"}
    assert "Extract" in findings[0].message and "Train" in findings[0].message


def test_duplicate_step_name(reference, check):
    find_step(reference, "PostProc")["Name"] = "Predict"
    findings = check(reference, select=["ST005"])
    assert rule_ids(findings) == {"ST005"}
    assert "'Predict'" in findings[0].message


def test_unused_parameter(reference, check):
    reference["Parameters"].append({"Name": "Unused", "Type": "String", "DefaultValue": "x"})
    findings = check(reference, select=["ST006"])
    assert [f.rule for f in findings] == ["ST006"]
    assert findings[0].location.pointer == f"/Parameters/{len(reference['Parameters']) - 1}"
    assert findings[0].severity == "warning"


@pytest.mark.parametrize("expiry", ["30days", "P", "PT", "1h", "P1.5.2D", "P-1D", "D30"])
def test_invalid_cache_expiry(reference, check, expiry):
    find_step(reference, "PreProc")["CacheConfig"] = {"Enabled": True, "ExpireAfter": expiry}
    findings = check(reference, select=["ST007"])
    assert rule_ids(findings) == {"ST007"}
    assert findings[0].location.pointer.endswith("/CacheConfig/ExpireAfter")


@pytest.mark.parametrize(
    "expiry", ["P30D", "PT1H", "30d", "T12H", "p30d", "30dT5h", "P1Y2M3W4DT5H6M7S", "P1.5D"]
)
def test_cache_expiry_forms_sagemaker_accepts(reference, check, expiry):
    find_step(reference, "PreProc")["CacheConfig"] = {"Enabled": True, "ExpireAfter": expiry}
    assert check(reference, select=["ST007"]) == []


def test_enabled_cache_without_expiry(reference, check):
    find_step(reference, "PreProc")["CacheConfig"] = {"Enabled": True}
    findings = check(reference, select=["ST007"])
    assert rule_ids(findings) == {"ST007"}
    assert "without ExpireAfter" in findings[0].message


def test_zero_expiry(reference, check):
    find_step(reference, "PreProc")["CacheConfig"] = {"Enabled": True, "ExpireAfter": "PT0M"}
    assert "zero" in check(reference, select=["ST007"])[0].message
