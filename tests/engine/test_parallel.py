"""A big tree checked on several cores reports exactly what one process reports: the
same bytes in every format, the same exit code, the same first input error, and the
result cache filled for the next run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.rules.conftest import REFERENCE_PATH

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only"),
]

FILES = 80
"""More than a run needs before it is worth spreading over workers."""

WHO_CHECKS = '''
import os

from mlops_guard import rule


@rule(id="TM901", category="naming", summary="Records which process checks a definition")
def check_who(definition):
    """Records the process id of whoever checks a definition (a probe, never fails)."""
    with open(os.environ["WHO_CHECKS"], "a") as log:
        log.write(f"{os.getpid()}\\n")
'''


def definition(index: int) -> dict:
    """The reference, varied so that files differ and some have findings."""
    document = json.loads(REFERENCE_PATH.read_text())
    document["Parameters"][0]["DefaultValue"] = f"2026-01-{index % 28 + 1:02d}"
    if index % 5 == 0:
        document["Parameters"].append({"Name": f"Unused{index}", "Type": "String"})
    if index % 7 == 0:
        document["Steps"][0]["Name"] = f"bad name {index}"
    if index % 11 == 0:
        del document["Steps"][-1]["Arguments"]
    return document


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    pipelines = tmp_path / "pipelines"
    for index in range(FILES):
        folder = pipelines / f"team-{index % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(definition(index), indent=2 if index % 2 else None)
        (folder / f"pipeline-{index:03d}.json").write_text(text)
    (pipelines / "notes.json").write_text('{"not": "a pipeline"}')  # met in a directory
    return tmp_path


def check(tree: Path, *args: str, cache: str = "cache") -> subprocess.CompletedProcess:
    env = {**os.environ, "MLOPS_GUARD_CACHE_DIR": str(tree / cache)}
    env.pop("MLOPS_GUARD_NO_CACHE", None)
    env["WHO_CHECKS"] = str(tree / "who.txt")
    command = [sys.executable, "-m", "mlops_guard", "check", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=tree, env=env)


def checkers(tree: Path) -> list[str]:
    log = tree / "who.txt"
    pids = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return pids


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_parallel_output_is_byte_identical_to_one_process(tree, fmt):
    one = check(tree, "pipelines", "--format", fmt, "--no-cache", "--jobs", "1")
    several = check(tree, "pipelines", "--format", fmt, "--no-cache", "--jobs", "2")
    assert one.returncode == 1, one.stderr
    assert (several.returncode, several.stdout, several.stderr) == (
        one.returncode,
        one.stdout,
        one.stderr,
    )


def test_workers_check_the_files_and_fill_the_result_cache(tree):
    rules = tree / "team_rules"
    rules.mkdir()
    (rules / "check_who.py").write_text(textwrap.dedent(WHO_CHECKS))
    args = ["pipelines", "--format", "json", "--rules-dir", str(rules)]
    one = check(tree, *args, "--jobs", "1", cache="one-process-cache")
    assert len(set(checkers(tree))) == 1
    cold = check(tree, *args, "--jobs", "2")
    pids = checkers(tree)
    assert len(pids) == FILES and len(set(pids)) == 2, (
        "two processes (this one and a worker) shared the files"
    )
    assert (cold.returncode, cold.stdout) == (one.returncode, one.stdout)
    warm = check(tree, *args, "--jobs", "2")
    assert checkers(tree) == [], "every file's findings came from the cache"
    assert (warm.returncode, warm.stdout) == (one.returncode, one.stdout)


def test_a_pre_commit_sized_run_stays_in_one_process(tree):
    rules = tree / "team_rules"
    rules.mkdir()
    (rules / "check_who.py").write_text(textwrap.dedent(WHO_CHECKS))
    five = [str(path.relative_to(tree)) for path in sorted(tree.rglob("pipeline-*.json"))[:5]]
    process = check(tree, *five, "--rules-dir", str(rules), "--jobs", "2", "--no-cache")
    assert process.returncode == 1, process.stderr
    pids = checkers(tree)
    assert len(pids) == 5 and len(set(pids)) == 1


def test_the_first_input_error_is_the_one_a_sequential_run_meets(tree):
    folder = tree / "pipelines" / "team-3"
    (folder / "pipeline-070.json").write_text('{"Version": "2020-12-01", "Steps": [')
    (tree / "pipelines" / "team-1" / "pipeline-005.json").write_text("[1, 2")
    one = check(tree, "pipelines", "--no-cache", "--jobs", "1")
    several = check(tree, "pipelines", "--no-cache", "--jobs", "2")
    assert one.returncode == 2 and "pipeline-005.json" in one.stderr
    assert (several.returncode, several.stdout, several.stderr) == (
        one.returncode,
        one.stdout,
        one.stderr,
    )


def test_a_missing_path_after_a_tree_is_reported_after_the_tree(tree):
    one = check(tree, "pipelines", "missing.json", "--no-cache", "--jobs", "1")
    several = check(tree, "pipelines", "missing.json", "--no-cache", "--jobs", "2")
    assert one.returncode == 2 and "missing.json" in one.stderr
    assert (several.returncode, several.stdout, several.stderr) == (
        one.returncode,
        one.stdout,
        one.stderr,
    )


def test_jobs_must_be_a_positive_number(tree):
    refused = check(tree, "pipelines", "--jobs", "0")
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "--jobs" in line


DIES_IN_A_WORKER = '''
import os

from mlops_guard import rule

CHECKER = os.getpid()  # imported before the workers are forked: the checking process


@rule(id="TM902", category="naming", summary="Stops a worker process")
def check_stop(definition):
    """Kills the process it runs in when that is a worker (a probe)."""
    if os.getpid() != CHECKER:
        os._exit(9)
'''


def test_a_worker_that_dies_fails_the_run_in_one_line(tree):
    rules = tree / "team_rules"
    rules.mkdir()
    (rules / "check_stop.py").write_text(textwrap.dedent(DIES_IN_A_WORKER))
    process = check(tree, "pipelines", "--rules-dir", str(rules), "--jobs", "2", "--no-cache")
    assert process.returncode == 2
    (line,) = process.stderr.strip().splitlines()
    assert "stopped unexpectedly" in line and process.stdout == ""


def test_a_worker_that_fails_sends_the_failure_back(monkeypatch):
    """An unexpected error in a worker's chunk (a bug, not an input error) comes back up
    the pipe and is raised in the checking process, never a chunk quietly missing: the
    command turns it into one line and exit 2, as any tool error."""
    from mlops_guard import parallel

    def broken(first, end):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(parallel, "_check_chunk", broken)
    task_read, task_write = os.pipe()
    result_read, result_write = os.pipe()
    os.write(task_write, parallel._FRAME.pack(0, 1))
    os.close(task_write)
    parallel._serve(task_read, result_write)  # answers the chunk, then sees the pipe closed
    os.close(result_write)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: division by zero"):
        parallel._receive(result_read)
    with pytest.raises(Exception, match="stopped unexpectedly"):
        parallel._receive(result_read)  # nothing more: the worker's end is closed
    os.close(task_read)
    os.close(result_read)
