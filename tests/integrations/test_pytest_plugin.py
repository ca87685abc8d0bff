"""The pytest plugin, driven through pytest itself (``pytester``)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml  # noqa: F401  (see below)

import mlops_guard.session  # noqa: F401

# pytester's in-process runs drop the modules they imported afterwards; PyYAML's C
# extension cannot be re-imported cleanly, so yaml and the engine stay loaded out here.

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester, reference):
    """A repository with a compliant and a broken definition."""
    pipelines = pytester.mkdir("pipelines")
    (pipelines / "good.json").write_text(json.dumps(reference, indent=2))
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    (pipelines / "bad.json").write_text(json.dumps(reference, indent=2))
    pytester.makepyfile(test_unit="def test_ordinary():\n    assert True\n")
    return pytester


def test_off_by_default(project):
    result = project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_unit.py::test_ordinary", "1 test collected*"])
    result.stdout.no_fnmatch_line("*good.json*")


def test_items_per_rule_and_step_with_failure_location(project):
    result = project.runpytest("--mlops-guard", "-q", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] > 20
    result.stdout.fnmatch_lines(
        [
            "*mlops-guard: ST001?bad?*",
            "pipelines/bad.json:*:*: ST001 error: step 'Train' depends on unknown step "
            "'NoSuchStep' ?/Steps/2/DependsOn/0?",
            "FAILED pipelines/bad.json::ST001?bad?*",
        ]
    )
    collected = project.runpytest("--mlops-guard", "--collect-only", "-q")
    collected.stdout.fnmatch_lines(
        ["pipelines/good.json::ST001?good?", "pipelines/good.json::MG?good?"]
    )
    ids = collected.stdout.str()
    if "NM" in ids:  # step rules are parametrised by step
        assert "pipelines/good.json::NM" in ids and "[Train]" in ids


def test_keyword_exitfirst_and_junitxml(project):
    result = project.runpytest("--mlops-guard", "-k", "ST001", "-x", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)  # bad.json is collected first; -x stops there
    root = ET.parse(project.path / "report.xml").getroot()
    [failure] = root.iter("failure")
    assert "NoSuchStep" in failure.get("message")


def test_ini_paths_limit_what_is_checked(project):
    other = project.mkdir("fixtures")
    (other / "bad.json").write_text((project.path / "pipelines" / "bad.json").read_text())
    project.makeini("[pytest]\nmlops_guard_paths = pipelines\n")
    result = project.runpytest("--collect-only", "-q")
    text = result.stdout.str()
    assert "pipelines/bad.json::ST001" in text and "fixtures/bad.json" not in text


def test_team_rules_from_the_policy_run_unchanged(project):
    project.makefile(".yaml", **{".mlops-guard": "extends: default\nrules_dirs: [team_rules]\n"})
    rules = project.mkdir("team_rules")
    (rules / "check_team.py").write_text(
        "from mlops_guard import rule\n\n"
        '@rule(id="TM001", category="naming", summary="Steps are not called Train")\n'
        "def check_no_train(step):\n"
        '    """What it checks: no step is called Train."""\n'
        '    assert step.name != "Train", "call it TrainModel"\n'
    )
    result = project.runpytest("--mlops-guard", "-k", "TM001 and good", "-rf")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] >= 4  # one item per step
    result.stdout.fnmatch_lines(["FAILED pipelines/good.json::TM001?Train?*"])


def test_works_with_xdist(project):
    pytest.importorskip("xdist")
    result = project.runpytest_subprocess("--mlops-guard", "-p", "xdist", "-n", "2", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] > 20


def test_plugin_imports_no_engine_when_off(project):
    project.makeconftest(
        "import sys\n"
        "def pytest_sessionfinish(session):\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith('mlops_guard'))\n"
        "    open('modules.txt', 'w').write(' '.join(loaded))\n"
    )
    project.runpytest_subprocess("-q")
    loaded = (project.path / "modules.txt").read_text().split()
    assert "mlops_guard.pytest_plugin" in loaded
    assert not {"mlops_guard.engine", "mlops_guard.loaders", "mlops_guard.session"} & set(loaded)


def test_plugin_module_import_is_cheap():
    code = (
        "import sys, mlops_guard.pytest_plugin\n"
        "heavy = [m for m in ('mlops_guard.engine', 'yaml', 'pydantic') if m in sys.modules]\n"
        "print(heavy)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip() == "[]", output.stderr
