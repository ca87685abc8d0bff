"""The rules and the reference runner agree on what a gate's conditions mean.

ET002 judges a gate statically: can the promotion step run with ``mape`` worse than the
policy's 0.2? The reference runner evaluates the same conditions on one execution's
``evaluation.json``. Fed the same conditions, ET002 must fire exactly when some execution
the runner would let through has ``mape > 0.2``; the ``mape`` values tried stand for all
numbers (each constant of the conditions, a value between neighbours, one below and one
above all), and ``rmse`` and ``mae`` are tried below, at and above their constants.

ET002 takes each comparison of another metric as free to go either way on its own (it
does not know their values), so the conditions compare each other metric at most once:
``rmse > 5 and rmse == 5`` can never both hold in an execution, but the rule does not
reason about ``rmse``.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from mlops_guard.reference.runner import LocalRun
from tests.rules.conftest import find_step, reference_definition, run_check
from tests.rules.test_thresholds import (
    CONSTANTS,
    KINDS,
    MAPE,
    compare,
    mape_atoms,
    mape_with,
    member,
)

RMSE = mape_with("metrics.rmse.value")
MAE = mape_with("metrics.mae.value")
RMSE_LIMIT = 5.0
MAPE_VALUES = sorted(
    {-1.0, *CONSTANTS, *((a + b) / 2 for a, b in itertools.pairwise(CONSTANTS)), 2.0}
)
MAE_LIMIT = 3.0
OTHER_VALUES = [
    (rmse, mae)
    for rmse in (RMSE_LIMIT - 1, RMSE_LIMIT, RMSE_LIMIT + 1)
    for mae in (MAE_LIMIT - 1, MAE_LIMIT, MAE_LIMIT + 1)
]


def negate(condition: dict, key: str = "Condition") -> dict:
    return {"Type": "Not", key: condition}


def either(*conditions: dict) -> dict:
    return {"Type": "Or", "Conditions": list(conditions)}


_REPORTS: dict[tuple[float, ...], str] = {}
_SCRATCH = tempfile.TemporaryDirectory(prefix="mlops-guard-conditions-")


def report_dir(mape: float, rmse: float, mae: float) -> str:
    """A directory holding the ``evaluation.json`` of an execution with these metrics
    (written once per test session)."""
    key = (mape, rmse, mae)
    if key not in _REPORTS:
        directory = Path(_SCRATCH.name) / f"{len(_REPORTS)}"
        directory.mkdir()
        metrics = {"mape": mape, "rmse": rmse, "mae": mae}
        report = {"metrics": {name: {"value": value} for name, value in metrics.items()}}
        (directory / "evaluation.json").write_text(json.dumps(report), encoding="utf-8")
        _REPORTS[key] = str(directory)
    return _REPORTS[key]


def gated(conditions: list[dict], *, in_else: bool = False) -> dict:
    """The reference with ``conditions`` gating its promotion steps (in ``ElseSteps`` of
    the condition when ``in_else``, the Fail step in the other branch)."""
    definition = reference_definition()
    gate = find_step(definition, "CheckEvaluation")["Arguments"]
    gate["Conditions"] = conditions
    if in_else:
        gate["IfSteps"], gate["ElseSteps"] = gate["ElseSteps"], gate["IfSteps"]
    return definition


def runner_promotes(
    definition: dict, mape: float, rmse: float, mae: float = MAE_LIMIT, *, in_else: bool
) -> bool:
    """Whether the reference runner takes the promotion branch of ``CheckEvaluation`` for
    an execution whose evaluation report has these metrics."""
    run = LocalRun(
        definition,
        date="2026-11-22",
        output=_SCRATCH.name,
        pipeline_name="daily-demand-forecast",
        log=lambda line: None,
    )
    run.resolved_outputs["TrainEvaluation"] = {"evaluation": report_dir(mape, rmse, mae)}
    holds, _ = run.evaluate_condition(run.steps["CheckEvaluation"])
    return holds != in_else


def assert_agree(conditions: list[dict], *, in_else: bool = False) -> bool:
    """ET002 fires exactly when the runner promotes some execution with ``mape > 0.2``;
    returns whether it does."""
    definition = gated(conditions, in_else=in_else)
    let_through = sorted(
        mape
        for mape in MAPE_VALUES
        for rmse, mae in OTHER_VALUES
        if mape > 0.2 and runner_promotes(definition, mape, rmse, mae, in_else=in_else)
    )
    findings = run_check(definition, select=["ET002"])
    assert bool(findings) == bool(let_through), (
        f"runner lets through mape {let_through}; ET002: {[f.message for f in findings]}"
    )
    return bool(findings)


TABLE = [
    ("the reference gate", [compare("LessThanOrEqualTo", MAPE, 0.2)], False),
    ("a looser threshold", [compare("LessThanOrEqualTo", MAPE, 0.3)], True),
    ("the wrong direction", [compare("GreaterThanOrEqualTo", MAPE, 0.2)], True),
    ("the metric on the right", [compare("GreaterThan", 0.2, MAPE)], False),
    ("the metric on the right, looser", [compare("GreaterThanOrEqualTo", 0.25, MAPE)], True),
    ("Equals the threshold", [compare("Equals", MAPE, 0.2)], False),
    ("Not as the SDK writes it", [negate(compare("GreaterThan", MAPE, 0.2))], False),
    ("Not under Expression", [negate(compare("GreaterThan", MAPE, 0.2), "Expression")], False),
    ("Not of a strict bound", [negate(compare("GreaterThanOrEqualTo", MAPE, 0.2))], False),
    (
        "Or with another metric",
        [either(compare("LessThanOrEqualTo", MAPE, 0.2), compare("LessThan", RMSE, 5.0))],
        True,
    ),
    (
        "Or of two bounds, one loose",
        [either(compare("LessThan", MAPE, 0.1), compare("LessThanOrEqualTo", MAPE, 0.25))],
        True,
    ),
    (
        "Not of an Or",
        [negate(either(compare("GreaterThan", MAPE, 0.2), compare("GreaterThan", RMSE, 5.0)))],
        False,
    ),
    ("In good values", [member(0.1, 0.2)], False),
    ("In a bad value", [member(0.1, 0.3)], True),
    (
        "conditions are ANDed",
        [compare("LessThanOrEqualTo", MAPE, 0.3), compare("LessThan", MAPE, 0.2)],
        False,
    ),
]


@pytest.mark.parametrize(
    ("conditions", "lets_bad_through"),
    [pytest.param(conditions, fires, id=name) for name, conditions, fires in TABLE],
)
def test_rule_and_runner_agree_on_a_table(conditions, lets_bad_through):
    assert assert_agree(conditions) == lets_bad_through


def test_runner_evaluates_in():
    definition = gated([member(0.1, 0.3)])
    assert runner_promotes(definition, 0.3, 4.0, in_else=False)
    assert not runner_promotes(definition, 0.25, 4.0, in_else=False)


_atoms = st.one_of(
    mape_atoms(),
    st.builds(lambda kind: compare(kind, RMSE, RMSE_LIMIT), st.sampled_from(KINDS)),
    st.builds(lambda kind: compare(kind, MAE, MAE_LIMIT), st.sampled_from(KINDS)),
)
_conditions = st.recursive(
    _atoms,
    lambda children: st.one_of(
        st.builds(negate, children, st.sampled_from(["Condition", "Expression"])),
        st.builds(lambda items: either(*items), st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=5,
)


def mentions(conditions: list[dict], metric: str) -> int:
    return json.dumps(conditions).count(f"metrics.{metric}.value")


@settings(max_examples=150, deadline=None)
@given(conditions=st.lists(_conditions, min_size=1, max_size=2), in_else=st.booleans())
def test_rule_and_runner_agree(conditions, in_else):
    assume(mentions(conditions, "mape") and mentions(conditions, "rmse") <= 1)
    assume(mentions(conditions, "mae") <= 1)
    event(f"gate lets mape > 0.2 through: {assert_agree(conditions, in_else=in_else)}")
