"""The run loop: every selected rule, over every item of its fixture, on every target.

Rules are called with the fixtures they name. What they assert or yield becomes a
finding at a location in the user's file; what they raise becomes a finding too
under the rule's own id, so one broken rule never stops the run. Selection, severity overrides and
waivers are applied here, once, for every rule alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from mlops_guard.api import Violation
from mlops_guard.findings import SEVERITY_RANK, Finding, Location
from mlops_guard.fixtures import FIXTURES, Item
from mlops_guard.meta import META_RULES, NOT_EVALUATED
from mlops_guard.registry import Rule
from mlops_guard.selection import is_enabled, path_ignores, severity_for
from mlops_guard.targets import Target


class Selection:
    """Which rules run on which files, and at what severity (see :mod:`selection`)."""

    def __init__(self, select, ignore, severity, per_path_ignores):
        self.select = list(select)
        self.ignore = list(ignore)
        self.severity = dict(severity)
        self.per_path_ignores = dict(per_path_ignores)

    @classmethod
    def from_policy(cls, policy, select=None, ignore=None) -> Selection:
        return cls(
            select=list(select) if select else [*policy["select"], *policy["extend_select"]],
            ignore=[*policy["ignore"], *(ignore or [])],
            severity=dict(policy["severity"]),
            per_path_ignores={k: list(v) for k, v in policy["per_path_ignores"].items()},
        )

    def enabled(self, rule_id: str, file: str | None = None) -> bool:
        ignore = self.ignore
        if file is not None and self.per_path_ignores:
            ignore = [*ignore, *path_ignores(file, self.per_path_ignores)]
        return is_enabled(rule_id, self.select, ignore)


class RunResult:
    """What a run found: active findings, suppressed ones, and how much was checked."""

    def __init__(self, findings=None, suppressed=None, targets: int = 0, rules: int = 0):
        self.findings: list[Finding] = findings if findings is not None else []
        self.suppressed: list[Finding] = suppressed if suppressed is not None else []
        self.targets = targets
        self.rules = rules

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
) -> RunResult:
    result = RunResult(rules=len(rules))
    raw: list[Finding] = []
    seen: list[Target] = []
    for target in targets:
        seen.append(target)
        result.targets += 1
        for rule in rules:
            if rule.domain != target.kind or not selection.enabled(rule.id, target.file):
                continue
            raw.extend(run_rule(rule, target, policy, debug=debug))
        for note in target.notes:
            raw.append(_finding(NOT_EVALUATED, target, "", note))
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
    if any(target.suppressions for target in seen):
        from mlops_guard.suppressions import apply as apply_suppressions

        active, inline, about = apply_suppressions(active, seen)
        suppressed.extend(inline)
        active.extend(finding for finding in about if selection.enabled(finding.rule))
    result.findings = sorted(_unique(active), key=Finding.sort_key)
    result.suppressed = sorted(suppressed, key=Finding.sort_key)
    return result


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


def _fixture_values(target: Target, policy, rule: Rule, name: str):
    """A fixture's items for this target, computed once per target and fixture (the
    ``settings`` slice differs by category, so it is keyed by category too)."""
    cache = target.fixture_cache
    key = (name, rule.info.category) if name == "settings" else name
    items = cache.get(key)
    if items is None:
        items = cache[key] = tuple(FIXTURES[name].provide(target, policy, rule.info))
    return items


def run_rule(rule: Rule, target: Target, policy, *, debug: bool = False) -> list[Finding]:
    """Call one rule on one target, once per item of its parametrising fixture.

    This is the hot loop of a run (rules x items x targets): arguments are passed
    positionally and fixture values are computed once per target.
    """
    each = rule.each
    arguments = [
        None if name == each else _fixture_values(target, policy, rule, name)[0].value
        for name in rule.parameters
    ]
    slot = rule.parameters.index(each) if each else -1
    items = _fixture_values(target, policy, rule, each) if each else _NO_ITEM
    function, is_generator = rule.function, rule.is_generator
    findings: list[Finding] = []
    for item in items:
        if slot >= 0:
            arguments[slot] = item.value
        try:
            outcome = function(*arguments)
            if is_generator:
                for violation in outcome:
                    findings.append(_from_violation(rule, target, item, violation))
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
    if not isinstance(violation, Violation):
        raise TypeError(f"rule yielded {type(violation).__name__}, expected Violation or str")
    pointer = violation.at or item.pointer
    finding = _make(rule, target, pointer, violation.message, violation.subject or item.subject)
    return finding._replace(extra=dict(violation.extra)) if violation.extra else finding


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
    position = target.position(pointer)
    full = target.base_pointer + pointer
    if position is None:
        return Location(target.file, full)
    return Location(target.file, full, position[0], position[1])


def all_rule_infos(rules: list[Rule]) -> list:
    return sorted(itertools.chain((rule.info for rule in rules), META_RULES), key=lambda i: i.id)
