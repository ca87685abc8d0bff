"""Schedules and failure notifications next to a Terraform pipeline, for the operations
rules (the same facts the CloudFormation loader finds, see :mod:`.cfn_operations`).

Both Terraform readers first put every EventBridge rule, target and Scheduler schedule in
one shape, ``(address, type, values)``, where a reference to another resource is a
``${address.attribute}`` string: ``.tf`` files already read that way
(:mod:`.terraform_hcl`), and a plan's unknown values are replaced by the references its
``configuration`` section records (:mod:`.terraform_plan`). This module matches those
resources to one pipeline.
"""

from __future__ import annotations

import re

from mlops_guard.metadata.operations import STATUS_CHANGE
from mlops_guard.metadata.plain import PlainNotification, PlainSchedule, TemplateOperations

RESOURCE_TYPE = "aws_sagemaker_pipeline"
EVENT_RULE = "aws_cloudwatch_event_rule"
EVENT_TARGET = "aws_cloudwatch_event_target"
SCHEDULE = "aws_scheduler_schedule"
OPERATION_TYPES = (EVENT_RULE, EVENT_TARGET, SCHEDULE)


def operations_for(
    resources: list[tuple], file: str, address: str, name: str | None
) -> TemplateOperations:
    """The schedules and failure notifications among ``resources`` (``(address, type,
    values)``) for the pipeline resource ``address`` (pipeline name ``name`` when known)."""
    rules = [item for item in resources if item[1] == EVENT_RULE]
    targets = [item for item in resources if item[1] == EVENT_TARGET]
    schedules = []
    for rule_address, _type, values in rules:
        if not values.get("schedule_expression"):
            continue
        for _target_address, _t, target in targets:
            if not _on_rule(target.get("rule"), rule_address, values):
                continue
            if not _names_pipeline(target.get("arn"), address, name):
                continue
            block = _first(target.get("sagemaker_pipeline_target"))
            schedules.append(
                PlainSchedule(
                    kind="eventbridge-rule",
                    name=rule_address,
                    expression=str(values["schedule_expression"]),
                    state=_state(values),
                    passes_parameters=_tf_parameters(block, "pipeline_parameter_list"),
                )
            )
    for schedule_address, _type, values in resources:
        if _type != SCHEDULE:
            continue
        for target in _blocks(values.get("target")):
            if not _names_pipeline(target.get("arn"), address, name):
                continue
            block = _first(target.get("sagemaker_pipeline_parameters"))
            schedules.append(
                PlainSchedule(
                    kind="scheduler",
                    name=schedule_address,
                    expression=str(values.get("schedule_expression") or ""),
                    state=_state(values),
                    passes_parameters=_tf_parameters(block, "pipeline_parameter"),
                )
            )
    notifications = []
    for rule_address, _type, values in rules:
        pattern = values.get("event_pattern")
        if not isinstance(pattern, dict) or STATUS_CHANGE not in _listed(
            pattern.get("detail-type")
        ):
            continue
        detail = pattern.get("detail") if isinstance(pattern.get("detail"), dict) else {}
        statuses = detail.get("currentPipelineExecutionStatus")
        if statuses is not None and "Failed" not in _listed(statuses):
            continue
        arns = detail.get("pipelineArn")
        if arns is not None and not any(
            _names_pipeline(arn, address, name) for arn in _listed(arns)
        ):
            continue
        notifications.append(
            PlainNotification(
                rule_name=rule_address,
                event_pattern=pattern,
                targets=[
                    item[0]
                    for item in targets
                    if _on_rule(item[2].get("rule"), rule_address, values)
                ],
                state=_state(values),
            )
        )
    return TemplateOperations(
        file=file,
        resource=address,
        format="terraform",
        schedules=tuple(schedules),
        notifications=tuple(notifications),
    )


def _blocks(value) -> list[dict]:
    """A nested block: python-hcl2 and plans both give a list of mappings."""
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _first(value) -> dict:
    blocks = _blocks(value)
    return blocks[0] if blocks else {}


def _listed(value) -> list:
    return list(value) if isinstance(value, list) else [value]


def _tf_parameters(block: dict, key: str) -> dict[str, str]:
    return {
        str(item["name"]): str(item.get("value", ""))
        for item in _blocks(block.get(key))
        if "name" in item
    }


def _state(values: dict) -> str | None:
    if values.get("is_enabled") is False:
        return "DISABLED"
    state = values.get("state")
    if not isinstance(state, str):
        return None
    # ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is enabled too.
    return "ENABLED" if state.upper().startswith("ENABLED") else state


def _refers(value, address: str) -> bool:
    """Whether a ``${...}`` in ``value`` names the resource ``address``."""
    if not isinstance(value, str):
        return False
    pattern = re.compile(rf"(?<![\w.-]){re.escape(address)}(?![\w-])")
    return any(pattern.search(inner) for inner in _REFERENCE.findall(value))


_REFERENCE = re.compile(r"\$\{([^{}]*)\}")


def _names_pipeline(arn, address: str, name: str | None) -> bool:
    if _refers(arn, address):
        return True
    match = re.search(r":pipeline/([^/]+)$", arn) if isinstance(arn, str) else None
    return bool(name and match and "${" not in match.group(1)) and (
        match.group(1).lower() == name.lower()
    )


def _on_rule(value, rule_address: str, rule_values: dict) -> bool:
    if _refers(value, rule_address):
        return True
    rule_name = rule_values.get("name")
    return isinstance(value, str) and "${" not in value and value == rule_name
