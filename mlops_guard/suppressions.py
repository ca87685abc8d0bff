"""Inline suppressions: ``# mlops-guard: ignore[ID1,ID2] reason`` in the checked source.

Where a source allows comments (CloudFormation YAML, Python pipeline modules, Terraform),
a finding can be silenced next to the code it is about, with a reason a reviewer reads in
the same diff. Scope, precisely:

* A comment on line ``L`` covers findings located on line ``L`` (a trailing comment)
  and on line ``L + 1`` (a comment on its own line, above the code).
* A loader may widen the scope: in a CloudFormation YAML template a comment that covers
  the line of a resource's logical id (``Pipeline:`` under ``Resources:``) covers the
  whole resource, every line of it, including a pipeline definition body embedded in it.
* ``ID`` is a rule id or a prefix of one (``NM`` covers ``NM001``..``NM999``), as in
  waivers and ``--select``.

A suppression without a reason does not suppress anything, and one that matched no
finding is reported: both as MG004, so stale or unexplained suppressions surface.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from mlops_guard.findings import Finding, Location
from mlops_guard.meta_rules import SUPPRESSION_INVALID

_MARKER = re.compile(r"mlops-guard\s*:", re.IGNORECASE)
_DIRECTIVE = re.compile(
    r"mlops-guard\s*:\s*ignore\s*\[(?P<ids>[^\]]*)\]\s*[-:,;]*\s*(?P<reason>.*?)\s*$",
    re.IGNORECASE,
)
_RULE_ID = re.compile(r"^[A-Z]{2,4}[0-9]{0,3}$")


class Suppression(NamedTuple):
    """One inline suppression comment (a named tuple: cheap to import on the hook path)."""

    line: int
    """1-based line of the comment."""
    rule_ids: tuple[str, ...]
    """Rule ids or prefixes; empty when the comment is malformed."""
    reason: str
    column: int = 1
    first_line: int | None = None
    last_line: int | None = None
    """The covered lines when a loader widened the scope (a whole resource)."""
    problem: str | None = None
    """Why the comment is malformed, if it is."""

    @property
    def span(self) -> tuple[int, int]:
        if self.first_line is not None and self.last_line is not None:
            return self.first_line, self.last_line
        return self.line, self.line + 1

    def covers(self, line: int | None) -> bool:
        if line is None:
            return False
        first, last = self.span
        return first <= line <= last

    def matches(self, rule_id: str) -> bool:
        return any(rule_id.startswith(wanted) for wanted in self.rule_ids)

    def widened(self, first_line: int, last_line: int) -> Suppression:
        return self._replace(first_line=first_line, last_line=last_line)


def parse_comments(text: str, comment_prefix: str = "#") -> list[Suppression]:
    """Every ``<prefix> mlops-guard: ignore[...] reason`` comment in ``text``.

    The scan is line-based: a comment prefix followed by ``mlops-guard:`` counts wherever
    it appears on a line, so the text of a string that contains one also counts (rare,
    and a false suppression is visible as MG004 when it matches nothing).
    """
    found: list[Suppression] = []
    for number, line in enumerate(text.splitlines(), start=1):
        start = line.find(comment_prefix)
        while start != -1:
            comment = line[start + len(comment_prefix) :]
            if _MARKER.match(comment.lstrip()):
                found.append(_parse_one(comment.lstrip(), number, start + 1))
                break
            start = line.find(comment_prefix, start + 1)
    return found


def _parse_one(comment: str, line: int, column: int) -> Suppression:
    match = _DIRECTIVE.match(comment)
    if match is None:
        return Suppression(
            line, (), "", column, problem="expected 'mlops-guard: ignore[ID,...] reason'"
        )
    ids = tuple(part.strip().upper() for part in match.group("ids").split(",") if part.strip())
    bad = [rule_id for rule_id in ids if not _RULE_ID.match(rule_id)]
    problem = None
    if not ids:
        problem = "names no rule id: expected ignore[ID,...]"
    elif bad:
        problem = f"{', '.join(bad)} is not a rule id or prefix"
    return Suppression(line, ids, match.group("reason"), column, problem=problem)


def apply(findings: list[Finding], targets: Iterable) -> tuple[list, list, list]:
    """Split ``findings`` into (active, suppressed, findings about the suppressions).

    Suppressions come from ``target.suppressions`` and apply to findings in the same
    file. Suppressed findings keep their place and carry the reason in ``suppressed``
    and ``extra["suppression"] = "inSource"`` (SARIF's kind for source comments).
    """
    by_file: dict[str, list[tuple[Suppression, str]]] = {}
    seen: set[tuple[str, int, int]] = set()
    for target in targets:
        for suppression in getattr(target, "suppressions", None) or ():
            key = (target.file, suppression.line, suppression.column)
            if key not in seen:
                seen.add(key)
                by_file.setdefault(target.file, []).append((suppression, target.name))
    if not by_file:
        return list(findings), [], []
    used: set[int] = set()
    active: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        match = _match(finding, by_file.get(finding.location.file, ()))
        if match is None:
            active.append(finding)
            continue
        used.add(id(match))
        extra = {**(finding.extra or {}), "suppression": "inSource"}
        suppressed.append(finding._replace(suppressed=match.reason, extra=extra))
    about = [
        _about(suppression, file, target_name, used)
        for file, items in by_file.items()
        for suppression, target_name in items
        if suppression.problem or not suppression.reason or id(suppression) not in used
    ]
    return active, suppressed, about


def _match(finding: Finding, candidates) -> Suppression | None:
    if finding.rule == SUPPRESSION_INVALID.id:
        return None  # a suppression cannot silence the report about suppressions
    for suppression, _target in candidates:
        if suppression.problem or not suppression.reason:
            continue
        if suppression.matches(finding.rule) and suppression.covers(finding.location.line):
            return suppression
    return None


def _about(suppression: Suppression, file: str, target: str, used: set[int]) -> Finding:
    ids = ",".join(suppression.rule_ids)
    if suppression.problem:
        message = f"inline suppression {suppression.problem}"
    elif not suppression.reason:
        message = f"inline suppression ignore[{ids}] has no reason (write it after the bracket)"
    else:
        message = f"inline suppression ignore[{ids}] matches no finding"
    location = Location(file, "", suppression.line, suppression.column)
    info = SUPPRESSION_INVALID
    return Finding(info.id, info.category, info.severity, message, location, target)
