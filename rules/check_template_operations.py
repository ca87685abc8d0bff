"""Operations rules, static: what a pipeline needs around it to run unattended.

A production pipeline that nobody starts, or that fails without anyone hearing of it,
is a pipeline that silently stops producing. These rules read what the loader found
*next to* the pipeline in the same CloudFormation template or Terraform module
(``target.facts["operations"]``: schedules and failure notifications of the metadata
model, the same the audit's OP101-OP103 judge on a deployed pipeline, with the judgements
of :mod:`mlops_guard.metadata.operations`), so they only apply to pipelines that came
from infrastructure code; a bare definition file says nothing about its schedule, and the
audit checks deployed schedules against AWS instead.

Policy keys: ``operations.production_pipelines`` (glob on the pipeline name),
``operations.require_schedule``, ``operations.require_failure_notification`` and
``idempotent_outputs.run_date_parameter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_guard import rule
from mlops_guard.metadata.operations import (
    STATUS_CHANGE,
    is_enabled,
    is_production,
    run_date_problem,
)

if TYPE_CHECKING:
    from mlops_guard.metadata.plain import TemplateOperations


def _template(target, settings) -> TemplateOperations | None:
    """What the loader found around a production pipeline, or None when the rule has
    nothing to say (not from a template, or not a production pipeline)."""
    found = target.facts.get("operations") if target.facts else None
    if found is None or not is_production(target.name, settings):
        return None
    return found


@rule(id="OP001", category="operations", summary="A production pipeline has a schedule")
def check_schedule(definition, target, settings):
    """What it checks: the template that defines the pipeline also defines an enabled
    EventBridge rule with a ``ScheduleExpression`` (``AWS::Events::Rule``) or an
    EventBridge Scheduler schedule (``AWS::Scheduler::Schedule``) whose target ``Arn``
    is this pipeline (``!Ref``/``!GetAtt`` of the pipeline resource, or an ARN ending in
    ``:pipeline/<name>``).

    Why it matters: a daily batch pipeline that is deployed without its trigger produces
    nothing and fails no check; the gap shows up days later as stale predictions.

    How to fix: add the schedule next to the pipeline, e.g. an ``AWS::Scheduler::Schedule``
    with ``ScheduleExpression: cron(0 5 * * ? *)`` and ``Target.Arn`` set to the pipeline's
    ARN; or set ``operations.require_schedule: false`` for pipelines started otherwise.
    """
    found = _template(target, settings)
    if found is None or not settings.require_schedule:
        return
    schedules = found.schedules
    enabled = [item for item in schedules if is_enabled(item)]
    if schedules and not enabled:
        # Resource names, no lines: messages are part of the baseline fingerprint.
        names = ", ".join(item.name for item in schedules)
        assert False, f"every schedule of pipeline {target.name!r} is disabled: {names}"
    if found.format == "terraform":
        kinds = "an aws_scheduler_schedule or a scheduled aws_cloudwatch_event_rule"
    else:
        kinds = "an AWS::Scheduler::Schedule or a scheduled AWS::Events::Rule"
    assert enabled, (
        f"no schedule in {found.file} starts pipeline {target.name!r} "
        f"(resource {found.resource}): add {kinds} targeting it"
    )


@rule(
    id="OP002",
    category="operations",
    summary="Schedules pass the run-date parameter, not a fixed date",
)
def check_schedule_run_date(definition, target, policy):
    """What it checks: every schedule that starts the pipeline passes the run-date
    parameter (``idempotent_outputs.run_date_parameter``, default ``ExecutionDate``) in
    ``SageMakerPipelineParameters.PipelineParameterList``, and not as a fixed date.

    Why it matters: outputs are partitioned by run date so that a re-run overwrites its
    own day. A scheduled run that leaves the parameter at its default writes every day
    into the default's partition, and a hard-coded date does the same.

    How to fix: pass the scheduled time, e.g. with EventBridge Scheduler
    ``{Name: ExecutionDate, Value: "<aws.scheduler.scheduled-time>"}`` and a pipeline
    step that cuts it to a date; declare the parameter in the definition.
    """
    found = _template(target, policy.operations)
    if found is None:
        return
    wanted = policy.idempotent_outputs.run_date_parameter
    date_format = policy.idempotent_outputs.run_date_format
    for schedule in found.schedules:
        problem = run_date_problem(schedule, target.name, wanted, date_format)
        if problem:
            yield f"schedule {schedule.name} {problem}"
    declared = {parameter.name for parameter in definition.parameters}
    if found.schedules and wanted not in declared:
        yield f"schedules pass {wanted}, but the pipeline declares no such parameter"


@rule(
    id="OP003",
    category="operations",
    summary="A production pipeline notifies someone when an execution fails",
)
def check_failure_notification(definition, target, settings):
    """What it checks: the template has an enabled ``AWS::Events::Rule`` whose
    ``EventPattern`` matches ``detail-type: ["SageMaker Model Building Pipeline Execution
    Status Change"]`` with ``detail.currentPipelineExecutionStatus`` including
    ``Failed`` (or not filtered), for this pipeline (no ``detail.pipelineArn`` filter, or
    one naming it), and that has at least one target.

    Why it matters: a scheduled pipeline fails at night; without a notification the
    first to notice is the consumer of the missing output.

    How to fix: add the rule with an SNS topic (or a chat webhook) as its target; or
    set ``operations.require_failure_notification: false``.
    """
    found = _template(target, settings)
    if found is None or not settings.require_failure_notification:
        return
    rules = found.notifications
    for item in rules:
        if not item.targets:
            yield f"failure rule {item.rule_name} has no target: nobody is notified"
    working = [item for item in rules if item.targets and is_enabled(item)]
    if not working and not rules:
        yield (
            f"no EventBridge rule in {found.file} reacts to failed executions of "
            f"pipeline {target.name!r}: add one on {STATUS_CHANGE!r} with "
            "currentPipelineExecutionStatus [Failed]"
        )
    elif not working and any(item.targets for item in rules):
        yield f"every failure rule of pipeline {target.name!r} is disabled"
