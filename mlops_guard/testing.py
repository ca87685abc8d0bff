"""Test a team's rules the way mlops-guard tests its own: start from the bundled reference
definition, which every rule passes, change one thing, and assert the findings.

    from mlops_guard.testing import check, find_step, reference_definition

    def test_fires_on_an_unpinned_image():
        definition = reference_definition()
        find_step(definition, "Train")["Arguments"]["AlgorithmSpecification"][
            "TrainingImage"] = "repo/train:latest"
        assert [f.rule for f in check(definition, rules_dir="team_rules")] == ["TM001"]

:func:`check` runs the real engine as ``mlops-guard check`` does: the same loader, the
shipped default policy (or the one given), the same selection, waivers and rule-settings
validation; a policy or rule error raises :class:`mlops_guard.errors.InputError` with the
one line the command would print. Naming a rules directory is the opt-in to import it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path

from mlops_guard.errors import InputError
from mlops_guard.findings import Finding

__all__ = ["InputError", "check", "find_step", "reference_definition"]

REFERENCE_NAME = "daily-demand-forecast"
"""The reference pipeline's name: the name :func:`check` gives a definition mapping."""

_REFERENCE: dict | None = None


def reference_definition() -> dict:
    """A fresh copy of the bundled reference definition (compliant with the default
    policy): mutate it freely, the next call returns the original again."""
    global _REFERENCE
    if _REFERENCE is None:
        from mlops_guard.examples import reference_definition_path

        _REFERENCE = json.loads(reference_definition_path().read_text(encoding="utf-8"))
    return copy.deepcopy(_REFERENCE)


def find_step(definition: dict, name: str) -> dict:
    """The step named ``name`` in a definition mapping (condition branches included), to
    change in place; ``KeyError`` when there is none."""

    def search(steps: list) -> dict | None:
        for step in steps:
            if step.get("Name") == name:
                return step
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments", {})
                for branch in ("IfSteps", "ElseSteps"):
                    found = search(arguments.get(branch, []))
                    if found is not None:
                        return found
        return None

    found = search(definition.get("Steps", []))
    if found is None:
        raise KeyError(name)
    return found


def check(
    definition: dict | str | Path,
    *,
    rules_dir: str | Path | Iterable[str | Path] = (),
    select: Iterable[str] | None = None,
    policy: dict | str | Path | None = None,
    name: str = REFERENCE_NAME,
) -> list[Finding]:
    """The findings of a check of ``definition``, sorted as the report lists them.

    ``definition``: a definition mapping (checked as ``<name>.json``, so findings carry
    JSON pointers and lines) or the path of any file ``mlops-guard check`` reads.
    ``rules_dir``: the team's rules directory (or several), loaded beside the built-in
    rules. ``select``: rule ids or prefixes (default: the policy's selection).
    ``policy``: overrides merged into the shipped default policy (a mapping written as in
    the policy file, e.g. ``{"rules": {"TM003": {"max_steps": 3}}}``), or a policy file;
    default: the shipped default policy, whatever configuration the working directory has.

    Each finding has ``.rule``, ``.severity``, ``.message``, ``.location.pointer`` and
    ``.location.line``.
    """
    from mlops_guard.session import prepare

    if isinstance(rules_dir, str | Path):
        rules_dir = [rules_dir]
    if isinstance(policy, dict):
        from mlops_guard.policy.load import policy_with

        policy = policy_with(policy)
    elif policy is not None:
        policy = str(policy)
    session = prepare(
        policy,
        [str(directory) for directory in rules_dir],
        list(select) if select is not None else None,
        domains=("definition",),
        allow_code=True,
        isolated=True,
    )
    result = session.run(
        _targets(definition, name),
    )
    result.add(session.policy_findings)
    return list(result.findings)


def _targets(definition: dict | str | Path, name: str) -> list:
    from mlops_guard.loaders import load_file, load_paths

    if isinstance(definition, dict):
        text = json.dumps(definition, indent=2)
        return load_file(Path(f"{name}.json"), explicit=True, data=text.encode("utf-8"))
    return load_paths([str(definition)])
