"""Which rules run where, and at what severity: ruff-style selectors.

A selector is a rule id, an id prefix (``NM``, ``IO1``) or ``ALL``. The most specific
selector wins: ``select: [NM]`` with ``ignore: [NM002]`` runs every naming rule but
NM002; ``select: [NM002]`` with ``ignore: [NM]`` runs only NM002. A tie goes to ignore.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase


def specificity(selectors: Iterable[str], rule_id: str) -> int:
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif rule_id.startswith(selector):
            best = max(best, len(selector))
    return best


def is_enabled(rule_id: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
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
    best, chosen = -1, default
    for selector, severity in overrides.items():
        score = specificity([selector], rule_id)
        if score > best:
            best, chosen = score, severity
    return chosen
