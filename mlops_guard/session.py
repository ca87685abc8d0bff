"""What every command starts from: the resolved policy and the rules it enables.

This is also where the trust model is applied: reading a policy never runs code, but
its ``rules_dirs`` are Python files that loading imports. A policy found by discovery
(or named with ``--policy``) may sit in a repository the user has not reviewed, so its
rules directories are loaded only with an explicit opt-in (``--allow-code`` or
``MLOPS_GUARD_ALLOW_CODE=1``); without it the run stops with one line naming the policy
file and the key, never a quiet run without the team's rules. ``--rules-dir`` on the
command line is its own opt-in.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlops_guard.errors import InputError
from mlops_guard.policy.load import LoadedPolicy, load_policy, origin_of
from mlops_guard.registry import Rule, load_rules
from mlops_guard.resources import builtin_rules_dir
from mlops_guard.selection import Selection

ALLOW_CODE_ENV = "MLOPS_GUARD_ALLOW_CODE"


class Session:
    def __init__(
        self,
        loaded: LoadedPolicy,
        rules: list[Rule],
        selection: Selection,
        known_ids: frozenset[str] = frozenset(),
        policy_findings: list | None = None,
    ):
        self.loaded = loaded
        self.rules = rules
        self.selection = selection
        self.known_ids = known_ids
        """Every rule id a selector may name: all rule files' ids and the meta rules."""
        self.policy_findings = policy_findings if policy_findings is not None else []
        """Findings about the policy itself (MG007: an enforced setting loosened); they
        are not subject to selection, waivers or baselines."""

    @property
    def policy(self):
        return self.loaded.settings

    @property
    def policy_file(self) -> str:
        return str(self.loaded.source.path)

    def run(self, targets, **options):
        """``engine.run`` over ``targets`` with this session's rules, policy, selection
        and policy file; ``options`` are ``engine.run``'s own (``debug``, ``record``...)."""
        from mlops_guard import engine

        return engine.run(
            targets,
            self.rules,
            self.policy,
            self.selection,
            policy_file=self.policy_file,
            **options,
        )


def code_allowed(flag: bool = False) -> bool:
    """Whether the user opted in to running repository code named by a policy."""
    return flag or os.environ.get(ALLOW_CODE_ENV, "") == "1"


def require_code_opt_in(loaded: LoadedPolicy, key: str, allow_code: bool) -> None:
    """Stop (exit 2) when the policy lists code under ``key`` and nobody opted in."""
    if not loaded.settings[key] or code_allowed(allow_code):
        return
    file, where = origin_of(loaded, key)
    hint = " (or --no-modules to check without them)" if key == "modules" else ""
    raise InputError(
        f"the policy lists {key}, which runs the repository's code: pass --allow-code or "
        f"set {ALLOW_CODE_ENV}=1 to run it{hint}",
        file=file,
        where=where,
    )


def prepare(
    policy: str | LoadedPolicy | None = None,
    rules_dirs: list[str] | tuple[str, ...] = (),
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    start: Path | None = None,
    domains: tuple[str, ...] | None = None,
    *,
    allow_code: bool = False,
    isolated: bool = False,
) -> Session:
    """Load the policy and its rules; ``domains`` limits which rules are loaded (``check``
    needs only definition rules).

    ``allow_code`` is the user's opt-in to import the policy's ``rules_dirs`` (see the
    module docstring; ``MLOPS_GUARD_ALLOW_CODE=1`` does the same). ``isolated`` ignores
    every discovered configuration: the default policy unless ``policy`` names one.
    Selectors that name no known rule are a usage error (exit 2).
    """
    from mlops_guard.meta_rules import META_RULES

    if isinstance(policy, LoadedPolicy):  # stated by a test (mlops_guard.testing)
        loaded = policy
    else:
        loaded = load_policy(policy, start, isolated=isolated)
    require_code_opt_in(loaded, "rules_dirs", allow_code)
    directories = [(builtin_rules_dir(), True)]
    directories += [(loaded.base_dir / d, False) for d in loaded.settings["rules_dirs"]]
    directories += [(Path(d), False) for d in rules_dirs]
    known: set[str] = set()
    rules = load_rules(directories, domains, known_ids=known)
    known.update(info.id for info in META_RULES)
    _check_selection(loaded, known, select, ignore)
    policy_findings: list = []
    if loaded.settings.to_dict().get("enforced"):  # a central policy enforces settings
        from mlops_guard.policy.enforce import enforce

        loaded, policy_findings = enforce(loaded, rules)
    selection = Selection.from_policy(loaded.settings, select, ignore)
    if domains is not None and rules and not any(selection.enabled(r.id) for r in rules):
        what = " and ".join(domains)
        raise InputError(
            f"the selection enables none of the {what} rules this command runs "
            "(see `mlops-guard rules`)",
            where="--select" if select else "select",
            file=None if select else str(loaded.source.path),
        )
    if loaded.settings.to_dict().get("rules") or any(r.settings is not None for r in rules):
        from mlops_guard.policy.rule_sections import resolve  # rules' own sections

        loaded = resolve(loaded, rules, known, selection.enabled)
    return Session(loaded, rules, selection, frozenset(known), policy_findings)


def _check_selection(loaded: LoadedPolicy, known: set[str], select, ignore) -> None:
    """Every selector, from the command line and the policy, must name a known rule."""
    from mlops_guard.selection import ALWAYS_ON, check_selectors

    check_selectors(select or (), known, file=None, where="--select")
    check_selectors(ignore or (), known, file=None, where="--ignore")
    settings = loaded.settings
    for key in ("select", "extend_select", "ignore"):
        for selector in settings[key]:
            if _unknown(selector, known) or (key == "ignore" and selector == ALWAYS_ON):
                file, where = origin_of(loaded, key, selector)
                check_selectors([selector], known, file=file, where=where)
    for pattern, selectors in settings["per_path_ignores"].items():
        for selector in selectors:
            if _unknown(selector, known) or selector == ALWAYS_ON:
                file, where = origin_of(loaded, "per_path_ignores", selector)
                check_selectors([selector], known, file=file, where=f"per_path_ignores.{pattern}")
    for selector, severity in settings["severity"].items():
        if _unknown(selector, known):
            file, where = origin_of(loaded, "severity", selector)
            check_selectors([selector], known, file=file, where=where)
        if selector == ALWAYS_ON and severity != "error":
            file, where = origin_of(loaded, "severity", selector)
            raise InputError(
                f"{ALWAYS_ON} (part of a target could not be checked) is always an error",
                file=file,
                where=where,
            )
    for index, waiver in enumerate(settings["waivers"]):
        if _unknown(waiver["rule"], known):
            file, where = origin_of(loaded, "waivers", waiver["rule"])
            check_selectors([waiver["rule"]], known, file=file, where=where or f"waivers.{index}")


def _unknown(selector: str, known: set[str]) -> bool:
    from mlops_guard.selection import is_known

    return not is_known(selector, known)
