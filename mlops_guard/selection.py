"""Which rules run where, and at what severity: ruff-style selectors.

A selector is a rule id, an id prefix (``NM``, ``IO1``) or ``ALL``. The most specific
selector wins: ``select: [NM]`` with ``ignore: [NM002]`` runs every naming rule but
NM002; ``select: [NM002]`` with ``ignore: [NM]`` runs only NM002. A tie goes to ignore.

Selection fails closed: a selector that names no known rule (``IOO2`` for ``IO002``) is
a usage error, never a selection of nothing. MG005 ("part of a target could not be
checked") is outside selection: no selector switches it off or lowers its severity, so a
gap in what was read always fails the run (only a waiver with a reason, or an inline
suppression, can accept a named gap).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from mlops_guard.errors import InputError

ALWAYS_ON = "MG005"
"""Not evaluated: what was not read fails the run, whatever the selection says."""


class Selection:
    """Which rules run on which files, and at what severity: a run's selectors, from its
    policy and command line, applied by the functions of this module."""

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

    def ignores_for(self, file: str | None) -> tuple[str, ...]:
        """The ignore selectors for ``file``: the run's, plus its per-path ignores."""
        if file is not None and self.per_path_ignores:
            return (*self.ignore, *path_ignores(file, self.per_path_ignores))
        return tuple(self.ignore)

    def enabled(self, rule_id: str, file: str | None = None) -> bool:
        return is_enabled(rule_id, self.select, self.ignores_for(file))


def specificity(selectors: Iterable[str], rule_id: str) -> int:
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif rule_id.startswith(selector):
            best = max(best, len(selector))
    return best


def is_enabled(rule_id: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    if rule_id == ALWAYS_ON:
        return True
    chosen = specificity(select, rule_id)
    return chosen >= 0 and chosen > specificity(ignore, rule_id)


def path_ignores(file: str, per_path_ignores: Mapping[str, Iterable[str]]) -> list[str]:
    ignored: list[str] = []
    for pattern, selectors in per_path_ignores.items():
        if path_matches(file, pattern):
            ignored.extend(selectors)
    return ignored


def path_matches(file: str, pattern: str) -> bool:
    """Glob on a slash-separated path; ``*`` crosses directories, so ``examples/*``
    matches everything below ``examples/``; a pattern without a slash matches the name."""
    file = file.removeprefix("./")
    if fnmatchcase(file, pattern):
        return True
    return "/" not in pattern and fnmatchcase(file.rsplit("/", 1)[-1], pattern)


def severity_for(rule_id: str, default: str, overrides: Mapping[str, str]) -> str:
    if rule_id == ALWAYS_ON:
        return default
    best, chosen = -1, default
    for selector, severity in overrides.items():
        score = specificity([selector], rule_id)
        if score > best:
            best, chosen = score, severity
    return chosen


def is_known(selector: str, known_ids: Iterable[str]) -> bool:
    """``ALL``, a known rule id, or a prefix of at least one."""
    return selector == "ALL" or any(rule_id.startswith(selector) for rule_id in known_ids)


def check_selectors(
    selectors: Iterable[str], known_ids: Iterable[str], *, file: str | None, where: str
) -> None:
    """Raise a one-line usage error for the first selector that names no known rule.

    ``where`` says where the selectors came from (``--select``, or a policy key); the
    message lists the closest known ids, as ruff does, so a typo is fixed at once.
    """
    known = sorted(set(known_ids))
    for selector in selectors:
        if not isinstance(selector, str) or not is_known(selector, known):
            raise InputError(
                f"unknown rule selector {selector!r}{_closest(str(selector), known)}",
                file=file,
                where=where,
            )
        if selector == ALWAYS_ON and where.startswith(("ignore", "--ignore", "per_path")):
            raise InputError(
                f"{ALWAYS_ON} (part of a target could not be checked) cannot be ignored: "
                "accept a named gap with a waiver that gives a reason",
                file=file,
                where=where,
            )


def _closest(selector: str, known: list[str]) -> str:
    import difflib

    prefixes = sorted({rule_id[:length] for rule_id in known for length in (2, 3)})
    matches = difflib.get_close_matches(selector.upper(), [*known, *prefixes], n=3, cutoff=0.5)
    return f" (closest: {', '.join(matches)})" if matches else " (see `mlops-guard rules`)"
