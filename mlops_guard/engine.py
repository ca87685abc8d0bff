"""The run loop: every selected rule, over every item of its fixture, on every target.

Rules are called with the fixtures they name. What they assert or yield becomes a
finding at a location in the user's file; a ``NotEvaluated`` they raise or yield
becomes MG005 (the run fails); anything else they raise becomes a finding too
under the rule's own id, so one broken rule never stops the run. Selection, severity overrides and
waivers are applied here, once, for every rule alike.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

from mlops_guard.authoring import PIPELINE_NAME, NotEvaluated, Violation
from mlops_guard.findings import SEVERITY_RANK, Finding, Location
from mlops_guard.fixtures import FIXTURES, Item
from mlops_guard.meta_rules import NOT_EVALUATED
from mlops_guard.registry import Rule
from mlops_guard.selection import Selection, is_enabled, severity_for
from mlops_guard.targets import ReplayedFindings, Target

REPLAYED_KIND = "definition"
"""The kind of target the result cache replays (definition files only)."""


class RunResult:
    """What a run found: active findings, suppressed ones, and how much was checked.

    ``rules`` counts the rules that ran under the selection (on at least one target, or
    whose remembered findings the result cache replayed), not the rules loaded: a run
    that selected three rules says "3 rules". ``rule_ids`` names them.
    """

    def __init__(self, findings=None, suppressed=None, targets: int = 0, rules: int = 0):
        self.findings: list[Finding] = findings if findings is not None else []
        self.suppressed: list[Finding] = suppressed if suppressed is not None else []
        self.targets = targets
        self.rules = rules
        self.rule_ids: tuple[str, ...] = ()

    def ran(self, ids) -> None:
        self.rule_ids = tuple(sorted(set(ids)))
        self.rules = len(self.rule_ids)

    def add(self, findings: Iterable[Finding]) -> None:
        """Add findings that no selection, waiver or baseline applies to (MG007)."""
        self.findings = sorted([*self.findings, *findings], key=Finding.sort_key)

    def failed(self, fail_on: str) -> bool:
        threshold = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[finding.severity] >= threshold for finding in self.findings)


def run(
    targets: Iterable[Target],
    rules: list[Rule],
    policy,
    selection: Selection,
    *,
    policy_file: str = "policy",
    today=None,
    debug: bool = False,
    record=None,
) -> RunResult:
    """Check ``targets``; ``record(target, findings)``, if given, receives each checked
    target's own findings before selection, severities, waivers and suppressions (what
    the result cache stores)."""
    result = RunResult()
    raw: list[Finding] = []
    with_suppressions: list[Target] = []  # the only targets kept once checked
    plan = _Plan(rules, policy, selection)
    for target in targets:
        result.targets += 1
        if target.suppressions:
            with_suppressions.append(target)
        if isinstance(target, ReplayedFindings):
            plan.calls_for(target, kind=REPLAYED_KIND)  # counts the rules it stands for
            raw.extend(target.findings)
            continue
        found: list[Finding] = []
        for call in plan.calls_for(target):
            found.extend(run_call(call, target, debug=debug))
        for note in target.notes:
            found.append(_finding(NOT_EVALUATED, target, "", note))
        raw.extend(found)
        if record is not None:
            record(target, found)
    result.ran(call.rule.id for calls in plan.planned() for call in calls)
    raw = [
        finding.with_severity(severity_for(finding.rule, finding.severity, selection.severity))
        for finding in raw
        if selection.enabled(finding.rule, finding.location.file)
    ]
    active, suppressed, about = raw, [], []
    if policy["waivers"]:
        import datetime

        from mlops_guard.waivers import apply_waivers, parse_waivers

        waivers = parse_waivers(policy["waivers"])
        today = today or datetime.date.today()
        active, suppressed, about = apply_waivers(raw, waivers, policy_file, today)
    active.extend(finding for finding in about if selection.enabled(finding.rule))
    if with_suppressions:
        from mlops_guard.suppressions import apply as apply_suppressions

        active, inline, about = apply_suppressions(active, with_suppressions)
        suppressed.extend(inline)
        active.extend(finding for finding in about if selection.enabled(finding.rule))
    result.findings = sorted(_unique(active), key=Finding.sort_key)
    result.suppressed = sorted(suppressed, key=Finding.sort_key)
    return result


class Call(namedtuple("Call", "rule function arguments per_target each slot is_generator")):
    """A rule made ready to call: ``arguments`` holds the values that are the same for
    every target (``policy``, ``settings``) and ``None`` where ``per_target`` fixtures
    (``(position, name)``) or the parametrising fixture ``each`` (at ``slot``) go."""

    __slots__ = ()


def prepare_call(rule: Rule, policy) -> Call:
    arguments: list = []
    per_target = []
    for position, name in enumerate(rule.parameters):
        fixture = FIXTURES[name]
        if fixture.constant:
            arguments.append(next(iter(fixture.provide(None, policy, rule.info))).value)
        else:
            arguments.append(None)
            if name != rule.each:
                per_target.append((position, name))
    slot = rule.parameters.index(rule.each) if rule.each else -1
    return Call(
        rule, rule.function, tuple(arguments), tuple(per_target), rule.each, slot,
        rule.is_generator,
    )  # fmt: skip


class _Plan:
    """The calls for each kind of target and set of per-path ignores, prepared once per
    run: a run over thousands of files must not redo selection for every rule and file."""

    def __init__(self, rules: list[Rule], policy, selection: Selection):
        self.rules, self.policy, self.selection = rules, policy, selection
        self._calls: dict = {}

    def calls_for(self, target: Target, kind: str | None = None) -> list[Call]:
        selection = self.selection
        ignore = selection.ignores_for(target.file)
        kind = kind or target.kind
        key = (kind, ignore)
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = [
                prepare_call(rule, self.policy)
                for rule in self.rules
                if rule.domain == kind and is_enabled(rule.id, selection.select, ignore)
            ]
        return calls

    def planned(self):
        """The calls of every kind of target and set of ignores met: the rules that ran."""
        return self._calls.values()


def _unique(findings: list[Finding]) -> list[Finding]:
    seen = set()
    unique = []
    for finding in findings:
        key = (finding.rule, finding.location, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


_NO_ITEM = (Item(None),)


def _items(target: Target, name: str) -> tuple:
    """A fixture's items for this target, computed once per target and fixture."""
    if name == "target":
        # Not kept in the target itself: the cycle would keep every checked file's whole
        # document alive until the cyclic garbage collector runs, and make it run often.
        return (Item(target),)
    cache = target.fixture_cache
    items = cache.get(name)
    if items is None:
        items = cache[name] = tuple(FIXTURES[name].provide(target, None, None))
    return items


def run_call(call: Call, target: Target, *, debug: bool = False) -> list[Finding]:
    """Call one rule on one target, once per item of its parametrising fixture.

    This is the hot loop of a run (rules x items x targets): arguments are passed
    positionally, run-wide values were filled in by :func:`prepare_call`, and
    per-target fixture values are computed once per target.
    """
    arguments = list(call.arguments)
    for position, name in call.per_target:
        arguments[position] = _items(target, name)[0].value
    slot = call.slot
    items = _items(target, call.each) if slot >= 0 else _NO_ITEM
    function, is_generator, rule = call.function, call.is_generator, call.rule
    findings: list[Finding] = []
    for item in items:
        if slot >= 0:
            arguments[slot] = item.value
        try:
            outcome = function(*arguments)
            if is_generator:
                for violation in outcome:
                    findings.append(_from_violation(rule, target, item, violation))
        except NotEvaluated as gap:
            findings.append(_not_evaluated(rule, target, item, gap))
        except AssertionError as error:
            message = str(error) or rule.info.summary
            findings.append(_make(rule, target, item.pointer, message, item.subject))
        except Exception as error:
            findings.append(_crashed(rule, target, item, error, debug))
    return findings


def _crashed(rule: Rule, target: Target, item: Item, error: Exception, debug: bool) -> Finding:
    detail = f"{error.__class__.__name__}: {error}"
    if debug:
        import traceback

        detail += "\n" + "".join(traceback.format_exception(error))
    return Finding(
        rule.id,
        rule.info.category,
        "error",
        f"rule {rule.id} crashed on this item: {detail}",
        _location(target, item.pointer),
        target.name,
        item.subject,
        extra={"crashed": True},
    )


def _from_violation(rule: Rule, target: Target, item: Item, violation) -> Finding:
    if isinstance(violation, str):
        violation = Violation(violation)
    elif isinstance(violation, NotEvaluated):
        return _not_evaluated(rule, target, item, violation)
    if not isinstance(violation, Violation):
        wanted = "Violation, NotEvaluated or str"
        raise TypeError(f"rule yielded {type(violation).__name__}, expected {wanted}")
    pointer = violation.at or item.pointer
    finding = _make(rule, target, pointer, violation.message, violation.subject or item.subject)
    return finding._replace(extra=dict(violation.extra)) if violation.extra else finding


def _not_evaluated(rule: Rule, target: Target, item: Item, gap: NotEvaluated) -> Finding:
    """MG005, naming the rule: what it could not judge fails the run, never passes."""
    return Finding(
        NOT_EVALUATED.id,
        NOT_EVALUATED.category,
        NOT_EVALUATED.severity,
        f"rule {rule.id} not evaluated: {gap.reason}",
        _location(target, gap.at or item.pointer),
        target.name,
        gap.subject or item.subject,
    )


def _make(rule: Rule, target: Target, pointer: str, message: str, subject: str | None) -> Finding:
    return Finding(
        rule.id,
        rule.info.category,
        rule.info.severity,
        message,
        _location(target, pointer),
        target.name,
        subject,
    )


def _finding(info, target: Target, pointer: str, message: str) -> Finding:
    return Finding(
        info.id, info.category, info.severity, message, _location(target, pointer), target.name
    )


def _location(target: Target, pointer: str) -> Location:
    if pointer == PIPELINE_NAME:
        if target.name_pointer is not None and target.locate is not None:
            full = target.name_pointer
            position = target.locate(full)
        else:  # the name is not written in the file (or not apart from the definition)
            full, position = target.base_pointer, target.position("")
    else:
        position = target.position(pointer)
        full = target.base_pointer + pointer
    if position is None:
        return Location(target.file, full)
    return Location(target.file, full, position[0], position[1])
