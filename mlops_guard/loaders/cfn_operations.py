"""Schedules and failure notifications next to a CloudFormation pipeline, for the
operations rules: EventBridge rules and Scheduler schedules in the same template whose
target is the pipeline, and EventBridge rules on its failed executions.

Values are read through the template's :class:`.cfn_resolve.Resolver`, so a target
``Arn`` written as ``!Sub ...pipeline/${Pipeline}`` or ``!GetAtt Pipeline.Arn`` names the
pipeline as surely as a literal ARN.
"""

from __future__ import annotations

import json

from mlops_guard.loaders.cfn_resolve import Resolver
from mlops_guard.metadata.operations import STATUS_CHANGE
from mlops_guard.metadata.plain import PlainNotification, PlainSchedule, TemplateOperations

SCHEDULE_KINDS = {"AWS::Events::Rule": "eventbridge-rule", "AWS::Scheduler::Schedule": "scheduler"}


def operations_for(
    shown: str, logical_id: str, name: str | None, resolver: Resolver
) -> TemplateOperations:
    """The schedules and failure notifications of pipeline resource ``logical_id``
    (pipeline name ``name`` when known) in the template ``resolver`` reads."""
    return TemplateOperations(
        file=shown,
        resource=logical_id,
        format="cloudformation",
        schedules=tuple(schedules_for(logical_id, name, resolver)),
        notifications=tuple(notifications_for(logical_id, name, resolver)),
    )


def _parameters(target: dict, resolver: Resolver) -> dict[str, str]:
    holder = target.get("SageMakerPipelineParameters")
    items = holder.get("PipelineParameterList") if isinstance(holder, dict) else None
    found = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and "Name" in item:
            found[resolver.text(item["Name"])[0]] = resolver.text(item.get("Value", ""))[0]
    return found


def schedules_for(logical_id: str, name, resolver: Resolver) -> list[PlainSchedule]:
    """EventBridge rules with a ``ScheduleExpression`` and EventBridge Scheduler schedules
    whose target is this pipeline, with the pipeline parameters each one passes."""
    found = []
    for resource_id, resource in resolver.resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        if kind == "AWS::Events::Rule" and properties.get("ScheduleExpression"):
            targets = properties.get("Targets")
            candidates = list(targets) if isinstance(targets, list) else []
        elif kind == "AWS::Scheduler::Schedule":
            candidates = [properties.get("Target")]
        else:
            continue
        for target in candidates:
            if not isinstance(target, dict):
                continue
            if not resolver.refers_to_pipeline(target.get("Arn"), logical_id, name):
                continue
            state = properties.get("State")
            found.append(
                PlainSchedule(
                    kind=SCHEDULE_KINDS[kind],
                    name=resource_id,
                    expression=resolver.text(properties.get("ScheduleExpression", ""))[0],
                    state=resolver.text(state)[0] if state is not None else None,
                    passes_parameters=_parameters(target, resolver),
                )
            )
    return found


def listed(value) -> list:
    """An event pattern field as a list: EventBridge matches a list of values, and a
    single value (or ``None``) written without one is read as a list of it."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _event_pattern(value) -> dict | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # invalid, or nested too deep
            return None
    return value if isinstance(value, dict) else None


def notifications_for(logical_id: str, name, resolver: Resolver) -> list[PlainNotification]:
    """EventBridge rules that fire when an execution of this pipeline (or of any
    pipeline) changes status to ``Failed``, with the targets they notify."""
    found = []
    for resource_id, resource in resolver.resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Events::Rule":
            continue
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        pattern = _event_pattern(properties.get("EventPattern"))
        if pattern is None or STATUS_CHANGE not in listed(pattern.get("detail-type")):
            continue
        detail = pattern.get("detail") if isinstance(pattern.get("detail"), dict) else {}
        statuses = detail.get("currentPipelineExecutionStatus")
        if statuses is not None:
            statuses = listed(statuses)
            if "Failed" not in statuses:
                continue
        arns = detail.get("pipelineArn")
        if arns is not None and not isinstance(arns, list):
            arns = [arns]
        if isinstance(arns, list) and not any(
            resolver.refers_to_pipeline(arn, logical_id, name) for arn in arns
        ):
            continue
        targets = properties.get("Targets")
        state = properties.get("State")
        found.append(
            PlainNotification(
                rule_name=resource_id,
                event_pattern=pattern,
                targets=_target_names(targets, resolver),
                state=resolver.text(state)[0] if state is not None else None,
            )
        )
    return found


def _target_names(targets, resolver: Resolver) -> list[str]:
    """Each target of a rule by its ``Id`` (or ``Arn``, or its place in the list)."""
    names = []
    for index, target in enumerate(targets if isinstance(targets, list) else []):
        chosen = target.get("Id", target.get("Arn")) if isinstance(target, dict) else None
        names.append(resolver.text(chosen)[0] if chosen is not None else f"Targets[{index}]")
    return names
