"""Rendering a user's Python pipeline module through the real SageMaker SDK, with the
render cache keyed by the module's source tree and arguments."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("sagemaker") is None, reason="needs the 'sdk' extra"
    ),
]

MODULE = '''
"""A user's pipeline module, laid out like a SageMaker Projects template."""
from pathlib import Path

CALLS = Path(__file__).resolve().parents[2] / "calls.txt"


def get_pipeline(region, role, default_bucket, pipeline_name="Daily_Demand"):
    with CALLS.open("a") as calls:
        calls.write("rendered\\n")
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow import FailStep, Pipeline

    date = ParameterString(name="ExecutionDate", default_value="2026-11-22")
    stop = FailStep(name="StopHere", error_message=date)  # {marker}
    return Pipeline(name=pipeline_name, parameters=[date], steps=[stop])
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    package = tmp_path / "pipelines" / "daily"
    package.mkdir(parents=True)
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text(MODULE.replace("{marker}", "v1"))
    return tmp_path


def check(repo: Path, *extra: str) -> subprocess.CompletedProcess:
    kwargs = {
        "region": "us-east-1",
        "role": "arn:aws:iam::123456789012:role/R",
        "default_bucket": "bucket",
    }
    env = {**os.environ, "MLOPS_GUARD_CACHE_DIR": str(repo / "cache")}
    command = [
        sys.executable,
        "-m",
        "mlops_guard",
        "check",
        "--format",
        "json",
        "--module",
        "pipelines.daily.pipeline:get_pipeline",
        "--kwargs",
        json.dumps(kwargs),
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=repo, env=env)


def calls(repo: Path) -> int:
    path = repo / "calls.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_module_is_rendered_checked_and_cached(repo):
    first = check(repo, "--select", "NM,IO,ST")
    assert first.returncode == 1, first.stderr
    findings = json.loads(first.stdout)["findings"]
    assert findings, "the module's pipeline breaks the naming convention"
    assert {f["location"]["file"] for f in findings} == {"pipelines/daily/pipeline.py"}
    step_findings = [f for f in findings if f.get("subject") == "StopHere"]
    source_lines = (repo / "pipelines/daily/pipeline.py").read_text().splitlines()
    for finding in step_findings:
        assert 'name="StopHere"' in source_lines[finding["location"]["line"] - 1]
    assert calls(repo) == 1

    second = check(repo, "--select", "NM,IO,ST")
    assert second.stdout == first.stdout
    assert calls(repo) == 1, "an unchanged module is not rendered again"

    module = repo / "pipelines/daily/pipeline.py"
    module.write_text(MODULE.replace("{marker}", "v2"))
    check(repo, "--select", "NM,IO,ST")
    assert calls(repo) == 2, "a changed source tree is rendered again"


def test_module_that_fails_to_import_is_one_line(repo):
    (repo / "pipelines/daily/pipeline.py").write_text("import not_a_real_module_q\n")
    process = check(repo)
    assert process.returncode == 2
    (line,) = process.stderr.strip().splitlines()
    assert "pipelines.daily.pipeline:get_pipeline" in line
    assert "ModuleNotFoundError" in line and "Traceback" not in process.stderr


def test_json_checks_never_run_modules_unless_asked(repo):
    (repo / ".mlops-guard.yaml").write_text(
        textwrap.dedent(
            """
            extends: default
            modules:
              - entry: pipelines.daily.pipeline:get_pipeline
                kwargs: {region: us-east-1, role: "arn:aws:iam::1:role/R", default_bucket: b}
            """
        )
    )
    env = {**os.environ, "MLOPS_GUARD_CACHE_DIR": str(repo / "cache")}
    base = [sys.executable, "-m", "mlops_guard", "check", "--format", "json"]
    subprocess.run([*base, "--no-modules", "cache"], cwd=repo, env=env, capture_output=True)
    assert calls(repo) == 0
    # A discovered policy's modules run only with the opt-in: without it, exit 2.
    refused = subprocess.run([*base, "--select", "NM"], cwd=repo, env=env, capture_output=True)
    assert refused.returncode == 2 and b"--allow-code" in refused.stderr
    assert calls(repo) == 0
    listed = subprocess.run(
        [*base, "--select", "NM", "--allow-code"], cwd=repo, env=env, capture_output=True
    )
    assert calls(repo) == 1, listed.stderr


def test_modules_only_checks_the_policy_modules_and_no_files(repo):
    (repo / ".mlops-guard.yaml").write_text(
        "extends: default\nmodules:\n  - entry: pipelines.daily.pipeline:get_pipeline\n"
        "    kwargs: {region: us-east-1, role: 'arn:aws:iam::1:role/R', default_bucket: b}\n"
    )
    (repo / "broken.json").write_text("{")  # would be an input error if files were read
    env = {**os.environ, "MLOPS_GUARD_CACHE_DIR": str(repo / "cache")}
    base = [sys.executable, "-m", "mlops_guard", "check", "--format", "json", "--allow-code"]
    process = subprocess.run(
        [*base, "--modules-only"], cwd=repo, env=env, capture_output=True, text=True
    )
    document = json.loads(process.stdout)
    assert document["summary"]["targets"] == 1, process.stderr
    assert {f["location"]["file"] for f in document["findings"]} <= {"pipelines/daily/pipeline.py"}
    refused = subprocess.run(
        [*base, "--modules-only", "x.json"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "takes no paths" in refused.stderr


def two_repositories(tmp_path: Path) -> Path:
    """Two checkouts side by side, each with its own ``pipelines`` package (the
    SageMaker Projects layout), and a third whose module cannot be imported."""
    for name, pipeline_name in (("churn", "Churn_Model"), ("demand", "Demand_Model")):
        package = tmp_path / name / "pipelines" / "daily"
        package.mkdir(parents=True)
        (tmp_path / name / "pipelines" / "__init__.py").write_text("")
        (package / "__init__.py").write_text("")
        source = MODULE.replace("{marker}", name).replace("Daily_Demand", pipeline_name)
        (package / "pipeline.py").write_text(source)
    broken = tmp_path / "broken" / "pipelines" / "daily"
    broken.mkdir(parents=True)
    (tmp_path / "broken" / "pipelines" / "__init__.py").write_text("")
    (broken / "__init__.py").write_text("")
    (broken / "pipeline.py").write_text("import not_a_real_module_q\n")
    kwargs = "{region: us-east-1, role: 'arn:aws:iam::1:role/R', default_bucket: b}"
    modules = "".join(
        f"  - entry: pipelines.daily.pipeline:get_pipeline\n    path: {name}\n"
        f"    kwargs: {kwargs}\n"
        for name in ("churn", "broken", "demand")
    )
    (tmp_path / ".mlops-guard.yaml").write_text(f"extends: default\nmodules:\n{modules}")
    return tmp_path


def modules_only(repo: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**(env or os.environ), "MLOPS_GUARD_CACHE_DIR": str(repo / "cache")}
    command = [sys.executable, "-m", "mlops_guard", "check", "--modules-only", "--allow-code"]
    command += extra
    return subprocess.run(command, capture_output=True, text=True, cwd=repo, env=env)


def test_a_failing_module_is_one_line_and_the_others_are_checked(tmp_path):
    repo = two_repositories(tmp_path)
    process = modules_only(repo, "--format", "json", "--select", "NM")
    assert process.returncode == 2, "what could not be rendered never passes"
    (line,) = process.stderr.strip().splitlines()
    assert "pipelines.daily.pipeline:get_pipeline" in line and "not_a_real_module_q" in line
    document = json.loads(process.stdout)
    assert document["summary"]["targets"] == 2
    files = {finding["location"]["file"] for finding in document["findings"]}
    assert files == {"churn/pipelines/daily/pipeline.py", "demand/pipelines/daily/pipeline.py"}
    names = {finding["target"] for finding in document["findings"]}
    assert names == {"Churn_Model", "Demand_Model"}, "each checkout's own package rendered"
    assert calls(repo / "churn") + calls(repo / "demand") == 2


SEES_PROCESSES = """
import os, sys
with open(os.environ["STARTED_LOG"], "a") as log:
    log.write(" ".join(sys.orig_argv) + "\\n")
"""


def test_a_cached_module_starts_no_renderer(tmp_path):
    repo = two_repositories(tmp_path)
    (repo / ".mlops-guard.yaml").write_text(
        (repo / ".mlops-guard.yaml").read_text().replace("path: broken", "path: demand")
    )
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(SEES_PROCESSES)
    started = tmp_path / "started.txt"
    path = os.pathsep.join(filter(None, [str(probe), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "STARTED_LOG": str(started)}
    first = modules_only(repo, "--select", "NM", env=env)
    assert first.returncode == 1, first.stderr
    assert "render_worker" in started.read_text(), "the probe sees the renderer start"
    started.unlink()
    second = modules_only(repo, "--select", "NM", env=env)
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    assert "render_worker" not in started.read_text()
    assert calls(repo / "churn") + calls(repo / "demand") == 2, "nothing rendered again"


def test_a_module_renders_in_its_own_process_where_fork_is_missing(repo, tmp_path):
    """The renderer's way on platforms without ``fork``: one process per module."""
    output = tmp_path / "rendered.json"
    request = {
        "root": str(repo),
        "module": "pipelines.daily.pipeline",
        "function": "get_pipeline",
        "kwargs": {"region": "us-east-1", "role": "arn:aws:iam::1:role/R", "default_bucket": "b"},
        "output": str(output),
    }
    command = [sys.executable, "-m", "mlops_guard.loaders.render_worker", "--one"]
    process = subprocess.run(command, input=json.dumps(request), capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    rendered = json.loads(output.read_text())
    assert rendered["name"] == "Daily_Demand"
    assert [step["Name"] for step in rendered["definition"]["Steps"]] == ["StopHere"]
