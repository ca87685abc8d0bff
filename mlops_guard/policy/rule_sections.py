"""The policy sections rules declare for themselves: validated, defaulted, documented.

A rule declares its section with ``@rule(..., settings={"key": Setting(int, 20)})``; the
policy gives values under ``rules: {RULE_ID: {key: value}}``. The policy file is read and
validated before any rule file is imported (its ``rules_dirs`` say which to import), so
these sections are judged once the rules are loaded, here: an unknown rule id, a section
for a rule that declares none, an unknown key, a value of the wrong type and (for a rule
the selection enables) a missing required key are each one line naming the policy file
and the key, exit 2. The resolved sections (defaults applied) replace the policy's
``rules`` mapping, which is what the ``rule_settings`` fixture reads and what the result
cache keys on.

A section of a rule the command did not load (``check`` skips the metadata rules' files)
is left as written: the command that loads the rule judges it.
"""

from __future__ import annotations

from collections.abc import Callable

from mlops_guard.errors import InputError
from mlops_guard.policy.settings import Settings

SECTION = "rules"


def resolve(loaded, rules: list, known_ids: set[str], enabled: Callable[[str], bool]):
    """``loaded`` with every loaded rule's declared section validated and completed."""
    written = loaded.settings.to_dict().get(SECTION) or {}
    declaring = {rule.id: rule for rule in rules if rule.settings is not None}
    loaded_ids = {rule.id for rule in rules}
    for rule_id in written:
        if rule_id not in known_ids:
            _fail(loaded, [rule_id], f"no rule {rule_id} (see `mlops-guard rules`)")
        if rule_id in loaded_ids and rule_id not in declaring:
            _fail(loaded, [rule_id], f"rule {rule_id} declares no policy section")
    resolved = dict(written)
    for rule_id, rule in declaring.items():
        section = written.get(rule_id) or {}
        resolved[rule_id] = _section(loaded, rule_id, rule.settings, section, enabled(rule_id))
    data = {**loaded.settings.to_dict(), SECTION: resolved}
    return loaded._replace(settings=Settings(data))


def _section(loaded, rule_id: str, declared: dict, written: dict, enabled: bool) -> dict:
    for key, value in written.items():
        setting = declared.get(key)
        if setting is None:
            known = ", ".join(sorted(declared))
            _fail(loaded, [rule_id, key], f"unknown key (known: {known})")
        problem = setting.problem(value)
        if problem:
            _fail(loaded, [rule_id, key], problem)
    values = {}
    for key, setting in declared.items():
        if key in written:
            values[key] = written[key]
        elif not setting.required:
            values[key] = setting.default
        elif enabled:
            _fail(loaded, [rule_id, key], f"missing: rule {rule_id} requires it", missing=True)
    return values


def _fail(loaded, keys: list[str], message: str, *, missing: bool = False) -> None:
    """Stop on ``rules.ID[.key]``, named in the file of the extends chain that writes it
    (for a missing key: the one that writes its rule's section, else the root policy)."""
    from mlops_guard.policy.load import origin_of

    path = [SECTION, *keys]
    file, where = origin_of(loaded, path[:-1] if missing else path, shown=".".join(path))
    raise InputError(message, file=file, where=where)


def describe(rule_id: str, declared: dict) -> str:
    """The section's documentation: its place in the policy, each key's type, default
    and meaning (for ``explain`` and ``fixtures``)."""
    lines = [f"Policy section (rule_settings): {SECTION}.{rule_id}"]
    for key, setting in declared.items():
        default = "required" if setting.required else f"default: {_yaml(setting.default)}"
        lines.append(f"  {key}: {setting.type_name} ({default})")
        if setting.doc:
            lines.append(f"      {setting.doc}")
    return "\n".join(lines)


def _yaml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def documented(rule) -> str:
    """A rule's documentation, followed by its section's when it declares one."""
    if rule.settings is None:
        return rule.doc
    return f"{rule.doc.strip()}\n\n{describe(rule.id, rule.settings)}"
