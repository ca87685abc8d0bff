"""Exit codes mean one thing each: 0 clean, 1 findings, 2 a line saying why nothing was
judged. Whatever escapes a command is one line and exit 2 (a traceback only with
``--debug``); a missing optional dependency names its extra; nothing the checked files
hold, and no terminal encoding, can make writing the report fail; a reader closing the
pipe early does not change the verdict."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from mlops_guard.cli import main
from mlops_guard.errors import FILE_NOTE, TOOL_ERROR_HINT
from tests.rules.conftest import REFERENCE_PATH

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads(
    (ROOT / "tests" / "integrations" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)
# A step name holding a lone surrogate, an ANSI escape, a newline, a bidi override and
# a non-ASCII letter: every one of them has broken some report writer somewhere.
HOSTILE_NAME = "Tr\ud800ain\x1b[2J\n\u202eé"
EXPORTABLE_HOSTILE_NAME = HOSTILE_NAME.replace("\ud800", "")
"""What an export may hold: it is refused with a lone surrogate (no source writes one)."""


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path / "cache"))


def reference() -> dict:
    return json.loads(REFERENCE_PATH.read_text(encoding="utf-8"))


def with_hostile_step_name(path: Path) -> Path:
    definition = reference()
    definition["Steps"][0]["Name"] = HOSTILE_NAME
    # json.dumps keeps the lone surrogate as the escape "\ud800", as a hostile file would.
    path.write_text(json.dumps(definition, indent=2), encoding="ascii")
    return path


def run(*args, env: dict | None = None, cwd: Path | None = None, **kwargs):
    """``mlops-guard ARGS`` in a subprocess (arguments may be bytes: file names that are
    not UTF-8), importing this checkout."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mlops_guard", *args],
        capture_output=True,
        env=environment,
        cwd=cwd or Path.cwd(),
        timeout=120,
        **kwargs,
    )


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mlops-guard: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def assert_valid(format_name: str, text: str) -> None:
    """The report parses as its format says."""
    if format_name in ("json", "sarif"):
        document = json.loads(text)
        # Valid Unicode: no lone surrogate survives, even as a JSON escape.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
        if format_name == "sarif":
            jsonschema.Draft4Validator(SARIF_SCHEMA).validate(document)
    elif format_name == "junit":
        ET.fromstring(text)
    else:
        for line in text.splitlines():
            assert line.isprintable(), line


# -- the guard ------------------------------------------------------------------------------


def _explode(exception: BaseException):
    def command(*args, **kwargs):
        raise exception

    return command


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (RecursionError("maximum recursion depth exceeded"), "RecursionError: maximum"),
        (KeyError("Steps"), "KeyError: 'Steps'"),
        (
            FileNotFoundError(2, "No such file or directory", "pipelines/a.json"),
            "pipelines/a.json: FileNotFoundError: [Errno 2] No such file or directory",
        ),
        (SystemExit(1), "SystemExit: 1"),
        (SystemExit("some library gave up"), "SystemExit: some library gave up"),
        (ValueError("two\nlines"), "ValueError: two lines"),
    ],
)
def test_an_uncaught_exception_is_one_line_and_exit_2(monkeypatch, capsys, exception, expected):
    # Fault injection: the command itself raises what a bug would.
    monkeypatch.setattr("mlops_guard.commands.check", _explode(exception))
    assert main(["check", "x.json"]) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert expected in line and line.endswith(TOOL_ERROR_HINT)
    assert captured.out == ""


def test_an_exception_note_names_the_file(monkeypatch, capsys):
    error = TypeError("'int' object is not iterable")
    error.add_note(FILE_NOTE + "infra/stack.yaml")
    monkeypatch.setattr("mlops_guard.commands.check", _explode(error))
    assert main(["check"]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        "mlops-guard: error: infra/stack.yaml: TypeError: 'int' object is not iterable "
        + TOOL_ERROR_HINT
    )


def test_a_loader_crash_names_the_file_it_was_reading(tmp_path, monkeypatch, capsys):
    # Fault injection: the definition loader fails as a bug in it would.
    definition = tmp_path / "daily.json"
    definition.write_text(json.dumps(reference()))
    monkeypatch.setattr("mlops_guard.loaders.definition_json.load", _explode(KeyError("Steps")))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "daily.json"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("mlops-guard: error: daily.json: KeyError:")


def test_debug_shows_the_traceback_and_still_exits_2(monkeypatch, capsys):
    monkeypatch.setattr("mlops_guard.commands.check", _explode(RuntimeError("boom")))
    assert main(["check", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "mlops-guard: error: RuntimeError: boom"


def test_an_input_error_with_debug_exits_2_not_1(tmp_path):
    (tmp_path / "broken.json").write_text("{")
    process = run("check", "broken.json", "--debug", text=True)
    assert process.returncode == 2
    assert "Traceback" in process.stderr
    assert process.stderr.splitlines()[-1].startswith("mlops-guard: error: broken.json")


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    monkeypatch.setattr("mlops_guard.commands.check", _explode(KeyboardInterrupt()))
    assert main(["check"]) == 130


def test_an_external_command_crash_is_a_tool_error_too(monkeypatch, capsys):
    monkeypatch.setattr("mlops_guard.audit.cli.audit", _explode(ZeroDivisionError("by zero")))
    assert main(["audit", "file", "x.json"]) == 2
    assert "ZeroDivisionError: by zero" in one_error_line(capsys.readouterr().err)


def test_reference_usage_errors_are_one_line(capsys):
    assert main(["reference", "frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in one_error_line(capsys.readouterr().err)
    assert main(["reference", "graph", "--definition", "missing.json"]) == 2
    assert "missing.json: cannot read definition" in one_error_line(capsys.readouterr().err)


# -- missing extras -------------------------------------------------------------------------

BLOCKER = '''\
"""Makes the modules named in MLOPS_GUARD_TEST_MISSING look uninstalled, in this process
and in every Python process it starts (this directory is on their PYTHONPATH too)."""
import os
import sys

MISSING = set(filter(None, os.environ.get("MLOPS_GUARD_TEST_MISSING", "").split(",")))


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


if MISSING:
    sys.meta_path.insert(0, _NotInstalled())
'''

MINIMAL_EXPORT = {
    "format": "mlops-guard-metadata",
    "version": 1,
    "experiments": [
        {
            "name": "daily-demand-forecast",
            "trials": [{"name": "execution-1", "components": [{"name": "Train"}]}],
        }
    ],
}


def without(modules: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    """``mlops-guard ARGS`` with ``modules`` (comma-separated) not importable."""
    blocker = cwd / "blocker"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)]),
        "MLOPS_GUARD_TEST_MISSING": modules,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing may leave the machine
    }
    return subprocess.run(
        [sys.executable, "-m", "mlops_guard", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


KWARGS = json.dumps(
    {"region": "us-east-1", "role": "arn:aws:iam::123456789012:role/r", "default_bucket": "b"}
)
AWS = "boto3,botocore"
REPORT = "pandas,pyarrow"
SDK = "sagemaker,pandas,numpy,sklearn,pyarrow"
EXTRA_MATRIX = [
    pytest.param(AWS, "aws", ["audit", "sagemaker", "--region", "us-east-1"], id="audit-sagemaker"),
    pytest.param(
        "mlflow", "mlflow", ["audit", "mlflow", "--tracking-uri", "store"], id="audit-mlflow"
    ),
    pytest.param(AWS, "aws", ["export", "sagemaker", "-o", "x.json"], id="export-sagemaker"),
    pytest.param(
        "mlflow", "mlflow", ["export", "mlflow", "--tracking-uri", "store", "-o", "x.json"],
        id="export-mlflow",
    ),
    pytest.param(REPORT, "report", ["audit", "file", "export.json", "-o", "r.csv"], id="audit-csv"),
    pytest.param(
        REPORT, "report", ["audit", "file", "export.json", "-o", "r.parquet"], id="audit-parquet"
    ),
    pytest.param(
        REPORT, "report", ["audit", "file", "export.json", "-o", "r.html"], id="audit-html"
    ),
    pytest.param(
        SDK, "sdk", ["reference", "run", "--date", "2026-11-20", "--output", "out"],
        id="reference-run",
    ),
    pytest.param(SDK, "sdk", ["reference", "definition", "--render"], id="reference-render"),
    pytest.param(
        SDK, "sdk",
        ["check", "--module", "mlops_guard.reference.pipeline:get_pipeline", "--kwargs", KWARGS],
        id="check-module",
    ),
    pytest.param("hcl2", "terraform", ["check", "main.tf"], id="check-terraform"),
]  # fmt: skip


@pytest.mark.parametrize(("modules", "extra", "args"), EXTRA_MATRIX)
def test_a_missing_extra_is_one_line_naming_it(tmp_path, modules, extra, args):
    (tmp_path / "export.json").write_text(json.dumps(MINIMAL_EXPORT), encoding="utf-8")
    (tmp_path / "main.tf").write_text(
        'resource "aws_sagemaker_pipeline" "p" {\n  pipeline_name = "p"\n}\n', encoding="utf-8"
    )
    process = without(modules, *args, cwd=tmp_path)
    install = f"pip install 'mlops-guard[{extra}]'"
    if process.returncode == 1:  # what was not read may also be an MG005 finding
        assert "MG005" in process.stdout and install in process.stdout, process.stdout
        assert "Traceback" not in process.stderr
        return
    assert process.returncode == 2, (process.stdout, process.stderr)
    assert install in one_error_line(process.stderr)
    assert not (tmp_path / "out").exists()  # refused before starting


def test_json_checks_and_iam_policy_need_no_extra(tmp_path):
    everything = "boto3,botocore,pandas,pyarrow,numpy,sklearn,sagemaker,mlflow,hcl2"
    (tmp_path / "pipeline.json").write_text(REFERENCE_PATH.read_text(encoding="utf-8"))
    process = without(everything, "check", "pipeline.json", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    process = without(everything, "iam-policy", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)["Statement"]


# -- output that cannot fail to encode ------------------------------------------------------

FORMATS = ("text", "json", "sarif", "junit", "github")


@pytest.mark.parametrize("format_name", FORMATS)
def test_hostile_text_on_an_ascii_stdout_is_escaped(tmp_path, format_name):
    path = with_hostile_step_name(tmp_path / "pipeline.json")
    process = run("check", path.name, "--format", format_name, env={"PYTHONIOENCODING": "ascii"})
    assert process.returncode == 1, process.stderr
    assert process.stderr == b""
    text = process.stdout.decode("ascii")  # nothing but ASCII reached the terminal
    assert_valid(format_name, text)
    if format_name in ("text", "github"):
        assert "\\x1b[2J" in text and "\\x1b" not in text.replace("\\x1b[2J", "")


@pytest.mark.parametrize("format_name", FORMATS)
def test_hostile_text_in_an_output_file_is_valid(tmp_path, format_name, capsys):
    path = with_hostile_step_name(tmp_path / "pipeline.json")
    assert main(["check", str(path), "--format", format_name, "-o", "report.out"]) == 1
    assert capsys.readouterr().out == ""
    assert_valid(format_name, (tmp_path / "report.out").read_text(encoding="utf-8"))


@pytest.mark.parametrize("format_name", FORMATS)
def test_a_file_name_that_is_not_utf8(tmp_path, format_name):
    definition = reference()
    definition["Parameters"].append({"Name": "Unused", "Type": "String"})
    name = b"daily-\xff.json"
    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as handle:
        handle.write(json.dumps(definition).encode())
    process = run("check", name, "--format", format_name, "--fail-on", "warning", "--no-cache")
    assert process.returncode == 1, process.stderr
    assert process.stderr == b""
    text = process.stdout.decode("utf-8")
    assert_valid(format_name, text)
    if format_name == "sarif":  # the URI keeps the name's real byte
        uris = {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for result in json.loads(text)["runs"][0]["results"]
        }
        assert uris == {"daily-%FF.json"}
    elif format_name == "text":
        assert text.startswith("daily-\\xff.json:")


def test_an_export_with_a_lone_surrogate_is_an_input_error(tmp_path):
    export = json.loads(json.dumps(MINIMAL_EXPORT))
    export["experiments"][0]["trials"][0]["components"][0]["name"] = HOSTILE_NAME
    (tmp_path / "export.json").write_text(json.dumps(export), encoding="ascii")
    process = run("audit", "file", "export.json", text=True, env={"PYTHONIOENCODING": "ascii"})
    assert process.returncode == 2
    assert "not valid Unicode text" in one_error_line(process.stderr)


def test_audit_file_with_hostile_text(tmp_path):
    export = json.loads(json.dumps(MINIMAL_EXPORT))
    export["experiments"][0]["trials"][0]["components"][0]["name"] = EXPORTABLE_HOSTILE_NAME
    (tmp_path / "export.json").write_text(json.dumps(export), encoding="ascii")
    for format_name in FORMATS:
        process = run(
            "audit", "file", "export.json", "--format", format_name,
            env={"PYTHONIOENCODING": "ascii"},
        )  # fmt: skip
        assert process.returncode in (0, 1), process.stderr
        assert b"Traceback" not in process.stderr
        assert_valid(format_name, process.stdout.decode("ascii"))


@pytest.mark.parametrize("report", ["r.json", "r.html", "r.csv", "r.parquet"])
def test_audit_report_files_with_hostile_text(tmp_path, report):
    pytest.importorskip("pyarrow")
    export = json.loads(json.dumps(MINIMAL_EXPORT))
    export["experiments"][0]["trials"][0]["components"][0]["name"] = EXPORTABLE_HOSTILE_NAME
    (tmp_path / "export.json").write_text(json.dumps(export), encoding="ascii")
    process = run("audit", "file", "export.json", "-o", report, text=True)
    assert process.returncode in (0, 1), process.stderr
    assert (tmp_path / report).stat().st_size > 0


def test_an_error_line_stays_one_line_whatever_the_file_name(tmp_path):
    name = "bad\nname\x1b.json"
    (tmp_path / name).write_text("{", encoding="utf-8")
    process = run("check", name, text=True, env={"PYTHONIOENCODING": "ascii"})
    assert process.returncode == 2
    assert "bad name\\x1b.json" in one_error_line(process.stderr)


# -- a reader that closes the pipe ----------------------------------------------------------


class _ClosedPipe(io.TextIOBase):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stdout_keeps_the_verdict(tmp_path, monkeypatch, capsys):
    definition = reference()
    definition["Parameters"].append({"Name": "Unused", "Type": "String"})
    (tmp_path / "p.json").write_text(json.dumps(definition))
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["check", "p.json", "--fail-on", "warning"]) == 1
    assert main(["check", str(REFERENCE_PATH)]) == 0
    assert capsys.readouterr().err == ""


def test_a_command_cut_off_before_its_verdict_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["rules"]) == 2
    assert "standard output was closed" in one_error_line(capsys.readouterr().err)


def test_no_command_is_the_help_and_one_error_line(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "check" in captured.out
    assert "a command is required" in one_error_line(captured.err)


def test_head_on_a_long_report(tmp_path):
    definition = reference()
    definition["Parameters"] += [{"Name": f"Unused{i}", "Type": "String"} for i in range(3000)]
    (tmp_path / "p.json").write_text(json.dumps(definition))
    process = subprocess.Popen(
        [sys.executable, "-m", "mlops_guard", "check", "p.json", "--fail-on", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 1
    assert b"ST006" in first
    assert stderr == b"", stderr  # no traceback, no "Exception ignored"


def test_python_dash_m_reference_is_one_line_too():
    process = subprocess.run(
        [sys.executable, "-m", "mlops_guard.reference", "graph", "--definition", "nope.json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert process.returncode == 2
    assert "nope.json" in one_error_line(process.stderr)
