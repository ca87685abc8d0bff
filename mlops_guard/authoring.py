"""What a rule author writes against: the ``@rule`` decorator and ``Violation``.

A rule is a plain function. Its metadata is declared on it by ``@rule`` so the engine
can list and document rules without running them; its docstring is its documentation.
Its parameters name the fixtures it needs (see :mod:`mlops_guard.fixtures`). It reports
by ``assert cond, "message"`` (one finding at the target) or by yielding
``Violation("message", at="/json/pointer")`` for findings with precise locations. What
it cannot judge it raises (or yields) as ``NotEvaluated("reason")``: never a pass.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable

CATEGORIES = (
    "naming",
    "recorded-fields",
    "idempotent-outputs",
    "evaluation-thresholds",
    "structure",
    "security",
    "operations",
)
SEVERITIES = ("info", "warning", "error")
RULE_ID = re.compile(r"^[A-Z]{2,4}[0-9]{3}$")
RULE_ATTRIBUTE = "__mlops_guard_rule__"


class RuleInfo(namedtuple("RuleInfo", "id category severity summary")):
    """A rule's declared metadata: enough to list, select and document it."""

    __slots__ = ()


PIPELINE_NAME = "#pipeline-name"
"""``Violation(at=PIPELINE_NAME)``: the finding is about the pipeline's name, which is
written outside the definition (``PipelineName`` of a describe-pipeline document or a
template resource); the engine points at it there, or at the definition when the name
was not written in the file."""


class Violation:
    """One finding a rule yields.

    ``at`` is a JSON pointer into the checked document (the pipeline definition, or the
    metadata record), or :data:`PIPELINE_NAME`; empty means "the item the rule is
    looking at". ``subject`` optionally names what the finding is about (a step, a
    parameter, a run) when that differs from the item.
    """

    __slots__ = ("at", "extra", "message", "subject")

    def __init__(self, message: str, at: str = "", subject: str | None = None, extra=None):
        self.message = message
        self.at = at
        self.subject = subject
        self.extra = extra or {}

    def __eq__(self, other) -> bool:
        return isinstance(other, Violation) and (
            (self.message, self.at, self.subject) == (other.message, other.at, other.subject)
        )

    __hash__ = None

    def __repr__(self) -> str:
        return f"Violation({self.message!r}, at={self.at!r}, subject={self.subject!r})"


class NotEvaluated(Exception):
    """A rule cannot judge (part of) its item: raise it, or yield it to go on with others.

    As ``pytest.skip`` ends a test and checkov reports a check as UNKNOWN, a rule that
    lacks what it needs to judge (a record the audit could not read, a value only known
    at deploy time) says so instead of passing or guessing. The engine reports it as
    MG005, severity error whatever the selection, so the run fails: what was not judged
    never passes. ``reason`` says what is missing; ``at`` and ``subject`` locate it as
    in :class:`Violation` (empty ``at``: the item the rule is looking at).

    Unlike ``assert``, raising it works under ``python -O``.
    """

    def __init__(self, reason: str, at: str = "", subject: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.at = at
        self.subject = subject

    def __repr__(self) -> str:
        return f"NotEvaluated({self.reason!r}, at={self.at!r}, subject={self.subject!r})"


def rule(*, id: str, category: str, summary: str, severity: str = "error") -> Callable:
    """Declare a function as a rule with its metadata.

    The values are checked here, when the rule file is imported, so a typo in a team's
    rule is an error at load time rather than a silently skipped check.
    """
    if not RULE_ID.match(id):
        raise ValueError(f"rule id {id!r} must be 2-4 capital letters and 3 digits, like NM001")
    if category not in CATEGORIES:
        raise ValueError(f"rule {id}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {id}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if not summary or "\n" in summary:
        raise ValueError(f"rule {id}: summary must be one non-empty line")

    def decorate(function: Callable) -> Callable:
        setattr(function, RULE_ATTRIBUTE, RuleInfo(id, category, severity, summary))
        return function

    return decorate


_PATTERNS: dict[str, re.Pattern] = {}


def compiled(pattern: str) -> re.Pattern:
    """A regular expression from the policy, compiled once per run.

    Rules match policy patterns inside their loops; ``re.search(text, ...)`` looks the
    pattern up in ``re``'s own cache by text, type and flags on every call, which costs
    more than the match itself for short names.
    """
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found
