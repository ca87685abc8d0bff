"""The reference complies with the default policy: zero findings, as JSON and as the
Python module the SDK renders (the way a team checks its own pipeline module)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from mlops_guard.examples import reference_definition_path
from mlops_guard.resources import default_policy_path

KWARGS = {
    "region": "us-east-1",
    "role": "arn:aws:iam::123456789012:role/SageMakerPipelines",
    "default_bucket": "mlops-guard-reference",
}


def check(*args: str, cwd) -> dict:
    env = {**os.environ, "MLOPS_GUARD_CACHE_DIR": str(cwd / "cache")}
    command = [
        sys.executable,
        "-m",
        "mlops_guard",
        "check",
        "--format",
        "json",
        "--policy",
        str(default_policy_path()),
        *args,
    ]
    process = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads(process.stdout)


def test_reference_json_has_zero_findings(tmp_path):
    report = check(str(reference_definition_path()), cwd=tmp_path)
    assert report["findings"] == [] and report["summary"]["targets"] == 1


@pytest.mark.slow
@pytest.mark.sdk
@pytest.mark.skipif(importlib.util.find_spec("sagemaker") is None, reason="needs the 'sdk' extra")
def test_reference_module_rendered_by_the_sdk_has_zero_findings(tmp_path):
    report = check(
        "--module",
        "mlops_guard.reference.pipeline:get_pipeline",
        "--kwargs",
        json.dumps(KWARGS),
        cwd=tmp_path,
    )
    assert report["summary"]["targets"] == 1
    assert report["findings"] == []
