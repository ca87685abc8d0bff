"""Schedules and failure notifications are one model for templates and deployed pipelines.

The CloudFormation and Terraform loaders attach the metadata model's schedules and
notifications (in their plain form) to a pipeline, and the static rules (OP001-OP003)
judge them as the audit's (OP101-OP103) judge the same facts on a deployed pipeline.
"""

from __future__ import annotations

import dataclasses

import pytest

from mlops_guard import engine
from mlops_guard.audit.store_targets import build_targets
from mlops_guard.loaders import load_file
from mlops_guard.metadata.model import MetadataStore, Notification, Pipeline, Schedule
from mlops_guard.metadata.plain import PlainNotification, PlainSchedule, TemplateOperations
from mlops_guard.selection import Selection
from tests.integrations.templates import (
    NOTIFICATION,
    SCHEDULE,
    TF_NOTIFICATION,
    TF_SCHEDULE,
    cdk_json,
    cfn_yaml,
    terraform,
    terraform_plan,
)
from tests.rules.conftest import builtin_rules, policy_with

PIPELINE = "daily-demand-forecast"
RUN_DATE = {"ExecutionDate": "<aws.scheduler.scheduled-time>"}
FAILED_PATTERN = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
    "detail": {"currentPipelineExecutionStatus": ["Failed"]},
}


def _operations(path) -> TemplateOperations:
    [target] = load_file(path, explicit=True)
    found = target.facts["operations"]
    assert isinstance(found, TemplateOperations)
    return found


@pytest.mark.parametrize(
    ("plain", "model"), [(PlainSchedule, Schedule), (PlainNotification, Notification)]
)
def test_plain_records_have_exactly_the_model_fields(plain, model):
    assert [field.name for field in dataclasses.fields(plain)] == list(model.model_fields)
    example = {
        PlainSchedule: PlainSchedule("scheduler", "daily", "rate(1 day)", "ENABLED", RUN_DATE),
        PlainNotification: PlainNotification("failed", FAILED_PATTERN, ["topic"], "DISABLED"),
    }[plain]
    assert model(**dataclasses.asdict(example)).model_dump() == dataclasses.asdict(example)


def test_cloudformation_loader_attaches_typed_schedules_and_notifications(tmp_path, reference):
    path = tmp_path / "pipeline.yaml"
    path.write_text(cfn_yaml(reference))
    found = _operations(path)
    assert found.file.endswith("pipeline.yaml")
    assert (found.resource, found.format) == ("ForecastPipeline", "cloudformation")
    assert found.schedules == (
        PlainSchedule(
            kind="scheduler",
            name="DailyRun",
            expression="cron(0 5 * * ? *)",
            passes_parameters=RUN_DATE,
        ),
    )
    [notification] = found.notifications
    assert notification.rule_name == "PipelineFailed"
    assert notification.targets == ["alerts"] and notification.state is None
    assert notification.event_pattern["detail"]["currentPipelineExecutionStatus"] == ["Failed"]


def test_cdk_template_schedule_is_an_eventbridge_rule(tmp_path, reference):
    path = tmp_path / "Stack.template.json"
    path.write_text(cdk_json(reference))
    [schedule] = _operations(path).schedules
    assert schedule.kind == "eventbridge-rule" and schedule.expression == "cron(0 5 * * ? *)"


def test_terraform_loaders_attach_typed_schedules_and_notifications(tmp_path, reference):
    pytest.importorskip("hcl2")
    (tmp_path / "main.tf").write_text(terraform(reference))
    found = _operations(tmp_path / "main.tf")
    assert (found.resource, found.format) == ("aws_sagemaker_pipeline.forecast", "terraform")
    assert found.schedules == (
        PlainSchedule(
            kind="scheduler",
            name="aws_scheduler_schedule.daily",
            expression="cron(0 5 * * ? *)",
            passes_parameters=RUN_DATE,
        ),
    )
    [notification] = found.notifications
    assert notification.rule_name == "aws_cloudwatch_event_rule.pipeline_failed"
    assert notification.targets == ["aws_cloudwatch_event_target.alerts"]


def test_terraform_plan_attaches_typed_schedules_and_notifications(tmp_path, reference):
    (tmp_path / "plan.json").write_text(terraform_plan(reference))
    found = _operations(tmp_path / "plan.json")
    assert found.format == "terraform"
    assert [(s.kind, s.name, s.passes_parameters) for s in found.schedules] == [
        ("eventbridge-rule", "module.forecast.aws_cloudwatch_event_rule.daily", RUN_DATE)
    ]
    assert [n.targets for n in found.notifications] == [
        ["module.forecast.aws_cloudwatch_event_target.alerts"]
    ]


_DISABLED_SCHEDULE = SCHEDULE.replace(
    "      ScheduleExpression", "      State: DISABLED\n      ScheduleExpression"
)
_DISABLED_NOTIFICATION = NOTIFICATION.replace(
    "      EventPattern", "      State: DISABLED\n      EventPattern"
)
SCENARIOS = {
    "as wanted": {},
    "no schedule": {"schedule": None},
    "disabled schedule": {"schedule": _DISABLED_SCHEDULE},
    "schedule without the run date": {"schedule": SCHEDULE.replace("ExecutionDate", "Day")},
    "schedule with a fixed date": {
        "schedule": SCHEDULE.replace('"<aws.scheduler.scheduled-time>"', '"2026-11-20"')
    },
    "no failure notification": {"notification": None},
    "failure notification without target": {"notification": NOTIFICATION.split("  Targets:")[0]},
    "disabled failure notification": {"notification": _DISABLED_NOTIFICATION},
}


def _static_rules_fired(path) -> set[str]:
    settings = policy_with()
    selection = Selection.from_policy(settings, select=["OP001", "OP002", "OP003"])
    targets = load_file(path, explicit=True)
    return {f.rule for f in engine.run(targets, builtin_rules(), settings, selection).findings}


def _deployed_rules_fired(found: TemplateOperations, definition: dict) -> set[str]:
    pipeline = Pipeline(
        name=PIPELINE,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{PIPELINE}",
        definition=definition,
        schedules=[Schedule(**dataclasses.asdict(item)) for item in found.schedules],
        notifications=[Notification(**dataclasses.asdict(item)) for item in found.notifications],
    )
    settings = policy_with()
    selection = Selection.from_policy(settings, select=["OP101", "OP102", "OP103"])
    targets = build_targets(MetadataStore(pipelines=[pipeline]), "metadata.json")
    return {f.rule for f in engine.run(targets, builtin_rules(), settings, selection).findings}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_static_and_deployed_rules_agree_on_the_same_facts(tmp_path, reference, scenario):
    path = tmp_path / "pipeline.yaml"
    path.write_text(cfn_yaml(reference, **SCENARIOS[scenario]))
    static = _static_rules_fired(path)
    deployed = _deployed_rules_fired(_operations(path), reference)
    assert {rule.replace("OP00", "OP10") for rule in static} == deployed, (static, deployed)
    assert (scenario == "as wanted") == (not static)


def test_terraform_facts_judged_alike_by_both_families(tmp_path, reference):
    pytest.importorskip("hcl2")
    text = terraform(
        reference,
        schedule=TF_SCHEDULE.replace("ExecutionDate", "Day"),
        notification=TF_NOTIFICATION.split('resource "aws_cloudwatch_event_target"')[0],
    )
    (tmp_path / "main.tf").write_text(text)
    static = _static_rules_fired(tmp_path / "main.tf") - {"MG005"}
    deployed = _deployed_rules_fired(_operations(tmp_path / "main.tf"), reference)
    assert static == {"OP002", "OP003"} and deployed == {"OP102", "OP103"}
