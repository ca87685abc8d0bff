"""``mlops-guard audit file`` end to end, as a user runs it: a subprocess on real exports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard.metadata.io import dump_store
from mlops_guard.metadata.model import Unreadable

pd = pytest.importorskip("pandas")


def audit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlops_guard", "audit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture
def mutated_export(compliant_store, tmp_path) -> Path:
    """The reference history with the latest execution's holdout MAPE at 0.23."""
    runs = sorted(compliant_store.experiments[0].trials, key=lambda t: t.components[0].start_time)
    next(c for c in runs[-1].components if c.display_name == "TrainEvaluation").metrics[
        "mape"
    ].last = 0.23
    path = tmp_path / "metadata.json"
    dump_store(compliant_store, path)
    return path


def test_compliant_reference_history_passes(reference_exports):
    done = audit("file", str(reference_exports))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("All checks passed: 1 target,")
    assert done.stderr == ""


def test_findings_exit_1_with_numbers(mutated_export):
    done = audit("file", str(mutated_export))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any("ET101 error: run" in line and "mape = 0.23" in line for line in lines)
    assert any("ET103 error" in line and "drifts from the median" in line for line in lines)
    assert lines[-1] == "Found 2 findings (2 error) in 2 targets."


def test_every_report_of_an_audit_counts_the_rules_that_ran(reference_exports, tmp_path):
    """Text, JSON, SARIF, JUnit and the HTML summary count the same rules: those that ran
    on the store, never the definition rules loaded beside them (no report may show a rule
    that did not run as passed)."""
    from tests.integrations.test_reporters import rule_counts

    outputs = {}
    page = tmp_path / "report.html"
    for name in ("text", "json", "sarif", "junit"):
        done = audit("file", str(reference_exports), "--format", name, "-o", str(page))
        assert done.returncode == 0, done.stderr
        outputs[name] = done.stdout
    counts = rule_counts(outputs)
    card = page.read_text(encoding="utf-8").split('<div class="l">rules</div>')[0]
    counts["html"] = int(card.rsplit('<div class="n">', 1)[1].removesuffix("</div>"))
    assert len(set(counts.values())) == 1, counts
    assert counts["json"] < 40  # the store's rules, not every rule loaded


def test_selection_fail_on_and_json(mutated_export):
    done = audit("file", str(mutated_export), "--select", "ET103", "--format", "json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert [f["rule"] for f in document["findings"]] == ["ET103"]
    done = audit("file", str(mutated_export), "--ignore", "ET,OP", "--fail-on", "warning")
    assert done.returncode == 0, done.stdout


def test_report_files_by_suffix_are_deterministic(mutated_export, tmp_path):
    outputs = [tmp_path / f"report.{suffix}" for suffix in ("html", "csv", "parquet", "json")]
    first = audit("file", str(mutated_export), *[f"--output={path}" for path in outputs])
    assert first.returncode == 1, first.stderr
    contents = [path.read_bytes() for path in outputs]
    second = audit("file", str(mutated_export), *[f"--output={path}" for path in outputs])
    assert second.returncode == 1
    assert [path.read_bytes() for path in outputs] == contents

    table = pd.read_csv(outputs[1])
    assert list(table["rule"]) == ["ET101", "ET103"]
    assert table.loc[0, "message"].endswith("fails the threshold <= 0.2")
    parquet = pd.read_parquet(outputs[2])
    assert list(parquet.columns) == list(table.columns)
    assert list(parquet["rule"]) == list(table["rule"])
    assert json.loads(outputs[3].read_text())["summary"]["findings"] == len(table)


def test_html_report_is_self_contained(mutated_export, tmp_path):
    report = tmp_path / "report.html"
    done = audit("file", str(mutated_export), "-o", str(report))
    assert done.returncode == 1
    page = report.read_text()
    for external in ("http://", "https://", "<script", "<link", "src="):
        assert external not in page
    assert page.count('<svg class="chart"') == 1
    assert 'class="threshold"' in page and 'class="drift"' in page
    assert 'class="point failing"' in page
    assert 'id="findings"' in page and 'class="dataframe findings"' in page
    assert "mape = 0.23" in page


def test_unreadable_parts_exit_2_and_are_reported(compliant_store, tmp_path):
    compliant_store.unreadable.append(
        Unreadable(what="scheduler:ListSchedules (schedules)", reason="AccessDeniedException")
    )
    path = tmp_path / "partial.json"
    dump_store(compliant_store, path)
    done = audit("file", str(path), "--format", "json")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    rules = [f["rule"] for f in document["findings"]]
    assert "OP101" not in rules  # "not evaluated", not "no schedule"
    assert any(
        f["rule"] == "MG005" and f["message"].startswith("rule OP101 not evaluated: could not read")
        for f in document["findings"]
    )
    assert "could not be read (MG005): the audit does not pass" in done.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"format": "mlops-guard-metadata", "experiments": [', "line 1, column"),
        ('{"format": "mlops-guard-metadata", "experiments": [{"nam": "x"}]}', "/experiments/0"),
        ('{"format": "something-else"}', "/format: not an mlops-guard metadata export"),
    ],
)
def test_bad_export_is_one_line(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    done = audit("file", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"mlops-guard: error: {path}")
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    debug = audit("file", str(path), "--debug")
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_bad_policy_and_usage_are_one_line(reference_exports, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nfail_on: sometimes\n")
    done = audit("file", str(reference_exports), "--policy", str(policy))
    assert done.returncode == 2
    assert done.stderr.startswith("mlops-guard: error: ")
    assert "fail_on" in done.stderr and done.stderr.count("\n") == 1
    done = audit("file", str(reference_exports), "-o", str(tmp_path / "report.pdf"))
    assert done.returncode == 2
    assert "unknown report type" in done.stderr
    done = audit("file", str(tmp_path / "missing.json"))
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "no such file or directory" in done.stderr
