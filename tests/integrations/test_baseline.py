"""Baselines: record today's findings, report only new ones; survive reformatting."""

from __future__ import annotations

import json

from tests.integrations.conftest import run_cli


def _broken(reference: dict) -> dict:
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    reference["Steps"][3]["DependsOn"] = ["AlsoMissing"]
    return reference


def test_write_then_apply_after_reformatting_and_moving_a_step(tmp_path, reference):
    definition = _broken(reference)
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition, indent=2))
    written = run_cli("check", "definition.json", "--write-baseline", "base.json", cwd=tmp_path)
    assert written.returncode == 0, written.stdout + written.stderr
    baseline = json.loads((tmp_path / "base.json").read_text())
    assert baseline["version"] == 1
    assert [entry["rule"] for entry in baseline["findings"]] == ["ST001", "ST001"]
    assert set(baseline["findings"][0]) == {
        "fingerprint",
        "rule",
        "file",
        "target",
        "subject",
        "message",
    }
    # Reformat (compact, other key order) and move a step to the end: still matched.
    steps = definition["Steps"]
    steps.append(steps.pop(0))
    path.write_text(json.dumps(definition, separators=(",", ":"), sort_keys=True))
    result = run_cli("check", "definition.json", "--baseline", "base.json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "2 suppressed" in result.stdout


def test_new_finding_fails_and_fixed_one_is_mg006(tmp_path, reference):
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(_broken(reference), indent=2))
    run_cli("check", "definition.json", "--write-baseline", "base.json", cwd=tmp_path)
    reference["Steps"][2]["DependsOn"] = []  # fixed
    reference["Steps"][4]["DependsOn"] = ["Brand-new"]  # new
    path.write_text(json.dumps(reference, indent=2))
    result = run_cli(
        "check", "definition.json", "--baseline", "base.json", "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    rules = sorted((f["rule"], f["location"]["file"]) for f in report["findings"])
    assert rules == [("MG006", "base.json"), ("ST001", "definition.json")]
    [stale] = [f for f in report["findings"] if f["rule"] == "MG006"]
    assert "NoSuchStep" in stale["message"] and stale["location"]["line"] is not None


def test_broken_baseline_is_one_line_exit_2(tmp_path, reference):
    (tmp_path / "definition.json").write_text(json.dumps(reference))
    for content in ('{"version": 1, "findings": [', '{"version": 7, "findings": []}', "[]"):
        (tmp_path / "base.json").write_text(content)
        result = run_cli("check", "definition.json", "--baseline", "base.json", cwd=tmp_path)
        assert result.returncode == 2, content
        assert result.stderr.count("\n") == 1 and "base.json" in result.stderr
    result = run_cli("check", "definition.json", "--baseline", "missing.json", cwd=tmp_path)
    assert result.returncode == 2 and "not found" in result.stderr
