"""Judging a metric value against the policy's evaluation thresholds.

A value meets a threshold (direction aware), improves on a baseline as MLflow's
``MetricThreshold`` requires, or drifts from the median of the values before it. The
run rules (ET101-ET103), the model-registry rules (ET105, ET106) and the plots of the
audit's HTML report all judge with these, so the report shows exactly what was judged.

Only the standard library is imported: rule files import this on every ``check``.
"""

from __future__ import annotations

import math
import statistics
from fnmatch import fnmatchcase


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
