"""ST011: a step reading, by its literal location, what an unordered step writes."""

from __future__ import annotations

import copy

from tests.rules.conftest import find_step


def literal_history_input(reference) -> dict:
    """PreProc reads Extract's output by repeating its location expression instead of
    the property reference (which would have ordered the two)."""
    extract = find_step(reference, "Extract")
    location = extract["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    preproc = find_step(reference, "PreProc")
    preproc["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = copy.deepcopy(location)
    return preproc


def test_reference_has_no_race(reference, check):
    assert check(reference, select=["ST011"]) == []


def test_unordered_reader_of_the_same_location(reference, check):
    literal_history_input(reference)
    findings = check(reference, select=["ST011"])
    assert [f.rule for f in findings] == ["ST011"]
    finding = findings[0]
    assert "step 'PreProc' reads" in finding.message and "step 'Extract' writes" in finding.message
    assert "dt={Parameters.ExecutionDate}" in finding.message
    assert finding.location.pointer == "/Steps/1/Arguments/ProcessingInputs/0/S3Input/S3Uri"
    assert finding.severity == "error" and finding.category == "structure"


def test_reader_of_a_location_under_the_output(reference, check):
    preproc = literal_history_input(reference)
    s3 = preproc["Arguments"]["ProcessingInputs"][0]["S3Input"]
    s3["S3Uri"]["Std:Join"]["Values"].append("part-0.csv")
    assert [f.rule for f in check(reference, select=["ST011"])] == ["ST011"]


def test_depends_on_orders_the_two(reference, check):
    literal_history_input(reference)["DependsOn"] = ["Extract"]
    assert check(reference, select=["ST011"]) == []


def test_a_chain_of_steps_orders_the_two(reference, check):
    """TrainEvaluation runs after Train, after PreProc, after Extract: reading Extract's
    output literally is not a race."""
    extract = find_step(reference, "Extract")
    location = extract["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    evaluation = find_step(reference, "TrainEvaluation")
    evaluation["Arguments"]["ProcessingInputs"][1]["S3Input"]["S3Uri"] = copy.deepcopy(location)
    assert check(reference, select=["ST011"]) == []


def test_steps_in_different_branches_never_race(reference, check):
    condition = find_step(reference, "CheckEvaluation")
    predict = find_step(reference, "Predict")
    reader = copy.deepcopy(find_step(reference, "PostProc"))
    reader["Name"] = "ElsePostProc"
    location = predict["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    reader["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = copy.deepcopy(location)
    reader["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] = "s3://b/x"
    condition["Arguments"]["ElseSteps"].append(reader)
    assert check(reference, select=["ST011"]) == []


def test_a_training_job_writes_under_its_job_name(reference, check):
    """A training job writes to <path>/<job name>/...: a literal location under its path
    cannot name what it writes; the path itself can."""
    train = find_step(reference, "Train")
    train["Arguments"]["OutputDataConfig"]["S3OutputPath"] = "s3://bucket/models"
    audit = copy.deepcopy(find_step(reference, "Extract"))
    audit["Name"] = "Audit"
    outputs = audit["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    outputs[0]["S3Output"]["S3Uri"] = "s3://bucket/audit"
    reference["Steps"].append(audit)
    code = audit["Arguments"]["ProcessingInputs"][0]["S3Input"]
    code["S3Uri"] = "s3://bucket/models/code/extract.py"
    assert check(reference, select=["ST011"]) == []
    code["S3Uri"] = "s3://bucket/models/"
    findings = check(reference, select=["ST011"])
    assert [f.rule for f in findings] == ["ST011"]
    assert "step 'Train' writes" in findings[0].message
