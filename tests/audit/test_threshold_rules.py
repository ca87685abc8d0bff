"""Evaluation-threshold rules (ET1xx) on the values three reference runs recorded."""

from __future__ import annotations

import pytest

from mlops_guard.metadata.model import Unreadable
from tests.audit.conftest import audit_findings, component, latest_trial, rule_ids


def _mape(store, trial_index: int) -> float:
    return component(store, "TrainEvaluation", trial_index).metrics["mape"].last


def _set_mape(store, value: float, trial_index: int = -1) -> None:
    component(store, "TrainEvaluation", trial_index).metrics["mape"].last = value


def test_reference_values_pass_and_do_not_drift(compliant_store):
    values = [_mape(compliant_store, index) for index in range(3)]
    assert all(0 < value < 0.2 for value in values)
    assert audit_findings(compliant_store, select=["ET1"]) == []


def test_run_failing_the_threshold(compliant_store):
    _set_mape(compliant_store, 0.25)
    trial = latest_trial(compliant_store)
    findings = audit_findings(compliant_store, select=["ET101"])
    assert rule_ids(findings) == ["ET101"]
    assert findings[0].message == (
        f"run {trial.name!r}: mape = 0.25 (step TrainEvaluation) fails the threshold <= 0.2"
    )
    assert findings[0].subject == f"daily-demand-forecast/{trial.name}"


def test_value_counts_from_the_last_step_recording_it(compliant_store):
    # Train's (training-set) mape is lower; the evaluation step's value is the one judged.
    component(compliant_store, "Train").metrics["mape"].last = 0.9
    assert audit_findings(compliant_store, select=["ET101"]) == []


def test_threshold_direction(compliant_store):
    policy = {
        "evaluation_thresholds": {
            "thresholds": [{"metric": "mape", "direction": "higher_is_better", "value": 0.5}]
        }
    }
    findings = audit_findings(compliant_store, select=["ET101"], policy=policy)
    assert rule_ids(findings) == ["ET101"] * 3
    assert all("fails the threshold >= 0.5" in f.message for f in findings)


def test_threshold_pipelines_glob(compliant_store):
    _set_mape(compliant_store, 0.25)
    policy = {
        "evaluation_thresholds": {
            "thresholds": [
                {"metric": "mape", "direction": "lower_is_better", "value": 0.2, "pipelines": "x-*"}
            ]
        }
    }
    assert audit_findings(compliant_store, select=["ET1"], policy=policy) == []


def test_run_without_the_metric(compliant_store):
    for step in ("Train", "TrainEvaluation"):
        del component(compliant_store, step).metrics["mape"]
    findings = audit_findings(compliant_store, select=["ET101"])
    assert rule_ids(findings) == ["ET101"]
    assert "records no mape (steps *): threshold <= 0.2 not checked" in findings[0].message


def _baseline_policy(**change) -> dict:
    threshold = {"metric": "mape", "direction": "lower_is_better", "value": 0.2, **change}
    return {"evaluation_thresholds": {"thresholds": [threshold]}}


def test_latest_run_must_improve_by_relative_change(compliant_store):
    previous, latest = _mape(compliant_store, -2), _mape(compliant_store, -1)
    policy = _baseline_policy(min_relative_change=0.05)
    findings = audit_findings(compliant_store, select=["ET102"], policy=policy)
    needed = previous - 0.05 * previous
    assert latest > needed  # the reference's day-to-day noise is no 5% improvement
    assert rule_ids(findings) == ["ET102"]
    assert f"mape {latest:g} is not at least 5% below the previous run's {previous:g}" in (
        findings[0].message
    )
    assert f"(needs {needed:g})" in findings[0].message
    _set_mape(compliant_store, round(needed - 0.001, 6))
    assert audit_findings(compliant_store, select=["ET102"], policy=policy) == []


@pytest.mark.parametrize(("delta", "fires"), [(0.01, False), (0.001, True)])
def test_absolute_change_higher_is_better(compliant_store, delta, fires):
    # "higher is better": a new value must be at least baseline + min_absolute_change.
    previous = _mape(compliant_store, -2)
    _set_mape(compliant_store, previous + delta)
    policy = {
        "evaluation_thresholds": {
            "thresholds": [
                {
                    "metric": "mape",
                    "direction": "higher_is_better",
                    "value": 0.0,
                    "min_absolute_change": 0.005,
                }
            ]
        }
    }
    findings = audit_findings(compliant_store, select=["ET102"], policy=policy)
    assert rule_ids(findings) == (["ET102"] if fires else [])


def test_drift_from_the_window_median(compliant_store):
    first, second = _mape(compliant_store, 0), _mape(compliant_store, 1)
    median = (first + second) / 2
    _set_mape(compliant_store, round(median * 1.2, 6))
    findings = audit_findings(compliant_store, select=["ET1"])
    assert rule_ids(findings) == ["ET103"]  # still under the 0.2 threshold
    assert f"drifts from the median {median:g} of the 2 previous runs by more than 10%" in (
        findings[0].message
    )
    assert f"(limit {median * 1.1:g})" in findings[0].message


def test_drift_tolerance_and_window(compliant_store):
    first, second = _mape(compliant_store, 0), _mape(compliant_store, 1)
    _set_mape(compliant_store, round(max(first, second) * 1.15, 6))
    loose = {"evaluation_thresholds": {"drift": {"tolerance": 0.25}}}
    assert audit_findings(compliant_store, select=["ET103"], policy=loose) == []
    # a window of one compares with the previous run only
    _set_mape(compliant_store, round(second * 1.12, 6))
    narrow = {"evaluation_thresholds": {"drift": {"window": 1}}}
    assert rule_ids(audit_findings(compliant_store, select=["ET103"], policy=narrow)) == ["ET103"]


def test_unread_runs_are_not_evaluated(compliant_store):
    what = "sagemaker:Search ExperimentTrialComponent (trial components)"
    compliant_store.unreadable.append(Unreadable(what=what, reason="AccessDeniedException: no"))
    findings = audit_findings(compliant_store, select=["ET1"])
    assert rule_ids(findings) == ["MG005"] * 4  # MG005: always on, severity error
    assert {f.severity for f in findings} == {"error"}
    # the store's note, then one finding per rule that could not judge the experiment
    assert findings[0].message.startswith(f"could not read {what}")
    assert [f.message for f in findings[1:]] == [
        f"rule {rule} not evaluated: could not read {what} (AccessDeniedException: no)"
        for rule in ("ET101", "ET102", "ET103")
    ]
    assert all(f.location.pointer == "/experiments/0" for f in findings[1:])
