"""Operations rules on deployed pipelines: is it started, watched, and running well?

These run on a metadata store read from AWS (``mlops-guard audit sagemaker``) or an
export of one: each pipeline with the EventBridge rules and Scheduler schedules that
start it, the EventBridge rules on its execution status changes, and its recent
executions. Only pipelines matching ``operations.production_pipelines`` are checked.

The static rules OP001-OP003 check the same things in a CloudFormation template or a
Terraform module, on the same schedules and notifications of the metadata model
(:mod:`mlops_guard.metadata.operations` holds the judgements both share); these check what
is actually deployed. What could not be read (access denied to EventBridge,
say) is reported as "not evaluated" for the pipeline, never as a missing schedule and
never as a pass. The deployed definition itself is checked by every definition rule:
the audit adds it as a target of its own (``sagemaker:pipeline/<name>``).
"""

from __future__ import annotations

from mlops_guard import NotEvaluated, Violation, rule
from mlops_guard.metadata import store_lookup
from mlops_guard.metadata.operations import (
    STATUS_CHANGE,
    is_enabled,
    is_production,
    reports_failures,
    run_date_problem,
)


def _production(pipeline, settings) -> bool:
    return is_production(pipeline.name, settings)


def _unread_triggers(store, pipeline) -> list:
    names = ("events:ListRules", "scheduler:ListSchedules", "events:ListTargetsByRule")
    return store_lookup.unread_about(store, *names, pipeline.arn or pipeline.name)


@rule(id="OP101", category="operations", summary="A deployed production pipeline has a schedule")
def check_deployed_schedule(deployed_pipeline, store, settings):
    """What it checks: an enabled EventBridge rule with a ``ScheduleExpression`` or an
    enabled EventBridge Scheduler schedule targets the deployed pipeline (when
    ``operations.require_schedule`` is true).

    Why it matters: a daily pipeline deployed without its trigger, or whose schedule was
    disabled during an incident and never re-enabled, produces nothing and fails nothing.

    How to fix: create (or re-enable) the schedule, e.g. ``aws scheduler create-schedule
    --schedule-expression "cron(0 5 * * ? *)"`` with the pipeline's ARN as target; or set
    ``operations.require_schedule: false`` for pipelines started otherwise.
    """
    pipeline = deployed_pipeline
    if not _production(pipeline, settings) or not settings.require_schedule:
        return
    unread = _unread_triggers(store, pipeline)
    if unread:
        raise NotEvaluated(store_lookup.could_not_read(unread))
    enabled = [schedule for schedule in pipeline.schedules if is_enabled(schedule)]
    if pipeline.schedules and not enabled:
        names = ", ".join(f"{s.name} ({s.state})" for s in pipeline.schedules)
        assert False, f"every schedule of pipeline {pipeline.name!r} is disabled: {names}"
    assert enabled, f"no EventBridge rule or Scheduler schedule starts pipeline {pipeline.name!r}"


@rule(
    id="OP102",
    category="operations",
    summary="Deployed schedules pass the run-date parameter, not a fixed date",
)
def check_deployed_schedule_run_date(deployed_pipeline, store, policy):
    """What it checks: every schedule that starts the deployed pipeline passes the run-date
    parameter (``idempotent_outputs.run_date_parameter``, default ``ExecutionDate``), not
    as a fixed date (a value matching ``run_date_format``), and the deployed definition
    declares that parameter.

    Why it matters: outputs are partitioned by run date so that a re-run overwrites its own
    day; a scheduled run that leaves the parameter at its default, or passes a literal
    date, writes every day into the same partition.

    How to fix: pass the scheduled time, e.g. with EventBridge Scheduler
    ``{"Name": "ExecutionDate", "Value": "<aws.scheduler.scheduled-time>"}``.
    """
    pipeline = deployed_pipeline
    if not _production(pipeline, policy.operations):
        return
    unread = _unread_triggers(store, pipeline)
    if unread:
        raise NotEvaluated(store_lookup.could_not_read(unread))
    wanted = policy.idempotent_outputs.run_date_parameter
    date_format = policy.idempotent_outputs.run_date_format
    base = store_lookup.pipeline_pointer(store, pipeline)
    for index, schedule in enumerate(pipeline.schedules):
        problem = run_date_problem(schedule, pipeline.name, wanted, date_format)
        if problem:
            yield Violation(
                f"{schedule.kind} {schedule.name} {problem}", at=f"{base}/schedules/{index}"
            )
    parameters = (pipeline.definition or {}).get("Parameters")
    if pipeline.schedules and isinstance(parameters, list):
        declared = {str(item.get("Name")) for item in parameters if isinstance(item, dict)}
        if wanted not in declared:
            yield f"schedules pass {wanted}, but the deployed pipeline declares no such parameter"


@rule(
    id="OP103",
    category="operations",
    summary="A deployed production pipeline notifies someone when an execution fails",
)
def check_deployed_failure_notification(deployed_pipeline, store, settings):
    """What it checks: an EventBridge rule on ``"SageMaker Model Building Pipeline
    Execution Status Change"`` events matches this pipeline's failures
    (``detail.currentPipelineExecutionStatus`` includes ``Failed`` or is not filtered, and
    ``detail.pipelineArn``, if filtered, names it), has at least one target and is not
    disabled (when ``operations.require_failure_notification`` is true).

    Why it matters: a scheduled pipeline fails at night; without a notification the first
    to notice is the consumer of the missing output.

    How to fix: ``aws events put-rule`` with that event pattern and ``put-targets`` with
    an SNS topic (or a chat webhook); or set ``operations.require_failure_notification:
    false``.
    """
    pipeline = deployed_pipeline
    if not _production(pipeline, settings) or not settings.require_failure_notification:
        return
    unread = _unread_triggers(store, pipeline)
    if unread:
        raise NotEvaluated(store_lookup.could_not_read(unread))
    failures = [n for n in pipeline.notifications if reports_failures(n.event_pattern)]
    targeted = [n for n in failures if n.targets]
    if failures and not targeted:
        names = ", ".join(n.rule_name for n in failures)
        assert False, f"failure rule {names} of pipeline {pipeline.name!r} has no target"
    if targeted and not any(is_enabled(n) for n in targeted):
        names = ", ".join(f"{n.rule_name} ({n.state})" for n in targeted)
        assert False, f"every failure rule of pipeline {pipeline.name!r} is disabled: {names}"
    assert targeted, (
        f"no EventBridge rule notifies anyone of failed executions of pipeline "
        f"{pipeline.name!r}: add one on {STATUS_CHANGE!r} with currentPipelineExecutionStatus "
        "[Failed] and a target"
    )


@rule(
    id="OP104",
    category="operations",
    severity="warning",
    summary="Recent executions of a production pipeline succeeded",
)
def check_recent_executions(deployed_pipeline, store, settings):
    """What it checks: among the last ``operations.recent_executions`` executions (by
    start time) of a production pipeline, none failed; each failure is reported with its
    start time and failure reason.

    Why it matters: a pipeline that fails every other day still "has a schedule and an
    alarm"; the history is where the real reliability shows.

    How to fix: read the failure reason and the failing step's logs; fix and re-run the
    missed dates (outputs are partitioned by run date, so a re-run replaces its day).
    """
    pipeline = deployed_pipeline
    if not _production(pipeline, settings):
        return
    unread = store_lookup.unread_about(store, f"sagemaker:ListPipelineExecutions {pipeline.name} (")
    if unread:
        raise NotEvaluated(store_lookup.could_not_read(unread))
    ordered = sorted(
        enumerate(pipeline.executions),
        key=lambda item: (item[1].start_time is not None, item[1].start_time or 0),
        reverse=True,
    )
    for index, execution in ordered[: settings.recent_executions]:
        if (execution.status or "").lower() != "failed":
            continue
        started = execution.start_time.isoformat() if execution.start_time else "unknown time"
        reason = execution.failure_reason or "no failure reason recorded"
        yield Violation(
            f"execution {execution.arn.rsplit('/', 1)[-1]} started {started} failed: {reason}",
            at=f"{store_lookup.pipeline_pointer(store, pipeline)}/executions/{index}",
        )
