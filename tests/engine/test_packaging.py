"""A non-editable install, run from another directory, finds its rules and policies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_wheel_ships_builtin_rules_policies_and_reference(tmp_path):
    dist, site, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("mlops_guard-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    assert (site / "mlops_guard/_builtin/rules/check_structure.py").is_file()
    assert (site / "mlops_guard/_builtin/policies/default.yaml").is_file()

    env = {**os.environ, "PYTHONPATH": str(site), "MLOPS_GUARD_CACHE_DIR": str(tmp_path / "c")}
    code = (
        "import json, sys, mlops_guard.resources as r;"
        "print(json.dumps([r.__file__, str(r.builtin_rules_dir()), str(r.default_policy_path())]))"
    )
    where = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=elsewhere
    )
    module_file, rules_dir, policy = json.loads(where.stdout)
    assert all(path.startswith(str(site)) for path in (module_file, rules_dir, policy))

    demo = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
    )
    assert "== Reference pipeline (compliant)\nAll checks passed" in demo.stdout, demo.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "rules", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
    )
    ids = {item["id"] for item in json.loads(listed.stdout)}
    assert {"ST001", "MG001"} <= ids
