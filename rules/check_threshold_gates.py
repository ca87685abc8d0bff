"""Evaluation-threshold rules: nothing is promoted without passing the team's evaluation gate.

A promotion step (registering or creating a model, a batch transform, publishing
predictions: ``promotion_step_types`` and ``promotion_step_names``) must sit in a branch of a
condition step that compares an evaluation metric, so a bad model stops before it reaches
anyone. Where the policy sets a threshold for that metric, the gate must be at least as
strict and point the right way, and its other branch must fail the execution.

How a gate is judged: a step in ``IfSteps`` runs when all ``Conditions`` hold; a step in
``ElseSteps`` when at least one does not. ``Not`` and ``Or`` are followed logically, so
"promote in ElseSteps of ``mape > 0.2``" is as good as "promote in IfSteps of
``mape <= 0.2``". The conditions of all enclosing branches add up (a step inside two
gates needs both). A metric is a ``Std:JsonGet`` (a property file of an evaluation
step) or a step property (``Steps.Train.FinalMetricDataList['mape'].Value``); a policy
metric matches a segment of its path (``metrics.mape.value`` is ``mape``). A threshold
given as a pipeline parameter is judged by its default.

What a condition means (its parsing, the comparisons, ``Not``/``Or``/``In``) is
:mod:`mlops_guard.conditions`, which the reference runner evaluates executions with too;
this module adds what is particular to gates: promotion steps, the branches around them,
metric names and the policy's thresholds.
"""

from __future__ import annotations

import fnmatch
import re
from collections import namedtuple

from mlops_guard import Violation, compiled, rule
from mlops_guard.conditions import (
    Atom,
    Operand,
    all_conditions,
    atoms,
    compare,
    finite,
    operands,
    sample_values,
    truth,
)
from mlops_guard.definition import name_words
from mlops_guard.pointer import join

_PATH_SPLIT = re.compile(r"[.\[\]'\"]+")
_STEPS = "\x00steps\x00"

Gate = namedtuple("Gate", "condition branch formula")
"""A condition step, the branch a step sits in, and what must hold for that branch to run
(a formula of :mod:`mlops_guard.conditions`)."""

Unknown = namedtuple("Unknown", "reason pointer condition")


# -- reading conditions ---------------------------------------------------------------------


def _branch_formula(condition, branch: str, definition=None):
    """What must hold for ``branch`` of ``condition`` to run (parsed once per condition
    and branch when ``definition`` is given: several rules and every step ask)."""
    if definition is not None:
        key = ("check_threshold_gates.branch_formula", condition.pointer, branch)
        return definition.memo(key, lambda: _branch_formula(condition, branch))
    every = all_conditions(
        condition.arguments.get("Conditions"),
        join(condition.arguments_pointer, "Conditions"),
        condition.name,
    )
    return every if branch == "IfSteps" else ("not", every)


def _metric_operands(atom: Atom) -> list[Operand]:
    return [operand for operand in operands(atom) if operand.metric is not None]


def metric_names(path: str) -> set[str]:
    """The names a metric path answers to: ``metrics.mape.value`` -> mape, metrics, value;
    ``FinalMetricDataList['validation:rmse'].Value`` -> also rmse."""
    names = set()
    for part in _PATH_SPLIT.split(path):
        if part:
            names.add(part.lower())
            names.update(piece.lower() for piece in part.split(":") if piece)
    return names


def _is_metric(operand: Operand | None, metric: str) -> bool:
    return (
        operand is not None
        and operand.metric is not None
        and (metric.lower() in metric_names(operand.metric))
    )


def _shown(operand: Operand) -> str:
    return operand.metric if operand.metric is not None else operand.text


def _describe(atom: Atom) -> str:
    if atom.type == "In":
        values = ", ".join(_shown(operand) for operand in atom.values)
        return f"{_shown(atom.left)} In [{values}]"
    return f"{_shown(atom.left)} {atom.type} {_shown(atom.right)}"


# -- promotion steps and their gates --------------------------------------------------------


PROMOTING_WORDS = frozenset({"register", "approve", "deploy", "publish", "promote"})
"""Words in the name of a Lambda or ``@step`` function that promote a model: registering
or approving a model package, deploying an endpoint, publishing predictions."""
SCORING_TYPES = ("Model", "CreateModel", "Transform")
"""Promotion step types that also serve evaluation: a model and a batch transform scoring
the holdout set before the gate."""


def _promotes_by_code(step) -> bool:
    """A Lambda whose step or function name, or an ``@step`` function whose step or
    function name, says it registers, approves, deploys, publishes or promotes."""
    if step.type == "Lambda":
        arn = step.raw.get("FunctionArn")
        function = arn.rsplit(":function:", 1)[-1] if isinstance(arn, str) else None
        return not PROMOTING_WORDS.isdisjoint(name_words(step.name, function))
    if step.sdk_runner == "function":
        return not PROMOTING_WORDS.isdisjoint(step.name_words)
    return False


def _named_promotion(step, settings) -> bool:
    """Whether the step's name matches a ``promotion_step_names`` glob, ignoring case
    (the globs as one expression, compiled once per run: this runs for every step)."""
    globs = tuple(settings.promotion_step_names)
    if not globs:
        return False
    pattern = _NAME_GLOBS.get(globs)
    if pattern is None:
        either = "|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs)
        pattern = _NAME_GLOBS[globs] = compiled(f"(?i:{either})")
    return pattern.match(step.name) is not None


_NAME_GLOBS: dict[tuple, re.Pattern] = {}


def _is_promotion(definition, step, settings) -> bool:
    """A promotion step (see ET001): by type, by name (case-insensitive), or a Lambda or
    ``@step`` function that promotes; not a model or transform that scores for an
    evaluation or serves a model the pipeline did not train."""
    if _named_promotion(step, settings) or _promotes_by_code(step):
        return True
    if step.type not in settings.promotion_step_types:
        return False
    if step.type not in SCORING_TYPES:
        return True
    return step.name not in _evaluation_feeders(definition) and definition.memo(
        ("check_threshold_gates.pipeline_trains",),
        lambda: any(other.trains for other in definition.steps),
    )


def _evaluation_feeders(definition) -> set[str]:
    """The evaluation steps and every step before them (once per definition)."""
    return definition.memo(
        ("check_threshold_gates.evaluation_feeders",), lambda: _find_feeders(definition)
    )


def _find_feeders(definition) -> set[str]:
    """Evaluation steps: those producing a gate's metric, those declaring a property file
    (an evaluation report), and model checks (QualityCheck, ClarifyCheck); a model or
    transform among them or before them scores the holdout for the evaluation."""
    evaluations: set[str] = set()
    for step in definition.steps:
        if step.property_files or step.type in ("QualityCheck", "ClarifyCheck"):
            evaluations.add(step.name)
        if step.type != "Condition":
            continue
        for atom in atoms(_branch_formula(step, "IfSteps", definition)):
            for operand in _metric_operands(atom):
                for reference in definition.references_under(operand.pointer):
                    if reference.step_name:
                        evaluations.add(reference.step_name)
    feeders: set[str] = set()
    stack = list(evaluations)
    while stack:  # the evaluations and everything upstream of them, in one walk
        name = stack.pop()
        if name not in feeders:
            feeders.add(name)
            stack.extend(definition.upstream.get(name, ()))
    return feeders


def _enclosing(definition, step) -> list[Gate]:
    """The condition branches around ``step``, innermost first (once per step: several
    rules and every step's ancestors ask)."""
    return definition.memo(
        ("check_threshold_gates.enclosing", step.pointer), lambda: _gates(definition, step)
    )


def _gates(definition, step) -> list[Gate]:
    gates: list[Gate] = []
    seen: set[str] = set()
    current = step
    while current.condition and current.condition not in seen:
        seen.add(current.condition)
        condition = definition.steps_by_name.get(current.condition)
        if condition is None or condition.type != "Condition":
            break
        formula = _branch_formula(condition, current.branch, definition)
        gates.append(Gate(condition, current.branch, formula))
        current = condition
    return gates


def _is_metric_gate(gate: Gate) -> bool:
    return any(_metric_operands(atom) for atom in atoms(gate.formula))


def _gated_promotions(definition, settings) -> list[tuple]:
    """``(step, gates)`` for each promotion step inside at least one metric gate (shared
    by the ET rules through the definition's memo)."""
    key = ("check_threshold_gates.gated_promotions", id(settings))
    return definition.memo(key, lambda: _find_gated_promotions(definition, settings))


def _find_gated_promotions(definition, settings) -> list[tuple]:
    found = []
    for step in definition.steps:
        if _is_promotion(definition, step, settings):
            gates = _enclosing(definition, step)
            if any(_is_metric_gate(gate) for gate in gates):
                found.append((step, gates))
    return found


def _names(steps: list[str]) -> str:
    unique = list(dict.fromkeys(steps))
    label = "promotion step" if len(unique) == 1 else "promotion steps"
    return f"{label} " + ", ".join(repr(name) for name in unique)


def _grouped(problems: dict):
    """Findings collected per ``(at, subject, message)`` with the steps they concern."""
    for (at, subject, message), steps in problems.items():
        yield Violation(message.replace(_STEPS, _names(steps)), at=at, subject=subject)


# -- policy thresholds ----------------------------------------------------------------------


def _lower(threshold: dict) -> bool:
    return threshold["direction"] == "lower_is_better"


def _applicable(settings, pipeline: str | None) -> list[dict]:
    """The policy thresholds for this pipeline, the strictest per metric."""
    chosen: dict[str, dict] = {}
    for item in settings.thresholds:
        if not fnmatch.fnmatchcase(pipeline or "", item.get("pipelines") or "*"):
            continue
        key = item["metric"].lower()
        current = chosen.get(key)
        if current is None or (
            current["direction"] == item["direction"]
            and (
                item["value"] < current["value"]
                if _lower(item)
                else item["value"] > current["value"]
            )
        ):
            chosen[key] = item
    return list(chosen.values())


def _requirement(threshold: dict) -> str:
    operator = "<=" if _lower(threshold) else ">="
    return f"{threshold['metric']} {operator} {threshold['value']:g}"


def _number(operand: Operand, atom: Atom, parameters) -> float | Unknown:
    if operand.constant is not None:
        return operand.constant
    if operand.parameter is not None:
        parameter = parameters.get(operand.parameter)
        default = finite(parameter.default) if parameter is not None else None
        if default is not None:
            return default
        return Unknown(
            f"threshold parameter {operand.parameter!r} has no numeric default",
            operand.pointer,
            atom.condition,
        )
    what = "another step's value" if operand.metric is not None else "not a number"
    return Unknown(
        f"{atom.condition!r} compares with {_shown(operand)} ({what})",
        operand.pointer,
        atom.condition,
    )


def _metric_atoms(gates, metric: str) -> list[Atom]:
    return [
        atom
        for gate in gates
        for atom in atoms(gate.formula)
        if any(_is_metric(operand, metric) for operand in operands(atom))
    ]


def _resolve(atom: Atom, metric: str, parameters):
    """``(metric_on_left, [(number, operand)])``: the numbers ``atom`` compares the metric
    with, and on which side the metric is (``In``: the query, the numbers its values), or
    an ``Unknown``."""
    if atom.type == "In":
        if not _is_metric(atom.left, metric):
            return Unknown(
                f"{_describe(atom)} lists {metric} as a value", atom.pointer, atom.condition
            )
        numbers = [(_number(operand, atom, parameters), operand) for operand in atom.values]
        unknown = next((n for n, _ in numbers if isinstance(n, Unknown)), None)
        return unknown or (True, numbers)
    on_left, on_right = _is_metric(atom.left, metric), _is_metric(atom.right, metric)
    if on_left and on_right:
        return Unknown(
            f"{_describe(atom)} compares {metric} with itself", atom.pointer, atom.condition
        )
    other = atom.left if on_right else atom.right
    number = _number(other, atom, parameters)
    return number if isinstance(number, Unknown) else (not on_right, [(number, other)])


def _holds_at(atom: Atom, resolved, value: float) -> bool:
    """Whether ``atom`` holds when the metric is ``value`` (the comparison the runner
    makes on an execution's values)."""
    on_left, numbers = resolved
    if atom.type == "In":
        return compare(atom, value, [number for number, _ in numbers])
    number = numbers[0][0]
    return compare(atom, value, number) if on_left else compare(atom, number, value)


def _judge(gates, threshold: dict, parameters):
    """Where the gates let a promotion run with the metric worse than the policy: None when
    they do not; else ``("unknown", Unknown)``, ``("unbounded", None)`` or
    ``("loose", (relation, number, operand, atom))`` for the loosest value let through."""
    metric, limit, lower = threshold["metric"], threshold["value"], _lower(threshold)
    resolved, unknowns = {}, []
    for atom in _metric_atoms(gates, metric):
        result = _resolve(atom, metric, parameters)
        if isinstance(result, Unknown):
            unknowns.append(result)
        else:
            resolved[atom.pointer] = (atom, result)
    points = [limit] + [n for _, (_, numbers) in resolved.values() for n, _ in numbers]
    values = sample_values(points)
    everything = ("and", [gate.formula for gate in gates])

    def may_run(value: float) -> bool:
        """Whether the gates may let the step run when the metric is ``value``: comparisons
        not about the metric (or not judgeable) may go either way, each on its own."""

        def atom_truth(atom):
            found = resolved.get(atom.pointer)
            return None if found is None else _holds_at(atom, found[1], value)

        return truth(everything, atom_truth) is not False

    bad = [
        index
        for index, value in enumerate(values)
        if (value > limit if lower else value < limit) and may_run(value)
    ]
    if not bad:
        return None
    if unknowns:
        return ("unknown", unknowns[0])
    worst = bad[-1] if lower else bad[0]
    if worst in (0, len(values) - 1):
        return ("unbounded", None)
    inclusive = worst % 2 == 1  # odd pieces are the points themselves
    number = values[worst] if inclusive else values[worst + (1 if lower else -1)]
    relation = ("<=" if lower else ">=") if inclusive else ("<" if lower else ">")
    for atom, (_, numbers) in resolved.values():
        for candidate, operand in numbers:
            if candidate == number:
                return ("loose", (relation, number, operand, atom))
    return ("unbounded", None)


# -- rules ----------------------------------------------------------------------------------


@rule(
    id="ET001",
    category="evaluation-thresholds",
    summary="Promotion steps run only behind an evaluation gate",
)
def check_promotion_gated(definition, step, settings):
    """What it checks: every promotion step sits in a branch of a condition step that
    compares an evaluation metric (a ``Std:JsonGet`` on an evaluation report, or a step
    property such as ``FinalMetricDataList``), directly or through enclosing conditions.
    A top-level step is not gated even if it waits for a gated one: only a branch makes a
    step conditional.

    What a promotion step is: a type in ``promotion_step_types``; a name matching one of
    ``promotion_step_names`` (globs, matched ignoring case: ``Deploy*`` matches
    ``deploy-endpoint``); a Lambda whose step or function name, or an ``@step`` function
    whose step or function name, has the word register, approve, deploy, publish or
    promote (it approves a model package or deploys an endpoint). Not a promotion: a
    Model, CreateModel or Transform step that is an evaluation step or runs before one (a
    step producing a gate's metric, declaring a property file, or a QualityCheck or
    ClarifyCheck): it scores the holdout set for the evaluation. Nor are they in a
    pipeline that trains nothing (batch inference with a model trained, evaluated and
    approved elsewhere): there is no new model here to gate.

    Why it matters: without a gate, a model that failed its evaluation is registered,
    deployed or used for the day's predictions all the same.

    How to fix: evaluate the model in a processing step with a ``PropertyFile``, then put
    the promotion steps in ``if_steps`` of a ``ConditionStep`` comparing
    ``JsonGet(step_name=..., property_file=..., json_path="metrics.mape.value")`` with the
    threshold, and a ``FailStep`` in ``else_steps``.
    """
    if not _is_promotion(definition, step, settings):
        return
    gates = _enclosing(definition, step)
    if any(_is_metric_gate(gate) for gate in gates):
        return
    what = f"promotion step {step.name!r} ({step.type})"
    if gates:
        where = ", ".join(f"{gate.branch} of {gate.condition.name!r}" for gate in gates)
        message = f"{what} sits in {where}, which compares no evaluation metric"
    else:
        message = (
            f"{what} is in no condition step's branch: no evaluation result decides whether it runs"
        )
        by_name = definition.steps_by_name
        gated = sorted(
            name
            for name in definition.ancestors(step.name)
            if name in by_name
            and any(_is_metric_gate(gate) for gate in _enclosing(definition, by_name[name]))
        )
        if gated:
            waits = ", ".join(repr(name) for name in gated)
            message += f" (it waits for {waits}, but only steps inside a gate's branch are gated)"
    yield Violation(message, at=step.pointer, subject=step.name)


@rule(
    id="ET002",
    category="evaluation-thresholds",
    summary="Gates are at least as strict as the policy thresholds",
)
def check_gate_thresholds(definition, settings, target):
    """What it checks: for each gated promotion step and each policy threshold that applies
    to the pipeline (``thresholds[].pipelines`` glob) and whose metric the gates compare,
    the branch holding the step guarantees the metric is at least as good as the policy
    value: for ``lower_is_better``, ``LessThan``/``LessThanOrEqualTo`` with the metric on
    the left (or ``GreaterThan*`` with it on the right) in ``IfSteps``, or the reverse in
    ``ElseSteps``, with a threshold no higher than the policy's. ``Not``, ``Or`` and ``In``
    are followed exactly (comparisons of other metrics may go either way); a comparison
    with something that is not a number (another step's value, a parameter without a
    default) is reported as not judgeable when the rest of the gate does not settle it.

    Why it matters: a gate at 0.3 when the team agreed on 0.2, or one whose comparison is
    the wrong way round, lets exactly the bad models through that it should stop.

    How to fix: use the policy's value and direction, e.g.
    ``ConditionLessThanOrEqualTo(left=JsonGet(... "metrics.mape.value"), right=0.2)`` with
    the promotion in ``if_steps``.
    """
    thresholds = _applicable(settings, target.name)
    parameters = definition.parameters_by_name
    problems: dict[tuple, list[str]] = {}
    for step, gates in _gated_promotions(definition, settings):
        branch_of = {gate.condition.name: gate.branch for gate in gates}
        for threshold in thresholds:
            metric = threshold["metric"]
            compared = _metric_atoms(gates, metric)
            if not compared:
                continue  # ET006
            verdict = _judge(gates, threshold, parameters)
            if verdict is None:
                continue
            requirement = _requirement(threshold)
            kind, detail = verdict
            if kind == "loose":
                relation, number, operand, atom = detail
                via = ""
                if operand.parameter is not None:
                    via = f" (parameter {operand.parameter!r}, judged by its default)"
                message = (
                    f"{atom.condition!r} lets {_STEPS} run with {metric} {relation} "
                    f"{number:g}{via}, from {_describe(atom)}; looser than the policy's "
                    f"{requirement}"
                )
                key = (operand.pointer, atom.condition, message)
            elif kind == "unknown":
                message = (
                    f"cannot judge the gate of {_STEPS} against the policy's {requirement}: "
                    f"{detail.reason}"
                )
                key = (detail.pointer, detail.condition, message)
            else:
                better = "lower" if _lower(threshold) else "higher"
                seen = "; ".join(
                    f"{branch_of[atom.condition]} of {atom.condition!r} on {_describe(atom)}"
                    for atom in compared
                )
                message = (
                    f"{_STEPS} can run with {metric} worse than the policy's {requirement}: "
                    f"it sits in {seen}, which does not bound {metric} from "
                    f"{'above' if _lower(threshold) else 'below'} ({better} is better)"
                )
                key = (compared[0].pointer, compared[0].condition, message)
            problems.setdefault(key, []).append(step.name)
    yield from _grouped(problems)


@rule(
    id="ET003",
    category="evaluation-thresholds",
    severity="warning",
    summary="Gate thresholds are not execution parameters",
)
def check_parameter_thresholds(definition, settings):
    """What it checks: no evaluation gate of a promotion step compares a metric with a
    pipeline parameter (``{"Get": "Parameters.MseThreshold"}``). Such a threshold is judged
    by its default (ET002), but whoever starts an execution can pass a looser one.

    Why it matters: a gate that can be relaxed per execution is not a gate for the team's
    policy; a backfill started with ``MseThreshold=1e9`` promotes any model.

    How to fix: write the threshold into the condition as a constant (it belongs to the
    policy and the code review, not to the execution request).
    """
    parameters = definition.parameters_by_name
    problems: dict[tuple, list[str]] = {}
    for step, gates in _gated_promotions(definition, settings):
        for gate in gates:
            for atom in atoms(gate.formula):
                metrics = _metric_operands(atom)
                if not metrics:
                    continue
                for operand in operands(atom):
                    if operand is None or operand.parameter is None:
                        continue
                    parameter = parameters.get(operand.parameter)
                    default = parameter.default if parameter is not None else None
                    message = (
                        f"the threshold of {metrics[0].metric} in {atom.condition!r}, which "
                        f"gates {_STEPS}, is parameter {operand.parameter!r} (default "
                        f"{default!r}): an execution started with another value changes the "
                        f"gate; it is judged by its default"
                    )
                    problems.setdefault((operand.pointer, atom.condition, message), []).append(
                        step.name
                    )
    yield from _grouped(problems)


@rule(
    id="ET004",
    category="evaluation-thresholds",
    summary="A failed evaluation gate ends in a Fail step",
)
def check_fail_branch(definition, settings):
    """What it checks: when ``require_fail_step`` is set, each condition that gates a
    promotion step on a metric has a ``Fail`` step in its other branch (``ElseSteps`` when
    the promotion sits in ``IfSteps``, and the reverse).

    Why it matters: without one, a model that fails its evaluation ends the execution as
    Succeeded: nothing is promoted, but no alarm on failed executions fires and the day
    silently has no forecast.

    How to fix: ``else_steps=[FailStep(name="EvaluationFailed", error_message=...)]``.
    """
    if not settings.require_fail_step:
        return
    holding: dict[str, dict[str, list[str]]] = {}
    conditions = {}
    for step, gates in _gated_promotions(definition, settings):
        for gate in gates:
            if _is_metric_gate(gate):
                conditions[gate.condition.name] = gate.condition
                branches = holding.setdefault(gate.condition.name, {})
                branches.setdefault(gate.branch, []).append(step.name)
    for name, branches in holding.items():
        condition = conditions[name]
        promoted = sorted(branches)
        steps = [step for branch in promoted for step in branches[branch]]
        failing = [b for b in ("IfSteps", "ElseSteps") if b not in branches]
        if not failing:
            yield Violation(
                f"both branches of {name!r} hold promotion steps "
                f"({', '.join(repr(s) for s in steps)}): no branch fails a bad evaluation",
                at=condition.pointer,
                subject=name,
            )
            continue
        branch = failing[0]
        items = condition.arguments.get(branch)
        items = items if isinstance(items, list) else []
        if any(isinstance(item, dict) and item.get("Type") == "Fail" for item in items):
            continue
        at = (
            join(condition.arguments_pointer, branch)
            if branch in condition.arguments
            else condition.arguments_pointer
        )
        yield Violation(
            f"{name!r} gates {_names(steps)} in its {promoted[0]}, but its {branch} has no "
            f"Fail step: a failed evaluation ends the execution as Succeeded",
            at=at,
            subject=name,
        )


@rule(
    id="ET005",
    category="evaluation-thresholds",
    severity="info",
    summary="Gated metrics have a policy threshold",
)
def check_uncovered_metrics(definition, settings, target):
    """What it checks: every metric an evaluation gate of a promotion step compares has a
    policy threshold for this pipeline (``thresholds[].metric`` matching a segment of the
    metric's path). Reported as information: the gate works, but its threshold is not
    checked against anything the team agreed on.

    Why it matters: a gate on a metric the policy does not know (``mse`` when the team
    reviews ``mape``) can be set to any value without anyone noticing.

    How to fix: add the metric to ``evaluation_thresholds.thresholds`` with its direction
    and value, or gate on a metric the policy covers.
    """
    metrics = [threshold["metric"] for threshold in _applicable(settings, target.name)]
    problems: dict[tuple, list[str]] = {}
    for step, gates in _gated_promotions(definition, settings):
        for gate in gates:
            for atom in atoms(gate.formula):
                uncovered = [
                    operand.metric
                    for operand in _metric_operands(atom)
                    if not any(_is_metric(operand, metric) for metric in metrics)
                ]
                if not uncovered:
                    continue
                message = (
                    f"{atom.condition!r} gates {_STEPS} on {_describe(atom)}: no policy "
                    f"threshold covers {', '.join(uncovered)} for pipeline {target.name!r}"
                )
                problems.setdefault((atom.pointer, atom.condition, message), []).append(step.name)
    yield from _grouped(problems)


@rule(
    id="ET006",
    category="evaluation-thresholds",
    summary="Gates compare every metric the policy sets a threshold for",
)
def check_policy_metrics_gated(definition, settings, target):
    """What it checks: a gated promotion step is gated on every metric the policy sets a
    threshold for *and names this pipeline in* (``thresholds[].pipelines``, a glob on the
    pipeline name other than the catch-all ``*``), not only on others. A threshold for
    every pipeline (``pipelines: "*"``, the default) cannot know which pipelines report
    its metric (a classifier has no ``mape``): it sets how strict a gate on that metric
    must be wherever one exists (ET002), and requires the metric of nobody.

    Why it matters: a gate that only compares ``rmse`` lets a model through whatever its
    ``mape``, although the team's release criterion is the ``mape``.

    How to fix: add the missing comparison to the gate's ``Conditions`` (they are ANDed),
    e.g. ``ConditionLessThanOrEqualTo(left=JsonGet(... "metrics.mape.value"), right=0.2)``.
    """
    thresholds = [
        threshold
        for threshold in _applicable(settings, target.name)
        if (threshold.get("pipelines") or "*") != "*"
    ]
    if not thresholds:
        return
    problems: dict[tuple, list[str]] = {}
    for step, gates in _gated_promotions(definition, settings):
        gated_on = [atom for gate in gates for atom in atoms(gate.formula)]
        innermost = next(gate for gate in gates if _is_metric_gate(gate))
        compared = sorted({o.metric for atom in gated_on for o in _metric_operands(atom)})
        for threshold in thresholds:
            metric = threshold["metric"]
            if any(_is_metric(o, metric) for atom in gated_on for o in operands(atom)):
                continue
            pattern = threshold.get("pipelines") or "*"
            message = (
                f"gate {innermost.condition.name!r} of {_STEPS} compares "
                f"{', '.join(compared)} only; the policy requires {_requirement(threshold)} "
                f"for pipelines matching {pattern!r}"
            )
            at = join(innermost.condition.arguments_pointer, "Conditions")
            problems.setdefault((at, innermost.condition.name, message), []).append(step.name)
    yield from _grouped(problems)
