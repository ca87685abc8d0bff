"""The progress line: drawn on a terminal, absent on a pipe, never in the report."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

from mlops_guard.audit.progress import Progress


def _run_with_stderr_on_a_pty(args: list[str]) -> tuple[int, str, bytes]:
    master, slave = pty.openpty()
    env = {**os.environ, "MLOPS_GUARD_PROGRESS_DELAY": "0", "TERM": "xterm"}
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    stdout = process.stdout.read().decode()
    process.wait(timeout=30)
    os.close(master)
    return process.returncode, stdout, seen


def test_progress_on_a_terminal(reference_exports):
    command = [sys.executable, "-m", "mlops_guard", "audit", "file", str(reference_exports)]
    code, stdout, terminal = _run_with_stderr_on_a_pty(command)
    assert code == 0
    assert b"\r\x1b[K" in terminal  # drawn in place, and cleared at the end
    assert terminal.endswith(b"\r\x1b[K")
    assert b"reading exports" in terminal or b"checking [" in terminal
    assert stdout.startswith("All checks passed")  # the report is untouched


def test_no_progress_on_a_pipe(reference_exports):
    env = {**os.environ, "MLOPS_GUARD_PROGRESS_DELAY": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "audit", "file", str(reference_exports)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0
    assert done.stderr == ""


def test_quick_work_draws_nothing():
    stream = io.StringIO()
    with Progress(stream, enabled=True, delay=5) as progress:
        progress.phase("checking", "targets", total=3)
        progress.advance(3)
    assert stream.getvalue() == ""


def test_line_shows_bar_or_counter():
    progress = Progress(io.StringIO(), enabled=False)
    progress.phase("checking", "targets", total=4)
    progress.advance()
    assert progress.line().startswith("checking [######..................] 1/4 targets (")
    progress.phase("reading SageMaker", "API calls")
    progress.advance(120)
    assert progress.line().startswith("reading SageMaker: 120 API calls (")
