"""The pre-commit hook, for real: ``pre-commit try-repo`` against this repository's
committed HEAD, and a ``git commit`` blocked by the installed hook.

pre-commit builds the hook's environment by pip-installing the repository, which needs
the package index; when that is impossible the tests skip and say so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integrations.conftest import ROOT

pytestmark = pytest.mark.slow
NETWORK_HINTS = (
    "Could not find a version",
    "Failed to establish",
    "No matching distribution",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def _pre_commit() -> list[str]:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if found:
        return [found]
    pytest.importorskip("pre_commit", reason="pre-commit is in the 'test' extra")
    return [sys.executable, "-m", "pre_commit"]


def _git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def repo(tmp_path, reference) -> Path:
    """A throwaway git repository with a compliant and a broken definition."""
    _git("init", "-q", "-b", "main", cwd=tmp_path)
    (tmp_path / "good.json").write_text(json.dumps(reference, indent=2))
    reference["Steps"][2]["DependsOn"] = ["NoSuchStep"]
    (tmp_path / "bad.json").write_text(json.dumps(reference, indent=2))
    (tmp_path / "notes.yaml").write_text("just: notes\n")
    return tmp_path


def _run(command: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    import os

    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:" + os.environ.get("PATH", ""),
    }
    env.pop("PYTHONPATH", None)
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = "t", "t@example.com"
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(hint in output for hint in NETWORK_HINTS):
        pytest.skip("pre-commit could not build the hook environment offline:\n" + output[-500:])
    return result


def test_try_repo_passes_compliant_and_blocks_broken(repo, pre_commit_home):
    head = _git("rev-parse", "HEAD", cwd=ROOT)
    base = [*_pre_commit(), "try-repo", str(ROOT), "mlops-guard", "--ref", head, "--files"]
    good = _run([*base, "good.json", "notes.yaml"], repo, pre_commit_home)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _run([*base, "bad.json"], repo, pre_commit_home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad.json:" in bad.stdout and "ST001" in bad.stdout and "NoSuchStep" in bad.stdout


def test_installed_hook_blocks_a_commit(repo, pre_commit_home):
    head = _git("rev-parse", "HEAD", cwd=ROOT)
    config = f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n      - id: mlops-guard\n"
    (repo / ".pre-commit-config.yaml").write_text(config)
    installed = _run([*_pre_commit(), "install"], repo, pre_commit_home)
    assert installed.returncode == 0, installed.stderr
    _git("add", ".pre-commit-config.yaml", "good.json", "notes.yaml", cwd=repo)
    ok = _run(["git", "commit", "-q", "-m", "compliant"], repo, pre_commit_home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _git("add", "bad.json", cwd=repo)
    blocked = _run(["git", "commit", "-q", "-m", "broken"], repo, pre_commit_home)
    assert blocked.returncode != 0
    assert "ST001" in blocked.stdout + blocked.stderr
    assert "bad.json" in _git("diff", "--cached", "--name-only", cwd=repo)  # not committed
