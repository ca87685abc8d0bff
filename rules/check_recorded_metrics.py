"""Evaluation-threshold rules on recorded runs: is what production runs measured good enough?

These run on a metadata store (``mlops-guard audit``). A *production run* is an
execution trial (not an extra ``metric_trial_pattern`` trial) of an experiment whose
kind has ``production: true``. Its value of a metric is the last value recorded by its
latest-starting run (trial component) whose step matches the threshold's ``steps`` glob:
evaluation steps run after training, so by default the holdout value counts, not the
training one. A threshold applies to the pipelines its ``pipelines`` glob matches (the
pipeline named in the executions' ARNs, else the experiment's name).

ET101 judges every production run; ET102 (baseline) and ET103 (drift) judge the latest
one, by start time, against those before it. Messages carry the numbers.
"""

from __future__ import annotations

from collections import namedtuple

from mlops_guard import NotEvaluated, Violation, rule
from mlops_guard.metadata import recorded_runs, store_lookup
from mlops_guard.metadata.thresholds import (
    baseline_problems,
    drift_limit,
    drifts,
    higher_is_better,
    meets,
    thresholds_for,
)
from mlops_guard.pointer import join

_UNREAD_RUNS = (
    "sagemaker:Search ExperimentTrialComponent",
    "sagemaker:ListTrialComponents",
    "sagemaker:DescribeTrialComponent",
)


class _Production(namedtuple("_Production", "kind thresholds base")):
    __slots__ = ()


def _production(experiment, store, policy) -> _Production | None:
    """What the rules need of a production experiment with thresholds, else None.

    When part of the runs could not be read, the experiment is not evaluated: a partial
    history is not judged.
    """
    kind = recorded_runs.experiment_kind(policy.naming, experiment.name)
    if kind is None or not kind.settings.production:
        return None
    thresholds = thresholds_for(policy, recorded_runs.pipeline_name(experiment))
    if not thresholds:
        return None
    unread = store_lookup.unread_about(store, *_UNREAD_RUNS)
    if unread:
        raise NotEvaluated(store_lookup.could_not_read(unread))
    return _Production(kind, thresholds, store_lookup.experiment_pointer(store, experiment))


def _trial_pointer(base: str, experiment, trial) -> str:
    for index, candidate in enumerate(experiment.trials):
        if candidate is trial:
            return join(base, "trials", index)
    return base


def _sense(threshold) -> str:
    return ">=" if higher_is_better(threshold) else "<="


@rule(
    id="ET101",
    category="evaluation-thresholds",
    summary="Production runs meet the metric thresholds",
)
def check_run_thresholds(experiment, store, policy):
    """What it checks: each production run's value of each threshold metric
    (``evaluation_thresholds.thresholds``) meets the threshold, direction aware
    (``lower_is_better``: value <= threshold; ``higher_is_better``: value >= threshold),
    and a production run that records no value of the metric is reported too.

    Why it matters: the pipeline's evaluation gate should stop a bad model; this is the
    after-the-fact check that it did, and that nobody lowered the gate or skipped it.

    How to fix: investigate the run (data, code version, hyperparameters); if the gate
    let it through, fix the gate's condition. A run the gate stopped on purpose can be
    waived by its subject.
    """
    found = _production(experiment, store, policy)
    if found is None:
        return
    kind, thresholds, base = found
    for threshold in thresholds:
        for trial in recorded_runs.execution_trials(experiment, kind):
            pointer = _trial_pointer(base, experiment, trial)
            subject = f"{experiment.name}/{trial.name}"
            value = recorded_runs.metric_value(trial, threshold.metric, threshold.steps or "*")
            if value is None:
                yield Violation(
                    f"run {trial.name!r} records no {threshold.metric} "
                    f"(steps {threshold.steps or '*'}): threshold {_sense(threshold)} "
                    f"{threshold.value:g} not checked",
                    at=pointer,
                    subject=subject,
                )
            elif not meets(value[0], threshold):
                step = value[1].display_name or value[1].name
                yield Violation(
                    f"run {trial.name!r}: {threshold.metric} = {value[0]:g} (step {step}) fails "
                    f"the threshold {_sense(threshold)} {threshold.value:g}",
                    at=pointer,
                    subject=subject,
                )


@rule(
    id="ET102",
    category="evaluation-thresholds",
    summary="The latest production run improves on the previous one as required",
)
def check_run_baseline(experiment, store, policy):
    """What it checks: for thresholds with ``min_absolute_change`` or
    ``min_relative_change``, the latest production run's value beats the previous run's
    (by start time) as MLflow's ``MetricThreshold`` requires: higher is better needs
    ``value >= baseline + min_absolute_change`` and ``value >= baseline +
    min_relative_change * |baseline|``; lower is better the mirror image.

    Why it matters: a retrained model that is not better than the one it replaces is churn
    with risk and no gain; teams that promote only improvements state it this way.

    How to fix: keep the previous model (do not promote), or relax the required change.
    """
    found = _production(experiment, store, policy)
    if found is None:
        return
    kind, thresholds, base = found
    for threshold in thresholds:
        if threshold.min_absolute_change is None and threshold.min_relative_change is None:
            continue
        points = recorded_runs.metric_history(experiment, kind, threshold)
        if len(points) < 2:
            continue
        latest, previous = points[-1], points[-2]
        for problem in baseline_problems(latest.value, previous.value, threshold):
            yield Violation(
                f"run {latest.trial.name!r}: {threshold.metric} {problem}, run "
                f"{previous.trial.name!r}",
                at=_trial_pointer(base, experiment, latest.trial),
                subject=f"{experiment.name}/{latest.trial.name}",
            )


@rule(
    id="ET103",
    category="evaluation-thresholds",
    summary="The latest production run's metrics do not drift",
)
def check_run_drift(experiment, store, policy):
    """What it checks: the latest production run's value of each threshold metric is not
    worse than the median of up to ``evaluation_thresholds.drift.window`` runs before it
    by more than ``drift.tolerance`` (relative to the median: with lower is better, drift
    means value > median * (1 + tolerance)). Needs at least one earlier run.

    Why it matters: a metric can pass its fixed threshold and still be sliding day after
    day; drift is the early warning, before the gate starts failing.

    How to fix: look at what changed (input data distribution, upstream partitions, code
    version) between the latest run and the window; retrain or fix the input.
    """
    found = _production(experiment, store, policy)
    if found is None:
        return
    kind, thresholds, base = found
    drift = policy.evaluation_thresholds.drift
    for threshold in thresholds:
        points = recorded_runs.metric_history(experiment, kind, threshold)
        if len(points) < 2:
            continue
        latest = points[-1]
        previous = [point.value for point in points[-1 - drift.window : -1]]
        if drifts(latest.value, previous, threshold, drift.tolerance):
            median, limit = drift_limit(previous, threshold, drift.tolerance)
            yield Violation(
                f"run {latest.trial.name!r}: {threshold.metric} = {latest.value:g} drifts from "
                f"the median {median:g} of the {len(previous)} previous run"
                f"{'s' if len(previous) != 1 else ''} by more than {drift.tolerance:.0%} "
                f"(limit {limit:g})",
                at=_trial_pointer(base, experiment, latest.trial),
                subject=f"{experiment.name}/{latest.trial.name}",
            )
