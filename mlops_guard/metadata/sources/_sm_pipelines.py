"""Deployed SageMaker pipelines with what operations rules need around them.

For each pipeline: its definition (DescribePipeline), tags, its recent executions with
parameters and failure reasons, the EventBridge rules and Scheduler schedules that start
it (with the parameters they pass), and the EventBridge rules that notify on its
execution status changes. Everything here is a List/Describe/Get call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_guard.metadata.model import Execution, Notification, Pipeline, Schedule
from mlops_guard.metadata.sources._aws import Reader, is_not_found, pages, tags_dict

STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})


@dataclass
class Options:
    max_executions: int = 20  # most recent executions per pipeline


def read_pipelines(reader: Reader, options: Options) -> list[Pipeline]:
    sagemaker = reader.client("sagemaker")
    summaries: list[dict] = []
    with reader.guard("sagemaker:ListPipelines (pipelines)"):
        summaries = list(pages(sagemaker.list_pipelines, "PipelineSummaries", MaxResults=100))
    if not summaries:
        return []
    # Create every client here, on this thread, before the pool uses them.
    events, scheduler = reader.client("events"), reader.client("scheduler")
    triggers = _Triggers(reader, events, scheduler)
    triggers.load()

    def one(summary: dict) -> Pipeline:
        return _pipeline(reader, sagemaker, triggers, summary, options)

    return sorted(reader.map(one, summaries), key=lambda pipeline: pipeline.name)


def _pipeline(reader: Reader, sagemaker, triggers, summary: dict, options: Options) -> Pipeline:
    name, arn = summary["PipelineName"], summary.get("PipelineArn")
    definition = None
    with reader.guard(f"sagemaker:DescribePipeline {name} (definition)"):
        described = _unless_gone(sagemaker.describe_pipeline, PipelineName=name) or {}
        definition = _json_object(described.get("PipelineDefinition"))
    tags: dict[str, str] = {}
    if arn:
        with reader.guard(f"sagemaker:ListTags {name} (pipeline tags)"):
            tags = tags_dict(list(pages(sagemaker.list_tags, "Tags", ResourceArn=arn)))
    return Pipeline(
        name=name,
        arn=arn,
        definition=definition,
        tags=tags,
        schedules=triggers.schedules(arn) if arn else [],
        notifications=triggers.notifications(arn) if arn else [],
        executions=_executions(reader, sagemaker, name, options),
    )


def _executions(reader: Reader, sagemaker, name: str, options: Options) -> list[Execution]:
    summaries: list[dict] = []
    with reader.guard(f"sagemaker:ListPipelineExecutions {name} (executions)"):
        for summary in pages(
            sagemaker.list_pipeline_executions,
            "PipelineExecutionSummaries",
            PipelineName=name,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=min(100, max(1, options.max_executions)),
        ):
            summaries.append(summary)
            if len(summaries) >= options.max_executions:
                break
    executions = []
    for summary in summaries:
        arn = summary["PipelineExecutionArn"]
        described: dict[str, Any] = {}
        with reader.guard(f"sagemaker:DescribePipelineExecution {arn}"):
            described = (
                _unless_gone(sagemaker.describe_pipeline_execution, PipelineExecutionArn=arn) or {}
            )
        parameters: dict[str, str] = {}
        with reader.guard(f"sagemaker:ListPipelineParametersForExecution {arn}"):
            parameters = {
                item["Name"]: item.get("Value", "")
                for item in pages(
                    sagemaker.list_pipeline_parameters_for_execution,
                    "PipelineParameters",
                    PipelineExecutionArn=arn,
                )
            }
        status = described.get("PipelineExecutionStatus") or summary.get("PipelineExecutionStatus")
        executions.append(
            Execution(
                arn=arn,
                status=status,
                start_time=summary.get("StartTime") or described.get("CreationTime"),
                end_time=described.get("LastModifiedTime") if status in TERMINAL else None,
                failure_reason=described.get("FailureReason") or None,
                parameters=parameters,
            )
        )
    return executions


class _Triggers:
    """EventBridge rules and Scheduler schedules, read once and matched to pipelines."""

    def __init__(self, reader: Reader, events, scheduler):
        self.reader, self.events, self.scheduler = reader, events, scheduler
        self.rules: dict[str, dict] = {}
        self.status_rules: list[dict] = []
        self.schedule_summaries: list[dict] = []
        self._targets: dict[str, list[dict]] = {}

    def load(self) -> None:
        with self.reader.guard("events:ListRules (schedules and notifications)"):
            self.rules = {rule["Name"]: rule for rule in pages(self.events.list_rules, "Rules")}
        self.status_rules = [
            rule for rule in self.rules.values() if _is_status_change(rule.get("EventPattern"))
        ]
        with self.reader.guard("scheduler:ListSchedules (schedules)"):
            self.schedule_summaries = list(pages(self.scheduler.list_schedules, "Schedules"))

    def targets(self, rule_name: str) -> list[dict]:
        if rule_name not in self._targets:
            found: list[dict] = []
            with self.reader.guard(f"events:ListTargetsByRule {rule_name}"):
                found = list(pages(self.events.list_targets_by_rule, "Targets", Rule=rule_name))
            self._targets[rule_name] = found
        return self._targets[rule_name]

    def schedules(self, pipeline_arn: str) -> list[Schedule]:
        found: list[Schedule] = []
        names: list[str] = []
        with self.reader.guard(f"events:ListRuleNamesByTarget {pipeline_arn}"):
            names = list(
                pages(self.events.list_rule_names_by_target, "RuleNames", TargetArn=pipeline_arn)
            )
        for rule_name in sorted(set(names)):
            rule = self.rules.get(rule_name, {})
            if not rule.get("ScheduleExpression"):
                continue  # started by events, not on a timetable
            for target in self.targets(rule_name):
                if target.get("Arn") == pipeline_arn:
                    found.append(
                        Schedule(
                            kind="eventbridge-rule",
                            name=rule_name,
                            expression=rule.get("ScheduleExpression"),
                            state=rule.get("State"),
                            passes_parameters=_passed(target),
                        )
                    )
        for summary in self.schedule_summaries:
            if (summary.get("Target") or {}).get("Arn") != pipeline_arn:
                continue
            name, group = summary["Name"], summary.get("GroupName") or "default"
            with self.reader.guard(f"scheduler:GetSchedule {group}/{name}"):
                schedule = _unless_gone(self.scheduler.get_schedule, Name=name, GroupName=group)
                if schedule:
                    found.append(
                        Schedule(
                            kind="scheduler",
                            name=name if group == "default" else f"{group}/{name}",
                            expression=schedule.get("ScheduleExpression"),
                            state=schedule.get("State"),
                            passes_parameters=_passed(schedule.get("Target") or {}),
                        )
                    )
        return sorted(found, key=lambda schedule: (schedule.kind, schedule.name))

    def notifications(self, pipeline_arn: str) -> list[Notification]:
        found = []
        for rule in self.status_rules:
            pattern = _json_object(rule.get("EventPattern")) or {}
            if not _may_match(pattern, pipeline_arn):
                continue
            found.append(
                Notification(
                    rule_name=rule["Name"],
                    event_pattern=pattern,
                    targets=sorted(t["Arn"] for t in self.targets(rule["Name"]) if "Arn" in t),
                    state=rule.get("State"),
                )
            )
        return sorted(found, key=lambda notification: notification.rule_name)


def _is_status_change(pattern_text: str | None) -> bool:
    pattern = _json_object(pattern_text) or {}
    detail_types = pattern.get("detail-type")
    return isinstance(detail_types, list) and STATUS_CHANGE in detail_types


def _may_match(pattern: dict, pipeline_arn: str) -> bool:
    """False only when the pattern lists pipeline ARNs and this one is not among them."""
    detail = pattern.get("detail")
    arns = detail.get("pipelineArn") if isinstance(detail, dict) else None
    if isinstance(arns, list) and all(isinstance(arn, str) for arn in arns):
        return pipeline_arn in arns
    return True


def _passed(target: dict) -> dict[str, str]:
    parameters = (target.get("SageMakerPipelineParameters") or {}).get("PipelineParameterList")
    return {item["Name"]: item.get("Value", "") for item in parameters or [] if "Name" in item}


def _json_object(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _unless_gone(call, **params) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return call(**params)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
