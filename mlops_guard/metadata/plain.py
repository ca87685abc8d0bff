"""Plain (pydantic-free) forms of the metadata model's records, for readers that build
them from input they have already checked: the template loaders attach the schedules and
failure notifications they find next to a pipeline as these.

:class:`PlainSchedule` and :class:`PlainNotification` have exactly the fields of the
model's :class:`~.model.Schedule` and :class:`~.model.Notification` (a test holds them
together; ``Schedule(**dataclasses.asdict(plain))`` converts one), so the static and the
deployed operations rules judge one model (:mod:`.operations`). They are plain because
importing the pydantic model costs a template check 20-35 ms of about 280 (pydantic itself
is already loaded there, for the policy), and what the loader built needs no validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ScheduleKind = Literal["eventbridge-rule", "scheduler"]


@dataclass(frozen=True)
class PlainSchedule:
    """Something that starts a pipeline on a timetable, and the parameters it passes:
    an EventBridge rule with a ``ScheduleExpression`` (``"eventbridge-rule"``) or an
    EventBridge Scheduler schedule (``"scheduler"``). In a template ``name`` is the
    resource (logical id or Terraform address); deployed, the rule or schedule name."""

    kind: ScheduleKind
    name: str
    expression: str | None = None
    state: str | None = None
    passes_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlainNotification:
    """An EventBridge rule on pipeline execution status changes, and where it sends them
    (``targets``: ARNs deployed, target ids or addresses in a template)."""

    rule_name: str
    event_pattern: dict[str, Any] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    state: str | None = None


@dataclass(frozen=True)
class TemplateOperations:
    """What a loader found next to one pipeline in its CloudFormation template or Terraform
    module (``target.facts["operations"]``): the schedules that start it and the rules
    that report its failed executions, already matched to this pipeline."""

    file: str
    """The template, or ``dir/*.tf`` for a Terraform module read from several files."""
    resource: str
    """The pipeline's logical id or Terraform address."""
    format: Literal["cloudformation", "terraform"]
    schedules: tuple[PlainSchedule, ...] = ()
    notifications: tuple[PlainNotification, ...] = ()
