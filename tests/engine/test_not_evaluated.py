"""``NotEvaluated``: what a rule cannot judge fails the run as MG005, never passes.

A team rule raises (or yields) it as ``pytest.skip`` is raised; the engine reports it as
MG005 at the place given, naming the rule and the reason, at severity error whatever the
rule's own severity, the selection or the interpreter's ``-O``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard import NotEvaluated, Violation
from mlops_guard.cli import main
from tests.rules.conftest import REFERENCE_PATH, ROOT

RAISES = '''
from mlops_guard import NotEvaluated, rule


@rule(id="TM001", category="security", severity="info", summary="Images are scanned")
def check_scanned(definition):
    """Cannot judge a pipeline whose first image is only known at deploy time."""
    raise NotEvaluated("the image of step Extract is resolved at deploy time", at="/Steps/0")
'''

YIELDS = '''
from mlops_guard import NotEvaluated, Violation, rule


@rule(id="TM002", category="naming", severity="warning", summary="Steps are named")
def check_named(step):
    """Judges every step but the first, which it cannot read."""
    if step.name == "Extract":
        yield NotEvaluated("the step's name comes from a parameter", subject="Extract")
        return
    yield Violation(f"step {step.name} judged")
'''


def _team_rules(tmp_path: Path, source: str) -> Path:
    rules = tmp_path / "team_rules"
    rules.mkdir()
    (rules / "check_team.py").write_text(source)
    return rules


def _check(capsys, tmp_path: Path, source: str, *args: str) -> tuple[int, list[dict]]:
    rules = _team_rules(tmp_path, source)
    command = ["check", str(REFERENCE_PATH), "--rules-dir", str(rules), "--no-cache"]
    code = main([*command, "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_a_raised_not_evaluated_fails_the_run_as_mg005(tmp_path, capsys):
    """An info rule that cannot judge still fails a run that fails on errors only."""
    code, findings = _check(capsys, tmp_path, RAISES, "--select", "TM001", "--fail-on", "error")
    assert code == 1
    assert [
        (f["rule"], f["severity"], f["message"], f["location"]["pointer"]) for f in findings
    ] == [
        (
            "MG005",
            "error",
            "rule TM001 not evaluated: the image of step Extract is resolved at deploy time",
            "/Steps/0",
        )
    ]
    assert findings[0]["location"]["line"] is not None  # located in the file, like a finding


def test_a_severity_override_of_the_rule_does_not_lower_it(tmp_path, capsys):
    policy = tmp_path / "policy.yaml"
    policy.write_text("severity:\n  TM001: info\n")
    code, findings = _check(capsys, tmp_path, RAISES, "--policy", str(policy), "--select", "TM001")
    assert code == 1
    assert [(f["rule"], f["severity"]) for f in findings] == [("MG005", "error")]


def test_a_yielded_not_evaluated_lets_the_rule_go_on(tmp_path, capsys):
    code, findings = _check(capsys, tmp_path, YIELDS, "--select", "TM002")
    assert code == 1
    gaps = [f for f in findings if f["rule"] == "MG005"]
    assert [(f["message"], f["subject"]) for f in gaps] == [
        ("rule TM002 not evaluated: the step's name comes from a parameter", "Extract")
    ]
    assert gaps[0]["location"]["pointer"] == "/Steps/0"  # the item the rule was looking at
    judged = [f["message"] for f in findings if f["rule"] == "TM002"]
    assert len(judged) == len(findings) - 1 > 1  # the other steps were judged
    assert "step Train judged" in judged and "step Extract judged" not in judged


@pytest.mark.parametrize("optimize", [False, True], ids=["plain", "dash-O"])
def test_not_evaluated_works_under_dash_o(tmp_path, optimize):
    """Unlike ``assert``, raising ``NotEvaluated`` survives ``python -O``."""
    rules = _team_rules(tmp_path, RAISES)
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_GUARD_NO_CACHE": "1"}
    environment.pop("PYTHONOPTIMIZE", None)
    command = [sys.executable, *(["-O"] if optimize else []), "-m", "mlops_guard", "check"]
    command += [str(REFERENCE_PATH), "--rules-dir", str(rules), "--select", "TM001"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert done.returncode == 1, done.stderr
    assert "MG005 error: rule TM001 not evaluated: the image of step Extract" in done.stdout


def test_not_evaluated_is_public_and_says_what_it_holds():
    gap = NotEvaluated("reason", at="/Steps/1", subject="Train")
    assert (str(gap), gap.reason, gap.at, gap.subject) == ("reason", "reason", "/Steps/1", "Train")
    assert isinstance(gap, Exception) and not isinstance(gap, (AssertionError, Violation))
