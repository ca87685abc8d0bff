"""What the metadata rules and the HTML report need to know about recorded runs.

The naming, recorded-fields and evaluation-thresholds rules of an audit, and the plots of
its HTML report, all ask the same questions: which kind of experiment is this, which
pipeline and execution does a trial belong to, which trials are executions, what value
did an execution record for a metric, and does a series drift. Answering them once here
keeps the rules short and makes the report plot exactly what the rules judged.

Only the standard library is imported: rule files import this on every ``check``.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import namedtuple
from datetime import UTC, datetime
from fnmatch import fnmatchcase

from mlops_guard.pointer import join

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


def known_pipelines(store) -> set[str]:
    """Pipeline names known to the store: deployed ones and those executions name."""
    names = {pipeline.name for pipeline in store.pipelines}
    for experiment in store.experiments:
        names |= experiment_pipelines(experiment)
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


# -- thresholds and drift -----------------------------------------------------------------


def thresholds_for(policy, pipeline: str) -> list:
    return [
        t for t in policy.evaluation_thresholds.thresholds if fnmatchcase(pipeline, t.pipelines)
    ]


def higher_is_better(threshold) -> bool:
    return threshold.direction == "higher_is_better"


def meets(value: float, threshold) -> bool:
    """Whether ``value`` passes the threshold (inclusive, as the reference gate's ``<=``)."""
    return value >= threshold.value if higher_is_better(threshold) else value <= threshold.value


def baseline_problems(
    value: float, baseline: float, threshold, previous: str = "the previous run's"
) -> list[str]:
    """Why ``value`` is not enough of a change over ``baseline`` (MLflow MetricThreshold):
    higher is better needs ``value >= baseline + min_absolute_change`` and ``value >=
    baseline + min_relative_change * |baseline|``; lower is better the mirror image.
    ``previous`` names what the baseline is in the messages."""
    if math.isnan(value) or math.isnan(baseline):  # every comparison with NaN is false
        return [f"{value:g} cannot be compared with {previous} {baseline:g}"]
    sign = 1 if higher_is_better(threshold) else -1
    word = "above" if sign > 0 else "below"
    problems = []
    if threshold.min_absolute_change is not None:
        needed = baseline + sign * threshold.min_absolute_change
        if sign * (value - needed) < 0:
            problems.append(
                f"{value:g} is not at least {threshold.min_absolute_change:g} {word} {previous} "
                f"{baseline:g} (needs {needed:g})"
            )
    if threshold.min_relative_change is not None:
        needed = baseline + sign * threshold.min_relative_change * abs(baseline)
        if sign * (value - needed) < 0:
            problems.append(
                f"{value:g} is not at least {threshold.min_relative_change:.0%} {word} {previous} "
                f"{baseline:g} (needs {needed:g})"
            )
    return problems


def drift_limit(previous: list[float], threshold, tolerance: float) -> tuple[float, float]:
    """``(median, limit)``: a value worse than ``limit`` drifts from the median of
    ``previous`` by more than ``tolerance`` (relative to the median's magnitude)."""
    median = statistics.median([n for n in previous if not math.isnan(n)] or [math.nan])
    sign = 1 if higher_is_better(threshold) else -1
    return median, median - sign * tolerance * abs(median)


def drifts(value: float, previous: list[float], threshold, tolerance: float) -> bool:
    """NaN drifts (it is no value at all); NaN before it is not part of the median."""
    if math.isnan(value):
        return True
    previous = [number for number in previous if not math.isnan(number)]
    if not previous:
        return False
    _median, limit = drift_limit(previous, threshold, tolerance)
    return value < limit if higher_is_better(threshold) else value > limit


def drifting_indices(values: list[float], threshold, window: int, tolerance: float) -> set[int]:
    """Indices of the values that drift from the median of the ``window`` before them."""
    return {
        index
        for index, value in enumerate(values)
        if drifts(value, values[max(0, index - window) : index], threshold, tolerance)
    }


# -- locations and what could not be read ---------------------------------------------------


def experiment_pointer(store, experiment) -> str:
    for index, candidate in enumerate(store.experiments):
        if candidate is experiment:
            return join("/experiments", index)
    return ""


def pipeline_pointer(store, pipeline) -> str:
    for index, candidate in enumerate(store.pipelines):
        if candidate is pipeline:
            return join("/pipelines", index)
    return ""


def unread_about(store, *names: str) -> list:
    """Items of ``store.unreadable`` that concern any of ``names`` (a prefix of their
    ``what``, like ``events:``, or a resource name or ARN mentioned in it)."""
    found = []
    for item in store.unreadable:
        what = item.what
        if any(what.startswith(name) or f" {name} " in f" {what} " for name in names if name):
            found.append(item)
    return found


def not_evaluated(items) -> str:
    listed = "; ".join(f"{item.what} ({item.reason})" for item in items)
    return f"not evaluated: could not read {listed}"
