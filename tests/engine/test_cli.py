"""The command line as users run it: exit codes, formats, bad input, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard.cli import main
from tests.corpus import CORPUS, needs_corpus
from tests.rules.conftest import REFERENCE_PATH

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("boto3", "botocore", "pandas", "sagemaker", "mlflow", "pytest", "numpy")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLOPS_GUARD_CACHE_DIR": str(Path.cwd() / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "mlops_guard", *args],
        capture_output=True,
        text=True,
        cwd=cwd or Path.cwd(),
        env=env,
    )


def test_reference_passes(capsys):
    assert main(["check", str(REFERENCE_PATH)]) == 0
    assert "All checks passed" in capsys.readouterr().out


def test_findings_exit_1_and_text_lines_point_at_lines(tmp_path, capsys):
    definition = json.loads(REFERENCE_PATH.read_text())
    definition["Parameters"].append({"Name": "Unused", "Type": "String"})
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition, indent=2))
    assert main(["check", str(path), "--select", "ST006", "--fail-on", "warning"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("pipeline.json:")
    assert " ST006 warning: parameter 'Unused' is never used" in out[0]
    assert out[-1].startswith("Found 1 finding (1 warning) in 1 target")
    # Below the failing severity: reported, exit 0.
    assert main(["check", str(path), "--select", "ST006", "--fail-on", "error"]) == 0


def test_json_format_schema(tmp_path, capsys):
    definition = json.loads(REFERENCE_PATH.read_text())
    definition["Steps"][1]["DependsOn"] = ["Nowhere"]
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition, indent=2))
    assert main(["check", str(path), "--select", "ST", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == 1
    (finding,) = document["findings"]
    assert set(finding) >= {"rule", "category", "severity", "message", "location"}
    assert finding["rule"] == "ST001" and finding["category"] == "structure"
    assert finding["location"]["file"] == "pipeline.json"
    assert finding["location"]["pointer"] == "/Steps/1/DependsOn/0"
    assert isinstance(finding["location"]["line"], int)
    assert document["summary"]["findings"] == 1


@needs_corpus
def test_output_is_byte_identical_across_runs(tmp_path):
    first = cli("check", str(CORPUS), "--format", "json")
    second = cli("check", str(CORPUS), "--format", "json")
    assert first.returncode == second.returncode != 2
    assert first.stdout == second.stdout


@needs_corpus
def test_every_corpus_pipeline_checks_without_a_crash(capsys):
    assert main(["check", str(CORPUS), "--format", "json"]) in (0, 1)
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["targets"] == len(list(CORPUS.glob("*.json")))
    crashed = [f for f in document["findings"] if "crashed" in f["message"]]
    assert crashed == []


def test_rules_listing_json(capsys):
    assert main(["rules", "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert all(set(item) == {"id", "category", "severity", "summary"} for item in items)
    ids = [item["id"] for item in items]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert "ST001" in ids and "MG001" in ids


def test_explain(capsys):
    assert main(["explain", "st007"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ST007: ") and "How to fix" in text
    assert main(["explain", "XX999"]) == 2


@pytest.mark.parametrize(
    ("args", "files", "expected"),
    [
        (["check", "broken.json"], {"broken.json": '{"Steps": ['}, "broken.json: line 1"),
        (["check", "missing.json"], {}, "missing.json: no such file"),
        (["check", "notes.txt"], {"notes.txt": "x"}, "notes.txt: not a file mlops-guard checks"),
        (
            ["check", "ok.json", "--policy", "team.yaml"],
            {"ok.json": None, "team.yaml": "naming:\n  stepz: {}\n"},
            "team.yaml: naming.stepz (line 2): unknown key",
        ),
        (["check", "--format", "xml"], {}, "invalid choice: 'xml'"),
        (["check", "--module", "nomodule:get_pipeline"], {}, "module 'nomodule' not found"),
        (["check", "--module", "x:y", "--kwargs", "[1"], {}, "--kwargs is not valid JSON"),
        (["frobnicate"], {}, "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, files, expected):
    for name, content in files.items():
        (tmp_path / name).write_text(REFERENCE_PATH.read_text() if content is None else content)
    process = cli(*args)
    assert process.returncode == 2, process.stderr
    assert process.stdout == ""
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("mlops-guard: error: ")
    assert expected in lines[0]
    assert "Traceback" not in process.stderr


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "broken.json").write_text("{")
    process = cli("check", "broken.json", "--debug")
    assert process.returncode != 0 and "Traceback" in process.stderr


def test_json_check_imports_nothing_heavy(tmp_path):
    code = (
        "import sys; from mlops_guard.cli import main; rc = main(['check', sys.argv[1]]);"
        f"print(rc, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    process = subprocess.run(
        [sys.executable, "-c", code, str(REFERENCE_PATH)], capture_output=True, text=True
    )
    assert process.stdout.strip().splitlines()[-1] == "0 []"


def test_nothing_the_user_gave_is_modified(tmp_path):
    path = tmp_path / "pipeline.json"
    path.write_text(REFERENCE_PATH.read_text())
    before = path.stat().st_mtime_ns, path.read_bytes()
    cli("check", str(path), "--format", "json")
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
