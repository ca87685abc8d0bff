"""``mlops_guard.testing``: a team tests its rules as the built-in ones are tested, and
the README's example (a team rule file and its test) runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from mlops_guard.errors import InputError
from mlops_guard.testing import check, find_step, reference_definition
from tests.rules.conftest import REFERENCE_PATH, ROOT, run_check

EXAMPLE = re.compile(r"<!-- example:(?P<path>[\w./-]+) -->\n```python\n(?P<code>.*?)```", re.S)


def readme_examples() -> dict[str, str]:
    """The files the README's "Writing rules" shows, by the path its marker names."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {match["path"]: match["code"] for match in EXAMPLE.finditer(text)}


def test_the_readme_example_runs_as_written(tmp_path):
    """The rule file and its pytest test, copied from the README, pass: the documentation
    cannot drift from the API."""
    examples = readme_examples()
    assert sorted(examples) == ["team_rules/check_size.py", "tests/test_team_rules.py"]
    for path, code in examples.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_reference_definition_is_a_fresh_copy_each_time():
    first = reference_definition()
    first["Steps"].clear()
    assert reference_definition()["Steps"]
    assert reference_definition() == __import__("json").loads(REFERENCE_PATH.read_text())


def test_the_reference_passes_every_builtin_rule():
    assert check(reference_definition()) == []
    assert check(REFERENCE_PATH) == []


def test_a_mutation_gives_the_findings_the_builtin_rule_tests_see():
    """The same mutation through ``testing.check`` and through this repository's own rule
    test helper: same rules, pointers and messages."""
    definition = reference_definition()
    find_step(definition, "Train")["Arguments"]["AlgorithmSpecification"]["TrainingImage"] = (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/train:latest"
    )
    found = check(definition)
    assert found, "an unpinned training image must be reported"
    ours = run_check(definition)
    shape = [(f.rule, f.location.pointer, f.message) for f in found]
    assert shape == [(f.rule, f.location.pointer, f.message) for f in ours]
    assert all(f.location.line for f in found)  # lines in the definition's JSON text


def test_select_and_policy_overrides():
    definition = reference_definition()
    definition["Parameters"].append({"Name": "bad_name", "Type": "String"})
    added = f"/Parameters/{len(definition['Parameters']) - 1}/Name"
    named = check(definition, select=["NM"])
    assert [(f.rule, f.location.pointer) for f in named] == [("NM006", added)]
    loose = {"naming": {"parameter": {"pattern": "."}}}
    assert check(definition, select=["NM"], policy=loose) == []


def test_find_step_reaches_condition_branches_and_says_when_there_is_none():
    definition = reference_definition()
    branches = [
        step["Name"]
        for top in definition["Steps"]
        if top["Type"] == "Condition"
        for key in ("IfSteps", "ElseSteps")
        for step in top["Arguments"].get(key, [])
    ]
    assert branches and find_step(definition, branches[0])["Name"] == branches[0]
    with pytest.raises(KeyError):
        find_step(definition, "NoSuchStep")


def test_errors_are_the_line_the_command_prints(tmp_path):
    with pytest.raises(InputError, match=r"^<policy>: naming\.nope: unknown key$"):
        check(reference_definition(), policy={"naming": {"nope": 1}})
    with pytest.raises(InputError, match="rules directory not found"):
        check(reference_definition(), rules_dir=tmp_path / "missing")


def test_a_policy_file_is_read_as_the_command_reads_it(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("extends: default\nselect: [NM]\nnaming:\n  parameter: {pattern: 'x'}\n")
    found = check(reference_definition(), policy=policy)
    assert found and {f.rule for f in found} == {"NM006"}
