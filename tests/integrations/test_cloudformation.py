"""CloudFormation templates, checked through the CLI the way a user runs it."""

from __future__ import annotations

import json

from tests.integrations.conftest import run_cli
from tests.integrations.templates import NOTIFICATION, SCHEDULE, cdk_json, cfn_yaml


def _json_report(result) -> dict:
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _rules(report: dict) -> list[str]:
    return [finding["rule"] for finding in report["findings"]]


def test_compliant_yaml_template_passes(tmp_path, reference):
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference))
    result = run_cli("check", "pipeline.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed: 1 target" in result.stdout


def test_finding_in_sub_body_points_at_the_template_line(tmp_path, reference):
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    text = cfn_yaml(reference)
    (tmp_path / "pipeline.yaml").write_text(text)
    report = _json_report(run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path))
    [finding] = [f for f in report["findings"] if f["rule"] == "ST001"]
    line = text.splitlines()[finding["location"]["line"] - 1]
    assert '"NoSuchStep"' in line
    assert finding["location"]["pointer"].startswith(
        "/Resources/ForecastPipeline/Properties/PipelineDefinition/PipelineDefinitionBody/Steps/2"
    )
    assert finding["target"] == "daily-demand-forecast"


def test_unresolved_parameter_is_checked_as_placeholder_and_noted(tmp_path, reference):
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference, role_default=False))
    result = run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # MG005 is an error: it fails the run
    report = _json_report(result)
    notes = [f for f in report["findings"] if f["rule"] == "MG005"]
    assert len(notes) == 1 and "${PipelineRoleArn}" in notes[0]["message"]


def test_operations_rules_need_schedule_and_failure_notification(tmp_path, reference):
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference, schedule=None, notification=None))
    report = _json_report(run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path))
    assert sorted(_rules(report)) == ["OP001", "OP003"]


def test_schedule_without_run_date_parameter(tmp_path, reference):
    schedule = SCHEDULE.replace("Name: ExecutionDate", "Name: TrainingInstanceType")
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference, schedule=schedule))
    report = _json_report(run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path))
    [finding] = report["findings"]
    assert finding["rule"] == "OP002" and "DailyRun" in finding["message"]


def test_notification_filtered_to_another_status_does_not_count(tmp_path, reference):
    notification = NOTIFICATION.replace("[Failed]", "[Succeeded]")
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference, notification=notification))
    report = _json_report(run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path))
    assert _rules(report) == ["OP003"]


def test_cdk_template_json_with_join_body(tmp_path, reference):
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "ForecastStack.template.json").write_text(cdk_json(reference))
    result = run_cli("check", "cdk.out", "--format", "json", cwd=tmp_path)
    report = _json_report(result)
    # The EventBridge rule passes a hard-coded date: every run writes the same partition.
    assert _rules(report) == ["OP002"]
    assert "fixed ExecutionDate" in report["findings"][0]["message"]
    assert report["summary"]["targets"] == 1


def test_s3_location_is_reported_as_not_checked(tmp_path):
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "daily-demand-forecast",
                    "RoleArn": "arn:aws:iam::123456789012:role/x",
                    "PipelineDefinition": {
                        "PipelineDefinitionS3Location": {"Bucket": "b", "Key": "k.json"}
                    },
                },
            }
        },
    }
    (tmp_path / "stack.json").write_text(json.dumps(template, indent=2))
    result = run_cli("check", "stack.json", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # what was not checked fails the run
    report = _json_report(result)
    assert _rules(report) == ["MG005"]
    assert "PipelineDefinitionS3Location" in report["findings"][0]["message"]


def test_inline_suppression_on_the_resource_line_covers_the_resource(tmp_path, reference):
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    comment = "# mlops-guard: ignore[ST001] step renamed in the next release (JIRA-12)"
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference, resource_comment=comment))
    report = _json_report(run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path))
    assert report["findings"] == []
    [suppressed] = report["suppressed"]
    assert suppressed["rule"] == "ST001" and suppressed["suppressed"].startswith("step renamed")


def test_inline_suppression_without_reason_or_match_is_mg004(tmp_path, reference):
    text = cfn_yaml(reference, resource_comment="# mlops-guard: ignore[ST001]")
    text = text.replace("  AlertTopic:", "  AlertTopic:  # mlops-guard: ignore[NM001] legacy name")
    (tmp_path / "pipeline.yaml").write_text(text)
    report = _json_report(run_cli("check", "pipeline.yaml", "--format", "json", cwd=tmp_path))
    messages = sorted(f["message"] for f in report["findings"] if f["rule"] == "MG004")
    assert len(messages) == 2
    assert any("ignore[ST001] has no reason" in message for message in messages)
    assert any("ignore[NM001] matches no finding" in message for message in messages)


def test_yaml_that_is_not_cloudformation_named_explicitly_is_exit_2(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    result = run_cli("check", "compose.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "compose.yaml" in result.stderr


def test_yaml_that_is_not_cloudformation_is_skipped_in_a_directory(tmp_path, reference):
    (tmp_path / "compose.yaml").write_text("services: {web: {image: nginx}}\n")
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference))
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout


def test_invalid_cloudformation_yaml_is_exit_2_with_line(tmp_path):
    text = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: [unclosed\n"
    (tmp_path / "bad.yaml").write_text(text)
    result = run_cli("check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid YAML" in result.stderr
    assert "line " in result.stderr


def test_body_that_is_not_json_is_exit_2(tmp_path):
    text = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  P:\n"
        "    Type: AWS::SageMaker::Pipeline\n    Properties:\n"
        "      PipelineDefinition:\n        PipelineDefinitionBody: '{not json'\n"
    )
    (tmp_path / "bad.yaml").write_text(text)
    result = run_cli("check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_unresolved_parameter_waived_passes(tmp_path, reference):
    """MG005 fails the run unless the team waives it, with a reason and an expiry."""
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference, role_default=False))
    (tmp_path / "policy.yaml").write_text(
        "waivers:\n"
        "  - rule: MG005\n"
        "    pipeline: daily-demand-forecast\n"
        '    reason: "the role is a stack parameter, set per account"\n'
        "    expires: 2099-12-31\n"
    )
    result = run_cli("check", "pipeline.yaml", "--policy", "policy.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alias_bomb_in_metadata_is_exit_2(tmp_path, reference):
    laughs = "  l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]\n" for n in range(1, 9)
    )
    (tmp_path / "pipeline.yaml").write_text(cfn_yaml(reference) + "Metadata:\n" + laughs)
    result = run_cli("check", "pipeline.yaml", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "YAML aliases" in result.stderr and "pipeline.yaml" in result.stderr


def test_a_pipeline_name_finding_points_at_the_name_in_the_template(tmp_path, reference):
    text = cfn_yaml(reference).replace('"daily-demand-forecast"', '"Daily_Forecast"')
    (tmp_path / "pipeline.yaml").write_text(text)
    report = _json_report(
        run_cli("check", "pipeline.yaml", "--format", "json", "--select", "NM", cwd=tmp_path)
    )
    [finding] = [f for f in report["findings"] if f["rule"] == "NM001"]
    assert finding["location"]["pointer"] == "/Resources/ForecastPipeline/Properties/PipelineName"
    assert "Daily_Forecast" in text.splitlines()[finding["location"]["line"] - 1]
