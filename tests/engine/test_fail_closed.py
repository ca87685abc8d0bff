"""Selection and policy fail closed: what would silently check less is a usage error.

Unknown selectors (CLI or policy) exit 2 naming the selector, where it came from and the
closest ids; MG005 cannot be deselected; non-finite numbers, invalid dates and
unreadable configuration are one-line errors; reports count the rules that ran.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mlops_guard.cli import main
from tests.engine.files import write
from tests.rules.conftest import REFERENCE_PATH


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLOPS_GUARD_ALLOW_CODE", raising=False)


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def reference_copy(tmp_path: Path, mutate=None) -> str:
    definition = json.loads(REFERENCE_PATH.read_text())
    if mutate:
        mutate(definition)
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition, indent=2))
    return str(path)


# -- unknown selectors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "closest"),
    [("--select", "ZZ001", None), ("--ignore", "IOO2", "IO002"), ("--select", "io002", None)],
)
def test_unknown_cli_selector_is_a_usage_error(capsys, option, value, closest):
    assert main(["check", str(REFERENCE_PATH), option, value]) == 2
    err = one_error(capsys)
    assert f"{option}: unknown rule selector {value!r}" in err
    assert "closest: " in err
    if closest:
        assert closest in err


@pytest.mark.parametrize(
    ("policy", "key"),
    [
        ("select: [IOO2]\n", "select (line 2)"),
        ("ignore: [ZZ]\n", "ignore (line 2)"),
        ("extend_select: [NM9]\n", "extend_select (line 2)"),
        ("per_path_ignores: {'examples/*': [SC00X]}\n", "per_path_ignores.examples/*"),
        ("severity: {XX: info}\n", "severity (line 2)"),
        (
            "waivers: [{rule: IO02, pipeline: '*', reason: later, expires: 2099-01-01}]\n",
            "waivers (line 2)",
        ),
    ],
)
def test_unknown_policy_selector_names_the_file_and_key(tmp_path, capsys, policy, key):
    team = write(tmp_path / "team.yaml", "extends: default\n" + policy)
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 2
    err = one_error(capsys)
    assert f"{team}: {key}: unknown rule selector" in err


def test_selector_from_an_extended_policy_is_named_in_that_file(tmp_path, capsys):
    base = write(tmp_path / "base.yaml", "extends: default\nignore: [IOO2]\n")
    team = write(tmp_path / "team.yaml", "extends: base.yaml\nfail_on: warning\n")
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 2
    assert f"{base}: ignore (line 2): unknown rule selector 'IOO2'" in one_error(capsys)


def test_known_ids_include_rules_check_does_not_load(tmp_path, capsys):
    """RF101 is a metadata rule: ``check`` does not import it, but may name it."""
    team = write(tmp_path / "team.yaml", "extends: default\nignore: [RF101, MG002]\n")
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 0


def test_a_selection_of_no_rule_check_runs_is_an_error(capsys):
    assert main(["check", str(REFERENCE_PATH), "--select", "RF101"]) == 2
    assert "enables none of the definition rules" in one_error(capsys)


# -- MG005 stays on --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--ignore", "MG005"], ["--ignore", "MG005,ST"]],
)
def test_mg005_cannot_be_ignored_on_the_command_line(capsys, args):
    assert main(["check", str(REFERENCE_PATH), *args]) == 2
    assert "MG005" in one_error(capsys)


@pytest.mark.parametrize(
    "policy",
    [
        "ignore: [MG005]\n",
        "per_path_ignores: {'*': [MG005]}\n",
        "severity: {MG005: info}\n",
    ],
)
def test_mg005_cannot_be_switched_off_by_the_policy(tmp_path, capsys, policy):
    team = write(tmp_path / "team.yaml", "extends: default\n" + policy)
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 2
    assert "MG005" in one_error(capsys)


def test_mg005_stays_on_under_prefix_selections():
    """``ignore: [MG]`` or ``select: [NM]`` leave MG005 on at its severity."""
    from mlops_guard.selection import is_enabled, severity_for

    assert is_enabled("MG005", ["NM"], ["MG", "ALL"])
    assert severity_for("MG005", "error", {"MG": "info", "ALL": "info"}) == "error"


S3_TEMPLATE = """
Resources:
  Pipeline:
    Type: AWS::SageMaker::Pipeline
    Properties:
      PipelineName: daily-forecast
      RoleArn: arn:aws:iam::123456789012:role/x
      PipelineDefinition:
        PipelineDefinitionS3Location: {Bucket: b, Key: k}
"""


def test_a_gap_fails_whatever_the_selection_and_a_waiver_accepts_it(tmp_path, capsys):
    template = write(tmp_path / "template.yaml", S3_TEMPLATE)
    team = write(tmp_path / "team.yaml", "extends: default\nignore: [MG]\nseverity: {MG: info}\n")
    args = ["check", str(template), "--policy", str(team), "--select", "NM", "--format", "json"]
    assert main(args) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("MG005", "error")]
    write(
        team,
        """
        extends: default
        waivers:
          - {rule: MG005, file: "*template.yaml", reason: "the definition file is checked too"}
        """,
    )
    assert main(args) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["findings"] == [] and document["summary"]["suppressed"] == 1


# -- the count of rules that ran -------------------------------------------------------


def test_reports_count_the_rules_that_ran(capsys):
    assert main(["check", str(REFERENCE_PATH), "--select", "ST006,ST007"]) == 0
    assert capsys.readouterr().out.strip().endswith(", 2 rules.")
    assert main(["check", str(REFERENCE_PATH), "--select", "NM", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    from mlops_guard.session import prepare

    naming = [r for r in prepare(domains=("definition",)).rules if r.id.startswith("NM")]
    assert document["summary"]["rules"] == len(naming) > 2
    assert main(["check", str(REFERENCE_PATH), "--select", "NM", "--format", "sarif"]) == 0
    driver = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]
    listed = {rule["id"] for rule in driver["rules"]}
    assert {r.id for r in naming} <= listed and "IO002" not in listed


def test_per_path_ignores_count_rules_that_ran_somewhere(tmp_path, capsys):
    team = write(tmp_path / "team.yaml", "extends: default\nper_path_ignores: {'*': [ST]}\n")
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team), "--select", "ST"]) == 0
    assert capsys.readouterr().out.strip().endswith(", 0 rules.")


def test_replayed_results_count_the_same_rules(tmp_path, capsys):
    path = reference_copy(tmp_path)
    assert main(["check", path, "--select", "ST006,ST007"]) == 0
    first = capsys.readouterr().out
    assert main(["check", path, "--select", "ST006,ST007"]) == 0  # from the result cache
    assert capsys.readouterr().out == first


# -- numbers, dates, unreadable configuration ------------------------------------------


@pytest.mark.parametrize("value", [".nan", '"nan"', ".inf", "-.inf", "1e400", '"inf"'])
def test_non_finite_numbers_are_rejected_naming_key_and_line(tmp_path, capsys, value):
    team = write(
        tmp_path / "team.yaml",
        f"""\
extends: default
evaluation_thresholds:
  thresholds:
    - metric: mape
      direction: lower_is_better
      value: {value}
""",
    )
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 2
    err = one_error(capsys)
    assert "evaluation_thresholds.thresholds.0.value (line 6)" in err and "finite" in err


def test_non_finite_tolerance_is_rejected(tmp_path, capsys):
    team = write(tmp_path / "team.yaml", "evaluation_thresholds: {drift: {tolerance: .nan}}\n")
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 2
    assert "drift.tolerance" in one_error(capsys)


def test_invalid_waiver_date_is_one_line(tmp_path, capsys):
    team = write(
        tmp_path / "team.yaml",
        """\
extends: default
waivers:
  - rule: IO002
    pipeline: legacy
    reason: later
    expires: 2020-02-30
""",
    )
    assert main(["check", str(REFERENCE_PATH), "--policy", str(team)]) == 2
    err = one_error(capsys)
    assert f"{team}: expires (line 6): invalid value" in err


@pytest.mark.parametrize("name", ["pyproject.toml", ".mlops-guard.yaml"])
def test_unreadable_discovered_configuration_is_an_error(tmp_path, capsys, name):
    config = tmp_path / name
    config.write_text("[tool.mlops-guard]\nignore = ['ALL']\n" if name.endswith("toml") else "")
    (tmp_path / "sub").mkdir()
    shutil.copy(REFERENCE_PATH, tmp_path / "sub" / "pipeline.json")
    config.chmod(0)
    try:
        if os.access(config, os.R_OK):
            pytest.skip("this user reads files without permission (root)")
        assert main(["check", "sub/pipeline.json"]) == 2
        err = one_error(capsys)
        assert str(config) in err and "cannot read" in err
    finally:
        config.chmod(0o644)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("pyproject.toml", lambda path: path.write_bytes(b"[tool.mlops-guard]\nx = '\xff'\n")),
        (".mlops-guard.yaml", lambda path: path.mkdir()),
        (".mlops-guard.yaml", lambda path: path.symlink_to(path.parent / "gone.yaml")),
    ],
    ids=["pyproject-not-utf8", "policy-is-a-directory", "broken-symlink"],
)
def test_discovered_configuration_that_cannot_be_read_is_an_error(tmp_path, capsys, name, make):
    make(tmp_path / name)
    shutil.copy(REFERENCE_PATH, tmp_path / "pipeline.json")
    assert main(["check", "pipeline.json"]) == 2
    err = one_error(capsys)
    assert f"{tmp_path / name}: cannot read" in err
    # --isolated ignores discovered configuration altogether.
    assert main(["check", "pipeline.json", "--isolated"]) == 0


def test_unreadable_named_policy_is_an_error(tmp_path, capsys):
    directory = tmp_path / "policy.yaml"
    directory.mkdir()  # a policy that exists but cannot be read as a file
    assert main(["check", str(REFERENCE_PATH), "--policy", str(directory)]) == 2
    assert "policy.yaml: cannot read policy" in one_error(capsys)
