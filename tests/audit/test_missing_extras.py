"""Without an optional dependency, a command that needs it says which extra to install.

Each case runs ``mlops-guard`` in a subprocess whose ``sitecustomize`` puts a finder at
the front of ``sys.meta_path`` that refuses the named top-level modules, as if they were
not installed: the answer is one line naming ``pip install 'mlops-guard[EXTRA]'`` and
exit 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITECUSTOMIZE = """\
import os
import sys

_BLOCKED = frozenset(os.environ["MLOPS_GUARD_TEST_BLOCK"].split(","))


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""
EXPORT = {"format": "mlops-guard-metadata", "version": 1}


@pytest.fixture
def blocked(tmp_path):
    """Run ``mlops-guard ARGS`` with ``modules`` not importable; returns the result."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)

    def run(modules: str, *args: str) -> subprocess.CompletedProcess:
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
            "MLOPS_GUARD_TEST_BLOCK": modules,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        return subprocess.run(
            [sys.executable, "-m", "mlops_guard", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=environment,
            cwd=tmp_path,
        )

    return run


@pytest.mark.parametrize(
    ("modules", "args", "extra"),
    [
        ("boto3", ["export", "sagemaker", "-o", "out.json"], "aws"),
        ("botocore", ["export", "sagemaker", "-o", "out.json"], "aws"),
        ("mlflow", ["export", "mlflow", "--tracking-uri", "mlruns", "-o", "out.json"], "mlflow"),
        ("boto3", ["audit", "sagemaker"], "aws"),
        ("mlflow", ["audit", "mlflow", "--tracking-uri", "sqlite:///mlflow.db"], "mlflow"),
        ("pandas", ["audit", "file", "export.json", "--output", "report.html"], "report"),
        ("pandas", ["audit", "file", "export.json", "--output", "findings.csv"], "report"),
        ("pyarrow", ["audit", "file", "export.json", "--output", "findings.parquet"], "report"),
    ],
)
def test_missing_extra_is_one_line_naming_it(blocked, tmp_path, modules, args, extra):
    (tmp_path / "export.json").write_text(json.dumps(EXPORT))
    done = blocked(modules, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("mlops-guard: error: ") and done.stderr.count("\n") == 1
    assert f"pip install 'mlops-guard[{extra}]'" in done.stderr
    assert not (tmp_path / "out.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "site"]


def test_the_finder_blocks_only_what_it_names(blocked, tmp_path):
    (tmp_path / "export.json").write_text(json.dumps(EXPORT))
    done = blocked("boto3", "audit", "file", "export.json", "--output", "findings.csv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "findings.csv").exists()
