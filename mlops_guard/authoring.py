"""What a rule author writes against: the ``@rule`` decorator and ``Violation``.

A rule is a plain function. Its metadata is declared on it by ``@rule`` so the engine
can list and document rules without running them; its docstring is its documentation.
Its parameters name the fixtures it needs (see :mod:`mlops_guard.fixtures`). It reports
by ``assert cond, "message"`` (one finding at the target) or by yielding
``Violation("message", at="/json/pointer")`` for findings with precise locations. What
it cannot judge it raises (or yields) as ``NotEvaluated("reason")``: never a pass.
"""

from __future__ import annotations

import math
import re
import typing
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
SETTINGS_ATTRIBUTE = "__mlops_guard_settings__"
SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED_SETTING_NAMES = frozenset({"get", "items", "keys", "values", "to_dict"})
"""Names a setting cannot take: ``rule_settings.items`` must mean one thing."""


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


REQUIRED = object()
"""``Setting(..., default=REQUIRED)``: the policy must give the value (the default)."""

_SCALARS = (str, int, float, bool)


class Setting:
    """One key of the policy section a rule declares (``rules: {ID: {key: value}}``).

    ``type`` is ``str``, ``int``, ``float``, ``bool``, ``list[X]`` or ``dict[str, X]`` with
    ``X`` one of the first four: what a policy file (YAML or TOML) can write. A plain
    declaration rather than a pydantic or JSON Schema model, because every ``check``
    validates the team's sections against it, and pydantic or jsonschema would cost more
    to import than the check of a definition does.
    """

    __slots__ = ("default", "doc", "type")

    def __init__(self, type, default=REQUIRED, doc: str = ""):
        self.type = type
        self.default = default
        self.doc = doc

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        kind = self.type
        return kind.__name__ if isinstance(kind, type) else repr(kind)

    def problem(self, value) -> str | None:
        """Why ``value`` is not of this setting's type, or ``None`` when it is."""
        if _conforms(value, self.type):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite {self.type_name}, got {value}"
        return f"expected {self.type_name}, got {_kind_of(value)}"

    def __repr__(self) -> str:
        default = "required" if self.required else f"default={self.default!r}"
        return f"Setting({self.type_name}, {default})"


def _valid_type(kind) -> bool:
    if kind in _SCALARS:
        return True
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return len(arguments) == 1 and arguments[0] in _SCALARS
    if origin is dict:
        return len(arguments) == 2 and arguments[0] is str and arguments[1] in _SCALARS
    return False


def _conforms(value, kind) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:  # finite only: a NaN threshold would switch its check off
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind is str:
        return isinstance(value, str)
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return isinstance(value, list) and all(_conforms(item, arguments[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(key, str) and _conforms(item, arguments[1]) for key, item in value.items()
        )
    return False


def _kind_of(value) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
    return names.get(type(value), type(value).__name__)


def _check_settings(rule_id: str, settings) -> dict[str, Setting]:
    if not isinstance(settings, dict) or not settings:
        raise ValueError(f"rule {rule_id}: settings must be a non-empty dict of Setting(...)")
    for name, setting in settings.items():
        where = f"rule {rule_id}: setting {name!r}"
        if not isinstance(name, str) or not SETTING_NAME.match(name):
            raise ValueError(f"{where}: names are lower_snake_case")
        if name in RESERVED_SETTING_NAMES:
            raise ValueError(f"{where}: the name is a method of the rule_settings mapping")
        if not isinstance(setting, Setting):
            raise ValueError(f"{where} must be a Setting(type, default=..., doc=...)")
        if not _valid_type(setting.type):
            raise ValueError(
                f"{where}: type {setting.type_name} is not str, int, float, bool, list[X] or "
                "dict[str, X] of those"
            )
        if not setting.required and setting.problem(setting.default):
            raise ValueError(f"{where}: default {setting.problem(setting.default)}")
    return dict(settings)


def rule(
    *,
    id: str,
    category: str,
    summary: str,
    severity: str = "error",
    settings: dict[str, Setting] | None = None,
) -> Callable:
    """Declare a function as a rule with its metadata.

    The values are checked here, when the rule file is imported, so a typo in a team's
    rule is an error at load time rather than a silently skipped check. ``settings``
    declares the rule's own policy section (``rules: {ID: {...}}``), validated when the
    policy loads and given to the rule as the ``rule_settings`` fixture.
    """
    if not RULE_ID.match(id):
        raise ValueError(f"rule id {id!r} must be 2-4 capital letters and 3 digits, like NM001")
    if category not in CATEGORIES:
        raise ValueError(f"rule {id}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {id}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    if not summary or "\n" in summary:
        raise ValueError(f"rule {id}: summary must be one non-empty line")

    declared = _check_settings(id, settings) if settings is not None else None

    def decorate(function: Callable) -> Callable:
        setattr(function, RULE_ATTRIBUTE, RuleInfo(id, category, severity, summary))
        if declared is not None:
            setattr(function, SETTINGS_ATTRIBUTE, declared)
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
