"""Fixtures of the integration tests: the reference definition, realistic templates
built around it, and the CLI run the way a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = (
    ROOT / "mlops_guard" / "reference" / "definition.json",
    Path("/tmp/ex/definition.json"),
)


def reference_path() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    pytest.skip("no reference definition (mlops_guard/reference/definition.json) yet")


@pytest.fixture
def reference() -> dict:
    return json.loads(reference_path().read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MLOPS_GUARD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``mlops-guard ARGS`` in ``cwd``, as a separate process."""
    code = "from mlops_guard.cli import main; raise SystemExit(main())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
