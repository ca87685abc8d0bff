"""What every command starts from: the resolved policy and the rules it enables."""

from __future__ import annotations

from pathlib import Path

from mlops_guard.engine import Selection
from mlops_guard.policy.load import LoadedPolicy, load_policy
from mlops_guard.registry import Rule, load_rules
from mlops_guard.resources import builtin_rules_dir


class Session:
    def __init__(self, loaded: LoadedPolicy, rules: list[Rule], selection: Selection):
        self.loaded = loaded
        self.rules = rules
        self.selection = selection

    @property
    def policy(self):
        return self.loaded.settings

    @property
    def policy_file(self) -> str:
        return str(self.loaded.source.path)


def prepare(
    policy: str | None = None,
    rules_dirs: list[str] | tuple[str, ...] = (),
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    start: Path | None = None,
    domains: tuple[str, ...] | None = None,
) -> Session:
    """Load the policy and its rules; ``domains`` limits which rules are loaded (``check``
    needs only definition rules)."""
    loaded = load_policy(policy, start)
    directories = [(builtin_rules_dir(), True)]
    directories += [(loaded.base_dir / d, False) for d in loaded.settings["rules_dirs"]]
    directories += [(Path(d), False) for d in rules_dirs]
    rules = load_rules(directories, domains)
    selection = Selection.from_policy(loaded.settings, select, ignore)
    return Session(loaded, rules, selection)
