"""The trust model: checking JSON/YAML runs no code; a policy's code needs an opt-in;
``--isolated`` ignores discovered configuration; a central policy's enforced keys cannot
be loosened by a policy that extends it (MG007)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_guard.cli import main
from tests.engine.files import write
from tests.rules.conftest import REFERENCE_PATH

RULE_FILE = """\
from pathlib import Path

from mlops_guard.authoring import rule

Path({marker!r}).write_text("imported")


@rule(id="TM001", category="naming", summary="Team rule")
def check_team(definition):
    \"\"\"A team rule that never fires.\"\"\"
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLOPS_GUARD_ALLOW_CODE", raising=False)


def team_rules(directory: Path, marker: Path) -> Path:
    write(directory / "check_team.py", RULE_FILE.format(marker=str(marker)))
    return directory


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository with one pipeline definition in ``pipelines/``."""
    (tmp_path / "pipelines").mkdir()
    shutil.copy(REFERENCE_PATH, tmp_path / "pipelines" / "daily.json")
    return tmp_path


# -- rules directories and modules need an opt-in --------------------------------------


@pytest.mark.parametrize(
    "layout",
    ["yaml", "pyproject", "hidden", "absolute", "extends", "parent"],
)
def test_a_policy_s_rules_dirs_run_only_with_an_opt_in(repo, capsys, monkeypatch, layout):
    marker = repo / "imported"
    rules = team_rules(repo / (".hidden" if layout == "hidden" else "team_rules"), marker)
    listed = str(rules) if layout == "absolute" else rules.name
    policy_file = repo / ".mlops-guard.yaml"
    if layout == "pyproject":
        policy_file = write(
            repo / "pyproject.toml", f"[tool.mlops-guard]\nrules-dirs = ['{listed}']\n"
        )
    elif layout == "extends":
        write(repo / "shared.yaml", f"extends: default\nrules_dirs: [{listed}]\n")
        write(policy_file, "extends: shared.yaml\n")
    else:
        write(policy_file, f"extends: default\nrules_dirs: ['{listed}']\n")
    cwd = repo / "pipelines" if layout == "parent" else repo
    monkeypatch.chdir(cwd)
    target = "daily.json" if layout == "parent" else "pipelines/daily.json"

    for command in (["check", target], ["rules"], ["explain", "TM001"]):
        assert main(command) == 2, command
        err = one_error(capsys)
        assert "rules_dirs" in err and "--allow-code" in err and "MLOPS_GUARD_ALLOW_CODE" in err
        named = repo / ("shared.yaml" if layout == "extends" else policy_file.name)
        assert str(named) in err
        assert not marker.exists()  # nothing was imported

    assert main(["check", target, "--allow-code"]) == 0
    assert marker.exists()
    capsys.readouterr()
    marker.unlink()
    monkeypatch.setenv("MLOPS_GUARD_ALLOW_CODE", "1")
    assert main(["rules"]) == 0
    assert "TM001" in capsys.readouterr().out


def test_rules_dir_on_the_command_line_is_its_own_opt_in(repo, capsys):
    marker = repo / "imported"
    rules = team_rules(repo / "elsewhere", marker)
    assert main(["check", "pipelines/daily.json", "--rules-dir", str(rules)]) == 0
    assert marker.exists()


def test_a_policy_s_modules_need_an_opt_in_or_an_explicit_no(repo, capsys):
    marker = repo / "ran"
    write(
        repo / ".mlops-guard.yaml",
        f"""
        extends: default
        modules:
          - entry: os:system
            kwargs: {{command: "touch {marker}"}}
        """,
    )
    assert main(["check", "pipelines/daily.json"]) == 2
    err = one_error(capsys)
    assert ".mlops-guard.yaml: modules" in err and "--allow-code" in err and "--no-modules" in err
    assert main(["check", "--modules-only"]) == 2
    capsys.readouterr()
    assert not marker.exists()
    # Declining the modules explicitly checks the files without them.
    assert main(["check", "pipelines/daily.json", "--no-modules"]) == 0
    assert not marker.exists()


def test_audit_takes_the_code_opt_in_and_isolated_as_check_does(repo, capsys):
    """``audit`` accepts ``--allow-code`` and ``--isolated``; both must reach the policy."""
    from mlops_guard.metadata.io import dump_store
    from mlops_guard.metadata.model import Experiment, MetadataStore

    dump_store(MetadataStore(experiments=[Experiment(name="debug-x")]), repo / "m.json")
    marker = repo / "imported"
    team_rules(repo / "team_rules", marker)
    write(repo / ".mlops-guard.yaml", "extends: default\nrules_dirs: [team_rules]\n")
    assert main(["audit", "file", "m.json"]) == 2
    assert "--allow-code" in one_error(capsys)
    assert main(["audit", "file", "m.json", "--isolated"]) == 0
    assert not marker.exists()
    capsys.readouterr()
    assert main(["audit", "file", "m.json", "--allow-code"]) == 0
    assert marker.exists()


def test_isolated_ignores_discovered_configuration(repo, capsys):
    write(repo / ".mlops-guard.yaml", "extends: default\nselect: [ST006]\n")
    write(repo / "pyproject.toml", "[tool.mlops-guard]\nfail_on = 'info'\nrules-dirs = ['x']\n")
    assert main(["check", "pipelines/daily.json"]) == 2  # rules_dirs without the opt-in
    capsys.readouterr()
    assert main(["check", "pipelines/daily.json", "--isolated"]) == 0
    out = capsys.readouterr().out
    assert ", 40 rules" in out or "rules." in out
    # --isolated with --policy uses the named policy only.
    named = write(repo / "named.yaml", "extends: default\nselect: [ST006]\n")
    assert main(["check", "pipelines/daily.json", "--isolated", "--policy", str(named)]) == 0
    assert capsys.readouterr().out.strip().endswith(", 1 rule.")


def test_checking_definitions_imports_no_repository_code(repo):
    """A plain check of JSON in a repository whose policy lists code: an error, not a run
    of the code; in a subprocess, so no import is hidden by this test process."""
    from tests.integrations.conftest import run_cli

    marker = repo / "imported"
    team_rules(repo / "team_rules", marker)
    write(repo / ".mlops-guard.yaml", "rules_dirs: [team_rules]\n")
    result = run_cli("check", "pipelines/daily.json", cwd=repo)
    assert result.returncode == 2 and not marker.exists()


# -- enforced keys (MG007) -------------------------------------------------------------

CENTRAL = """\
extends: default
severity: {ST006: error}
evaluation_thresholds:
  thresholds:
    - {metric: mape, direction: lower_is_better, value: 0.2}
    - {metric: rmse, direction: lower_is_better, value: 10, pipelines: "demand-*"}
enforce:
  keys: [select, ignore, per_path_ignores, severity, fail_on, evaluation_thresholds.thresholds]
  waivers_require_expiry: true
  max_waiver_days: 90
"""


def check_json(*args: str, capsys) -> tuple[int, list[dict]]:
    code = main(["check", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def mg007(findings) -> list[dict]:
    return [f for f in findings if f["rule"] == "MG007"]


@pytest.fixture
def central(repo) -> Path:
    return write(repo / "org" / "central.yaml", CENTRAL)


def test_a_repository_policy_may_tighten_enforced_keys(repo, central, capsys):
    write(
        repo / ".mlops-guard.yaml",
        """
        extends: org/central.yaml
        extend_select: [NM]
        severity: {ST007: error}
        fail_on: warning
        evaluation_thresholds:
          thresholds:
            - {metric: mape, direction: lower_is_better, value: 0.2}
            - {metric: rmse, direction: lower_is_better, value: 8, pipelines: "demand-*"}
            - {metric: mae, direction: lower_is_better, value: 3, pipelines: "other-*"}
        waivers:
          - {rule: IO002, pipeline: legacy, reason: migrating, expires: 2000-01-01}
        """,
    )
    code, findings = check_json("pipelines/daily.json", capsys=capsys)
    assert mg007(findings) == []
    assert [f["rule"] for f in findings] == ["MG001"]  # the expired waiver, as usual
    assert code == 1


@pytest.mark.parametrize(
    ("loosening", "key", "enforced"),
    [
        ("ignore: [SC]", "/ignore", "SC001"),
        ("select: [NM, ST]", "/select", "IO002"),
        ("per_path_ignores: {'pipelines/*': [IO002]}", "/per_path_ignores", "IO002"),
        ("severity: {ST006: warning}", "/severity", "ST006 to warning (enforced: error)"),
        ("fail_on: warning\n", None, None),
        (
            "evaluation_thresholds: {thresholds: [{metric: mape, direction: lower_is_better, "
            "value: 0.5}]}",
            "/evaluation_thresholds/thresholds",
            "mape",
        ),
        (
            "waivers: [{rule: IO002, pipeline: legacy, reason: later}]",
            "/waivers",
            "waivers_require_expiry",
        ),
        (
            "waivers: [{rule: IO002, pipeline: legacy, reason: later, expires: 2999-01-01}]",
            "/waivers",
            "max_waiver_days: 90",
        ),
    ],
)
def test_loosening_an_enforced_key_is_mg007_and_fails(
    repo, central, capsys, loosening, key, enforced
):
    if key is None:  # fail_on: a central policy at warning, a repository at error
        write(central, CENTRAL + "fail_on: warning\n")
        loosening = "fail_on: error"
        key, enforced = "/fail_on", "fail_on error is laxer than the enforced warning"
    policy = write(repo / ".mlops-guard.yaml", f"extends: org/central.yaml\n{loosening}\n")
    code, findings = check_json("pipelines/daily.json", capsys=capsys)
    [finding] = [
        f for f in mg007(findings) if f["location"]["pointer"] == key and enforced in f["message"]
    ]
    assert code == 1 and finding["severity"] == "error"
    assert finding["location"] == {"file": str(policy), "pointer": key}
    assert enforced in finding["message"] and str(central) in finding["message"]


def test_the_enforced_value_applies(repo, central, capsys):
    """The loosened rule still runs at its enforced severity; the waiver does not apply."""
    definition = json.loads(REFERENCE_PATH.read_text())
    definition["Parameters"].append({"Name": "Unused", "Type": "String"})
    (repo / "pipelines" / "daily.json").write_text(json.dumps(definition))
    write(
        repo / ".mlops-guard.yaml",
        """
        extends: org/central.yaml
        ignore: [ST006]
        """,
    )
    _, findings = check_json("pipelines/daily.json", capsys=capsys)
    assert [(f["rule"], f["severity"]) for f in findings if f["rule"] != "MG007"] == [
        ("ST006", "error")
    ]
    write(
        repo / ".mlops-guard.yaml",
        """
        extends: org/central.yaml
        waivers: [{rule: ST006, pipeline: "*", reason: later}]
        """,
    )
    _, findings = check_json("pipelines/daily.json", capsys=capsys)
    assert sorted(f["rule"] for f in findings) == ["MG007", "ST006"]


def test_mg007_cannot_be_ignored_by_the_loosening_policy(repo, central, capsys):
    write(repo / ".mlops-guard.yaml", "extends: org/central.yaml\nignore: [SC, MG007]\n")
    code, findings = check_json("pipelines/daily.json", capsys=capsys)
    assert code == 1 and len(mg007(findings)) == 1


def test_enforcement_without_waiver_options_allows_open_waivers(repo, capsys):
    write(repo / "org" / "central.yaml", "extends: default\nenforce: {keys: [ignore]}\n")
    write(
        repo / ".mlops-guard.yaml",
        """
        extends: org/central.yaml
        waivers: [{rule: IO002, pipeline: legacy, reason: later}]
        """,
    )
    _, findings = check_json("pipelines/daily.json", capsys=capsys)
    assert mg007(findings) == [] and [f["rule"] for f in findings] == ["MG002"]


def test_mg007_is_listed_and_explained(capsys):
    assert main(["rules"]) == 0
    assert "MG007" in capsys.readouterr().out
    assert main(["explain", "MG007"]) == 0
    assert "How to fix" in capsys.readouterr().out


# -- the pre-commit hooks --------------------------------------------------------------


def hook_entry(hook_id: str) -> list[str]:
    import shlex

    import yaml

    from tests.integrations.conftest import ROOT

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    [hook] = [hook for hook in hooks if hook["id"] == hook_id]
    command = shlex.split(hook["entry"])
    assert command[0] == "mlops-guard"
    return command[1:]


def test_the_mlops_guard_hook_renders_no_modules(repo, capsys):
    """The hook as pre-commit runs it (its entry plus the changed files), in a
    repository whose policy lists a module: the files are checked, no code runs."""
    marker = repo / "ran"
    write(
        repo / ".mlops-guard.yaml",
        f"""
        extends: default
        modules:
          - entry: os:system
            kwargs: {{command: "touch {marker}"}}
        """,
    )
    assert main([*hook_entry("mlops-guard"), "pipelines/daily.json", ".mlops-guard.yaml"]) == 0
    assert not marker.exists()


def test_the_modules_hook_opts_in_explicitly():
    entry = hook_entry("mlops-guard-modules")
    assert "--allow-code" in entry and "--modules-only" in entry


def test_the_command_line_selection_is_the_gate_s_own(repo, central, capsys):
    """``--select`` replaces the policy's selection: enforcement judges policy files and
    does not widen what the gate asked for; the loosening is still reported."""
    write(repo / ".mlops-guard.yaml", "extends: org/central.yaml\nignore: [SC]\n")
    assert main(["check", "pipelines/daily.json", "--select", "ST006"]) == 1
    out = capsys.readouterr().out
    assert "MG007" in out and "SC001" in out
    assert main(["check", "pipelines/daily.json", "--select", "ST006", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["rules"] == 1
