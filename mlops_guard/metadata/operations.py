"""The judgements on a pipeline's schedules and failure notifications that the static
operations rules (OP001-OP003, on a template) and the audit's (OP101-OP103, on a deployed
pipeline) share.

Both judge the metadata model's schedules and notifications: deployed, the pydantic
:class:`~.model.Schedule` and :class:`~.model.Notification`; in a template, the
:class:`~.plain.PlainSchedule` and :class:`~.plain.PlainNotification` the loaders build,
which have the same fields. Nothing here imports pydantic or defines a class, so the rule
modules import it for the price of ``re`` and ``fnmatch``.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_guard.metadata.plain import PlainNotification, PlainSchedule

STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
"""The EventBridge ``detail-type`` of a pipeline execution's status changes."""


def is_production(pipeline_name: str, settings) -> bool:
    """Whether ``operations.production_pipelines`` (a glob on the name) covers it."""
    return fnmatchcase(pipeline_name, settings.production_pipelines or "*")


def is_enabled(item: PlainSchedule | PlainNotification) -> bool:
    """A schedule or rule runs unless its state says otherwise (no state: enabled)."""
    return str(item.state or "ENABLED").upper() == "ENABLED"


def run_date_problem(
    schedule: PlainSchedule, pipeline_name: str, wanted: str, date_format: str | None
) -> str | None:
    """What is wrong with the run-date parameter a schedule passes, said after the
    schedule's name (``"starts pipeline ... without passing ExecutionDate: ..."``), or
    None when it passes one that is not a fixed date (``date_format`` matches a date)."""
    passed = schedule.passes_parameters
    if wanted not in passed:
        return (
            f"starts pipeline {pipeline_name!r} without passing {wanted}: every run writes "
            "to the default date's partition"
        )
    if date_format and re.search(date_format, str(passed[wanted])):
        return (
            f"passes a fixed {wanted} ({passed[wanted]!r}): every run writes to the same partition"
        )
    return None


def reports_failures(pattern: dict) -> bool:
    """Whether an event pattern (as deployed: every field a list) matches failed
    executions: the status change ``detail-type`` with ``Failed`` among the statuses, or
    no status filter."""
    detail_types = pattern.get("detail-type")
    if not isinstance(detail_types, list) or STATUS_CHANGE not in detail_types:
        return False
    detail = pattern.get("detail")
    statuses = detail.get("currentPipelineExecutionStatus") if isinstance(detail, dict) else None
    return statuses is None or (isinstance(statuses, list) and "Failed" in statuses)
