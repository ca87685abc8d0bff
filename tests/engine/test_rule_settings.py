"""A team rule's own policy section: declared on the rule, set under ``rules:`` in the
policy, validated when the rules load (one line naming the file and the key, exit 2),
defaults applied, given to the rule as ``rule_settings``, documented by ``explain``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_guard import Setting, rule
from mlops_guard.cli import main
from tests.rules.conftest import REFERENCE_PATH

SIZE_RULE = '''
from mlops_guard import Setting, rule


@rule(
    id="TM003",
    category="structure",
    summary="Pipelines stay small",
    settings={
        "max_steps": Setting(int, default=12, doc="The most steps a pipeline may have."),
        "owner": Setting(str, doc="Who reviews the pipeline."),
        "exempt": Setting(list[str], default=[]),
    },
)
def check_size(definition, rule_settings):
    """Fires above ``max_steps`` steps, naming the owner."""
    count = len(definition.steps)
    assert count <= rule_settings.max_steps, f"{count} steps; ask {rule_settings.owner}"
'''


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "team_rules").mkdir()
    (tmp_path / "team_rules" / "check_size.py").write_text(SIZE_RULE)
    (tmp_path / "daily-demand-forecast.json").write_bytes(REFERENCE_PATH.read_bytes())
    return tmp_path


def write_policy(project: Path, section: str, extra: str = "") -> Path:
    policy = project / "policy.yaml"
    policy.write_text(
        f"extends: default\nrules_dirs: [team_rules]\n{extra}rules:\n  TM003:\n{section}"
    )
    return policy


def run(project: Path, policy: Path, *args: str) -> int:
    return main(["check", str(project / "daily-demand-forecast.json"), "--policy", str(policy),
                 "--allow-code", "--no-cache", "--format", "json", *args])  # fmt: skip


def findings(capsys) -> list[tuple[str, str]]:
    report = json.loads(capsys.readouterr().out)
    return [(item["rule"], item["message"]) for item in report["findings"]]


def test_the_rule_reads_its_section_with_defaults_applied(project, capsys):
    policy = write_policy(project, "    owner: team-fc\n")
    assert run(project, policy) == 0  # 8 steps, default max_steps 12
    capsys.readouterr()
    policy = write_policy(project, "    owner: team-fc\n    max_steps: 3\n")
    assert run(project, policy) == 1
    assert findings(capsys) == [("TM003", "8 steps; ask team-fc")]


@pytest.mark.parametrize(
    ("section", "where", "message"),
    [
        ("    owner: a\n    max_steps: ten\n", "rules.TM003.max_steps (line 6)",
         "expected int, got str"),
        ("    owner: a\n    max_steps: true\n", "rules.TM003.max_steps (line 6)",
         "expected int, got bool"),
        ("    owner: a\n    exempt: [1]\n", "rules.TM003.exempt (line 6)",
         "expected list[str], got list"),
        ("    owner: a\n    max_step: 3\n", "rules.TM003.max_step (line 6)",
         "unknown key (known: exempt, max_steps, owner)"),
        ("    max_steps: 3\n", "rules.TM003.owner (line 4)", "missing: rule TM003 requires it"),
    ],
    ids=["wrong-type", "bool-for-int", "list-item", "unknown-key", "missing-required"],
)  # fmt: skip
def test_a_bad_section_is_one_line_naming_the_file_and_key(project, capsys, section, where,
                                                           message):  # fmt: skip
    policy = write_policy(project, section)
    assert run(project, policy) == 2
    assert capsys.readouterr().err == f"mlops-guard: error: {policy}: {where}: {message}\n"


def test_a_section_for_no_rule_or_for_a_rule_without_settings_is_an_error(project, capsys):
    policy = write_policy(project, "    owner: a\n  TM009: {x: 1}\n")
    assert run(project, policy) == 2
    assert "rules.TM009 (line 6): no rule TM009" in capsys.readouterr().err
    policy = write_policy(project, "    owner: a\n  NM001: {x: 1}\n")
    assert run(project, policy) == 2
    assert "rules.NM001 (line 6): rule NM001 declares no policy section" in capsys.readouterr().err


def test_a_required_key_is_not_asked_of_a_rule_the_selection_switches_off(project, capsys):
    policy = write_policy(project, "    max_steps: 3\n", extra="ignore: [TM003]\n")
    assert run(project, policy) == 0
    assert findings(capsys) == []


def test_the_section_is_read_from_the_extended_policy_and_named_there(project, capsys):
    central = write_policy(project, "    owner: central\n    max_steps: 3\n")
    central.rename(project / "central.yaml")
    team = project / "team.yaml"
    team.write_text("extends: central.yaml\nrules:\n  TM003:\n    owner: team-fc\n")
    assert run(project, team) == 1
    assert findings(capsys) == [("TM003", "8 steps; ask team-fc")]
    team.write_text("extends: central.yaml\nrules:\n  TM003:\n    max_steps: x\n")
    assert run(project, team) == 2
    assert capsys.readouterr().err.startswith(f"mlops-guard: error: {team}: rules.TM003.max_steps")


def test_pyproject_tables_set_the_section(project, capsys):
    (project / "pyproject.toml").write_text(
        '[tool.mlops-guard]\nextends = "default"\nrules-dirs = ["team_rules"]\n'
        '[tool.mlops-guard.rules.TM003]\nowner = "team-fc"\nmax-steps = 3\n'
    )
    assert run(project, project / "pyproject.toml") == 1
    assert findings(capsys) == [("TM003", "8 steps; ask team-fc")]


def test_the_result_cache_sees_a_changed_section(project, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    args = [str(project / "daily-demand-forecast.json"), "--allow-code", "--format", "json"]
    for max_steps, expected in ((3, 1), (20, 0), (3, 1)):
        policy = write_policy(project, f"    owner: a\n    max_steps: {max_steps}\n")
        assert main(["check", *args, "--policy", str(policy)]) == expected
    capsys.readouterr()


def test_explain_documents_the_section(project, capsys):
    policy = write_policy(project, "    owner: a\n")
    assert main(["explain", "TM003", "--policy", str(policy), "--allow-code"]) == 0
    assert capsys.readouterr().out.endswith(
        "Policy section (rule_settings): rules.TM003\n"
        "  max_steps: int (default: 12)\n"
        "      The most steps a pipeline may have.\n"
        "  owner: str (required)\n"
        "      Who reviews the pipeline.\n"
        "  exempt: list[str] (default: [])\n\n"
    )


def test_asking_for_rule_settings_without_declaring_them_fails_at_load(tmp_path, capsys):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "check_bare.py").write_text(
        "from mlops_guard import rule\n\n"
        '@rule(id="TM004", category="naming", summary="s")\n'
        "def check_bare(definition, rule_settings):\n"
        '    """Doc."""\n'
    )
    assert main(["rules", "--rules-dir", str(rules), "--isolated"]) == 2
    err = capsys.readouterr().err
    assert "rule TM004 asks for rule_settings but declares no settings" in err


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max": Setting(tuple)}, "setting 'max': type tuple is not str, int, float, bool"),
        ({"max": Setting(int, default="3")}, "setting 'max': default expected int, got str"),
        ({"Max": Setting(int, 3)}, "setting 'Max': names are lower_snake_case"),
        ({"max": 3}, "setting 'max' must be a Setting"),
        ({"items": Setting(int, 3)}, "setting 'items': the name is a method of the rule_settings"),
        (
            {"max": Setting(float, default=float("nan"))},
            "setting 'max': default expected a finite float, got nan",
        ),
    ],
)
def test_a_bad_declaration_is_refused_when_the_rule_file_loads(settings, message):
    with pytest.raises(ValueError, match=re.escape(f"rule TM005: {message}")):
        rule(id="TM005", category="naming", summary="s", settings=settings)


def test_checking_with_a_cached_policy_validates_sections_without_pydantic(project, tmp_path):
    """The sections are judged on every run (the rules may have changed), by the rule's
    plain declaration: a cached policy with team sections still keeps pydantic (and
    jsonschema) off the JSON check path."""
    import os
    import subprocess
    import sys

    from tests.rules.conftest import ROOT

    policy = write_policy(project, "    owner: team-fc\n    max_steps: 3\n")
    code = (
        "import sys; from mlops_guard.cli import main;"
        "rc = main(['check', sys.argv[1], '--policy', sys.argv[2], '--allow-code']);"
        "print(rc, [m for m in ('pydantic', 'jsonschema') if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_GUARD_CACHE_DIR": str(tmp_path / "c")}
    command = [sys.executable, "-c", code, str(project / "daily-demand-forecast.json"), str(policy)]
    first = subprocess.run(command, capture_output=True, text=True, env=env)  # fills the cache
    assert first.stdout.strip().splitlines()[-1] == "1 []", first.stderr  # policy.plain
    again = subprocess.run(command, capture_output=True, text=True, env=env)
    assert again.stdout.strip().splitlines()[-1] == "1 []", again.stderr


EXPERIMENT_RULE = '''
from mlops_guard import Setting, rule


@rule(id="TM010", category="naming", summary="Experiments carry the team prefix",
      settings={"prefix": Setting(str, doc="What every experiment name starts with.")})
def check_experiment_prefix(experiment, rule_settings):
    """Fires on an experiment named without the team's prefix."""
    assert experiment.name.startswith(rule_settings.prefix), f"{experiment.name} lacks it"
'''


def test_a_metadata_rule_section_is_judged_by_the_audit_not_by_check(project, capsys, monkeypatch):
    """``check`` does not load metadata rules, so it leaves their sections as written (the
    id is known); ``audit`` loads the rule and judges its section."""
    from mlops_guard.metadata.io import dump_store
    from mlops_guard.metadata.model import Experiment, MetadataStore

    (project / "team_rules" / "check_size.py").unlink()
    (project / "team_rules" / "check_experiments.py").write_text(EXPERIMENT_RULE)
    export = project / "metadata.json"
    dump_store(MetadataStore(experiments=[Experiment(name="churn")]), export)
    policy = project / "policy.yaml"
    audit = ["audit", "file", str(export), "--policy", str(policy), "--allow-code"]
    audit += ["--format", "json", "--select", "TM010"]
    policy.write_text("extends: default\nrules_dirs: [team_rules]\nrules: {TM010: {prefixx: a}}\n")
    assert run(project, policy) == 0
    capsys.readouterr()
    assert main(audit) == 2
    assert "rules.TM010.prefixx (line 3): unknown key (known: prefix)" in capsys.readouterr().err
    policy.write_text("extends: default\nrules_dirs: [team_rules]\nrules: {TM010: {prefix: fc-}}\n")
    assert main(audit) == 1
    assert findings(capsys) == [("TM010", "churn lacks it")]
