"""Terraform: ``.tf`` files and ``terraform show -json`` plans, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integrations.conftest import ROOT, run_cli
from tests.integrations.templates import TF_NOTIFICATION, TF_SCHEDULE, terraform, terraform_plan

pytest.importorskip("hcl2", reason="Terraform files need the 'terraform' extra (python-hcl2)")


def _report(result) -> dict:
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_heredoc_definition_resolves_variables_and_notes_the_rest(tmp_path, reference):
    (tmp_path / "main.tf").write_text(terraform(reference))
    result = run_cli("check", "main.tf", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # MG005 is an error: what was not checked
    report = _report(result)
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


def test_unreadable_definition_file_or_module_file_is_exit_2(tmp_path, reference):
    text = (
        'resource "aws_sagemaker_pipeline" "from_file" {\n'
        '  pipeline_name       = "daily-demand-forecast"\n'
        '  role_arn            = "arn:aws:iam::123456789012:role/r"\n'
        '  pipeline_definition = file("/dev/zero")\n'
        "}\n"
    )
    (tmp_path / "main.tf").write_text(text)
    result = run_cli("check", "main.tf", cwd=tmp_path)
    assert result.returncode == 2 and "/dev/zero" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "not a regular file" in result.stderr
    # A file of the same module that cannot be parsed may hold the pipeline's schedule.
    (tmp_path / "main.tf").write_text(terraform(reference, schedule=None))
    (tmp_path / "schedule.tf").write_text('resource "aws_scheduler_schedule" "x" {\n  a = \n')
    result = run_cli("check", "main.tf", cwd=tmp_path)
    assert result.returncode == 2 and "schedule.tf" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "invalid HCL" in result.stderr


def test_invalid_hcl_is_exit_2(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_sagemaker_pipeline" "x" {\n  a = \n')
    result = run_cli("check", "main.tf", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid HCL" in result.stderr


# -- operations rules: schedules and failure notifications next to the pipeline -----------


def _operations(tmp_path, text: str, name: str = "main.tf") -> list[dict]:
    """``python -m mlops_guard check FILE --select OP --format json``: the OP findings
    (MG005, which no selection switches off, is asserted by the tests about it)."""
    (tmp_path / name).write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "check", name, "--select", "OP", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    return [f for f in _report(result)["findings"] if f["rule"].startswith("OP")]


def test_schedule_and_failure_notification_pass_the_operations_rules(tmp_path, reference):
    assert _operations(tmp_path, terraform(reference)) == []


def test_no_schedule_is_op001(tmp_path, reference):
    [finding] = _operations(tmp_path, terraform(reference, schedule=None))
    assert finding["rule"] == "OP001"
    assert "aws_scheduler_schedule" in finding["message"]
    assert "aws_sagemaker_pipeline.forecast" in finding["message"]


def test_schedule_without_run_date_parameter_is_op002(tmp_path, reference):
    schedule = TF_SCHEDULE.replace('"ExecutionDate"', '"TrainingInstanceType"')
    [finding] = _operations(tmp_path, terraform(reference, schedule=schedule))
    assert finding["rule"] == "OP002"
    assert "aws_scheduler_schedule.daily" in finding["message"]


def test_no_failure_notification_is_op003(tmp_path, reference):
    [finding] = _operations(tmp_path, terraform(reference, notification=None))
    assert finding["rule"] == "OP003" and "no EventBridge rule" in finding["message"]


def test_failure_rule_without_target_is_op003(tmp_path, reference):
    notification = TF_NOTIFICATION[
        : TF_NOTIFICATION.index('resource "aws_cloudwatch_event_target"')
    ]
    [finding] = _operations(tmp_path, terraform(reference, notification=notification))
    assert finding["rule"] == "OP003"
    assert "aws_cloudwatch_event_rule.pipeline_failed has no target" in finding["message"]


def test_failure_rule_on_another_status_does_not_count(tmp_path, reference):
    notification = TF_NOTIFICATION.replace('["Failed"]', '["Succeeded"]')
    findings = _operations(tmp_path, terraform(reference, notification=notification))
    assert [f["rule"] for f in findings] == ["OP003"]


EVENT_SCHEDULE = """\
resource "aws_cloudwatch_event_rule" "daily" {
  name                = "forecast-daily"
  schedule_expression = "cron(0 5 * * ? *)"
}

resource "aws_cloudwatch_event_target" "daily" {
  rule     = aws_cloudwatch_event_rule.daily.name
  arn      = aws_sagemaker_pipeline.forecast.arn
  role_arn = aws_iam_role.events.arn

  sagemaker_pipeline_target {
    pipeline_parameter_list {
      name  = "ExecutionDate"
      value = "RUN_DATE"
    }
  }
}
"""

HEREDOC_NOTIFICATION = """\
resource "aws_cloudwatch_event_rule" "failed" {
  name          = "forecast-failed"
  event_pattern = <<-EOT
    {
      "source": ["aws.sagemaker"],
      "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
      "detail": {"currentPipelineExecutionStatus": ["Failed", "Stopped"]}
    }
  EOT
}

resource "aws_cloudwatch_event_target" "alerts" {
  rule = "forecast-failed"
  arn  = aws_sns_topic.alerts.arn
}
"""


def test_event_rule_schedule_and_heredoc_pattern(tmp_path, reference):
    schedule = EVENT_SCHEDULE.replace("RUN_DATE", "<aws.events.event.ingestion-time>")
    text = terraform(reference, schedule=schedule, notification=HEREDOC_NOTIFICATION)
    assert _operations(tmp_path, text) == []
    # The target, not the rule, says which pipeline: a rule without it schedules nothing.
    unrelated = schedule.replace("aws_sagemaker_pipeline.forecast.arn", "aws_lambda_function.x.arn")
    text = terraform(reference, schedule=unrelated, notification=HEREDOC_NOTIFICATION)
    assert [f["rule"] for f in _operations(tmp_path, text)] == ["OP001"]
    schedule = EVENT_SCHEDULE.replace("RUN_DATE", "2024-01-01")
    text = terraform(reference, schedule=schedule, notification=HEREDOC_NOTIFICATION)
    [finding] = _operations(tmp_path, text)
    assert finding["rule"] == "OP002" and "fixed ExecutionDate" in finding["message"]


def test_schedule_in_another_file_of_the_module(tmp_path, reference):
    (tmp_path / "operations.tf").write_text(TF_SCHEDULE + "\n" + TF_NOTIFICATION)
    assert _operations(tmp_path, terraform(reference, schedule=None, notification=None)) == []


def test_plan_json_schedule_and_notification_by_reference(tmp_path, reference):
    assert _operations(tmp_path, terraform_plan(reference), name="plan.json") == []
    plan = terraform_plan(reference, with_operations=False)
    findings = _operations(tmp_path, plan, name="plan.json")
    assert sorted(f["rule"] for f in findings) == ["OP001", "OP003"]
