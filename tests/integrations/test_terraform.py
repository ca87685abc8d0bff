"""Terraform: ``.tf`` files and ``terraform show -json`` plans, through the CLI."""

from __future__ import annotations

import json

import pytest

from tests.integrations.conftest import run_cli
from tests.integrations.templates import terraform, terraform_plan

pytest.importorskip("hcl2", reason="Terraform files need the 'terraform' extra (python-hcl2)")


def _report(result) -> dict:
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_heredoc_definition_resolves_variables_and_notes_the_rest(tmp_path, reference):
    (tmp_path / "main.tf").write_text(terraform(reference))
    report = _report(run_cli("check", "main.tf", "--format", "json", cwd=tmp_path))
    # var.artifact_bucket has a default; var.role_arn has none and stays a placeholder.
    assert [f["rule"] for f in report["findings"]] == ["MG005"]
    assert "${var.role_arn}" in report["findings"][0]["message"]
    assert "${var.artifact_bucket}" not in report["findings"][0]["message"]


def test_finding_in_heredoc_points_at_the_tf_line(tmp_path, reference):
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    text = terraform(reference)
    (tmp_path / "main.tf").write_text(text)
    report = _report(run_cli("check", "main.tf", "--format", "json", cwd=tmp_path))
    [finding] = [f for f in report["findings"] if f["rule"] == "ST001"]
    assert '"NoSuchStep"' in text.splitlines()[finding["location"]["line"] - 1]
    assert finding["target"] == "daily-demand-forecast"


def test_jsonencode_and_file_definitions(tmp_path, reference):
    (tmp_path / "definition.json").write_text(json.dumps(reference, indent=2))
    text = (
        'resource "aws_sagemaker_pipeline" "from_file" {\n'
        '  pipeline_name       = "daily-demand-forecast"\n'
        '  role_arn            = "arn:aws:iam::123456789012:role/r"\n'
        '  pipeline_definition = file("${path.module}/definition.json")\n'
        "}\n\n"
        'resource "aws_sagemaker_pipeline" "inline" {\n'
        '  pipeline_name       = "BadName"\n'
        '  role_arn            = "arn:aws:iam::123456789012:role/r"\n'
        "  pipeline_definition = jsonencode({\n"
        '    Version = "2020-12-01"\n'
        '    Steps   = [{ Name = "A", Type = "Fail", Arguments = {}, DependsOn = ["Gone"] }]\n'
        "  })\n"
        "}\n"
    )
    (tmp_path / "main.tf").write_text(text)
    report = _report(
        run_cli("check", "main.tf", "--format", "json", "--select", "ST001,NM", cwd=tmp_path)
    )
    by_target = {(f["target"], f["rule"]) for f in report["findings"]}
    assert ("BadName", "ST001") in by_target
    assert all(target != "daily-demand-forecast" for target, _rule in by_target)
    [st001] = [f for f in report["findings"] if f["rule"] == "ST001"]
    assert st001["location"]["file"] == "main.tf" and st001["location"]["line"] == 10


def test_plan_json_with_child_module(tmp_path, reference):
    (tmp_path / "plan.json").write_text(terraform_plan(reference))
    result = run_cli("check", "plan.json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    (tmp_path / "plan.json").write_text(terraform_plan(reference))
    report = _report(run_cli("check", "plan.json", "--format", "json", cwd=tmp_path))
    [finding] = report["findings"]
    assert finding["rule"] == "ST001"
    assert finding["location"]["pointer"].startswith(
        "/planned_values/root_module/child_modules/0/resources/0/values/pipeline_definition"
    )
    assert finding["location"]["line"] is not None


def test_invalid_hcl_is_exit_2(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_sagemaker_pipeline" "x" {\n  a = \n')
    result = run_cli("check", "main.tf", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid HCL" in result.stderr
