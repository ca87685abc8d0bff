"""Questions the metadata rules and the audit's report ask about recorded runs.

The naming, recorded-fields and evaluation-thresholds rules, and the plots of the
audit's HTML report, all ask the same questions of a :class:`MetadataStore`: which kind
of experiment is this, which pipeline and execution does a trial belong to, which trials
are executions, and what value did an execution record for a metric. Answering them
once here keeps the rules short and makes the report plot exactly what the rules judged.

Only the standard library is imported: rule files import this on every ``check``.
"""

from __future__ import annotations

import re
from collections import namedtuple
from datetime import UTC, datetime
from fnmatch import fnmatchcase

EXECUTION_ARN = re.compile(
    r"^arn:aws[\w-]*:sagemaker:[^:]*:[^:]*:pipeline/(?P<pipeline>[^/]+)/execution/(?P<id>[^/]+)$"
)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class Kind(namedtuple("Kind", "name settings")):
    """An experiment kind of the policy (``naming.experiment_kinds``) by its key."""

    __slots__ = ()


class Point(namedtuple("Point", "trial start value component")):
    """One execution's value of a metric: the trial, when it started, the value and the
    run (trial component) that recorded it."""

    __slots__ = ()


# -- kinds, pipelines and executions ------------------------------------------------------


def experiment_kind(naming, name: str) -> Kind | None:
    """The first kind whose ``match`` regex is found in the experiment name, as documented."""
    for key, kind in naming.experiment_kinds.items():
        if re.search(kind.match, name):
            return Kind(key, kind)
    return None


def parse_execution_arn(arn: str | None) -> tuple[str, str] | None:
    """``(pipeline name, execution id)`` of a pipeline execution ARN, else None."""
    match = EXECUTION_ARN.match(arn or "")
    return (match["pipeline"], match["id"]) if match else None


def execution_arns(trial) -> list[str]:
    """Every execution ARN the trial or its runs record, sorted (one, when all is well)."""
    found = {trial.pipeline_execution_arn} if trial.pipeline_execution_arn else set()
    found.update(c.pipeline_execution_arn for c in trial.components if c.pipeline_execution_arn)
    return sorted(found)


def experiment_pipelines(experiment) -> set[str]:
    """Pipeline names the experiment's execution ARNs name."""
    names = set()
    for trial in experiment.trials:
        for arn in execution_arns(trial):
            parsed = parse_execution_arn(arn)
            if parsed:
                names.add(parsed[0])
    return names


def pipeline_name(experiment) -> str:
    """The pipeline an experiment records: the one its executions name, else its own name."""
    names = experiment_pipelines(experiment)
    return next(iter(names)) if len(names) == 1 else experiment.name


def is_metric_trial(kind: Kind | None, trial) -> bool:
    pattern = kind.settings.metric_trial_pattern if kind else None
    return bool(pattern) and re.search(pattern, trial.name) is not None


def execution_trials(experiment, kind: Kind | None) -> list:
    """The trials that stand for executions (not extra metric trials), oldest first."""
    trials = [trial for trial in experiment.trials if not is_metric_trial(kind, trial)]
    return sorted(trials, key=lambda trial: (trial_start(trial) or _EARLIEST, trial.name))


def trial_start(trial) -> datetime | None:
    """When an execution started: its earliest run's start time."""
    starts = [_aware(c.start_time) for c in trial.components if c.start_time is not None]
    return min(starts) if starts else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- runs -----------------------------------------------------------------------------------


def source_type(component) -> str:
    """The resource type of a run's source ARN (``training-job``), or "" without one."""
    arn = component.source_arn or ""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return ""
    return parts[5].split("/", 1)[0]


def applies(globs, component) -> bool:
    """Whether a run is one of ``globs``: by source type or by display name (step)."""
    kinds = (source_type(component), component.display_name or component.name)
    return any(fnmatchcase(value, glob) for glob in globs for value in kinds)


def metric_last(component, metric: str) -> float | None:
    summary = component.metrics.get(metric)
    if summary is None:
        return None
    if summary.last is not None:
        return summary.last
    return summary.series[-1].value if summary.series else None


def metric_value(trial, metric: str, steps: str = "*") -> tuple[float, object] | None:
    """An execution's value of ``metric``: the last value recorded by the latest-starting
    run whose step matches ``steps`` (evaluation runs after training)."""
    best = None
    for component in trial.components:
        value = metric_last(component, metric)
        if value is None or not fnmatchcase(component.display_name or component.name, steps):
            continue
        key = (_aware(component.start_time) if component.start_time else _EARLIEST, component.name)
        if best is None or key > best[0]:
            best = (key, value, component)
    return (best[1], best[2]) if best else None


def metric_history(experiment, kind: Kind | None, threshold) -> list[Point]:
    """The executions' values of a threshold's metric, oldest first; missing ones skipped."""
    points = []
    for trial in execution_trials(experiment, kind):
        found = metric_value(trial, threshold.metric, threshold.steps or "*")
        if found is not None:
            points.append(Point(trial, trial_start(trial), found[0], found[1]))
    return points
